import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import type { Store } from '../db/store.js';
import { silentLogger } from '../log.js';
import type { SessionPool } from '../pool/pool.js';
import { DEFAULT_EXPIRY_WARNING_MS, DEFAULT_TUNING } from '../config.js';
import { Daemon } from './daemon.js';

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
    tuning: DEFAULT_TUNING,
    expiryWarningMs: DEFAULT_EXPIRY_WARNING_MS,
  });
  assert.equal(daemon.healthy(), true);
  clock.advance(DEFAULT_TUNING.daemon.healthyWithinMs - 1);
  assert.equal(daemon.healthy(), true);
  clock.advance(1);
  assert.equal(daemon.healthy(), false, 'time alone does not keep it healthy');
});
