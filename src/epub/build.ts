import type { BookSource, Written } from './builder.js';
import { buildFromChapters } from './from-chapters.js';
import { buildFromPackage } from './from-package.js';
import type { Format } from './model.js';
import { readStaged } from './staged-input.js';
import { writeEpub } from './zip.js';

/** Builds an EPUB from a book's material (its staged files read in) and writes it, fsynced, to `file`. */
export async function buildAndWrite(staged: BookSource, format: Format, file: string): Promise<Written> {
  const source = readStaged(staged);
  const build = source.mode === 'package' ? buildFromPackage({ ...source.input, format }) : buildFromChapters({ ...source.input, format });
  const { bytes, sha256 } = await writeEpub(build, file);
  return { gaps: build.gaps, chapters: build.chapters, bytes, sha256 };
}
