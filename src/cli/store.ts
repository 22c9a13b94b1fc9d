import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../errors.js';
import { describeStore, isPostgresUrl } from '../db/pg/url.js';
import type { CopyReport } from '../db/pg/copy.js';
import { configOf } from './support/context.js';
import { printJson, table } from './support/format.js';

/** Checksums are shown by their first characters: enough to compare two runs by eye. */
const CHECKSUM_SHOWN = 16;

export function renderCopy(report: CopyReport, target: string): string {
  const rows = report.tables.reduce((n, t) => n + t.rows, 0);
  const lines = table([['TABLE', 'ROWS', 'CHECKSUM'], ...report.tables.map((t) => [t.name, String(t.rows), t.checksum.slice(0, CHECKSUM_SHOWN)])]);
  const sentence = report.committed
    ? `copied ${rows} rows into ${target}; point every host at it with --store URL`
    : `dry run: ${rows} rows would be copied into ${target} (copied and verified, then rolled back: nothing there changed)`;
  return `${lines}\n${sentence}\n`;
}

export function registerStore(program: Command): void {
  const store = program.command('store').description("the store bookd keeps its state in: move this machine's into PostgreSQL for several machines");

  store
    .command('copy')
    .description(
      "copy this data dir's store (jobs with their history, sessions with their cookies, the catalogue, queue control, watches, budget) into an empty PostgreSQL database, verified by row counts and checksums before it commits",
    )
    .requiredOption(
      '--to <url>',
      'postgres:// or postgresql:// URL of an empty database; bookd creates the schema (the password may come from PGPASSWORD instead of the URL)',
    )
    .option('--dry-run', 'copy and verify inside a transaction that is rolled back: the target is left as it was')
    .option('--json', 'print {target, committed, dry_run, rows, tables: [{name, rows, checksum}]}')
    .action(async (opts, cmd) => {
      if (!isPostgresUrl(opts.to)) {
        // The URL itself may carry a password: only its scheme is repeated.
        const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(opts.to)?.[0] ?? 'no scheme';
        throw new UsageError(`--to must be a postgres:// or postgresql:// URL (got ${scheme})`);
      }
      const config = configOf(cmd);
      const target = describeStore(opts.to);
      // Loaded here, not at the top: see demo.ts.
      const { copyStore } = await import('../db/pg/copy.js');
      const report = await copyStore({
        sqlitePath: config.dbPath,
        url: opts.to,
        dryRun: opts.dryRun ?? false,
        // What it is doing goes to stderr, so stdout is the report alone.
        ...(!opts.json && { log: (line: string) => process.stderr.write(`${line}\n`) }),
      });
      if (opts.json) {
        return printJson({
          target,
          committed: report.committed,
          dry_run: opts.dryRun ?? false,
          rows: report.tables.reduce((n, t) => n + t.rows, 0),
          tables: report.tables,
        });
      }
      process.stdout.write(renderCopy(report, target));
    });
}
