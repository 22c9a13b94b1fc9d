import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { bigBook } from '../../test/fixtures/epub/big-book.js';
import { buildFromChapters } from './from-chapters.js';
import { buildFromPackage } from './from-package.js';
import { KINDLE_CSS } from './kindle.js';
import { PLACEHOLDER_SVG } from './placeholder.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('building books keeps nothing: every finished build is collectable and the heap does not grow', async () => {
  const book = bigBook({ chapters: 10, totalBytes: 2 * 1024 * 1024 });
  const chapterInput = book.chapterMode('kindle');
  const packageInput = book.packageMode('epub');
  const refs: WeakRef<object>[] = [];
  const round = async () => {
    for (const b of [buildFromChapters(chapterInput), buildFromPackage(packageInput)]) {
      refs.push(new WeakRef(b));
      for (const e of b.entries) refs.push(new WeakRef(e.data));
    }
    // WeakRefs keep their targets alive until the current job ends.
    await tick();
    gc();
    return process.memoryUsage().heapUsed;
  };
  for (let i = 0; i < 3; i++) await round();
  const baseline = await round();
  let last = baseline;
  for (let i = 0; i < 8; i++) last = await round();
  const reachable = () =>
    refs.filter((r) => {
      const v = r.deref();
      const shared = v === KINDLE_CSS || v === PLACEHOLDER_SVG || chapterInput.assets.some((a) => a.data === v) || packageInput.files.some((f) => f.data === v);
      return v !== undefined && !shared;
    }).length;
  // On a loaded machine one collection now and then leaves the last round's objects (seen in CI: a
  // collection can finish work begun before them); a leak keeps them through every one of these.
  let kept = Infinity;
  for (let i = 0; i < 5 && kept > 0; i++) {
    await tick();
    gc();
    await tick();
    kept = reachable();
  }
  assert.equal(kept, 0, `${kept} built objects are still reachable after 5 collections`);
  // A parsed chapter tree is several hundred kB; keeping one per round would add far more than
  // the few MB the JIT may still allocate on a busy machine.
  assert.ok(last - baseline < 8 * 1024 * 1024, `heap grew by ${((last - baseline) / 1048576).toFixed(1)} MB over 8 rounds`);
});
