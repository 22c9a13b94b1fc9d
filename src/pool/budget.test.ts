import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import { MachineBudget, type BudgetMove } from './budget.js';

const settings = { start: 4, ceiling: 8, floor: 0.5, riseMs: 10_000 };
const noJitter = () => 0.5;

/** Lets queued promise callbacks run, so the budget's pump sees what the test just did. */
const settle = () => new Promise<void>((r) => setImmediate(r));

async function grants(budget: MachineBudget, clock: ManualClock, n: number, stepMs: number): Promise<number[]> {
  const times: number[] = [];
  const waits = Array.from({ length: n }, () => budget.wait().then((t) => times.push(t)));
  for (let i = 0; i < 200 && times.length < n; i++) {
    await settle();
    clock.advance(stepMs);
  }
  await Promise.all(waits);
  return times;
}

test('requests of every session are spaced 1/rate apart, first come first served', async () => {
  const clock = new ManualClock(0);
  const budget = new MachineBudget(clock, settings, undefined, noJitter);
  const order: number[] = [];
  const waits = [0, 1, 2, 3].map((i) => budget.wait().then(() => order.push(i)));
  for (let i = 0; i < 40 && order.length < 4; i++) {
    await settle();
    clock.advance(50);
  }
  await Promise.all(waits);
  assert.deepEqual(order, [0, 1, 2, 3]);
  const times = await grants(budget, clock, 5, 10);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  // 4 requests/s: 250 ms apart (the jitter is pinned to its middle here).
  for (const g of gaps) assert.ok(g >= 250 && g <= 260, `gap ${g}`);
});

test('a throttle signal halves the rate once per episode, never below the floor', () => {
  const clock = new ManualClock(0);
  const moves: BudgetMove[] = [];
  const budget = new MachineBudget(clock, settings, (m) => moves.push(m));
  clock.advance(100);
  const sent = clock.now();
  clock.advance(100);
  assert.equal(budget.cut('a sample', sent), true);
  assert.equal(budget.state().rate, 2);
  assert.match(budget.state().reason, /halved to 2 req\/s: a sample/);
  // Requests that were already in flight when the rate was cut are the same episode.
  assert.equal(budget.cut('another sample', sent), false);
  assert.equal(budget.state().rate, 2);
  for (let i = 0; i < 10; i++) {
    clock.advance(10);
    budget.cut('more', clock.now());
  }
  assert.equal(budget.state().rate, 0.5);
  assert.deepEqual(moves.filter((m) => m === 'cut').length, 3);
});

test('without throttle signals the rate creeps back up to the ceiling and stays there', () => {
  const clock = new ManualClock(0);
  const budget = new MachineBudget(clock, settings);
  budget.cut('a 429', 0);
  assert.equal(budget.state().rate, 2);
  clock.advance(9_999);
  assert.equal(budget.state().rate, 2, 'nothing before riseMs');
  clock.advance(1);
  assert.equal(budget.state().rate, 2.4);
  assert.match(budget.state().reason, /rising toward 8 req\/s/);
  // A throttle signal, even one that does not cut again, restarts the quiet period.
  clock.advance(5_000);
  budget.cut('in flight', -1);
  clock.advance(9_000);
  assert.equal(budget.state().rate, 2.4);
  clock.advance(600_000);
  assert.equal(budget.state().rate, 8);
  assert.match(budget.state().reason, /at its ceiling/);
});

test('a cut while requests wait lengthens the very next gap', async () => {
  const clock = new ManualClock(0);
  const budget = new MachineBudget(clock, { ...settings, start: 8 }, undefined, noJitter);
  await budget.wait();
  let second: number | undefined;
  void budget.wait().then((t) => (second = t));
  await settle();
  budget.cut('a sample', clock.now());
  for (let i = 0; i < 40 && second === undefined; i++) {
    clock.advance(25);
    await settle();
  }
  // 8/s would have been 125 ms; after the cut to 4/s the gap is 250 ms.
  assert.ok(second !== undefined && second >= 250, `second grant at ${second}`);
});

test('an aborted wait leaves the queue and the others still get their turn', async () => {
  const clock = new ManualClock(0);
  const budget = new MachineBudget(clock, settings, undefined, noJitter);
  await budget.wait();
  const ctrl = new AbortController();
  const aborted = budget.wait(ctrl.signal);
  let later: number | undefined;
  void budget.wait().then((t) => (later = t));
  ctrl.abort(new Error('stop'));
  await assert.rejects(aborted, /stop/);
  for (let i = 0; i < 20 && later === undefined; i++) {
    clock.advance(50);
    await settle();
  }
  assert.ok(later !== undefined && later <= 300, `the next waiter got the slot the aborted one left (${later})`);
});

test('daemons sharing a machine each pace at their share; a newer decision of another daemon is adopted', () => {
  const clock = new ManualClock(0);
  const budget = new MachineBudget(clock, settings);
  budget.setShare(2);
  assert.equal(budget.state().share, 2);
  clock.advance(1000);
  budget.adopt(1, 'halved to 1 req/s: a sample (another daemon)', 500);
  assert.equal(budget.state().rate, 1);
  budget.adopt(6, 'older', 100);
  assert.equal(budget.state().rate, 1, 'an older decision does not win');
  budget.adopt(100, 'too high', 2000);
  assert.equal(budget.state().rate, 8, 'clamped to the ceiling');
});
