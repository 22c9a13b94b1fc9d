import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import { openStore } from '../db/store.js';
import { DEFAULT_TUNING } from '../config.js';
import { newOwner, sessionHolds } from './holds.js';

const { holdMs: HOLD_MS, renewMs: HOLD_RENEW_MS } = DEFAULT_TUNING.holds;

function storeWith(clock: ManualClock) {
  const store = openStore(':memory:', clock);
  store.sessions.add({ name: 's1', jarJson: '{"cookies":[]}' });
  return store;
}

test('a hold is exclusive until dropped or lapsed, and lasts HOLD_MS on the injected clock', () => {
  const clock = new ManualClock();
  const store = storeWith(clock);
  const a = sessionHolds(store.sessions, { clock, ...DEFAULT_TUNING.holds, owner: 'elsewhere:1:aa' });
  const b = sessionHolds(store.sessions, { clock, ...DEFAULT_TUNING.holds, owner: 'elsewhere:2:bb' });
  assert.equal(a.take('s1'), true);
  assert.equal(store.sessions.get('s1')!.heldUntil, clock.now() + HOLD_MS);
  assert.equal(b.take('s1'), false, 'held by a live (or unknown) owner');
  assert.equal(a.take('s1'), true, 'renewed by its holder');
  clock.advance(HOLD_MS + 1);
  assert.equal(b.take('s1'), true, 'a lapsed hold is free');
  assert.equal(a.drop('s1'), false, 'a drops nothing it does not hold');
  assert.equal(b.drop('s1'), true);
  assert.equal(store.sessions.get('s1')!.holder, undefined);
  store.close();
});

test("a gone owner's hold is taken at once; keep renews until stopped, then drops", async () => {
  const clock = new ManualClock();
  const store = storeWith(clock);
  // An owner on this host whose pid cannot exist: gone.
  const dead = newOwner().replace(/:(\d+):/, ':999999999:');
  assert.equal(sessionHolds(store.sessions, { clock, ...DEFAULT_TUNING.holds, owner: dead }).take('s1'), true);
  const mine = sessionHolds(store.sessions, { clock, ...DEFAULT_TUNING.holds });
  const stop = mine.keep('s1');
  assert.ok(stop, 'taken from the gone owner without waiting for the lapse');
  const until = store.sessions.get('s1')!.heldUntil!;
  clock.advance(HOLD_RENEW_MS);
  await new Promise((r) => setImmediate(r));
  assert.ok(store.sessions.get('s1')!.heldUntil! > until, 'renewed');
  stop();
  assert.equal(store.sessions.get('s1')!.holder, undefined, 'dropped');
  clock.advance(HOLD_RENEW_MS);
  await new Promise((r) => setImmediate(r));
  assert.equal(store.sessions.get('s1')!.holder, undefined, 'not renewed after the stop');
  store.close();
});
