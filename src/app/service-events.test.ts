import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '../config.js';
import type { BookdEvent } from '../daemon/events.js';
import { openStore } from '../db/store.js';
import { silentLogger } from '../log.js';
import { parseCookieExport } from '../pool/cookie-import.js';
import { jarFromImport, serializeJar } from '../pool/jar.js';
import { startSim } from '../sim/index.js';
import { runService } from './service.js';

test('RunningService.events: a run tells each job as it starts and ends, each book placed, and the drain at the end, in that order', async () => {
  const sim = await startSim({ books: 4, seed: 7, guardRate: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'bookd-service-events-'));
  try {
    const config = resolveConfig(
      {},
      {
        BOOKD_DATA_DIR: join(dir, 'data'),
        BOOKD_LIBRARY: join(dir, 'library'),
        BOOKD_BASE_URL: sim.url,
        BOOKD_SESSION_INTERVAL_MS: '0',
        BOOKD_BUDGET_START: '300',
        BOOKD_BUDGET_CEILING: '600',
      },
      { home: join(dir, 'home'), systemFile: join(dir, 'none.json'), search: false },
    );
    const ids = sim.catalogue.books
      .filter((b) => b.flags.length === 0)
      .slice(0, 2)
      .map((b) => b.id);
    const store = openStore(config.dbPath);
    const [cookies] = sim.mint(1);
    await store.sessions.add({ name: 's1', jarJson: serializeJar(jarFromImport(parseCookieExport(JSON.stringify(cookies)).cookies, sim.url).jar) });
    await store.jobs.enqueue(ids.map((bookId) => ({ kind: 'book' as const, payload: { bookId, format: 'epub' as const, skills: [] } })));
    await store.close();

    const heard: BookdEvent[] = [];
    const summary = await runService({ config, logger: silentLogger, untilEmpty: true, onStart: (r) => void r.events.on((e) => heard.push(e)) });
    assert.equal(summary.succeeded, 2);
    const seq = heard.map((e) => `${e.event}${e.event === 'job.changed' ? `:${e.message.replace(/^job \d+ /, '')}` : ''}`);
    assert.deepEqual(
      seq.filter((s) => s !== 'job.changed:started'),
      ['book.archived', 'job.changed:succeeded', 'book.archived', 'job.changed:succeeded', 'queue.drained'],
    );
    assert.equal(seq.filter((s) => s === 'job.changed:started').length, 2);
    const archived = heard.filter((e) => e.event === 'book.archived');
    assert.deepEqual(archived.map((e) => e.book!.id).sort(), [...ids].sort());
    for (const e of archived) assert.match(e.message, new RegExp(`archived as ${join(dir, 'library')}/`));
    for (const e of heard) assert.equal(typeof e.at, 'number');
    const secrets = Object.values(cookies!).filter((v) => v.length >= 8);
    for (const e of heard) for (const s of secrets) assert.ok(!JSON.stringify(e).includes(s), 'no cookie value in an event');
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
