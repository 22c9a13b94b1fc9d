import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from './config.js';
import { ConfigError } from './errors.js';

const base = { BOOKD_DATA_DIR: '/nonexistent/bookd-config-test' };

test('durations where 0 would break every request are refused at 0, naming the variable', () => {
  for (const name of ['BOOKD_REQUEST_TIMEOUT_MS', 'BOOKD_EDGE_BACKOFF_MS', 'BOOKD_RETRY_BASE_MS']) {
    assert.throws(
      () => resolveConfig({}, { ...base, [name]: '0' }),
      (err: unknown) => err instanceof ConfigError && err.message.includes(name) && /whole number ≥ 1, got "0"/.test(err.message),
    );
    assert.doesNotThrow(() => resolveConfig({}, { ...base, [name]: '1' }));
  }
});

test('a session interval of 0 (no pacing, for benchmarks) is allowed; a negative or fractional one is not', () => {
  assert.equal(resolveConfig({}, { ...base, BOOKD_SESSION_INTERVAL_MS: '0' }).sessionIntervalMs, 0);
  for (const bad of ['-1', '1.5', 'fast']) assert.throws(() => resolveConfig({}, { ...base, BOOKD_SESSION_INTERVAL_MS: bad }), ConfigError);
});
