// The queue's read models, the same cases against every backend (issue 14): the reads of
// jobs.test.ts ("reads: …", the top failure reasons) through Async<QueueViews>.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_BACKENDS, type StoreBackend, type StoreBackendOptions } from '../../test/helpers/store-backends.js';
import type { Async } from './async.js';
import type { ClaimedJob, EnqueueItem, JobStore } from './jobs.js';

const MIN = 60_000;

const book = (bookId: string, skills: string[] = []): EnqueueItem => ({ kind: 'book', payload: { bookId, format: 'epub', skills } });
const discover = (skill: string): EnqueueItem => ({ kind: 'discover', payload: { skill, format: 'epub' } });

async function claimOne(jobs: Async<JobStore>, owner = 'w1'): Promise<ClaimedJob> {
  const [job] = await jobs.claim({ owner, limit: 1, leaseMs: 2 * MIN });
  assert.ok(job, 'expected a claimable job');
  return job;
}

for (const kind of STORE_BACKENDS) {
  describe(`queue views on ${kind.name}`, () => {
    const opened: StoreBackend[] = [];
    after(async () => {
      for (const b of opened) await b.close();
      await kind.done();
    });
    async function setup(opts: StoreBackendOptions = { random: () => 0.5 }): Promise<StoreBackend> {
      const b = await kind.open(opts);
      opened.push(b);
      return b;
    }

    test('an empty queue: zero counts, nothing oldest, running or failing', async () => {
      const { views } = await setup();
      assert.deepEqual(await views.counts(), { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 });
      assert.deepEqual(await views.countsBySkill(), []);
      assert.equal(await views.oldestQueued(), undefined);
      assert.deepEqual(await views.running(), []);
      assert.deepEqual(await views.topFailures(5), []);
      assert.deepEqual(await views.list(), []);
    });

    test('reads: list filters, counts by state and skill, oldest queued, running', async () => {
      const { jobs, views, clock } = await setup();
      await jobs.enqueue([book('9780000000001', ['Python', 'Data Science']), book('9780000000002', ['python'])]);
      clock.advance(1000);
      await jobs.enqueue([book('9780000000003', ['Go']), discover('Python')]);
      const j = await claimOne(jobs, 'w1');
      assert.equal(j.kind, 'discover');
      assert.deepEqual(await views.counts(), { queued: 3, running: 1, succeeded: 0, failed: 0, cancelled: 0 });
      assert.deepEqual(
        (await views.countsBySkill()).map((c) => [c.skill, c.queued, c.running]),
        [
          ['Data Science', 1, 0],
          ['Go', 1, 0],
          ['Python', 2, 0],
        ],
        'skills grouped case-insensitively, named by their bytewise-first spelling, in order',
      );
      const ids = async (p: Promise<{ id: number }[]>) => (await p).map((x) => x.id);
      assert.deepEqual(await ids(views.list({ skill: 'PYTHON' })), [1, 2, 4]);
      assert.deepEqual(await ids(views.list({ skill: 'python', kind: 'book' })), [1, 2]);
      assert.deepEqual(await ids(views.list({ skill: 'python', kind: 'discover' })), [4]);
      assert.deepEqual(await ids(views.list({ state: 'running' })), [4]);
      assert.deepEqual(await ids(views.list({ state: 'queued', skill: 'go' })), [3]);
      assert.deepEqual(await ids(views.list({ limit: 2 })), [1, 2]);
      assert.deepEqual(await ids(views.list({ limit: -1 })), [1, 2, 3, 4], 'a negative limit is none');
      assert.deepEqual(await ids(views.list({ skill: 'Rust' })), []);
      assert.equal((await views.oldestQueued())!.id, 1);
      const running = await views.running();
      assert.deepEqual(
        running.map((x) => [x.id, x.leaseOwner, x.state]),
        [[4, 'w1', 'running']],
      );
      assert.deepEqual(running[0], await jobs.get(4), 'a listed job reads as the job store reads it');
    });

    test('top failure reasons: grouped, most frequent first, then by kind and message', async () => {
      const { jobs, views } = await setup();
      await jobs.enqueue(['1', '2', '3', '4'].map((n) => book(`978000000000${n}`)));
      const reasons = [
        { kind: 'permanent', message: 'book not found' },
        { kind: 'auth', message: 'subscription expired' },
        { kind: 'permanent', message: 'book not found' },
        { kind: 'auth', message: 'a cookie expired' },
      ] as const;
      for (const err of reasons) {
        const j = await claimOne(jobs);
        await jobs.fail(j.id, j.leaseToken, err);
      }
      assert.deepEqual(await views.topFailures(5), [
        { kind: 'permanent', message: 'book not found', count: 2 },
        { kind: 'auth', message: 'a cookie expired', count: 1 },
        { kind: 'auth', message: 'subscription expired', count: 1 },
      ]);
      assert.deepEqual(await views.topFailures(1), [{ kind: 'permanent', message: 'book not found', count: 2 }]);
      assert.equal(await jobs.retryAllFailed(), 4);
      assert.deepEqual(await views.topFailures(5), []);
      assert.equal((await views.counts()).queued, 4);
    });

    test('counts follow every state, per skill too', async () => {
      const { jobs, views } = await setup();
      await jobs.enqueue([book('9780000000001', ['Go']), book('9780000000002', ['go']), book('9780000000003', ['Go'])]);
      const a = await claimOne(jobs);
      await jobs.complete(a.id, a.leaseToken);
      const b = await claimOne(jobs);
      await jobs.fail(b.id, b.leaseToken, { kind: 'permanent', message: 'gone' });
      await jobs.cancel(3);
      assert.deepEqual(await views.counts(), { queued: 0, running: 0, succeeded: 1, failed: 1, cancelled: 1 });
      assert.deepEqual(await views.countsBySkill(), [{ skill: 'Go', queued: 0, running: 0, succeeded: 1, failed: 1, cancelled: 1 }]);
      assert.equal(await views.oldestQueued(), undefined);
    });
  });
}
