import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on one of our modules. Built, the module is a `.js` next to the caller;
 * run from TypeScript sources (tests under tsx), the thread has to register tsx's loader itself
 * before it can import the `.ts` file.
 */
export function startWorker(caller: string, name: string, workerData: unknown): Worker {
  const fromSource = caller.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, caller);
  return fromSource
    ? new Worker(`import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(entry.href)}))`, { eval: true, workerData })
    : new Worker(entry, { workerData });
}
