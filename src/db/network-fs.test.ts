import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkFsType } from './network-fs.js';

const table = [
  'proc /proc proc rw 0 0',
  '/dev/vda / ext4 rw,relatime 0 0',
  'server:/export /mnt/nas nfs4 rw,vers=4.2 0 0',
  '//fs/share /mnt/my\\040share cifs rw 0 0',
  'user@host: /home/me/remote fuse.sshfs rw 0 0',
  'tmpfs /mnt/nas/local tmpfs rw 0 0',
  'drvfs /mnt/c 9p rw 0 0',
].join('\n');

test('networkFsType finds the mount holding a path and names network filesystems', () => {
  assert.equal(networkFsType('/mnt/nas', table), 'nfs4');
  assert.equal(networkFsType('/mnt/nas/bookd/data', table), 'nfs4');
  assert.equal(networkFsType('/mnt/my share/bookd', table), 'cifs', 'octal escapes in mount points');
  assert.equal(networkFsType('/home/me/remote/x', table), 'fuse.sshfs');
  assert.equal(networkFsType('/mnt/c/Users/me', table), '9p');
});

test('networkFsType leaves local filesystems alone, including longer local mounts inside network ones', () => {
  assert.equal(networkFsType('/var/lib/bookd', table), undefined);
  assert.equal(networkFsType('/mnt/nas/local/bookd', table), undefined);
  assert.equal(networkFsType('/mnt/nas2', table), undefined, 'a prefix of the name is not the mount');
  assert.equal(networkFsType('/anything', ''), undefined);
});

test('a later mount on the same point wins', () => {
  assert.equal(networkFsType('/data/x', '/dev/vda / ext4 rw 0 0\nsrv:/d /data nfs rw 0 0\n/dev/vdb /data ext4 rw 0 0'), undefined);
  assert.equal(networkFsType('/data/x', '/dev/vda / ext4 rw 0 0\n/dev/vdb /data ext4 rw 0 0\nsrv:/d /data nfs rw 0 0'), 'nfs');
});
