import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, createReadStream, mkdirSync, renameSync, writeFileSync, type Dirent } from 'node:fs';
import { readFile, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FetchedFile, Format } from '../epub/model.js';

/**
 * The library's `.staging/` folder (docs/ARCHITECTURE.md, "How a book flows"): on the library's own file system
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

/** Prefix of the write probe a starting daemon leaves for a moment; never debris. */
export const WRITE_PROBE_PREFIX = '.write-test-';

/** The per-book folder for fetched files (created by saveStaged). */
export function bookStaging(libraryRoot: string, bookId: string): string {
  return join(stagingDir(libraryRoot), `book-${bookKey(bookId)}`);
}

/**
 * Where one build puts a book before placeBook renames it into the library: in the book's folder,
 * so the folder's removal after the job takes the debris of killed attempts with it. `writer`
 * tells apart two builds of the same book at once (a worker whose lease lapsed, a job for the
 * other format): with one shared name, one truncates the file the other is about to rename.
 */
export function stagedEpubPath(libraryRoot: string, bookId: string, format: Format, writer: string): string {
  return join(bookStaging(libraryRoot, bookId), `${format}.${writer}.epub.tmp`);
}

/** One line of a book's `index.jsonl`: a staged file `<key>.bin` and what it must be. */
interface StagedRecord {
  path: string;
  mediaType?: string;
  sha256: string;
  bytes: number;
}

const INDEX = 'index.jsonl';

// Server paths are hostile: files are named by a hash of the path, never by the path.
const keyOf = (path: string) => createHash('sha256').update(path).digest('hex').slice(0, 40);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** What a staged file's bytes were when whole. */
export interface StagedBytes {
  bytes: number;
  sha256: string;
}

/**
 * Where a body is written while it arrives (HttpRequest.toFile): never read as a staged file
 * until commitStaged renames it to `<key>.bin`, so a half-streamed file is never taken for a whole
 * one. A part a crash left behind is debris, removed with the book's folder.
 */
export function stagingPart(dir: string, path: string): string {
  mkdirSync(dir, { recursive: true });
  // Its own name per fetch: two jobs of one book (its two formats, a lapsed lease) may fetch the
  // same file at once, and one must never truncate or rename the part the other is writing.
  return join(dir, `${keyOf(path)}.${randomBytes(6).toString('hex')}.part`);
}

/**
 * Commits a file streamed to stagingPart: renamed to `<key>.bin`, then a line in the book's index.
 * The line is the commit point, written after the bytes are whole, so a crash leaves at worst a
 * part or a file without a line (ignored) or half a line (ignored), never a line promising bytes
 * that are not there; a file rewritten under an old line fails its sha256 and is fetched again.
 * Synchronous: a book is a hundred small files, and promise-based handles cost more CPU than the
 * download itself. Returns the file as the build reads it: on disk, not in memory.
 */
export function commitStaged(dir: string, part: string, path: string, mediaType: string | undefined, whole: StagedBytes): FetchedFile {
  const file = join(dir, `${keyOf(path)}.bin`);
  renameSync(part, file);
  const record: StagedRecord = { path, sha256: whole.sha256, bytes: whole.bytes, ...(mediaType === undefined ? {} : { mediaType }) };
  // A leading newline: a line a crash cut short stays a line of its own, never glued to this one.
  appendFileSync(join(dir, INDEX), `\n${JSON.stringify(record)}`);
  return { path, data: null, file, bytes: whole.bytes, ...(mediaType === undefined ? {} : { mediaType }) };
}

/**
 * Keeps one fetched file held in memory for a later attempt (and for the build, which reads it
 * from disk): written as a part, then committed. Files the server did not give (`data === null`)
 * are not kept: the next attempt asks again.
 */
export function saveStaged(dir: string, file: FetchedFile): FetchedFile {
  if (file.data === null) return file;
  const part = stagingPart(dir, file.path);
  writeFileSync(part, file.data);
  return commitStaged(dir, part, file.path, file.mediaType, { bytes: file.data.byteLength, sha256: sha256(file.data) });
}

function parseRecord(line: string): StagedRecord | null {
  try {
    const r = JSON.parse(line) as Partial<StagedRecord>;
    if (typeof r.path !== 'string' || typeof r.sha256 !== 'string' || typeof r.bytes !== 'number') return null;
    if (r.mediaType !== undefined && typeof r.mediaType !== 'string') return null;
    return r as StagedRecord;
  } catch {
    return null;
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The files kept for this book, keyed by server path, each verified against its recorded size and
 * sha256 and named on disk (not read into memory); a damaged, half-written or rewritten entry is
 * left out (it is simply fetched again).
 */
export async function loadStaged(dir: string): Promise<Map<string, FetchedFile>> {
  const out = new Map<string, FetchedFile>();
  let index: string;
  try {
    index = await readFile(join(dir, INDEX), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return out;
    throw err;
  }
  const records = new Map<string, StagedRecord>();
  for (const line of index.split('\n')) {
    const r = line ? parseRecord(line) : null;
    if (r) records.set(r.path, r);
  }
  for (const record of records.values()) {
    const file = join(dir, `${keyOf(record.path)}.bin`);
    const size = await stat(file).then(
      (s) => (s.isFile() ? s.size : -1),
      () => -1,
    );
    if (size !== record.bytes || (await sha256Of(file).catch(() => '')) !== record.sha256) continue;
    out.set(record.path, {
      path: record.path,
      data: null,
      file,
      bytes: record.bytes,
      ...(record.mediaType === undefined ? {} : { mediaType: record.mediaType }),
    });
  }
  return out;
}

/**
 * Removes staging debris: the folders (fetched files and half-written EPUBs) of books not in
 * `keepBookIds` (their jobs are done or gone), and stray files. Everything of a kept book is left
 * alone: its job reuses the files, and a stray partial file there is never read (only `.bin` files
 * with a matching record are). Returns the names removed.
 */
export async function cleanStaging(libraryRoot: string, keepBookIds: Iterable<string>): Promise<string[]> {
  const root = stagingDir(libraryRoot);
  const keys = [...keepBookIds].map(bookKey);
  const keep = new Set(keys.map((k) => `book-${k}`));
  const keepFile = (name: string) => name.startsWith(WRITE_PROBE_PREFIX);
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
