import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { epubcheckTs } from '../helpers/epubcheck.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { startSimProcess } from '../helpers/sim.js';
import { compareWithSource, sourceCatalogue } from '../helpers/source.js';

interface StatusJson {
  jobs: Record<'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled', number>;
  sessions: { name: string; state: string }[];
}

/**
 * The fault suite, time scaled down: 5 % server errors, 2 % connection resets, 1 %
 * stalled responses, a 429 storm on two of four sessions, an edge-403 period (seconds here, minutes
 * in production, with the back-off scaled alike), two poison books. Everything else completes; the
 * poison books fail with reasons a person understands; the daemon never stops by itself.
 */
test('faults, throttling and poison books slow the run down; they never stop or corrupt it', async () => {
  const { dir, cleanup } = tempDir();
  const sim = await startSimProcess([
    '--seed',
    '71',
    '--books',
    '24',
    '--poison',
    '--rotate',
    'every',
    '--fail-rate',
    '0.05',
    '--reset-rate',
    '0.02',
    '--stall-rate',
    '0.01',
    '--latency',
    '2',
  ]);
  try {
    const cat = await sim.catalogue();
    const env = bookdEnv(join(dir, 'data'), sim.url, {
      BOOKD_LOG_LEVEL: 'info',
      BOOKD_RETRY_BASE_MS: '20',
      BOOKD_REQUEST_TIMEOUT_MS: '1500',
      BOOKD_EDGE_BACKOFF_MS: '500',
      BOOKD_SESSION_INTERVAL_MS: '2',
    });
    const cookies = await addSessions(sim, 4, dir, env);
    const sid = (c: Record<string, string>) => (JSON.parse(Buffer.from(c['orm-jwt']!.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
    const good = cat.books.filter((b) => b.format === 'book' && b.flags.length === 0);
    const poison = [cat.books.find((b) => b.flags.includes('poison-missing'))!, cat.books.find((b) => b.flags.includes('poison-chapter'))!];
    for (const b of [...good, ...poison]) await runCli(['enqueue', '--book', b.id], { env });

    const daemon = await startCli(['run'], { env });
    try {
      await waitFor(async () => (await cliJson<StatusJson>(['status'], env)).jobs.succeeded >= 3, 'some books done', 60_000, 100);
      await sim.control({ storm: { sessions: [sid(cookies[0]!), sid(cookies[1]!)], ms: 4000 } });
      await waitFor(async () => (await cliJson<StatusJson>(['status'], env)).jobs.succeeded >= 8, 'work goes on during the storm', 60_000, 100);
      await sim.control({ edgeBlockMs: 2500 });
      await waitFor(() => daemon.lines.some((l) => /the edge refused this machine/.test(l)), 'the edge period noticed', 30_000, 50);
      await waitFor(
        async () => {
          const s = await cliJson<StatusJson>(['status'], env);
          return s.jobs.queued === 0 && s.jobs.running === 0;
        },
        'the queue drained',
        240_000,
        250,
      );
      assert.equal(daemon.child.exitCode, null, 'the daemon is still running: it never stops by itself');
    } finally {
      assert.equal((await daemon.stop('SIGTERM')).code, 0);
    }

    const status = await cliJson<StatusJson>(['status'], env);
    assert.equal(status.jobs.succeeded, good.length, 'every good book archived');
    assert.equal(status.jobs.failed, 2, 'the two poison books failed');
    assert.deepEqual(
      status.sessions.map((s) => s.state).filter((s) => s !== 'ok' && s !== 'cooling'),
      [],
      'no session lost',
    );
    const failed = await runCli(['jobs', 'list', '--state', 'failed'], { env });
    assert.match(failed.stdout, new RegExp(poison[0]!.id));
    const shows = await Promise.all(
      (await cliJson<{ id: number }[]>(['jobs', 'list', '--state', 'failed'], env)).map((j) => runCli(['jobs', 'show', String(j.id)], { env })),
    );
    const text = shows.map((s) => s.stdout).join('\n');
    assert.match(text, /does not exist or was withdrawn/);
    assert.match(text, /ch02\.xhtml.*server error 50\d/);

    const stats = await sim.stats();
    assert.ok(stats.faults.fail > 0 && stats.faults.reset > 0 && stats.faults.stall > 0, `faults were injected: ${JSON.stringify(stats.faults)}`);
    assert.ok(stats.sent['429'] > 0 && stats.sent['429'] < 10, `the stormed sessions cooled down instead of hammering (${stats.sent['429']} × 429)`);
    // Every session meets the edge at most once per back-off step: the pauses of 0.5 s and then 1 s
    // put tries at 0, 0.5 and 1.5 s into the 2.5 s block, and the next, at 3.5 s, past it. Hammering
    // would be many more; 4 sessions × 3 is the most that backing off allows (how many of them it
    // reaches depends on which sessions the 429 storm still holds back).
    assert.ok(stats.sent['403'] > 0 && stats.sent['403'] <= 4 * 3, `everyone backed off from the edge (${stats.sent['403']} × 403)`);

    const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
    const source = sourceCatalogue(cat);
    for (const e of lib) {
      const file = join(dir, 'data', 'library', e.path);
      assert.deepEqual((await epubcheckTs(file)).errors, [], `${e.path} valid`);
      assert.deepEqual(compareWithSource(file, source, e.id), [], `${e.path} complete`);
    }
  } finally {
    await sim.stop();
    cleanup();
  }
});
