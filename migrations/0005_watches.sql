-- bookd schema version 5: watched skills and playlists (issue 13, README.md "Watches").
--
-- A watch is an `enqueue --skills` or `enqueue --playlist` the daemon repeats every period_ms.
-- The schedule lives here (next_run_at), so it survives restarts; each run moves next_run_at on
-- by the period ± jitter (src/db/watches.ts). options holds the enqueue options as JSON (format,
-- maxBooks, excludeSkills); last_found what the last run found, as JSON (per skill or for the
-- playlist: the books it added), NULL before the first run.
CREATE TABLE watches (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('skills', 'playlist')),
  target TEXT NOT NULL,
  options TEXT NOT NULL DEFAULT '{}',
  period_ms INTEGER NOT NULL CHECK (period_ms >= 1),
  next_run_at INTEGER NOT NULL,
  last_run_at INTEGER,
  last_found TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX watches_due ON watches (next_run_at);
