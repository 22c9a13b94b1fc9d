import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import type { Logger } from '../log.js';
import { createSupervisor, type Duty } from './supervisor.js';

function recordingLogger(): { logger: Logger; errors: { fields: Record<string, unknown>; msg: string }[] } {
  const errors: { fields: Record<string, unknown>; msg: string }[] = [];
  const logger = { error: (fields: Record<string, unknown>, msg: string) => errors.push({ fields, msg }) } as unknown as Logger;
  return { logger, errors };
}

test('each duty runs at its own period; atStart makes it due at the first tick', () => {
  const clock = new ManualClock();
  const runs: string[] = [];
  const duty = (name: string, periodMs: number, atStart = false): Duty => ({ name, periodMs, atStart, run: () => void runs.push(name) });
  const sup = createSupervisor([duty('fast', 1000), duty('slow', 3000), duty('first', 5000, true)], { clock, logger: recordingLogger().logger, tickMs: 1000 });
  for (let i = 0; i < 6; i++) {
    clock.advance(1000);
    sup.tick();
  }
  assert.deepEqual(runs.filter((n) => n === 'fast').length, 6);
  assert.deepEqual(runs.filter((n) => n === 'slow').length, 2);
  assert.deepEqual(runs.filter((n) => n === 'first').length, 2, 'at the first tick, then 5 s later');
  assert.equal(runs[1], 'first');
});

test('a failing duty is logged with its name, the others still run, and the tick does not count as completed', () => {
  const clock = new ManualClock();
  const { logger, errors } = recordingLogger();
  let broken = true;
  let after = 0;
  const sup = createSupervisor(
    [
      {
        name: 'beat',
        periodMs: 1000,
        run: () => {
          if (broken) throw new Error('database is locked');
        },
      },
      { name: 'status', periodMs: 1000, run: () => void after++ },
    ],
    { clock, logger, tickMs: 1000 },
  );
  const start = sup.lastTickAt();
  clock.advance(1000);
  sup.tick();
  assert.equal(after, 1, 'the duty after the failing one ran');
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.fields.duty, 'beat');
  assert.match(errors[0]!.msg, /beat/);
  assert.equal(sup.lastTickAt(), start, 'a tick with a failure is not a completed tick');
  broken = false;
  clock.advance(1000);
  sup.tick();
  assert.equal(sup.lastTickAt(), clock.now());
});

test('a running async duty is never started twice; its failure is logged; stop() waits for it', async () => {
  const clock = new ManualClock();
  const { logger, errors } = recordingLogger();
  let starts = 0;
  let finish!: () => void;
  const sup = createSupervisor(
    [
      {
        name: 'upkeep',
        periodMs: 1000,
        run: () => {
          starts++;
          return new Promise<void>((resolve, reject) => (finish = () => (starts === 1 ? reject(new Error('network down')) : resolve())));
        },
      },
    ],
    { clock, logger, tickMs: 1000 },
  );
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    sup.tick();
  }
  assert.equal(starts, 1, 'not started again while it runs');
  finish();
  await new Promise((r) => setImmediate(r));
  assert.equal(errors[0]?.fields.duty, 'upkeep');
  assert.equal(sup.lastTickAt(), clock.now(), 'a background failure does not stall the supervisor');
  clock.advance(1000);
  sup.tick();
  assert.equal(starts, 2);
  let stopped = false;
  const stopping = sup.stop().then(() => (stopped = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(stopped, false, 'stop waits for the running duty');
  finish();
  await stopping;
  assert.equal(stopped, true);
});
