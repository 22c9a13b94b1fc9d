import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { configOf } from './context.js';
import { table } from './format.js';
import { parseDuration, parseInteger, parseJobId } from './args.js';
import { duration, progressText, relative } from '../../views/format.js';

test('configOf passes only the global flags to resolveConfig', () => {
  const config = configOf({ optsWithGlobals: () => ({ dataDir: '/tmp/bookd-x', json: true, watch: 2, excludeSkill: [] }) });
  assert.equal(config.dbPath, '/tmp/bookd-x/bookd.db');
});

test('duration and relative read at a glance', () => {
  assert.deepEqual([0, 999, 59_400, 61_000, 3_600_000, 3_660_000, 49 * 3_600_000, 50 * 3_600_000 + 1].map(duration), [
    '0s',
    '1s',
    '59s',
    '1m 1s',
    '1h',
    '1h 1m',
    '2d 1h',
    '2d 2h',
  ]);
  assert.equal(relative(1000, 1500), 'now');
  assert.equal(relative(0, 90_000), '1m 30s ago');
  assert.equal(relative(120_000, 0), 'in 2m');
});

test('progressText shows {done,total}, a phase, a number or compact JSON', () => {
  assert.equal(progressText(undefined), '-');
  assert.equal(progressText({ phase: 'chapters', done: 3, total: 30 }), 'chapters 3/30');
  assert.equal(progressText({ done: 7 }), '7');
  assert.equal(progressText(42), '42');
  assert.equal(progressText({ a: 'x'.repeat(100) }).length, 40);
});

test('table aligns columns and trims trailing blanks', () => {
  assert.equal(
    table(
      [
        ['ID', 'STATE', 'NOTE'],
        ['#10', 'ok', ''],
        ['#2', 'failed', 'x'],
      ],
      '  ',
    ),
    '  ID   STATE   NOTE\n  #10  ok\n  #2   failed  x',
  );
});

test('option parsers accept whole numbers and job ids, and explain what they expect', () => {
  assert.equal(parseInteger('-5'), -5);
  assert.throws(() => parseInteger('1.5'), /whole number/);
  assert.equal(parseJobId('#12'), 12);
  assert.throws(() => parseJobId('0'), /job id/);
  assert.throws(() => parseJobId('twelve'), /job id/);
});

test('parseDuration reads 30s, 45m, 6h, 7d and refuses anything else as a usage error', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('45m'), 45 * 60_000);
  assert.equal(parseDuration(' 6h '), 6 * 3_600_000);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  for (const bad of ['', '7', 'd', '0s', '-1h', '1.5h', '2w', '1h30m', '7 d', '99999999999999999d']) {
    assert.throws(
      () => parseDuration(bad),
      (err: unknown) => err instanceof InvalidArgumentError && /expected a period such as 30s/.test(err.message),
      bad,
    );
  }
});
