// The job state machine, the same cases against every backend (issue 14): SQLite through
// its Store (jobs served as promises), PostgreSQL through pgJobStore. The cases are those of jobs.test.ts that concern
// the state machine; reads that only SQLite has yet (views, dry-run inside an outer transaction)
// stay there.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BookdError } from '../errors.js';
import { BACKENDS, type BackendOptions, type JobBackend } from '../../test/helpers/job-backends.js';
import type { Async } from './async.js';
import { BACKOFF_CAP_MS } from './backoff.js';
import { PRIORITY, type BookJob, type ClaimedJob, type EnqueueItem, type JobStore } from './jobs.js';

const MIN = 60_000;

const book = (bookId: string, skills: string[] = [], extra: Partial<EnqueueItem> = {}): EnqueueItem =>
  ({ kind: 'book', payload: { bookId, format: 'epub', skills }, ...extra }) as EnqueueItem;
const discover = (skill: string, extra: Partial<EnqueueItem> = {}): EnqueueItem =>
  ({ kind: 'discover', payload: { skill, format: 'epub' }, ...extra }) as EnqueueItem;

async function claimOne(jobs: Async<JobStore>, owner = 'w1', leaseMs = 2 * MIN): Promise<ClaimedJob> {
  const [job] = await jobs.claim({ owner, limit: 1, leaseMs });
  assert.ok(job, 'expected a claimable job');
  return job;
}

for (const kind of BACKENDS) {
  describe(`job store on ${kind.name}`, () => {
    const opened: JobBackend[] = [];
    after(async () => {
      for (const b of opened) await b.close();
      await kind.done();
    });
    async function setup(opts: BackendOptions = { random: () => 0.5 }): Promise<JobBackend> {
      const b = await kind.open(opts);
      opened.push(b);
      return b;
    }

    test('enqueue adds once per dedupe key and reports what was already there', async () => {
      const { jobs, counts } = await setup();
      const first = await jobs.enqueue([book('9781492056348', ['Python']), discover('Python')]);
      assert.deepEqual(
        first.map((r) => [r.key, r.status, r.state]),
        [
          ['book:9781492056348:epub', 'added', 'queued'],
          ['discover:python', 'added', 'queued'],
        ],
      );
      const again = await jobs.enqueue([book('9781492056348', ['python']), discover('PYTHON ')]);
      assert.deepEqual(
        again.map((r) => r.status),
        ['exists', 'exists'],
      );
      assert.deepEqual(
        again.map((r) => r.id),
        first.map((r) => r.id),
      );
      assert.equal((await counts()).queued, 2);
      assert.equal((await jobs.enqueue([{ kind: 'book', payload: { bookId: '9781492056348', format: 'both', skills: [] } }]))[0]!.status, 'added');
    });

    test('one batch naming a key twice: the second sees the first', async () => {
      const { jobs } = await setup();
      const r = await jobs.enqueue([book('9781492056348', ['Go']), book('9781492056348', ['Rust']), book('9781492056348', ['go'])]);
      assert.deepEqual(
        r.map((x) => x.status),
        ['added', 'merged', 'exists'],
      );
      assert.deepEqual(((await jobs.get(r[0]!.id)) as BookJob).payload.skills, ['Go', 'Rust']);
    });

    test('enqueue merges a new skill and a sooner priority into a queued book', async () => {
      const { jobs } = await setup();
      const [added] = await jobs.enqueue([book('9781492056348', ['Python'], { priority: PRIORITY.discovered })]);
      const [merged] = await jobs.enqueue([book('9781492056348', ['Data Science'], { priority: PRIORITY.discovered })]);
      assert.equal(merged!.status, 'merged');
      const job = (await jobs.get(added!.id)) as BookJob;
      assert.deepEqual(job.payload.skills, ['Python', 'Data Science']);
      assert.equal(job.priority, PRIORITY.discovered);
      assert.equal((await jobs.enqueue([book('9781492056348')]))[0]!.status, 'merged');
      assert.equal((await jobs.get(added!.id))!.priority, PRIORITY.book);
      assert.equal((await jobs.enqueue([book('9781492056348', [], { priority: 500 })]))[0]!.status, 'exists');
      assert.equal((await jobs.get(added!.id))!.priority, PRIORITY.book);
    });

    test('a finished book stays finished unless forced; a finished discovery always runs again', async () => {
      const { jobs } = await setup();
      await jobs.enqueue([book('9781492056348'), discover('Go', { priority: 7 })]);
      for (let i = 0; i < 2; i++) {
        const j = await claimOne(jobs);
        assert.equal(await jobs.complete(j.id, j.leaseToken), true);
      }
      const plain = await jobs.enqueue([book('9781492056348'), discover('go')]);
      assert.deepEqual(
        plain.map((r) => [r.status, r.state]),
        [
          ['exists', 'succeeded'],
          ['requeued', 'queued'],
        ],
      );
      const d = (await jobs.get(plain[1]!.id))!;
      assert.equal(d.attempt, 0);
      assert.equal(d.priority, PRIORITY.discover);
      const forced = await jobs.enqueue([book('9781492056348', ['Python'])], { force: true });
      assert.deepEqual(
        forced.map((r) => [r.status, r.state]),
        [['requeued', 'queued']],
      );
      const b = (await jobs.get(forced[0]!.id)) as BookJob;
      assert.equal(b.attempt, 0);
      assert.equal(b.finishedAt, undefined);
      assert.deepEqual(b.payload.skills, ['Python']);
    });

    test('dry-run enqueue reports exactly what would happen and changes nothing', async () => {
      const { jobs, counts } = await setup();
      const [first] = await jobs.enqueue([book('9781492056348')]);
      const before = await jobs.get(first!.id);
      const results = await jobs.enqueue([book('9781492056348', ['Go']), book('9781098118723'), discover('Rust')], { dryRun: true });
      assert.deepEqual(
        results.map((r) => r.status),
        ['merged', 'added', 'added'],
      );
      assert.deepEqual(await jobs.get(first!.id), before);
      assert.equal((await counts()).queued, 1);
    });

    test('enqueue validates every item and adds none when one is bad', async () => {
      const { jobs, counts } = await setup();
      await assert.rejects(
        jobs.enqueue([book('9781492056348'), book('12345')]),
        (err: unknown) => err instanceof BookdError && err.kind === 'bad_input' && /12345/.test(err.message),
      );
      await assert.rejects(jobs.enqueue([discover('  ')]), BookdError);
      await assert.rejects(jobs.enqueue([book('9781492056348', [], { maxAttempts: 0 })]), BookdError);
      assert.equal((await counts()).queued, 0);
    });

    test('claim takes the lowest priority first, then the earliest run_at, then the oldest', async () => {
      const { jobs, clock } = await setup();
      await jobs.enqueue([book('9780000000001', [], { priority: 200 }), book('9780000000002'), discover('Go'), book('9780000000003')]);
      await jobs.enqueue([book('9780000000004', [], { priority: 100, runAt: clock.now() - 1000 })]);
      await jobs.enqueue([book('9780000000005', [], { priority: 1, runAt: clock.now() + MIN })]);
      const order = (await jobs.claim({ owner: 'w', limit: 10, leaseMs: MIN })).map((j) => (j.kind === 'book' ? j.payload.bookId.slice(-1) : j.payload.skill));
      assert.deepEqual(order, ['Go', '4', '2', '3', '1']);
      assert.deepEqual(await jobs.claim({ owner: 'w', limit: 10, leaseMs: MIN }), [], 'a job due in the future is not claimed');
      assert.equal(await jobs.nextRunAt(), clock.now() + MIN);
      clock.advance(MIN);
      assert.equal((await claimOne(jobs)).priority, 1);
      assert.equal(await jobs.nextRunAt(), undefined, 'nothing queued');
    });

    test('claim counts the attempt, sets a fresh lease token, honours kinds, limit and pause', async () => {
      const { jobs, clock, pause, resume, counts } = await setup();
      await jobs.enqueue([book('9780000000001'), book('9780000000002'), discover('Go')]);
      assert.deepEqual(await jobs.claim({ owner: 'w', limit: 5, leaseMs: MIN, kinds: [] }), []);
      const [d] = await jobs.claim({ owner: 'w', limit: 5, leaseMs: MIN, kinds: ['discover'] });
      assert.equal(d!.kind, 'discover');
      await pause();
      assert.deepEqual(await jobs.claim({ owner: 'w', limit: 5, leaseMs: MIN }), []);
      await resume();
      const two = await jobs.claim({ owner: 'w2', limit: 2, leaseMs: MIN, kinds: ['book'] });
      assert.equal(two.length, 2);
      for (const j of two) {
        assert.equal(j.state, 'running');
        assert.equal(j.attempt, 1);
        assert.equal(j.leaseOwner, 'w2');
        assert.equal(j.leaseExpiresAt, clock.now() + MIN);
        assert.match(j.leaseToken, /^[0-9a-f]{32}$/);
      }
      assert.notEqual(two[0]!.leaseToken, two[1]!.leaseToken);
      assert.equal((await counts()).running, 3);
      assert.deepEqual((await jobs.leaseOwners()).sort(), ['w', 'w2']);
    });

    test('every worker write is fenced by the lease token', async () => {
      const { jobs } = await setup();
      await jobs.enqueue([book('9780000000001')]);
      const j = await claimOne(jobs);
      const stale = 'f'.repeat(32);
      assert.deepEqual(await jobs.heartbeat(j.id, stale, MIN, { done: 1 }), { ok: false, cancelRequested: false });
      assert.equal(await jobs.checkpoint(j.id, stale, { chapters: 3 }), false);
      assert.equal(await jobs.complete(j.id, stale), false);
      assert.equal(await jobs.retry(j.id, stale, { kind: 'transient', message: 'x' }), undefined);
      assert.equal(await jobs.snooze(j.id, stale, 0, 'x'), false);
      assert.equal(await jobs.requeue(j.id, stale, { kind: 'shutdown', message: 'x' }), false);
      assert.equal(await jobs.fail(j.id, stale, { kind: 'permanent', message: 'x' }), false);
      assert.equal(await jobs.acknowledgeCancel(j.id, stale), false);
      const after = (await jobs.get(j.id))!;
      assert.equal(after.state, 'running');
      assert.equal(after.progress, undefined);
      assert.equal(after.checkpoint, undefined);
      assert.deepEqual(await jobs.attempts(j.id), []);
      assert.equal(await jobs.complete(j.id, j.leaseToken), true);
      assert.equal(await jobs.fail(j.id, j.leaseToken, { kind: 'permanent', message: 'late' }), false);
      assert.equal((await jobs.get(j.id))!.state, 'succeeded');
    });

    test('heartbeat extends the lease, stores progress and session, and reports a cancel request', async () => {
      const { jobs, clock } = await setup();
      await jobs.enqueue([book('9780000000001')]);
      const j = await claimOne(jobs, 'w1', MIN);
      clock.advance(50_000);
      assert.deepEqual(await jobs.heartbeat(j.id, j.leaseToken, MIN, { phase: 'chapters', done: 3, total: 30 }, 'laptop'), {
        ok: true,
        cancelRequested: false,
      });
      let job = (await jobs.get(j.id))!;
      assert.equal(job.leaseExpiresAt, clock.now() + MIN);
      assert.equal(job.heartbeatAt, clock.now());
      assert.deepEqual(job.progress, { phase: 'chapters', done: 3, total: 30 });
      assert.equal(job.session, 'laptop');
      clock.advance(50_000);
      assert.equal(await jobs.reap(), 0, 'a heartbeating job is not reaped');
      assert.deepEqual(await jobs.cancel(j.id), { id: j.id, before: 'running', after: 'running', cancelRequested: true });
      assert.deepEqual(await jobs.heartbeat(j.id, j.leaseToken, MIN), { ok: true, cancelRequested: true });
      job = (await jobs.get(j.id))!;
      assert.deepEqual(job.progress, { phase: 'chapters', done: 3, total: 30 }, 'progress kept when not given');
      assert.equal(await jobs.acknowledgeCancel(j.id, j.leaseToken), true);
      job = (await jobs.get(j.id))!;
      assert.equal(job.state, 'cancelled');
      assert.equal(job.cancelRequested, false);
      assert.equal((await jobs.attempts(j.id)).at(-1)!.outcome, 'cancelled');
    });

    test('a checkpoint survives a requeue to another worker', async () => {
      const { jobs } = await setup();
      await jobs.enqueue([book('9780000000001')]);
      const j = await claimOne(jobs);
      assert.equal(await jobs.checkpoint(j.id, j.leaseToken, { chapters: ['ch01', 'ch02'] }), true);
      assert.equal(await jobs.requeue(j.id, j.leaseToken, { kind: 'shutdown', message: 'stopping' }), true);
      const k = await claimOne(jobs, 'w2');
      assert.deepEqual(k.checkpoint, { chapters: ['ch01', 'ch02'] });
    });

    test('a cancel asked for during a run is kept when the run ends in a snooze, a requeue or a retry', async () => {
      const { jobs, clock, counts } = await setup();
      await jobs.enqueue([book('9780000000001'), book('9780000000002'), book('9780000000003')]);
      const ends = [
        (id: number, token: string) => jobs.snooze(id, token, clock.now() + MIN, 'rate limited'),
        (id: number, token: string) => jobs.requeue(id, token, { kind: 'auth', message: 'session problem: expired' }),
        (id: number, token: string) => jobs.retry(id, token, { kind: 'transient', message: 'HTTP 503' }),
      ];
      for (const end of ends) {
        const j = await claimOne(jobs, 'w1', MIN);
        await jobs.cancel(j.id);
        const ended = await end(j.id, j.leaseToken);
        assert.ok(ended === true || ended === 'cancelled', `job ${j.id} ended (retry says how: ${String(ended)})`);
        const job = (await jobs.get(j.id))!;
        assert.equal(job.state, 'cancelled', `job ${j.id}`);
        assert.equal(job.cancelRequested, false);
        const last = (await jobs.attempts(j.id)).at(-1)!;
        assert.equal(last.outcome, 'cancelled');
        assert.match(last.message ?? '', /cancelled on request/);
      }
      assert.equal((await counts()).queued, 0);
    });

    test('retry backs off with full jitter, capped, and fails after max attempts', async () => {
      let r = 0.5;
      const { jobs, clock, setAttempt } = await setup({ random: () => r });
      await jobs.enqueue([book('9780000000001', [], { maxAttempts: 3 })]);
      for (const delay of [15_000, 30_000]) {
        const j = await claimOne(jobs);
        clock.advance(1000);
        assert.equal(await jobs.retry(j.id, j.leaseToken, { kind: 'transient', message: 'HTTP 503', session: 's1' }), 'queued');
        const job = (await jobs.get(j.id))!;
        assert.equal(job.state, 'queued');
        assert.equal(job.runAt, clock.now() + delay);
        assert.deepEqual(job.lastError, { kind: 'transient', message: 'HTTP 503' });
        assert.deepEqual(await jobs.claim({ owner: 'w', limit: 1, leaseMs: MIN }), [], 'not before the backoff');
        clock.advance(delay);
      }
      const j = await claimOne(jobs);
      assert.equal(j.attempt, 3);
      assert.equal(await jobs.retry(j.id, j.leaseToken, { kind: 'transient', message: 'HTTP 503 again' }), 'failed');
      const job = (await jobs.get(j.id))!;
      assert.equal(job.state, 'failed');
      assert.equal(job.finishedAt, clock.now());
      const attempts = await jobs.attempts(j.id);
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.outcome, a.errorKind, a.session ?? null]),
        [
          [1, 'retry', 'transient', 's1'],
          [2, 'retry', 'transient', 's1'],
          [3, 'failed', 'transient', null],
        ],
      );
      assert.equal(attempts[0]!.durationMs, 1000);
      r = 0.999999;
      await jobs.enqueue([book('9780000000002', [], { maxAttempts: 50 })]);
      await setAttempt('book:9780000000002:epub', 19);
      const k = await claimOne(jobs);
      await jobs.retry(k.id, k.leaseToken, { kind: 'transient', message: 'x' });
      const wait = (await jobs.get(k.id))!.runAt - clock.now();
      assert.equal(wait, Math.floor(0.999999 * BACKOFF_CAP_MS), `capped wait, got ${wait}`);
    });

    test('snooze and release put the job back without using an attempt', async () => {
      const { jobs, clock } = await setup();
      await jobs.enqueue([book('9780000000001', [], { maxAttempts: 1 })]);
      for (let i = 0; i < 3; i++) {
        const j = await claimOne(jobs);
        assert.equal(j.attempt, 1, 'the snooze gave the attempt back');
        assert.equal(await jobs.snooze(j.id, j.leaseToken, clock.now() + 5 * MIN, 'rate limited (429)', 's1', 'rate_limited'), true);
        const job = (await jobs.get(j.id))!;
        assert.equal(job.state, 'queued');
        assert.equal(job.attempt, 0);
        assert.equal(job.runAt, clock.now() + 5 * MIN);
        clock.advance(5 * MIN);
      }
      const j = await claimOne(jobs);
      assert.equal(await jobs.requeue(j.id, j.leaseToken, { kind: 'rate_limited', message: 'no usable session' }), true);
      assert.equal((await jobs.get(j.id))!.runAt, clock.now());
      const again = await claimOne(jobs);
      assert.equal(again.attempt, 1);
      const attempts = await jobs.attempts(j.id);
      assert.deepEqual(
        attempts.map((a) => [a.outcome, a.errorKind]),
        [
          ['snoozed', 'rate_limited'],
          ['snoozed', 'rate_limited'],
          ['snoozed', 'rate_limited'],
          ['released', 'rate_limited'],
        ],
      );
      assert.equal(attempts[0]!.message, 'rate limited (429)');
    });

    test('fail is permanent; retryOne and retryAllFailed reset it', async () => {
      const { jobs, counts } = await setup();
      await jobs.enqueue([book('9780000000001'), book('9780000000002'), book('9780000000003')]);
      for (let i = 0; i < 3; i++) {
        const j = await claimOne(jobs);
        await jobs.fail(j.id, j.leaseToken, i < 2 ? { kind: 'permanent', message: 'book not found' } : { kind: 'auth', message: 'subscription expired' });
      }
      assert.deepEqual((await jobs.get(3))!.lastError, { kind: 'auth', message: 'subscription expired' });
      assert.deepEqual(await jobs.retryOne(1), { id: 1, before: 'failed', after: 'queued' });
      assert.deepEqual(await jobs.retryOne(1), { id: 1, before: 'queued', after: 'queued' }, 'a queued job is not retried');
      assert.equal(await jobs.retryOne(99), undefined);
      const one = (await jobs.get(1))!;
      assert.equal(one.state, 'queued');
      assert.equal(one.attempt, 0);
      assert.equal(await jobs.retryAllFailed(), 2);
      assert.equal((await counts()).queued, 3);
    });

    test('cancel: queued at once, finished untouched, unknown undefined', async () => {
      const { jobs } = await setup();
      await jobs.enqueue([book('9780000000001'), book('9780000000002')]);
      assert.deepEqual(await jobs.cancel(1), { id: 1, before: 'queued', after: 'cancelled', cancelRequested: false });
      assert.equal((await claimOne(jobs)).id, 2, 'a cancelled job is never claimed');
      assert.deepEqual(await jobs.cancel(1), { id: 1, before: 'cancelled', after: 'cancelled', cancelRequested: false });
      assert.equal(await jobs.cancel(99), undefined);
      assert.deepEqual(await jobs.retryOne(1), { id: 1, before: 'cancelled', after: 'queued' }, 'a cancelled job can be retried by id');
    });

    test('reap returns expired leases to the queue; the old token is then stale', async () => {
      const { jobs, clock } = await setup();
      await jobs.enqueue([book('9780000000001')]);
      const first = await claimOne(jobs, 'w1', MIN);
      await jobs.checkpoint(first.id, first.leaseToken, { chapters: ['ch01'] });
      clock.advance(MIN - 1);
      assert.equal(await jobs.reap(), 0);
      clock.advance(2);
      assert.equal(await jobs.reap(), 1);
      const queued = (await jobs.get(first.id))!;
      assert.equal(queued.state, 'queued');
      assert.equal(queued.attempt, 1, 'the lost attempt still counts');
      assert.deepEqual(queued.checkpoint, { chapters: ['ch01'] }, 'the checkpoint survives for the next worker');
      const second = await claimOne(jobs, 'w2');
      assert.equal(second.attempt, 2);
      assert.equal(await jobs.complete(first.id, first.leaseToken), false, 'the first worker is fenced out');
      assert.equal(await jobs.complete(second.id, second.leaseToken, { session: 's2' }), true);
      assert.deepEqual(
        (await jobs.attempts(first.id)).map((a) => [a.outcome, a.owner]),
        [
          ['lease_expired', 'w1'],
          ['succeeded', 'w2'],
        ],
      );
    });

    test('reap returns the jobs of a dead owner before their lease runs out', async () => {
      const { jobs } = await setup();
      await jobs.enqueue([book('9780000000001'), book('9780000000002')]);
      const gone = await claimOne(jobs, 'host-a:111', 10 * MIN);
      const alive = await claimOne(jobs, 'host-a:222', 10 * MIN);
      assert.deepEqual((await jobs.leaseOwners()).sort(), ['host-a:111', 'host-a:222']);
      assert.equal(await jobs.reap(['host-a:111']), 1);
      assert.equal((await jobs.get(gone.id))!.state, 'queued');
      assert.equal((await jobs.get(alive.id))!.state, 'running');
      assert.match((await jobs.attempts(gone.id))[0]!.message ?? '', /worker host-a:111 is gone/);
      assert.deepEqual(await jobs.leaseOwners(), ['host-a:222']);
    });

    test('a job that kills its worker every time ends failed after max attempts', async () => {
      const { jobs, clock } = await setup();
      await jobs.enqueue([book('9780000000001', [], { maxAttempts: 3 })]);
      for (let i = 1; i <= 3; i++) {
        assert.equal((await claimOne(jobs, `w${i}`, MIN)).attempt, i);
        clock.advance(MIN + 1);
        assert.equal(await jobs.reap(), 1);
      }
      const job = (await jobs.get(1))!;
      assert.equal(job.state, 'failed');
      assert.deepEqual(job.lastError, { kind: 'permanent', message: 'the worker stopped during each of 3 attempts' });
      assert.deepEqual(await jobs.claim({ owner: 'w', limit: 1, leaseMs: MIN }), []);
    });

    test('a cancel requested wins over a failure, also when the reaper ends the last attempt', async () => {
      const { jobs, clock } = await setup();
      await jobs.enqueue([book('9780000000001', [], { maxAttempts: 1 }), book('9780000000002')]);
      const lapsing = await claimOne(jobs, 'w1', MIN);
      const failing = await claimOne(jobs, 'w1', MIN);
      await jobs.cancel(lapsing.id);
      await jobs.cancel(failing.id);
      assert.equal(await jobs.fail(failing.id, failing.leaseToken, { kind: 'permanent', message: 'no spine' }), true);
      clock.advance(MIN + 1);
      assert.equal(await jobs.reap(), 1);
      for (const id of [lapsing.id, failing.id]) {
        assert.equal((await jobs.get(id))!.state, 'cancelled', `job ${id}`);
        assert.match((await jobs.attempts(id)).at(-1)!.message ?? '', /^cancelled on request \(the run ended: /);
      }
    });

    test('the backoff base can be shortened for demos and tests', async () => {
      const { jobs, clock } = await setup({ random: () => 0.5, backoffBaseMs: 100 });
      await jobs.enqueue([book('9780000000001')]);
      for (const expected of [50, 100, 200]) {
        const j = await claimOne(jobs);
        await jobs.retry(j.id, j.leaseToken, { kind: 'transient', message: 'HTTP 500' });
        assert.equal((await jobs.get(j.id))!.runAt, clock.now() + expected);
        clock.advance(expected);
      }
    });

    test('a re-archive queues a finished book job again as an update; a queued update stays one', async () => {
      const { jobs } = await setup();
      const id = '9781492056348';
      const plain: EnqueueItem = { kind: 'book', payload: { bookId: id, format: 'epub', skills: ['Go'] } };
      const update: EnqueueItem = {
        kind: 'book',
        payload: { bookId: id, format: 'epub', skills: ['Go'], update: true, keepPrevious: true, listedIssued: '2026-02-01' },
      };
      await jobs.enqueue([plain]);
      const j = await claimOne(jobs);
      await jobs.complete(j.id, j.leaseToken);
      assert.equal((await jobs.enqueue([update]))[0]!.status, 'exists');
      assert.equal((await jobs.enqueue([update], { force: true }))[0]!.status, 'requeued');
      const payload = async () => ((await jobs.get(j.id)) as BookJob).payload;
      assert.deepEqual(await payload(), { bookId: id, format: 'epub', skills: ['Go'], update: true, keepPrevious: true, listedIssued: '2026-02-01' });
      await jobs.enqueue([{ kind: 'book', payload: { bookId: id, format: 'epub', skills: ['Rust'] } }]);
      assert.deepEqual(await payload(), { bookId: id, format: 'epub', skills: ['Go', 'Rust'], update: true, keepPrevious: true, listedIssued: '2026-02-01' });
      const k = await claimOne(jobs);
      await jobs.complete(k.id, k.leaseToken);
      await jobs.enqueue([plain], { force: true });
      assert.deepEqual(await payload(), { bookId: id, format: 'epub', skills: ['Go', 'Rust'] });
    });
  });
}
