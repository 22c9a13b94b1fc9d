#!/usr/bin/env node
import { buildProgram, isCommanderExit } from './program.js';
import { EXIT, errorMessage, exitCodeFor } from '../errors.js';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    if (isCommanderExit(err)) {
      // help and version print through commander and exit 0; anything else is a usage error.
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      // A command group named without a command: its help went to stderr, which says it all.
      if (err.code === 'commander.help') return EXIT.usage;
      const text = err.message.replace(/^error:\s*/i, '').split('\n')[0];
      process.stderr.write(`bookd: ${text} (see --help)\n`);
      return EXIT.usage;
    }
    process.stderr.write(`bookd: ${errorMessage(err)}\n`);
    if (process.env.BOOKD_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return exitCodeFor(err);
  }
}

const code = await main(process.argv);
// Long-running commands (sim, run, daemon) resolve only when they have shut down, so exiting
// here never cuts work short; it also stops stray handles from keeping a finished command alive.
process.exit(code);
