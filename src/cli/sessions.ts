import { readFileSync } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import { CookieJar } from 'tough-cookie';
import { isSessionName, type SessionRecord } from '../db/sessions.js';
import type { Store } from '../db/store.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { BookdError, SupersededJarError, UsageError, errorMessage } from '../errors.js';
import { parseCookieExport, MAX_COOKIE_FILE_BYTES, type ImportedCookie } from '../pool/cookie-import.js';
import { runCommand } from '../pool/browser/chromium.js';
import { parseBrowserSpec, type BrowserSpec } from '../pool/browser/profiles.js';
import { readBrowserCookies } from '../pool/browser/read.js';
import { readPasswordFile } from '../pool/credentials.js';
import { jarFromImport, restoreJar, serializeJar, tokenExpiry } from '../pool/jar.js';
import { standaloneSession } from '../pool/standalone.js';
import { sessionHolds } from '../pool/holds.js';
import { login } from '../oreilly/login.js';
import { withStore, type CommandLike } from './support/context.js';
import { printJson, table } from './support/format.js';
import { duration, relative, timestamp } from '../views/format.js';

function readInput(source: string, what: string): Buffer {
  try {
    if (source === '-') return readFileSync(0);
    return readFileSync(source);
  } catch (err) {
    throw new BookdError(
      'bad_input',
      `cannot read ${what} ${source === '-' ? 'from standard input' : source} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
    );
  }
}

/**
 * Takes a session for this command, so no daemon uses its jar meanwhile (a daemon holds the
 * sessions it works with). Returns the function that drops the hold, or undefined when a live
 * process holds it.
 */
function holdForCommand(store: Store, config: Config, name: string): Promise<(() => Promise<void>) | undefined> {
  return sessionHolds(store.sessions, { clock: store.clock, ...config.tuning.holds }).keep(name);
}

/** Epoch milliseconds as ISO-8601 for --json output, null when unknown. */
function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** One line of `sessions check --json`. */
interface CheckResult {
  name: string;
  result: 'ok' | 'expired' | 'failed' | 'disabled' | 'in-use' | 'replaced' | 'error';
  detail: string;
  checkedAt: string;
  tokenExpiresAt: string | null;
}

function expiresIn(exp: number | undefined, now: number): string {
  if (exp === undefined) return '-';
  return exp <= now ? `expired ${duration(now - exp)} ago` : duration(exp - now);
}

/** Until when the session can refresh its own token: its orm-rt's expiry (docs/SERVICE.md §1). */
function refreshUntil(s: SessionRecord, now: number): string {
  if (!s.hasRefreshCookie) return 'no orm-rt';
  if (s.refreshExpiresAt === undefined) return 'no expiry known';
  return s.refreshExpiresAt > now
    ? `${timestamp(s.refreshExpiresAt)} (in ${duration(s.refreshExpiresAt - now)})`
    : `expired ${duration(now - s.refreshExpiresAt)} ago`;
}

/** Who the service's requests of this session look like (docs/SERVICE.md §4). */
function identity(config: Config, userAgent: string | undefined) {
  return {
    baseUrl: config.baseUrl,
    authUrl: config.authUrl,
    userAgent: userAgent ?? config.userAgent,
    acceptLanguage: config.acceptLanguage,
    tuning: config.tuning,
  };
}

/** Thrown for an account whose subscription lapsed: the session cannot be repaired by new cookies alone. */
class LapsedError extends BookdError {
  constructor(name: string, userType: string) {
    super('auth', `the account behind session ${name} has no active subscription (user type "${userType}"); renew it, then import fresh cookies`);
    this.name = 'LapsedError';
  }
}

async function probeAndReport(
  name: string,
  config: Config,
  userAgent: string | undefined,
  jarJson: string,
  save: (jar: string, exp: number | undefined) => void | Promise<void>,
): Promise<string> {
  const { session, close } = standaloneSession({ name, ...identity(config, userAgent), jar: restoreJar(jarJson), persistJar: save });
  try {
    const profile = await session.probe();
    if (profile.status === 'lapsed') throw new LapsedError(name, profile.userType);
    return profile.userType ? `user type ${profile.userType}` : profile.evidence;
  } finally {
    await close();
  }
}

interface Obtained {
  jarJson: string;
  detail: string;
  loginEmail?: string;
  passwordFile?: string;
}

/** A cookie export read: its cookies and what to call it in the output. */
function readExport(source: string): { cookies: ImportedCookie[]; from: string } {
  const { format, cookies } = parseCookieExport(readInput(source, 'the cookie file').subarray(0, MAX_COOKIE_FILE_BYTES + 1));
  return { cookies, from: `a ${format} export` };
}

/** The service's cookies of a browser profile, and that browser's User-Agent. */
function readBrowser(spec: BrowserSpec, config: Config): { cookies: ImportedCookie[]; from: string; userAgent: string } {
  const got = readBrowserCookies(spec, { env: process.env, platform: process.platform, run: runCommand, urls: [config.baseUrl, config.authUrl] });
  if (!got.cookies.some((c) => c.name === 'orm-jwt' && c.value !== '')) {
    throw new BookdError(
      'bad_input',
      `the ${got.source} has no orm-jwt cookie for ${new URL(config.baseUrl).hostname}, the one that carries the login: log in to the service in that profile first`,
    );
  }
  return { cookies: got.cookies, from: `the ${got.source}`, userAgent: got.userAgent };
}

/** Imported cookies scoped to the service and (unless told not to) checked against /profile/. */
async function importCookies(
  name: string,
  source: { cookies: ImportedCookie[]; from: string },
  check: boolean,
  config: Config,
  userAgent: string | undefined,
): Promise<Obtained> {
  const { jar, kept, skipped } = jarFromImport(source.cookies, config.baseUrl);
  let jarJson = serializeJar(jar);
  let detail = `${kept} cookies from ${source.from}${skipped.length ? `, ${skipped.length} for other sites left out` : ''}`;
  if (!jar.getCookiesSync(`${config.baseUrl}/`, { expire: false }).some((c) => c.key === 'groot_sessionid')) {
    // Not refused: which cookies the live service needs is not settled (docs/SERVICE.md §1).
    process.stderr.write(
      `warning: the cookies from ${source.from} have no groot_sessionid cookie; a partial cookie set may be treated as anonymous: export all cookies of the site\n`,
    );
  }
  if (check) {
    const userType = await probeAndReport(name, config, userAgent, jarJson, (j) => {
      jarJson = j;
    }).catch((err: unknown) => {
      if (err instanceof BookdError && err.kind === 'auth') {
        throw new BookdError(
          'auth',
          `these cookies are not logged in (${err.message}); log in again in the browser, export fresh cookies and retry (or --no-check to save them anyway)`,
        );
      }
      throw err;
    });
    detail += `, checked: logged in (${userType})`;
  }
  return { jarJson, detail };
}

/** A password login; the password is used and forgotten, only the file's path may be kept. */
async function logIn(
  name: string,
  email: string,
  passwordFile: string,
  relogin: boolean,
  config: Config,
  userAgent: string | undefined,
  clock: Clock,
): Promise<Obtained> {
  const password =
    passwordFile === '-'
      ? readInput('-', 'the password')
          .toString('utf8')
          .replace(/\r?\n$/, '')
      : readPasswordFile(passwordFile);
  if (!password)
    throw new BookdError('bad_input', `no password in ${passwordFile === '-' ? 'standard input' : passwordFile}: put it in that file on its own line`);
  const jar = new CookieJar();
  let jarJson = serializeJar(jar);
  const { session, close } = standaloneSession({
    name,
    ...identity(config, userAgent),
    jar,
    persistJar: (j) => {
      jarJson = j;
    },
  });
  try {
    await login(session, email, password, () => clock.now());
  } finally {
    await close();
  }
  const kept = relogin && passwordFile !== '-' ? passwordFile : undefined;
  return { jarJson, loginEmail: email, passwordFile: kept, detail: `logged in as ${email}${kept ? `; it logs in again with ${kept} when it expires` : ''}` };
}

/** What `sessions add` and `sessions renew` take. */
interface AddOptions {
  cookies?: string;
  fromBrowser?: string;
  email?: string;
  passwordFile?: string;
  relogin: boolean;
  check: boolean;
  replace?: boolean;
  userAgent?: string;
  json?: boolean;
}

/**
 * `sessions add`, and `sessions renew` (add --replace for a session that must exist). A replace
 * takes no hold: see the comment below and docs/ARCHITECTURE.md, threads and processes.
 */
async function addCookies(name: string, opts: AddOptions, cmd: CommandLike, mode: 'add' | 'renew'): Promise<void> {
  if (!isSessionName(name)) throw new UsageError(`"${name}" is not a valid session name: use 1–64 letters, digits, '.', '_' or '-'`);
  if ([opts.cookies, opts.fromBrowser, opts.email].filter((o) => o !== undefined).length !== 1) {
    throw new UsageError(
      mode === 'renew'
        ? 'give one of --cookies FILE or --from-browser BROWSER[:PROFILE]'
        : 'give one of --cookies FILE, --from-browser BROWSER[:PROFILE] or --email E --password-file F',
    );
  }
  if (opts.email && !opts.passwordFile) throw new UsageError('--email needs --password-file FILE');
  if (!opts.email && opts.passwordFile) throw new UsageError(`--password-file goes with --email, not ${opts.cookies ? '--cookies' : '--from-browser'}`);
  const browser = opts.fromBrowser === undefined ? undefined : parseBrowserSpec(opts.fromBrowser);

  await withStore(cmd, async (store, config) => {
    const existing = await store.sessions.get(name);
    if (!existing && mode === 'renew') {
      throw new BookdError(
        'bad_input',
        `no session named "${name}" to renew: add it with bookd sessions add ${name} --from-browser BROWSER[:PROFILE] (or --cookies FILE)`,
      );
    }
    if (existing && !opts.replace) {
      throw new BookdError('bad_input', `a session named "${name}" already exists: use --replace to give it new cookies, or pick another name`);
    }
    // No hold: the new cookies are this command's alone until they are in the row. A daemon
    // that holds the session keeps its hold; its old chain's next save finds the row changed
    // and it goes on from these cookies (docs/ARCHITECTURE.md, threads and processes).
    // Cookies read from a browser go with that browser's User-Agent unless one is given.
    const fromBrowser = browser ? readBrowser(browser, config) : undefined;
    const newUserAgent = opts.userAgent ?? fromBrowser?.userAgent;
    const userAgent = newUserAgent ?? existing?.userAgent;
    const got = fromBrowser
      ? await importCookies(name, fromBrowser, opts.check, config, userAgent)
      : opts.cookies
        ? await importCookies(name, readExport(opts.cookies), opts.check, config, userAgent)
        : await logIn(name, opts.email!, opts.passwordFile!, opts.relogin, config, userAgent, store.clock);
    const exp = tokenExpiry(restoreJar(got.jarJson), config.baseUrl);
    const renew = existing !== undefined && !opts.email;
    await store.sessions.importJar(
      renew
        ? { name, jarJson: got.jarJson, tokenExpiresAt: exp, ...(newUserAgent && { userAgent: newUserAgent }) }
        : { name, jarJson: got.jarJson, tokenExpiresAt: exp, loginEmail: got.loginEmail, passwordFile: got.passwordFile, userAgent },
      renew ? 'renew' : 'replace',
    );
    if (opts.json) {
      printJson({
        name,
        result: mode === 'renew' ? 'renewed' : existing ? 'replaced' : 'added',
        via: opts.cookies ? 'cookies' : fromBrowser ? 'browser' : 'login',
        checked: opts.email ? true : opts.check,
        detail: got.detail,
        tokenExpiresAt: iso(exp),
        relogin: !!got.passwordFile,
      });
    } else {
      process.stdout.write(
        `session ${name} ${mode === 'renew' ? 'renewed' : existing ? 'replaced' : 'added'}: ${got.detail}; token expires in ${expiresIn(exp, store.clock.now())}\n`,
      );
    }
    if (fromBrowser) {
      process.stderr.write(
        `note: give each session its own browser profile that stays logged in: bookd rotates the token, so the browser's copy of session ${name} stops working (to renew it, log in there again and bookd sessions renew ${name} --from-browser …)\n`,
      );
    }
  });
}

export function registerSessions(program: Command): void {
  const sessions = program.command('sessions').description('manage the pool of authenticated sessions (one per browser login)');

  sessions
    .command('add')
    .description('import a logged-in cookie set, or log in with email and password (simulator; the live service blocks scripted logins)')
    .argument('<name>', 'a name for this session: letters, digits, . _ - (up to 64)')
    .option(
      '--cookies <file>',
      "a cookie export: flat {name: value} JSON, cookie-editor JSON, Netscape cookies.txt or a Cookie header; '-' reads standard input",
    )
    .option(
      '--from-browser <browser[:profile]>',
      'read the cookies out of a browser profile: firefox, chromium, chrome, brave or edge, then a profile name or path (default: the default profile)',
    )
    .option('--email <email>', 'log in with this email (needs --password-file)')
    .option('--password-file <file>', "file holding the password; '-' reads standard input (then it is never kept for re-login)")
    .option('--no-relogin', 'do not keep the password file path for logging in again when the session expires')
    .option('--no-check', 'save the cookies without checking them against /profile/ first')
    .option('--replace', 'replace the cookies of an existing session, also while a daemon uses it (its next request uses the new ones)')
    .option('--user-agent <ua>', "the User-Agent of the browser the cookies came from (default: the userAgent setting, a current desktop browser's)")
    .option('--json', 'print the result as JSON (no cookie values)')
    .action(async (name, opts, cmd) => {
      await addCookies(name, opts, cmd, 'add');
    });

  sessions
    .command('renew')
    .description('give an existing session fresh cookies, also while a daemon uses it (the same as add --replace, for a session that exists)')
    .argument('<name>', 'the session to renew')
    .option('--cookies <file>', "a cookie export (as for sessions add); '-' reads standard input")
    .option('--from-browser <browser[:profile]>', 'read the cookies out of a browser profile (as for sessions add)')
    .option('--no-check', 'save the cookies without checking them against /profile/ first')
    .option('--user-agent <ua>', 'the User-Agent of the browser the cookies came from (default: the browser read, else the one the session had)')
    .option('--json', 'print the result as JSON (no cookie values)')
    .action(async (name, opts, cmd) => {
      await addCookies(name, { ...opts, relogin: true, replace: true }, cmd, 'renew');
    });

  sessions
    .command('list')
    .description('show every session: state, token expiry, use, errors')
    .option('--json', 'print JSON')
    .action(async (opts, cmd) => {
      await withStore(cmd, async (store) => {
        const now = store.clock.now();
        const list = await store.sessions.list();
        if (opts.json) {
          const out = list.map((s) => ({
            name: s.name,
            state: s.state,
            tokenExpiresAt: iso(s.tokenExpiresAt),
            renewedAt: iso(s.renewedAt),
            refreshCookie: s.hasRefreshCookie,
            refreshExpiresAt: iso(s.refreshExpiresAt),
            lastUsedAt: iso(s.lastUsedAt),
            booksDone: s.booksDone,
            requests: s.requests,
            errorScore: s.errorScore,
            cooldownUntil: iso(s.cooldownUntil),
            lastError: s.lastError || null,
            relogin: !!s.loginEmail,
          }));
          printJson(out);
          return;
        }
        if (list.length === 0) {
          process.stdout.write('no sessions: add one with bookd sessions add NAME --cookies FILE\n');
          return;
        }
        const rows = [['NAME', 'STATE', 'TOKEN EXPIRES', 'RENEWED', 'CAN REFRESH UNTIL', 'LAST USED', 'BOOKS', 'SCORE', 'COOLDOWN', 'LAST ERROR']];
        for (const s of list) {
          rows.push([
            s.name,
            s.state === 'partial' ? 'partial cookies?' : s.state,
            s.tokenExpiresAt === undefined ? '-' : s.tokenExpiresAt > now ? `in ${duration(s.tokenExpiresAt - now)}` : expiresIn(s.tokenExpiresAt, now),
            s.renewedAt === undefined ? '-' : relative(s.renewedAt, now),
            refreshUntil(s, now),
            s.lastUsedAt === undefined ? '-' : relative(s.lastUsedAt, now),
            String(s.booksDone),
            s.errorScore.toFixed(1),
            s.cooldownUntil && s.cooldownUntil > now ? relative(s.cooldownUntil, now) : '-',
            s.lastError || '-',
          ]);
        }
        process.stdout.write(`${table(rows)}\n`);
      });
    });

  sessions
    .command('check')
    .description('probe sessions against /profile/ now and record what they answer')
    .argument('[name]', 'only this session')
    .option('--json', 'print one result per session as JSON (no cookie values)')
    .action(async (name, opts, cmd) => {
      await withStore(cmd, async (store, config) => {
        const one = name === undefined ? undefined : await store.sessions.get(name);
        const targets: SessionRecord[] = name === undefined ? await store.sessions.list() : one ? [one] : [];
        if (name && targets.length === 0) throw new BookdError('bad_input', `no session named "${name}" (see bookd sessions list)`);
        const results: CheckResult[] = [];
        const report = (r: CheckResult, line: string) => {
          results.push(r);
          if (!opts.json) process.stdout.write(`${line}\n`);
        };
        for (const s of targets) {
          const base = { name: s.name, checkedAt: new Date(store.clock.now()).toISOString() };
          if (s.state === 'disabled') {
            report({ ...base, result: 'disabled', detail: 'not checked', tokenExpiresAt: iso(s.tokenExpiresAt) }, `${s.name}: disabled, not checked`);
            continue;
          }
          const dropHold = await holdForCommand(store, config, s.name);
          if (!dropHold) {
            // Probing it from here would race the daemon for its rotating token.
            report(
              {
                ...base,
                result: 'in-use',
                detail: `in use by a running daemon (${s.holder}), which checks it itself; not checked`,
                tokenExpiresAt: iso(s.tokenExpiresAt),
              },
              `${s.name}: in use by a running daemon (${s.holder}), which checks it itself; not checked`,
            );
            continue;
          }
          try {
            // Read again now that it is held: a daemon may have rotated its token since the list.
            let expected = (await store.sessions.get(s.name))?.jarJson ?? s.jarJson;
            const userType = await probeAndReport(s.name, config, s.userAgent, expected, async (j, exp) => {
              // Saved only over the jar it started from: cookies imported meanwhile win.
              if (!(await store.sessions.saveJar(s.name, j, exp, expected))) throw new SupersededJarError(s.name);
              expected = j;
            });
            await store.sessions.setState(s.name, 'ok', { lastError: '' });
            report(
              { ...base, result: 'ok', detail: userType, tokenExpiresAt: iso((await store.sessions.get(s.name))?.tokenExpiresAt) },
              `${s.name}: ok (${userType})`,
            );
          } catch (err) {
            const message = errorMessage(err);
            const exp = iso((await store.sessions.get(s.name))?.tokenExpiresAt);
            if (err instanceof SupersededJarError) {
              report(
                { ...base, result: 'replaced', detail: 'new cookies were imported during the check; not checked', tokenExpiresAt: exp },
                `${s.name}: new cookies were imported during the check; not checked`,
              );
            } else if (err instanceof BookdError && err.kind === 'auth') {
              const state = err instanceof LapsedError ? 'failed' : 'expired';
              await store.sessions.setState(s.name, state, { lastError: message });
              report({ ...base, result: state, detail: message, tokenExpiresAt: exp }, `${s.name}: ${state}: ${message}`);
            } else {
              report({ ...base, result: 'error', detail: message, tokenExpiresAt: exp }, `${s.name}: not checked: ${message}`);
            }
          } finally {
            await dropHold();
          }
        }
        if (opts.json) printJson(results);
        if (results.some((r) => r.result === 'expired' || r.result === 'failed' || r.result === 'error')) process.exitCode = 1;
      });
    });

  const stateChange = (verb: string, description: string, apply: (store: Store, s: SessionRecord) => Promise<string>) =>
    sessions
      .command(verb)
      .description(description)
      .argument('<name>', 'the session')
      .action(async (name, _opts, cmd) => {
        await withStore(cmd, async (store) => {
          const s = await store.sessions.get(name);
          if (!s) throw new BookdError('bad_input', `no session named "${name}" (see bookd sessions list)`);
          process.stdout.write(`${await apply(store, s)}\n`);
        });
      });

  stateChange('disable', 'stop using a session until it is enabled again', async (store, s) => {
    await store.sessions.setState(s.name, 'disabled');
    return `session ${s.name} disabled`;
  });
  stateChange('enable', 'use a disabled (or parked) session again', async (store, s) => {
    await store.sessions.setState(s.name, 'ok', { lastError: '' });
    return `session ${s.name} enabled${s.state === 'expired' || s.state === 'failed' || s.state === 'partial' ? ` (it was ${s.state}: if it fails again, import fresh cookies with --replace)` : ''}`;
  });
  stateChange('remove', 'delete a session and its cookies', async (store, s) => {
    await store.sessions.remove(s.name);
    return `session ${s.name} removed`;
  });
}
