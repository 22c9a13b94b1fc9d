import { hostname } from 'node:os';
import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { WriteTransaction } from './write-lock.js';

export interface PauseState {
  paused: boolean;
  reason: string | undefined;
  since: number | undefined;
}

export interface DaemonRecord {
  owner: string;
  pid: number;
  host: string;
  startedAt: number;
  seenAt: number;
  /** What the daemon is doing, e.g. "claiming paused: no usable session". */
  note: string | undefined;
}

/** The operator's pause switch, and the daemons' own announcements for `bookd status`. */
export interface QueueControl {
  pause(reason?: string): void;
  resume(): void;
  state(): PauseState;
  daemonBeat(owner: string, note?: string): void;
  daemonGone(owner: string): void;
  daemons(): DaemonRecord[];
}

interface DaemonRow {
  owner: string;
  pid: number;
  host: string;
  started_at: number;
  seen_at: number;
  note: string | null;
}

export function sqliteQueueControl(db: Database, deps: { clock: Clock; tx: WriteTransaction; pid?: number; host?: string }): QueueControl {
  const { clock, tx } = deps;
  const pid = deps.pid ?? process.pid;
  const host = deps.host ?? hostname();
  const s = {
    pause: db.prepare('UPDATE queue_control SET paused = 1, reason = @reason, since = CASE WHEN paused = 1 THEN since ELSE @now END WHERE id = 1'),
    resume: db.prepare('UPDATE queue_control SET paused = 0, reason = NULL, since = NULL WHERE id = 1'),
    state: db.prepare<[], { paused: number; reason: string | null; since: number | null }>('SELECT paused, reason, since FROM queue_control WHERE id = 1'),
    beat: db.prepare(
      `INSERT INTO daemons (owner, pid, host, started_at, seen_at, note) VALUES (@owner, @pid, @host, @now, @now, @note)
       ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at, note = excluded.note`,
    ),
    gone: db.prepare('DELETE FROM daemons WHERE owner = ?'),
    daemons: db.prepare<[], DaemonRow>('SELECT * FROM daemons ORDER BY started_at, owner'),
  };

  return {
    pause: tx((reason?: string) => {
      s.pause.run({ reason: reason ?? null, now: clock.now() });
    }),
    resume: tx(() => {
      s.resume.run();
    }),
    state() {
      const row = s.state.get();
      return { paused: row?.paused === 1, reason: row?.reason ?? undefined, since: row?.since ?? undefined };
    },
    daemonBeat: tx((owner: string, note?: string) => {
      s.beat.run({ owner, pid, host, now: clock.now(), note: note ?? null });
    }),
    daemonGone: tx((owner: string) => {
      s.gone.run(owner);
    }),
    daemons() {
      return s.daemons.all().map((r) => ({
        owner: r.owner,
        pid: r.pid,
        host: r.host,
        startedAt: r.started_at,
        seenAt: r.seen_at,
        note: r.note ?? undefined,
      }));
    },
  };
}
