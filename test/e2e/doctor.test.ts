import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { addSessions, bookdEnv } from '../helpers/library.js';
import { startSimProcess, type SimProcess } from '../helpers/sim.js';

/**
 * `bookd doctor` against `bookd sim`: the defaults are the live-like behaviours of docs/SERVICE.md
 * (2026-09 rows), so every check passes; each switched-off behaviour shows as its own ✗.
 */

interface Report {
  version: string;
  baseUrl: string;
  session: string;
  book: string;
  at: string;
  requests: number;
  checks: { id: string; title: string; status: 'pass' | 'fail' | 'unknown'; evidence: string; expected: string; impact: string | null }[];
  summary: string[];
}

const CHECK_IDS = [
  'probe',
  'token',
  'metadata',
  'search',
  'files',
  'file-whole',
  'file-no-download-param',
  'file-json-accept',
  'chapters',
  'spine',
  'anonymous',
  'cover',
  'headers',
];

/** Runs the doctor unpaced; the sim's clock moves on first so a renewed token's exp (whole seconds) can move and the per-IP guard has refilled. */
async function doctor(sim: SimProcess, env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ r: CliResult; sent: number }> {
  await sim.control({ advanceClockMs: 5000 });
  const before = (await sim.stats()).requests.total;
  const r = await runCli(['doctor', '--interval', '0', ...args], { env, timeoutMs: 60_000 });
  return { r, sent: (await sim.stats()).requests.total - before };
}

/** The check lines of a text run, by title prefix: `✓ title: evidence`. */
function lines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => /^[✓✗?] /.test(l));
}

/** The line of one check without its title: `✓ evidence`. */
function line(stdout: string, title: string): string {
  const found = lines(stdout).find((l) => l.slice(2).startsWith(`${title}: `));
  assert.ok(found, `a line for "${title}" in:\n${stdout}`);
  return `${found.slice(0, 2)}${found.slice(2 + title.length + 2)}`;
}

function storedJar(dataDir: string, name: string): { values: string[]; jwt: string | undefined; holder: unknown } {
  const db = new BetterSqlite3(join(dataDir, 'bookd.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT jar, holder FROM sessions WHERE name = ?').get(name) as { jar: string; holder: unknown };
    const cookies = (JSON.parse(row.jar) as { cookies: { key: string; value: string }[] }).cookies;
    return { values: cookies.map((c) => c.value), jwt: cookies.find((c) => c.key === 'orm-jwt')?.value, holder: row.holder };
  } finally {
    db.close();
  }
}

async function withSim(args: string[], fn: (sim: SimProcess) => Promise<void>): Promise<void> {
  const sim = await startSimProcess(['--seed', '93', '--books', '6', ...args]);
  try {
    await fn(sim);
  } finally {
    await sim.stop();
  }
}

test('doctor against a default sim: every check passes, exit 0, at most 20 requests, a JSON report without cookie values', async () => {
  await withSim([], async (sim) => {
    const { dir, cleanup } = tempDir();
    try {
      const data = join(dir, 'data');
      const env = bookdEnv(data, sim.url);
      const [imported] = await addSessions(sim, 1, dir, env);

      const { r, sent } = await doctor(sim, env);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const checks = lines(r.stdout);
      assert.equal(checks.length, CHECK_IDS.length, r.stdout);
      for (const l of checks) assert.ok(l.startsWith('✓ '), l);
      assert.match(line(r.stdout, 'session probe'), /302 \/profile\/ → 307 \/profile\/sso\/ → 200 .*no user_type/);
      assert.match(line(r.stdout, 'token renewal'), /exp moved by \d+s/);
      assert.match(line(r.stdout, 'chapter file, download=false + HTML Accept'), /200, (\d+) of its \1 bytes \(whole\)/);
      assert.match(line(r.stdout, 'chapter file without download=false'), /a sample/);
      assert.match(line(r.stdout, 'response headers'), /Server: istio-envoy ×\d+/);
      const last = r.stdout.trimEnd().split('\n').at(-1)!;
      const m = /^13 checks, 0 differ, (\d+) requests$/.exec(last);
      assert.ok(m, last);
      assert.equal(Number(m[1]), sent, 'the request count is what the service saw');
      assert.ok(sent <= 20, `${sent} requests`);

      const json = await doctor(sim, env, ['--json']);
      assert.equal(json.r.code, 0, json.r.stderr);
      assert.ok(json.sent <= 20, `${json.sent} requests`);
      const report = JSON.parse(json.r.stdout) as Report;
      assert.equal(report.session, 's1');
      assert.equal(report.baseUrl, sim.url);
      assert.match(report.book, /^\d{13}$/);
      assert.ok(!Number.isNaN(Date.parse(report.at)));
      assert.equal(report.requests, json.sent);
      assert.deepEqual(
        report.checks.map((c) => c.id),
        CHECK_IDS,
      );
      for (const c of report.checks) {
        assert.equal(c.status, 'pass', `${c.id}: ${c.evidence}`);
        assert.ok(c.expected.length > 0 && c.evidence.length > 0);
      }
      assert.equal(report.summary.length, 1);

      // Every rotated jar went to the session's row, and the hold was given back.
      const stored = storedJar(data, 's1');
      assert.notEqual(stored.jwt, imported!['orm-jwt'], 'the renewed orm-jwt was saved');
      assert.equal(stored.holder, null);
      for (const value of [...Object.values(imported!), ...stored.values].filter((v) => v.length > 8)) {
        assert.ok(!json.r.stdout.includes(value), 'no cookie value in the JSON report');
        assert.ok(!r.stdout.includes(value), 'no cookie value in the text report');
      }

      // The named session, and one that does not exist.
      const named = await doctor(sim, env, ['--session', 's1', '--book', report.book]);
      assert.equal(named.r.code, 0, named.r.stdout);
      const nosuch = await runCli(['doctor', '--session', 'nosuch', '--interval', '0'], { env });
      assert.equal(nosuch.code, 1);
      assert.equal(nosuch.stderr.trim().split('\n').length, 1, nosuch.stderr);
      assert.match(nosuch.stderr, /^bookd: there is no session named "nosuch": see bookd sessions list/);
      const badBook = await runCli(['doctor', '--book', '12345', '--interval', '0'], { env });
      assert.equal(badBook.code, 2, badBook.stderr);
    } finally {
      cleanup();
    }
  });
});

test('doctor without sessions, or with one that is not logged in: one clear line, exit 1', async () => {
  await withSim([], async (sim) => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url);
      const none = await runCli(['doctor', '--interval', '0'], { env });
      assert.equal(none.code, 1, none.stderr);
      assert.equal(none.stderr.trim().split('\n').length, 1, none.stderr);
      assert.match(none.stderr, /there are no sessions: add one with bookd sessions add NAME --cookies FILE/);

      const [cookies] = await sim.mint(1);
      writeFileSync(join(dir, 'old.json'), JSON.stringify({ ...cookies, 'orm-jwt': 'x.y.z', 'orm-rt': 'nope' }));
      assert.equal((await runCli(['sessions', 'add', 'old', '--cookies', join(dir, 'old.json'), '--no-check'], { env })).code, 0);
      const { r, sent } = await doctor(sim, env);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /session old is not logged in .*bookd sessions add old --cookies FILE --replace/);
      assert.ok(sent <= 2, `it stops at the login page (${sent} requests)`);

      // A lapsed subscription: the profile says "Expired".
      const [lapsed] = await sim.mint(1, { expired: true });
      writeFileSync(join(dir, 'lapsed.json'), JSON.stringify(lapsed));
      assert.equal((await runCli(['sessions', 'add', 'lapsed', '--cookies', join(dir, 'lapsed.json'), '--no-check'], { env })).code, 0);
      const gone = await doctor(sim, env, ['--session', 'lapsed']);
      assert.equal(gone.r.code, 1, gone.r.stdout);
      assert.equal(gone.r.stderr.trim().split('\n').length, 1, gone.r.stderr);
      assert.match(gone.r.stderr, /the account behind session lapsed has no active subscription .*"Expired".*renew the subscription/);
    } finally {
      cleanup();
    }
  });
});

/** Imports one session on `sim`, runs the doctor, and returns the text run. */
async function doctorOn(sim: SimProcess, dir: string): Promise<CliResult> {
  const env = bookdEnv(join(dir, 'data'), sim.url);
  await addSessions(sim, 1, dir, env);
  const { r, sent } = await doctor(sim, env);
  assert.ok(sent <= 20, `${sent} requests`);
  return r;
}

test('doctor with the file gate off: (X)HTML arrives whole without download=false; the two harmless lines differ, exit 1', async () => {
  await withSim(['--file-gate', 'off'], async (sim) => {
    const { dir, cleanup } = tempDir();
    try {
      const r = await doctorOn(sim, dir);
      assert.equal(r.code, 1, r.stdout);
      assert.match(line(r.stdout, 'chapter file, download=false + HTML Accept'), /^✓ .*\(whole\)/);
      assert.match(line(r.stdout, 'chapter file without download=false'), /^✗ .*\(whole\)/);
      assert.match(line(r.stdout, 'chapter file with a JSON Accept'), /^✗ .*\(whole\)/);
      assert.equal(lines(r.stdout).filter((l) => l.startsWith('✗')).length, 2, r.stdout);
      assert.match(r.stdout, /harmless, bookd sends download=false anyway/);
      assert.match(r.stdout, /13 checks, 2 differ, \d+ requests\n$/);
    } finally {
      cleanup();
    }
  });
});

test('doctor when the topic listing needs cookies: that check differs, and nothing changes for bookd', async () => {
  await withSim(['--anonymous-listing', 'off'], async (sim) => {
    const { dir, cleanup } = tempDir();
    try {
      const r = await doctorOn(sim, dir);
      assert.equal(r.code, 1, r.stdout);
      assert.match(line(r.stdout, 'topic listing without cookies'), /^✗ 401 .*with no cookie sent/);
      assert.equal(lines(r.stdout).filter((l) => l.startsWith('✗')).length, 1, r.stdout);
      assert.match(r.stdout, /the anonymous listing needs cookies: nothing changes, discovery sends a session's/);
    } finally {
      cleanup();
    }
  });
});

test('doctor when the token endpoint renews nothing: the token check differs and says how to renew sessions', async () => {
  await withSim(['--token-endpoint', 'off'], async (sim) => {
    const { dir, cleanup } = tempDir();
    try {
      const r = await doctorOn(sim, dir);
      assert.equal(r.code, 1, r.stdout);
      assert.match(line(r.stdout, 'token renewal'), /^✗ .*answered 401.*exp did not move/);
      assert.equal(lines(r.stdout).filter((l) => l.startsWith('✗')).length, 1, r.stdout);
      assert.match(r.stdout, /the token endpoint did not renew: sessions will expire at exp .*bookd sessions add NAME --cookies FILE --replace/);
    } finally {
      cleanup();
    }
  });
  // The same through the control endpoint, on a running sim.
  await withSim([], async (sim) => {
    const { dir, cleanup } = tempDir();
    try {
      await sim.control({ tokenEndpoint: false });
      const r = await doctorOn(sim, dir);
      assert.equal(r.code, 1, r.stdout);
      assert.match(line(r.stdout, 'token renewal'), /^✗ /);
    } finally {
      cleanup();
    }
  });
});

test('doctor with a plain profile page (user_type present): the probe passes as well', async () => {
  await withSim(['--profile-mode', 'plain'], async (sim) => {
    const { dir, cleanup } = tempDir();
    try {
      const r = await doctorOn(sim, dir);
      assert.equal(r.code, 0, r.stdout);
      assert.match(line(r.stdout, 'session probe'), /^✓ 200 \/profile\/; logged in .*user_type "Individual"/);
      for (const l of lines(r.stdout)) assert.ok(l.startsWith('✓ '), l);
    } finally {
      cleanup();
    }
  });
});

test('doctor with a partial cookie set (no groot_sessionid): the metadata answers 404 and the report says to export all cookies', async () => {
  await withSim(['--partial-cookies', '404'], async (sim) => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url);
      const [cookies] = await sim.mint(1);
      const partial: Record<string, string> = { ...cookies };
      delete partial.groot_sessionid;
      writeFileSync(join(dir, 'partial.json'), JSON.stringify(partial));
      const add = await runCli(['sessions', 'add', 'half', '--cookies', join(dir, 'partial.json'), '--no-check'], { env });
      assert.equal(add.code, 0, add.stderr);
      const { r, sent } = await doctor(sim, env, ['--json']);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(sent <= 20, `${sent} requests`);
      const report = JSON.parse(r.stdout) as Report;
      const byId = new Map(report.checks.map((c) => [c.id, c]));
      assert.equal(byId.get('probe')!.status, 'pass', 'the profile still says logged in');
      const meta = byId.get('metadata')!;
      assert.equal(meta.status, 'fail');
      assert.match(meta.evidence, /^404 .*no groot_sessionid/);
      assert.match(meta.impact!, /partial cookie set.*export all cookies of the site.*bookd sessions add half --cookies FILE --replace/);
      assert.equal(report.checks.filter((c) => c.status === 'fail').length, 1, JSON.stringify(report.checks, null, 2));
      for (const value of Object.values(partial).filter((v) => v.length > 8)) assert.ok(!r.stdout.includes(value), 'no cookie value in the report');
    } finally {
      cleanup();
    }
  });
});

test('doctor while the bulk-access guard throttles this machine: a sample cannot be blamed on download=false', async () => {
  await withSim(['--guard-rate', '1', '--guard-burst', '4'], async (sim) => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url);
      await addSessions(sim, 1, dir, env);
      const { r } = await doctor(sim, env, ['--json']);
      const report = JSON.parse(r.stdout) as Report;
      const whole = report.checks.find((c) => c.id === 'file-whole')!;
      assert.equal(whole.status, 'unknown', whole.evidence);
      assert.match(whole.evidence, /a sample.*bulk-access guard/);
      assert.ok(
        report.checks.some((c) => c.status === 'unknown' && /throttling this machine/.test(c.evidence)),
        'the 403s are said to be throttling',
      );
      assert.equal(r.code, report.checks.some((c) => c.status === 'fail') ? 1 : 0);
    } finally {
      cleanup();
    }
  });
});
