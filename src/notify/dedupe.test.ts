import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import type { BookdEvent } from '../daemon/events.js';
import { createDedupe, subjectOf } from './dedupe.js';

const ev = (event: BookdEvent['event'], extra: Partial<BookdEvent> = {}): BookdEvent => ({ event, at: 0, message: 'm', ...extra });

test('the same kind about the same subject passes once per cool-down; another subject or kind passes at once', () => {
  const clock = new ManualClock();
  const d = createDedupe({ clock, cooldownMs: 60_000, maxSubjects: 100 });
  assert.equal(d.admit(ev('session.expired', { session: 's1' })), true);
  assert.equal(d.admit(ev('session.expired', { session: 's1' })), false, 'a repeat within the cool-down');
  assert.equal(d.admit(ev('session.expired', { session: 's2' })), true, 'another session');
  assert.equal(d.admit(ev('session.failed', { session: 's1' })), true, 'another kind');
  clock.advance(59_999);
  assert.equal(d.admit(ev('session.expired', { session: 's1' })), false);
  clock.advance(1);
  assert.equal(d.admit(ev('session.expired', { session: 's1' })), true, 'after the cool-down');
  assert.equal(d.admit(ev('queue.drained')), true);
  assert.equal(d.admit(ev('queue.drained')), false, 'no subject is a subject of its own');
});

test('the subject is the session, else the book, else the job', () => {
  assert.equal(subjectOf({ session: 's1', book: { id: 'b' }, job: 3 }), 'session:s1');
  assert.equal(subjectOf({ book: { id: 'b' }, job: 3 }), 'book:b');
  assert.equal(subjectOf({ job: 3 }), 'job:3');
  assert.equal(subjectOf({}), '');
});

test('memory is bounded: past maxSubjects the least recently sent are forgotten', () => {
  const clock = new ManualClock();
  const d = createDedupe({ clock, cooldownMs: 3_600_000, maxSubjects: 3 });
  for (const id of ['a', 'b', 'c', 'd']) assert.equal(d.admit(ev('book.failed', { book: { id } })), true);
  assert.equal(d.size(), 3);
  assert.equal(d.admit(ev('book.failed', { book: { id: 'a' } })), true, 'a was forgotten');
  assert.equal(d.admit(ev('book.failed', { book: { id: 'd' } })), false, 'd is remembered');
});
