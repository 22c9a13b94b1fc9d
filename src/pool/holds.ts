import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import type { Async } from '../db/async.js';
import type { SessionStore } from '../db/sessions.js';

/**
 * Session holds, negotiated here for the pool and for every command that uses a session on its
 * own, so that no two processes ever use one cookie jar (docs/ARCHITECTURE.md, threads and
 * processes: holds renewed every 10 s, lapsing after 2 min; both in src/config.ts, `Tuning['holds']`).
 */

/**
 * Where this process's pids mean something: the host name, and on Linux the pid namespace. Two
 * containers can share a host name and a data volume but not their pids; without the namespace
 * each would see the other's pid missing and take its jobs and sessions while it still works.
 */
function place(): string {
  try {
    const ns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
    return ns ? `${hostname()}/pidns-${ns}` : hostname();
  } catch {
    return hostname();
  }
}

const HERE = place();

/**
 * Who holds a lease or a session: `<host>[/pidns-N]:<pid>:<random>`. The random part tells two
 * processes with the same pid apart (one restarted under the same pid), so a process can see
 * that an owner in its own pid namespace is gone and take its work back at once instead of
 * waiting for leases to lapse.
 */
export function newOwner(): string {
  return `${HERE}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

const OWNER = /^(.+):(\d+):[0-9a-f]+$/;

/** True when `owner` ran where this process runs and no longer does. Elsewhere: never known. */
export function isGone(owner: string, self: string): boolean {
  if (owner === self) return false;
  const m = OWNER.exec(owner);
  if (!m || m[1] !== HERE) return false;
  const pid = Number(m[2]);
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function goneOwners(owners: Iterable<string>, self: string): string[] {
  return [...new Set(owners)].filter((o) => isGone(o, self));
}

export type HoldStore = Async<Pick<SessionStore, 'list' | 'hold' | 'dropHold'>>;

export interface HoldOptions {
  clock: Clock;
  /** This process's name as a holder (a new one when not given). */
  owner?: string;
  /** How long a hold lasts unless renewed. */
  holdMs: number;
  /** How often `keep` renews it (validated to be below holdMs). */
  renewMs: number;
  /**
   * Owners known to be gone, whose holds may be taken at once. Default: the holders of session
   * rows that ran here and stopped (a daemon adds its job leases' owners).
   */
  goneOwners?: () => Promise<readonly string[]>;
}

export interface Holds {
  readonly owner: string;
  readonly holdMs: number;
  /** Owners gone now; pass the same list to several `take`s of one round. */
  gone(): Promise<readonly string[]>;
  /** Takes or renews this owner's hold on `name`: true when it is free, already ours, lapsed or a gone owner's. */
  take(name: string, gone?: readonly string[]): Promise<boolean>;
  /** Gives up the hold; false when this owner did not hold it. */
  drop(name: string): Promise<boolean>;
  /**
   * Takes the hold and renews it every `renewMs` until the returned function is called (which
   * drops it); undefined when another live process holds the session. For commands that use a
   * session for longer than a moment. A renewal that fails (the store unreachable for a moment)
   * is tried again at the next tick; the hold lapses only if the store stays away for holdMs.
   */
  keep(name: string): Promise<(() => Promise<void>) | undefined>;
}

export function sessionHolds(store: HoldStore, opts: HoldOptions): Holds {
  const { clock } = opts;
  const owner = opts.owner ?? newOwner();
  const { holdMs, renewMs } = opts;
  const gone = async (): Promise<readonly string[]> =>
    opts.goneOwners
      ? opts.goneOwners()
      : goneOwners(
          (await store.list()).flatMap((s) => (s.holder ? [s.holder] : [])),
          owner,
        );
  const take = async (name: string, dead?: readonly string[]) => store.hold(name, owner, clock.now() + holdMs, dead ?? (await gone()));
  const drop = (name: string) => store.dropHold(name, owner);
  return {
    owner,
    holdMs,
    gone,
    take,
    drop,
    async keep(name) {
      if (!(await take(name))) return undefined;
      const stop = new AbortController();
      const renewing = (async () => {
        while (!stop.signal.aborted) {
          await clock.sleep(Math.min(renewMs, holdMs / 2), stop.signal);
          if (stop.signal.aborted) break;
          await take(name, []).catch(() => false);
        }
      })();
      return async () => {
        stop.abort();
        await renewing;
        await drop(name);
      };
    },
  };
}
