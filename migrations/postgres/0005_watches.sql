-- bookd schema version 5, PostgreSQL (as ../0005_watches.sql): watched skills and playlists
-- (issue 13, README.md "Watches").
--
-- A watch is an `enqueue --skills` or `enqueue --playlist` the daemon repeats every period_ms.
-- The schedule lives here (next_run_at), so it survives restarts; each run moves next_run_at on
-- by the period ± jitter (src/db/watches.ts). options holds the enqueue options (format,
-- maxBooks, excludeSkills); last_found what the last run found (per skill or for the playlist:
-- the books it added), NULL before the first run.
CREATE TABLE watches (
  id          bigserial PRIMARY KEY,
  kind        text   NOT NULL CHECK (kind IN ('skills', 'playlist')),
  target      text   NOT NULL,
  options     jsonb  NOT NULL DEFAULT '{}',
  period_ms   bigint NOT NULL CHECK (period_ms >= 1),
  next_run_at bigint NOT NULL,
  last_run_at bigint,
  last_found  jsonb,
  created_at  bigint NOT NULL
);
CREATE INDEX watches_due ON watches (next_run_at);
