import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from './store.js';

/** The thread behind JarWriter: one connection, one prepared UPDATE per save, in order. */
const store = openStore((workerData as { dbPath: string }).dbPath);
parentPort!.on('message', (m: { id: number; name: string; jarJson: string; tokenExpiresAt: number | undefined }) => {
  try {
    store.sessions.saveJar(m.name, m.jarJson, m.tokenExpiresAt);
    parentPort!.postMessage({ id: m.id });
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: (err as Error).message });
  }
});
