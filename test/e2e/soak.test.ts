import { test } from 'node:test';
import { runSoak } from '../soak/run-soak.js';

test('kill -9 at random moments, restart each time: every book archived exactly once, valid and complete; sessions intact', async (t) => {
  const result = await runSoak({ books: 30, sessions: 8, kills: 6, log: (l) => t.diagnostic(l) });
  t.diagnostic(`${result.books} books, ${result.kills.length} kills in ${result.seconds.toFixed(0)} s`);
});
