import { Worker } from 'node:worker_threads';

/** A thread's V8 heap limits (Worker resourceLimits), MB; unset ones are V8's own. */
export interface HeapLimits {
  youngGenerationMb?: number | undefined;
  oldGenerationMb?: number | undefined;
}

/**
 * Starts a worker thread on one of our modules. Built, the module is a `.js` next to the caller;
 * run from TypeScript sources (tests under tsx), the thread has to register tsx's loader itself
 * before it can import the `.ts` file.
 */
export function startWorker(caller: string, name: string, workerData: unknown, limits: HeapLimits = {}): Worker {
  const fromSource = caller.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, caller);
  // V8 sizes a thread's young generation for throughput (16 MB semi-spaces and more): for a thread
  // that makes short-lived garbage in bursts, most of that is uncollected garbage kept resident.
  // A cap on the old generation makes V8 collect before its heap grows past it, instead of when
  // the heap has grown well beyond what is alive; a thread that needs more than the cap is
  // stopped by Node with ERR_WORKER_OUT_OF_MEMORY, which the caller must be ready for.
  const resourceLimits = {
    resourceLimits: {
      ...(limits.youngGenerationMb === undefined ? {} : { maxYoungGenerationSizeMb: limits.youngGenerationMb }),
      ...(limits.oldGenerationMb === undefined ? {} : { maxOldGenerationSizeMb: limits.oldGenerationMb }),
    },
  };
  return fromSource
    ? new Worker(`import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(entry.href)}))`, {
        eval: true,
        workerData,
        ...resourceLimits,
      })
    : new Worker(entry, { workerData, ...resourceLimits });
}
