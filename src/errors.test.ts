import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BookdError, SupersededJarError, within } from './errors.js';

test('within() puts context in front of a plain BookdError but keeps a SupersededJarError as it is', () => {
  const plain = within('chapter "x"', new BookdError('transient', 'reset'));
  assert.ok(plain instanceof BookdError);
  assert.equal((plain as BookdError).message, 'chapter "x": reset');
  const superseded = new SupersededJarError('s1');
  const kept = within('chapter "x"', superseded);
  assert.equal(kept, superseded, 'the pool recognises it by its class and adopts the new cookies');
  assert.ok(kept instanceof SupersededJarError);
});
