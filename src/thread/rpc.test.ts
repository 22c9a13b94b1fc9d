import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startWorker } from '../worker.js';
import { ThreadRpc, type Reply } from './rpc.js';

interface Echo extends Reply {
  value: unknown;
}

function rpc(): ThreadRpc {
  return new ThreadRpc({
    start: () => startWorker(import.meta.url, '../../test/fixtures/rpc-worker', null),
    stopped: (why) => new Error(`the test thread stopped (${why})`),
    closed: () => new Error('the test thread is closed'),
  });
}

test('each reply settles the call it answers, whatever order they come back in', { timeout: 30_000 }, async () => {
  const t = rpc();
  try {
    const slow = t.call<Echo>({ op: 'later', value: 'slow', ms: 200 });
    const fast = t.call<Echo>({ op: 'echo', value: 'fast' });
    const first = await Promise.race([slow.then(() => 'slow'), fast.then(() => 'fast')]);
    assert.equal(first, 'fast');
    assert.equal((await fast).value, 'fast');
    assert.equal((await slow).value, 'slow');
    assert.equal(t.load, 0);
  } finally {
    await t.close();
  }
});

test('a thread that dies fails every call it held with its error, and the next call goes to a new one', { timeout: 30_000 }, async () => {
  const t = rpc();
  try {
    const held = [t.call<Echo>({ op: 'hang' }), t.call<Echo>({ op: 'later', value: 1, ms: 60_000 })];
    assert.equal(t.load, 2);
    const crash = t.call<Echo>({ op: 'crash' });
    for (const p of [...held, crash]) await assert.rejects(p, /^Error: the test thread stopped \(the test thread was told to crash\)$/);
    assert.equal(t.load, 0);
    assert.equal((await t.call<Echo>({ op: 'echo', value: 'again' })).value, 'again');
    assert.equal(t.started, 2);
  } finally {
    await t.close();
  }
});

test('idle waits for the calls in flight; close fails those still held and refuses later ones', { timeout: 30_000 }, async () => {
  const t = rpc();
  const answered = t.call<Echo>({ op: 'later', value: 'done', ms: 100 });
  let settled = false;
  void answered.then(() => (settled = true));
  await t.idle();
  assert.equal(settled, true, 'idle returned before the call in flight was answered');
  const held = t.call<Echo>({ op: 'hang' });
  await t.close();
  await assert.rejects(held, /the test thread stopped \(exit 1\)/);
  await assert.rejects(t.call<Echo>({ op: 'echo', value: 1 }), /the test thread is closed/);
  assert.equal(t.started, 1, 'a closed thread is not replaced');
});
