// The catalogue, the same cases against every backend (issue 14): those of books.test.ts through
// Async<BookCatalogue>, and on PostgreSQL two hosts recording the same book at once.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_BACKENDS, postgresStores, type StoreBackend } from '../../test/helpers/store-backends.js';
import { pgBookCatalogue } from './pg/books.js';
import { inTransaction } from './pg/connect.js';
import { freshPgStore } from '../../test/helpers/job-backends.js';
import { bookRecord } from '../../test/helpers/book-record.js';

const record = bookRecord;

for (const kind of STORE_BACKENDS) {
  describe(`book catalogue on ${kind.name}`, () => {
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

    test('the catalogue records, replaces and lists books by (id, format)', async () => {
      const { books } = await setup();
      await books.record(record());
      await books.record(record({ format: 'kindle', path: 'Python/x.azw3', mode: 'chapters', gaps: ['images/missing.png'] }));
      await books.record(record({ id: '9781098118723', title: 'Robust Python' }));
      assert.deepEqual(await books.get('9781492056348', 'epub'), record());
      assert.equal(await books.has('9781492056348', 'kindle'), true);
      assert.equal(await books.has('9781098118723', 'kindle'), false);
      assert.equal(await books.get('9781098118723', 'kindle'), undefined);
      assert.deepEqual(
        (await books.list()).map((b) => [b.id, b.format]),
        [
          ['9781098118723', 'epub'],
          ['9781492056348', 'epub'],
          ['9781492056348', 'kindle'],
        ],
      );
      // A re-archive: later, another file.
      const again = record({ sha256: 'b'.repeat(64), bytes: 999, archivedAt: record().archivedAt + 1000, authors: ['L. Ramalho', 'O. Other'] });
      await books.record(again);
      assert.deepEqual(await books.get('9781492056348', 'epub'), again);
      assert.equal((await books.list()).length, 3);
      assert.deepEqual((await books.get('9781492056348', 'kindle'))!.gaps, ['images/missing.png']);
    });

    test('addSkill adds a skill to every format once, case-insensitively', async () => {
      const { books } = await setup();
      await books.record(record());
      await books.record(record({ format: 'kindle' }));
      assert.equal(await books.addSkill('9781492056348', 'Data Science'), true);
      assert.equal(await books.addSkill('9781492056348', 'python'), true);
      assert.equal(await books.addSkill('9781492056348', '  '), true, 'a blank skill changes nothing');
      for (const format of ['epub', 'kindle'] as const) assert.deepEqual((await books.get('9781492056348', format))!.skills, ['Python', 'Data Science']);
      assert.equal(await books.addSkill('9780000000000', 'Go'), false);
    });

    test('the catalogue keeps pages, date, revision and the previous sha256; noteIssued fills only a missing date', async () => {
      const { books } = await setup();
      const { revision: _, ...older } = record();
      await books.record(older);
      assert.deepEqual(await books.get('9781492056348', 'epub'), record(), 'an older row is revision 1 with no pages, date or previous file');
      await books.noteIssued('9781492056348', '2024-05-01T00:00:00Z');
      await books.noteIssued('9781492056348', '2025-01-01T00:00:00Z');
      assert.equal((await books.get('9781492056348', 'epub'))!.issued, '2024-05-01T00:00:00Z', 'a date already there stays');
      await books.noteIssued('9780000000000', '2025-01-01T00:00:00Z');
      assert.equal(await books.has('9780000000000', 'epub'), false, 'noteIssued never creates a row');
      const grown = record({ sha256: 'c'.repeat(64), virtualPages: 420, issued: '2025-02-01T00:00:00Z', revision: 2, previousSha256: 'a'.repeat(64) });
      await books.record(grown);
      assert.deepEqual(await books.get('9781492056348', 'epub'), grown);
    });
  });
}

/** What several hosts on one PostgreSQL database add to the cases above. */
function severalHosts(): void {
  describe('several hosts', () => {
    test('two hosts recording the same book at once: one row, the same whichever commits last', async () => {
      const [a, b] = await postgresStores.openPair();
      try {
        const fromA = record({ sha256: '1'.repeat(64), bytes: 100, archivedAt: 5000, path: 'Python/from-a.epub' });
        const fromB = record({ sha256: '2'.repeat(64), bytes: 200, archivedAt: 5001, path: 'Python/from-b.epub' });
        const tie = record({ sha256: '0'.repeat(64), bytes: 300, archivedAt: 5001, path: 'Python/tie.epub' });
        for (let round = 0; round < 10; round++) {
          const id = `97800000000${String(round).padStart(2, '0')}`;
          const [x, y] = round % 2 ? [a, b] : [b, a];
          // In parallel, and then once more in each order one after the other.
          await Promise.all([x.books.record({ ...fromA, id }), y.books.record({ ...fromB, id }), x.books.record({ ...tie, id })]);
          assert.deepEqual(await a.books.get(id, 'epub'), { ...fromB, id }, `round ${round}: the later archive, then the larger sha256, wins`);
        }
        await b.books.record({ ...fromA, id: 'sequential' });
        await a.books.record({ ...fromB, id: 'sequential' });
        await b.books.record({ ...fromA, id: 'sequential' });
        assert.deepEqual(await b.books.get('sequential', 'epub'), { ...fromB, id: 'sequential' }, 'an older record arriving last does not replace a newer one');
        assert.equal((await a.books.list()).length, 11);
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('skills added by two hosts at once are both kept', async () => {
      const [a, b] = await postgresStores.openPair();
      try {
        await a.books.record(record());
        await a.books.record(record({ format: 'kindle' }));
        const skills = ['Go', 'Rust', 'SQL', 'Data Science', 'Machine Learning', 'Security'];
        await Promise.all(skills.map((s, i) => (i % 2 ? a : b).books.addSkill('9781492056348', s)));
        for (const format of ['epub', 'kindle'] as const) {
          assert.deepEqual([...(await b.books.get('9781492056348', format))!.skills].sort(), ['Python', ...skills].sort());
        }
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('recordOn writes inside the caller’s transaction: rolled back, nothing is catalogued', async () => {
      const { pool } = await freshPgStore();
      try {
        const books = pgBookCatalogue(pool);
        await assert.rejects(
          inTransaction(pool, async (c) => {
            await books.recordOn(c, record());
            throw new Error('the job’s lease was lost');
          }),
          /lease was lost/,
        );
        assert.equal(await books.has('9781492056348', 'epub'), false);
        await inTransaction(pool, (c) => books.recordOn(c, record()));
        assert.deepEqual(await books.get('9781492056348', 'epub'), record());
      } finally {
        await pool.end();
      }
    });
  });
}
