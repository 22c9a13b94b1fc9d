import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffMs } from './backoff.js';

test('backoff doubles from 30 s per attempt and is capped at 6 h', () => {
  const top = () => 1 - Number.EPSILON;
  const ceilings = [1, 2, 3, 4, 10, 11, 12, 30, 1000].map((n) => backoffMs(n, top) + 1);
  assert.deepEqual(ceilings.slice(0, 4), [BACKOFF_BASE_MS, 2 * BACKOFF_BASE_MS, 4 * BACKOFF_BASE_MS, 8 * BACKOFF_BASE_MS]);
  assert.equal(ceilings[4], 512 * BACKOFF_BASE_MS);
  for (const c of ceilings.slice(5)) assert.equal(c, BACKOFF_CAP_MS);
});

test('backoff is full jitter: anywhere from 0 up to the ceiling', () => {
  assert.equal(
    backoffMs(5, () => 0),
    0,
  );
  assert.equal(
    backoffMs(2, () => 0.25),
    15_000,
  );
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const d = backoffMs(3);
    assert.ok(d >= 0 && d < 4 * BACKOFF_BASE_MS);
    seen.add(d);
  }
  assert.ok(seen.size > 40, 'spread out, not constant');
});
