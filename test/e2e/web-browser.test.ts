import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { startSimProcess } from '../helpers/sim.js';
import { freePort } from '../helpers/web.js';

const CHROMIUM = '/usr/bin/chromium';
/** Debian's chromium, headless, with nothing of its own reaching out; playwright-core gives each launch a fresh profile. */
const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
/** Where the screenshots go (gitignored); docs/web-ui.png is a copy of one of them. */
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/web');

interface JobJson {
  id: number;
  state: string;
  payload: { bookId?: string };
}

/** Console errors and Content-Security-Policy violations of a page, as they happen. */
function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return problems;
}

/** Runs in the page before its own scripts: records every Content-Security-Policy violation. */
const RECORD_CSP =
  "window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));";

async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate<string[]>('window.__csp || []');
}

const cell = (page: Page, state: string) => page.locator(`#queue td[data-state="${state}"]`).innerText();

test(
  'the web page in Chromium: loads clean, shows the counts, updates live, Retry and Pause work, a search finds a book and downloads it, fits a phone',
  { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium, as root; scripts/test.mjs does it when it can)` },
  async () => {
    const { dir, cleanup } = tempDir();
    const sim = await startSimProcess(['--seed', '52', '--books', '6', '--poison', '--rotate', 'off']);
    const data = join(dir, 'data');
    const env = bookdEnv(data, sim.url, { BOOKD_RETRY_BASE_MS: '10' });
    let browser: Browser | undefined;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const daemon = await startCli(['run', '--http', `127.0.0.1:${port}`], { env: { ...env, BOOKD_LOG_LEVEL: 'info' } });
    try {
      mkdirSync(ARTIFACTS, { recursive: true });
      const cat = await sim.catalogue();
      const good = cat.books.filter((b) => b.flags.length === 0 && b.format === 'book');
      const poison = cat.books.find((b) => b.flags.includes('poison-missing'))!;
      await addSessions(sim, 2, dir, env);
      assert.equal((await runCli(['enqueue', '--book', good[0]!.id, poison.id, '--skills', cat.skills[0]!], { env })).code, 0);
      const jobs = () => cliJson<JobJson[]>(['jobs', 'list'], env);
      const jobOf = async (bookId: string) => (await jobs()).find((j) => j.payload.bookId === bookId);
      await waitFor(
        async () => (await jobOf(good[0]!.id))?.state === 'succeeded' && (await jobOf(poison.id))?.state === 'failed',
        'one book archived, the poison book failed',
        60_000,
        250,
      );
      // The discovery queues the skill's other books; let them finish so the counts stand still.
      await waitFor(async () => (await jobs()).every((j) => j.state === 'succeeded' || j.state === 'failed'), 'the queue drained', 120_000, 250);
      const counts = (await cliJson<{ jobs: Record<string, number> }>(['status'], env)).jobs;

      browser = await launchChromium();
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
      await context.addInitScript({ content: RECORD_CSP });
      const page = await context.newPage();
      const problems = watchPage(page);

      // Loads, goes live over SSE, shows what `bookd status` counts.
      await page.goto(`${base}/`);
      await page.waitForSelector('body[data-live="on"]', { timeout: 10_000 });
      for (const state of ['queued', 'running', 'succeeded', 'failed', 'cancelled']) assert.equal(await cell(page, state), String(counts[state]), state);
      assert.match(await page.locator('#failed').innerText(), new RegExp(`${poison.id}[\\s\\S]*does not exist or was withdrawn`));
      assert.match(await page.locator('#sessions').innerText(), /s1[\s\S]*ok[\s\S]*s2/);
      assert.equal(await page.locator('#charts img').count(), 2);
      // Polled from here: the page's CSP forbids the eval that waitForFunction would use for a string.
      await waitFor(
        async () => await page.evaluate("[...document.querySelectorAll('img')].every((i) => i.complete && i.naturalWidth > 0)"),
        'every image loaded',
        10_000,
      );
      await page.screenshot({ path: join(ARTIFACTS, 'desktop.png'), fullPage: true });

      // Pause: the button, then the page says so and the store agrees.
      await page.locator('#state button', { hasText: 'Pause' }).click();
      await page.waitForSelector('#state >> text=PAUSED');
      assert.equal((await cliJson<{ paused: boolean }>(['status'], env)).paused, true);

      // Retry moves the failed job back to queued (paused, so it stays there).
      const poisonJob = (await jobOf(poison.id))!;
      await page.locator(`#failed li[data-job="${poisonJob.id}"] button`, { hasText: 'Retry' }).click();
      await page.waitForURL(/note=Requeued/);
      assert.equal((await jobOf(poison.id))!.state, 'queued');
      assert.equal(await cell(page, 'failed'), String(counts.failed! - 1));

      // Enqueue through the form; paused, nothing is claimed.
      await page.locator('form.enqueue textarea[name="books"]').fill(`${good.at(-1)!.id}\n`);
      await page.locator('form.enqueue button[type="submit"]').click();
      await page.waitForURL(/note=Enqueue/);
      await page.waitForSelector('body[data-live="on"]');
      const queued = (await jobs()).filter((j) => j.state === 'queued').length;
      assert.ok(queued >= 1);
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal((await jobs()).filter((j) => j.state === 'running').length, 0, 'Pause stops claiming');
      assert.equal(await cell(page, 'queued'), String(queued));

      // Resume from outside the page: the page follows over the event stream without reloading.
      await page.evaluate('window.__stay = 1');
      const succeededBefore = Number(await cell(page, 'succeeded'));
      assert.equal((await runCli(['resume'], { env })).code, 0);
      await waitFor(async () => Number(await cell(page, 'succeeded')) > succeededBefore, 'the page shows the book archived', 60_000, 100);
      await page.waitForSelector('#state >> text=Claiming jobs');
      assert.equal(await page.evaluate('window.__stay'), 1, 'no reload: the update came over SSE');

      // Search by title; the download link gives the file whose sha256 the catalogue records.
      const entry = (await cliJson<LibraryEntry[]>(['library', 'list'], env)).find((b) => b.id === good[0]!.id)!;
      await page.locator('#library input[name="q"]').fill(entry.title);
      await page.locator('#library button[type="submit"]').click();
      await page.waitForURL(/q=/);
      const hit = page.locator(`#library li[data-book="${entry.id}"]`);
      assert.match(await hit.innerText(), new RegExp(entry.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      const [download] = await Promise.all([page.waitForEvent('download'), hit.locator('a.download').click()]);
      const saved = join(dir, 'downloaded.epub');
      await download.saveAs(saved);
      assert.equal(createHash('sha256').update(readFileSync(saved)).digest('hex'), entry.sha256);
      assert.equal(download.suggestedFilename(), entry.path.split('/').pop());

      // A phone's width: nothing wider than the screen.
      const phone = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
      await phone.addInitScript({ content: RECORD_CSP });
      const small = await phone.newPage();
      const phoneProblems = watchPage(small);
      await small.goto(`${base}/`);
      await small.waitForSelector('body[data-live="on"]', { timeout: 10_000 });
      const widths = await small.evaluate<{ scroll: number; client: number }>(
        '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
      );
      assert.ok(widths.scroll <= widths.client, `no horizontal scroll at 375 px: ${JSON.stringify(widths)}`);
      await small.screenshot({ path: join(ARTIFACTS, 'phone.png'), fullPage: true });

      assert.deepEqual([...problems, ...phoneProblems], [], 'no console errors or warnings');
      assert.deepEqual([...(await cspViolations(page)), ...(await cspViolations(small))], [], 'no CSP violations');
    } finally {
      await browser?.close();
      assert.equal((await daemon.stop('SIGTERM')).code, 0);
      await sim.stop();
      cleanup();
    }
  },
);

test(
  'with a token the page asks for it once, then works on its cookie, live updates included',
  { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium, as root; scripts/test.mjs does it when it can)` },
  async () => {
    const { dir, cleanup } = tempDir();
    const token = 'browser-test-token-0123456789';
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // No sessions: the daemon asks the service nothing; the base URL goes nowhere.
    const env = bookdEnv(join(dir, 'data'), 'http://127.0.0.1:9', { BOOKD_HTTP_TOKEN: token, BOOKD_LOG_LEVEL: 'info' });
    const daemon = await startCli(['run', '--http', `127.0.0.1:${port}`], { env });
    let browser: Browser | undefined;
    try {
      await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200, '/healthz', 15_000);
      browser = await launchChromium();
      const context = await browser.newContext();
      await context.addInitScript({ content: RECORD_CSP });
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${base}/`);
      assert.match(page.url(), /\/login$/);
      await page.locator('input[name="token"]').fill(token);
      await page.locator('form button[type="submit"]').click();
      await page.waitForSelector('body[data-live="on"]', { timeout: 10_000 });
      assert.equal(new URL(page.url()).pathname, '/');
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'bookd_session')!;
      assert.ok(session.httpOnly && session.sameSite === 'Strict', JSON.stringify(session));
      assert.notEqual(session.value, token);
      assert.equal(await page.evaluate('document.cookie'), '', 'the script cannot read the cookie');
      await page.screenshot({ path: join(ARTIFACTS, 'logged-in.png') });
      assert.equal((await runCli(['pause'], { env })).code, 0);
      await page.waitForSelector('#state >> text=PAUSED', { timeout: 10_000 });
      await page.locator('button', { hasText: 'Log out' }).click();
      await page.waitForURL(/\/login$/);
      await page.goto(`${base}/`);
      assert.match(page.url(), /\/login$/, 'logged out');
      assert.deepEqual(problems, []);
      assert.deepEqual(await cspViolations(page), []);
    } finally {
      await browser?.close();
      assert.equal((await daemon.stop('SIGTERM')).code, 0);
      cleanup();
    }
  },
);
