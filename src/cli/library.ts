import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { isAbsolute, relative as relativePath, resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import type { BookRecord } from '../db/books.js';
import { withStore } from './support/context.js';
import { printJson, table } from './support/format.js';
import { bookJson } from '../views/books.js';
import { timestamp } from '../views/format.js';

export type VerifyProblem = 'missing' | 'changed' | 'outside';

export interface VerifyFinding {
  id: string;
  format: string;
  path: string;
  problem: VerifyProblem;
  detail: string;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Re-hashes one catalogued file; undefined when it is exactly what the catalogue recorded. */
export async function verifyBook(libraryRoot: string, book: BookRecord): Promise<VerifyFinding | undefined> {
  const finding = (problem: VerifyProblem, detail: string): VerifyFinding => ({ id: book.id, format: book.format, path: book.path, problem, detail });
  const full = resolve(libraryRoot, book.path);
  const rel = relativePath(libraryRoot, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return finding('outside', 'the catalogued path points outside the library');
  let size: number;
  try {
    const st = await stat(full);
    if (!st.isFile()) return finding('missing', 'not a regular file');
    size = st.size;
  } catch (err) {
    return finding('missing', (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((err as NodeJS.ErrnoException).code));
  }
  if (size !== book.bytes) return finding('changed', `${size} bytes, catalogued ${book.bytes}`);
  const sha = await sha256File(full);
  if (sha !== book.sha256) return finding('changed', `sha256 ${sha.slice(0, 12)}…, catalogued ${book.sha256.slice(0, 12)}…`);
  return undefined;
}

export function registerLibrary(program: Command): void {
  const library = program.command('library').description('the catalogue of archived books');

  library
    .command('list')
    .description('list the archived books (paths are relative to --library)')
    .option('--json', 'print a JSON array of {id,title,authors,skills,path,sha256,bytes,archived_at,revision,previous_sha256,…} (archived_at in ISO 8601, UTC)')
    .action(async (opts, cmd) => {
      await withStore(cmd, async (store) => {
        const books = await store.books.list();
        if (opts.json) return printJson(books.map(bookJson));
        if (books.length === 0) {
          process.stdout.write('the library is empty\n');
          return;
        }
        const rows = [
          ['ID', 'FORMAT', 'TITLE', 'SKILLS', 'SIZE', 'ARCHIVED', 'REV', 'PATH'],
          ...books.map((b) => [
            b.id,
            b.format + (b.gaps.length ? ` (${b.gaps.length} gaps)` : ''),
            b.title.length > 50 ? `${b.title.slice(0, 47)}...` : b.title,
            b.skills.join(', ') || '-',
            `${(b.bytes / 1048576).toFixed(1)} MB`,
            timestamp(b.archivedAt),
            // A grown book archived again: its revision, and the start of the sha256 it replaced.
            (b.revision ?? 1) > 1 ? `${b.revision} (was ${b.previousSha256?.slice(0, 8) ?? '?'})` : '1',
            b.path,
          ]),
        ];
        const total = books.reduce((sum, b) => sum + b.bytes, 0);
        process.stdout.write(`${table(rows)}\n${books.length} book${books.length === 1 ? '' : 's'}, ${(total / 1048576).toFixed(1)} MB\n`);
      });
    });

  library
    .command('verify')
    .description('re-hash every catalogued file under --library; report missing or changed ones and exit 1 if there are any')
    .option('--json', 'print {checked, ok, problems:[{id,format,path,problem,detail}]}')
    .action(async (opts, cmd) => {
      await withStore(cmd, async (store, config) => {
        const books = await store.books.list();
        const problems: VerifyFinding[] = [];
        for (const book of books) {
          const finding = await verifyBook(config.library, book);
          if (finding) problems.push(finding);
        }
        if (opts.json) {
          printJson({ library: config.library, checked: books.length, ok: books.length - problems.length, problems });
        } else {
          if (problems.length) process.stdout.write(`${table(problems.map((p) => [p.problem, `${p.id} ${p.format}`, p.path, p.detail]))}\n`);
          const missing = problems.filter((p) => p.problem === 'missing').length;
          const changed = problems.length - missing;
          process.stdout.write(
            `checked ${books.length} book${books.length === 1 ? '' : 's'} in ${config.library}: ${books.length - problems.length} ok, ${missing} missing, ${changed} changed or misplaced\n`,
          );
        }
        if (problems.length) process.exitCode = 1;
      });
    });
}
