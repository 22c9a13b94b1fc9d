// The machine's shared request budget, the same cases against every backend (issue 14): the rules
// of BudgetStore (src/db/budget.ts) as the daemon uses them (src/daemon/daemon.ts: ensure, then
// saveRate when its decision is later, saveEdge when its pause is longer).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_BACKENDS, postgresStores, type StoreBackend } from '../../test/helpers/store-backends.js';

for (const kind of STORE_BACKENDS) {
  describe(`budget store on ${kind.name}`, () => {
    const opened: StoreBackend[] = [];
    after(async () => {
      for (const b of opened) await b.close();
      await kind.done();
    });
    if (kind.name === 'postgres') severalHosts();
    async function setup(): Promise<StoreBackend> {
      const b = await kind.open();
      opened.push(b);
      return b;
    }

    test('ensure creates the row once and returns it as stored', async () => {
      const { budget, clock } = await setup();
      assert.equal(await budget.get('host-a'), undefined);
      const first = await budget.ensure('host-a', 2.5, 'the default rate', 1000);
      assert.deepEqual(first, {
        scope: 'host-a',
        rate: 2.5,
        reason: 'the default rate',
        changedAt: 1000,
        edgeUntil: undefined,
        edgeStrikes: 0,
        updatedAt: clock.now(),
      });
      clock.advance(10);
      const again = await budget.ensure('host-a', 9, 'another daemon of the machine', 5000);
      assert.deepEqual(again, first, 'a row that exists is not changed');
      assert.deepEqual(await budget.get('host-a'), first);
    });

    test('saveRate: the latest decision wins, an older one is ignored', async () => {
      const { budget, clock } = await setup();
      await budget.saveRate('host-a', 2, 'started', 1000);
      clock.advance(5);
      await budget.saveRate('host-a', 1, 'the service answered 429', 3000);
      await budget.saveRate('host-a', 4, 'a stale decision', 2000);
      const row = (await budget.get('host-a'))!;
      assert.deepEqual([row.rate, row.reason, row.changedAt, row.updatedAt], [1, 'the service answered 429', 3000, clock.now()]);
      await budget.saveRate('host-a', 1.5, 'same moment, stored later', 3000);
      assert.equal((await budget.get('host-a'))!.rate, 1.5, 'an equal time replaces');
    });

    test('saveEdge: only on an existing row, and a shorter pause never replaces a longer one', async () => {
      const { budget } = await setup();
      await budget.saveEdge('nobody', 9000, 1);
      assert.equal(await budget.get('nobody'), undefined);
      await budget.ensure('host-a', 2, 'default', 0);
      await budget.saveEdge('host-a', 10_000, 1);
      await budget.saveEdge('host-a', 8000, 2);
      const row = (await budget.get('host-a'))!;
      assert.equal(row.edgeUntil, 10_000);
      assert.equal(row.edgeStrikes, 2, 'the strikes are the latest count');
      await budget.saveEdge('host-a', 20_000, 3);
      assert.equal((await budget.get('host-a'))!.edgeUntil, 20_000);
    });

    test('list: every scope in order', async () => {
      const { budget } = await setup();
      await budget.ensure('host-b', 1, 'b', 0);
      await budget.ensure('Host-Z', 1, 'z', 0);
      await budget.ensure('host-a', 1, 'a', 0);
      assert.deepEqual(
        (await budget.list()).map((r) => r.scope),
        ['Host-Z', 'host-a', 'host-b'],
        'bytewise, as SQLite orders',
      );
    });
  });
}

/** What several hosts on one PostgreSQL database add to the cases above. */
function severalHosts(): void {
  describe('several hosts', () => {
    test('hosts ensuring and saving one scope at once end with one row, the latest decision', async () => {
      const [a, b] = await postgresStores.openPair();
      try {
        const ensured = await Promise.all([a.budget.ensure('shared-ip', 2, 'from a', 100), b.budget.ensure('shared-ip', 3, 'from b', 100)]);
        assert.deepEqual(ensured[0], ensured[1], 'both see the one row that won');
        await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).budget.saveRate('shared-ip', i + 1, `decision ${i}`, 1000 + i)));
        const row = (await a.budget.get('shared-ip'))!;
        assert.deepEqual([row.rate, row.changedAt], [20, 1019]);
        assert.equal((await b.budget.list()).length, 1);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
