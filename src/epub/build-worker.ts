import { parentPort } from 'node:worker_threads';
import type { Format } from './model.js';
import { buildAndWrite, toWire, type BookSource } from './builder.js';

/** The thread behind ThreadBuilder: builds and writes one EPUB per message. */
parentPort!.on('message', (m: { id: number; source: BookSource; format: Format; file: string }) => {
  buildAndWrite(m.source, m.format, m.file).then(
    (result) => parentPort!.postMessage({ id: m.id, result }),
    (err: unknown) => parentPort!.postMessage({ id: m.id, error: toWire(err) }),
  );
});
