import { parentPort } from 'node:worker_threads';
import type { Format } from './model.js';
import { buildAndWrite } from './build.js';
import { toWire, type BookSource } from './builder.js';

/**
 * The thread behind ThreadBuilder: builds and writes one EPUB per message, one after the other,
 * so only one book's bytes are ever in this thread's memory at once. Its heap is bounded by the
 * old-generation cap it is started with (src/epub/builder.ts), not by collecting after each book:
 * a forced full collection cost about a quarter of a second of CPU per book (the build itself
 * about half a second), measured with the scaling bench's build thread.
 */
let queue: Promise<unknown> = Promise.resolve();
parentPort!.on('message', (m: { id: number; source: BookSource; format: Format; file: string }) => {
  queue = queue.then(async () => {
    try {
      const result = await buildAndWrite(m.source, m.format, m.file);
      parentPort!.postMessage({ id: m.id, result });
    } catch (err) {
      parentPort!.postMessage({ id: m.id, error: toWire(err) });
    }
  });
});
