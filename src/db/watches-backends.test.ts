// Watches, the same cases against every backend (issue 14): those of watches.test.ts through
// Async<WatchStore> (the job store alongside, wired as each backend's store wires it), and on
// PostgreSQL several hosts claiming one due watch at once.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_BACKENDS, postgresStores, type StoreBackend, type StoreBackendOptions } from '../../test/helpers/store-backends.js';
import { ManualClock } from '../clock.js';

const HOUR = 3_600_000;

for (const kind of STORE_BACKENDS) {
  describe(`watch store on ${kind.name}`, () => {
    const opened: StoreBackend[] = [];
    after(async () => {
      for (const b of opened) await b.close();
      await kind.done();
    });
    if (kind.name === 'postgres') severalHosts();
    async function setup(opts: StoreBackendOptions = {}): Promise<StoreBackend> {
      const b = await kind.open(opts);
      opened.push(b);
      return b;
    }

    test('a new watch is due at once; claiming it moves the next run a jittered period on, once', async () => {
      const clock = new ManualClock(1_000_000);
      const { watches } = await setup({ clock, random: () => 1 });
      const w = await watches.add({ kind: 'skills', target: 'Python, Go', options: { format: 'epub', maxBooks: 3, excludeSkills: ['R'] }, periodMs: 10_000 });
      assert.deepEqual(w, {
        id: w.id,
        kind: 'skills',
        target: 'Python, Go',
        options: { format: 'epub', maxBooks: 3, excludeSkills: ['R'] },
        periodMs: 10_000,
        nextRunAt: 1_000_000,
        lastRunAt: undefined,
        lastFound: undefined,
        createdAt: 1_000_000,
        failures: 0,
      });
      assert.deepEqual(await watches.get(w.id), w);
      assert.deepEqual(
        (await watches.due(clock.now())).map((x) => x.id),
        [w.id],
      );
      clock.advance(5);
      const claimed = await watches.claim(w.id, 10);
      assert.equal(claimed?.nextRunAt, 1_000_005 + 10_000 + 1000, 'random 1 is the top of the jitter');
      assert.equal(claimed?.lastRunAt, 1_000_005);
      assert.equal(await watches.claim(w.id, 10), undefined, 'a second claim of the same run loses');
      assert.equal(await watches.claim(12345, 10), undefined, 'an unknown watch');
      assert.deepEqual(await watches.due(clock.now()), []);
      clock.advance(10_999);
      assert.deepEqual(await watches.due(clock.now()), [], 'not due before its next run');
      clock.advance(1);
      assert.equal((await watches.due(clock.now())).length, 1);
    });

    test('a run records what it found, and each finished discovery fills its skill in', async () => {
      const clock = new ManualClock(1000);
      const { watches } = await setup({ clock });
      const w = await watches.add({ kind: 'skills', target: 'Python, Go', options: { format: 'epub' }, periodMs: 10_000 });
      await watches.claim(w.id, 10);
      await watches.markRun(w.id, {
        skills: [
          { skill: 'Python', job: 7, status: 'queued' },
          { skill: 'Go', job: 8, status: 'busy' },
        ],
      });
      await watches.recordDiscovery(w.id, 'python', 7, 4);
      await watches.recordDiscovery(w.id, 'Go', 99, 1);
      assert.deepEqual((await watches.get(w.id))?.lastFound, {
        skills: [
          { skill: 'Python', job: 7, status: 'queued', added: 4 },
          { skill: 'Go', job: 8, status: 'busy' },
        ],
      });
      await watches.recordDiscovery(12345, 'Python', 7, 1);
      await watches.markRun(12345, { added: 1 });
    });

    test('watches are removed one by one or all at once', async () => {
      const { watches } = await setup();
      const a = await watches.add({ kind: 'skills', target: 'A', options: { format: 'epub' }, periodMs: 1000 });
      await watches.add({ kind: 'playlist', target: 'Reading list', options: { format: 'both', keepPrevious: true }, periodMs: 1000 });
      await watches.add({ kind: 'skills', target: 'B', options: { format: 'kindle' }, periodMs: 1000 });
      assert.equal(await watches.remove(a.id), true);
      assert.equal(await watches.remove(a.id), false);
      assert.deepEqual(
        (await watches.list()).map((w) => [w.target, w.options]),
        [
          ['Reading list', { format: 'both', keepPrevious: true }],
          ['B', { format: 'kindle' }],
        ],
      );
      assert.equal(await watches.removeAll(), 2);
      assert.deepEqual(await watches.list(), []);
      assert.equal(await watches.removeAll(), 0);
    });

    test('a skill whose discovery fails for good or is cancelled is settled with why, and the run counts as failed once', async () => {
      const clock = new ManualClock(1_000_000);
      const { watches, jobs } = await setup({ clock, random: () => 0.5, watchRetryBaseMs: 60_000 });
      const w = await watches.add({ kind: 'skills', target: 'Python, Go', options: { format: 'epub' }, periodMs: 24 * HOUR });
      await watches.claim(w.id, 10);
      const [python, go] = await jobs.enqueue(
        ['Python', 'Go'].map((skill) => ({ kind: 'discover' as const, payload: { skill, format: 'epub' as const, watch: w.id }, maxAttempts: 1 })),
      );
      await watches.markRun(w.id, {
        skills: [
          { skill: 'Python', job: python!.id, status: 'queued' },
          { skill: 'Go', job: go!.id, status: 'queued' },
        ],
      });
      assert.equal((await watches.get(w.id))?.nextRunAt, 1_000_000 + 24 * HOUR, 'a skills run is not failed while its discoveries go on');
      const [job] = await jobs.claim({ owner: 't', limit: 1, leaseMs: 60_000 });
      assert.equal(job?.id, python!.id);
      assert.equal(await jobs.retry(job.id, job.leaseToken, { kind: 'transient', message: 'the listing answered 502' }), 'failed', 'one attempt, used up');
      let after = (await watches.get(w.id))!;
      assert.deepEqual(after.lastFound?.skills?.[0], { skill: 'Python', job: python!.id, status: 'queued', error: 'the listing answered 502' });
      assert.equal(after.failures, 1);
      assert.equal(after.nextRunAt, 1_000_000 + 30_000, 'tried again after the backoff (half of a minute at random 0.5), not a day');
      await jobs.cancel(go!.id);
      after = (await watches.get(w.id))!;
      assert.equal(after.lastFound?.skills?.[1]?.error, 'cancelled');
      assert.equal(after.failures, 1, 'one run, one failure');

      // The next run's discovery succeeds: the watch is back to its period.
      clock.advance(30_000);
      await watches.claim(w.id, 10);
      await watches.markRun(w.id, { skills: [{ skill: 'Python', job: python!.id, status: 'queued' }] });
      await watches.recordDiscovery(w.id, 'Python', python!.id, 2, 1);
      after = (await watches.get(w.id))!;
      assert.equal(after.failures, 0);
      assert.equal(after.nextRunAt, 1_030_000 + 24 * HOUR);
      assert.deepEqual(after.lastFound?.skills, [{ skill: 'Python', job: python!.id, status: 'queued', added: 2, updated: 1 }]);
    });

    test('failed runs come back after a doubling backoff that never exceeds the period; a run that works resets it', async () => {
      const clock = new ManualClock(0);
      const { watches } = await setup({ clock, random: () => 0.5, watchRetryBaseMs: 60_000 });
      const w = await watches.add({ kind: 'playlist', target: 'Reading list', options: { format: 'epub' }, periodMs: 10 * 60_000 });
      const delays: number[] = [];
      for (let i = 0; i < 6; i++) {
        clock.advance((await watches.get(w.id))!.nextRunAt - clock.now());
        await watches.claim(w.id, 10);
        await watches.markRun(w.id, { error: 'the playlists request answered 503' });
        delays.push((await watches.get(w.id))!.nextRunAt - clock.now());
      }
      assert.deepEqual(delays, [30_000, 60_000, 120_000, 240_000, 300_000, 300_000], 'half (random 0.5) of 1, 2, 4, 8 minutes, then of the 10-minute period');
      assert.equal((await watches.get(w.id))!.failures, 6);
      clock.advance((await watches.get(w.id))!.nextRunAt - clock.now());
      await watches.claim(w.id, 10);
      await watches.markRun(w.id, { added: 1 });
      assert.equal((await watches.get(w.id))!.failures, 0);
      assert.equal((await watches.get(w.id))!.nextRunAt - clock.now(), 10 * 60_000);
    });
  });
}

/** What several hosts on one PostgreSQL database add to the cases above. */
function severalHosts(): void {
  describe('several hosts', () => {
    test('hosts claiming one due watch at once: exactly one wins each run', async () => {
      const clock = new ManualClock(1_000_000);
      const [a, b] = await postgresStores.openPair({ clock, random: () => 0.5 });
      try {
        const w = await a.watches.add({ kind: 'skills', target: 'Python', options: { format: 'epub' }, periodMs: 60_000 });
        for (let run = 0; run < 10; run++) {
          // Eight claimers, four per host, for the same due run.
          const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).watches.claim(w.id, 10)));
          const winners = claims.filter((c) => c !== undefined);
          assert.equal(winners.length, 1, `run ${run}: one winner`);
          assert.equal(winners[0]!.lastRunAt, clock.now());
          assert.equal(winners[0]!.nextRunAt, clock.now() + 60_000);
          assert.deepEqual(await b.watches.get(w.id), winners[0], 'the stored row is the winner’s');
          clock.advance(60_000);
        }
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('two discoveries of one run ending on two hosts at once both land in its record', async () => {
      const clock = new ManualClock(1000);
      const [a, b] = await postgresStores.openPair({ clock });
      try {
        const w = await a.watches.add({ kind: 'skills', target: 'Python, Go', options: { format: 'epub' }, periodMs: 60_000 });
        await a.watches.claim(w.id, 10);
        await a.watches.markRun(w.id, {
          skills: [
            { skill: 'Python', job: 1, status: 'queued' },
            { skill: 'Go', job: 2, status: 'queued' },
          ],
        });
        await Promise.all([a.watches.recordDiscovery(w.id, 'Python', 1, 3), b.watches.recordDiscovery(w.id, 'Go', 2, 5)]);
        assert.deepEqual((await a.watches.get(w.id))?.lastFound?.skills, [
          { skill: 'Python', job: 1, status: 'queued', added: 3 },
          { skill: 'Go', job: 2, status: 'queued', added: 5 },
        ]);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
