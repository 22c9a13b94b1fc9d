/**
 * A store's operations as every backend serves them: each returns a promise. SQLite answers at
 * once (better-sqlite3 is synchronous, each operation one transaction); PostgreSQL answers over
 * the network. The synchronous interfaces (JobStore, …) list the operations and their rules; the
 * rest of bookd sees them only through this type, so a second backend is an addition.
 */
export type Async<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/**
 * A synchronous implementation served as promises. A throw becomes a rejection, never an
 * exception at the call, so callers handle both backends' failures the same way.
 */
export function promised<T extends object>(impl: T): Async<T> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(impl) as (keyof T & string)[]) {
    const fn = impl[key];
    if (typeof fn !== 'function') continue;
    // The executor's throw becomes the promise's rejection.
    out[key] = (...args: unknown[]) => new Promise((resolve) => resolve((fn as (...a: unknown[]) => unknown).apply(impl, args)));
  }
  return out as Async<T>;
}
