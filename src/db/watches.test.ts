import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { openSqliteStore } from './store.js';
import { nextRunAfter } from './watches.js';

const HOUR = 3_600_000;

test('nextRunAfter stays within ±jitter % of one period on, and spans it', () => {
  const period = 7 * 24 * HOUR;
  assert.equal(
    nextRunAfter(1000, period, 10, () => 0),
    1000 + period - period / 10,
  );
  assert.equal(
    nextRunAfter(1000, period, 10, () => 0.5),
    1000 + period,
  );
  assert.ok(nextRunAfter(1000, period, 10, () => 0.999999) <= 1000 + period + period / 10);
  for (let i = 0; i < 200; i++) {
    const next = nextRunAfter(0, 2000, 10, Math.random);
    assert.ok(next >= 1800 && next <= 2200, `${next} is within 2 s ± 10 %`);
  }
});

test('a new watch is due at once; claiming it moves the next run a jittered period on, once', () => {
  const clock = new ManualClock(1_000_000);
  const { watches } = openSqliteStore(':memory:', clock, { random: () => 1 });
  const w = watches.add({ kind: 'skills', target: 'Python, Go', options: { format: 'epub', maxBooks: 3 }, periodMs: 10_000 });
  assert.deepEqual(w, {
    id: w.id,
    kind: 'skills',
    target: 'Python, Go',
    options: { format: 'epub', maxBooks: 3 },
    periodMs: 10_000,
    nextRunAt: 1_000_000,
    lastRunAt: undefined,
    lastFound: undefined,
    createdAt: 1_000_000,
    failures: 0,
  });
  assert.deepEqual(
    watches.due(clock.now()).map((x) => x.id),
    [w.id],
  );
  clock.advance(5);
  const claimed = watches.claim(w.id, 10);
  assert.equal(claimed?.nextRunAt, 1_000_005 + 10_000 + 1000, 'random 1 is the top of the jitter');
  assert.equal(claimed?.lastRunAt, 1_000_005);
  assert.equal(watches.claim(w.id, 10), undefined, 'a second claim of the same run loses');
  assert.deepEqual(watches.due(clock.now()), []);
  clock.advance(10_999);
  assert.deepEqual(watches.due(clock.now()), [], 'not due before its next run');
  clock.advance(1);
  assert.equal(watches.due(clock.now()).length, 1);
});

test('a run records what it found, and each finished discovery fills its skill in', () => {
  const clock = new ManualClock(1000);
  const { watches } = openSqliteStore(':memory:', clock);
  const w = watches.add({ kind: 'skills', target: 'Python, Go', options: { format: 'epub' }, periodMs: 10_000 });
  watches.claim(w.id, 10);
  watches.markRun(w.id, {
    skills: [
      { skill: 'Python', job: 7, status: 'queued' },
      { skill: 'Go', job: 8, status: 'busy' },
    ],
  });
  watches.recordDiscovery(w.id, 'python', 7, 4);
  watches.recordDiscovery(w.id, 'Go', 99, 1);
  assert.deepEqual(watches.get(w.id)?.lastFound, {
    skills: [
      { skill: 'Python', job: 7, status: 'queued', added: 4 },
      { skill: 'Go', job: 8, status: 'busy' },
    ],
  });
  watches.recordDiscovery(12345, 'Python', 7, 1);
});

test('watches are removed one by one or all at once', () => {
  const { watches } = openSqliteStore(':memory:', new ManualClock());
  const a = watches.add({ kind: 'skills', target: 'A', options: { format: 'epub' }, periodMs: 1000 });
  watches.add({ kind: 'playlist', target: 'Reading list', options: { format: 'both' }, periodMs: 1000 });
  watches.add({ kind: 'skills', target: 'B', options: { format: 'kindle' }, periodMs: 1000 });
  assert.equal(watches.remove(a.id), true);
  assert.equal(watches.remove(a.id), false);
  assert.deepEqual(
    watches.list().map((w) => w.target),
    ['Reading list', 'B'],
  );
  assert.equal(watches.removeAll(), 2);
  assert.deepEqual(watches.list(), []);
});

test('a skill whose discovery fails for good or is cancelled is settled with why, and the run counts as failed once', () => {
  const clock = new ManualClock(1_000_000);
  const store = openSqliteStore(':memory:', clock, { random: () => 0.5, watchRetryBaseMs: 60_000 });
  const w = store.watches.add({ kind: 'skills', target: 'Python, Go', options: { format: 'epub' }, periodMs: 24 * HOUR });
  store.watches.claim(w.id, 10);
  const [python, go] = store.jobs.enqueue(
    ['Python', 'Go'].map((skill) => ({ kind: 'discover' as const, payload: { skill, format: 'epub' as const, watch: w.id }, maxAttempts: 1 })),
  );
  store.watches.markRun(w.id, {
    skills: [
      { skill: 'Python', job: python!.id, status: 'queued' },
      { skill: 'Go', job: go!.id, status: 'queued' },
    ],
  });
  assert.equal(store.watches.get(w.id)?.nextRunAt, 1_000_000 + 24 * HOUR, 'a skills run is not failed while its discoveries go on');
  const [job] = store.jobs.claim({ owner: 't', limit: 1, leaseMs: 60_000 });
  assert.equal(job?.id, python!.id);
  assert.equal(store.jobs.retry(job.id, job.leaseToken, { kind: 'transient', message: 'the listing answered 502' }), 'failed', 'one attempt, used up');
  let after = store.watches.get(w.id)!;
  assert.deepEqual(after.lastFound?.skills?.[0], { skill: 'Python', job: python!.id, status: 'queued', error: 'the listing answered 502' });
  assert.equal(after.failures, 1);
  assert.equal(after.nextRunAt, 1_000_000 + 30_000, 'tried again after the backoff (half of a minute at random 0.5), not a day');
  store.jobs.cancel(go!.id);
  after = store.watches.get(w.id)!;
  assert.equal(after.lastFound?.skills?.[1]?.error, 'cancelled');
  assert.equal(after.failures, 1, 'one run, one failure');

  // The next run's discovery succeeds: the watch is back to its period.
  clock.advance(30_000);
  store.watches.claim(w.id, 10);
  store.watches.markRun(w.id, { skills: [{ skill: 'Python', job: python!.id, status: 'queued' }] });
  store.watches.recordDiscovery(w.id, 'Python', python!.id, 2, 1);
  after = store.watches.get(w.id)!;
  assert.equal(after.failures, 0);
  assert.equal(after.nextRunAt, 1_030_000 + 24 * HOUR);
  assert.deepEqual(after.lastFound?.skills, [{ skill: 'Python', job: python!.id, status: 'queued', added: 2, updated: 1 }]);
});

test('failed runs come back after a doubling backoff that never exceeds the period; a run that works resets it', () => {
  const clock = new ManualClock(0);
  const { watches } = openSqliteStore(':memory:', clock, { random: () => 0.5, watchRetryBaseMs: 60_000 });
  const w = watches.add({ kind: 'playlist', target: 'Reading list', options: { format: 'epub' }, periodMs: 10 * 60_000 });
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    clock.advance(watches.get(w.id)!.nextRunAt - clock.now());
    watches.claim(w.id, 10);
    watches.markRun(w.id, { error: 'the playlists request answered 503' });
    delays.push(watches.get(w.id)!.nextRunAt - clock.now());
  }
  assert.deepEqual(delays, [30_000, 60_000, 120_000, 240_000, 300_000, 300_000], 'half (random 0.5) of 1, 2, 4, 8 minutes, then of the 10-minute period');
  assert.equal(watches.get(w.id)!.failures, 6);
  clock.advance(watches.get(w.id)!.nextRunAt - clock.now());
  watches.claim(w.id, 10);
  watches.markRun(w.id, { added: 1 });
  assert.equal(watches.get(w.id)!.failures, 0);
  assert.equal(watches.get(w.id)!.nextRunAt - clock.now(), 10 * 60_000);
});
