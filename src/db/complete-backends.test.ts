// A job's success and its catalogue rows commit together, on every backend (issue 14): the
// catalogue row is written only with the success, and a row that cannot be written takes the
// success back with it.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_BACKENDS, type StoreBackend } from '../../test/helpers/store-backends.js';
import type { BookRecord } from './books.js';
import { bookRecord } from '../../test/helpers/book-record.js';

const row = bookRecord;

for (const kind of STORE_BACKENDS) {
  describe(`a job's completion with its catalogue rows on ${kind.name}`, () => {
    const opened: StoreBackend[] = [];
    after(async () => {
      for (const b of opened) await b.close();
      await kind.done();
    });
    async function running(): Promise<{ b: StoreBackend; id: number; token: string }> {
      const b = await kind.open();
      opened.push(b);
      await b.jobs.enqueue([{ kind: 'book', payload: { bookId: '9781492056348', format: 'both', skills: ['Python'] } }]);
      const [job] = await b.jobs.claim({ owner: 'w1', limit: 1, leaseMs: 60_000 });
      assert.ok(job);
      return { b, id: job.id, token: job.leaseToken };
    }

    test('the success and both rows are written together', async () => {
      const { b, id, token } = await running();
      assert.equal(await b.completeJob(id, token, { session: 's1', message: 'done' }, [row(), row({ format: 'kindle', path: 'Python/x.kindle.epub' })]), true);
      assert.equal((await b.jobs.get(id))!.state, 'succeeded');
      assert.deepEqual((await b.books.list()).map((r) => r.format).sort(), ['epub', 'kindle']);
      assert.equal((await b.jobs.attempts(id))[0]!.outcome, 'succeeded');
    });

    test('with a lost lease nothing is written: neither the success nor a row', async () => {
      const { b, id } = await running();
      assert.equal(await b.completeJob(id, 'not-the-lease', {}, [row()]), false);
      assert.equal((await b.jobs.get(id))!.state, 'running');
      assert.deepEqual(await b.books.list(), []);
    });

    test('a row that cannot be written takes the success back with it', async () => {
      const { b, id, token } = await running();
      const bad = row({ format: 'kindle', mode: 'neither' as BookRecord['mode'] });
      await assert.rejects(b.completeJob(id, token, {}, [row(), bad]));
      assert.equal((await b.jobs.get(id))!.state, 'running', 'still running: its run ends as an error and settles as such');
      assert.deepEqual(await b.books.list(), [], 'not even the first row');
    });
  });
}
