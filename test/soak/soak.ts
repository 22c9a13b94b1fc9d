/**
 * The full kill -9 soak: ≥ 100 books, 8 sessions, token rotation on every response, 10 kills.
 *
 *   npm run build && node --import tsx test/soak/soak.ts [--books 100] [--sessions 8] [--kills 10]
 *
 * The test suite runs a reduced version (test/e2e/soak.test.ts).
 */
import { runSoak } from './run-soak.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

const result = await runSoak({ books: arg('books', 100), sessions: arg('sessions', 8), kills: arg('kills', 10), log: (l) => console.log(l) });
console.log(
  `soak passed: ${result.books} books archived exactly once, valid and complete, after ${result.kills.length} kill -9s (${result.kills.filter((k) => k.after === 'mid-write').length} mid-write), in ${result.seconds.toFixed(0)} s`,
);
