import { unzipSync } from 'fflate';
import { readFileSync } from 'node:fs';
import { bookContent, chapterText, generateCatalogue, type Catalogue } from '../../src/sim/index.js';
import type { SimCatalogue } from './sim.js';

/** The catalogue a running sim serves, rebuilt in this process from the options it reports. */
export function sourceCatalogue(cat: SimCatalogue): Catalogue {
  return generateCatalogue(cat.options);
}

const IMAGE = /\.(png|jpe?g|gif|svg)$/i;

/**
 * Compares an archived EPUB with the sim's source book: the text of every chapter equals the
 * source chapter's text, and every image of the source is in the EPUB byte for byte (matched by
 * its folder and name, so images/a/figure.png and images/b/figure.png stay apart).
 * Returns a list of differences; empty means equal.
 */
export function compareWithSource(epubFile: string, catalogue: Catalogue, bookId: string): string[] {
  const content = bookContent(catalogue, bookId);
  if (!content) return [`the sim has no book ${bookId}`];
  const files = unzipSync(readFileSync(epubFile));
  const names = Object.keys(files);
  const problems: string[] = [];
  const dec = new TextDecoder();
  for (const ch of content.chapters) {
    const source = chapterText(content.byPath.get(ch.path)!.bytes.toString('utf8'));
    const base = ch.path
      .split('/')
      .pop()!
      .replace(/\.x?html?$/, '');
    const ours = names.find(
      (n) =>
        n
          .split('/')
          .pop()!
          .replace(/\.x?html?$/, '') === base && /\.x?html?$/.test(n),
    );
    if (!ours) {
      problems.push(`${ch.path}: no such chapter in the EPUB`);
      continue;
    }
    const text = chapterText(dec.decode(files[ours]));
    if (text !== source) problems.push(`${ch.path}: text differs (${text.length} chars, source ${source.length})`);
  }
  for (const f of content.files) {
    if (!IMAGE.test(f.path)) continue;
    const tail = f.path.split('/').slice(-2).join('/');
    // A rebuilt book takes its cover from the search record's cover URL, under another name.
    const ours = names.find((n) => n.endsWith(tail)) ?? names.find((n) => IMAGE.test(n) && Buffer.compare(Buffer.from(files[n]!), f.bytes) === 0);
    if (!ours) problems.push(`${f.path}: image missing`);
    else if (Buffer.compare(Buffer.from(files[ours]!), f.bytes) !== 0) problems.push(`${f.path}: image bytes differ`);
  }
  return problems;
}
