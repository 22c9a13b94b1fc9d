import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on one of our modules. Built, the module is a `.js` next to the caller;
 * run from TypeScript sources (tests under tsx), the thread has to register tsx's loader itself
 * before it can import the `.ts` file.
 */
export function startWorker(caller: string, name: string, workerData: unknown, youngGenerationMb?: number): Worker {
  const fromSource = caller.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, caller);
  // V8 sizes a thread's young generation for throughput (16 MB semi-spaces and more): for a thread
  // that makes short-lived garbage in bursts, most of that is uncollected garbage kept resident.
  const resourceLimits = youngGenerationMb === undefined ? {} : { resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb } };
  return fromSource
    ? new Worker(`import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(entry.href)}))`, {
        eval: true,
        workerData,
        ...resourceLimits,
      })
    : new Worker(entry, { workerData, ...resourceLimits });
}
