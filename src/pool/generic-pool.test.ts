import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool } from 'generic-pool';

/**
 * What SessionPool relies on in generic-pool 3.9.0 (pinned exactly in package.json): each token
 * chain is lent through a pool of one, and only its public API is used. An upgrade that changes
 * any of this must fail here, not as two workers on one cookie jar.
 */

function poolOfOne() {
  const events: string[] = [];
  const resource = { id: 'chain' };
  const pool = createPool(
    {
      create: async () => {
        events.push('create');
        return resource;
      },
      destroy: async () => {
        events.push('destroy');
      },
    },
    { max: 1, min: 0, autostart: true },
  );
  return { pool, events, resource };
}

const tick = () => new Promise((r) => setImmediate(r));

test('a pool of one never lends its resource twice: a second acquire waits for the release', async () => {
  const { pool, resource } = poolOfOne();
  const first = await pool.acquire();
  assert.equal(first, resource);
  let second: unknown;
  void pool.acquire().then((r) => (second = r));
  await tick();
  assert.equal(second, undefined, 'still lent: the second acquire waits');
  assert.equal(pool.borrowed, 1);
  assert.equal(pool.pending, 1);
  await pool.release(first);
  await tick();
  assert.equal(second, resource);
  await pool.release(resource);
  await pool.drain();
  await pool.clear();
});

test('borrowed + pending count an acquire synchronously, whether the resource is being created or idle', async () => {
  const { pool, resource, events } = poolOfOne();
  assert.equal(pool.borrowed + pool.pending, 0);
  const creating = pool.acquire();
  assert.equal(pool.borrowed + pool.pending, 1, 'counted before create resolves');
  await creating;
  assert.equal(pool.borrowed, 1);
  await pool.release(resource);
  assert.equal(pool.borrowed + pool.pending, 0, 'a release is counted at once');
  const again = pool.acquire();
  assert.equal(pool.borrowed, 1, 'an idle resource is lent in the same tick');
  assert.equal(await again, resource);
  assert.deepEqual(events, ['create'], 'the idle resource is reused, not created again');
  await pool.release(resource);
  await pool.drain();
  await pool.clear();
});

test('destroy of a lent resource calls the factory destroy; drain waits for loans, clear destroys idle ones, then acquire is refused', async () => {
  const a = poolOfOne();
  const lent = await a.pool.acquire();
  await a.pool.destroy(lent);
  await tick();
  assert.deepEqual(a.events, ['create', 'destroy']);
  assert.equal(a.pool.borrowed, 0);
  await a.pool.drain();
  await a.pool.clear();
  await assert.rejects(a.pool.acquire(), /draining/);

  const b = poolOfOne();
  const out = await b.pool.acquire();
  let drained = false;
  const draining = b.pool.drain().then(() => (drained = true));
  await tick();
  assert.equal(drained, false, 'drain waits for the loan to come back');
  await b.pool.release(out);
  await draining;
  assert.deepEqual(b.events, ['create']);
  await b.pool.clear();
  assert.deepEqual(b.events, ['create', 'destroy'], 'clear destroys the idle resource');
  assert.equal(b.pool.size, 0);
});
