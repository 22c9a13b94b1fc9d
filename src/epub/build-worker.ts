import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import type { Format } from './model.js';
import { buildAndWrite } from './build.js';
import { toWire, type BookSource } from './builder.js';

// A build leaves tens of MB of garbage in the old generation (its trees outlive the young
// generation's collections), which V8 collects only once the heap has grown well past it; builds
// back to back then hold two or three books' garbage at once. Collected when the queue empties,
// the heap is back to its few MB of code and modules before the next book comes (measured with
// the scaling bench's --node-args --trace-gc). It blocks only this thread.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/**
 * The thread behind ThreadBuilder: builds and writes one EPUB per message, one after the other,
 * so only one book's bytes are ever in this thread's memory at once.
 */
let queue: Promise<unknown> = Promise.resolve();
let waiting = 0;
parentPort!.on('message', (m: { id: number; source: BookSource; format: Format; file: string }) => {
  waiting++;
  queue = queue.then(async () => {
    try {
      const result = await buildAndWrite(m.source, m.format, m.file);
      parentPort!.postMessage({ id: m.id, result });
    } catch (err) {
      parentPort!.postMessage({ id: m.id, error: toWire(err) });
    }
    if (--waiting === 0) collect();
  });
});
