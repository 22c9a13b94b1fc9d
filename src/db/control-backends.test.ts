// Queue control and the daemons' rows, the same cases against every backend (issue 14): those of
// control.test.ts through Async<QueueControl>, and on PostgreSQL what several hosts add.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freshPgStore } from '../../test/helpers/job-backends.js';
import { STORE_BACKENDS, type StoreBackend } from '../../test/helpers/store-backends.js';
import { ManualClock } from '../clock.js';
import { clientConfig } from './pg/connect.js';
import { pgQueueControl } from './pg/control.js';
import { jobWaiter } from './pg/wake.js';

for (const kind of STORE_BACKENDS) {
  describe(`queue control on ${kind.name}`, () => {
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

    test('pause and resume persist with reason and since', async () => {
      const { control, clock } = await setup();
      assert.deepEqual(await control.state(), { paused: false, reason: undefined, since: undefined });
      await control.pause('maintenance');
      const since = clock.now();
      clock.advance(1000);
      await control.pause('still maintenance');
      assert.deepEqual(await control.state(), { paused: true, reason: 'still maintenance', since }, 'pausing again keeps the first since');
      await control.resume();
      assert.deepEqual(await control.state(), { paused: false, reason: undefined, since: undefined });
      await control.pause();
      assert.deepEqual(await control.state(), { paused: true, reason: undefined, since: clock.now() }, 'a pause without a reason');
    });

    test('a paused queue is not claimed; resumed, it is', async () => {
      const { control, jobs } = await setup();
      await jobs.enqueue([{ kind: 'book', payload: { bookId: '9780000000001', format: 'epub', skills: [] } }]);
      await control.pause('maintenance');
      assert.deepEqual(await jobs.claim({ owner: 'w', limit: 1, leaseMs: 1000 }), []);
      await control.resume();
      assert.equal((await jobs.claim({ owner: 'w', limit: 1, leaseMs: 1000 })).length, 1);
    });

    test('daemons announce themselves, update their note and leave', async () => {
      const { control, clock } = await setup();
      await control.daemonBeat('host:1', 'starting');
      const started = clock.now();
      clock.advance(30_000);
      await control.daemonBeat('host:1', 'claiming paused: no usable session');
      const [d] = await control.daemons();
      assert.deepEqual(d, {
        owner: 'host:1',
        pid: process.pid,
        host: d!.host,
        startedAt: started,
        seenAt: clock.now(),
        note: 'claiming paused: no usable session',
      });
      await control.daemonBeat('host:1');
      assert.equal((await control.daemons())[0]!.note, undefined, 'a beat without a note clears it');
      await control.daemonGone('host:1');
      assert.deepEqual(await control.daemons(), []);
      await control.daemonGone('host:1');
    });

    test('daemons are listed by start, then owner', async () => {
      const { control, clock } = await setup();
      await control.daemonBeat('b:2');
      await control.daemonBeat('a:1');
      clock.advance(1);
      await control.daemonBeat('0:9');
      assert.deepEqual(
        (await control.daemons()).map((d) => d.owner),
        ['a:1', 'b:2', '0:9'],
      );
    });
  });
}

/** What several hosts on one PostgreSQL database add to the cases above. */
function severalHosts(): void {
  describe('several hosts', () => {
    test("every host's daemons are listed, each with its own pid and host", async () => {
      const { pool } = await freshPgStore();
      try {
        const clock = new ManualClock();
        const a = pgQueueControl(pool, { clock, pid: 101, host: 'alpha' });
        const b = pgQueueControl(pool, { clock, pid: 202, host: 'beta' });
        await a.daemonBeat('alpha:101', 'running');
        await b.daemonBeat('beta:202', 'claiming paused: queue paused');
        assert.deepEqual(
          (await a.daemons()).map((d) => [d.owner, d.pid, d.host, d.note]),
          [
            ['alpha:101', 101, 'alpha', 'running'],
            ['beta:202', 202, 'beta', 'claiming paused: queue paused'],
          ],
        );
        await b.pause('maintenance');
        assert.equal((await a.state()).paused, true, 'one switch for every host');
      } finally {
        await pool.end();
      }
    });

    test('resume wakes the idle workers of every host at once (NOTIFY on the jobs channel)', async () => {
      const { url, pool } = await freshPgStore();
      const clock = new ManualClock();
      const control = pgQueueControl(pool, { clock });
      const waiters = [await jobWaiter(clientConfig(url)), await jobWaiter(clientConfig(url))];
      try {
        await control.pause('maintenance');
        const since = waiters.map((w) => w.seen());
        // A day-long poll: only the notification can end these waits within the test.
        const woken = waiters.map((w, i) => w.wait(24 * 3_600_000, { since: since[i]! }));
        await control.resume();
        const timeout = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 10_000).unref());
        assert.deepEqual(await Promise.all(woken.map((p) => Promise.race([p, timeout]))), ['notified', 'notified']);
      } finally {
        for (const w of waiters) await w.close();
        await pool.end();
      }
    });
  });
}
