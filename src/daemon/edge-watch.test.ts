import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import { DEFAULT_EDGE_BACKOFF } from '../config.js';
import { EdgeGate } from '../pool/edge-gate.js';
import { edgeWatch } from './edge-watch.js';

test('edge.blocked: once per episode, after the pauses add up to the threshold; a request that gets through ends the episode', () => {
  const clock = new ManualClock();
  const edge = new EdgeGate(clock, DEFAULT_EDGE_BACKOFF);
  const alerts: number[] = [];
  const tick = edgeWatch({ edge, clock, thresholdMs: 10 * 60_000, alert: (since) => alerts.push(since) });
  const start = clock.now();
  // Refused again each time a pause ends: 30 s, 60 s, 120 s, 240 s, 480 s …
  for (let i = 0; i < 8; i++) {
    edge.block();
    const until = edge.blockedUntil()!;
    while (clock.now() < until) {
      tick();
      clock.advance(2000);
    }
    tick(); // the short gap between two pauses
  }
  assert.deepEqual(alerts, [start], 'one alert, dated from the first refusal');
  edge.passed();
  tick();
  edge.block();
  for (let t = 0; t < 9 * 60_000; t += 2000) {
    tick();
    clock.advance(2000);
  }
  assert.equal(alerts.length, 1, 'a new episode starts its own count');
});
