import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import { EdgeGate } from './edge-gate.js';

test('refusals of requests already in flight are one episode; each later episode doubles the pause', () => {
  const clock = new ManualClock();
  const gate = new EdgeGate(clock, { baseMs: 1_000, maxMs: 8_000 });
  const t0 = clock.now();
  for (let i = 0; i < 8; i++) assert.equal(gate.block(), t0 + 1_000, 'eight sessions refused at once wait one base pause');
  clock.advance(1_000);
  assert.equal(gate.blockedUntil(), undefined);
  assert.equal(gate.block(), clock.now() + 2_000, 'refused again right after the pause: twice as long');
  clock.advance(2_000);
  gate.passed();
  assert.equal(gate.block(), clock.now() + 1_000, 'a request got through in between: back to the base pause');
  clock.advance(1_000);
  for (let i = 0; i < 5; i++) {
    gate.block();
    clock.advance(8_000);
  }
  assert.equal(gate.block() - clock.now(), 8_000, 'capped');
});
