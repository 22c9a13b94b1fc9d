import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../clock.js';
import { DEFAULT_TUNING } from '../config.js';
import { createEventBus } from '../daemon/events.js';
import { createLogger } from '../log.js';
import { startNotifier } from './notifier.js';
import { NO_NOTIFY } from './settings.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver on 127.0.0.1 that records every request; `answer` decides the status (or hangs). */
async function receiver(answer: (n: number) => number | 'hang' = () => 200) {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body });
      const a = answer(got.length);
      if (a !== 'hang') res.writeHead(a).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    got,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function logs() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
  return { logger, lines };
}

const fast = { ...DEFAULT_TUNING.notify, retryBaseMs: 20, retryCapMs: 40, attempts: 3, requestTimeoutMs: 500, flushMs: 3000 };

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('webhook: one JSON POST per person-needed event with the fields; repeats within the cool-down and job/book events are not sent', async () => {
  const rx = await receiver();
  const bus = createEventBus(systemClock);
  const { logger } = logs();
  const n = startNotifier({ bus, settings: { ...NO_NOTIFY, webhooks: [`${rx.url}/hook/SECRET`] }, tuning: fast, clock: systemClock, logger, host: 'nas' })!;
  try {
    bus.emit({ event: 'session.expired', session: 's1', message: 'session s1 is logged out: run bookd sessions renew s1', at: Date.UTC(2026, 11, 2, 10) });
    bus.emit({ event: 'session.expired', session: 's1', message: 'again' });
    bus.emit({ event: 'job.changed', job: 3, message: 'job 3 succeeded' });
    bus.emit({ event: 'book.archived', book: { id: '1', title: 'T' }, message: 'archived' });
    bus.emit({ event: 'book.failed', job: 4, book: { id: '978', title: 'Hostile "title"' }, message: 'book 978 failed for good' });
    await n.close();
    assert.equal(rx.got.length, 2);
    const [first, second] = rx.got.map((g) => ({ ...g, json: JSON.parse(g.body) as Record<string, unknown> }));
    assert.equal(first!.path, '/hook/SECRET');
    assert.equal(first!.headers['content-type'], 'application/json');
    assert.deepEqual(first!.json, {
      event: 'session.expired',
      at: '2026-12-02T10:00:00.000Z',
      message: 'session s1 is logged out: run bookd sessions renew s1',
      session: 's1',
      host: 'nas',
    });
    assert.deepEqual(second!.json, {
      event: 'book.failed',
      at: second!.json.at,
      message: 'book 978 failed for good',
      book: { id: '978', title: 'Hostile "title"' },
      job: 4,
      host: 'nas',
    });
  } finally {
    await rx.close();
  }
});

test('ntfy: the message as the body, with a title, a priority and tags; user:password in the URL becomes Basic auth', async () => {
  const rx = await receiver();
  const bus = createEventBus(systemClock);
  const { logger } = logs();
  const url = new URL(rx.url);
  const n = startNotifier({
    bus,
    settings: { ...NO_NOTIFY, ntfy: `http://me:pw@${url.host}/bookd-alerts` },
    tuning: fast,
    clock: systemClock,
    logger,
    host: 'nas',
  })!;
  try {
    bus.emit({ event: 'storage.full', message: "the library's disk refused a write (ENOSPC)" });
    await n.close();
    assert.equal(rx.got.length, 1);
    const g = rx.got[0]!;
    assert.equal(g.path, '/bookd-alerts');
    assert.equal(g.body, "the library's disk refused a write (ENOSPC)");
    assert.equal(g.headers.title, 'bookd on nas: library disk refused a write');
    assert.equal(g.headers.priority, '5');
    assert.equal(g.headers.tags, 'floppy_disk,rotating_light');
    assert.equal(g.headers.authorization, `Basic ${Buffer.from('me:pw').toString('base64')}`);
  } finally {
    await rx.close();
  }
});

test('a receiver that fails is retried with backoff; one that fails for good is one log line naming only its origin', async () => {
  const flaky = await receiver((i) => (i < 3 ? 503 : 200));
  const gone = await receiver(() => 404);
  const bus = createEventBus(systemClock);
  const { logger, lines } = logs();
  const n = startNotifier({
    bus,
    settings: { ...NO_NOTIFY, webhooks: [`${flaky.url}/a/TOKEN123`, `${gone.url}/b/TOKEN456`] },
    tuning: fast,
    clock: systemClock,
    logger,
    host: 'h',
  })!;
  try {
    bus.emit({ event: 'queue.drained', message: 'the queue is empty' });
    await until(() => flaky.got.length === 3 && n.pending() === 0);
    await n.close();
    assert.equal(gone.got.length, 1, 'a 404 is not tried again');
    const failures = lines.filter((l) => l.includes('not delivered'));
    assert.equal(failures.length, 1);
    assert.match(failures[0]!, new RegExp(`queue.drained to webhook ${gone.url} not delivered after 1 try: answered HTTP 404`));
    assert.ok(!lines.join('').includes('TOKEN'), 'no path of a receiver URL in the log');
  } finally {
    await flaky.close();
    await gone.close();
  }
});

test('a slow receiver (no answer) costs close() no more than flushMs, and emit never waits', async () => {
  const slow = await receiver(() => 'hang');
  const bus = createEventBus(systemClock);
  const { logger, lines } = logs();
  const n = startNotifier({
    bus,
    settings: { ...NO_NOTIFY, webhooks: [slow.url] },
    tuning: { ...fast, requestTimeoutMs: 30_000, flushMs: 300 },
    clock: systemClock,
    logger,
    host: 'h',
  })!;
  try {
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) bus.emit({ event: 'book.failed', book: { id: String(i) }, message: `book ${i} failed` });
    assert.ok(performance.now() - t0 < 200, 'emitting queues and returns');
    await until(() => slow.got.length >= 1);
    const t1 = performance.now();
    await n.close();
    assert.ok(performance.now() - t1 < 2000, 'close gave up after flushMs');
    assert.ok(lines.some((l) => l.includes('dropped: bookd is stopping')));
  } finally {
    await slow.close();
  }
});

test('command: runs with the event in its environment (and none of the daemon BOOKD_ settings)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bookd-notify-cmd-'));
  try {
    const script = join(dir, 'tell.sh');
    writeFileSync(script, `#!/bin/sh\nenv | grep '^BOOKD_' | sort > "${dir}/env-$BOOKD_EVENT"\necho "$1" > "${dir}/arg"\n`);
    chmodSync(script, 0o755);
    const bus = createEventBus(systemClock);
    const { logger } = logs();
    const n = startNotifier({
      bus,
      settings: { ...NO_NOTIFY, command: [script, 'book=${BOOKD_BOOK_ID}'] },
      tuning: fast,
      clock: systemClock,
      logger,
      host: 'nas',
      env: { PATH: process.env.PATH, BOOKD_HTTP_TOKEN: 'do-not-pass' },
    })!;
    bus.emit({ event: 'book.failed', job: 7, book: { id: '9781', title: 'A; rm -rf /' }, message: 'book 9781 failed for good', at: Date.UTC(2026, 0, 2) });
    await n.close();
    assert.equal(
      readFileSync(join(dir, 'env-book.failed'), 'utf8'),
      [
        'BOOKD_AT=2026-01-02T00:00:00.000Z',
        'BOOKD_BOOK_ID=9781',
        'BOOKD_BOOK_TITLE=A; rm -rf /',
        'BOOKD_EVENT=book.failed',
        'BOOKD_HOST=nas',
        'BOOKD_JOB=7',
        'BOOKD_MESSAGE=book 9781 failed for good',
        'BOOKD_SESSION=',
        '',
      ].join('\n'),
    );
    assert.equal(readFileSync(join(dir, 'arg'), 'utf8'), 'book=9781\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no receivers configured: no notifier', () => {
  const { logger } = logs();
  assert.equal(startNotifier({ bus: createEventBus(systemClock), settings: NO_NOTIFY, tuning: fast, clock: systemClock, logger, host: 'h' }), undefined);
});
