import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { mergeSkills, type BookPayload } from '../db/jobs.js';
import type { BookRecord } from '../db/books.js';
import type { Store } from '../db/store.js';
import type { BookSource, EpubBuilder, Written } from '../epub/builder.js';
import type { AssetInput, ChapterInput, TocEntry } from '../epub/from-chapters.js';
import type { BookMeta, FetchedFile, Format } from '../epub/model.js';
import { bookPathFromUrl, safePackagePath } from '../epub/paths.js';
import { BookdError, errorMessage, within } from '../errors.js';
import { placeBook, removeFromLibrary, type Placed } from '../library/place.js';
import { bookStaging, commitStaged, loadStaged, saveStaged, stagedEpubPath, stagingPart } from '../library/staging.js';
import { cssAssetRefs, htmlAssetRefs } from '../oreilly/asset-refs.js';
import { bookMeta } from '../oreilly/book-meta.js';
import { coverPath, type OreillyClient } from '../oreilly/client.js';
import { assertNotPreview } from '../oreilly/preview.js';
import { isSample } from '../oreilly/sample.js';
import type { FileItem, TocNode } from '../oreilly/types.js';
import type { MachineBudget } from '../pool/budget.js';
import type { Session } from '../pool/session.js';
import type { JobContext, JobHandler } from '../daemon/daemon.js';
import { jobRetrying, type Retrying } from './retry.js';
import type { ArchivedBook } from '../hooks/on-archived.js';

export interface ArchiveDeps {
  store: Store;
  client: OreillyClient;
  clock: Clock;
  config: Config;
  /** Where the CPU-heavy part runs (ThreadBuilder in the daemon). */
  builder: EpubBuilder;
  /** Each file placed (not one left unchanged): metrics, the book.archived event, the onArchived hook. */
  onArchived?: (book: ArchivedBook) => void;
  /** The machine's request budget: every throttle signal cuts it. */
  budget?: MachineBudget;
  /** How many sessions besides the one in hand could confirm a 404 (here or in other daemons). */
  otherSessions?: () => number;
}

const TEXT_TYPES = /x?html|xml/i;
const isHtmlFile = (mediaType: string, path: string) => /html/i.test(mediaType) || /\.x?html?$/i.test(path);

/** Prefixes that keep the staging keys of the two download modes apart. */
const key = {
  file: (fullPath: string) => `file:${fullPath}`,
  chapter: (path: string) => `chapter:${path}`,
  url: (url: string) => `url:${url}`,
};

interface GetOptions {
  /** A 404 or a refused body is a gap (`data: null`) instead of a failure. */
  optional?: boolean;
  /** The listing's `file_size`: an (X)HTML file far short of it is a sample. */
  fileSize?: number | undefined;
  mediaType?: string | undefined;
  /** The file's text is wanted (a chapter's or a stylesheet's references): it is read into memory. */
  text?: boolean;
  /** Throws when the text is not what it should be (a preview); implies `text`. */
  check?: (text: string) => void;
}

/** A file as the book keeps it (on disk, src/library/staging.ts), and its text when asked for. */
interface Got {
  file: FetchedFile;
  text?: string;
}

/** Whether the server gave the file: in memory or staged on disk. */
const present = (f: FetchedFile | undefined): f is FetchedFile => f !== undefined && (f.data !== null || f.file !== undefined);

class BookFetch {
  fetched = 0;
  reused = 0;

  constructor(
    private readonly deps: ArchiveDeps,
    private readonly session: Session,
    private readonly ctx: JobContext,
    private readonly requests: Retrying,
    private readonly bookId: string,
    private readonly dir: string,
    private readonly staged: Map<string, FetchedFile>,
  ) {}

  /** Drops everything staged for the book: what was fetched cannot be trusted. */
  async discard(): Promise<void> {
    this.staged.clear();
    await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * One file, from the staging area when an earlier attempt already has it. Auth, rate limits,
   * throttling that outlasts its retries and repeated transient failures propagate, naming what
   * was being fetched. A sample or a preview is never staged: what is staged passed its checks.
   * Only text that is asked for is held in memory, and only by the caller: what the book keeps
   * is the staged file, which the build thread reads. Other bodies stream to it as they arrive.
   */
  async get(stageKey: string, url: string, what: string, o: GetOptions = {}): Promise<Got> {
    const wantText = o.text === true || o.check !== undefined;
    const have = this.staged.get(stageKey);
    if (present(have)) {
      const sample = isHtmlFile(o.mediaType ?? '', url) && isSample(sizeOf(have), o.fileSize);
      const text = !sample && wantText ? await textOf(have) : undefined;
      if (!sample && (!o.check || passes(o.check, text!))) {
        this.reused++;
        return { file: have, ...(text !== undefined && { text }) };
      }
      // A preview an earlier session left behind before its staleness showed: fetch it again.
      this.staged.delete(stageKey);
    }
    const fileOpts = { signal: this.ctx.signal, bookId: this.bookId, fileSize: o.fileSize, mediaType: o.mediaType };
    try {
      return await unlessPermanent(
        async (): Promise<Got> => {
          let got: Got;
          if (wantText) {
            const { data, mediaType } = await this.requests.run(() => this.deps.client.file(this.session, url, fileOpts));
            const text = data.toString('utf8');
            o.check?.(text);
            got = { file: saveStaged(this.dir, { path: stageKey, mediaType, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }), text };
          } else {
            const part = stagingPart(this.dir, stageKey);
            const { mediaType, ...whole } = await this.requests.run(() => this.deps.client.fileTo(this.session, url, part, fileOpts));
            got = { file: commitStaged(this.dir, part, stageKey, mediaType, whole) };
          }
          this.staged.set(stageKey, got.file);
          this.fetched++;
          return got;
        },
        o.optional ? () => ({ file: { path: stageKey, data: null } }) : undefined,
      );
    } catch (err) {
      throw within(what, err);
    }
  }
}

const sizeOf = (f: FetchedFile) => f.data?.byteLength ?? f.bytes ?? 0;

async function textOf(f: FetchedFile): Promise<string> {
  if (f.data) return Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength).toString('utf8');
  return readFile(f.file!, 'utf8');
}

function passes(check: (text: string) => void, text: string): boolean {
  try {
    check(text);
    return true;
  } catch {
    return false;
  }
}

function tocEntries(nodes: TocNode[]): TocEntry[] {
  return nodes
    .filter((n) => n.path)
    .map((n) => ({ title: n.title || n.path, path: n.path, ...(n.fragment ? { fragment: n.fragment } : {}), children: tocEntries(n.children) }));
}

function sameOrigin(url: string, base: string): boolean {
  try {
    return new URL(url).origin === new URL(base).origin;
  } catch {
    return false;
  }
}

/**
 * Runs `work`; when it fails permanently (the thing itself is unusable, docs/ARCHITECTURE.md) and
 * there is a `fallback`, the caller goes on with what the fallback gives instead. Every other
 * failure, and a permanent one without a fallback, propagates.
 */
async function unlessPermanent<T>(work: () => Promise<T>, fallback: ((err: BookdError) => T | Promise<T>) | undefined): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (fallback && err instanceof BookdError && err.kind === 'permanent') return fallback(err);
    throw err;
  }
}

/** The client's calls about a whole book, each taking (session, book id, signal). */
type BookCall = 'epub' | 'searchBook' | 'chapters' | 'toc' | 'files';
type Answer<K extends BookCall> = Awaited<ReturnType<OreillyClient[K]>>;
type Ask = <K extends BookCall>(call: K) => Promise<Answer<K>>;

/** One request about the book, on the job's session, through the job's retry policy (retry.ts). */
function asking(deps: ArchiveDeps, session: Session, ctx: JobContext, requests: Retrying, id: string): Ask {
  return <K extends BookCall>(call: K) => requests.run(() => deps.client[call](session, id, ctx.signal) as Promise<Answer<K>>);
}

interface Book {
  f: BookFetch;
  deps: ArchiveDeps;
  session: Session;
  ctx: JobContext;
  requests: Retrying;
  ask: Ask;
  meta: BookMeta;
}

/**
 * A whole package (or set of chapters) far short of the words its pages hold: some files are
 * previews or samples no single check caught. A session whose probe fails is the cause; with a
 * working session it is the service holding back full files from this machine.
 */
async function shortfall(b: Book, words: number, pages: number, what: string): Promise<BookdError> {
  const message = `${what} holds ${words} words for ${pages} pages: the server sent cut-short files`;
  if (!(await b.requests.sessionOk())) return new BookdError('auth', `${message}; the session is not accepted`);
  return new BookdError('throttled', `${message} while the session is logged in`);
}

/** Publisher-package mode: every file of the files API; undefined when there is no package. */
async function packageSource(b: Book, list: FileItem[] | undefined, virtualPages: number): Promise<BookSource | undefined> {
  const { f, session, ctx, meta } = b;
  if (!list || !list.some((item) => /oebps-package/.test(item.mediaType) || /\.opf$/i.test(item.fullPath))) return undefined;
  // The chapter list's page counts let a chapter file without a listed size be checked for a
  // preview by its length, not only by a paywall marker a preview may lack.
  const pages = new Map<string, number>();
  for (const c of await unlessPermanent(
    () => b.ask('chapters'),
    () => [],
  ))
    pages.set(c.path, c.virtualPages);
  const files: FetchedFile[] = [];
  let words = 0;
  for (const [i, item] of list.entries()) {
    ctx.progress({ phase: 'files', done: i, total: list.length });
    if (!safePackagePath(item.fullPath) || !item.url || !sameOrigin(new URL(item.url, session.baseUrl).href, session.baseUrl)) {
      files.push({ path: item.fullPath, data: null });
      continue;
    }
    const isText = TEXT_TYPES.test(item.mediaType) || /\.x?html?$/i.test(item.fullPath);
    const html = isHtmlFile(item.mediaType, item.fullPath);
    let fileWords = 0;
    const { file } = await f.get(key.file(item.fullPath), item.url, item.fullPath, {
      optional: !isText,
      fileSize: item.fileSize,
      mediaType: item.mediaType,
      // The listed size catches samples; the page count still catches previews cut short with an
      // ellipsis, which a small file's size cannot (the sample check needs 8 KB to speak). The
      // check counts the words once, for the package's total too.
      check: html ? (text) => void (fileWords = assertNotPreview(text, item.fullPath, pages.get(item.fullPath))) : undefined,
    });
    if (present(file) && html) words += fileWords;
    files.push({ ...file, path: item.fullPath, ...(item.mediaType && !file.mediaType ? { mediaType: item.mediaType } : {}) });
    if (i % 20 === 0) ctx.checkpoint({ mode: 'package', fetched: f.fetched + f.reused, total: list.length });
  }
  if (virtualPages >= 10 && words < virtualPages * 60) {
    // Kept, every retry would reuse them: what was staged cannot be trusted.
    await f.discard();
    throw await shortfall(b, words, virtualPages, 'the package');
  }
  return { mode: 'package', input: { meta, bookId: meta.id, files } };
}

/** Chapter mode: chapter pages, TOC, and every stylesheet, image and font they pull in. */
async function chapterSource(b: Book, sizes: Map<string, number>): Promise<BookSource> {
  const { f, session, ctx, meta } = b;
  const list = await b.ask('chapters');
  if (list.length === 0) throw new BookdError('permanent', `book ${meta.id} has neither a publisher package nor chapters`);
  const toc = await unlessPermanent(
    () => b.ask('toc'),
    () => [],
  );
  const chapters: ChapterInput[] = [];
  const wanted = new Map<string, 'css' | 'other'>();
  for (const [i, c] of list.entries()) {
    ctx.progress({ phase: 'chapters', done: i, total: list.length });
    const url = new URL(c.contentUrl, session.baseUrl).href;
    const what = `chapter "${c.title || c.path}"`;
    const size = sizes.get(c.path);
    const got = await f.get(key.chapter(c.path || url), url, what, {
      fileSize: size,
      mediaType: 'text/html',
      check: (text) => void assertNotPreview(text, what, c.virtualPages),
    });
    const html = got.text!;
    // The build reads the page from staging: the book in flight keeps none of its chapters.
    chapters.push({ path: c.path, url, title: c.title, html: '', file: got.file.file! });
    for (const s of c.stylesheets) wanted.set(new URL(s, url).href, 'css');
    for (const img of c.images) if (!wanted.has(new URL(img, url).href)) wanted.set(new URL(img, url).href, 'other');
    for (const ref of htmlAssetRefs(html, url)) if (!wanted.has(ref)) wanted.set(ref, /\.css(\?|$)/i.test(ref) ? 'css' : 'other');
    if (i % 10 === 0) ctx.checkpoint({ mode: 'chapters', fetched: f.fetched + f.reused, total: list.length });
  }
  const assets: AssetInput[] = [];
  const done = new Set<string>();
  const queue = [...wanted.keys()];
  while (queue.length > 0) {
    const url = queue.shift()!;
    if (done.has(url)) continue;
    done.add(url);
    if (!sameOrigin(url, session.baseUrl)) continue;
    ctx.progress({ phase: 'assets', done: done.size, total: done.size + queue.length });
    const path = bookPathFromUrl(new URL(url), meta.id) ?? safePackagePath(decodeURIComponent(new URL(url).pathname).slice(1)) ?? '';
    const got = await f.get(key.url(url), url, `asset ${path || url}`, { optional: true, text: wanted.get(url) === 'css' });
    const file = got.file;
    assets.push({ url, path, ...(file.mediaType ? { mediaType: file.mediaType } : {}), data: file.data, ...(file.file !== undefined && { file: file.file }) });
    if (present(file) && (wanted.get(url) === 'css' || /css/i.test(file.mediaType ?? ''))) {
      for (const ref of cssAssetRefs(got.text ?? (await textOf(file)), url)) if (!done.has(ref)) queue.push(ref);
    }
  }
  let cover: AssetInput | undefined;
  const coverUrl = new URL(coverPath(meta.id), `${session.baseUrl}/`).href;
  const { file: coverFile } = await f.get(key.url(coverUrl), coverUrl, 'cover', { optional: true, mediaType: 'image/jpeg' });
  if (present(coverFile)) {
    cover = {
      url: coverUrl,
      path: 'cover.jpg',
      ...(coverFile.mediaType ? { mediaType: coverFile.mediaType } : {}),
      data: coverFile.data,
      ...(coverFile.file !== undefined && { file: coverFile.file }),
    };
  }
  return { mode: 'chapters', input: { meta, bookId: meta.id, chapters, toc: tocEntries(toc), assets, ...(cover ? { cover } : {}) } };
}

/** Sessions that were answered 404 for this job before and have not been confirmed since. */
async function notFoundBy(deps: ArchiveDeps, jobId: number): Promise<string[]> {
  const out: string[] = [];
  for (const a of await deps.store.jobs.attempts(jobId)) {
    if (a.errorKind === 'not_found' && a.session && !out.includes(a.session)) out.push(a.session);
  }
  return out;
}

/**
 * A 404 on a book's metadata (docs/SERVICE.md §3): the book may not exist, or this session's cookie
 * set may be partial, which the service answers with 404 too. It fails the job only once
 * confirmed: by another session's 404, or by search not listing it when no other session could ask.
 */
async function unconfirmed404(b: Omit<Book, 'f' | 'meta'>, id: string, jobId: number, err: BookdError): Promise<BookdError> {
  const { deps, session } = b;
  const others = (await notFoundBy(deps, jobId)).filter((n) => n !== session.name);
  if (others.length > 0) {
    return new BookdError(
      'permanent',
      `book ${id} does not exist or was withdrawn: sessions ${others[0]} and ${session.name} were both answered 404 (${err.message})`,
      { status: 404 },
    );
  }
  // Any failure of the search counts as "not listed", not only a permanent one.
  const listed = await b.ask('searchBook').catch(() => undefined);
  if (!listed && (deps.otherSessions?.() ?? 0) === 0) {
    return new BookdError('permanent', `book ${id} does not exist or was withdrawn: its metadata is answered 404 and search does not list it`, { status: 404 });
  }
  return new BookdError(
    'not_found',
    `session ${session.name} was answered 404 for book ${id}${listed ? ', which search lists' : ''}; another session confirms before the book is given up (a partial cookie set gets 404 too)`,
    { status: 404 },
  );
}

/**
 * The later of two dates as the service spells them. A re-archive records the listing's date when
 * it is the later one, so a listing ahead of the book's search record cannot queue it again and again.
 */
function latestDate(own: string, listed: string | undefined): string {
  return listed && Date.parse(listed) > (Date.parse(own) || 0) ? listed : own;
}

/**
 * What the catalogue row says of the book's growth (README.md "Updated books"): the pages and date
 * the service gave now, and a new revision with the replaced file's sha256 when the content changed.
 */
function revisionOf(
  previous: BookRecord | undefined,
  placed: Placed,
  virtualPages: number,
  issued: string,
): Pick<BookRecord, 'virtualPages' | 'issued' | 'revision' | 'previousSha256'> {
  const changed = previous !== undefined && !placed.skipped && previous.sha256 !== placed.sha256;
  const previousSha256 = changed ? previous.sha256 : previous?.previousSha256;
  return {
    virtualPages,
    ...(issued && { issued }),
    revision: (previous?.revision ?? 1) + (changed ? 1 : 0),
    ...(previousSha256 !== undefined && { previousSha256 }),
  };
}

/**
 * The daemon's handler for `book` jobs: metadata, then the publisher package (or the chapters
 * when there is none), built as EPUB 3, written to staging, renamed into the library, recorded
 * in the catalogue. Fetched files stay in staging until the book is placed, so a retried or
 * resumed job fetches only what is missing.
 */
export function archiveHandler(deps: ArchiveDeps): JobHandler {
  return async (job, ctx) => {
    if (job.kind !== 'book') throw new Error(`book handler got a ${job.kind} job`);
    const payload: BookPayload = job.payload;
    const { store, config } = deps;
    const session = ctx.session;
    const id = payload.bookId;
    const requests = jobRetrying(deps, ctx, id);
    const ask = asking(deps, session, ctx, requests, id);

    ctx.progress({ phase: 'metadata' });
    const info = await ask('epub').catch(async (err: unknown) => {
      if (err instanceof BookdError && err.status === 404) throw await unconfirmed404({ deps, session, ctx, requests, ask }, id, job.id, err);
      throw err;
    });
    const hit = await unlessPermanent(
      () => ask('searchBook'),
      () => undefined,
    );
    const meta = bookMeta(id, info, hit);

    const dir = bookStaging(config.library, id);
    const staged = await loadStaged(dir);
    const fetch = new BookFetch(deps, session, ctx, requests, id, dir, staged);
    const book: Book = { f: fetch, deps, session, ctx, requests, ask, meta };
    // The files listing gives each file's size (the sample check) in both modes.
    const listing = await unlessPermanent(
      () => ask('files'),
      () => undefined,
    );
    const sizes = new Map((listing ?? []).flatMap((item) => (item.fileSize !== undefined ? [[item.fullPath, item.fileSize] as const] : [])));
    const rebuild = () => chapterSource(book, sizes);
    const unusablePackage = (err: BookdError) => ctx.logger.warn({ err: errorMessage(err) }, 'publisher package unusable; rebuilding from chapters');
    let source: BookSource | undefined;
    if (config.buildMode !== 'chapters') {
      source = await unlessPermanent(
        () => packageSource(book, listing, info.virtualPages),
        config.buildMode === 'package' ? undefined : (err) => void unusablePackage(err),
      );
      if (!source && config.buildMode === 'package') throw new BookdError('permanent', `book ${id} has no publisher package (build mode "package")`);
    }
    source ??= await rebuild();

    const formats: Format[] = payload.format === 'both' ? ['epub', 'kindle'] : [payload.format];
    // Discovery may have tagged this book with more skills while it was downloading.
    const current = await store.jobs.get(job.id);
    const jobSkills = current?.kind === 'book' ? mergeSkills(payload.skills, current.payload.skills) : payload.skills;
    // Every format is built before any is placed, so a build that fails leaves nothing of the
    // book in the library that the catalogue does not name.
    const writer = randomBytes(4).toString('hex');
    await mkdir(dir, { recursive: true });
    const builds: { format: Format; tmp: string; build: Written; mode: BookSource['mode'] }[] = [];
    try {
      for (const format of formats) {
        ctx.progress({ phase: 'writing', format });
        const tmp = stagedEpubPath(config.library, id, format, writer);
        // The package's own files can turn out unusable only when built (no OPF, no spine).
        const canRebuild = source.mode === 'package' && config.buildMode === 'auto' && builds.length === 0;
        const build: Written = await unlessPermanent(
          () => deps.builder.write(source!, format, tmp),
          canRebuild
            ? async (err) => {
                unusablePackage(err);
                source = await rebuild();
                return deps.builder.write(source, format, tmp);
              }
            : undefined,
        );
        builds.push({ format, tmp, build, mode: source.mode });
      }
      // A worker whose lease lapsed (or was cancelled) must not put a book in the library.
      ctx.signal.throwIfAborted();
    } catch (err) {
      await Promise.all(formats.map((f) => rm(stagedEpubPath(config.library, id, f, writer), { force: true })));
      throw err;
    }

    const written: string[] = [];
    const records: BookRecord[] = [];
    const stale: string[] = [];
    let total = 0;
    for (const { format, tmp, build, mode } of builds) {
      const previous = await store.books.get(id, format);
      const skills = mergeSkills(jobSkills, previous?.skills ?? []);
      const placed = await placeBook({
        libraryRoot: config.library,
        staged: tmp,
        meta,
        format,
        skills,
        ...(previous ? { previous } : {}),
        ...(payload.keepPrevious && { keepPrevious: true }),
      });
      stale.push(...placed.stale);
      const revision = revisionOf(previous, placed, info.virtualPages, latestDate(hit?.issued || info.publicationDate, payload.listedIssued));
      records.push({
        id,
        format,
        title: meta.title,
        authors: meta.authors,
        skills,
        path: placed.path,
        sha256: placed.sha256,
        bytes: placed.bytes,
        archivedAt: deps.clock.now(),
        mode,
        gaps: build.gaps,
        ...revision,
      });
      total += placed.bytes;
      if (!placed.skipped) deps.onArchived?.({ id, title: meta.title, path: join(config.library, placed.path), skills, format, bytes: placed.bytes });
      written.push(
        `${placed.path}${placed.skipped ? ' (unchanged)' : revision.revision! > 1 && revision.previousSha256 ? ` (revision ${revision.revision}${placed.kept ? `, the previous kept as ${placed.kept}` : ''})` : ''}${build.gaps.length ? ` with ${build.gaps.length} gap${build.gaps.length === 1 ? '' : 's'}` : ''}`,
      );
    }
    // Sessions answered 404 for a book this one has just read: their cookie sets are probably partial.
    const suspects = (await notFoundBy(deps, job.id)).filter((n) => n !== session.name);
    return {
      message: `${source.mode === 'package' ? 'publisher package' : 'rebuilt from chapters'}, ${fetch.fetched} files fetched${fetch.reused ? `, ${fetch.reused} reused` : ''}: ${written.join('; ')}`,
      bytes: total,
      bookDone: true,
      ...(suspects.length > 0 ? { partialSessions: suspects } : {}),
      // The catalogue rows commit with the job's completion: a kill between the two cannot happen.
      catalogue: records,
      after: async () => {
        await removeFromLibrary(config.library, stale);
        // A job for this book's other format may be using the staged files: the last one clears them.
        const sibling = (await store.views.running()).some((j) => j.kind === 'book' && j.payload.bookId === id);
        if (!sibling) await rm(dir, { recursive: true, force: true });
      },
    };
  };
}
