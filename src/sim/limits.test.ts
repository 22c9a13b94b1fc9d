import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Limits, retryAfterSeconds, TokenBucket } from './limits.js';

test('a token bucket allows a burst, then one request per 1/rate seconds', () => {
  const b = new TokenBucket(2, 3, 0);
  assert.deepEqual(
    [0, 0, 0].map(() => b.take(0).ok),
    [true, true, true],
  );
  const denied = b.take(0);
  assert.deepEqual(denied, { ok: false, waitMs: 500 });
  assert.equal(b.take(499).ok, false);
  assert.equal(b.take(500).ok, true);
  assert.equal(b.take(10_000).ok, true);
});

test('Retry-After is whole seconds and at least 1', () => {
  assert.equal(retryAfterSeconds(1), 1);
  assert.equal(retryAfterSeconds(1000), 1);
  assert.equal(retryAfterSeconds(1001), 2);
});

test('per-session limits are independent; the edge limit counts all traffic', () => {
  const settings = { rateLimit: 1, burst: 2, edgeLimit: 0 };
  const limits = new Limits(settings);
  assert.deepEqual(
    [limits.check('a', 0), limits.check('a', 0), limits.check('a', 0)].map((v) => v.ok),
    [true, true, false],
  );
  assert.deepEqual(limits.check('a', 0), { ok: false, kind: 'session', retryAfter: 1 });
  assert.equal(limits.check('b', 0).ok, true, 'another session has its own bucket');
  assert.equal(limits.check(undefined, 0).ok, true, 'anonymous requests meet only the edge');
  settings.edgeLimit = 3;
  settings.rateLimit = 0;
  const seen = [1, 2, 3, 4].map(() => limits.check(undefined, 5000));
  assert.deepEqual(
    seen.map((v) => v.ok),
    [true, true, true, false],
  );
  assert.deepEqual(seen[3], { ok: false, kind: 'edge' });
  assert.equal(limits.check('c', 6000).ok, true, 'the edge refills');
});

test('edge blocks and storms are windows on the clock', () => {
  const limits = new Limits({ rateLimit: 0, burst: 1, edgeLimit: 0 });
  limits.blockEdge(1000, 500);
  assert.deepEqual(limits.check('a', 1200), { ok: false, kind: 'edge' });
  assert.equal(limits.check('a', 1500).ok, true);
  limits.storm(2000, ['m1'], 2500);
  assert.deepEqual(limits.check('m1', 2000), { ok: false, kind: 'session', retryAfter: 3 });
  assert.equal(limits.check('m2', 2000).ok, true);
  assert.equal(limits.check('m1', 4500).ok, true);
});

test('the bulk-access guard keeps one bucket per remote IP, only for the addresses it is given', () => {
  const settings = { rateLimit: 0, burst: 1, edgeLimit: 0, guardRate: 2, guardBurst: 3 };
  const limits = new Limits(settings);
  const seen = [1, 2, 3, 4].map(() => limits.check('a', 0, '10.0.0.1'));
  assert.deepEqual(
    seen.map((v) => v.ok),
    [true, true, true, false],
  );
  assert.deepEqual(seen[3], { ok: false, kind: 'guard' });
  assert.equal(limits.check('a', 0, '10.0.0.1').ok, false, 'another session behind that address shares its budget');
  assert.equal(limits.check('b', 0, '10.0.0.1').ok, false);
  assert.equal(limits.check('a', 0, '10.0.0.2').ok, true, 'another address has its own');
  assert.equal(limits.check('a', 0).ok, true, 'an unguarded path meets no guard');
  assert.equal(limits.check('a', 499, '10.0.0.1').ok, false);
  assert.equal(limits.check('a', 500, '10.0.0.1').ok, true, 'two a second come back');
  settings.guardRate = 0;
  for (let i = 0; i < 50; i++) assert.equal(limits.check('a', 500, '10.0.0.1').ok, true, 'rate 0: off');
  settings.guardRate = 1;
  settings.guardBurst = 1;
  assert.equal(limits.check('a', 500, '10.0.0.3').ok, true);
  assert.equal(limits.check('a', 500, '10.0.0.3').ok, false, 'a new burst applies');
});

test('the edge decides before the guard, the guard before the session', () => {
  const limits = new Limits({ rateLimit: 1, burst: 1, edgeLimit: 0, guardRate: 1, guardBurst: 1 });
  limits.blockEdge(0, 1000);
  assert.deepEqual(limits.check('a', 0, 'ip'), { ok: false, kind: 'edge' });
  assert.equal(limits.check('a', 1000, 'ip').ok, true, 'the edge refusal did not spend the guard');
  assert.deepEqual(limits.check('a', 1000, 'ip'), { ok: false, kind: 'guard' });
  assert.deepEqual(limits.check('a', 1000), { ok: false, kind: 'session', retryAfter: 1 });
});
