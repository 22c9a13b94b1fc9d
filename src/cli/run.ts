import type { Command } from '@commander-js/extra-typings';
import { EXIT } from '../errors.js';
import { createLogger } from '../log.js';
import { createNotifier, monotonicUsec } from '../daemon/sd-notify.js';
import { runService, type RunningService } from '../app/service.js';
import { requireHttpToken, type RunFlags } from '../config.js';
import { configOf } from './support/context.js';
import { parsePositiveInteger } from './support/args.js';

interface ServeFlags {
  workers?: number;
  grace?: number;
  sessionInterval?: number;
  http?: string;
  untilEmpty?: boolean;
}

/**
 * Shared by `run` and `daemon`: signals drive the shutdown (first SIGTERM/SIGINT drains, a second
 * exits at once), SIGHUP reloads sessions and the log level.
 */
async function serve(cmd: Parameters<typeof configOf>[0], flags: ServeFlags, asService: boolean): Promise<void> {
  // The flags that stand for settings go through the one resolver, so a bad --http is a usage
  // error like any other bad flag, and a reload keeps them.
  const settings: RunFlags = { http: flags.http, graceSeconds: flags.grace, sessionIntervalMs: flags.sessionInterval, workers: flags.workers };
  const config = configOf(cmd, settings);
  requireHttpToken(config);
  const logger = createLogger({ level: config.logLevel });
  const notifier = asService ? createNotifier(process.env, (err) => logger.warn({ err: err.message }, 'sd_notify failed')) : undefined;
  let running: RunningService | undefined;
  let signals = 0;
  const onStop = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1 || !running) {
      logger.warn({ signal }, 'second signal: exiting now; unfinished jobs return to the queue when their leases expire');
      process.exit(EXIT.failure);
    }
    running.daemon.stop(`${signal} received`);
  };
  const onHup = async () => {
    // systemd holds the unit in "reloading" from RELOADING=1 until READY=1 (systemctl reload is
    // ExecReload= sending this SIGHUP). Only a daemon that has said READY=1 and is not stopping
    // says either: `running` is set just before the daemon sends its first READY=1, in one tick.
    const tell = notifier?.enabled && running !== undefined && !running.daemon.stopping ? notifier : undefined;
    tell?.send({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec().toString() });
    let status = 'reloaded sessions and log level';
    try {
      const fresh = configOf(cmd, settings);
      logger.level = fresh.logLevel;
      if (running) {
        await running.pool.reload();
        running.daemon.growLanes();
      }
      logger.info('SIGHUP: sessions and log level reloaded');
    } catch (err) {
      status = `reload refused: ${(err as Error).message}`;
      logger.error({ err: (err as Error).message }, 'SIGHUP: the configuration is not valid (or the store could not be read); keeping the old one');
    } finally {
      // Also after a refused reload: the daemon runs on with the old settings, and without READY=1
      // systemd would leave the unit "reloading" until its timeout.
      tell?.send({ READY: 1, STATUS: status });
    }
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  const hup = () => void onHup();
  process.on('SIGHUP', hup);
  try {
    const summary = await runService({
      config,
      logger,
      notifier,
      workers: config.workers,
      untilEmpty: flags.untilEmpty,
      onStart: (r) => (running = r),
    });
    const usage = process.resourceUsage();
    logger.info(
      {
        cpuUserMs: Math.round(usage.userCPUTime / 1000),
        cpuSystemMs: Math.round(usage.systemCPUTime / 1000),
        maxRssKb: usage.maxRSS,
        succeeded: summary.succeeded,
        failed: summary.failed,
      },
      'resource use of this run',
    );
    if (summary.fatal) {
      logger.error(`stopped: ${summary.fatal}`);
      process.exitCode = EXIT.failure;
    } else if (flags.untilEmpty) {
      logger.info({ succeeded: summary.succeeded, failed: summary.failed }, 'queue empty: stopping');
      if (summary.failed > 0) process.exitCode = EXIT.failure;
    }
  } finally {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', hup);
  }
}

export function registerRun(program: Command): void {
  const common = (c: Command) =>
    c
      .option('--workers <n>', 'how many books at once (default: one per usable session)', parsePositiveInteger)
      .option(
        '--grace <seconds>',
        'on SIGTERM/SIGINT, how long running books may finish before they are returned to the queue (default 60)',
        parsePositiveInteger,
      )
      .option('--session-interval <ms>', 'minimum time between two requests of one session (default 1000; env BOOKD_SESSION_INTERVAL_MS)', parsePositiveInteger)
      .option('--http <host:port>', 'serve /metrics, /healthz and /readyz here (env BOOKD_HTTP)');

  common(
    program
      .command('run')
      .description('work through the queue in the foreground (Ctrl-C drains and stops)')
      .option('--until-empty', 'stop when nothing is queued or running; exit 1 if a book failed'),
  ).action(async (opts, cmd) => serve(cmd, opts, false));

  common(program.command('daemon').description('the service entry point: like run, plus sd_notify (READY, STATUS, WATCHDOG) under systemd')).action(
    async (opts, cmd) => serve(cmd, opts, true),
  );
}
