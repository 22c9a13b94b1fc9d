import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who holds a lease or a session: `<host>:<pid>:<random>`. The random part tells two processes
 * with the same pid apart (a container restarted as pid 1), so a process can see that an owner
 * on its own host is gone and take its work back at once instead of waiting for leases to lapse.
 */
export function newOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

const OWNER = /^(.+):(\d+):[0-9a-f]+$/;

/** True when `owner` ran on this host and its process no longer does. Other hosts: never known. */
export function isGone(owner: string, self: string): boolean {
  if (owner === self) return false;
  const m = OWNER.exec(owner);
  if (!m || m[1] !== hostname()) return false;
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
