import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { WriteTransaction } from './write-lock.js';

/**
 * The machine's request budget as the daemons of one machine share it (docs/SERVICE.md §4): the
 * rate they split between them, why it last moved, and the edge's pause of everyone behind the
 * address. One row per scope (the host).
 */
export interface BudgetRow {
  scope: string;
  /** Requests per second for the whole machine. */
  rate: number;
  /** Why the rate last moved, one sentence for the operator. */
  reason: string;
  changedAt: number;
  /** Every session of the machine waits until then (the edge refused it). */
  edgeUntil: number | undefined;
  /** Refusals in the current edge episode: each one doubles the next pause. */
  edgeStrikes: number;
  updatedAt: number;
}

export interface BudgetStore {
  get(scope: string): BudgetRow | undefined;
  list(): BudgetRow[];
  /** Records a new rate unless a later decision is already stored (the latest decision wins). */
  saveRate(scope: string, rate: number, reason: string, changedAt: number): void;
  /** Creates the row with this rate unless it exists; returns the row as stored. */
  ensure(scope: string, rate: number, reason: string, changedAt: number): BudgetRow;
  /** Records an edge pause on an existing row; a shorter pause never replaces a longer one. */
  saveEdge(scope: string, until: number, strikes: number): void;
}

/** A `budget` row as both backends return it (the same columns and types). */
export interface BudgetTableRow {
  scope: string;
  rate: number;
  reason: string;
  changed_at: number;
  edge_until: number | null;
  edge_strikes: number;
  updated_at: number;
}

export const toBudgetRow = (r: BudgetTableRow): BudgetRow => ({
  scope: r.scope,
  rate: r.rate,
  reason: r.reason,
  changedAt: r.changed_at,
  edgeUntil: r.edge_until ?? undefined,
  edgeStrikes: r.edge_strikes,
  updatedAt: r.updated_at,
});

export function sqliteBudgetStore(db: Database, deps: { clock: Clock; tx: WriteTransaction }): BudgetStore {
  const { clock, tx } = deps;
  const s = {
    get: db.prepare<[string], BudgetTableRow>('SELECT * FROM budget WHERE scope = ?'),
    list: db.prepare<[], BudgetTableRow>('SELECT * FROM budget ORDER BY scope'),
    saveRate: db.prepare(
      `INSERT INTO budget (scope, rate, reason, changed_at, updated_at) VALUES (@scope, @rate, @reason, @changedAt, @now)
       ON CONFLICT (scope) DO UPDATE SET rate = excluded.rate, reason = excluded.reason, changed_at = excluded.changed_at, updated_at = excluded.updated_at
       WHERE excluded.changed_at >= budget.changed_at`,
    ),
    ensure: db.prepare(
      `INSERT INTO budget (scope, rate, reason, changed_at, updated_at) VALUES (@scope, @rate, @reason, @changedAt, @now)
       ON CONFLICT (scope) DO NOTHING`,
    ),
    saveEdge: db.prepare(
      `UPDATE budget SET edge_until = max(coalesce(edge_until, 0), @until), edge_strikes = @strikes, updated_at = @now
       WHERE scope = @scope`,
    ),
  };
  return {
    get: (scope) => {
      const r = s.get.get(scope);
      return r && toBudgetRow(r);
    },
    list: () => s.list.all().map(toBudgetRow),
    saveRate: tx((scope: string, rate: number, reason: string, changedAt: number) => {
      s.saveRate.run({ scope, rate, reason, changedAt, now: clock.now() });
    }),
    ensure: tx((scope: string, rate: number, reason: string, changedAt: number) => {
      s.ensure.run({ scope, rate, reason, changedAt, now: clock.now() });
      return toBudgetRow(s.get.get(scope)!);
    }),
    saveEdge: tx((scope: string, until: number, strikes: number) => {
      s.saveEdge.run({ scope, until, strikes, now: clock.now() });
    }),
  };
}
