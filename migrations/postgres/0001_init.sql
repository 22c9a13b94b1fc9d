-- bookd schema version 1, PostgreSQL (the same tables and meaning as ../0001_init.sql). All times
-- are epoch milliseconds from the application's clock (bigint), as in SQLite, so both backends
-- run the same rules; JSON the application wrote is jsonb. Applied inside one transaction under
-- an advisory lock by src/db/pg/migrate.ts.

CREATE TABLE jobs (
  id               bigserial PRIMARY KEY,
  kind             text    NOT NULL CHECK (kind IN ('book', 'discover')),
  dedupe_key       text    NOT NULL UNIQUE,
  payload          jsonb   NOT NULL,
  priority         integer NOT NULL,
  state            text    NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  run_at           bigint  NOT NULL,
  attempt          integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  max_attempts     integer NOT NULL CHECK (max_attempts >= 1),
  lease_owner      text,
  lease_token      text,
  lease_expires_at bigint,
  heartbeat_at     bigint,
  session          text,
  cancel_requested boolean NOT NULL DEFAULT false,
  progress         jsonb,
  checkpoint       jsonb,
  last_error_kind  text,
  last_error       text,
  created_at       bigint  NOT NULL,
  updated_at       bigint  NOT NULL,
  started_at       bigint,
  finished_at      bigint,
  CHECK ((state = 'running') = (lease_token IS NOT NULL))
);

-- The claim walks this index in order; being partial, it holds only claimable rows and stays
-- small however many finished jobs accumulate.
CREATE INDEX jobs_claim ON jobs (priority, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_state ON jobs (state, created_at);
-- The reaper's scan: running rows only.
CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE state = 'running';

CREATE TABLE job_attempts (
  id          bigserial PRIMARY KEY,
  job_id      bigint  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt     integer NOT NULL,
  outcome     text    NOT NULL CHECK (outcome IN ('succeeded', 'retry', 'snoozed', 'released', 'failed', 'cancelled', 'lease_expired')),
  error_kind  text,
  message     text,
  session     text,
  owner       text,
  started_at  bigint,
  finished_at bigint  NOT NULL,
  duration_ms bigint
);

CREATE INDEX job_attempts_job ON job_attempts (job_id, id);

-- One row per authenticated identity. Never a password: password_file is only a path the
-- operator gave, read when a re-login is needed. The jar stays text, not jsonb: a save is a
-- compare-and-swap on the exact serialisation the pool started from (src/db/sessions.ts), which
-- jsonb's normalised form would not give back.
CREATE TABLE sessions (
  name             text    PRIMARY KEY,
  state            text    NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'cooling', 'expired', 'disabled', 'failed')),
  jar              text    NOT NULL,
  token_expires_at bigint,
  login_email      text,
  password_file    text,
  requests         bigint  NOT NULL DEFAULT 0,
  errors           bigint  NOT NULL DEFAULT 0,
  books_done       bigint  NOT NULL DEFAULT 0,
  error_score      double precision NOT NULL DEFAULT 0,
  cooldown_until   bigint,
  last_error       text,
  last_used_at     bigint,
  jar_saved_at     bigint,
  created_at       bigint  NOT NULL,
  updated_at       bigint  NOT NULL
);

-- The catalogue: what is in the library, whatever the job table says.
CREATE TABLE books (
  id          text    NOT NULL,
  format      text    NOT NULL CHECK (format IN ('epub', 'kindle')),
  title       text    NOT NULL,
  authors     jsonb   NOT NULL DEFAULT '[]',
  skills      jsonb   NOT NULL DEFAULT '[]',
  path        text    NOT NULL,
  sha256      text    NOT NULL,
  bytes       bigint  NOT NULL,
  archived_at bigint  NOT NULL,
  mode        text    NOT NULL CHECK (mode IN ('package', 'chapters')),
  gaps        jsonb   NOT NULL DEFAULT '[]',
  PRIMARY KEY (id, format)
);

CREATE TABLE queue_control (
  id     integer PRIMARY KEY CHECK (id = 1),
  paused boolean NOT NULL DEFAULT false,
  reason text,
  since  bigint
);

INSERT INTO queue_control (id, paused) VALUES (1, false);

-- Running daemons announce themselves here so `bookd status` can say what they are doing.
CREATE TABLE daemons (
  owner      text    PRIMARY KEY,
  pid        integer NOT NULL,
  host       text    NOT NULL,
  started_at bigint  NOT NULL,
  seen_at    bigint  NOT NULL,
  note       text
);
