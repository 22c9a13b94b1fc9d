import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { buildProgram } from '../../src/cli/program.js';
import { CLI, cleanEnv, runCli, tempDir } from '../helpers/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
const LOG_TS = pathToFileURL(join(ROOT, 'src/log.ts')).href;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** `dev:ino` of a file, as systemd writes JOURNAL_STREAM for the stream it hands a service. */
function streamId(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

/** Runs `args` with node, its stdout going to the file `out` (the journal stand-in). */
function runToFile(args: string[], out: string, env: NodeJS.ProcessEnv): { r: SpawnSyncReturns<string>; text: string } {
  writeFileSync(out, '');
  const fd = openSync(out, 'a');
  try {
    const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 60_000 });
    return { r, text: readFileSync(out, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** A child that logs one line at every level through createLogger, as the daemon's logger would. */
const EVERY_LEVEL = [
  `const { createLogger } = await import(${JSON.stringify(LOG_TS)});`,
  `const log = createLogger({ level: 'trace' });`,
  `for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) log[level]({ at: level }, 'line at ' + level);`,
  `log.child({ component: 'x' }).error('from a child logger');`,
].join('\n');

test('with stdout on the journal, every JSON line carries its syslog priority as <N>', () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'journal.txt');
    writeFileSync(out, '');
    const env = cleanEnv({ JOURNAL_STREAM: streamId(out) });
    const { r, text } = runToFile(['--import', 'tsx', '--input-type=module', '-e', EVERY_LEVEL], out, env);
    assert.equal(r.status, 0, r.stderr);
    const lines = text.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => l.slice(0, 3)),
      ['<7>', '<7>', '<6>', '<4>', '<3>', '<2>', '<3>'],
    );
    for (const line of lines) {
      const record = JSON.parse(line.slice(3)) as { level: number; msg: string };
      assert.ok(record.msg.length > 0, 'the rest of the line is the JSON record');
    }

    // The built CLI, as systemd runs it: a run of an empty queue logs at info.
    const cli = runToFile(
      [CLI, 'run', '--until-empty', '--log-level', 'debug'],
      out,
      cleanEnv({ JOURNAL_STREAM: streamId(out), BOOKD_DATA_DIR: join(dir, 'data'), BOOKD_BASE_URL: 'http://127.0.0.1:9' }),
    );
    assert.equal(cli.r.status, 0, cli.r.stderr);
    const cliLines = cli.text.trimEnd().split('\n');
    assert.ok(cliLines.length >= 2, cli.text);
    for (const line of cliLines) {
      const m = /^<(\d)>(\{.*)$/.exec(line);
      assert.ok(m, `prefixed: ${line}`);
      const level = (JSON.parse(m[2]!) as { level: number }).level;
      assert.equal(Number(m[1]), level >= 30 ? 6 : 7, line);
    }
  } finally {
    cleanup();
  }
});

test('without the journal on stdout there is no priority prefix: no JOURNAL_STREAM, or one naming another file', () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'out.txt');
    const other = join(dir, 'other.txt');
    writeFileSync(other, '');
    for (const extra of [{}, { JOURNAL_STREAM: streamId(other) }, { JOURNAL_STREAM: 'garbage' }]) {
      const { r, text } = runToFile(['--import', 'tsx', '--input-type=module', '-e', EVERY_LEVEL], out, cleanEnv(extra));
      assert.equal(r.status, 0, r.stderr);
      const lines = text.trimEnd().split('\n');
      assert.equal(lines.length, 7);
      for (const line of lines) assert.ok(line.startsWith('{"level":'), `${JSON.stringify(extra)}: ${line}`);
    }
    // The piped CLI: plain JSON lines.
    const { r, text } = runToFile([CLI, 'run', '--until-empty'], out, cleanEnv({ BOOKD_DATA_DIR: join(dir, 'data'), BOOKD_BASE_URL: 'http://127.0.0.1:9' }));
    assert.equal(r.status, 0, r.stderr);
    for (const line of text.trimEnd().split('\n')) assert.ok(line.startsWith('{"level":'), line);
  } finally {
    cleanup();
  }
});

test('pretty logs honour NO_COLOR: no ANSI escapes when it is set, colour when it is unset or empty', () => {
  const pretty = [
    `const { createLogger } = await import(${JSON.stringify(LOG_TS)});`,
    `const log = createLogger({ pretty: true });`,
    `log.info('hello'); log.error({ detail: 1 }, 'bad');`,
  ].join('\n');
  const run = (noColor: string | undefined) => {
    const env = cleanEnv();
    if (noColor === undefined) delete env.NO_COLOR;
    else env.NO_COLOR = noColor;
    delete env.FORCE_COLOR;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', pretty], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /INFO.*hello/);
    assert.match(r.stdout, /ERROR.*bad/);
    return r.stdout;
  };
  assert.ok(!run('1').includes('\x1b'), 'NO_COLOR=1: no escape codes');
  assert.ok(!run('false').includes('\x1b'), 'any non-empty NO_COLOR counts');
  // Proof that the check can fail: the same logger colours when NO_COLOR is absent or empty.
  assert.ok(run(undefined).includes('\x1b['), 'colour without NO_COLOR');
  assert.ok(run('').includes('\x1b['), 'an empty NO_COLOR does not count');
});

test('-q/--quiet logs only warnings and errors unless --log-level is given, wherever it stands and whatever the environment says', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = { BOOKD_DATA_DIR: join(dir, 'data'), BOOKD_BASE_URL: 'http://127.0.0.1:9' };
    const loud = await runCli(['run', '--until-empty'], { env });
    assert.equal(loud.code, 0, loud.stderr);
    assert.match(loud.stdout, /"level":30/, 'info lines without --quiet');
    for (const args of [
      ['-q', 'run', '--until-empty'],
      ['run', '--until-empty', '--quiet'],
    ]) {
      const quiet = await runCli(args, { env: { ...env, BOOKD_LOG_LEVEL: 'debug' } });
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(quiet.stdout, '', `bookd ${args.join(' ')}: no info lines`);
    }
    const explicit = await runCli(['--quiet', '--log-level', 'info', 'run', '--until-empty'], { env });
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.match(explicit.stdout, /"level":30/, '--log-level beats --quiet');
  } finally {
    cleanup();
  }
});

test('bookd --version prints the version in package.json, read when it runs', async () => {
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  }
  // The same build beside a package.json of another version says that version: nothing is baked in.
  const { dir, cleanup } = tempDir();
  try {
    cpSync(dirname(dirname(CLI)), join(dir, 'dist'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bookd', version: '9.8.7-test', type: 'module' }));
    const r = spawnSync(process.execPath, [join(dir, 'dist/cli/main.js'), '--version'], { env: cleanEnv(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '9.8.7-test');
  } finally {
    cleanup();
  }
  // And from the sources, as tsx runs them.
  const src = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { VERSION } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/version.ts')).href)}); process.stdout.write(VERSION);`,
    ],
    { env: cleanEnv(), encoding: 'utf8' },
  );
  assert.equal(src.status, 0, src.stderr);
  assert.equal(src.stdout, VERSION);
});

/** The top-level command names commander shows in help, from the same program the CLI builds. */
function topLevelCommands(): string[] {
  const program = buildProgram();
  return program
    .createHelp()
    .visibleCommands(program)
    .map((c) => c.name());
}

function hasShell(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** Runs bash's completion function for `line` (a trailing space starts a new word). */
function bashComplete(script: string, line: string): string[] {
  const words = line.split(' ');
  const probe = [
    'source "$1"',
    'shift',
    'COMP_WORDS=("$@")',
    'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))',
    'COMP_LINE="${COMP_WORDS[*]}"',
    'COMP_POINT=${#COMP_LINE}',
    '_bookd',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const r = spawnSync('bash', ['-c', probe, 'bash', script, ...words], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', `no errors completing "${line}"`);
  return r.stdout.split('\n').filter(Boolean);
}

test(
  'bookd completion bash completes commands, subcommands, options and their values',
  { skip: hasShell('bash') ? false : 'bash is not installed' },
  async () => {
    const { dir, cleanup } = tempDir();
    try {
      const r = await runCli(['completion', 'bash']);
      assert.equal(r.code, 0, r.stderr);
      const script = join(dir, 'bookd.bash');
      writeFileSync(script, r.stdout);
      const registered = spawnSync('bash', ['-c', 'source "$1" && complete -p bookd', 'bash', script], { encoding: 'utf8' });
      assert.match(registered.stdout, /complete -F _bookd bookd/);

      assert.deepEqual(bashComplete(script, 'bookd ses'), ['sessions']);
      assert.deepEqual(bashComplete(script, 'bookd sessions a'), ['add']);
      assert.deepEqual(bashComplete(script, 'bookd ').sort(), [...topLevelCommands()].sort(), 'every top-level command, no more');
      assert.deepEqual(bashComplete(script, 'bookd sessions add --coo'), ['--cookies']);
      // A global option and its value are skipped on the way to the command.
      assert.deepEqual(bashComplete(script, 'bookd --data-dir /tmp/x -q ses'), ['sessions']);
      assert.deepEqual(bashComplete(script, 'bookd sessions --data-dir /tmp/x a'), ['add']);
      assert.ok(bashComplete(script, 'bookd sessions list --').includes('--json'));
      assert.ok(bashComplete(script, 'bookd jobs list --').includes('--quiet'), 'global options everywhere');
      assert.deepEqual(bashComplete(script, 'bookd jobs list --state r'), ['running']);
      assert.deepEqual(bashComplete(script, 'bookd completion '), ['bash', 'zsh', 'fish']);
      assert.deepEqual(bashComplete(script, 'bookd help jo'), ['jobs']);
      writeFileSync(join(dir, 'cookies-here.txt'), '');
      assert.deepEqual(bashComplete(script, `bookd sessions add x --cookies ${join(dir, 'cookies-h')}`), [join(dir, 'cookies-here.txt')]);
    } finally {
      cleanup();
    }
  },
);

test('bookd completion zsh and fish produce scripts naming every top-level command (syntax-checked where the shell exists)', async (t) => {
  const { dir, cleanup } = tempDir();
  try {
    for (const shell of ['zsh', 'fish'] as const) {
      const r = await runCli(['completion', shell]);
      assert.equal(r.code, 0, r.stderr);
      for (const name of topLevelCommands()) assert.ok(new RegExp(`['\\s]${name}[':]`).test(r.stdout), `${shell} script mentions ${name}`);
      const file = join(dir, `bookd.${shell}`);
      writeFileSync(file, r.stdout);
      await t.test(`${shell} -n accepts it`, { skip: hasShell(shell) ? false : `${shell} is not installed` }, () => {
        const check = spawnSync(shell, ['-n', file], { encoding: 'utf8' });
        assert.equal(check.status, 0, check.stderr);
      });
    }
    await t.test('fish completes with it', { skip: hasShell('fish') ? false : 'fish is not installed' }, () => {
      const complete = (line: string) => {
        const c = spawnSync('fish', ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', join(dir, 'bookd.fish'), line], { encoding: 'utf8' });
        assert.equal(c.status, 0, c.stderr);
        return c.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\t')[0]);
      };
      assert.deepEqual(complete('bookd ses'), ['sessions']);
      assert.deepEqual(complete('bookd --data-dir /tmp sessions a'), ['add']);
      assert.deepEqual(complete('bookd jobs list --state r'), ['running']);
    });
  } finally {
    cleanup();
  }
});

test('bookd completion with an unknown or missing shell is a usage error', async () => {
  for (const args of [['completion', 'tcsh'], ['completion']]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^bookd: .*shell/);
    assert.equal(r.stdout, '');
  }
});

test('a config file in $XDG_CONFIG_HOME is read; a bad key there is exit 78 naming the file and the key; --config replaces it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const xdg = join(dir, 'xdg');
    const file = join(xdg, 'bookd', 'config.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ dataDir: join(dir, 'from-xdg') }));
    const env = { XDG_CONFIG_HOME: xdg };
    const r = await runCli(['enqueue', '--book', '9781492056348'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(dir, 'from-xdg', 'bookd.db')), 'the data dir the XDG file names');

    const explicit = join(dir, 'explicit.json');
    writeFileSync(explicit, JSON.stringify({ dataDir: join(dir, 'from-flag') }));
    assert.equal((await runCli(['--config', explicit, 'enqueue', '--book', '9781492056348'], { env })).code, 0);
    assert.ok(existsSync(join(dir, 'from-flag', 'bookd.db')), '--config is read instead of the XDG file');

    writeFileSync(file, JSON.stringify({ workers: 'lots' }));
    const bad = await runCli(['status'], { env });
    assert.equal(bad.code, 78, bad.stderr);
    assert.match(bad.stderr, new RegExp(`config file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, key "workers"`));
  } finally {
    cleanup();
  }
});

test('the library defaults to $XDG_DATA_HOME/bookd/library, but one at the old default <data-dir>/library is kept, and the daemon says how to move it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const data = join(dir, 'data');
    const env = { BOOKD_DATA_DIR: data, BOOKD_BASE_URL: 'http://127.0.0.1:9', XDG_DATA_HOME: join(dir, 'share') };
    const libraryOf = async () => {
      const r = await runCli(['library', 'verify', '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { library: string }).library;
    };
    const fresh = await runCli(['run', '--until-empty'], { env });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.doesNotMatch(fresh.stdout, /old default place/);
    assert.equal(await libraryOf(), join(dir, 'share', 'bookd', 'library'));

    mkdirSync(join(data, 'library'));
    const old = await runCli(['run', '--until-empty'], { env });
    assert.equal(old.code, 0, old.stderr);
    const note = old.stdout.split('\n').find((l) => l.includes('old default place'));
    assert.ok(note, old.stdout);
    assert.equal((JSON.parse(note) as { level: number }).level, 40, 'a warning, so -q still shows it');
    assert.ok(note.includes(`mv ${join(data, 'library')} ${join(dir, 'share', 'bookd', 'library')}`), note);
    assert.equal(await libraryOf(), join(data, 'library'));
  } finally {
    cleanup();
  }
});
