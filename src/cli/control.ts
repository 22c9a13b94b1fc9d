import type { Command } from '@commander-js/extra-typings';
import { withStore } from './support/context.js';
import { printJson } from './support/format.js';
import { systemClock } from '../clock.js';
import { iso, relative, timestamp } from '../views/format.js';

export function registerControl(program: Command): void {
  program
    .command('pause')
    .description('stop claiming new jobs (running jobs finish); bookd resume undoes it. Survives restarts')
    .option('--reason <text>', 'why, shown by bookd status')
    .option('--json', 'print {paused, reason, since} (since in ISO 8601, UTC)')
    .action(async (opts, cmd) => {
      await withStore(cmd, async (store) => {
        await store.control.pause(opts.reason);
        const state = await store.control.state();
        if (opts.json) return printJson({ paused: true, reason: state.reason ?? null, since: iso(state.since) });
        const since = state.since === undefined ? '' : ` since ${timestamp(state.since)} (${relative(state.since, systemClock.now())})`;
        process.stdout.write(`paused${since}${state.reason ? `: ${state.reason}` : ''}; running jobs finish, no new job starts until bookd resume\n`);
      });
    });

  program
    .command('resume')
    .description('let daemons claim jobs again after bookd pause')
    .option('--json', 'print {paused: false, was_paused}')
    .action(async (opts, cmd) => {
      await withStore(cmd, async (store) => {
        const was = (await store.control.state()).paused;
        await store.control.resume();
        if (opts.json) return printJson({ paused: false, was_paused: was });
        process.stdout.write(was ? 'resumed: daemons claim jobs again\n' : 'the queue was not paused\n');
      });
    });
}
