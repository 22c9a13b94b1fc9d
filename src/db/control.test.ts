import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { openSqliteStore } from './store.js';

test('pause and resume persist with reason and since', () => {
  const clock = new ManualClock();
  const { control } = openSqliteStore(':memory:', clock);
  assert.deepEqual(control.state(), { paused: false, reason: undefined, since: undefined });
  control.pause('maintenance');
  const since = clock.now();
  clock.advance(1000);
  control.pause('still maintenance');
  assert.deepEqual(control.state(), { paused: true, reason: 'still maintenance', since }, 'pausing again keeps the first since');
  control.resume();
  assert.deepEqual(control.state(), { paused: false, reason: undefined, since: undefined });
});

test('daemons announce themselves, update their note and leave', () => {
  const clock = new ManualClock();
  const { control } = openSqliteStore(':memory:', clock);
  control.daemonBeat('host:1', 'starting');
  const started = clock.now();
  clock.advance(30_000);
  control.daemonBeat('host:1', 'claiming paused: no usable session');
  const [d] = control.daemons();
  assert.deepEqual(d, {
    owner: 'host:1',
    pid: process.pid,
    host: d!.host,
    startedAt: started,
    seenAt: clock.now(),
    note: 'claiming paused: no usable session',
  });
  control.daemonGone('host:1');
  assert.deepEqual(control.daemons(), []);
});
