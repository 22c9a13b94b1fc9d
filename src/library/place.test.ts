import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../../test/helpers/cli.js';
import { placeBook, removeFromLibrary } from './place.js';
import { stagedEpubPath } from './staging.js';

const tmp = tempDir('bookd-place-');
after(tmp.cleanup);

const meta = { id: '9781492056355', title: 'Fluent Python: 2nd Edition', authors: ['Luciano Ramalho'] };
const NAME = 'Fluent Python - 2nd Edition - Luciano Ramalho (9781492056355).epub';
let n = 0;

async function stage(lib: string, content: string): Promise<string> {
  const file = stagedEpubPath(lib, `${meta.id}-${++n}`, 'epub', 'test');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
  return file;
}
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test('placeBook: renamed into <first skill>/<name>, hard-linked into the other skills, staged file gone', async () => {
  const lib = join(tmp.dir, 'a');
  const staged = await stage(lib, 'epub bytes v1');
  const placed = await placeBook({ libraryRoot: lib, staged, meta, format: 'epub', skills: ['Python', 'Data Science', 'Python'] });
  assert.deepEqual(placed, { path: `Python/${NAME}`, links: [`Data Science/${NAME}`], sha256: sha('epub bytes v1'), bytes: 13, skipped: false, stale: [] });
  assert.equal(existsSync(staged), false);
  const main = await stat(join(lib, placed.path));
  const link = await stat(join(lib, placed.links[0]!));
  assert.equal(main.ino, link.ino, 'a hard link, not a copy');
  assert.equal(await readFile(join(lib, placed.path), 'utf8'), 'epub bytes v1');
});

test('placeBook: with no skill the book goes to Uncategorised; the kindle variant gets its own name', async () => {
  const lib = join(tmp.dir, 'b');
  const placed = await placeBook({ libraryRoot: lib, staged: await stage(lib, 'k'), meta, format: 'kindle', skills: [] });
  assert.equal(placed.path, `Uncategorised/${NAME.replace(/\.epub$/, '.kindle.epub')}`);
  assert.deepEqual(placed.links, []);
});

test('placeBook: across file systems (EXDEV) the other skills get a relative symlink', async () => {
  const lib = join(tmp.dir, 'c');
  const exdev = () => Promise.reject(Object.assign(new Error('cross-device link'), { code: 'EXDEV' }));
  const placed = await placeBook({ libraryRoot: lib, staged: await stage(lib, 'x'), meta, format: 'epub', skills: ['Python', 'Go'], link: exdev });
  const at = join(lib, placed.links[0]!);
  assert.ok((await lstat(at)).isSymbolicLink());
  assert.equal(await readlink(at), `../Python/${NAME}`);
  assert.equal(await readFile(at, 'utf8'), 'x');
  const other = () => Promise.reject(Object.assign(new Error('disk on fire'), { code: 'EIO' }));
  await assert.rejects(
    placeBook({ libraryRoot: lib, staged: await stage(lib, 'y'), meta, format: 'epub', skills: ['Python', 'Rust'], link: other }),
    /disk on fire/,
  );
});

test('placeBook: the same content already archived is skipped (staged file deleted) unless forced', async () => {
  const lib = join(tmp.dir, 'd');
  const first = await placeBook({ libraryRoot: lib, staged: await stage(lib, 'same'), meta, format: 'epub', skills: ['Python'] });
  const before = await stat(join(lib, first.path));
  const again = await stage(lib, 'same');
  const second = await placeBook({
    libraryRoot: lib,
    staged: again,
    meta,
    format: 'epub',
    skills: ['Python', 'Go'],
    previous: { path: first.path, sha256: first.sha256 },
  });
  assert.equal(second.skipped, true);
  assert.equal(second.path, first.path);
  assert.deepEqual(second.links, [`Go/${NAME}`], 'a skill added later still gets its link');
  assert.equal(existsSync(again), false);
  assert.equal((await stat(join(lib, first.path))).ino, before.ino, 'the archived file was not touched');
  const forced = await placeBook({
    libraryRoot: lib,
    staged: await stage(lib, 'same'),
    meta,
    format: 'epub',
    skills: ['Python'],
    previous: first,
    force: true,
  });
  assert.equal(forced.skipped, false);
  assert.notEqual((await stat(join(lib, first.path))).ino, before.ino);
});

test('placeBook: the previous file gone or different → written again; a renamed book leaves no stale copies', async () => {
  const lib = join(tmp.dir, 'e');
  const old = await placeBook({
    libraryRoot: lib,
    staged: await stage(lib, 'v1'),
    meta: { ...meta, title: 'Old Title' },
    format: 'epub',
    skills: ['Python', 'Go'],
  });
  const placed = await placeBook({
    libraryRoot: lib,
    staged: await stage(lib, 'v2'),
    meta,
    format: 'epub',
    skills: ['Python', 'Go'],
    previous: { path: old.path, sha256: old.sha256 },
  });
  assert.equal(placed.skipped, false);
  assert.deepEqual(placed.stale.sort(), [old.path, ...old.links].sort(), 'the old name and its links are stale');
  assert.equal((await readdir(join(lib, 'Python'))).length, 2, 'left in place until the catalogue names the new file');
  await writeFile(join(tmp.dir, 'outside-e.epub'), 'not the library');
  await removeFromLibrary(lib, [...placed.stale, '../outside-e.epub']);
  assert.deepEqual(await readdir(join(lib, 'Python')), [NAME]);
  assert.equal(await readFile(join(tmp.dir, 'outside-e.epub'), 'utf8'), 'not the library', 'nothing outside the library is removed');
  assert.deepEqual(await readdir(join(lib, 'Go')), [NAME]);
  assert.equal((await stat(join(lib, 'Go', NAME))).ino, (await stat(join(lib, 'Python', NAME))).ino);
  const v3 = await placeBook({
    libraryRoot: lib,
    staged: await stage(lib, 'v3'),
    meta,
    format: 'epub',
    skills: ['Python', 'Go'],
    previous: { path: placed.path, sha256: placed.sha256 },
  });
  assert.equal(await readFile(join(lib, 'Go', NAME), 'utf8'), 'v3', 'the link in the other skill follows the new content');
  assert.equal(v3.sha256, sha('v3'));
  const gone = await placeBook({
    libraryRoot: lib,
    staged: await stage(lib, 'v3'),
    meta,
    format: 'epub',
    skills: ['Python'],
    previous: { path: 'Python/not-there.epub', sha256: sha('v3') },
  });
  assert.equal(gone.skipped, false);
});

test('placeBook: nothing resolves outside the library', async () => {
  const lib = join(tmp.dir, 'f');
  const outside = join(tmp.dir, 'outside');
  await mkdir(outside, { recursive: true });
  const evil = await placeBook({
    libraryRoot: lib,
    staged: await stage(lib, 'e'),
    meta: { id: '../../../x', title: '../../../../etc/passwd', authors: ['..'] },
    format: 'epub',
    skills: ['../../..', '/etc'],
  });
  assert.ok(!evil.path.startsWith('..') && !evil.path.startsWith('/'), evil.path);
  assert.deepEqual(await readdir(outside), []);
  const strayFile = join(tmp.dir, 'stray.epub');
  await writeFile(strayFile, 'not in staging');
  await assert.rejects(placeBook({ libraryRoot: lib, staged: strayFile, meta, format: 'epub', skills: ['Python'] }), /outside the library/);
  await symlink(outside, join(lib, 'Escape'));
  await assert.rejects(placeBook({ libraryRoot: lib, staged: await stage(lib, 's'), meta, format: 'epub', skills: ['Escape'] }), /outside the library/);
  await assert.rejects(
    placeBook({ libraryRoot: lib, staged: await stage(lib, 's'), meta, format: 'epub', skills: ['Python', 'Escape'] }),
    /outside the library/,
  );
  await assert.rejects(
    placeBook({
      libraryRoot: lib,
      staged: await stage(lib, 's'),
      meta,
      format: 'epub',
      skills: ['Python'],
      previous: { path: '../outside/x.epub', sha256: sha('s') },
    }),
    /outside the library/,
  );
  assert.deepEqual(await readdir(outside), []);
});

test('placeBook keepPrevious: the replaced file stays beside the new one as "(rev N)", N its revision; an unchanged book keeps nothing', async () => {
  const lib = join(tmp.dir, 'keep');
  const skills = ['Python', 'Go'];
  const v1 = await placeBook({ libraryRoot: lib, staged: await stage(lib, 'edition 1'), meta, format: 'epub', skills });
  const v2 = await placeBook({
    libraryRoot: lib,
    staged: await stage(lib, 'edition 2, grown'),
    meta,
    format: 'epub',
    skills,
    previous: { ...v1, revision: 1 },
    keepPrevious: true,
  });
  const rev1 = `Python/${NAME.replace(/\.epub$/, ' (rev 1).epub')}`;
  assert.equal(v2.kept, rev1);
  assert.equal(v2.path, v1.path);
  assert.equal(await readFile(join(lib, v2.path), 'utf8'), 'edition 2, grown');
  assert.equal(await readFile(join(lib, 'Go', NAME), 'utf8'), 'edition 2, grown', "the other skill's copy is the new one too");
  assert.equal(await readFile(join(lib, rev1), 'utf8'), 'edition 1');

  const same = await placeBook({
    libraryRoot: lib,
    staged: await stage(lib, 'edition 2, grown'),
    meta,
    format: 'epub',
    skills,
    previous: { ...v2, revision: 2 },
    keepPrevious: true,
  });
  assert.equal(same.skipped, true);
  assert.equal(same.kept, undefined);

  // Where the folder refuses hard links, the old file is copied instead.
  const eperm = () => Promise.reject(Object.assign(new Error('not permitted'), { code: 'EPERM' }));
  const v3 = await placeBook({
    libraryRoot: lib,
    staged: await stage(lib, 'edition 3'),
    meta,
    format: 'kindle',
    skills: [],
    link: eperm,
    previous: { ...(await placeBook({ libraryRoot: lib, staged: await stage(lib, 'kindle 1'), meta, format: 'kindle', skills: [] })), revision: 4 },
    keepPrevious: true,
  });
  assert.equal(v3.kept, `Uncategorised/${NAME.replace(/\.epub$/, ' (rev 4).kindle.epub')}`);
  assert.equal(await readFile(join(lib, v3.kept), 'utf8'), 'kindle 1');
  assert.equal(await readFile(join(lib, v3.path), 'utf8'), 'edition 3');
  assert.deepEqual((await readdir(join(lib, 'Python'))).sort(), [NAME, NAME.replace(/\.epub$/, ' (rev 1).epub')].sort(), 'no temporary names left behind');
});
