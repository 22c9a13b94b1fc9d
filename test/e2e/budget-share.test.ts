import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, startCli, tempDir, waitFor, type Running } from '../helpers/cli.js';
import { addSessions, bookdEnv, cliJson } from '../helpers/library.js';
import { startSimProcess } from '../helpers/sim.js';
import { freePort } from '../helpers/web.js';

/** This daemon's pace: its share of the machine's budget, as its /metrics says. */
async function pace(url: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`).catch(() => undefined))?.text();
  const m = text?.match(/^bookd_machine_budget_requests_per_second ([\d.e+-]+)$/m);
  return m ? Number(m[1]) : undefined;
}

interface StatusJson {
  budget: { scope: string; rate: number; reason: string }[];
}

/**
 * Two daemons on one machine (one database) are one client to the service's per-machine guard
 * (docs/SERVICE.md §4): they split one budget row, and a cut one of them makes slows the other.
 */
test('two daemons on one machine share one budget: each paces at half of it, and a cut made by one is taken up by the other', async () => {
  // Rises far apart, so only the cuts move the budget while the test looks.
  const sim = await startSimProcess(['--seed', '71', '--books', '30', '--latency', '2', '--guard-rate', '0']);
  const { dir, cleanup } = tempDir();
  const daemons: (Running & { firstLine: string })[] = [];
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info', BOOKD_RETRY_BASE_MS: '50', BOOKD_BUDGET_RISE_SECONDS: '3600' });
    await addSessions(sim, 2, dir, env);
    const urls: string[] = [];
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      urls.push(`http://127.0.0.1:${port}`);
      daemons.push(await startCli(['run', '--workers', '1', '--http', `127.0.0.1:${port}`], { env }));
    }
    const start = Number(env.BOOKD_BUDGET_START);
    // Each syncs the shared row every 2 s; once both have seen the other, each takes half.
    await waitFor(
      async () => {
        const p = await Promise.all(urls.map(pace));
        return p.every((x) => x === start / 2) || undefined;
      },
      'both daemons pacing at half the machine budget',
      20_000,
      200,
    );

    // Now the guard bites. One book: one daemon works and meets the guard, the other is idle, so
    // the only way its pace can fall is by taking up the cut from the shared row.
    await sim.control({ guardRate: 20, guardBurst: 5 });
    const book = (await sim.catalogue()).books.find((b) => b.format === 'book' && b.flags.length === 0 && b.chapters >= 8 && b.chapters < 100)!;
    assert.equal((await runCli(['enqueue', '--book', book.id], { env })).code, 0);
    const shared = await waitFor(
      async () => {
        const row = (await cliJson<StatusJson>(['status'], env)).budget;
        if (row.length !== 1 || row[0]!.rate >= start) return undefined;
        const p = await Promise.all(urls.map(pace));
        return p.every((x) => x !== undefined && Math.abs(x - row[0]!.rate / 2) < 1e-6) ? row[0] : undefined;
      },
      'a cut by one daemon adopted by the other',
      60_000,
      200,
    );
    assert.ok(shared.rate < start, 'the budget was cut');
    assert.match(shared.reason, /halved/);
    const logs = daemons.map((d) => [d.firstLine, ...d.lines].join('\n'));
    assert.equal(logs.filter((l) => /machine budget halved/.test(l)).length, 1, 'the daemon that met the guard cut the budget, the other only took it up');
  } finally {
    for (const d of daemons) await d.stop('SIGTERM');
    await sim.stop();
    cleanup();
  }
});
