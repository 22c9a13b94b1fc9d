import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import { createEventBus, type BookdEvent } from './events.js';

test('every listener hears an event stamped with the clock, and a throwing one does not stop the rest', () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 2));
  const errors: unknown[] = [];
  const bus = createEventBus(clock, (err) => errors.push(err));
  const heard: BookdEvent[] = [];
  bus.on(() => {
    throw new Error('listener broke');
  });
  const off = bus.on((e) => heard.push(e));
  bus.emit({ event: 'queue.drained', message: 'The queue is empty.' });
  off();
  bus.emit({ event: 'queue.drained', message: 'not heard' });
  assert.deepEqual(heard, [{ event: 'queue.drained', message: 'The queue is empty.', at: Date.UTC(2026, 11, 2) }]);
  assert.equal(errors.length, 2);
});
