import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from '@commander-js/extra-typings';
import { pino } from 'pino';
import { BookdError, UsageError, errorMessage } from '../errors.js';
import { createLogger } from '../log.js';
import {
  DEFAULT_BEHAVIOUR,
  DEFAULT_BOOKS,
  DEFAULT_SKILLS,
  defaultCatalogueOptions,
  parseRotate,
  type PartialCookiesMode,
  type ProfileMode,
  type RotatePolicy,
  type StaleMode,
} from '../sim/options.js';
import { configOf } from './support/context.js';

function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

function rate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`expected a fraction from 0 to 1, got "${value}"`);
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number ≥ 0, got "${value}"`);
  return n;
}

function skillList(value: string): string[] {
  const skills = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (skills.length === 0) throw new InvalidArgumentError(`expected a comma-separated list of skill names, got "${value}"`);
  return skills;
}

function rotation(value: string): RotatePolicy {
  const policy = parseRotate(value);
  if (!policy) throw new InvalidArgumentError(`expected every, age, off or a whole number ≥ 1, got "${value}"`);
  return policy;
}

function staleMode(value: string): StaleMode {
  if (value !== '401' && value !== 'preview' && value !== 'silent-preview')
    throw new InvalidArgumentError(`expected 401, preview or silent-preview, got "${value}"`);
  return value;
}

function onOff(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new InvalidArgumentError(`expected on or off, got "${value}"`);
}

const label = (on: boolean) => (on ? 'on' : 'off');

function partialCookies(value: string): PartialCookiesMode {
  if (value !== '404' && value !== 'ignore') throw new InvalidArgumentError(`expected 404 or ignore, got "${value}"`);
  return value;
}

function profileMode(value: string): ProfileMode {
  if (value !== 'redirect' && value !== 'plain') throw new InvalidArgumentError(`expected redirect or plain, got "${value}"`);
  return value;
}

function host(value: string): string {
  if (!/^[A-Za-z0-9.:-]+$/.test(value)) throw new InvalidArgumentError(`expected an IP address or host name, got "${value}"`);
  return value;
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveSignal(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export function registerSim(program: Command): void {
  const d = DEFAULT_BEHAVIOUR;
  const c = defaultCatalogueOptions();
  program
    .command('sim')
    .description(
      "run the simulated O'Reilly library: prints its base URL as the first line of standard output, then serves until SIGINT/SIGTERM. " +
        'With --mint-cookies N DIR it writes N cookie files (cookies-1.json …, flat {name: value}) for sessions m1…mN and exits instead.',
    )
    .argument('[dir]', 'where --mint-cookies writes its files')
    .option('--host <address>', 'address to listen on', host, '127.0.0.1')
    .option('--port <port>', 'port to listen on; 0 picks a free one', wholeNumber(0, 65535), 0)
    .option('--seed <n>', 'seed of the catalogue, the content and the token signing key (same seed, same bytes)', wholeNumber(0), c.seed)
    .option('--books <n>', 'ordinary books in the catalogue (poison and hostile books come on top)', wholeNumber(0, 100_000), DEFAULT_BOOKS)
    .option('--skills <list>', `comma-separated skills to spread the books over (default: ${DEFAULT_SKILLS.join(', ')})`, skillList)
    .option('--chapters <n>', 'chapters per ordinary book', wholeNumber(1, 2000), c.chapters)
    .option('--chapter-kb <n>', 'text per chapter, in KiB of markup', wholeNumber(1, 10_000), c.chapterKb)
    .option('--images <n>', 'figures per chapter besides the fixed assets every book has', wholeNumber(0, 100), c.images)
    .option('--image-kb <n>', 'size of each figure, in KiB', wholeNumber(1, 10_000), c.imageKb)
    .option('--big-books <n>', 'books with hundreds of chapters, so chapter and file lists paginate (default: one per 150 books)', wholeNumber(0, 1000))
    .option('--big-chapters <n>', 'chapters in each big book', wholeNumber(1, 5000), c.bigChapters)
    .addOption(
      new Option(
        '--package-layouts <on|off>',
        'publisher packages in four layouts (OEBPS/text/chNN.xhtml, chNN.html at the root, OEBPS/xhtml/, EPUB/xhtml/), a quarter of the books each; off: all OEBPS/text/',
      )
        .argParser(onOff)
        .default(c.packageLayouts, label(c.packageLayouts)),
    )
    .addOption(
      new Option(
        '--listing-variants <on|off>',
        'listing quirks, each on a quarter of the books: files without url, a decoy OPF, no META-INF/container.xml, chapter ourns ending in an encoded path without reference_id',
      )
        .argParser(onOff)
        .default(c.listingVariants, label(c.listingVariants)),
    )
    .option(
      '--accounts <n>',
      'password accounts user1@sim.test / pw-1 … userN@sim.test / pw-N (plus expired@sim.test / pw-expired)',
      wholeNumber(1, 100_000),
      16,
    )
    .addOption(
      new Option('--rotate <policy>', 'when orm-jwt rotates: every (each authenticated success), N (every N successes), age (after --rotate-age), off')
        .argParser(rotation)
        .default(d.rotate, 'age'),
    )
    .option('--rotate-age <seconds>', 'token age that triggers a rotation under --rotate age', wholeNumber(1), d.rotateAgeSec)
    .option('--grace <n>', 'previous token generations still accepted after a rotation', wholeNumber(0, 1000), d.grace)
    .option(
      '--token-ttl <seconds>',
      'orm-jwt lifetime (the exp claim); an expired token is refreshed through orm-rt at the token endpoint (and on /profile/ with --profile-refresh on)',
      wholeNumber(1),
      d.tokenTtlSec,
    )
    .option(
      '--stale-mode <mode>',
      'answer to a stale, expired or missing token: 401 (JSON), preview (200 truncated chapters with a paywall marker; JSON still 401) or silent-preview (the same without the marker)',
      staleMode,
      d.staleMode,
    )
    .option('--latency <ms>', 'added before every response', wholeNumber(0, 600_000), d.latencyMs)
    .option('--jitter <ms>', 'random extra latency, up to this much', wholeNumber(0, 600_000), d.jitterMs)
    .option('--bandwidth <kbps>', 'KiB per second per response; 0 = unpaced', wholeNumber(0), d.bandwidthKbps)
    .option('--rate-limit <rps>', 'requests per second per session before 429 + Retry-After; 0 = unlimited', positiveNumber, d.rateLimit)
    .option('--burst <n>', 'requests a session may make at once before --rate-limit applies', wholeNumber(1, 100_000), d.burst)
    .option(
      '--edge-limit <rps>',
      'requests per second over all traffic before the edge answers 403 Access Denied (AkamaiGHost); 0 = unlimited',
      positiveNumber,
      d.edgeLimit,
    )
    .addOption(
      new Option('--file-gate <on|off>', '(X)HTML files come whole only with download=false and an HTML Accept; otherwise a ~2 KB sample')
        .argParser(onOff)
        .default(d.fileGate, label(d.fileGate)),
    )
    .option(
      '--guard-rate <rps>',
      "requests per second per remote IP to /api/v2/… and /library/… before the origin's bulk-access guard answers samples and 403s; 0 = off",
      positiveNumber,
      d.guardRate,
    )
    .option('--guard-burst <n>', 'requests one IP may make at once before --guard-rate applies', wholeNumber(1, 100_000), d.guardBurst)
    .option(
      '--partial-cookies <mode>',
      'a valid orm-jwt without groot_sessionid: 404 (treated as anonymous for subscriber content) or ignore',
      partialCookies,
      d.partialCookies,
    )
    .option(
      '--profile-mode <mode>',
      '/profile/ for a logged-in session: redirect (302 → /profile/sso/ → 307 → /u/{sub}/, no user_type) or plain (200 with user_type)',
      profileMode,
      d.profileMode,
    )
    .addOption(
      new Option(
        '--profile-refresh <on|off>',
        '/profile/ refreshes an expired, stale or missing orm-jwt through orm-rt (and may rotate it); off: it never sets orm-jwt',
      )
        .argParser(onOff)
        .default(d.profileRefresh, label(d.profileRefresh)),
    )
    .addOption(
      new Option('--token-endpoint <on|off>', 'GET /api/v1/auth/openid/token/ refreshes orm-jwt through orm-rt; off: it answers 401')
        .argParser(onOff)
        .default(d.tokenEndpoint, label(d.tokenEndpoint)),
    )
    .addOption(
      new Option('--duplicate-login-cookies <on|off>', 'login sends a second, bogus Set-Cookie line after each of groot_sessionid, orm-jwt, orm-rt')
        .argParser(onOff)
        .default(d.duplicateLoginCookies, label(d.duplicateLoginCookies)),
    )
    .addOption(
      new Option('--anonymous-listing <on|off>', 'search and topic listings answer without cookies; off: they need a current orm-jwt')
        .argParser(onOff)
        .default(d.anonymousListing, label(d.anonymousListing)),
    )
    .option('--fail-rate <f>', 'share of requests answered 500/502/503', rate, d.failRate)
    .option('--reset-rate <f>', 'share of responses whose connection is reset mid-body', rate, d.resetRate)
    .option('--stall-rate <f>', 'share of responses that send headers, then nothing', rate, d.stallRate)
    .option('--short-rate <f>', 'share of responses that announce more bytes than they send, then close', rate, d.shortRate)
    .option('--poison', 'add poison books: listed but 404, a chapter that always 500s, a missing image')
    .option('--hostile', 'add hostile books: escaping paths, 1 GB body, HTML as PNG, gzip bomb, invalid XML, JSON image, endless body, remote refs')
    .option('--mint-cookies <n>', 'write N cookie files into DIR (sessions m1…mN, valid for any sim with the same --seed) and exit', wholeNumber(1, 10_000))
    .option('--mint-expired', 'with --mint-cookies: the sessions belong to the lapsed account')
    .action(async (dir, opts, cmd) => {
      const config = configOf(cmd);
      if (opts.failRate + opts.resetRate + opts.stallRate + opts.shortRate > 1) {
        throw new UsageError('the fault rates (--fail-rate, --reset-rate, --stall-rate, --short-rate) add up to more than 1; lower them');
      }
      if (opts.mintCookies !== undefined) {
        if (!dir) throw new UsageError('--mint-cookies N needs a directory to write to: bookd sim --mint-cookies N DIR');
        const out = resolve(dir);
        const { mintCookies } = await import('../sim/mint.js');
        const sets = mintCookies({
          seed: opts.seed,
          count: opts.mintCookies,
          expired: opts.mintExpired === true,
          accounts: opts.accounts,
          tokenTtlSec: opts.tokenTtl,
        });
        try {
          mkdirSync(out, { recursive: true, mode: 0o700 });
          sets.forEach((cookies, i) => {
            const file = join(out, `cookies-${i + 1}.json`);
            writeFileSync(file, `${JSON.stringify(cookies, null, 2)}\n`, { mode: 0o600 });
            chmodSync(file, 0o600);
            process.stdout.write(`${file}\n`);
          });
        } catch (err) {
          throw new BookdError(
            'bad_input',
            `cannot write cookie files to ${out} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}); choose a writable directory`,
          );
        }
        return;
      }
      if (dir) throw new UsageError(`unexpected argument "${dir}": a directory is only taken with --mint-cookies N DIR`);

      const logger = createLogger({ level: config.logLevel, destination: pino.destination({ dest: 2, sync: true }) });
      // Loaded here, not at the top: see demo.ts.
      const { startSim } = await import('../sim/server.js');
      const sim = await startSim({
        host: opts.host,
        port: opts.port,
        seed: opts.seed,
        books: opts.books,
        skills: opts.skills ?? [...DEFAULT_SKILLS],
        chapters: opts.chapters,
        chapterKb: opts.chapterKb,
        images: opts.images,
        imageKb: opts.imageKb,
        bigBooks: opts.bigBooks,
        bigChapters: opts.bigChapters,
        poison: opts.poison === true,
        hostile: opts.hostile === true,
        packageLayouts: opts.packageLayouts,
        listingVariants: opts.listingVariants,
        accounts: opts.accounts,
        rotate: opts.rotate,
        rotateAgeSec: opts.rotateAge,
        grace: opts.grace,
        tokenTtlSec: opts.tokenTtl,
        staleMode: opts.staleMode,
        latencyMs: opts.latency,
        jitterMs: opts.jitter,
        bandwidthKbps: opts.bandwidth,
        rateLimit: opts.rateLimit,
        burst: opts.burst,
        edgeLimit: opts.edgeLimit,
        failRate: opts.failRate,
        resetRate: opts.resetRate,
        stallRate: opts.stallRate,
        shortRate: opts.shortRate,
        fileGate: opts.fileGate,
        guardRate: opts.guardRate,
        guardBurst: opts.guardBurst,
        partialCookies: opts.partialCookies,
        profileMode: opts.profileMode,
        profileRefresh: opts.profileRefresh,
        tokenEndpoint: opts.tokenEndpoint,
        duplicateLoginCookies: opts.duplicateLoginCookies,
        anonymousListing: opts.anonymousListing,
        logger,
      }).catch((err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new BookdError('bad_input', `cannot listen on ${opts.host} port ${opts.port} (${code}); choose another --host or --port (0 picks a free port)`);
        }
        throw err;
      });
      process.stdout.write(`${sim.url}\n`);
      logger.info(
        { url: sim.url, books: sim.catalogue.books.length, skills: sim.catalogue.skills.length, seed: opts.seed },
        'simulated library serving; stop with SIGINT or SIGTERM',
      );
      const signal = await waitForSignal();
      logger.info({ signal }, 'simulated library stopping');
      await sim.close();
    });
}
