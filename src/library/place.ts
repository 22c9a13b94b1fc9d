import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link as hardLink, lstat, mkdir, open, realpath, rename, rm, stat, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { BookMeta, Format } from '../epub/model.js';
import { bookFileName, revisionFileName, skillDir } from './names.js';

export interface PlaceInput {
  libraryRoot: string;
  /** The EPUB written in the library's `.staging/` (same file system: it is renamed, not copied). */
  staged: string;
  meta: Pick<BookMeta, 'id' | 'title' | 'authors'>;
  format: Format;
  /** The book is stored once under the first skill and linked into the others. */
  skills: string[];
  /** What the catalogue says was archived before (its revision names the copy `keepPrevious` keeps). */
  previous?: { path: string; sha256: string; revision?: number | undefined };
  /** Keep the file being replaced beside the new one, as `… (rev N).epub` (N: the previous revision). */
  keepPrevious?: boolean;
  /** Replace the archived file even when its content is the same. */
  force?: boolean;
  /** Creates a hard link; tests inject one that fails with EXDEV to exercise the symlink fallback. */
  link?: (existing: string, newPath: string) => Promise<void>;
}

export interface Placed {
  /** Relative to the library root, '/'-separated: what the catalogue row records. */
  path: string;
  /** The copies in the other skills' folders, relative to the library root. */
  links: string[];
  sha256: string;
  bytes: number;
  /** The same content was already archived; the staged file was deleted. */
  skipped: boolean;
  /**
   * The book's earlier file and its links under an older name (the title changed), relative to
   * the library root. Left in place: the caller removes them (removeFromLibrary) once the
   * catalogue points at the new file, so no crash leaves the catalogue naming a deleted file.
   */
  stale: string[];
  /** With `keepPrevious`: where the replaced file was kept, relative to the library root. */
  kept?: string;
}

async function fileSha256(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const toPosix = (p: string) => p.split(sep).join('/');

/** The library root, resolved, and a check that a path resolves (through symlinks) inside it. */
async function libraryPaths(libraryRoot: string): Promise<{ root: string; mustBeInside: (p: string) => Promise<string> }> {
  await mkdir(libraryRoot, { recursive: true });
  const root = await realpath(libraryRoot);
  const inside = (p: string) => {
    const rel = relative(root, p);
    return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && resolve(root, rel) === p;
  };
  const mustBeInside = async (p: string): Promise<string> => {
    const abs = resolve(root, p);
    const real = join(await realpath(dirname(abs)), basename(abs));
    if (!inside(abs) || !inside(real)) throw new Error(`Refusing to write ${abs}: it is outside the library ${root}.`);
    return real;
  };
  return { root, mustBeInside };
}

/**
 * Links an archived book (`path`, relative to the library) into the folders of more skills: what
 * a discovery does when a book it finds is already archived under another skill.
 */
export async function linkIntoSkills(input: { libraryRoot: string; path: string; skills: string[]; link?: PlaceInput['link'] }): Promise<string[]> {
  const { root, mustBeInside } = await libraryPaths(input.libraryRoot);
  const file = await mustBeInside(input.path);
  const dirs = [...new Set(input.skills.map(skillDir))].filter((d) => d !== dirname(relative(root, file)));
  return linkInto(dirs, basename(file), file, { link: input.link }, mustBeInside, root);
}

/**
 * Puts a staged EPUB into the library (docs/ARCHITECTURE.md, "How a book flows"): fsync, rename into
 * `<Skill>/<Title> - <Authors> (<id>).epub`, fsync the folder, link into the other skills'
 * folders (hard link; symlink when they are on another file system). Skips when `previous` has
 * the same content and is still there, unless `force`. Every path is checked to resolve inside
 * the library; anything else throws.
 */
export async function placeBook(input: PlaceInput): Promise<Placed> {
  const { root, mustBeInside } = await libraryPaths(input.libraryRoot);

  const staged = await mustBeInside(resolve(input.staged));
  const { sha256, bytes } = await fileSha256(staged);
  const dirs = [...new Set((input.skills.length > 0 ? input.skills : ['']).map(skillDir))];
  const name = bookFileName(input.meta, input.format);

  if (input.previous && input.previous.sha256 === sha256 && !input.force) {
    const prev = await existingPrevious(input.previous, mustBeInside);
    if (prev !== null && (await fileSha256(prev)).sha256 === sha256) {
      await unlink(staged);
      const links = await linkInto(
        dirs.filter((d) => d !== dirname(input.previous!.path)),
        basename(prev),
        prev,
        input,
        mustBeInside,
        root,
      );
      return { path: toPosix(relative(root, prev)), links, sha256, bytes, skipped: true, stale: [] };
    }
  }

  await mkdir(join(root, dirs[0]!), { recursive: true });
  const target = await mustBeInside(join(dirs[0]!, name));
  const stale =
    input.previous && toPosix(input.previous.path) !== toPosix(relative(root, target)) ? await existingPrevious(input.previous, mustBeInside) : null;
  const staleLinks = stale === null ? [] : await copiesOf(stale, dirs, mustBeInside);

  // The old file gets its second name before the new one takes the first: at every moment the
  // catalogued name is a whole book, and the older one never goes missing in between.
  const prev = input.keepPrevious && input.previous ? await existingPrevious(input.previous, mustBeInside) : null;
  const kept = prev === null ? undefined : await keepAs(prev, revisionFileName(basename(prev), input.previous!.revision ?? 1), input, mustBeInside);

  await fsyncPath(staged);
  await rename(staged, target);
  await fsyncPath(dirname(target));
  await fsyncPath(dirname(staged));

  const links = await linkInto(dirs.slice(1), name, target, input, mustBeInside, root);
  const old = stale === null ? [] : [stale, ...staleLinks].filter((p) => p !== target);
  return {
    path: toPosix(relative(root, target)),
    links,
    sha256,
    bytes,
    skipped: false,
    stale: old.map((p) => toPosix(relative(root, p))),
    ...(kept !== undefined && { kept: toPosix(relative(root, kept)) }),
  };
}

/** A second name for `file` in its folder (a hard link, made beside it and renamed into place; a copy where links are refused). */
async function keepAs(file: string, name: string, input: Pick<PlaceInput, 'link'>, mustBeInside: (p: string) => Promise<string>): Promise<string> {
  const at = await mustBeInside(join(dirname(file), name));
  const tmp = `${at}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await (input.link ?? hardLink)(file, tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
    await copyFile(file, tmp);
    await fsyncPath(tmp);
  }
  await rename(tmp, at);
  await fsyncPath(dirname(at));
  return at;
}

/** Deletes files of the library (paths relative to its root, as Placed.stale gives them). */
export async function removeFromLibrary(libraryRoot: string, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  const { mustBeInside } = await libraryPaths(libraryRoot);
  for (const p of paths) {
    const abs = await mustBeInside(p).catch(() => null);
    if (abs !== null) await rm(abs, { force: true });
  }
}

async function existingPrevious(previous: { path: string }, mustBeInside: (p: string) => Promise<string>): Promise<string | null> {
  try {
    const p = await mustBeInside(previous.path);
    return (await stat(p)).isFile() ? p : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The links to `file` (same inode, or a symlink to it) under the same name in the skill folders. */
async function copiesOf(file: string, dirs: string[], mustBeInside: (p: string) => Promise<string>): Promise<string[]> {
  const st = await stat(file);
  const out: string[] = [];
  for (const d of dirs) {
    const candidate = await mustBeInside(join(d, basename(file))).catch(() => null);
    if (candidate === null || candidate === file) continue;
    const other = await stat(candidate).catch(() => null);
    if (other && other.ino === st.ino && other.dev === st.dev) out.push(candidate);
  }
  return out;
}

async function linkInto(
  dirs: string[],
  name: string,
  target: string,
  input: Pick<PlaceInput, 'link'>,
  mustBeInside: (p: string) => Promise<string>,
  root: string,
): Promise<string[]> {
  const links: string[] = [];
  const targetStat = await stat(target);
  for (const d of dirs) {
    await mkdir(join(root, d), { recursive: true });
    const at = await mustBeInside(join(d, name));
    if (at === target) continue;
    const existing = await lstat(at).catch(() => null);
    const same = existing && (await stat(at).catch(() => null));
    if (same && same.ino === targetStat.ino && same.dev === targetStat.dev) {
      links.push(toPosix(relative(root, at)));
      continue;
    }
    // Made beside the final name and renamed over it, so a reader never finds the name missing.
    const tmp = `${at}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await (input.link ?? hardLink)(target, tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
      await symlink(relative(dirname(at), target), tmp);
    }
    await rename(tmp, at);
    await fsyncPath(dirname(at));
    links.push(toPosix(relative(root, at)));
  }
  return links;
}
