import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import type { Store } from '../db/store.js';
import { silentLogger } from '../log.js';
import type { SessionPool } from '../pool/pool.js';
import { DAEMON_DEFAULTS, Daemon } from './daemon.js';

test('healthy() measures the supervisor: without a completed tick it turns false after the window', () => {
  const clock = new ManualClock();
  const never = () => Promise.reject(new Error('no job runs here'));
  const daemon = new Daemon({
    store: {} as Store,
    pool: {} as SessionPool,
    handlers: { book: never, discover: never },
    logger: silentLogger,
    clock,
    graceMs: 0,
  });
  assert.equal(daemon.healthy(), true);
  clock.advance(DAEMON_DEFAULTS.healthyWithinMs - 1);
  assert.equal(daemon.healthy(), true);
  clock.advance(1);
  assert.equal(daemon.healthy(), false, 'time alone does not keep it healthy');
});
