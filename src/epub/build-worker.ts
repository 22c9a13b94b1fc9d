import { parentPort } from 'node:worker_threads';
import type { Format } from './model.js';
import { buildAndWrite, toWire, type BookSource } from './builder.js';

/**
 * The thread behind ThreadBuilder: builds and writes one EPUB per message, one after the other,
 * so only one book's bytes are ever in this thread's memory at once.
 */
let queue: Promise<unknown> = Promise.resolve();
parentPort!.on('message', (m: { id: number; source: BookSource; format: Format; file: string }) => {
  queue = queue.then(() =>
    buildAndWrite(m.source, m.format, m.file).then(
      (result) => parentPort!.postMessage({ id: m.id, result }),
      (err: unknown) => parentPort!.postMessage({ id: m.id, error: toWire(err) }),
    ),
  );
});
