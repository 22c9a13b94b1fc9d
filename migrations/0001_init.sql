-- bookd schema version 1. All times are epoch milliseconds from the application's clock;
-- JSON columns hold values the application wrote. Applied inside one transaction by src/db/migrate.ts.

CREATE TABLE jobs (
  id               INTEGER PRIMARY KEY,
  kind             TEXT    NOT NULL CHECK (kind IN ('book', 'discover')),
  dedupe_key       TEXT    NOT NULL UNIQUE,
  payload          TEXT    NOT NULL CHECK (json_valid(payload)),
  priority         INTEGER NOT NULL,
  state            TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  run_at           INTEGER NOT NULL,
  attempt          INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
  lease_owner      TEXT,
  lease_token      TEXT,
  lease_expires_at INTEGER,
  heartbeat_at     INTEGER,
  session          TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  progress         TEXT,
  checkpoint       TEXT,
  last_error_kind  TEXT,
  last_error       TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  CHECK ((state = 'running') = (lease_token IS NOT NULL))
) STRICT;

-- The claim walks this index in order; being partial, it holds only claimable rows and stays
-- small however many finished jobs accumulate (a plain index measured 5x slower claims).
CREATE INDEX jobs_claim ON jobs (priority, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_state ON jobs (state, created_at);

CREATE TABLE job_attempts (
  id          INTEGER PRIMARY KEY,
  job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  outcome     TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'retry', 'snoozed', 'released', 'failed', 'cancelled', 'lease_expired')),
  error_kind  TEXT,
  message     TEXT,
  session     TEXT,
  owner       TEXT,
  started_at  INTEGER,
  finished_at INTEGER NOT NULL,
  duration_ms INTEGER
) STRICT;

CREATE INDEX job_attempts_job ON job_attempts (job_id, id);

-- One row per authenticated identity. Never a password: password_file is only a path the
-- operator gave, read when a re-login is needed.
CREATE TABLE sessions (
  name             TEXT    PRIMARY KEY,
  state            TEXT    NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'cooling', 'expired', 'disabled', 'failed')),
  jar              TEXT    NOT NULL,
  token_expires_at INTEGER,
  login_email      TEXT,
  password_file    TEXT,
  requests         INTEGER NOT NULL DEFAULT 0,
  errors           INTEGER NOT NULL DEFAULT 0,
  books_done       INTEGER NOT NULL DEFAULT 0,
  error_score      REAL    NOT NULL DEFAULT 0,
  cooldown_until   INTEGER,
  last_error       TEXT,
  last_used_at     INTEGER,
  jar_saved_at     INTEGER,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) STRICT;

-- The catalogue: what is in the library, whatever the job table says.
CREATE TABLE books (
  id          TEXT    NOT NULL,
  format      TEXT    NOT NULL CHECK (format IN ('epub', 'kindle')),
  title       TEXT    NOT NULL,
  authors     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(authors)),
  skills      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(skills)),
  path        TEXT    NOT NULL,
  sha256      TEXT    NOT NULL,
  bytes       INTEGER NOT NULL,
  archived_at INTEGER NOT NULL,
  mode        TEXT    NOT NULL CHECK (mode IN ('package', 'chapters')),
  gaps        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(gaps)),
  PRIMARY KEY (id, format)
) STRICT;

CREATE TABLE queue_control (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  reason TEXT,
  since  INTEGER
) STRICT;

INSERT INTO queue_control (id, paused) VALUES (1, 0);

-- Running daemons announce themselves here so `bookd status` can say what they are doing.
CREATE TABLE daemons (
  owner      TEXT    PRIMARY KEY,
  pid        INTEGER NOT NULL,
  host       TEXT    NOT NULL,
  started_at INTEGER NOT NULL,
  seen_at    INTEGER NOT NULL,
  note       TEXT
) STRICT;
