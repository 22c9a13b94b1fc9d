import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { BookdError } from '../errors.js';
import { BACKOFF_CAP_MS } from './backoff.js';
import { PRIORITY, type BookJob, type ClaimedJob, type EnqueueItem } from './jobs.js';
import { openSqliteStore, type SqliteStore } from './store.js';

const MIN = 60_000;

function setup(random = () => 0.5): { store: SqliteStore; clock: ManualClock } {
  const clock = new ManualClock();
  return { store: openSqliteStore(':memory:', clock, { random }), clock };
}

const book = (bookId: string, skills: string[] = [], extra: Partial<EnqueueItem> = {}): EnqueueItem =>
  ({ kind: 'book', payload: { bookId, format: 'epub', skills }, ...extra }) as EnqueueItem;
const discover = (skill: string, extra: Partial<EnqueueItem> = {}): EnqueueItem =>
  ({ kind: 'discover', payload: { skill, format: 'epub' }, ...extra }) as EnqueueItem;

function claimOne(store: SqliteStore, owner = 'w1', leaseMs = 2 * MIN): ClaimedJob {
  const [job] = store.jobs.claim({ owner, limit: 1, leaseMs });
  assert.ok(job, 'expected a claimable job');
  return job;
}

test('enqueue adds once per dedupe key and reports what was already there', () => {
  const { store } = setup();
  const first = store.jobs.enqueue([book('9781492056348', ['Python']), discover('Python')]);
  assert.deepEqual(
    first.map((r) => [r.key, r.status, r.state]),
    [
      ['book:9781492056348:epub', 'added', 'queued'],
      ['discover:python', 'added', 'queued'],
    ],
  );
  const again = store.jobs.enqueue([book('9781492056348', ['python']), discover('PYTHON ')]);
  assert.deepEqual(
    again.map((r) => r.status),
    ['exists', 'exists'],
  );
  assert.deepEqual(
    again.map((r) => r.id),
    first.map((r) => r.id),
  );
  assert.equal(store.views.counts().queued, 2);
  // Another format is another job.
  assert.equal(store.jobs.enqueue([{ kind: 'book', payload: { bookId: '9781492056348', format: 'both', skills: [] } }])[0]!.status, 'added');
});

test('enqueue merges a new skill and a sooner priority into a queued book', () => {
  const { store } = setup();
  const [added] = store.jobs.enqueue([book('9781492056348', ['Python'], { priority: PRIORITY.discovered })]);
  const [merged] = store.jobs.enqueue([book('9781492056348', ['Data Science'], { priority: PRIORITY.discovered })]);
  assert.equal(merged!.status, 'merged');
  const job = store.jobs.get(added!.id) as BookJob;
  assert.deepEqual(job.payload.skills, ['Python', 'Data Science']);
  assert.equal(job.priority, PRIORITY.discovered);
  // Named explicitly (default book priority 100) it moves ahead of the backfill.
  assert.equal(store.jobs.enqueue([book('9781492056348')])[0]!.status, 'merged');
  assert.equal(store.jobs.get(added!.id)!.priority, PRIORITY.book);
  // A later backfill does not push it back.
  assert.equal(store.jobs.enqueue([book('9781492056348', [], { priority: 500 })])[0]!.status, 'exists');
  assert.equal(store.jobs.get(added!.id)!.priority, PRIORITY.book);
});

test('a finished book stays finished unless forced; a finished discovery always runs again', () => {
  const { store } = setup();
  store.jobs.enqueue([book('9781492056348'), discover('Go', { priority: 7 })]);
  for (let i = 0; i < 2; i++) {
    const j = claimOne(store);
    assert.equal(store.jobs.complete(j.id, j.leaseToken), true);
  }
  const plain = store.jobs.enqueue([book('9781492056348'), discover('go')]);
  assert.deepEqual(
    plain.map((r) => [r.status, r.state]),
    [
      ['exists', 'succeeded'],
      ['requeued', 'queued'],
    ],
  );
  const d = store.jobs.get(plain[1]!.id)!;
  assert.equal(d.attempt, 0);
  assert.equal(d.priority, PRIORITY.discover);
  const forced = store.jobs.enqueue([book('9781492056348', ['Python'])], { force: true });
  assert.deepEqual(
    forced.map((r) => [r.status, r.state]),
    [['requeued', 'queued']],
  );
  const b = store.jobs.get(forced[0]!.id) as BookJob;
  assert.equal(b.attempt, 0);
  assert.equal(b.finishedAt, undefined);
  assert.deepEqual(b.payload.skills, ['Python']);
});

test('dry-run enqueue reports exactly what would happen and changes nothing', () => {
  const { store } = setup();
  store.jobs.enqueue([book('9781492056348')]);
  const before = store.db.prepare('SELECT * FROM jobs ORDER BY id').all();
  const results = store.jobs.enqueue([book('9781492056348', ['Go']), book('9781098118723'), discover('Rust')], { dryRun: true });
  assert.deepEqual(
    results.map((r) => r.status),
    ['merged', 'added', 'added'],
  );
  assert.deepEqual(store.db.prepare('SELECT * FROM jobs ORDER BY id').all(), before);
});

test('a dry run inside another transaction undoes only its own writes', () => {
  const { store } = setup();
  store.transaction(() => {
    store.jobs.enqueue([book('9781492056348')]);
    assert.deepEqual(
      store.jobs.enqueue([book('9781098118723')], { dryRun: true }).map((r) => r.status),
      ['added'],
    );
  });
  assert.deepEqual(store.db.prepare('SELECT dedupe_key FROM jobs').all(), [{ dedupe_key: 'book:9781492056348:epub' }]);
});

test('enqueue validates every item and adds none when one is bad', () => {
  const { store } = setup();
  assert.throws(
    () => store.jobs.enqueue([book('9781492056348'), book('12345')]),
    (err: unknown) => err instanceof BookdError && err.kind === 'bad_input' && /12345/.test(err.message),
  );
  assert.throws(() => store.jobs.enqueue([discover('  ')]), BookdError);
  assert.throws(() => store.jobs.enqueue([book('9781492056348', [], { maxAttempts: 0 })]), BookdError);
  assert.equal(store.views.counts().queued, 0);
});

test('claim takes the lowest priority first, then the earliest run_at, then the oldest', () => {
  const { store, clock } = setup();
  store.jobs.enqueue([book('9780000000001', [], { priority: 200 }), book('9780000000002'), discover('Go'), book('9780000000003')]);
  store.jobs.enqueue([book('9780000000004', [], { priority: 100, runAt: clock.now() - 1000 })]);
  store.jobs.enqueue([book('9780000000005', [], { priority: 1, runAt: clock.now() + MIN })]);
  const order = store.jobs.claim({ owner: 'w', limit: 10, leaseMs: MIN }).map((j) => (j.kind === 'book' ? j.payload.bookId.slice(-1) : j.payload.skill));
  assert.deepEqual(order, ['Go', '4', '2', '3', '1']);
  assert.deepEqual(store.jobs.claim({ owner: 'w', limit: 10, leaseMs: MIN }), [], 'a job due in the future is not claimed');
  assert.equal(store.jobs.nextRunAt(), clock.now() + MIN);
  clock.advance(MIN);
  assert.equal(claimOne(store).priority, 1);
});

test('claim counts the attempt, sets a fresh lease token, honours kinds, limit and pause', () => {
  const { store, clock } = setup();
  store.jobs.enqueue([book('9780000000001'), book('9780000000002'), discover('Go')]);
  assert.deepEqual(store.jobs.claim({ owner: 'w', limit: 5, leaseMs: MIN, kinds: [] }), []);
  const [d] = store.jobs.claim({ owner: 'w', limit: 5, leaseMs: MIN, kinds: ['discover'] });
  assert.equal(d!.kind, 'discover');
  store.control.pause('maintenance');
  assert.deepEqual(store.jobs.claim({ owner: 'w', limit: 5, leaseMs: MIN }), []);
  store.control.resume();
  const two = store.jobs.claim({ owner: 'w2', limit: 2, leaseMs: MIN, kinds: ['book'] });
  assert.equal(two.length, 2);
  for (const j of two) {
    assert.equal(j.state, 'running');
    assert.equal(j.attempt, 1);
    assert.equal(j.leaseOwner, 'w2');
    assert.equal(j.leaseExpiresAt, clock.now() + MIN);
    assert.match(j.leaseToken, /^[0-9a-f]{32}$/);
  }
  assert.notEqual(two[0]!.leaseToken, two[1]!.leaseToken);
  assert.equal(store.views.counts().running, 3);
});

test('every worker write is fenced by the lease token', () => {
  const { store } = setup();
  store.jobs.enqueue([book('9780000000001')]);
  const j = claimOne(store);
  const stale = 'f'.repeat(32);
  assert.deepEqual(store.jobs.heartbeat(j.id, stale, MIN, { done: 1 }), { ok: false, cancelRequested: false });
  assert.equal(store.jobs.checkpoint(j.id, stale, { chapters: 3 }), false);
  assert.equal(store.jobs.complete(j.id, stale), false);
  assert.equal(store.jobs.retry(j.id, stale, { kind: 'transient', message: 'x' }), undefined);
  assert.equal(store.jobs.snooze(j.id, stale, 0, 'x'), false);
  assert.equal(store.jobs.requeue(j.id, stale, { kind: 'shutdown', message: 'x' }), false);
  assert.equal(store.jobs.fail(j.id, stale, { kind: 'permanent', message: 'x' }), false);
  assert.equal(store.jobs.acknowledgeCancel(j.id, stale), false);
  const after = store.jobs.get(j.id)!;
  assert.equal(after.state, 'running');
  assert.equal(after.progress, undefined);
  assert.equal(after.checkpoint, undefined);
  assert.deepEqual(store.jobs.attempts(j.id), []);
  // Once finished, even the right token changes nothing more.
  assert.equal(store.jobs.complete(j.id, j.leaseToken), true);
  assert.equal(store.jobs.fail(j.id, j.leaseToken, { kind: 'permanent', message: 'late' }), false);
  assert.equal(store.jobs.get(j.id)!.state, 'succeeded');
});

test('heartbeat extends the lease, stores progress and session, and reports a cancel request', () => {
  const { store, clock } = setup();
  store.jobs.enqueue([book('9780000000001')]);
  const j = claimOne(store, 'w1', MIN);
  clock.advance(50_000);
  assert.deepEqual(store.jobs.heartbeat(j.id, j.leaseToken, MIN, { phase: 'chapters', done: 3, total: 30 }, 'laptop'), { ok: true, cancelRequested: false });
  let job = store.jobs.get(j.id)!;
  assert.equal(job.leaseExpiresAt, clock.now() + MIN);
  assert.equal(job.heartbeatAt, clock.now());
  assert.deepEqual(job.progress, { phase: 'chapters', done: 3, total: 30 });
  assert.equal(job.session, 'laptop');
  clock.advance(50_000);
  assert.equal(store.jobs.reap(), 0, 'a heartbeating job is not reaped');
  assert.deepEqual(store.jobs.cancel(j.id), { id: j.id, before: 'running', after: 'running', cancelRequested: true });
  assert.deepEqual(store.jobs.heartbeat(j.id, j.leaseToken, MIN), { ok: true, cancelRequested: true });
  job = store.jobs.get(j.id)!;
  assert.deepEqual(job.progress, { phase: 'chapters', done: 3, total: 30 }, 'progress kept when not given');
  assert.equal(store.jobs.acknowledgeCancel(j.id, j.leaseToken), true);
  job = store.jobs.get(j.id)!;
  assert.equal(job.state, 'cancelled');
  assert.equal(job.cancelRequested, false);
  assert.equal(store.jobs.attempts(j.id).at(-1)!.outcome, 'cancelled');
});

test('a cancel asked for during a run is kept when the run ends in a snooze, a requeue or a retry', () => {
  const { store } = setup();
  store.jobs.enqueue([book('9780000000001'), book('9780000000002'), book('9780000000003')]);
  const ends = [
    (id: number, token: string) => store.jobs.snooze(id, token, Date.now() + MIN, 'rate limited'),
    (id: number, token: string) => store.jobs.requeue(id, token, { kind: 'auth', message: 'session problem: expired' }),
    (id: number, token: string) => store.jobs.retry(id, token, { kind: 'transient', message: 'HTTP 503' }),
  ];
  for (const end of ends) {
    const j = claimOne(store, 'w1', MIN);
    store.jobs.cancel(j.id);
    const ended = end(j.id, j.leaseToken);
    assert.ok(ended === true || ended === 'cancelled', `job ${j.id} ended (retry says how: ${ended})`);
    const job = store.jobs.get(j.id)!;
    assert.equal(job.state, 'cancelled', `job ${j.id}`);
    assert.equal(job.cancelRequested, false);
    const last = store.jobs.attempts(j.id).at(-1)!;
    assert.equal(last.outcome, 'cancelled');
    assert.match(last.message ?? '', /cancelled on request/);
  }
  assert.equal(store.views.counts().queued, 0);
});

test('retry backs off with full jitter, capped, and fails after max attempts', () => {
  let r = 0.5;
  const { store, clock } = setup(() => r);
  store.jobs.enqueue([book('9780000000001', [], { maxAttempts: 3 })]);
  const expected = [15_000, 30_000];
  for (const delay of expected) {
    const j = claimOne(store);
    clock.advance(1000);
    assert.equal(store.jobs.retry(j.id, j.leaseToken, { kind: 'transient', message: 'HTTP 503', session: 's1' }), 'queued');
    const job = store.jobs.get(j.id)!;
    assert.equal(job.state, 'queued');
    assert.equal(job.runAt, clock.now() + delay);
    assert.deepEqual(job.lastError, { kind: 'transient', message: 'HTTP 503' });
    assert.deepEqual(store.jobs.claim({ owner: 'w', limit: 1, leaseMs: MIN }), [], 'not before the backoff');
    clock.advance(delay);
  }
  const j = claimOne(store);
  assert.equal(j.attempt, 3);
  assert.equal(store.jobs.retry(j.id, j.leaseToken, { kind: 'transient', message: 'HTTP 503 again' }), 'failed', 'the state it left the job in');
  const job = store.jobs.get(j.id)!;
  assert.equal(job.state, 'failed');
  assert.equal(job.finishedAt, clock.now());
  const attempts = store.jobs.attempts(j.id);
  assert.deepEqual(
    attempts.map((a) => [a.attempt, a.outcome, a.errorKind, a.session ?? null]),
    [
      [1, 'retry', 'transient', 's1'],
      [2, 'retry', 'transient', 's1'],
      [3, 'failed', 'transient', null],
    ],
  );
  assert.equal(attempts[0]!.durationMs, 1000);
  // The cap: attempt 20 would be 30 s · 2^19 without it.
  r = 0.999999;
  store.jobs.enqueue([book('9780000000002', [], { maxAttempts: 50 })]);
  store.db.prepare("UPDATE jobs SET attempt = 19 WHERE dedupe_key = 'book:9780000000002:epub'").run();
  const k = claimOne(store);
  store.jobs.retry(k.id, k.leaseToken, { kind: 'transient', message: 'x' });
  const wait = store.jobs.get(k.id)!.runAt - clock.now();
  assert.equal(wait, Math.floor(0.999999 * BACKOFF_CAP_MS), `capped wait, got ${wait}`);
});

test('snooze and release put the job back without using an attempt', () => {
  const { store, clock } = setup();
  store.jobs.enqueue([book('9780000000001', [], { maxAttempts: 1 })]);
  for (let i = 0; i < 3; i++) {
    const j = claimOne(store);
    assert.equal(j.attempt, 1, 'the snooze gave the attempt back');
    assert.equal(store.jobs.snooze(j.id, j.leaseToken, clock.now() + 5 * MIN, 'rate limited (429)', 's1'), true);
    const job = store.jobs.get(j.id)!;
    assert.equal(job.state, 'queued');
    assert.equal(job.attempt, 0);
    assert.equal(job.runAt, clock.now() + 5 * MIN);
    clock.advance(5 * MIN);
  }
  const j = claimOne(store);
  assert.equal(store.jobs.requeue(j.id, j.leaseToken, { kind: 'rate_limited', message: 'no usable session' }), true);
  assert.equal(store.jobs.get(j.id)!.runAt, clock.now());
  const again = claimOne(store);
  assert.equal(again.attempt, 1);
  assert.deepEqual(
    store.jobs.attempts(j.id).map((a) => a.outcome),
    ['snoozed', 'snoozed', 'snoozed', 'released'],
  );
  assert.equal(store.jobs.attempts(j.id)[0]!.message, 'rate limited (429)');
});

test('fail is permanent and shows in the top failure reasons; retryOne and retryAllFailed reset it', () => {
  const { store } = setup();
  store.jobs.enqueue([book('9780000000001'), book('9780000000002'), book('9780000000003')]);
  for (let i = 0; i < 3; i++) {
    const j = claimOne(store);
    store.jobs.fail(j.id, j.leaseToken, i < 2 ? { kind: 'permanent', message: 'book not found' } : { kind: 'auth', message: 'subscription expired' });
  }
  assert.deepEqual(store.views.topFailures(5), [
    { kind: 'permanent', message: 'book not found', count: 2 },
    { kind: 'auth', message: 'subscription expired', count: 1 },
  ]);
  assert.deepEqual(store.jobs.retryOne(1), { id: 1, before: 'failed', after: 'queued' });
  assert.deepEqual(store.jobs.retryOne(1), { id: 1, before: 'queued', after: 'queued' }, 'a queued job is not retried');
  assert.equal(store.jobs.retryOne(99), undefined);
  const one = store.jobs.get(1)!;
  assert.equal(one.state, 'queued');
  assert.equal(one.attempt, 0);
  assert.equal(store.jobs.retryAllFailed(), 2);
  assert.equal(store.views.counts().queued, 3);
});

test('cancel: queued at once, finished untouched, unknown undefined', () => {
  const { store } = setup();
  store.jobs.enqueue([book('9780000000001'), book('9780000000002')]);
  assert.deepEqual(store.jobs.cancel(1), { id: 1, before: 'queued', after: 'cancelled', cancelRequested: false });
  assert.equal(claimOne(store).id, 2, 'a cancelled job is never claimed');
  assert.deepEqual(store.jobs.cancel(1), { id: 1, before: 'cancelled', after: 'cancelled', cancelRequested: false });
  assert.equal(store.jobs.cancel(99), undefined);
  assert.deepEqual(store.jobs.retryOne(1), { id: 1, before: 'cancelled', after: 'queued' }, 'a cancelled job can be retried by id');
});

test('reap returns expired leases to the queue; the old token is then stale', () => {
  const { store, clock } = setup();
  store.jobs.enqueue([book('9780000000001')]);
  const first = claimOne(store, 'w1', MIN);
  store.jobs.checkpoint(first.id, first.leaseToken, { chapters: ['ch01'] });
  clock.advance(MIN - 1);
  assert.equal(store.jobs.reap(), 0);
  clock.advance(2);
  assert.equal(store.jobs.reap(), 1);
  const queued = store.jobs.get(first.id)!;
  assert.equal(queued.state, 'queued');
  assert.equal(queued.attempt, 1, 'the lost attempt still counts');
  assert.deepEqual(queued.checkpoint, { chapters: ['ch01'] }, 'the checkpoint survives for the next worker');
  const second = claimOne(store, 'w2');
  assert.equal(second.attempt, 2);
  assert.equal(store.jobs.complete(first.id, first.leaseToken), false, 'the first worker is fenced out');
  assert.equal(store.jobs.complete(second.id, second.leaseToken, { session: 's2' }), true);
  assert.deepEqual(
    store.jobs.attempts(first.id).map((a) => [a.outcome, a.owner]),
    [
      ['lease_expired', 'w1'],
      ['succeeded', 'w2'],
    ],
  );
});

test('a job that kills its worker every time ends failed after max attempts', () => {
  const { store, clock } = setup();
  store.jobs.enqueue([book('9780000000001', [], { maxAttempts: 3 })]);
  for (let i = 1; i <= 3; i++) {
    assert.equal(claimOne(store, `w${i}`, MIN).attempt, i);
    clock.advance(MIN + 1);
    assert.equal(store.jobs.reap(), 1);
  }
  const job = store.jobs.get(1)!;
  assert.equal(job.state, 'failed');
  assert.deepEqual(job.lastError, { kind: 'permanent', message: 'the worker stopped during each of 3 attempts' });
  assert.deepEqual(store.jobs.claim({ owner: 'w', limit: 1, leaseMs: MIN }), []);
});

test('reap cancels a job whose cancel was requested', () => {
  const { store, clock } = setup();
  store.jobs.enqueue([book('9780000000001')]);
  const j = claimOne(store, 'w1', MIN);
  store.jobs.cancel(j.id);
  clock.advance(MIN + 1);
  store.jobs.reap();
  assert.equal(store.jobs.get(j.id)!.state, 'cancelled');
});

test('a cancel requested wins over a failure, also when the reaper ends the last attempt', () => {
  const { store, clock } = setup();
  store.jobs.enqueue([book('9780000000001', [], { maxAttempts: 1 }), book('9780000000002')]);
  const lapsing = claimOne(store, 'w1', MIN);
  const failing = claimOne(store, 'w1', MIN);
  store.jobs.cancel(lapsing.id);
  store.jobs.cancel(failing.id);
  assert.equal(store.jobs.fail(failing.id, failing.leaseToken, { kind: 'permanent', message: 'no spine' }), true);
  clock.advance(MIN + 1);
  assert.equal(store.jobs.reap(), 1);
  for (const id of [lapsing.id, failing.id]) {
    assert.equal(store.jobs.get(id)!.state, 'cancelled', `job ${id}`);
    assert.match(store.jobs.attempts(id).at(-1)!.message ?? '', /^cancelled on request \(the run ended: /);
  }
});

test('reads: list filters, counts by state and skill, oldest queued, running', () => {
  const { store, clock } = setup();
  store.jobs.enqueue([book('9780000000001', ['Python', 'Data Science']), book('9780000000002', ['python'])]);
  clock.advance(1000);
  store.jobs.enqueue([book('9780000000003', ['Go']), discover('Python')]);
  const j = claimOne(store, 'w1');
  assert.equal(j.kind, 'discover');
  assert.deepEqual(store.views.counts(), { queued: 3, running: 1, succeeded: 0, failed: 0, cancelled: 0 });
  assert.deepEqual(
    store.views.countsBySkill().map((c) => [c.skill.toLowerCase(), c.queued]),
    [
      ['data science', 1],
      ['go', 1],
      ['python', 2],
    ],
  );
  assert.deepEqual(
    store.views.list({ skill: 'PYTHON' }).map((x) => x.id),
    [1, 2, 4],
  );
  assert.deepEqual(
    store.views.list({ skill: 'python', kind: 'book' }).map((x) => x.id),
    [1, 2],
  );
  assert.deepEqual(
    store.views.list({ state: 'running' }).map((x) => x.id),
    [4],
  );
  assert.deepEqual(
    store.views.list({ limit: 2 }).map((x) => x.id),
    [1, 2],
  );
  assert.equal(store.views.oldestQueued()!.id, 1);
  assert.deepEqual(
    store.views.running().map((x) => x.id),
    [4],
  );
  assert.equal(store.jobs.get(12345), undefined);
});

test('the backoff base can be shortened for demos and tests', () => {
  const clock = new ManualClock();
  const store = openSqliteStore(':memory:', clock, { random: () => 0.5, backoffBaseMs: 100 });
  store.jobs.enqueue([book('9780000000001')]);
  for (const expected of [50, 100, 200]) {
    const j = claimOne(store);
    store.jobs.retry(j.id, j.leaseToken, { kind: 'transient', message: 'HTTP 500' });
    assert.equal(store.jobs.get(j.id)!.runAt, clock.now() + expected);
    clock.advance(expected);
  }
});

test('a re-archive queues a finished book job again as an update; a plain re-enqueue of it is not one, a queued update stays one', () => {
  const store = openSqliteStore(':memory:', new ManualClock(1000));
  const id = '9781492056348';
  const plain: EnqueueItem = { kind: 'book', payload: { bookId: id, format: 'epub', skills: ['Go'] } };
  const update: EnqueueItem = {
    kind: 'book',
    payload: { bookId: id, format: 'epub', skills: ['Go'], update: true, keepPrevious: true, listedIssued: '2026-02-01' },
  };
  store.jobs.enqueue([plain]);
  const [j] = store.jobs.claim({ owner: 't', limit: 1, leaseMs: 60_000 });
  store.jobs.complete(j!.id, j!.leaseToken);
  assert.equal(store.jobs.enqueue([update])[0]!.status, 'exists', 'without force a finished book stays finished');
  assert.equal(store.jobs.enqueue([update], { force: true })[0]!.status, 'requeued');
  const payload = () => (store.jobs.get(j!.id) as BookJob).payload;
  assert.deepEqual(payload(), { bookId: id, format: 'epub', skills: ['Go'], update: true, keepPrevious: true, listedIssued: '2026-02-01' });
  // Another skill's discovery names it while it is queued: still the update it was queued as.
  store.jobs.enqueue([{ kind: 'book', payload: { bookId: id, format: 'epub', skills: ['Rust'] } }]);
  assert.deepEqual(payload(), { bookId: id, format: 'epub', skills: ['Go', 'Rust'], update: true, keepPrevious: true, listedIssued: '2026-02-01' });
  const [k] = store.jobs.claim({ owner: 't', limit: 1, leaseMs: 60_000 });
  store.jobs.complete(k!.id, k!.leaseToken);
  store.jobs.enqueue([plain], { force: true });
  assert.deepEqual(payload(), { bookId: id, format: 'epub', skills: ['Go', 'Rust'] }, 'a later plain enqueue --force is a plain run');
});
