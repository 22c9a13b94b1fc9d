import type pg from 'pg';
import type { Clock } from '../../clock.js';
import type { Async } from '../async.js';
import { toBudgetRow, type BudgetStore, type BudgetTableRow } from '../budget.js';
import { run } from './statement.js';

/** Every statement of the PostgreSQL budget store, the rules of sqliteBudgetStore (src/db/budget.ts). */
const SQL = {
  get: { name: 'budget-get', text: 'SELECT * FROM budget WHERE scope = $1' },
  list: { name: 'budget-list', text: 'SELECT * FROM budget ORDER BY scope COLLATE "C"' },
  // The latest decision wins, whichever host stores it last.
  saveRate: {
    name: 'budget-save-rate',
    text: `INSERT INTO budget (scope, rate, reason, changed_at, updated_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (scope) DO UPDATE SET rate = excluded.rate, reason = excluded.reason, changed_at = excluded.changed_at, updated_at = excluded.updated_at
           WHERE excluded.changed_at >= budget.changed_at`,
  },
  ensure: {
    name: 'budget-ensure',
    text: `INSERT INTO budget (scope, rate, reason, changed_at, updated_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (scope) DO NOTHING`,
  },
  saveEdge: {
    name: 'budget-save-edge',
    text: 'UPDATE budget SET edge_until = greatest(coalesce(edge_until, 0), $2), edge_strikes = $3, updated_at = $4 WHERE scope = $1',
  },
} as const;

/** The shared request budget on PostgreSQL: one row per scope, as sqliteBudgetStore keeps it. */
export function pgBudgetStore(pool: pg.Pool, deps: { clock: Clock }): Async<BudgetStore> {
  const { clock } = deps;
  const get = async (scope: string) => {
    const r = (await run<BudgetTableRow>(pool, SQL.get, [scope])).rows[0];
    return r && toBudgetRow(r);
  };
  return {
    get,
    async list() {
      return (await run<BudgetTableRow>(pool, SQL.list, [])).rows.map(toBudgetRow);
    },
    async saveRate(scope, rate, reason, changedAt) {
      await run(pool, SQL.saveRate, [scope, rate, reason, changedAt, clock.now()]);
    },
    async ensure(scope, rate, reason, changedAt) {
      await run(pool, SQL.ensure, [scope, rate, reason, changedAt, clock.now()]);
      // A statement of its own, so its snapshot sees the row whoever inserted it (another host
      // may have won the insert after the one above took its snapshot). Rows are never deleted.
      return (await get(scope))!;
    },
    async saveEdge(scope, until, strikes) {
      await run(pool, SQL.saveEdge, [scope, until, strikes, clock.now()]);
    },
  };
}
