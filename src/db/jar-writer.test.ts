import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../../test/helpers/cli.js';
import { SupersededJarError } from '../errors.js';
import { JarWriter } from './jar-writer.js';
import { openSqliteStore } from './store.js';
import { ThreadLock } from './write-lock.js';

const tmp = tempDir('bookd-jar-writer-');
after(tmp.cleanup);

test('saves land in the row; a save over a jar the row no longer holds is refused as superseded', async () => {
  const path = join(tmp.dir, 'a.db');
  const lock = new ThreadLock();
  const store = openSqliteStore(path, undefined, { threadLock: lock });
  store.sessions.add({ name: 's1', jarJson: '{"v":0}' });
  const writer = new JarWriter(path, lock);
  try {
    await writer.save('s1', '{"v":1}', 123, '{"v":0}');
    await writer.save('s1', '{"v":2}', 456, '{"v":1}');
    assert.equal(store.sessions.get('s1')!.jarJson, '{"v":2}');
    assert.equal(store.sessions.get('s1')!.tokenExpiresAt, 456);
    store.sessions.saveJar('s1', '{"imported":true}', undefined);
    await assert.rejects(writer.save('s1', '{"v":3}', 789, '{"v":2}'), SupersededJarError);
    assert.equal(store.sessions.get('s1')!.jarJson, '{"imported":true}');
  } finally {
    await writer.close();
    store.close();
  }
});

test('a cookie-saving thread that dies is replaced; later saves land', { timeout: 30_000 }, async () => {
  const path = join(tmp.dir, 'b.db');
  const lock = new ThreadLock();
  const store = openSqliteStore(path, undefined, { threadLock: lock });
  store.sessions.add({ name: 's1', jarJson: '{"v":0}' });
  const writer = new JarWriter(path, lock);
  try {
    await writer.crashOne();
    await writer.save('s1', '{"v":1}', undefined, '{"v":0}');
    assert.equal(store.sessions.get('s1')!.jarJson, '{"v":1}');
    assert.equal(writer.started, 2);
  } finally {
    await writer.close();
    store.close();
  }
});
