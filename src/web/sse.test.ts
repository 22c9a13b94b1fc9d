import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { systemClock } from '../clock.js';
import { createEventBus } from '../daemon/events.js';
import { liveHub } from './sse.js';

/** Collects a stream's text as it comes; `until` waits (bounded) for it to satisfy a check. */
function collect(reader: ReadableStreamDefaultReader<Uint8Array>) {
  let text = '';
  const decoder = new TextDecoder();
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += decoder.decode(value);
    }
  })();
  return {
    async until(check: (text: string) => boolean, ms = 5_000): Promise<string> {
      const end = Date.now() + ms;
      while (!check(text)) {
        if (Date.now() > end) throw new Error(`the stream said only: ${text}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return text;
    },
  };
}

test('the event stream: a snapshot at once, every event of the bus as it comes and a fresh snapshot after it, periodic snapshots, a bounded number of streams', async (t) => {
  const bus = createEventBus(systemClock);
  let reads = 0;
  const hub = liveHub<number, string>({
    events: bus,
    everyMs: 300,
    maxStreams: 1,
    read: () => ++reads,
    render: (n, ctx) => ({ n, ctx }),
    onError: (err) => assert.fail(String(err)),
  });
  const server = createServer((req, res) => hub.open(req, res, 'viewer-a'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    hub.close();
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const res = await fetch(url);
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = res.body!.getReader();
  const stream = collect(reader);
  const first = await stream.until((s) => s.includes('event: snapshot'));
  assert.match(first, /^retry: 3000\n\nevent: snapshot\ndata: \{"n":1,"ctx":"viewer-a"\}\n\n/);

  assert.equal((await fetch(url)).status, 503, 'one stream at most here');

  bus.emit({ event: 'book.archived', message: 'Book x was archived.', book: { id: '9781492056348', title: 'x' } });
  const after = await stream.until((s) => /event: book\.archived[\s\S]*event: snapshot/.test(s));
  const event = JSON.parse(/event: book\.archived\ndata: (.*)\n\n/.exec(after)![1]!) as { event: string; book: { id: string }; at: number };
  assert.equal(event.book.id, '9781492056348');
  assert.ok(event.at > 0);
  await stream.until((s) => (s.match(/event: snapshot/g) ?? []).length >= 4, 3_000);
  assert.equal(hub.streams(), 1);
  await reader.cancel();
  // The server notices the closed connection; the stream is dropped.
  for (let i = 0; i < 50 && hub.streams() > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(hub.streams(), 0);
});
