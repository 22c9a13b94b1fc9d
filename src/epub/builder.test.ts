import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../../test/helpers/cli.js';
import { readEpub, text } from '../../test/fixtures/epub/inspect.js';
import { BOOK_ID, chapterModeInput, sampleMeta } from '../../test/fixtures/epub/sample-book.js';
import { bigBook } from '../../test/fixtures/epub/big-book.js';
import { DEFAULT_TUNING } from '../config.js';
import { BookdError } from '../errors.js';
import { inlineBuilder, ThreadBuilder, type BookSource } from './builder.js';

const tmp = tempDir('bookd-builder-');
after(tmp.cleanup);

function source(): BookSource {
  const { format: _format, ...input } = chapterModeInput('epub');
  return { mode: 'chapters', input };
}

test('a build thread writes the same book the calling thread would', async () => {
  const builder = new ThreadBuilder(1);
  try {
    const threaded = await builder.write(source(), 'kindle', join(tmp.dir, 'threaded.epub'));
    const inline = await inlineBuilder.write(source(), 'kindle', join(tmp.dir, 'inline.epub'));
    assert.equal(threaded.chapters, inline.chapters);
    assert.deepEqual(threaded.gaps, inline.gaps);
    const a = readEpub(await readFile(join(tmp.dir, 'threaded.epub')));
    const b = readEpub(await readFile(join(tmp.dir, 'inline.epub')));
    assert.deepEqual(a.names, b.names);
    for (const [path, data] of b.files) if (!path.endsWith('.opf')) assert.equal(text(a.files.get(path)), text(data), path);
    assert.equal(threaded.bytes, (await readFile(join(tmp.dir, 'threaded.epub'))).byteLength);
    assert.equal(builder.rebuilt, 0, 'a small book fits the capped heap');
  } finally {
    await builder.close();
  }
});

test(
  "a book that outgrows the build thread's capped heap is built again without the cap, the same as on the calling thread",
  { timeout: 120_000 },
  async () => {
    // One 8 MB chapter: its parse tree alone is several times the default cap.
    const { format: _format, ...input } = bigBook({ chapters: 1, totalBytes: 16 << 20 }).chapterMode('epub');
    const big: BookSource = { mode: 'chapters', input };
    const builder = new ThreadBuilder(1, DEFAULT_TUNING.threads);
    try {
      const threaded = await builder.write(big, 'epub', join(tmp.dir, 'big-threaded.epub'));
      assert.equal(builder.rebuilt, 1);
      assert.equal(builder.started, 2, 'the capped thread and the one without the cap');
      const inline = await inlineBuilder.write(big, 'epub', join(tmp.dir, 'big-inline.epub'));
      assert.equal(threaded.sha256, inline.sha256);
      // The capped thread is back for the next book.
      await builder.write(source(), 'epub', join(tmp.dir, 'small-after.epub'));
      assert.equal(builder.rebuilt, 1);
    } finally {
      await builder.close();
    }
  },
);

test('an error in a build thread comes back with its class and errno code', async () => {
  const builder = new ThreadBuilder(1);
  try {
    await assert.rejects(builder.write(source(), 'epub', join(tmp.dir, 'no-such-dir', 'x.epub')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
    const noPackage: BookSource = { mode: 'package', input: { meta: sampleMeta(), bookId: BOOK_ID, files: [] } };
    await assert.rejects(
      builder.write(noPackage, 'epub', join(tmp.dir, 'empty.epub')),
      (err: unknown) => err instanceof BookdError && err.kind === 'permanent' && /no OPF/.test(err.message),
    );
  } finally {
    await builder.close();
  }
});

test('a build thread that dies fails what it held and is replaced; later builds succeed', { timeout: 30_000 }, async () => {
  const builder = new ThreadBuilder(1);
  try {
    const held = builder.write(source(), 'epub', join(tmp.dir, 'held.epub'));
    await builder.crashOne();
    await assert.rejects(
      held,
      (err: unknown) => err instanceof BookdError && err.kind === 'transient' && /the EPUB build thread stopped .*retried/.test(err.message),
    );
    const after = await builder.write(source(), 'epub', join(tmp.dir, 'after.epub'));
    assert.ok(after.bytes > 0);
    assert.equal(builder.started, 2);
  } finally {
    await builder.close();
  }
  await assert.rejects(builder.write(source(), 'epub', join(tmp.dir, 'closed.epub')), /closed/);
});
