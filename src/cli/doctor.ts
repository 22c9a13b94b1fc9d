import { InvalidArgumentError, type Command } from '@commander-js/extra-typings';
import { UsageError } from '../errors.js';
import { badBookRefMessage, parseBookRef } from '../ids.js';
import type { CheckStatus } from '../doctor/checks.js';
import { VERSION } from '../version.js';
import { withOneSession } from './support/one-session.js';
import { withStore } from './support/context.js';
import { printJson } from './support/format.js';

const MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', unknown: '?' };

function milliseconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number of milliseconds (0 or more).');
  return n;
}

/**
 * `bookd doctor`: the first real run's missing test. One session, held as every one-shot command
 * holds it (no daemon shares its jar; every rotated jar saved), asks the service a few questions
 * slowly and says, check by check, where its answers differ from docs/SERVICE.md and what that
 * changes in bookd. Exit 1 when something differs.
 */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description("check the service's answers against what bookd expects, with one session, about 15 requests at one per second; exit 1 when something differs")
    .option('--session <name>', 'the session to ask with (default: the first usable one)')
    .option('--book <id-or-url>', 'the book to ask about (default: the first book the search lists)')
    .option('--json', 'print a redacted JSON report to share (no cookie value, token or header value but Server)')
    .option('--interval <ms>', 'time between two requests', milliseconds, 1000)
    .action(async (opts, cmd) => {
      let bookId: string | undefined;
      if (opts.book !== undefined) {
        bookId = parseBookRef(opts.book);
        if (!bookId) throw new UsageError(`--book: ${badBookRefMessage(opts.book)}`);
      }
      // Loaded here, not at the top: see demo.ts.
      const { doctorIo, runChecks, summaryLines } = await import('../doctor/checks.js');
      await withStore(
        cmd,
        async (store, config) => {
          const at = new Date().toISOString();
          // The doctor's pace, not the daemon's: slow by default, 0 in tests.
          const paced = { ...config, sessionIntervalMs: opts.interval };
          const { report, session } = await withOneSession(
            store,
            paced,
            async (held) => {
              const takes = opts.interval >= 500 ? ` (about ${Math.round((16 * opts.interval) / 1000)} s)` : '';
              if (!opts.json) process.stdout.write(`bookd doctor: session ${held.name} at ${config.baseUrl}, one request every ${opts.interval} ms${takes}\n`);
              const io = doctorIo(held, {
                intervalMs: opts.interval,
                userAgent: (await store.sessions.get(held.name))?.userAgent ?? config.userAgent,
                acceptLanguage: config.acceptLanguage,
                // The same waits as the held session's own requests (a one-shot command's).
                timeouts: config.tuning.requests.oneShot,
              });
              try {
                return { report: await runChecks({ session: held, io, bookId }), session: held.name };
              } finally {
                await io.close();
              }
            },
            opts.session === undefined ? {} : { name: opts.session },
          );
          const differ = report.checks.filter((c) => c.status === 'fail').length;
          const summary = summaryLines(report.checks);
          if (opts.json) {
            printJson({ version: VERSION, baseUrl: config.baseUrl, session, book: report.book, at, requests: report.requests, checks: report.checks, summary });
          } else {
            for (const c of report.checks) process.stdout.write(`${MARK[c.status]} ${c.title}: ${c.evidence}\n`);
            process.stdout.write(`\n${differ ? 'What changes in bookd:' : 'Summary:'}\n${summary.map((l) => `  - ${l}\n`).join('')}`);
            process.stdout.write(`${report.checks.length} checks, ${differ} differ, ${report.requests} requests\n`);
          }
          if (differ > 0) process.exitCode = 1;
        },
        { memoryIfMissing: true },
      );
    });
}
