import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { pino } from 'pino';
import { systemClock } from '../clock.js';
import { defaultPlaces, resolveConfig, tuned, type Config } from '../config.js';
import { PRIORITY } from '../db/jobs.js';
import { openStore } from '../db/store.js';
import { createLogger, type Logger } from '../log.js';
import { runService } from '../app/service.js';
import { parseCookieExport } from '../pool/cookie-import.js';
import { jarFromImport, serializeJar, tokenExpiry } from '../pool/jar.js';
import type { startSim } from '../sim/index.js';
import { startLiveView } from './support/live-view.js';
import { configOf } from './support/context.js';
import { parsePositiveInteger } from './support/args.js';
import { duration } from '../views/format.js';

/** A small catalogue over few skills, so two skills make a batch worth parallelising. */
const DEMO_SKILLS = ['Go', 'Rust', 'Python', 'Kubernetes', 'SQL', 'Linux'];
/** The demo runs 10× faster than the live service allows: pacing, the guard and the budget alike. */
const SCALE = 10;
const INTERVAL_MS = 1000 / SCALE;

interface Run {
  books: number;
  elapsedMs: number;
  perHour: number;
}

/** One run of the daemon over a fresh data dir: sessions minted by the sim, jobs given, until empty. */
async function archiveRun(opts: {
  config: Config;
  sim: Awaited<ReturnType<typeof startSim>>;
  sessions: number;
  enqueue: (store: ReturnType<typeof openStore>) => Promise<unknown>;
  logger: Logger;
  live: boolean;
}): Promise<Run> {
  const { config, sim } = opts;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = openStore(config.dbPath);
  try {
    for (const [i, cookies] of sim.mint(opts.sessions).entries()) {
      const { jar } = jarFromImport(parseCookieExport(JSON.stringify(cookies)).cookies, config.baseUrl);
      await store.sessions.add({ name: `demo-${i + 1}`, jarJson: serializeJar(jar), tokenExpiresAt: tokenExpiry(jar, config.baseUrl) });
    }
    await opts.enqueue(store);
  } finally {
    await store.close();
  }
  const started = Date.now();
  let view: { stop(): void } | undefined;
  const summary = await runService({
    config,
    logger: opts.logger,
    untilEmpty: true,
    onStart: (running) => {
      if (opts.live) view = startLiveView({ store: running.store, clock: systemClock, status: config.tuning.status });
    },
  }).finally(() => view?.stop());
  const elapsedMs = Date.now() - started;
  return { books: summary.succeeded, elapsedMs, perHour: (summary.succeeded / elapsedMs) * 3_600_000 };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('archive two skills of the simulated library in parallel, end to end, and compare with one session (about a minute)')
    .option('--sessions <n>', 'sessions in the parallel run', parsePositiveInteger, 4)
    .option('--skills <list>', 'the two skills to archive', 'Go, Rust')
    .option('--keep', 'keep the demo data dir (database, logs, library) instead of deleting it')
    .action(async (opts, cmd) => {
      const given = configOf(cmd);
      const explicitDir = (cmd.optsWithGlobals() as { dataDir?: string }).dataDir;
      const root = explicitDir ?? mkdtempSync(join(tmpdir(), 'bookd-demo-'));
      const keep = opts.keep || explicitDir !== undefined;
      const skills = opts.skills
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const out = process.stdout;
      // The simulator (with its markup and zip libraries) loads only for the command that runs it:
      // every command shares one program, and a daemon should not carry what it never calls.
      const { startSim } = await import('../sim/index.js');
      // The live service's bulk-access guard (8 requests/s per machine) and bookd's budget under it
      // (3 rising to 6), at the demo's scale.
      const sim = await startSim({
        seed: 42,
        books: 48,
        skills: DEMO_SKILLS,
        latencyMs: 30,
        jitterMs: 20,
        rotate: { mode: 'every' },
        guardRate: 8 * SCALE,
        guardBurst: 4 * SCALE,
      });
      const logFile = join(root, 'demo.log');
      mkdirSync(root, { recursive: true });
      const logger = createLogger({ level: 'info', pretty: false, destination: pino.destination({ dest: logFile, sync: true, mkdir: true }) });
      const configFor = (dir: string): Config => ({
        ...resolveConfig({ dataDir: dir, baseUrl: sim.url, logLevel: given.logLevel }, {}, { ...defaultPlaces(), search: false }),
        library: join(dir, 'library'),
        sessionIntervalMs: INTERVAL_MS,
        graceMs: 5_000,
        budget: { start: 3 * SCALE, ceiling: 6 * SCALE, floor: 0.25 * SCALE, riseMs: 30_000 / SCALE },
        // Requests retried (and throttled books snoozed) on a 200 ms unit: the demo is short. Failed
        // books keep the default backoff.
        tuning: tuned({ retry: { requestBaseMs: 200 }, daemon: { throttleSnoozeMs: 30 * 200 } }),
      });
      try {
        out.write(`bookd demo\n`);
        out.write(`  simulated library: ${sim.url} (${sim.catalogue.books.length} books; the token rotates on every response; 40±30 ms latency)\n`);
        out.write(`  ${opts.sessions} sessions, one request per session every ${INTERVAL_MS} ms at most; archiving skills ${skills.join(' and ')}\n`);
        out.write(
          `  the service guards bulk access at ${8 * SCALE} requests/s per machine; bookd's machine budget starts at ${3 * SCALE} and rises toward ${6 * SCALE}\n\n`,
        );

        const parallel = configFor(join(root, 'parallel'));
        const p = await archiveRun({
          config: parallel,
          sim,
          sessions: opts.sessions,
          logger,
          live: true,
          enqueue: async (store) =>
            await store.jobs.enqueue(skills.map((skill) => ({ kind: 'discover', priority: PRIORITY.discover, payload: { skill, format: 'epub' } }))),
        });
        const store = openStore(parallel.dbPath);
        const catalogue = await store.books.list();
        const ids = catalogue.map((b) => b.id);
        const failed = (await store.views.counts()).failed;
        await store.close();

        const sample = ids.slice(0, 4);
        out.write(`\n  comparison: the same kind of work with 1 session (the older tools' serial model), on ${sample.length} of those books…\n`);
        const serial = configFor(join(root, 'serial'));
        const s = await archiveRun({
          config: serial,
          sim,
          sessions: 1,
          logger,
          live: false,
          enqueue: (st) => st.jobs.enqueue(sample.map((bookId) => ({ kind: 'book', payload: { bookId, format: 'epub', skills: [] } }))),
        });

        out.write('\n');
        out.write(
          `  ${catalogue.length} books archived in ${duration(p.elapsedMs)} with ${opts.sessions} sessions: ${Math.round(p.perHour)} books/hour${failed ? ` (${failed} failed: see ${logFile})` : ''}\n`,
        );
        out.write(`  1 session: ${Math.round(s.perHour)} books/hour; ${opts.sessions} sessions are ${(p.perHour / s.perHour).toFixed(1)}× faster\n`);
        const stats = sim.stats();
        out.write(
          `  the server saw ${stats.requests.total} requests, ${stats.staleTokenHits} stale tokens, ${stats.previewsServed} preview pages, ${stats.samplesServed} samples (none of them kept)\n`,
        );
        out.write(`\n  library: ${parallel.library}\n`);
        for (const dir of readdirSync(parallel.library)
          .filter((d) => !d.startsWith('.'))
          .sort()) {
          const files = readdirSync(join(parallel.library, dir));
          out.write(`    ${dir}/ (${files.length} books)\n`);
          for (const f of files.slice(0, 3)) out.write(`      ${relative(join(parallel.library, dir), join(parallel.library, dir, f))}\n`);
          if (files.length > 3) out.write(`      …\n`);
        }
        out.write(keep ? `\n  kept: ${root} (log: ${logFile})\n` : `\n  (pass --keep to keep the library; this one is deleted now)\n`);
      } finally {
        await sim.close();
        if (!keep) rmSync(root, { recursive: true, force: true });
      }
    });
}
