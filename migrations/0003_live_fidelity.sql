-- bookd schema version 3: what the live service taught (docs/SERVICE.md, rows marked 2026-09).
--
-- A session can be parked as 'partial': it was answered 404 for a book another session could
-- read, which is how the service treats a partial cookie set. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt (nothing references it). Each session also keeps
-- the User-Agent of the browser its cookies came from.
CREATE TABLE sessions_v3 (
  name             TEXT    PRIMARY KEY,
  state            TEXT    NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'cooling', 'expired', 'disabled', 'failed', 'partial')),
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
  updated_at       INTEGER NOT NULL,
  holder           TEXT,
  held_until       INTEGER,
  user_agent       TEXT
) STRICT;

INSERT INTO sessions_v3 (name, state, jar, token_expires_at, login_email, password_file, requests, errors, books_done,
                         error_score, cooldown_until, last_error, last_used_at, jar_saved_at, created_at, updated_at, holder, held_until)
SELECT name, state, jar, token_expires_at, login_email, password_file, requests, errors, books_done,
       error_score, cooldown_until, last_error, last_used_at, jar_saved_at, created_at, updated_at, holder, held_until
FROM sessions;

DROP TABLE sessions;
ALTER TABLE sessions_v3 RENAME TO sessions;

-- One request budget per machine (docs/SERVICE.md §4: the service guards bulk access per IP).
-- Daemons on one machine share this row: the rate they split between them, why it last moved,
-- and the edge's pause of every session behind the address.
CREATE TABLE budget (
  scope        TEXT    PRIMARY KEY,
  rate         REAL    NOT NULL CHECK (rate > 0),
  reason       TEXT    NOT NULL,
  changed_at   INTEGER NOT NULL,
  edge_until   INTEGER,
  edge_strikes INTEGER NOT NULL DEFAULT 0,
  updated_at   INTEGER NOT NULL
) STRICT;
