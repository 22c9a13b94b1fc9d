import { createHash, randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FetchedFile, Format } from '../epub/model.js';

/**
 * The library's `.staging/` folder (DESIGN.md "Files on disk"): on the library's own file system
 * so a finished EPUB is renamed into place, never copied. It holds, per book, the files fetched
 * so far (a retried job reuses them) and the EPUB being written. Anything in it may be deleted
 * when no job is running: it is all rebuilt on demand.
 */
export function stagingDir(libraryRoot: string): string {
  return join(libraryRoot, '.staging');
}

function bookKey(bookId: string): string {
  if (/^[0-9A-Za-z_-]{1,64}$/.test(bookId)) return bookId;
  return `h-${createHash('sha256').update(bookId).digest('hex').slice(0, 32)}`;
}

/** The per-book folder for fetched files (created by saveStaged). */
export function bookStaging(libraryRoot: string, bookId: string): string {
  return join(stagingDir(libraryRoot), `book-${bookKey(bookId)}`);
}

/** Where writeEpub puts a book before placeBook renames it into the library. */
export function stagedEpubPath(libraryRoot: string, bookId: string, format: Format): string {
  return join(stagingDir(libraryRoot), `${bookKey(bookId)}.${format}.epub.tmp`);
}

/** What a staged file's record (`<key>.json`, next to `<key>.bin`) holds. */
interface StagedRecord {
  path: string;
  mediaType?: string;
  sha256: string;
  bytes: number;
}

// Server paths are hostile: files are named by a hash of the path, never by the path.
const keyOf = (path: string) => createHash('sha256').update(path).digest('hex').slice(0, 40);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/**
 * Keeps one fetched file for a later attempt. The record is written after the bytes, so a crash
 * leaves at worst bytes without a record (ignored) — never a record promising bytes that are not
 * there. Files the server did not give (`data === null`) are not kept: the next attempt asks again.
 */
export async function saveStaged(dir: string, file: FetchedFile): Promise<void> {
  if (file.data === null) return;
  await mkdir(dir, { recursive: true });
  const key = keyOf(file.path);
  await writeAtomic(join(dir, `${key}.bin`), file.data);
  const record: StagedRecord = { path: file.path, sha256: sha256(file.data), bytes: file.data.byteLength, ...(file.mediaType === undefined ? {} : { mediaType: file.mediaType }) };
  await writeAtomic(join(dir, `${key}.json`), JSON.stringify(record));
}

/**
 * The files kept for this book, keyed by server path, each verified against its recorded sha256;
 * a damaged or half-written entry is deleted and left out (it is simply fetched again).
 */
export async function loadStaged(dir: string): Promise<Map<string, FetchedFile>> {
  const out = new Map<string, FetchedFile>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const name of names.filter((n) => /^[0-9a-f]{40}\.json$/.test(n)).sort()) {
    const key = name.slice(0, -5);
    const record = await readRecord(join(dir, name));
    const data = record && keyOf(record.path) === key ? await readFile(join(dir, `${key}.bin`)).catch(() => null) : null;
    if (!record || !data || data.byteLength !== record.bytes || sha256(data) !== record.sha256) {
      await rm(join(dir, name), { force: true });
      await rm(join(dir, `${key}.bin`), { force: true });
      continue;
    }
    out.set(record.path, { path: record.path, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), ...(record.mediaType === undefined ? {} : { mediaType: record.mediaType }) });
  }
  return out;
}

async function readRecord(file: string): Promise<StagedRecord | null> {
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as Partial<StagedRecord>;
    if (typeof r.path !== 'string' || typeof r.sha256 !== 'string' || typeof r.bytes !== 'number') return null;
    if (r.mediaType !== undefined && typeof r.mediaType !== 'string') return null;
    return r as StagedRecord;
  } catch {
    return null;
  }
}

/**
 * Removes staging debris: the folders and half-written EPUBs of books not in `keepBookIds` (their
 * jobs are done or gone). Everything of a kept book is left alone, since another daemon on the
 * same library may be writing it right now; a stray partial file there is never read (only
 * `.bin` files with a matching record are). Returns the names removed.
 */
export async function cleanStaging(libraryRoot: string, keepBookIds: Iterable<string>): Promise<string[]> {
  const root = stagingDir(libraryRoot);
  const keys = [...keepBookIds].map(bookKey);
  const keep = new Set(keys.map((k) => `book-${k}`));
  const keepFile = (name: string) => keys.some((k) => name.startsWith(`${k}.`));
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const e of entries) {
    const full = join(root, e.name);
    if (e.isDirectory() && !e.isSymbolicLink()) {
      if (keep.has(e.name)) continue;
      await rm(full, { recursive: true, force: true });
      removed.push(e.name);
    } else {
      if (keepFile(e.name)) continue;
      await unlink(full).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      removed.push(e.name);
    }
  }
  return removed.sort();
}
