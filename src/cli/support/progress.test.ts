import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from '../../db/store.js';
import { DEFAULT_TUNING } from '../../config.js';
import { startLiveView } from './live-view.js';
import { progressLines, summaryLine } from './progress.js';
import { liveFigures, type LiveFigures } from '../../views/pace.js';

const figures: LiveFigures = {
  total: 40,
  done: 10,
  failed: 2,
  running: 4,
  perHour: 120.4,
  etaMs: 14 * 60_000,
  skills: [
    { skill: 'Go', done: 6, total: 12 },
    { skill: 'A very long skill name indeed', done: 0, total: 28 },
  ],
  sessions: '3 ok, 1 cooling',
  lastFailure: '#7: book not found (404)',
};

test('the progress lines: overall and per-skill bars, pace and ETA, sessions, the last failure', () => {
  assert.deepEqual(progressLines(figures), [
    'all books          [██████░░░░░░░░░░░░░░░░░░] 10/40 (2 failed)',
    '  Go               [████████████░░░░░░░░░░░░] 6/12',
    '  A very long skil [░░░░░░░░░░░░░░░░░░░░░░░░] 0/28',
    '4 running · 120 books/hour · ETA 14m · sessions: 3 ok, 1 cooling',
    'last failure #7: book not found (404)',
  ]);
  const fresh = progressLines({ ...figures, failed: 0, perHour: undefined, etaMs: undefined, lastFailure: undefined, skills: [] });
  assert.deepEqual(fresh, ['all books          [██████░░░░░░░░░░░░░░░░░░] 10/40', '4 running · measuring pace… · ETA - · sessions: 3 ok, 1 cooling']);
});

test('with a width, no line is long enough to wrap (a wrapped line breaks redrawing in place)', () => {
  const lines = progressLines(figures, 40);
  assert.equal(lines.length, 5);
  for (const l of lines) assert.ok([...l].length <= 39, l);
  assert.equal(lines[3], '4 running · 120 books/hour · ETA 14m ·…');
  assert.equal(progressLines(figures, 200).join('\n'), progressLines(figures).join('\n'));
});

test('the summary line for output that is not a terminal', () => {
  assert.equal(summaryLine(figures), '10/40 books · 4 running · 2 failed · 120 books/h · ETA 14m · sessions: 3 ok, 1 cooling');
});

test('liveFigures counts book jobs only, per skill, from the store', async () => {
  const store = openStore(':memory:');
  try {
    await store.jobs.enqueue([
      { kind: 'book', payload: { bookId: '9780000000001', format: 'epub', skills: ['Go'] } },
      { kind: 'book', payload: { bookId: '9780000000002', format: 'epub', skills: ['Go'] } },
      { kind: 'discover', payload: { skill: 'Go', format: 'epub' } },
    ]);
    const f = await liveFigures(store, [], 1_000, DEFAULT_TUNING.status);
    assert.equal(f.total, 2);
    assert.equal(f.done, 0);
    assert.equal(f.sessions, 'none');
    assert.deepEqual(progressLines(f)[0], 'all books          [░░░░░░░░░░░░░░░░░░░░░░░░] 0/2');
  } finally {
    await store.close();
  }
});

test('the live view on a terminal draws the same lines and redraws them in place', async () => {
  const store = openStore(':memory:');
  try {
    await store.jobs.enqueue([{ kind: 'book', payload: { bookId: '9780000000001', format: 'epub', skills: ['Go'] } }]);
    let written = '';
    const out = { isTTY: true, columns: 100, write: (s: string) => ((written += s), true) };
    const view = startLiveView({ store, clock: { now: () => 1_000, sleep: async () => {} }, out, status: { ...DEFAULT_TUNING.status, liveRedrawMs: 10 } });
    await new Promise((r) => setTimeout(r, 50));
    await view.stop();
    const frames = written
      .replace(/\x1b\[\?25[lh]/g, '')
      .split(/(?:\x1b\[\d+F)?\x1b\[J/)
      .filter(Boolean);
    assert.ok(frames.length >= 2, `redrawn: ${JSON.stringify(written)}`);
    const expected = `${progressLines(await liveFigures(store, [], 1_000, DEFAULT_TUNING.status), 100).join('\n')}\n`;
    for (const frame of frames) assert.equal(frame, expected);
    // Each redraw goes back up exactly the lines it drew (three: all books, Go, the pace line).
    assert.match(written, /\x1b\[3F\x1b\[J/);
  } finally {
    await store.close();
  }
});
