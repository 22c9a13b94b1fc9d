import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasGrown } from './grown.js';

test('hasGrown: more pages or a later date is growth; the same, less, or an unknown side is not', () => {
  const archived = { virtualPages: 300, issued: '2025-03-01T00:00:00Z' };
  assert.equal(hasGrown(archived, { virtualPages: 301 }), true);
  assert.equal(hasGrown(archived, { issued: '2025-03-02T00:00:00Z' }), true);
  assert.equal(hasGrown(archived, { issued: '2025-03-02' }), true, 'a date-only spelling compares as midnight UTC');
  assert.equal(hasGrown(archived, { virtualPages: 300, issued: '2025-03-01' }), false);
  assert.equal(hasGrown(archived, { virtualPages: 120, issued: '2024-01-01T00:00:00Z' }), false);
  assert.equal(hasGrown(archived, {}), false);
  assert.equal(hasGrown(archived, { issued: 'not a date' }), false);
  assert.equal(hasGrown({}, { virtualPages: 900, issued: '2030-01-01' }), false, 'a row of an older bookd never looks grown');
});
