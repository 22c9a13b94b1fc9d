import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { goneOwners, isGone, newOwner } from './holds.js';

test('an owner on this host and pid namespace whose process has ended is gone; a live one is not', () => {
  const self = newOwner();
  const [place] = self.split(/:\d+:/);
  const ended = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const dead = `${place}:${ended.stdout}:abcdef`;
  const alive = `${place}:${process.ppid}:abcdef`;
  const earlierMe = `${place}:${process.pid}:000000`;
  assert.equal(isGone(self, self), false);
  assert.equal(isGone(alive, self), false);
  assert.equal(isGone(dead, self), true);
  assert.equal(isGone(earlierMe, self), true, 'the same pid with another random part is an earlier process');
  assert.deepEqual(goneOwners([dead, alive, dead], self), [dead]);
});

test('an owner in another pid namespace or on another host is never known to be gone, even with a pid unused here', () => {
  const self = newOwner();
  const ended = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  assert.equal(isGone(`${hostname()}/pidns-0:${ended}:abcdef`, self), false, 'same host name, another pid namespace');
  assert.equal(isGone(`some-other-host:${ended}:abcdef`, self), false);
  assert.equal(isGone('not an owner', self), false);
});
