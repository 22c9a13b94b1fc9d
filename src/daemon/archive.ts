import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { mergeSkills, type BookPayload } from '../db/jobs.js';
import type { BookRecord } from '../db/books.js';
import type { Store } from '../db/store.js';
import type { BookSource, EpubBuilder, Written } from '../epub/builder.js';
import type { AssetInput, ChapterInput, TocEntry } from '../epub/from-chapters.js';
import type { BookMeta, FetchedFile, Format } from '../epub/model.js';
import { bookPathFromUrl, safePackagePath } from '../epub/paths.js';
import { BookdError, errorMessage } from '../errors.js';
import { placeBook, removeFromLibrary } from '../library/place.js';
import { bookStaging, loadStaged, saveStaged, stagedEpubPath } from '../library/staging.js';
import { cssAssetRefs, htmlAssetRefs } from '../oreilly/asset-refs.js';
import { bookMeta } from '../oreilly/book-meta.js';
import type { OreillyClient } from '../oreilly/client.js';
import { assertNotPreview, visibleWords } from '../oreilly/preview.js';
import type { TocNode } from '../oreilly/types.js';
import type { Session } from '../pool/session.js';
import type { JobContext, JobHandler } from './daemon.js';
import { withRetries } from './retry.js';

export interface ArchiveDeps {
  store: Store;
  client: OreillyClient;
  clock: Clock;
  config: Config;
  retryBaseMs: number;
  /** Where the CPU-heavy part runs (ThreadBuilder in the daemon). */
  builder: EpubBuilder;
  onArchived?: (bytes: number) => void;
}

const TEXT_TYPES = /x?html|xml/i;

/** Prefixes that keep the staging keys of the two download modes apart. */
const key = {
  file: (fullPath: string) => `file:${fullPath}`,
  chapter: (path: string) => `chapter:${path}`,
  url: (url: string) => `url:${url}`,
};

class BookFetch {
  fetched = 0;
  reused = 0;

  constructor(
    private readonly deps: ArchiveDeps,
    private readonly session: Session,
    private readonly ctx: JobContext,
    private readonly dir: string,
    private readonly staged: Map<string, FetchedFile>,
  ) {}

  /** Drops everything staged for the book: what was fetched cannot be trusted. */
  async discard(): Promise<void> {
    this.staged.clear();
    await rm(this.dir, { recursive: true, force: true });
  }

  private retrying<T>(fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, { clock: this.deps.clock, baseMs: this.deps.retryBaseMs, signal: this.ctx.signal });
  }

  /**
   * One file, from the staging area when an earlier attempt already has it. A 404 or a refused
   * body (too large, unknown encoding) is a gap (`data: null`) when `optional`; auth, rate limits
   * and repeated transient failures propagate, naming what was being fetched.
   */
  async get(stageKey: string, url: string, what: string, optional: boolean, check?: (data: Buffer) => void): Promise<FetchedFile> {
    const have = this.staged.get(stageKey);
    if (have?.data) {
      if (!check || passes(check, have.data)) {
        this.reused++;
        return have;
      }
      // A preview an earlier session left behind before its staleness showed: fetch it again.
      this.staged.delete(stageKey);
    }
    try {
      const { data, mediaType } = await this.retrying(() => this.deps.client.file(this.session, url, this.ctx.signal));
      check?.(data);
      const file: FetchedFile = { path: stageKey, mediaType, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
      await saveStaged(this.dir, file);
      this.staged.set(stageKey, file);
      this.fetched++;
      return file;
    } catch (err) {
      if (err instanceof BookdError && err.kind === 'permanent' && optional) return { path: stageKey, data: null };
      if (err instanceof BookdError) throw new BookdError(err.kind, `${what}: ${err.message}`, { retryAt: err.retryAt, edge: err.edge, status: err.status, cause: err });
      throw err;
    }
  }
}

function passes(check: (data: Buffer) => void, data: Uint8Array): boolean {
  try {
    check(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
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

/** Publisher-package mode: every file of the files API; undefined when there is no package. */
async function packageSource(f: BookFetch, deps: ArchiveDeps, session: Session, ctx: JobContext, meta: BookMeta, virtualPages: number): Promise<BookSource | undefined> {
  let list;
  try {
    list = await withRetries(() => deps.client.files(session, meta.id, ctx.signal), { clock: deps.clock, baseMs: deps.retryBaseMs, signal: ctx.signal });
  } catch (err) {
    if (err instanceof BookdError && err.kind === 'permanent') return undefined;
    throw err;
  }
  if (!list.some((item) => /oebps-package/.test(item.mediaType) || /\.opf$/i.test(item.fullPath))) return undefined;
  // The chapter list's page counts let each chapter file be checked for a preview by its length,
  // not only by a paywall marker a preview may lack.
  const pages = new Map<string, number>();
  try {
    for (const c of await withRetries(() => deps.client.chapters(session, meta.id, ctx.signal), { clock: deps.clock, baseMs: deps.retryBaseMs, signal: ctx.signal })) {
      pages.set(c.path, c.virtualPages);
    }
  } catch (err) {
    if (!(err instanceof BookdError && err.kind === 'permanent')) throw err;
  }
  const files: FetchedFile[] = [];
  let words = 0;
  for (const [i, item] of list.entries()) {
    ctx.progress({ phase: 'files', done: i, total: list.length });
    if (!safePackagePath(item.fullPath) || !item.url) {
      files.push({ path: item.fullPath, data: null });
      continue;
    }
    if (!sameOrigin(new URL(item.url, session.baseUrl).href, session.baseUrl)) {
      files.push({ path: item.fullPath, data: null });
      continue;
    }
    const isText = TEXT_TYPES.test(item.mediaType) || /\.x?html?$/i.test(item.fullPath);
    const file = await f.get(key.file(item.fullPath), item.url, item.fullPath, !isText, (data) => {
      if (/html/i.test(item.mediaType) || /\.x?html?$/i.test(item.fullPath)) assertNotPreview(data.toString('utf8'), item.fullPath, pages.get(item.fullPath));
    });
    if (file.data && isText && /html/i.test(item.mediaType)) words += visibleWords(Buffer.from(file.data).toString('utf8'));
    files.push({ ...file, path: item.fullPath, ...(item.mediaType && !file.mediaType ? { mediaType: item.mediaType } : {}) });
    if (i % 20 === 0) ctx.checkpoint({ mode: 'package', fetched: f.fetched + f.reused, total: list.length });
  }
  if (virtualPages >= 10 && words < virtualPages * 60) {
    // Some of those files are previews no single check caught; kept, every retry would reuse them.
    await f.discard();
    throw new BookdError('auth', `the package holds ${words} words for ${virtualPages} pages: the server sent truncated previews; the session is not accepted`);
  }
  return { mode: 'package', input: { meta, bookId: meta.id, files } };
}

/** Chapter mode: chapter pages, TOC, and every stylesheet, image and font they pull in. */
async function chapterSource(f: BookFetch, deps: ArchiveDeps, session: Session, ctx: JobContext, meta: BookMeta, coverUrl: string): Promise<BookSource> {
  const retry = <T>(fn: () => Promise<T>) => withRetries(fn, { clock: deps.clock, baseMs: deps.retryBaseMs, signal: ctx.signal });
  const list = await retry(() => deps.client.chapters(session, meta.id, ctx.signal));
  if (list.length === 0) throw new BookdError('permanent', `book ${meta.id} has neither a publisher package nor chapters`);
  const toc = await retry(() => deps.client.toc(session, meta.id, ctx.signal)).catch((err: unknown) => {
    if (err instanceof BookdError && err.kind === 'permanent') return [];
    throw err;
  });
  const chapters: ChapterInput[] = [];
  const wanted = new Map<string, 'css' | 'other'>();
  for (const [i, c] of list.entries()) {
    ctx.progress({ phase: 'chapters', done: i, total: list.length });
    const url = new URL(c.contentUrl, session.baseUrl).href;
    const file = await f.get(key.chapter(c.path || url), url, `chapter "${c.title || c.path}"`, false, (data) =>
      assertNotPreview(data.toString('utf8'), `chapter "${c.title || c.path}"`, c.virtualPages),
    );
    const html = Buffer.from(file.data!).toString('utf8');
    chapters.push({ path: c.path, url, title: c.title, html });
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
    const file = await f.get(key.url(url), url, `asset ${path || url}`, true);
    assets.push({ url, path, ...(file.mediaType ? { mediaType: file.mediaType } : {}), data: file.data });
    if (file.data && (wanted.get(url) === 'css' || /css/i.test(file.mediaType ?? ''))) {
      for (const ref of cssAssetRefs(Buffer.from(file.data).toString('utf8'), url)) if (!done.has(ref)) queue.push(ref);
    }
  }
  let cover: AssetInput | undefined;
  if (coverUrl && sameOrigin(new URL(coverUrl, session.baseUrl).href, session.baseUrl)) {
    const url = new URL(coverUrl, session.baseUrl).href;
    const file = await f.get(key.url(url), url, 'cover', true);
    if (file.data) cover = { url, path: 'cover.jpg', ...(file.mediaType ? { mediaType: file.mediaType } : {}), data: file.data };
  }
  return { mode: 'chapters', input: { meta, bookId: meta.id, chapters, toc: tocEntries(toc), assets, ...(cover ? { cover } : {}) } };
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
    const { store, client, config } = deps;
    const session = ctx.session;
    const id = payload.bookId;
    const retry = <T>(fn: () => Promise<T>) => withRetries(fn, { clock: deps.clock, baseMs: deps.retryBaseMs, signal: ctx.signal });

    ctx.progress({ phase: 'metadata' });
    const info = await retry(() => client.epub(session, id, ctx.signal)).catch((err: unknown) => {
      if (err instanceof BookdError && err.status === 404) {
        throw new BookdError('permanent', `book ${id} does not exist or was withdrawn (the service answered 404: ${err.message})`, { status: 404 });
      }
      throw err;
    });
    const hit = await retry(() => client.searchBook(session, id, ctx.signal)).catch((err: unknown) => {
      if (err instanceof BookdError && err.kind === 'permanent') return undefined;
      throw err;
    });
    const meta = bookMeta(id, info, hit);

    const dir = bookStaging(config.library, id);
    const staged = await loadStaged(dir);
    const fetch = new BookFetch(deps, session, ctx, dir, staged);
    const rebuild = () => chapterSource(fetch, deps, session, ctx, meta, hit?.coverUrl ?? '');
    let source: BookSource | undefined;
    if (config.buildMode !== 'chapters') {
      try {
        source = await packageSource(fetch, deps, session, ctx, meta, info.virtualPages);
      } catch (err) {
        if (!(err instanceof BookdError && err.kind === 'permanent') || config.buildMode === 'package') throw err;
        ctx.logger.warn({ err: errorMessage(err) }, 'publisher package unusable; rebuilding from chapters');
      }
      if (!source && config.buildMode === 'package') throw new BookdError('permanent', `book ${id} has no publisher package (build mode "package")`);
    }
    source ??= await rebuild();

    const formats: Format[] = payload.format === 'both' ? ['epub', 'kindle'] : [payload.format];
    // Discovery may have tagged this book with more skills while it was downloading.
    const current = store.jobs.get(job.id);
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
        let build: Written;
        try {
          build = await deps.builder.write(source, format, tmp);
        } catch (err) {
          // The package's own files can turn out unusable only when built (no OPF, no spine).
          if (!(source.mode === 'package' && config.buildMode === 'auto' && err instanceof BookdError && err.kind === 'permanent' && builds.length === 0)) throw err;
          ctx.logger.warn({ err: errorMessage(err) }, 'publisher package unusable; rebuilding from chapters');
          source = await rebuild();
          build = await deps.builder.write(source, format, tmp);
        }
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
      const previous = store.books.get(id, format);
      const skills = mergeSkills(jobSkills, previous?.skills ?? []);
      const placed = await placeBook({ libraryRoot: config.library, staged: tmp, meta, format, skills, ...(previous ? { previous } : {}) });
      stale.push(...placed.stale);
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
      });
      total += placed.bytes;
      if (!placed.skipped) deps.onArchived?.(placed.bytes);
      written.push(`${placed.path}${placed.skipped ? ' (unchanged)' : ''}${build.gaps.length ? ` with ${build.gaps.length} gap${build.gaps.length === 1 ? '' : 's'}` : ''}`);
    }
    return {
      message: `${source.mode === 'package' ? 'publisher package' : 'rebuilt from chapters'}, ${fetch.fetched} files fetched${fetch.reused ? `, ${fetch.reused} reused` : ''}: ${written.join('; ')}`,
      bytes: total,
      bookDone: true,
      // The catalogue row commits with the job's completion: a kill between the two cannot happen.
      commit: () => records.forEach((r) => store.books.record(r)),
      after: async () => {
        await removeFromLibrary(config.library, stale);
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
}
