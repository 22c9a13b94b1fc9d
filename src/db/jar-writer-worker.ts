import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from './store.js';
import { ThreadLock } from './write-lock.js';

interface Save {
  id: number;
  name: string;
  jarJson: string;
  tokenExpiresAt: number | undefined;
  expected: string | undefined;
}

/**
 * The thread behind JarWriter. Saves that arrive while a commit is in progress are committed
 * together in the next transaction (group commit): one fsync for all of them, and each session
 * still has its own jar durable before it sends its next request.
 */
const data = workerData as { dbPath: string; lock: SharedArrayBuffer };
const store = openSqliteStore(data.dbPath, undefined, { threadLock: new ThreadLock(data.lock) });
let batch: Save[] = [];

function flush(): void {
  const saves = batch;
  batch = [];
  try {
    const saved = store.transaction(() => saves.map((m) => store.sessions.saveJar(m.name, m.jarJson, m.tokenExpiresAt, m.expected)));
    saves.forEach((m, i) => parentPort!.postMessage({ id: m.id, superseded: !saved[i] }));
  } catch (err) {
    for (const m of saves) parentPort!.postMessage({ id: m.id, error: (err as Error).message });
  }
}

parentPort!.on('message', (m: Save) => {
  if (batch.length === 0) setImmediate(flush);
  batch.push(m);
});
