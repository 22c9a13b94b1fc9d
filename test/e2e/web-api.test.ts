import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startCli, tempDir, waitFor, type Running } from '../helpers/cli.js';
import { addSessions, bookdEnv, cliJson } from '../helpers/library.js';
import { startSimProcess, type SimCatalogue, type SimProcess } from '../helpers/sim.js';
import { freePort, leaks, storedCookieValues, WebClient, withHost } from '../helpers/web.js';

interface JobJson {
  id: number;
  state: string;
  kind: string;
  payload: { bookId?: string; skill?: string };
  last_error: { kind: string; message: string } | null;
}

/** What a request may not change: jobs, the pause, the sessions and their states. */
async function dbState(env: NodeJS.ProcessEnv) {
  const jobs = await cliJson<JobJson[]>(['jobs', 'list'], env);
  const status = await cliJson<{ paused: boolean; jobs: Record<string, number> }>(['status'], env);
  const sessions = await cliJson<{ name: string; state: string }[]>(['sessions', 'list'], env);
  return {
    jobs: jobs.map((j) => [j.id, j.state, j.kind, JSON.stringify(j.payload)]),
    paused: status.paused,
    sessions: sessions.map((s) => [s.name, s.state]),
  };
}

async function startDaemon(env: NodeJS.ProcessEnv, http: string): Promise<Running> {
  return startCli(['run', '--http', http], { env: { ...env, BOOKD_LOG_LEVEL: 'info' } });
}

describe('the web API', () => {
  let sim: SimProcess;
  let cat: SimCatalogue;
  before(async () => {
    sim = await startSimProcess(['--seed', '41', '--books', '8', '--poison', '--rotate', 'off']);
    cat = await sim.catalogue();
  });
  after(async () => {
    await sim.stop();
  });

  test('on loopback without a token: every endpoint and action, bad input changes nothing, cross-site requests are refused, no response holds a cookie', async () => {
    const { dir, cleanup } = tempDir();
    const data = join(dir, 'data');
    const env = bookdEnv(data, sim.url, { BOOKD_RETRY_BASE_MS: '10' });
    const minted = await addSessions(sim, 2, dir, env);
    const port = await freePort();
    const web = new WebClient(`http://127.0.0.1:${port}`);
    const daemon = await startDaemon(env, `127.0.0.1:${port}`);
    try {
      await waitFor(async () => (await fetch(`${web.base}/healthz`).catch(() => undefined))?.status === 200, '/healthz', 15_000);
      const good = cat.books.filter((b) => b.flags.length === 0 && b.format === 'book');
      const poison = cat.books.find((b) => b.flags.includes('poison-missing'))!;

      // GET /api/csrf gives scripts the token every state-changing request needs.
      const { body: csrfBody } = await web.json<{ csrf: string }>('/api/csrf');
      const csrf = { 'x-csrf-token': csrfBody.csrf };

      // Enqueue (JSON): a good book and one that fails for good.
      const enq = await web.post<{ counts: Record<string, number>; jobs: { id: number; status: string }[] }>(
        '/api/enqueue',
        { books: [good[0]!.id, `https://learning.oreilly.com/library/view/x/${poison.id}/`] },
        csrf,
      );
      assert.equal(enq.status, 200, JSON.stringify(enq.body));
      assert.deepEqual(enq.body.counts, { added: 2, merged: 0, requeued: 0, exists: 0 });
      const [goodJob, poisonJob] = enq.body.jobs.map((j) => j.id);

      await waitFor(
        async () => {
          const failed = (await web.json<JobJson[]>('/api/jobs?state=failed')).body;
          const done = (await web.json<JobJson[]>('/api/jobs?state=succeeded')).body;
          return failed.some((j) => j.id === poisonJob) && done.some((j) => j.id === goodJob);
        },
        'the good book archived and the poison book failed',
        60_000,
        200,
      );

      // GET /api/status is `bookd status --json`.
      const apiStatus = (await web.json<Record<string, unknown>>('/api/status')).body;
      const cliStatus = await cliJson<Record<string, unknown>>(['status'], env);
      assert.deepEqual(Object.keys(apiStatus).sort(), Object.keys(cliStatus).sort());
      assert.deepEqual(apiStatus.jobs, cliStatus.jobs);
      assert.deepEqual(apiStatus.skills, cliStatus.skills);
      assert.deepEqual(
        (apiStatus.sessions as { name: string; state: string }[]).map((s) => [s.name, s.state]),
        (cliStatus.sessions as { name: string; state: string }[]).map((s) => [s.name, s.state]),
      );

      // GET /api/jobs with filters, GET /api/jobs/:id with its attempts.
      const all = (await web.json<JobJson[]>('/api/jobs')).body;
      assert.deepEqual(
        all.map((j) => j.id),
        [goodJob, poisonJob],
      );
      assert.deepEqual(
        (await web.json<JobJson[]>('/api/jobs?state=failed&kind=book')).body.map((j) => j.id),
        [poisonJob],
      );
      assert.deepEqual((await web.json<JobJson[]>('/api/jobs?skill=no-such-skill')).body, []);
      const shown = (await web.json<JobJson & { attempts: { outcome: string }[] }>(`/api/jobs/${poisonJob}`)).body;
      assert.equal(shown.state, 'failed');
      assert.match(shown.last_error!.message, /does not exist or was withdrawn/);
      assert.ok(shown.attempts.length >= 1 && shown.attempts.at(-1)!.outcome === 'failed', JSON.stringify(shown.attempts));
      assert.equal((await web.json(`/api/jobs/999999`)).status, 404);

      // Pause: the daemon claims nothing; a queued job can be cancelled; resume lets it claim again.
      assert.deepEqual((await web.post('/api/pause', { reason: 'testing' }, csrf)).body, {
        paused: true,
        reason: 'testing',
        since: (await cliJson<{ pause: { since: string } }>(['status'], env)).pause.since,
      });
      const more = await web.post<{ jobs: { id: number }[] }>('/api/enqueue', { books: [good[1]!.id, good[2]!.id] }, csrf);
      const [waiting, toCancel] = more.body.jobs.map((j) => j.id);
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal((await web.json<JobJson>(`/api/jobs/${waiting}`)).body.state, 'queued', 'paused: nothing is claimed');
      const cancelled = await web.post<{ cancelled: boolean; was: string }>(`/api/jobs/${toCancel}/cancel`, {}, csrf);
      assert.deepEqual([cancelled.status, cancelled.body.cancelled, cancelled.body.was], [200, true, 'queued']);
      assert.equal((await web.post(`/api/jobs/${toCancel}/cancel`, {}, csrf)).status, 409, 'a finished job cannot be cancelled');

      // Sessions: listed with what to do; disabled and enabled again, as the CLI sees it.
      const sessions = (await web.json<{ name: string; state: string; todo: string | null }[]>('/api/sessions')).body;
      assert.deepEqual(
        sessions.map((s) => s.name),
        ['s1', 's2'],
      );
      assert.equal((await web.post('/api/sessions/s2/disable', {}, csrf)).status, 200);
      assert.equal((await cliJson<{ name: string; state: string }[]>(['sessions', 'list'], env)).find((s) => s.name === 's2')!.state, 'disabled');
      assert.equal((await web.json<{ name: string; todo: string }[]>('/api/sessions')).body.find((s) => s.name === 's2')!.todo, 'bookd sessions enable s2');
      assert.equal((await web.post('/api/sessions/s2/enable', {}, csrf)).status, 200);
      assert.equal((await cliJson<{ name: string; state: string }[]>(['sessions', 'list'], env)).find((s) => s.name === 's2')!.state, 'ok');

      // Bad input: 400 (or 404 for what does not exist, 409 for a wrong state), and nothing changed.
      const before = await dbState(env);
      const bad: [string, unknown, number][] = [
        ['/api/enqueue', { books: ['12345'] }, 400],
        ['/api/enqueue', { books: [good[3]!.id, 'not-a-book'] }, 400],
        ['/api/enqueue', { skills: ' , ' }, 400],
        ['/api/enqueue', { books: [good[3]!.id], format: 'pdf' }, 400],
        ['/api/enqueue', { books: [good[3]!.id], priority: 'soon' }, 400],
        ['/api/enqueue', { books: 42 }, 400],
        ['/api/enqueue', {}, 400],
        ['/api/pause', { reason: 7 }, 400],
        ['/api/jobs/abc/retry', {}, 400],
        ['/api/jobs/0/retry', {}, 400],
        ['/api/jobs/999999/retry', {}, 404],
        [`/api/jobs/${goodJob}/retry`, {}, 409],
        ['/api/sessions/nobody/disable', {}, 404],
        ['/api/nothing-here', {}, 404],
      ];
      for (const [path, body, status] of bad) {
        const r = await web.post<{ error: string }>(path, body, csrf);
        assert.equal(r.status, status, `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
        assert.equal(typeof r.body.error, 'string', 'errors are JSON with a message');
      }
      for (const [path, text] of [
        ['/api/enqueue', '{not json'],
        ['/api/enqueue', '[1,2]'],
      ] as const) {
        const r = await web.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...csrf }, body: text });
        assert.equal(r.status, 400, `${path} ${text}`);
      }
      for (const q of ['/api/jobs?state=nope', '/api/jobs?limit=0', '/api/jobs?kind=movie', '/api/jobs/1x']) assert.equal((await web.json(q)).status, 400, q);
      const formBad = await web.form('/api/enqueue', { books: '12', _csrf: csrfBody.csrf });
      assert.equal(formBad.status, 400, 'a bad form is a 400 page');
      assert.match(formBad.text, /Nothing was changed/);

      // Cross-site: another Origin, no CSRF token, a cross-site fetch, a rebinding Host: refused, nothing changed.
      assert.equal((await web.post('/api/pause', {}, { ...csrf, origin: 'https://evil.example' })).status, 403);
      assert.equal((await web.post('/api/pause', {})).status, 403, 'no CSRF token');
      assert.equal((await web.post('/api/pause', {}, { origin: 'null' })).status, 403, 'Origin "null" without the CSRF token');
      assert.equal((await web.post('/api/pause', {}, { 'x-csrf-token': 'x'.repeat(43) })).status, 403, 'a wrong CSRF token');
      assert.equal((await web.post('/api/pause', {}, { ...csrf, 'sec-fetch-site': 'cross-site' })).status, 403);
      assert.equal((await web.form('/api/jobs/retry-failed', { _csrf: csrfBody.csrf }, { origin: 'http://attacker.test' })).status, 403);
      assert.equal(await withHost(`${web.base}/api/status`, `rebound.attacker.test:${port}`), 421, 'DNS rebinding');
      assert.equal(await withHost(`${web.base}/`, `rebound.attacker.test:${port}`), 421);
      assert.equal(await withHost(`${web.base}/api/resume`, `rebound.attacker.test:${port}`, { method: 'POST', headers: csrf }), 421);
      assert.equal(await withHost(`${web.base}/api/status`, `localhost:${port}`), 200, 'localhost is loopback');
      assert.deepEqual(await dbState(env), before, 'no bad or cross-site request changed anything');

      // Retry one failed job, then all; resume; the queue empties.
      const retried = await web.post<{ requeued: number; was: string; job: JobJson }>(`/api/jobs/${poisonJob}/retry`, {}, csrf);
      assert.deepEqual([retried.status, retried.body.was, retried.body.job.state], [200, 'failed', 'queued']);
      assert.deepEqual((await web.post('/api/jobs/retry-failed', {}, csrf)).body, { requeued: 0 }, 'the only failed job was requeued already');
      // The page's forms: a POST with the form's CSRF field, answered with a redirect back.
      // Chromium sends Origin "null" for the page's own forms under Referrer-Policy: no-referrer.
      const resumed = await web.form('/api/resume', { _csrf: csrfBody.csrf }, { origin: 'null' });
      assert.equal(resumed.status, 303);
      assert.match(resumed.headers.get('location')!, /^\/\?note=Resumed\.#state$/);
      await waitFor(
        async () => (await web.json<JobJson>(`/api/jobs/${waiting}`)).body.state === 'succeeded',
        'resumed: the waiting book is archived',
        60_000,
        200,
      );
      await waitFor(
        async () => (await web.json<JobJson>(`/api/jobs/${poisonJob}`)).body.state === 'failed',
        'the retried poison book fails again',
        60_000,
        200,
      );
      const all2 = await web.post<{ requeued: number }>('/api/jobs/retry-failed', {}, csrf);
      assert.equal(all2.body.requeued, 1);

      // Skills to discover, as a form does it.
      const skill = cat.skills[0]!;
      const disc = await web.form('/api/enqueue', { skills: skill, format: 'epub', _csrf: csrfBody.csrf }, { origin: web.base });
      assert.equal(disc.status, 303);
      assert.ok((await web.json<JobJson[]>('/api/jobs?kind=discover')).body.some((j) => j.payload.skill === skill));

      // The library: search by title, the download link returns the catalogued file.
      const lib = (
        await web.json<{ id: string; title: string; sha256: string; download: string; cover: string }[]>(`/api/library?q=${encodeURIComponent(good[0]!.title)}`)
      ).body;
      const entry = lib.find((b) => b.id === good[0]!.id)!;
      assert.ok(entry, `found by its title: ${JSON.stringify(lib)}`);
      const file = await fetch(`${web.base}${entry.download}`);
      assert.equal(file.status, 200);
      assert.equal(file.headers.get('content-type'), 'application/epub+zip');
      assert.match(file.headers.get('content-disposition')!, /^attachment; filename="[^"]+\.epub"; filename\*=UTF-8''.+\.epub$/);
      assert.equal(
        createHash('sha256')
          .update(Buffer.from(await file.arrayBuffer()))
          .digest('hex'),
        entry.sha256,
      );
      assert.equal((await web.request('/library/..%2F..%2Fetc%2Fpasswd/epub')).status, 404);
      assert.deepEqual((await web.json('/api/library?q=zzzz-no-such-title')).body, []);

      // The page, its assets, the charts and the event stream; their headers.
      const page = await web.request('/');
      assert.equal(page.status, 200);
      assert.equal(
        page.headers.get('content-security-policy'),
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
      assert.doesNotMatch(page.text, /<script>|<script [^>]*>[^<]|<[^>]*\s(style|on[a-z]+)=/i, 'no inline script, style or handler');
      assert.match(page.text, /<script src="\/assets\/app\.js" defer><\/script>/);
      for (const asset of ['/assets/app.js', '/assets/app.css', '/charts/hours.svg', '/charts/days.svg'])
        assert.equal((await web.request(asset)).status, 200, asset);
      assert.match((await web.request('/charts/hours.svg')).text, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      const stream = await fetch(`${web.base}/api/events`);
      assert.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const reader = stream.body!.getReader();
      let events = '';
      const deadline = Date.now() + 10_000;
      while (!/event: snapshot\ndata: .*\n\n/.test(events) && Date.now() < deadline) events += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      const snap = JSON.parse(/event: snapshot\ndata: (.*)\n\n/.exec(events)![1]!) as { jobs: Record<string, number>; html: Record<string, string> };
      assert.deepEqual(Object.keys(snap.html).sort(), ['failed', 'pace', 'queue', 'running', 'sessions', 'state']);
      web.transcript.push({ method: 'GET', path: '/api/events', status: 200, headers: '', body: events });
      const metrics = await web.request('/metrics');
      assert.equal(metrics.status, 200, 'on loopback /metrics is open as before');

      // Not one response held a session's cookie value, nor does the log.
      const secrets = [...minted.flatMap((m) => Object.values(m)), ...storedCookieValues(data)];
      assert.ok(secrets.filter((s) => s.length >= 8).length >= 10, 'the scan has cookie values to look for');
      assert.deepEqual(leaks(web.transcript, secrets), []);
      assert.deepEqual(leaks([{ method: 'LOG', path: '', status: 0, headers: '', body: daemon.lines.join('\n') + daemon.stderr() }], secrets), []);
    } finally {
      assert.equal((await daemon.stop('SIGTERM')).code, 0);
      cleanup();
    }
  });

  test('off loopback: refused at start without a token (exit 78, one line); with one, 401 without it, 200 with Bearer, Basic or the login cookie; wrong tokens are rate-limited', async () => {
    const { dir, cleanup } = tempDir();
    const data = join(dir, 'data');
    const env = bookdEnv(data, sim.url);
    try {
      const port = await freePort();
      for (const [args, extra] of [
        [['run', '--http', `0.0.0.0:${port}`], {}],
        [['daemon'], { BOOKD_HTTP: `0.0.0.0:${port}` }],
        [['run', '--http', `[::]:${port}`], {}],
      ] as const) {
        const r = await runCli([...args], { env: { ...env, ...extra } });
        assert.equal(r.code, 78, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /not loopback\) needs a token: set httpToken in the config, BOOKD_HTTP_TOKEN, or the credentials file http-token/);
      }
      const other = await runCli(['status'], { env: { ...env, BOOKD_HTTP: `0.0.0.0:${port}` } });
      assert.equal(other.code, 0, `commands that do not serve still work: ${other.stderr}`);
      const short = await runCli(['run', '--http', `0.0.0.0:${port}`], { env: { ...env, BOOKD_HTTP_TOKEN: 'short' } });
      assert.equal(short.code, 78);
      assert.match(short.stderr, /BOOKD_HTTP_TOKEN: is 5 characters long; use at least 16/);

      // The credentials file is one of the places the token comes from.
      const token = 'web-token-0123456789abcdef';
      const creds = join(dir, 'creds');
      mkdirSync(creds);
      writeFileSync(join(creds, 'http-token'), `${token}\n`, { mode: 0o600 });
      const minted = await addSessions(sim, 1, dir, env);
      const daemon = await startDaemon({ ...env, CREDENTIALS_DIRECTORY: creds }, `0.0.0.0:${port}`);
      const web = new WebClient(`http://127.0.0.1:${port}`);
      try {
        await waitFor(async () => (await fetch(`${web.base}/healthz`).catch(() => undefined))?.status === 200, '/healthz', 15_000);
        const bearer = { authorization: `Bearer ${token}` };
        const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

        assert.equal((await web.request('/api/status')).status, 401);
        assert.match((await web.request('/api/status')).headers.get('www-authenticate')!, /^Bearer/);
        assert.equal((await web.request('/api/status', { headers: bearer })).status, 200);
        assert.equal((await web.request('/api/status', { headers: basic('kobo', token) })).status, 200, 'Basic: any user, the token as password');
        assert.equal(await withHost(`${web.base}/api/status`, 'nas.home.arpa', { headers: bearer }), 200, 'with a token any Host name');
        assert.equal((await web.request('/metrics')).status, 401, 'off loopback /metrics needs the token');
        assert.match((await web.request('/metrics')).headers.get('www-authenticate')!, /^Basic realm="bookd"/);
        assert.equal((await web.request('/metrics', { headers: basic('prometheus', token) })).status, 200);
        assert.equal((await web.request('/healthz')).status, 200, '/healthz stays open');
        assert.notEqual((await web.request('/readyz')).status, 401, '/readyz stays open');
        assert.equal((await web.request('/library/9781492056348/epub')).status, 401, 'the library files need the token');

        // The page asks for the token once and keeps a derived cookie.
        const toLogin = await web.request('/');
        assert.deepEqual([toLogin.status, toLogin.headers.get('location')], [303, '/login']);
        const login = await web.request('/login');
        assert.equal(login.status, 200);
        assert.match(login.text, /<form method="post" action="\/login">/);
        const wrong = await web.form('/login', { token: 'not-the-token-at-all' }, { origin: web.base });
        assert.equal(wrong.status, 401);
        const ok = await web.form('/login', { token }, { origin: web.base });
        assert.equal(ok.status, 303);
        const setCookie = ok.headers.get('set-cookie')!;
        assert.match(setCookie, /^bookd_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
        assert.ok(!setCookie.includes(token), 'the cookie is not the token');
        const cookie = { cookie: setCookie.split(';')[0]! };
        const page = await web.request('/', { headers: cookie });
        assert.equal(page.status, 200);
        assert.match(page.text, /Log out/);
        assert.equal((await web.request('/api/status', { headers: cookie })).status, 200);
        assert.equal((await web.request('/api/status', { headers: { cookie: 'bookd_session=forged' } })).status, 401);
        const csrf = /<meta name="csrf" content="([^"]+)"/.exec(page.text)![1]!;
        assert.equal((await web.form('/api/pause', { _csrf: csrf }, { ...cookie, origin: 'http://evil.example' })).status, 403);
        assert.equal((await web.form('/api/pause', { _csrf: csrf }, { ...cookie, origin: web.base })).status, 303);
        assert.equal((await cliJson<{ paused: boolean }>(['status'], env)).paused, true);
        const apiCsrf = (await web.json<{ csrf: string }>('/api/csrf', { headers: bearer })).body.csrf;
        assert.equal((await web.post('/api/resume', {}, bearer)).status, 403, 'Bearer still needs the CSRF token');
        assert.equal((await web.post('/api/resume', {}, { ...bearer, 'x-csrf-token': apiCsrf })).status, 200);

        // Five wrong tokens from one address, then 429 for a while, even for the right one.
        for (let i = 0; i < 5; i++) assert.equal((await web.request('/api/status', { headers: { authorization: `Bearer wrong-${i}` } })).status, 401);
        const limited = await web.request('/api/status', { headers: { authorization: 'Bearer wrong-again' } });
        assert.equal(limited.status, 429);
        assert.ok(Number(limited.headers.get('retry-after')) > 0);
        assert.equal((await web.request('/api/status', { headers: bearer })).status, 429, 'the right token waits too');
        assert.equal((await web.form('/login', { token }, { origin: web.base })).status, 429);

        const secrets = [token, ...minted.flatMap((m) => Object.values(m)), ...storedCookieValues(data)];
        assert.deepEqual(leaks(web.transcript, secrets), []);
        assert.deepEqual(leaks([{ method: 'LOG', path: '', status: 0, headers: '', body: daemon.lines.join('\n') + daemon.stderr() }], secrets), []);
      } finally {
        assert.equal((await daemon.stop('SIGTERM')).code, 0);
      }
    } finally {
      cleanup();
    }
  });
});
