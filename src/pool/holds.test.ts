import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import { asStore, openSqliteStore } from '../db/store.js';
import { DEFAULT_TUNING } from '../config.js';
import { newOwner, sessionHolds } from './holds.js';

const { holdMs: HOLD_MS, renewMs: HOLD_RENEW_MS } = DEFAULT_TUNING.holds;

function storeWith(clock: ManualClock) {
  const sqlite = openSqliteStore(':memory:', clock);
  sqlite.sessions.add({ name: 's1', jarJson: '{"cookies":[]}' });
  return asStore(sqlite);
}

test('a hold is exclusive until dropped or lapsed, and lasts HOLD_MS on the injected clock', async () => {
  const clock = new ManualClock();
  const store = storeWith(clock);
  const a = sessionHolds(store.sessions, { clock, ...DEFAULT_TUNING.holds, owner: 'elsewhere:1:aa' });
  const b = sessionHolds(store.sessions, { clock, ...DEFAULT_TUNING.holds, owner: 'elsewhere:2:bb' });
  assert.equal(await a.take('s1'), true);
  assert.equal((await store.sessions.get('s1'))!.heldUntil, clock.now() + HOLD_MS);
  assert.equal(await b.take('s1'), false, 'held by a live (or unknown) owner');
  assert.equal(await a.take('s1'), true, 'renewed by its holder');
  clock.advance(HOLD_MS + 1);
  assert.equal(await b.take('s1'), true, 'a lapsed hold is free');
  assert.equal(await a.drop('s1'), false, 'a drops nothing it does not hold');
  assert.equal(await b.drop('s1'), true);
  assert.equal((await store.sessions.get('s1'))!.holder, undefined);
  await store.close();
});

test("a gone owner's hold is taken at once; keep renews until stopped, then drops", async () => {
  const clock = new ManualClock();
  const store = storeWith(clock);
  // An owner on this host whose pid cannot exist: gone.
  const dead = newOwner().replace(/:(\d+):/, ':999999999:');
  assert.equal(await sessionHolds(store.sessions, { clock, ...DEFAULT_TUNING.holds, owner: dead }).take('s1'), true);
  const mine = sessionHolds(store.sessions, { clock, ...DEFAULT_TUNING.holds });
  const stop = await mine.keep('s1');
  assert.ok(stop, 'taken from the gone owner without waiting for the lapse');
  const until = (await store.sessions.get('s1'))!.heldUntil!;
  clock.advance(HOLD_RENEW_MS);
  await new Promise((r) => setImmediate(r));
  assert.ok((await store.sessions.get('s1'))!.heldUntil! > until, 'renewed');
  await stop();
  assert.equal((await store.sessions.get('s1'))!.holder, undefined, 'dropped');
  clock.advance(HOLD_RENEW_MS);
  await new Promise((r) => setImmediate(r));
  assert.equal((await store.sessions.get('s1'))!.holder, undefined, 'not renewed after the stop');
  await store.close();
});
