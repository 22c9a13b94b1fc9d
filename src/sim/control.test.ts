import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyBehaviour, ControlError, parseControl } from './control.js';
import { DEFAULT_BEHAVIOUR, type Behaviour } from './options.js';

test('control: the 2026-09 switches are accepted with their types and applied', () => {
  const patch = parseControl({
    fileGate: false,
    guardRate: 2.5,
    guardBurst: 4,
    partialCookies: 'ignore',
    profileMode: 'plain',
    profileRefresh: true,
    tokenEndpoint: false,
    duplicateLoginCookies: false,
    anonymousListing: false,
  });
  const b: Behaviour = structuredClone({ ...DEFAULT_BEHAVIOUR });
  applyBehaviour(b, patch);
  assert.deepEqual(
    [b.fileGate, b.guardRate, b.guardBurst, b.partialCookies, b.profileMode, b.profileRefresh, b.tokenEndpoint, b.duplicateLoginCookies, b.anonymousListing],
    [false, 2.5, 4, 'ignore', 'plain', true, false, false, false],
  );
  assert.equal(parseControl({ partialCookies: 404 }).partialCookies, '404');
  applyBehaviour(b, parseControl({ fileGate: true, guardRate: 0 }));
  assert.equal(b.fileGate, true);
  assert.equal(b.guardRate, 0);
  assert.equal(b.profileMode, 'plain', 'keys not in the patch stay');
});

test('control: bad values and unknown keys are refused with a reason', () => {
  for (const bad of [
    { fileGate: 'off' },
    { fileGate: 1 },
    { guardRate: -1 },
    { guardRate: 'fast' },
    { guardBurst: 0 },
    { guardBurst: 1.5 },
    { partialCookies: 'drop' },
    { profileMode: 'sso' },
    { profileRefresh: null },
    { tokenEndpoint: 'yes' },
    { duplicateLoginCookies: 0 },
    { anonymousListing: [] },
    { fileGates: true },
    { packageLayouts: false },
  ]) {
    assert.throws(() => parseControl(bad), ControlError, JSON.stringify(bad));
  }
  assert.throws(() => parseControl({ profileMode: 'sso' }), /profileMode must be "redirect" or "plain"/);
});
