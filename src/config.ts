import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, UsageError } from './errors.js';
import { LOG_LEVELS, type LogLevel } from './log-levels.js';
import { parseCommandSetting } from './hooks/command.js';
import { NO_NOTIFY, parseNotifySettings, parseWebhookList, type NotifySettings } from './notify/settings.js';

/** Options every command accepts (README.md, "Settings"). */
export interface GlobalFlags {
  dataDir?: string;
  library?: string;
  baseUrl?: string;
  /** `--store URL`: a PostgreSQL server shared by several hosts instead of SQLite in the data dir. */
  store?: string;
  config?: string;
  logLevel?: string;
  /** `-q`: stands for `--log-level warn` when that is not given (applied in src/cli/program.ts). */
  quiet?: boolean;
}

/** The flags of `bookd run` and `bookd daemon` that stand for settings: resolved with the rest. */
export interface RunFlags {
  http?: string;
  graceSeconds?: number;
  sessionIntervalMs?: number;
  workers?: number;
}

/** A flag of either kind and the setting's kind, for the one resolver. */
const FLAG_KEYS: Record<(keyof GlobalFlags & keyof Config) | keyof RunFlags, { kind: Kind; flag: string }> = {
  dataDir: { kind: 'string', flag: '--data-dir' },
  library: { kind: 'string', flag: '--library' },
  baseUrl: { kind: 'string', flag: '--base-url' },
  store: { kind: 'string', flag: '--store' },
  logLevel: { kind: 'string', flag: '--log-level' },
  http: { kind: 'string', flag: '--http' },
  graceSeconds: { kind: 'int', flag: '--grace' },
  sessionIntervalMs: { kind: 'int', flag: '--session-interval' },
  workers: { kind: 'int', flag: '--workers' },
};

export interface Config {
  dataDir: string;
  dbPath: string;
  library: string;
  /**
   * A postgres:// URL when the store is a PostgreSQL server (several hosts on one queue), else
   * undefined: SQLite at `dbPath`. Holds a password when the operator put one there: never logged.
   */
  store: string | undefined;
  /**
   * Which request budget this host shares (docs/SERVICE.md §4 guards per address): hosts behind
   * one public address name the same group; by default each host is its own.
   */
  ipGroup: string | undefined;
  baseUrl: string;
  logLevel: LogLevel;
  /** Minimum time between two requests of one session. */
  sessionIntervalMs: number;
  /** Worker count; undefined means one per usable session. */
  workers: number | undefined;
  /** Languages discovery keeps (prefix match on the listing's `language`). */
  languages: string[];
  /** How long a draining daemon lets running jobs finish. */
  graceMs: number;
  /**
   * The backoff unit: a failed request is retried after 1×, 2× this; a failed book waits 30×,
   * 60×, … (full jitter, at most 6 h) before its next attempt.
   */
  retryBaseMs: number;
  /** Longest wait for a response's headers, and longest silence inside its body. */
  requestTimeoutMs: number;
  /** First pause of every session after the edge refuses this machine (doubling while it goes on). */
  edgeBackoffMs: number;
  /** The longest that pause grows to. */
  edgeBackoffMaxMs: number;
  /**
   * The service's auth origin: password login and token refresh go there, and it is the only
   * origin besides `baseUrl` that ever gets a session's cookies (docs/SERVICE.md §1).
   */
  authUrl: string;
  /** The User-Agent of sessions that were not given their own browser's. */
  userAgent: string;
  acceptLanguage: string;
  /** One request budget for every session of this machine (docs/SERVICE.md §4), in requests/s. */
  budget: BudgetSettings;
  /** `host:port` for /metrics, health, the web page and its API, or undefined for none. */
  http: string | undefined;
  /**
   * What the web page, its API and (off loopback) /metrics ask for: required to bind anything but
   * loopback. From `httpToken`, BOOKD_HTTP_TOKEN or the credentials file `http-token`. Never logged.
   */
  httpToken: string | undefined;
  /**
   * How books are built: `auto` uses the publisher package and rebuilds from chapters when it is
   * missing or unusable; `package` or `chapters` forces one way.
   */
  buildMode: BuildModeSetting;
  /** Where re-login passwords are read from (a file per session name), if anywhere. */
  credentialsDir: string | undefined;
  /** The config files the settings came from, lowest precedence first, for messages. */
  configFiles: string[];
  /** How long before a session can no longer refresh itself that it is reported (default 24 h). */
  expiryWarningMs: number;
  /** One-line remarks for the operator that a daemon logs when it starts (an old library in use). */
  notes: string[];
  /** Where the daemon's notifications go (README.md, "Notifications"); none by default. */
  notify: NotifySettings;
  /** The command run after each book is placed (README.md, "After a book is archived"), as words. */
  onArchived: string[] | undefined;
  /** Every duration and internal default, validated (`validateTuning`); derived in part from the settings above. */
  tuning: Tuning;
}

/**
 * Where config files are looked for and where per-user defaults go. Injected so tests never read
 * the real user's files or /etc.
 */
export interface ConfigPlaces {
  /** The home directory the XDG defaults (~/.config, ~/.local/share, ~/.local/state) hang off. */
  home: string;
  /** The machine-wide config file, read first. */
  systemFile: string;
  /** Look for config files nobody named; the demo does not (its settings are all its own). */
  search: boolean;
}

export const SYSTEM_CONFIG_FILE = '/etc/bookd/config.json';

export function defaultPlaces(): ConfigPlaces {
  return { home: homedir(), systemFile: SYSTEM_CONFIG_FILE, search: true };
}

export interface BudgetSettings {
  /** Where the budget starts. */
  start: number;
  /** What it rises toward while the service sends no throttle signal. */
  ceiling: number;
  /** What halving never goes below. */
  floor: number;
  /** How long without a throttle signal before each small rise. */
  riseMs: number;
}

export type BuildModeSetting = 'auto' | 'package' | 'chapters';
const BUILD_MODES: readonly BuildModeSetting[] = ['auto', 'package', 'chapters'];

/** `positive`: a whole number ≥ 1, for durations where 0 would mean "fail every request" or "never wait". */
/** `rate`: a number > 0 (requests per second may be fractional). */
/** `notify`: the object src/notify/settings.ts checks; `command`: a command line or a list of words. */
type Kind = 'string' | 'int' | 'positive' | 'rate' | 'strings' | 'notify' | 'command';
const FILE_KEYS: Record<string, Kind> = {
  dataDir: 'string',
  library: 'string',
  baseUrl: 'string',
  store: 'string',
  ipGroup: 'string',
  logLevel: 'string',
  sessionIntervalMs: 'int',
  workers: 'int',
  languages: 'strings',
  graceSeconds: 'int',
  http: 'string',
  httpToken: 'string',
  credentialsDir: 'string',
  buildMode: 'string',
  retryBaseMs: 'positive',
  requestTimeoutMs: 'positive',
  edgeBackoffMs: 'positive',
  edgeBackoffMaxMs: 'positive',
  authUrl: 'string',
  userAgent: 'string',
  acceptLanguage: 'string',
  budgetStart: 'rate',
  budgetCeiling: 'rate',
  budgetFloor: 'rate',
  budgetRiseSeconds: 'positive',
  expiryWarningSeconds: 'positive',
  leaseSeconds: 'positive',
  holdSeconds: 'positive',
  notify: 'notify',
  onArchived: 'command',
};

const ENV_KEYS: Record<string, string> = {
  BOOKD_DATA_DIR: 'dataDir',
  BOOKD_LIBRARY: 'library',
  BOOKD_BASE_URL: 'baseUrl',
  BOOKD_STORE: 'store',
  BOOKD_IP_GROUP: 'ipGroup',
  BOOKD_LOG_LEVEL: 'logLevel',
  BOOKD_SESSION_INTERVAL_MS: 'sessionIntervalMs',
  BOOKD_WORKERS: 'workers',
  BOOKD_LANGUAGES: 'languages',
  BOOKD_GRACE_SECONDS: 'graceSeconds',
  BOOKD_HTTP: 'http',
  BOOKD_HTTP_TOKEN: 'httpToken',
  BOOKD_BUILD_MODE: 'buildMode',
  BOOKD_RETRY_BASE_MS: 'retryBaseMs',
  BOOKD_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  BOOKD_EDGE_BACKOFF_MS: 'edgeBackoffMs',
  BOOKD_EDGE_BACKOFF_MAX_MS: 'edgeBackoffMaxMs',
  BOOKD_AUTH_URL: 'authUrl',
  BOOKD_USER_AGENT: 'userAgent',
  BOOKD_ACCEPT_LANGUAGE: 'acceptLanguage',
  BOOKD_BUDGET_START: 'budgetStart',
  BOOKD_BUDGET_CEILING: 'budgetCeiling',
  BOOKD_BUDGET_FLOOR: 'budgetFloor',
  BOOKD_BUDGET_RISE_SECONDS: 'budgetRiseSeconds',
  BOOKD_EXPIRY_WARNING_SECONDS: 'expiryWarningSeconds',
  BOOKD_LEASE_SECONDS: 'leaseSeconds',
  BOOKD_HOLD_SECONDS: 'holdSeconds',
};

export const DEFAULT_BASE_URL = 'https://learning.oreilly.com';
/**
 * How long before a session can no longer refresh itself that the operator is told (README.md,
 * "Sessions"): a day's notice is time for a person to renew it. The `expiryWarningSeconds` setting.
 */
export const DEFAULT_EXPIRY_WARNING_MS = 24 * 60 * 60_000;
/** A session still expiring is reported again after this long, not on every tick. */
export const EXPIRY_REPEAT_MS = 24 * 60 * 60_000;
/** The live service's auth origin (docs/SERVICE.md §1); any other base URL is its own auth origin. */
export const LIVE_AUTH_URL = 'https://api.oreilly.com';
/** A current desktop browser (docs/SERVICE.md §4: a client that names itself is what bot scoring looks for). */
export const DEFAULT_USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
export const DEFAULT_ACCEPT_LANGUAGE = 'en-US,en;q=0.9';
/**
 * The machine budget (docs/SERVICE.md §4): the bulk-access guard was seen at about 8 requests/s
 * from one machine, so bookd starts well below, creeps up to 6 while nothing is throttled, and
 * halves on every throttle signal.
 */
export const DEFAULT_BUDGET: BudgetSettings = { start: 3, ceiling: 6, floor: 0.25, riseMs: 30_000 };

/** Longest waits of one request (src/pool/session.ts enforces them). */
export interface RequestTimeouts {
  /** Longest wait for response headers. */
  headersMs: number;
  /** Longest silence between two body chunks. */
  bodyMs: number;
  /** Longest a whole request may take, however it trickles. */
  totalMs: number;
}

/** How the edge pause grows (src/pool/edge-gate.ts). */
export interface EdgeBackoff {
  /** First pause after the edge refuses us; each refusal in a row doubles it. */
  baseMs: number;
  maxMs: number;
}

/** How often each periodic duty of the daemon's supervisor runs (src/daemon/daemon.ts). */
export interface DutyPeriods {
  /** Return expired leases and the jobs of dead owners to the queue. */
  reap: number;
  /** Refresh sessions' authentication (src/pool). */
  upkeep: number;
  /** Re-read the session rows (added, renewed, disabled), renew this daemon's holds on them, and add lanes for new usable sessions. */
  reload: number;
  /** Share the machine's request budget and edge pause with the other daemons of this host. */
  budget: number;
  /** Announce this daemon in the store (`bookd status`, other daemons' budget share). */
  beat: number;
  /** systemd STATUS= line. */
  status: number;
  /** EXTEND_TIMEOUT_USEC= while draining on stop. */
  extend: number;
  /** Look for watched skills and playlists whose next run has come (src/daemon/watch.ts). */
  watch: number;
}

/**
 * Every duration and internal default of bookd, by concern. `resolveConfig` derives the parts that
 * follow settings (request timeouts, edge backoff, retry units) and validates the whole once
 * (`validateTuning`); the modules take their part from their options and keep no fallbacks.
 */
export interface Tuning {
  requests: {
    /** A pool session's requests (jobs). */
    pool: RequestTimeouts;
    /** A one-shot command's session (sessions add/check/login, doctor). */
    oneShot: RequestTimeouts;
  };
  session: {
    /** Refresh through /profile/ when the token has less than this left (at most half its lifetime). */
    refreshMarginMs: number;
    /** A token the service did not renew is asked for again after this long. */
    unrenewedRetryMs: number;
  };
  pool: {
    /** How long a checkout may wait for a session before giving up with a clear error. */
    acquireTimeoutMs: number;
    /** How long a session rests after repeated server errors, an unconfirmed 404, or a re-login that could not be made. */
    restMs: number;
    /** When a job that found no session, or a session cooling without Retry-After, is tried again. */
    noSessionRetryMs: number;
    /** How long a session row removed while this pool used it is waited for. */
    removedGraceMs: number;
    /** The shared HTTP agent's connection limit per origin. */
    connections: number;
    /** How long an idle keep-alive connection is kept. */
    keepAliveTimeoutMs: number;
  };
  threads: {
    /** The EPUB build thread stops after this long without a build (started again by the next). */
    buildIdleMs: number;
    /** The young generation of the build and jar threads, MB (Worker resourceLimits; undefined: V8's own). */
    youngGenerationMb: number | undefined;
    /**
     * The old generation of the build thread, MB. A book that needs more is built again on a
     * thread without the cap (src/epub/builder.ts), so the cap bounds memory, not what can be built.
     */
    buildOldGenerationMb: number | undefined;
  };
  holds: {
    /** How long a hold on a session row lasts unless renewed. */
    holdMs: number;
    /** How often a holder renews it. */
    renewMs: number;
    /** A request goes out only with this much of its session's hold left (src/pool/hold-state.ts). */
    sendMarginMs: number;
    /** How long a request waits for a hold that could not be renewed before its book is given back. */
    waitMs: number;
    /** How often a waiting request looks again. */
    pollMs: number;
  };
  daemon: {
    leaseMs: number;
    heartbeatMs: number;
    /** How often an idle lane looks for new jobs. */
    pollMs: number;
    /** Claiming waits this long at most between tries while the store cannot be reached (doubling from pollMs). */
    storeRetryCapMs: number;
    /** The supervisor's one timer. */
    tickMs: number;
    periods: DutyPeriods;
    /** /healthz (and the watchdog ping) fail once the supervisor has not completed a tick for this long. */
    healthyWithinMs: number;
    /** How long claiming pauses after the library's disk refused a write. */
    storageHoldMs: number;
    /** The first snooze of a book the service throttled (doubling while it goes on). */
    throttleSnoozeMs: number;
    /** Snoozes of a throttled book never wait longer than this. */
    maxThrottleSnoozeMs: number;
    /** When a job that found no session is tried again, if the pool cannot say when one is usable. */
    noSessionSnoozeMs: number;
    /** Added to the time the drain has left when asking systemd to wait longer (EXTEND_TIMEOUT_USEC=). */
    extendSlackMs: number;
    /** Every session paused by the edge for this long is an `edge.blocked` event. */
    edgeBlockedAlertMs: number;
  };
  retry: {
    /** The backoff unit of a job's requests (`retryBaseMs`): transient retries after 1×, 2×; throttled after 1×, 2×, 4×, 8×. */
    requestBaseMs: number;
    /** A session's probe that passed is trusted for this long. */
    probeFreshMs: number;
    /** The first retry's backoff ceiling of a failed job, doubling per attempt (full jitter). */
    jobBaseMs: number;
    /** The longest a failed job's backoff grows to. */
    jobCapMs: number;
    /** A 429 or 503 without a usable Retry-After is tried again after this long. */
    retryAfterFallbackMs: number;
    /** The longest Retry-After honoured. */
    retryAfterCapMs: number;
  };
  edge: EdgeBackoff;
  /** Watched skills and playlists (`bookd watch`, README.md "Watching skills and playlists"). */
  watch: {
    /** A skills watch without --every runs this often. */
    skillsEveryMs: number;
    /** A playlist watch without --every runs this often. */
    playlistEveryMs: number;
    /** Each run moves the next one by up to this share of the period, either way (percent). */
    jitterPercent: number;
    /** `watch add --every` below this is allowed, with a warning: each run asks the service. */
    warnBelowMs: number;
    /** A run that failed is tried again within this long, doubling per failure in a row, never later than its period. */
    retryBaseMs: number;
  };
  /** The operator's notifications (src/notify, README.md "Notifications"). */
  notify: {
    /** The same kind of event about the same subject (a session, a book) is sent again only after this long. */
    cooldownMs: number;
    /** Subjects the cool-down remembers at most. */
    maxSubjects: number;
    /** Tries per notification and receiver, the first included. */
    attempts: number;
    /** The wait before the second try, doubling per try up to `retryCapMs`. */
    retryBaseMs: number;
    retryCapMs: number;
    /** Deliveries waiting or retrying at most; past it the oldest is dropped (logged). */
    maxQueued: number;
    /** Deliveries in flight at once. */
    concurrency: number;
    /** Longest one webhook or ntfy request may take. */
    requestTimeoutMs: number;
    /** Longest the notification command may run before it is killed. */
    commandTimeoutMs: number;
    /** At exit, how long notifications still queued get before they are dropped. */
    flushMs: number;
  };
  /** The onArchived hook (src/hooks). */
  hooks: {
    /** Longest the hook may run for one book before it is killed. */
    timeoutMs: number;
    /** Books waiting for their hook at most; past it the oldest is skipped (logged). */
    maxQueued: number;
    /** At exit, how long the hooks still queued get. */
    flushMs: number;
  };
  store: {
    /** How long a write waits for another process's SQLite lock. */
    busyTimeoutMs: number;
  };
  status: {
    /** A daemon not heard from for this long is gone: it takes no budget share, and staging debris may be cleared. */
    daemonGoneMs: number;
    /** `bookd status` shows a daemon not heard from for this long as stale. */
    daemonStaleMs: number;
    /** The books-per-hour rate of `status --watch` and the demo is measured over this window. */
    rateWindowMs: number;
    /** No rate is shown before the samples span this long. */
    rateMinSpanMs: number;
    /** How often the demo's live view redraws on a terminal. */
    liveRedrawMs: number;
    /** Without a terminal, the live view prints a summary line at most this often. */
    liveSummaryMs: number;
  };
  /** The library as the HTTP surface serves it (src/web/opds.ts, src/web/library-files.ts). */
  opds: {
    /** Entries per page of an OPDS acquisition feed; e-readers load a page at a time. */
    pageSize: number;
    /** Books whose summary and cover location (read from the EPUB's package document) are remembered. */
    metaCacheEntries: number;
    /** Cover image bytes kept in memory across books, at most. */
    coverCacheBytes: number;
  };
  /** The web page and its API (src/web/, README.md "The web page"). */
  web: {
    /** Wrong tokens from one remote address within `loginWindowMs` before it is refused (429) until the window passes. */
    loginFailures: number;
    loginWindowMs: number;
    /** How often the page's event stream sends a fresh snapshot, events or not. */
    snapshotEveryMs: number;
    /** Open event streams at most (each holds a connection and a timer). */
    maxEventStreams: number;
    /** The largest request body read (forms and JSON); larger is refused with 413. */
    maxBodyBytes: number;
  };
}

/** What the pool's sessions wait for a request, from `requestTimeoutMs` (the one place they are derived). */
export function requestTimeouts(requestTimeoutMs: number): Tuning['requests'] {
  return {
    // A whole request may last ten silences: the body timeout is per silence, and a publisher
    // package is large.
    pool: { headersMs: requestTimeoutMs, bodyMs: requestTimeoutMs, totalMs: 10 * requestTimeoutMs },
    // An operator is waiting on a one-shot command, and what it fetches (a profile, a login) is small.
    oneShot: { headersMs: requestTimeoutMs, bodyMs: requestTimeoutMs, totalMs: 2 * requestTimeoutMs },
  };
}

/** The settings that tuning follows, at their defaults (README.md, "Settings"). */
/**
 * How much of a book's (X)HTML, in characters, a build keeps parsed between reading its ids and
 * writing it. A kept document is parsed once instead of twice, which took a third of the build's
 * CPU off (bench/build-thread.ts). Its tree costs about 4 bytes of heap per character once its
 * text nodes are flattened (15 as parsed; measured on the benchmark book), so 4 M characters keep
 * about 17 MB inside the build thread's 48 MB cap (tuning.threads.buildOldGenerationMb), and the
 * documents past the budget (a big book's) are dropped and parsed again when written.
 */
export const BUILD_KEPT_DOCUMENT_CHARS = 4 * 1024 * 1024;

export const DEFAULT_RETRY_BASE_MS = 1000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Near 30 s first, growing while refusals repeat, capped at 30 min (docs/SERVICE.md §3). */
export const DEFAULT_EDGE_BACKOFF: EdgeBackoff = { baseMs: 30_000, maxMs: 30 * 60_000 };

/** Every tuning value at its default (what `resolveConfig` gives with no settings). */
export const DEFAULT_TUNING: Tuning = validateTuning(
  tuningFor({
    retryBaseMs: DEFAULT_RETRY_BASE_MS,
    requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    edgeBackoff: DEFAULT_EDGE_BACKOFF,
  }),
);

/**
 * The tuning that follows settings, from them (the one place it is derived), with every other
 * value at its default.
 */
export function tuningFor(s: { retryBaseMs: number; requestTimeoutMs: number; edgeBackoff: EdgeBackoff; leaseMs?: number; holdMs?: number }): Tuning {
  // docs/ARCHITECTURE.md, threads and processes: job leases and session holds last 2 min unless
  // renewed; hosts that must take over a vanished host's work sooner shorten them (leaseSeconds,
  // holdSeconds), and the renewals and the reaper follow.
  const leaseMs = s.leaseMs ?? 120_000;
  const holdMs = s.holdMs ?? 120_000;
  // Well inside holdMs, so a slow moment never lets a hold lapse.
  const renewMs = Math.min(10_000, Math.floor(holdMs / 4));
  return {
    requests: requestTimeouts(s.requestTimeoutMs),
    session: {
      // Ten minutes before expiry leaves several upkeep rounds (one a minute) to refresh in.
      refreshMarginMs: 10 * 60_000,
      // A refresh the service answered without a new token is not asked for again at once.
      unrenewedRetryMs: 60_000,
    },
    pool: {
      // Past it the job snoozes (NoSessionError) instead of holding its lane.
      acquireTimeoutMs: 120_000,
      restMs: 60_000,
      noSessionRetryMs: 60_000,
      // An operator renewing a session by remove + add must not end a run for want of sessions in
      // between (the daemon reloads the rows every 10 s).
      removedGraceMs: 30_000,
      // Far above any session count: pacing and the machine budget bound requests, not the agent.
      connections: 64,
      keepAliveTimeoutMs: 10_000,
    },
    threads: {
      // A minute: books built back to back share one thread; an idle daemon gives its heap back.
      buildIdleMs: 60_000,
      // V8's default (48 MB) keeps tens of MB of garbage resident; 4 MB made a build's short-lived
      // parse trees outlive the young generation and raised its CPU by a third. 16 lies between
      // the two in CPU and resident memory (`node --import tsx bench/build-thread.ts`).
      youngGenerationMb: 16,
      // A build keeps one parsed chapter and the book's metadata alive (a few MB), but V8 lets an
      // uncapped heap grow to several times that before collecting. Capped, 4 MB books built back
      // to back raised resident memory by about 95 MB instead of 140 (bench/build-thread.ts).
      buildOldGenerationMb: 48,
    },
    holds: {
      // docs/ARCHITECTURE.md, threads and processes: holds renewed every 10 s, lapsing after 2 min.
      holdMs,
      renewMs,
      // Half a hold: a request sent just before the store went away has that long to end before
      // another host could take the session; healthy renewals never come near it.
      sendMarginMs: Math.floor(holdMs / 2),
      // By then the hold has lapsed in the store, and what was this process's may be another's.
      waitMs: holdMs,
      pollMs: Math.min(250, renewMs),
    },
    daemon: {
      // Many heartbeats long; the jobs of a daemon that vanished (another host) come back within two minutes.
      leaseMs,
      heartbeatMs: Math.min(5_000, Math.floor(leaseMs / 4)),
      pollMs: 1_000,
      // A PostgreSQL restart takes seconds; a longer outage is tried every half minute.
      storeRetryCapMs: 30_000,
      tickMs: 1_000,
      // The watchdog's period is not among them: systemd sets it (half of WATCHDOG_USEC).
      // A due watch waits at most a couple of seconds for its run (its period is hours or days; in tests, seconds).
      periods: {
        reap: Math.min(30_000, Math.floor(leaseMs / 2)),
        upkeep: 60_000,
        // The pool's holds are renewed when it reads the rows again: as often as they must be.
        reload: renewMs,
        budget: 2_000,
        beat: 5_000,
        status: 5_000,
        extend: 5_000,
        watch: 2_000,
      },
      healthyWithinMs: 10_000,
      storageHoldMs: 60_000,
      // Follows the backoff unit, as a failed book's first backoff does.
      throttleSnoozeMs: 30 * s.retryBaseMs,
      maxThrottleSnoozeMs: 30 * 60_000,
      noSessionSnoozeMs: 60_000,
      // Beyond the drain's own time left: the extend duty's period and closing the pool and store.
      extendSlackMs: 15_000,
      // The "paused for more than 10 minutes": the edge's pauses double from 30 s, so
      // shorter refusals come and go on their own.
      edgeBlockedAlertMs: 10 * 60_000,
    },
    retry: {
      requestBaseMs: s.retryBaseMs,
      // The `retryBaseMs` setting's promise: a failed book waits 30×, 60×, … the backoff unit.
      jobBaseMs: 30 * s.retryBaseMs,
      // Once a minute per job: a probe is a request of its own.
      probeFreshMs: 60_000,
      // Six hours: a book that keeps failing is still tried a few times a day.
      jobCapMs: 6 * 60 * 60 * 1000,
      retryAfterFallbackMs: 60_000,
      // A day: a Retry-After further out is more likely a mistake than a plan.
      retryAfterCapMs: 86_400_000,
    },
    edge: { ...s.edgeBackoff },
    watch: {
      // A skill's listing gains books slowly; a playlist is the operator's own and changes more often.
      skillsEveryMs: 7 * 86_400_000,
      playlistEveryMs: 86_400_000,
      // Watches added together drift apart rather than asking the service at the same moment.
      jitterPercent: 10,
      warnBelowMs: 3_600_000,
      // A minute: a playlist read that hit a passing outage is tried again soon, one that keeps
      // failing backs off to the period instead of asking the service every few seconds.
      retryBaseMs: 60_000,
    },
    notify: {
      // An hour: a session that flaps, or a disk that refuses every write, is one message, not one a minute.
      cooldownMs: 60 * 60_000,
      maxSubjects: 10_000,
      // 5 tries over about 5 minutes (10 s, 20 s, 40 s, 80 s) ride out a receiver's restart.
      attempts: 5,
      retryBaseMs: 10_000,
      retryCapMs: 5 * 60_000,
      maxQueued: 200,
      concurrency: 4,
      requestTimeoutMs: 10_000,
      commandTimeoutMs: 30_000,
      // Enough for a reachable receiver to take the last run's queue.drained; a dead one costs an exit no more.
      flushMs: 2_000,
    },
    hooks: {
      // Five minutes: calibredb add of a large book into a big library takes a while.
      timeoutMs: 5 * 60_000,
      maxQueued: 1_000,
      // A hook still running at exit is not waited for long: it runs on, outside bookd.
      flushMs: 2_000,
    },
    store: {
      // Transactions here last milliseconds, so reaching this means something is stuck, not busy.
      busyTimeoutMs: 30_000,
    },
    status: {
      // Twelve missed beats (one every 5 s).
      daemonGoneMs: 60_000,
      daemonStaleMs: 2 * 60_000,
      rateWindowMs: 60_000,
      // A rate over a shorter span is mostly noise.
      rateMinSpanMs: 2_000,
      liveRedrawMs: 500,
      // A CI log stays readable.
      liveSummaryMs: 5_000,
    },
    opds: {
      // KOReader and Calibre page through a feed; 50 entries with covers is a quick page on an e-reader's Wi-Fi.
      pageSize: 50,
      // A few hundred bytes each: a library of thousands of books read once, not on every feed page.
      metaCacheEntries: 5_000,
      // A full-size cover is a few hundred KB: a hundred or so stay in memory for the feed pages being browsed.
      coverCacheBytes: 32 * 1024 * 1024,
    },
    web: {
      // Enough for a typo or two; a guesser gets five tries a minute, hopeless against a 16+ character token.
      loginFailures: 5,
      loginWindowMs: 60_000,
      snapshotEveryMs: 2_000,
      maxEventStreams: 32,
      // An enqueue form with a few thousand ids fits.
      maxBodyBytes: 1_048_576,
    },
  };
}

/** Every number of `t` a whole number ≥ 1, by its dotted key. */
function checkPositive(value: unknown, key: string): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(`${key} must be a whole number ≥ 1, got ${value}`);
    return;
  }
  if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) checkPositive(v, `${key}.${k}`);
}

/**
 * Checks every value (each a whole number ≥ 1) and the relations between them; throws a
 * ConfigError naming the key. `resolveConfig` calls it once; modules trust what they are given.
 */
export function validateTuning(t: Tuning): Tuning {
  checkPositive(t, 'tuning');
  const atMost = (small: number, smallKey: string, big: number, bigKey: string, why: string) => {
    if (small > big) throw new ConfigError(`tuning.${smallKey} (${small} ms) must not exceed tuning.${bigKey} (${big} ms): ${why}`);
  };
  const below = (small: number, smallKey: string, big: number, bigKey: string, why: string) => {
    if (small >= big) throw new ConfigError(`tuning.${smallKey} (${small} ms) must be below tuning.${bigKey} (${big} ms): ${why}`);
  };
  // Not among the relations: throttleSnoozeMs and jobBaseMs against their caps. They follow
  // retryBaseMs, any value of which is valid; the caps cut them (src/daemon/outcome.ts, src/db/backoff.ts).
  const d = t.daemon;
  if (3 * d.heartbeatMs >= d.leaseMs)
    throw new ConfigError(
      `tuning.daemon.heartbeatMs (${d.heartbeatMs} ms) must be below a third of tuning.daemon.leaseMs (${d.leaseMs} ms): a lease must outlive a missed heartbeat or two`,
    );
  below(d.periods.reap, 'daemon.periods.reap', d.leaseMs, 'daemon.leaseMs', 'lapsed leases would wait longer than a lease for the reaper');
  below(d.periods.beat, 'daemon.periods.beat', t.status.daemonGoneMs, 'status.daemonGoneMs', 'a live daemon would look gone between beats');
  below(d.periods.beat, 'daemon.periods.beat', t.status.daemonStaleMs, 'status.daemonStaleMs', 'a live daemon would look stale between beats');
  below(d.tickMs, 'daemon.tickMs', d.healthyWithinMs, 'daemon.healthyWithinMs', 'a healthy supervisor would fail /healthz between ticks');
  below(t.holds.renewMs, 'holds.renewMs', t.holds.holdMs, 'holds.holdMs', 'a hold would lapse before it is renewed');
  below(
    t.holds.renewMs + t.holds.sendMarginMs,
    'holds.renewMs + holds.sendMarginMs',
    t.holds.holdMs,
    'holds.holdMs',
    'requests would pause between healthy renewals',
  );
  below(d.periods.reload, 'daemon.periods.reload', t.holds.holdMs, 'holds.holdMs', "the daemon's session holds would lapse between renewals");
  if (t.watch.jitterPercent >= 100)
    throw new ConfigError(`tuning.watch.jitterPercent (${t.watch.jitterPercent}) must be below 100: a run could be scheduled before the one just made`);
  atMost(t.notify.retryBaseMs, 'notify.retryBaseMs', t.notify.retryCapMs, 'notify.retryCapMs', 'the first retry waits longer than the longest');
  atMost(t.edge.baseMs, 'edge.baseMs', t.edge.maxMs, 'edge.maxMs', 'the first edge pause is longer than the longest');
  atMost(t.retry.retryAfterFallbackMs, 'retry.retryAfterFallbackMs', t.retry.retryAfterCapMs, 'retry.retryAfterCapMs', 'the fallback is beyond the cap');
  for (const [name, r] of Object.entries(t.requests)) {
    atMost(r.headersMs, `requests.${name}.headersMs`, r.totalMs, `requests.${name}.totalMs`, 'a request would time out before its headers could');
    atMost(r.bodyMs, `requests.${name}.bodyMs`, r.totalMs, `requests.${name}.totalMs`, 'a request would time out before its body could');
  }
  return t;
}

type Raw = Record<string, unknown>;
type Source = { kind: 'flag' | 'env' | 'file'; name: string };

function fail(source: Source, key: string, what: string): never {
  if (source.kind === 'flag') throw new UsageError(`${source.name}: ${what}`);
  const where = source.kind === 'env' ? `environment variable ${source.name}` : `config file ${source.name}, key "${key}"`;
  throw new ConfigError(`${where}: ${what}`);
}

function coerce(source: Source, key: string, kind: Kind, value: unknown): unknown {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string' || value === '') fail(source, key, 'must be a non-empty string');
      return value;
    case 'int':
    case 'positive': {
      const min = kind === 'positive' ? 1 : 0;
      const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) fail(source, key, `must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
      return n;
    }
    case 'rate': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 10_000)
        fail(source, key, `must be a number of requests per second above 0, got ${JSON.stringify(value)}`);
      return n;
    }
    case 'strings': {
      const list = typeof value === 'string' ? value.split(',') : value;
      if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) fail(source, key, 'must be a list of strings');
      return list.map((s) => s.trim()).filter(Boolean);
    }
    case 'notify': {
      const parsed = parseNotifySettings(value);
      if ('error' in parsed) fail(source, key, parsed.error);
      return parsed.settings;
    }
    case 'command': {
      const parsed = parseCommandSetting(value);
      if ('error' in parsed) fail(source, key, parsed.error);
      return parsed.argv;
    }
  }
}

function readConfigFile(path: string, explicit: boolean): Raw {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const fix = explicit ? 'fix the path given to --config or BOOKD_CONFIG' : 'fix its permissions or remove it';
    throw new ConfigError(`config file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); ${fix}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object of settings`);
  }
  const source: Source = { kind: 'file', name: path };
  const out: Raw = {};
  for (const [key, value] of Object.entries(parsed)) {
    const kind = FILE_KEYS[key];
    if (!kind) fail(source, key, `unknown key (known keys: ${Object.keys(FILE_KEYS).join(', ')})`);
    out[key] = coerce(source, key, kind, value);
  }
  return out;
}

// The XDG Base Directory defaults: a variable that is unset, empty or relative counts as unset.
function xdgDir(env: NodeJS.ProcessEnv, name: string, home: string, ...fallback: string[]): string {
  const value = env[name];
  return value && isAbsolute(value) ? value : join(home, ...fallback);
}

function defaultDataDir(env: NodeJS.ProcessEnv, home: string): string {
  // systemd's StateDirectory= may list several paths separated by ':'; the first is ours.
  if (env.STATE_DIRECTORY) return env.STATE_DIRECTORY.split(':')[0]!;
  return join(xdgDir(env, 'XDG_STATE_HOME', home, '.local', 'state'), 'bookd');
}

/** The user's config file: `$XDG_CONFIG_HOME/bookd/config.json`, by default ~/.config/bookd/config.json. */
export function userConfigFile(env: NodeJS.ProcessEnv, home: string): string {
  return join(xdgDir(env, 'XDG_CONFIG_HOME', home, '.config'), 'bookd', 'config.json');
}

/**
 * The library nobody chose: `$XDG_DATA_HOME/bookd/library` (~/.local/share/bookd/library), since
 * EPUBs are user data rather than state. Under systemd (STATE_DIRECTORY set) it stays in the state
 * directory, the only place the unit's ProtectSystem=strict/ProtectHome=yes let it write.
 */
function defaultLibrary(env: NodeJS.ProcessEnv, home: string, dataDir: string): string {
  if (env.STATE_DIRECTORY) return join(dataDir, 'library');
  return join(xdgDir(env, 'XDG_DATA_HOME', home, '.local', 'share'), 'bookd', 'library');
}

/**
 * Settings from, in rising precedence: defaults; the config files (see below); environment
 * variables BOOKD_*; flags. The config files are either the one named by --config (or
 * BOOKD_CONFIG) alone, or else every one of these that exists, each overriding the ones before
 * it key by key: /etc/bookd/config.json, $XDG_CONFIG_HOME/bookd/config.json,
 * <data-dir>/config.json (the data dir as flags, environment or the two files before say).
 * A wrong flag is a usage error (exit 2); a wrong file or environment setting is exit 78.
 */
export function resolveConfig(flags: GlobalFlags & RunFlags, env: NodeJS.ProcessEnv = process.env, places: ConfigPlaces = defaultPlaces()): Config {
  const merged: Raw = {};
  const sources: Record<string, Source> = {};
  const configFiles: string[] = [];
  const notes: string[] = [];
  const load = (file: string, explicit: boolean) => {
    configFiles.push(file);
    for (const [k, v] of Object.entries(readConfigFile(file, explicit))) {
      merged[k] = v;
      sources[k] = { kind: 'file', name: file };
    }
  };

  const explicitFile = flags.config ?? env.BOOKD_CONFIG;
  if (explicitFile !== undefined && explicitFile !== '') load(explicitFile, true);
  else if (places.search) {
    for (const file of [places.systemFile, userConfigFile(env, places.home)]) if (existsSync(file)) load(file, false);
    const guessDir = flags.dataDir ?? (env.BOOKD_DATA_DIR || undefined) ?? (merged.dataDir as string | undefined) ?? defaultDataDir(env, places.home);
    const dataDirFile = resolve(guessDir, 'config.json');
    if (!configFiles.includes(dataDirFile) && existsSync(dataDirFile)) load(dataDirFile, false);
  }
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const source: Source = { kind: 'env', name };
    merged[key] = coerce(source, key, FILE_KEYS[key]!, value);
    sources[key] = source;
  }
  // Only flags that stand for settings: a command's own options (say --json) may arrive in the
  // same object.
  for (const [key, { kind, flag }] of Object.entries(FLAG_KEYS)) {
    const value = flags[key as keyof typeof FLAG_KEYS];
    if (value === undefined) continue;
    const source: Source = { kind: 'flag', name: flag };
    merged[key] = coerce(source, key, kind, value);
    sources[key] = source;
  }

  const dataDir = resolve((merged.dataDir as string | undefined) ?? defaultDataDir(env, places.home));
  let library = resolve((merged.library as string | undefined) ?? defaultLibrary(env, places.home, dataDir));
  const oldLibrary = join(dataDir, 'library');
  if (merged.library === undefined && library !== oldLibrary && existsSync(oldLibrary)) {
    // Before the XDG data directory, the default library was <data-dir>/library: books already
    // there stay where they are until the operator moves them.
    notes.push(
      `using the library at its old default place ${oldLibrary}; to move it, stop bookd and run \`mkdir -p ${dirname(library)} && mv ${oldLibrary} ${library}\`, or set library (BOOKD_LIBRARY) to keep it there`,
    );
    library = oldLibrary;
  }

  const baseUrl = ((merged.baseUrl as string | undefined) ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  if (!isOrigin(baseUrl)) {
    fail(sources.baseUrl ?? { kind: 'flag', name: 'baseUrl' }, 'baseUrl', `"${baseUrl}" is not an http(s) origin such as ${DEFAULT_BASE_URL}`);
  }

  const store = (merged.store as string | undefined) || undefined;
  if (store !== undefined && !/^postgres(ql)?:\/\/./i.test(store)) {
    // The value itself is not repeated: a store URL can hold a password.
    fail(sources.store!, 'store', 'is not a postgres:// or postgresql:// URL (leave it out for SQLite in the data directory)');
  }
  const ipGroup = (merged.ipGroup as string | undefined) || undefined;
  if (ipGroup !== undefined && !/^[A-Za-z0-9._:-]{1,100}$/.test(ipGroup)) {
    fail(sources.ipGroup!, 'ipGroup', `"${ipGroup}" is not a group name: use 1–100 letters, digits, '.', '_', ':' or '-'`);
  }

  const logLevel = (merged.logLevel as string | undefined) ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    fail(sources.logLevel!, 'logLevel', `"${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }

  const buildMode = (merged.buildMode as string | undefined) ?? 'auto';
  if (!(BUILD_MODES as readonly string[]).includes(buildMode)) {
    fail(sources.buildMode!, 'buildMode', `"${buildMode}" is not one of ${BUILD_MODES.join(', ')}`);
  }

  const authUrl = ((merged.authUrl as string | undefined) ?? (baseUrl === DEFAULT_BASE_URL ? LIVE_AUTH_URL : baseUrl)).replace(/\/+$/, '');
  if (!isOrigin(authUrl)) {
    fail(sources.authUrl!, 'authUrl', `"${authUrl}" is not an http(s) origin such as ${LIVE_AUTH_URL}`);
  }

  const budget: BudgetSettings = {
    start: (merged.budgetStart as number | undefined) ?? DEFAULT_BUDGET.start,
    ceiling: (merged.budgetCeiling as number | undefined) ?? DEFAULT_BUDGET.ceiling,
    floor: (merged.budgetFloor as number | undefined) ?? DEFAULT_BUDGET.floor,
    riseMs: merged.budgetRiseSeconds !== undefined ? (merged.budgetRiseSeconds as number) * 1000 : DEFAULT_BUDGET.riseMs,
  };
  if (budget.ceiling < budget.floor)
    fail(
      sources.budgetCeiling ?? sources.budgetFloor!,
      sources.budgetCeiling ? 'budgetCeiling' : 'budgetFloor',
      `the budget ceiling (${budget.ceiling}) is below its floor (${budget.floor})`,
    );
  if (budget.start > budget.ceiling || budget.start < budget.floor) {
    const key = sources.budgetStart ? 'budgetStart' : sources.budgetCeiling ? 'budgetCeiling' : 'budgetFloor';
    fail(sources[key]!, key, `the budget must start between its floor (${budget.floor}) and its ceiling (${budget.ceiling}), got ${budget.start}`);
  }

  const edgeBackoffMs = (merged.edgeBackoffMs as number | undefined) ?? DEFAULT_EDGE_BACKOFF.baseMs;
  const edgeBackoffMaxMs = (merged.edgeBackoffMaxMs as number | undefined) ?? DEFAULT_EDGE_BACKOFF.maxMs;
  if (edgeBackoffMaxMs < edgeBackoffMs) {
    const key = sources.edgeBackoffMaxMs ? 'edgeBackoffMaxMs' : 'edgeBackoffMs';
    fail(sources[key]!, key, `the longest edge pause (${edgeBackoffMaxMs} ms) is shorter than the first (${edgeBackoffMs} ms)`);
  }

  const http = merged.http as string | undefined;
  if (http !== undefined && !hostPort(http)) fail(sources.http!, 'http', `"${http}" is not HOST:PORT (for example 127.0.0.1:9469)`);

  const credentialsDir = (merged.credentialsDir as string | undefined) ?? env.CREDENTIALS_DIRECTORY;
  const httpToken = (merged.httpToken as string | undefined) ?? tokenFile(credentialsDir);
  if (httpToken !== undefined && httpToken.length < MIN_HTTP_TOKEN_LENGTH) {
    const source = sources.httpToken ?? { kind: 'file', name: join(credentialsDir ?? '', HTTP_TOKEN_FILE) };
    fail(source, 'httpToken', `is ${httpToken.length} characters long; use at least ${MIN_HTTP_TOKEN_LENGTH} (for example: openssl rand -hex 24)`);
  }
  const workers = merged.workers as number | undefined;
  if (workers === 0) fail(sources.workers!, 'workers', 'must be at least 1');

  // BOOKD_NOTIFY_WEBHOOK replaces the file's webhooks and keeps its ntfy and command.
  let notify = (merged.notify as NotifySettings | undefined) ?? NO_NOTIFY;
  const webhookEnv = env.BOOKD_NOTIFY_WEBHOOK;
  if (webhookEnv !== undefined && webhookEnv !== '') {
    const parsed = parseWebhookList(webhookEnv);
    if ('error' in parsed) fail({ kind: 'env', name: 'BOOKD_NOTIFY_WEBHOOK' }, 'notify', parsed.error);
    notify = { ...notify, webhooks: parsed.webhooks };
  }

  const retryBaseMs = (merged.retryBaseMs as number | undefined) ?? DEFAULT_RETRY_BASE_MS;
  const requestTimeoutMs = (merged.requestTimeoutMs as number | undefined) ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const leaseMs = merged.leaseSeconds !== undefined ? (merged.leaseSeconds as number) * 1000 : undefined;
  const holdMs = merged.holdSeconds !== undefined ? (merged.holdSeconds as number) * 1000 : undefined;
  for (const [key, ms] of [
    ['leaseSeconds', leaseMs],
    ['holdSeconds', holdMs],
  ] as const) {
    if (ms !== undefined && ms < 4000) fail(sources[key]!, key, 'must be at least 4 seconds (it is renewed several times within it)');
  }
  const tuning = validateTuning(
    tuningFor({
      retryBaseMs,
      requestTimeoutMs,
      edgeBackoff: { baseMs: edgeBackoffMs, maxMs: edgeBackoffMaxMs },
      ...(leaseMs !== undefined && { leaseMs }),
      ...(holdMs !== undefined && { holdMs }),
    }),
  );

  return {
    dataDir,
    dbPath: join(dataDir, 'bookd.db'),
    library,
    store,
    ipGroup,
    baseUrl,
    logLevel: logLevel as LogLevel,
    sessionIntervalMs: (merged.sessionIntervalMs as number | undefined) ?? 1000,
    workers,
    languages: (merged.languages as string[] | undefined) ?? ['en'],
    graceMs: ((merged.graceSeconds as number | undefined) ?? 60) * 1000,
    retryBaseMs,
    requestTimeoutMs,
    edgeBackoffMs,
    edgeBackoffMaxMs,
    authUrl,
    userAgent: (merged.userAgent as string | undefined) ?? DEFAULT_USER_AGENT,
    acceptLanguage: (merged.acceptLanguage as string | undefined) ?? DEFAULT_ACCEPT_LANGUAGE,
    budget,
    http,
    httpToken,
    buildMode: buildMode as BuildModeSetting,
    credentialsDir,
    configFiles,
    notes,
    notify,
    onArchived: merged.onArchived as string[] | undefined,
    tuning,
    expiryWarningMs: merged.expiryWarningSeconds !== undefined ? (merged.expiryWarningSeconds as number) * 1000 : DEFAULT_EXPIRY_WARNING_MS,
  };
}

/** An http(s) origin with nothing after it: no path, no query (a trailing slash already cut). */
function isOrigin(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return /^https?:$/.test(url.protocol) && url.pathname === '/' && !url.search;
}

/** `HOST:PORT` (an IPv6 host in brackets) as the daemon's --http takes it, or undefined. */
export function hostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(.*):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port > 65535) return undefined;
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
}

/** The credentials file holding the web token (under systemd's LoadCredential, also `bookd_http-token`). */
export const HTTP_TOKEN_FILE = 'http-token';
/** Shorter tokens are refused: the web surface may face a whole network. */
export const MIN_HTTP_TOKEN_LENGTH = 16;

function tokenFile(dir: string | undefined): string | undefined {
  if (!dir) return undefined;
  for (const name of [HTTP_TOKEN_FILE, `bookd_${HTTP_TOKEN_FILE}`]) {
    try {
      const text = readFileSync(join(dir, name), 'utf8').trim();
      if (text !== '') return text;
    } catch {
      // Absent or unreadable: the next place, or no token.
    }
  }
  return undefined;
}

/**
 * What `bookd run` and `bookd daemon` check before anything starts: serving anything but loopback
 * needs the web token. Not part of `resolveConfig`, so the other commands keep working with a
 * config whose token only the service can read (a systemd credential).
 */
export function requireHttpToken(config: Pick<Config, 'http' | 'httpToken'>): void {
  const host = config.http === undefined ? undefined : hostPort(config.http)?.host;
  if (host === undefined || isLoopbackHost(host) || config.httpToken !== undefined) return;
  throw new ConfigError(
    `http: binding ${config.http} (not loopback) needs a token: set httpToken in the config, BOOKD_HTTP_TOKEN, or the credentials file ${HTTP_TOKEN_FILE}; or bind 127.0.0.1`,
  );
}

/** A host the daemon may serve on without a token: 127.0.0.0/8, ::1 (also IPv4-mapped) or localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Some tuning values replaced, group by group. */
export type TuningOverrides = { [K in keyof Tuning]?: Partial<Tuning[K]> };

/** `base` (the defaults unless given) with some values replaced, validated: for tests, benchmarks and the demo. */
export function tuned(overrides: TuningOverrides, base: Tuning = DEFAULT_TUNING): Tuning {
  const out = { ...base } as Record<keyof Tuning, unknown>;
  for (const key of Object.keys(overrides) as (keyof Tuning)[]) out[key] = { ...base[key], ...overrides[key] };
  return validateTuning(out as Tuning);
}
