import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobAttempt } from '../db/jobs.js';
import { BookdError } from '../errors.js';
import { decideOutcome, MAX_SESSION_RELEASES, recentRuns } from './outcome.js';
import { DEFAULT_TUNING } from '../config.js';

const now = 1_000_000;
const none = { auth: 0, throttled: 0, notFound: 0 };
const ctx = (recent = none) => ({
  now,
  recent,
  throttleSnoozeMs: 30_000,
  maxThrottleSnoozeMs: DEFAULT_TUNING.daemon.maxThrottleSnoozeMs,
  noSessionSnoozeMs: DEFAULT_TUNING.daemon.noSessionSnoozeMs,
});

function attempt(outcome: JobAttempt['outcome'], errorKind?: string): JobAttempt {
  return { attempt: 1, outcome, errorKind, message: 'm', session: 's', owner: 'o', startedAt: 0, finishedAt: 0, durationMs: 0 };
}

test('the recent runs are counted by error kind from the newest back, up to the last real attempt', () => {
  const runs = recentRuns([
    attempt('released', 'auth'),
    attempt('retry', 'transient'),
    attempt('snoozed', 'throttled'),
    attempt('released', 'not_found'),
    attempt('snoozed', 'throttled'),
  ]);
  assert.deepEqual(runs, { auth: 0, throttled: 2, notFound: 1 });
});

test('throttling snoozes the book without spending an attempt, longer each time, then retries it', () => {
  const err = new BookdError('throttled', 'a sample');
  assert.deepEqual(decideOutcome(err, ctx()), { type: 'snooze', until: now + 30_000, reason: 'a sample', kind: 'throttled' });
  const third = decideOutcome(err, ctx({ ...none, throttled: 2 }));
  assert.equal(third.type === 'snooze' && third.until, now + 120_000);
  const last = decideOutcome(err, ctx({ ...none, throttled: MAX_SESSION_RELEASES }));
  assert.equal(last.type, 'retry');
  assert.equal(last.type === 'retry' && last.kind, 'throttled');
});

test('an unconfirmed 404 goes to another session; one that no session gets past fails the book', () => {
  const err = new BookdError('not_found', '404 on s1');
  assert.deepEqual(decideOutcome(err, ctx()), { type: 'requeue', reason: '404 on s1', kind: 'not_found' });
  assert.equal(decideOutcome(err, ctx({ ...none, notFound: MAX_SESSION_RELEASES })).type, 'fail');
});

test('session trouble never spends the attempt until several sessions in a row failed on the book', () => {
  const err = new BookdError('auth', 'expired');
  assert.equal(decideOutcome(err, ctx()).type, 'requeue');
  assert.equal(decideOutcome(err, ctx({ ...none, auth: MAX_SESSION_RELEASES })).type, 'retry');
});
