import { closeSync, fsyncSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import { JarWriter } from '../db/jar-writer.js';
import { ThreadBuilder } from '../epub/builder.js';
import type { Store } from '../db/store.js';
import { openConfiguredStore } from '../db/open-configured.js';
import { pgJarSaver } from '../db/pg/jar-saver.js';
import type { JarSaver } from '../pool/pool.js';
import { ThreadLock } from '../db/write-lock.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { OreillyClient } from '../oreilly/client.js';
import { SessionPool } from '../pool/pool.js';
import { cleanStaging, WRITE_PROBE_PREFIX } from '../library/staging.js';
import { archiveHandler } from '../jobs/archive.js';
import { goneOwners, newOwner } from '../pool/holds.js';
import { Daemon, type JobHandler, type RunSummary } from '../daemon/daemon.js';
import { watchRunner } from '../jobs/watch.js';
import type { Listed } from '../jobs/grown.js';
import { discoverHandler } from '../jobs/discover-job.js';
import { healthRoute, metricsRoute, parseHostPort, startHttp } from '../daemon/http.js';
import type { WebServer } from '../web/server.js';
import type { Metrics } from '../daemon/metrics.js';
import type { Notifier } from '../daemon/sd-notify.js';
import { VERSION } from '../version.js';
import { createEventBus, type EventBus } from '../daemon/events.js';
import { startNotifier } from '../notify/notifier.js';
import { onArchivedHook } from '../hooks/on-archived.js';

/** Fails at start, not after an hour, when the library cannot take files. */
export function ensureWritableLibrary(root: string): void {
  const probe = join(root, '.staging', `${WRITE_PROBE_PREFIX}${process.pid}`);
  if (statSync(root, { throwIfNoEntry: false })?.isDirectory() === false) {
    throw new ConfigError(`the library ${root} is not a directory (ENOTDIR); point --library / BOOKD_LIBRARY at a directory`);
  }
  try {
    mkdirSync(root, { recursive: true });
    // Not recursive: a recursive mkdir reports a read-only disk as ENOENT.
    try {
      mkdirSync(join(root, '.staging'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const fd = openSync(probe, 'w', 0o600);
    try {
      writeSync(fd, 'bookd');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`the library ${root} is not writable (${code}); fix its permissions or point --library / BOOKD_LIBRARY elsewhere`);
  }
}

/** The book handler, with the duration histogram and last-success time fed from what it returns. */
function timed(handler: JobHandler, metrics: Metrics | undefined): JobHandler {
  if (!metrics) return handler;
  return async (job, ctx) => {
    const result = await handler(job, ctx);
    if (result.bookDone) metrics.bookDone(job.startedAt);
    return result;
  };
}

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  notifier?: Notifier;
  workers?: number;
  untilEmpty?: boolean;
  /** Called with the running daemon, so signal handlers and the demo's live view can reach it. */
  onStart?: (running: RunningService) => void;
}

export interface RunningService {
  daemon: Daemon;
  pool: SessionPool;
  store: Store;
  httpUrl: string | undefined;
  /** What the daemon decides, as it happens (src/daemon/events.ts): the web page's live updates listen here. */
  events: EventBus;
}

/** Everything `bookd run` and `bookd daemon` do between parsing flags and exiting. */
export async function runService(opts: ServiceOptions): Promise<RunSummary> {
  const { config, logger } = opts;
  const { tuning } = config;
  const clock = opts.clock ?? systemClock;
  logger.info(
    { version: VERSION, pid: process.pid, dataDir: config.dataDir, library: config.library, configFiles: config.configFiles },
    `bookd ${VERSION} starting`,
  );
  for (const note of config.notes) logger.warn(note);
  ensureWritableLibrary(config.library);
  const threadLock = new ThreadLock();
  const store = await openConfiguredStore(config, clock, {
    backoffBaseMs: tuning.retry.jobBaseMs,
    backoffCapMs: tuning.retry.jobCapMs,
    watchRetryBaseMs: tuning.watch.retryBaseMs,
    threadLock,
    listen: true,
    onError: (message) => logger.warn(message),
  });
  if (store.backend === 'postgres') logger.info({ store: store.where, host: hostname() }, 'the store is PostgreSQL, shared with every host pointed at it');
  const owner = newOwner();
  // Which of the owners the store knows of are processes of this host that have died: the pool
  // asks about session holders (whose liveness does not depend on which list named them), the
  // runner about job leases too.
  const holders = async () => (await store.sessions.list()).flatMap((s) => (s.holder ? [s.holder] : []));
  const holdersGone = async () => goneOwners(await holders(), owner);
  const gone = async () =>
    goneOwners([...(await store.jobs.leaseOwners()), ...(await holders()), ...(await store.control.daemons()).map((d) => d.owner)], owner);
  let pool: SessionPool | undefined;
  let http: Awaited<ReturnType<typeof startHttp>> | undefined;
  let web: WebServer | undefined;
  // SQLite's jar saves go through their own thread (group commit, off the main thread); a
  // PostgreSQL server takes each save as its own durable transaction over the network.
  const jars: JarSaver & { close(): Promise<void> } =
    store.backend === 'sqlite' ? new JarWriter(config.dbPath, threadLock, tuning.threads.youngGenerationMb) : pgJarSaver(store.sessions);
  const builder = new ThreadBuilder(undefined, tuning.threads);
  const events = createEventBus(clock, (err) => logger.warn({ err: errorMessage(err) }, 'an event listener failed'));
  const notifications = startNotifier({ bus: events, settings: config.notify, tuning: tuning.notify, clock, logger, host: hostname() });
  const hook = config.onArchived ? onArchivedHook({ argv: config.onArchived, tuning: tuning.hooks, clock, logger }) : undefined;
  try {
    // Another live daemon may be staging a book its own discovery just queued, which no list
    // read here would include; the debris waits for a start that finds this daemon alone. A
    // daemon on another host that has not said anything for `status.daemonGoneMs` counts as gone.
    const dead = new Set(await gone());
    const others = (await store.control.daemons()).filter(
      (d) => d.owner !== owner && !dead.has(d.owner) && clock.now() - d.seenAt < tuning.status.daemonGoneMs,
    );
    if (others.length === 0) {
      const wanted = [...(await store.views.list({ kind: 'book', state: 'queued', limit: 10_000_000 })), ...(await store.views.running())];
      const removed = await cleanStaging(
        config.library,
        wanted.flatMap((j) => (j.kind === 'book' ? [j.payload.bookId] : [])),
      );
      if (removed.length > 0) logger.info({ removed: removed.length }, 'cleaned staging debris left by an earlier run');
    }
    pool = await SessionPool.open({
      owner,
      goneOwners: holdersGone,
      maxSessions: opts.workers ?? config.workers,
      jarSaver: jars,
      baseUrl: config.baseUrl,
      authUrl: config.authUrl,
      userAgent: config.userAgent,
      acceptLanguage: config.acceptLanguage,
      budget: config.budget,
      store: store.sessions,
      logger,
      clock,
      intervalMs: config.sessionIntervalMs,
      tuning,
      credentialsDir: config.credentialsDir,
      events,
    });
    // Metrics are only ever read through /metrics, so a daemon without --http keeps none: prom-client's
    // default collectors watch every GC and the event loop, work nobody would see.
    const metrics = config.http ? (await import('../daemon/metrics.js')).createMetrics({ store, pool, clock, owner }) : undefined;
    let requestsSent = 0;
    const client = new OreillyClient(clock, (outcome) => {
      requestsSent++;
      metrics?.request(outcome);
    });
    const livePool = pool;
    const deps = {
      store,
      client,
      clock,
      config,
      builder,
      budget: pool.budget,
      // Sessions that could confirm a 404 besides the one in hand.
      otherSessions: () => Math.max(0, livePool.usableCount() - 1) + livePool.heldElsewhere(),
    };
    const daemon = new Daemon({
      owner,
      goneOwners: gone,
      store,
      pool,
      logger,
      clock,
      notifier: opts.notifier,
      events,
      lanes: opts.workers ?? config.workers,
      untilEmpty: opts.untilEmpty,
      graceMs: config.graceMs,
      tuning,
      expiryWarningMs: config.expiryWarningMs,
      ...(config.ipGroup !== undefined && { budgetScope: config.ipGroup }),
      watches: watchRunner({
        store,
        clock,
        logger,
        jitterPercent: tuning.watch.jitterPercent,
        playlists: (signal) => livePool.withSession((s) => client.playlists(s, signal), { signal }),
        listed: (ids, signal) =>
          livePool.withSession(
            async (s) => {
              const out = new Map<string, Listed>();
              for (const id of ids) {
                const hit = await client.searchBook(s, id, signal);
                if (hit) out.set(id, { issued: hit.issued });
              }
              return out;
            },
            { signal },
          ),
      }),
      handlers: {
        book: timed(
          archiveHandler({
            ...deps,
            onArchived: (book) => {
              metrics?.archived(book.bytes);
              events.emit({ event: 'book.archived', book: { id: book.id, title: book.title }, message: `"${book.title}" archived as ${book.path}` });
              hook?.run(book);
            },
          }),
          metrics,
        ),
        discover: discoverHandler(deps),
      },
    });
    if (config.http && metrics) {
      // Loaded only when asked for: the page, its API and the OPDS catalog (with the EPUB readers
      // behind it) are a few MB of a daemon's resident memory that a daemon without --http never uses.
      const [{ webServer }, { libraryRoutes }] = await Promise.all([import('../web/server.js'), import('../web/library-routes.js')]);
      web = webServer({
        store,
        clock,
        config,
        events,
        boundHost: parseHostPort(config.http).host,
        metrics: metricsRoute(metrics),
        health: healthRoute({
          healthy: () => daemon.healthy(),
          ready: () => {
            if (daemon.stopping) return { ok: false, why: 'stopping' };
            const why = pool!.noUsableReason();
            return why ? { ok: false, why } : { ok: true };
          },
        }),
        requests: () => requestsSent,
        // Where more of the HTTP surface is mounted (after the token, Host, Origin and CSRF checks), in order.
        routes: libraryRoutes({ books: store.books, libraryRoot: config.library, tuning: config.tuning.opds, clock }),
        onError: (err) => logger.warn({ err }, 'the web page failed to answer a request'),
      });
      const live = web;
      http = await startHttp(config.http, (req, res) => live.handle(req, res));
      logger.info({ url: http.url, token: config.httpToken !== undefined }, 'serving the web page, its API, /metrics, /healthz and /readyz');
    }
    opts.onStart?.({ daemon, pool, store, httpUrl: http?.url, events });
    let summary: RunSummary;
    try {
      summary = await daemon.run();
    } catch (err) {
      events.emit({ event: 'daemon.stopped', message: `bookd stopped on an error: ${errorMessage(err)}; see its log, then start it again` });
      throw err;
    }
    // A stop the operator asked for (SIGTERM, SIGINT, an emptied queue with --until-empty) is no news.
    if (summary.fatal) events.emit({ event: 'daemon.stopped', message: `bookd stopped: ${summary.fatal}` });
    return summary;
  } finally {
    // Before the store closes: a run's last queue.drained or daemon.stopped gets its moment to go out.
    await Promise.all([notifications?.close(), hook?.close()]);
    await http?.close();
    web?.close();
    await pool?.close();
    await jars.close();
    await builder.close();
    opts.notifier?.close();
    await store.close();
  }
}
