import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BookdError, errnoClass, networkErrno, storageErrno, SupersededJarError, within } from './errors.js';

const withCode = (code: unknown) => Object.assign(new Error('boom'), { code });

test('the disk refusing a write is storage, never network', () => {
  for (const code of ['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'EIO', 'EACCES']) {
    assert.equal(errnoClass(withCode(code)), 'storage', code);
    assert.equal(storageErrno(withCode(code)), code);
    assert.equal(networkErrno(withCode(code)), undefined, code);
  }
});

test('a failing connection, Node or undici, is network, never storage', () => {
  for (const code of [
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EAI_AGAIN',
    'ENOTFOUND',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_CLOSED',
    'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  ]) {
    assert.equal(errnoClass(withCode(code)), 'network', code);
    assert.equal(networkErrno(withCode(code)), code);
    assert.equal(storageErrno(withCode(code)), undefined, code);
  }
});

test('anything else is neither: other codes, no code, odd values', () => {
  for (const err of [
    withCode('ENOENT'),
    withCode('SQLITE_BUSY'),
    withCode('toString'),
    withCode('constructor'),
    withCode(28),
    new Error('ENOSPC in the message only'),
    'ENOSPC',
    null,
    undefined,
    { code: 'ENOSPC ' },
  ]) {
    assert.equal(errnoClass(err), undefined, JSON.stringify(err) ?? 'undefined');
    assert.equal(storageErrno(err), undefined);
    assert.equal(networkErrno(err), undefined);
  }
});

test('within() puts context in front of a plain BookdError but keeps a SupersededJarError as it is', () => {
  const plain = within('chapter "x"', new BookdError('transient', 'reset'));
  assert.ok(plain instanceof BookdError);
  assert.equal(plain.message, 'chapter "x": reset');
  const superseded = new SupersededJarError('s1');
  const kept = within('chapter "x"', superseded);
  assert.equal(kept, superseded, 'the pool recognises it by its class and adopts the new cookies');
  assert.ok(kept instanceof SupersededJarError);
});
