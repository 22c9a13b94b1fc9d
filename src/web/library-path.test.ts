import assert from 'node:assert/strict';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/cli.js';
import { libraryFile } from './library-path.js';

test('only files that really are inside the library are found', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const root = join(dir, 'library');
    mkdirSync(join(root, 'Go'), { recursive: true });
    writeFileSync(join(root, 'Go', 'a.epub'), 'a');
    writeFileSync(join(dir, 'secret'), 's');
    symlinkSync(join(dir, 'secret'), join(root, 'Go', 'out.epub'));
    symlinkSync(join(root, 'Go', 'a.epub'), join(root, 'in.epub'));
    const real = realpathSync(root);
    assert.equal(await libraryFile(root, 'Go/a.epub'), join(real, 'Go', 'a.epub'));
    assert.equal(await libraryFile(root, 'in.epub'), join(real, 'Go', 'a.epub'), 'a link that stays inside is followed');
    for (const bad of [
      '../secret',
      'Go/../../secret',
      '/etc/passwd',
      join(dir, 'secret'),
      'Go/out.epub',
      'Go//a.epub',
      'Go/a.epub\u0000',
      'Go\\a.epub',
      '',
      'missing.epub',
      'Go',
    ]) {
      assert.equal(await libraryFile(root, bad), undefined, JSON.stringify(bad));
    }
    assert.equal(await libraryFile(join(dir, 'nowhere'), 'Go/a.epub'), undefined, 'no library, no file');
  } finally {
    cleanup();
  }
});
