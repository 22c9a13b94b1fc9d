import { readFileSync } from 'node:fs';
import type { BookSource } from './builder.js';
import type { ChapterInput } from './from-chapters.js';

/** A staged file's bytes, as a view without a copy. */
function bytesOf(file: string): Uint8Array {
  const b = readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A chapter's page: read from its staged file each time it is parsed, so a build holds one
 * chapter's text at a time rather than the whole book's (a string that big would sit in the
 * build thread's capped heap for the whole build).
 */
export function chapterHtml(ch: ChapterInput): string {
  return ch.file !== undefined ? readFileSync(ch.file, 'utf8') : ch.html;
}

/**
 * A book's material with every staged binary file read in (chapters are read when parsed, by
 * chapterHtml): what the builders take. Called on the build thread, one book at a time, so a book
 * in flight keeps its bytes on disk and nothing of it is copied across threads (the message names
 * files). A file that vanished since it was staged fails the build; the job retries and fetches
 * it again.
 */
export function readStaged(source: BookSource): BookSource {
  if (source.mode === 'package') {
    const files = source.input.files.map((f) => (f.file !== undefined && f.data === null ? { ...f, data: bytesOf(f.file) } : f));
    return { mode: 'package', input: { ...source.input, files } };
  }
  const { input } = source;
  const asset = <T extends { data: Uint8Array | null; file?: string }>(a: T): T =>
    a.file !== undefined && a.data === null ? { ...a, data: bytesOf(a.file) } : a;
  return {
    mode: 'chapters',
    input: {
      ...input,
      assets: input.assets.map(asset),
      ...(input.cover ? { cover: asset(input.cover) } : {}),
    },
  };
}
