import { hostname } from 'node:os';
import type pg from 'pg';
import type { Clock } from '../../clock.js';
import type { Async } from '../async.js';
import type { DaemonRecord, PauseState, QueueControl } from '../control.js';
import { run } from './statement.js';
import { JOBS_CHANNEL } from './wake.js';

interface DaemonRow {
  owner: string;
  pid: number;
  host: string;
  started_at: number;
  seen_at: number;
  note: string | null;
}

/** Every statement of the PostgreSQL queue control, the rules of sqliteQueueControl (src/db/control.ts). */
const SQL = {
  pause: {
    name: 'control-pause',
    text: 'UPDATE queue_control SET paused = true, reason = $1, since = CASE WHEN paused THEN since ELSE $2 END WHERE id = 1',
  },
  // The claim statement reads the switch (src/db/pg/jobs.ts), so idle workers on every host must
  // look again now rather than at their next poll: the NOTIFY is delivered when this commits.
  resume: {
    name: 'control-resume',
    text: `WITH resumed AS (UPDATE queue_control SET paused = false, reason = NULL, since = NULL WHERE id = 1 RETURNING id)
           SELECT pg_notify($1, 'resumed') FROM resumed`,
  },
  state: { name: 'control-state', text: 'SELECT paused, reason, since FROM queue_control WHERE id = 1' },
  beat: {
    name: 'control-daemon-beat',
    text: `INSERT INTO daemons (owner, pid, host, started_at, seen_at, note) VALUES ($1, $2, $3, $4, $4, $5)
           ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at, note = excluded.note`,
  },
  gone: { name: 'control-daemon-gone', text: 'DELETE FROM daemons WHERE owner = $1' },
  daemons: { name: 'control-daemons', text: 'SELECT * FROM daemons ORDER BY started_at, owner COLLATE "C"' },
} as const;

export interface PgQueueControlDeps {
  clock: Clock;
  /** This process, as its daemon rows name it (defaults: process.pid, os.hostname()). */
  pid?: number;
  host?: string;
  /** The channel idle workers listen on (wake.ts); resume NOTIFYs it. */
  channel?: string;
}

/** The operator's pause switch and the daemons' announcements on PostgreSQL, shared by every host. */
export function pgQueueControl(pool: pg.Pool, deps: PgQueueControlDeps): Async<QueueControl> {
  const { clock } = deps;
  const pid = deps.pid ?? process.pid;
  const host = deps.host ?? hostname();
  const channel = deps.channel ?? JOBS_CHANNEL;
  return {
    async pause(reason) {
      await run(pool, SQL.pause, [reason ?? null, clock.now()]);
    },
    async resume() {
      await run(pool, SQL.resume, [channel]);
    },
    async state(): Promise<PauseState> {
      const row = (await run<{ paused: boolean; reason: string | null; since: number | null }>(pool, SQL.state, [])).rows[0];
      return { paused: row?.paused === true, reason: row?.reason ?? undefined, since: row?.since ?? undefined };
    },
    async daemonBeat(owner, note) {
      await run(pool, SQL.beat, [owner, pid, host, clock.now(), note ?? null]);
    },
    async daemonGone(owner) {
      await run(pool, SQL.gone, [owner]);
    },
    async daemons(): Promise<DaemonRecord[]> {
      return (await run<DaemonRow>(pool, SQL.daemons, [])).rows.map((r) => ({
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
