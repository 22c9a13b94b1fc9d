import type { Async } from '../async.js';
import { SupersededJarError } from '../../errors.js';
import type { JarSaver } from '../../pool/pool.js';
import type { SessionStore } from '../sessions.js';

/**
 * The pool's jar saves on PostgreSQL. Each save is a compare-and-swap on the jar the previous one
 * stored, and the pool may save again before the previous save has answered (a response that
 * rotates the token while the last rotation is still on the wire). On a pool of connections two
 * such saves could run on two connections and commit out of order, and the later jar would then
 * be refused as superseded. So the saves of one session wait for each other, in call order;
 * those of different sessions run at once. `close` waits for every save asked for, so the store
 * is never closed under a rotated token that is still on its way to the database.
 */
export function pgJarSaver(sessions: Pick<Async<SessionStore>, 'saveJar'>): JarSaver & { close(): Promise<void> } {
  /** The last save asked for, per session, while one is in flight. */
  const tails = new Map<string, Promise<void>>();
  return {
    save(name, jarJson, tokenExpiresAt, expected) {
      const previous = tails.get(name) ?? Promise.resolve();
      // A failed save does not stop the next one: its compare-and-swap decides on its own.
      const mine = previous
        .catch(() => undefined)
        .then(async () => {
          if (!(await sessions.saveJar(name, jarJson, tokenExpiresAt, expected))) throw new SupersededJarError(name);
        });
      tails.set(name, mine);
      const forget = () => {
        if (tails.get(name) === mine) tails.delete(name);
      };
      mine.then(forget, forget);
      return mine;
    },
    async close() {
      // A save asked for while waiting joins the map; wait until none is left.
      while (tails.size > 0) await Promise.allSettled([...tails.values()]);
    },
  };
}
