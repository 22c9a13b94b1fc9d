import { Command, CommanderError } from '@commander-js/extra-typings';
import { registerDemo } from './demo.js';
import { registerRun } from './run.js';
import { registerSessions } from './sessions.js';
import { registerEnqueue } from './enqueue.js';
import { registerWatch } from './watch.js';
import { registerStatus } from './status.js';
import { registerJobs } from './jobs.js';
import { registerControl } from './control.js';
import { registerLibrary } from './library.js';
import { registerSim } from './sim.js';
import { registerCompletion } from './completion.js';
import { registerDoctor } from './doctor.js';
import { registerStore } from './store.js';
import { VERSION } from '../version.js';

/** The root command with the global options; each command group registers itself. */
export function buildProgram(): Command {
  const program = new Command('bookd')
    .description("Archive O'Reilly Learning books as EPUB through a pool of independently authenticated sessions.")
    .version(VERSION, '-V, --version')
    .option('--data-dir <dir>', 'state directory: database, staging, credentials (env BOOKD_DATA_DIR; systemd $STATE_DIRECTORY; default ~/.local/state/bookd)')
    .option(
      '--library <dir>',
      'where EPUB files are written (env BOOKD_LIBRARY; default ~/.local/share/bookd/library, i.e. $XDG_DATA_HOME/bookd/library; <data-dir>/library under systemd or when one is there already)',
    )
    .option('--base-url <url>', 'the service origin (env BOOKD_BASE_URL; default https://learning.oreilly.com)')
    .option(
      '--store <url>',
      'a postgres:// URL: keep the queue, sessions and catalogue on a PostgreSQL server shared by several hosts (env BOOKD_STORE; default SQLite in the data directory)',
    )
    .option(
      '--config <file>',
      'JSON settings file, read instead of the usual ones (env BOOKD_CONFIG); otherwise /etc/bookd/config.json, then ~/.config/bookd/config.json ($XDG_CONFIG_HOME), then <data-dir>/config.json, each that exists overriding the one before; environment beats them, flags beat all',
    )
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env BOOKD_LOG_LEVEL)')
    .option('-q, --quiet', 'log only warnings and errors (log level warn) unless --log-level is given')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    // --quiet is shorthand for --log-level warn, so it stands where that flag would (above the
    // environment and the config file) and every command, SIGHUP reloads included, reads the level
    // from one place: the resolved --log-level.
    .hook('preAction', (root) => {
      const given = root.opts();
      if (given.quiet && given.logLevel === undefined) root.setOptionValueWithSource('logLevel', 'warn', 'cli');
    });

  registerSessions(program);
  registerRun(program);
  registerDemo(program);
  registerEnqueue(program);
  registerWatch(program);
  registerStatus(program);
  registerJobs(program);
  registerControl(program);
  registerLibrary(program);
  registerSim(program);
  registerCompletion(program);
  registerDoctor(program);
  registerStore(program);
  return program;
}

export { VERSION };

/** Commander signals help/version and usage errors by throwing once exitOverride is set. */
export function isCommanderExit(err: unknown): err is CommanderError {
  return err instanceof CommanderError;
}
