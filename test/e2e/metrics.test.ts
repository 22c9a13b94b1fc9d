import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { addSessions, bookdEnv } from '../helpers/library.js';
import { startSimProcess } from '../helpers/sim.js';
import { freePort } from '../helpers/web.js';

const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;

test('--http serves Prometheus metrics, liveness and readiness that follow the daemon', async () => {
  const { dir, cleanup } = tempDir();
  const sim = await startSimProcess(['--seed', '12', '--books', '6']);
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info' });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const daemon = await startCli(['run', '--http', `127.0.0.1:${port}`], { env });
    try {
      await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200, '/healthz', 10_000);
      const notReady = await fetch(`${url}/readyz`);
      assert.equal(notReady.status, 503, 'no session yet: not ready');
      assert.match(await notReady.text(), /no sessions are configured/);

      await addSessions(sim, 1, dir, env);
      const book = (await sim.catalogue()).books.find((b) => b.flags.length === 0 && b.format === 'book')!;
      await runCli(['enqueue', '--book', book.id], { env });
      daemon.child.kill('SIGHUP');
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 'ready once a session exists', 15_000, 100);
      await waitFor(async () => /bookd_jobs\{state="succeeded"\} 1/.test(await (await fetch(`${url}/metrics`)).text()), 'the book archived', 30_000, 100);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /bookd_books_archived_total 1/);
      assert.match(metrics, /^bookd_archived_bytes_total [1-9]\d+$/m);
      assert.doesNotMatch(metrics, /bookd_bytes_archived_total/, 'the old name is gone');
      assert.match(metrics, new RegExp(`^bookd_build_info\\{version="${VERSION.replace(/\./g, '\\.')}"\\} 1$`, 'm'));
      assert.match(metrics, /^process_cpu_seconds_total \S+$/m, "prom-client's default process metrics");
      assert.match(metrics, /^nodejs_eventloop_lag_seconds \S+$/m);
      assert.match(metrics, /^bookd_book_duration_seconds_count 1$/m);
      assert.match(metrics, /^bookd_book_duration_seconds_bucket\{le="1800"\} 1$/m);
      assert.match(metrics, /^bookd_book_duration_seconds_bucket\{le="\+Inf"\} 1$/m);
      const sum = Number(/^bookd_book_duration_seconds_sum (\S+)$/m.exec(metrics)?.[1]);
      assert.ok(sum > 0 && sum < 30, `a simulated book takes seconds, got ${sum}`);
      const last = Number(/^bookd_last_success_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
      assert.ok(Math.abs(last - Date.now() / 1000) < 60, `last success is now-ish, got ${last}`);
      assert.match(metrics, /^bookd_daemon_jobs_running 0$/m);
      assert.match(metrics, /^# HELP bookd_jobs .*database's view.*max, not sum/m);
      assert.match(metrics, /^bookd_machine_budget_requests_per_second [1-9]/m);
      assert.match(metrics, /^bookd_edge_pause_seconds 0$/m);
      assert.match(metrics, /bookd_requests_total\{outcome="ok"\} [1-9]\d*/);
      assert.match(metrics, /bookd_sessions\{state="ok"\} 1/);
      assert.match(metrics, /bookd_queue_lag_seconds 0/);
      assert.equal((await fetch(`${url}/nope`)).status, 404);
    } finally {
      assert.equal((await daemon.stop('SIGTERM')).code, 0);
    }
  } finally {
    await sim.stop();
    cleanup();
  }
});

test('a bad --http address is a usage error (exit 2), a bad BOOKD_HTTP or config "http" a configuration error (exit 78), before anything starts', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const data = join(dir, 'data');
    for (const cmd of ['run', 'daemon']) {
      const r = await runCli([cmd, '--http', 'nonsense'], { env: { BOOKD_DATA_DIR: data } });
      assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /--http: "nonsense" is not HOST:PORT/);
    }
    const env = await runCli(['run'], { env: { BOOKD_DATA_DIR: data, BOOKD_HTTP: 'nonsense' } });
    assert.equal(env.code, 78);
    assert.match(env.stderr, /BOOKD_HTTP: "nonsense" is not HOST:PORT/);
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ http: '127.0.0.1:99999' }));
    const conf = await runCli(['run', '--config', file], { env: { BOOKD_DATA_DIR: data } });
    assert.equal(conf.code, 78);
    assert.match(conf.stderr, /key "http": "127.0.0.1:99999" is not HOST:PORT/);
    assert.equal(existsSync(join(data, 'bookd.db')), false, 'nothing was created');
  } finally {
    cleanup();
  }
});
