import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byteRange } from './byte-range.js';

test('one range is served; the last bytes, an open end and an end past the file are clipped to it', () => {
  assert.deepEqual(byteRange('bytes=0-99', 1000), { start: 0, end: 99 });
  assert.deepEqual(byteRange('bytes=500-', 1000), { start: 500, end: 999 });
  assert.deepEqual(byteRange('bytes=-300', 1000), { start: 700, end: 999 });
  assert.deepEqual(byteRange('bytes=-3000', 1000), { start: 0, end: 999 });
  assert.deepEqual(byteRange('bytes=900-5000', 1000), { start: 900, end: 999 });
  assert.deepEqual(byteRange(' BYTES = 1 - 1 ', 1000), { start: 1, end: 1 });
});

test('a range past the end is unsatisfiable; anything else is answered with the whole file', () => {
  assert.equal(byteRange('bytes=1000-', 1000), 'unsatisfiable');
  assert.equal(byteRange('bytes=-0', 1000), 'unsatisfiable');
  assert.equal(byteRange('bytes=0-', 0), 'unsatisfiable');
  for (const h of [undefined, '', 'bytes=', 'bytes=-', 'bytes=5-1', 'bytes=0-1,5-9', 'items=0-1', 'bytes=a-b', `bytes=0-${'9'.repeat(30)}`])
    assert.equal(byteRange(h, 1000), undefined, String(h));
});
