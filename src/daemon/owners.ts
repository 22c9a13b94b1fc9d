import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

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
