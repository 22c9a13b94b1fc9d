-- bookd schema version 3, PostgreSQL (as ../0003_live_fidelity.sql): what the live service taught
-- (docs/SERVICE.md, rows marked 2026-09).
--
-- A session can be parked as 'partial': it was answered 404 for a book another session could
-- read, which is how the service treats a partial cookie set. PostgreSQL changes the CHECK in
-- place (SQLite had to rebuild the table). Each session also keeps the User-Agent of the browser
-- its cookies came from.
ALTER TABLE sessions DROP CONSTRAINT sessions_state_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_state_check CHECK (state IN ('ok', 'cooling', 'expired', 'disabled', 'failed', 'partial'));
ALTER TABLE sessions ADD COLUMN user_agent text;

-- One request budget per machine (docs/SERVICE.md §4: the service guards bulk access per IP).
-- Daemons on one machine share this row: the rate they split between them, why it last moved,
-- and the edge's pause of every session behind the address.
CREATE TABLE budget (
  scope        text    PRIMARY KEY,
  rate         double precision NOT NULL CHECK (rate > 0),
  reason       text    NOT NULL,
  changed_at   bigint  NOT NULL,
  edge_until   bigint,
  edge_strikes integer NOT NULL DEFAULT 0,
  updated_at   bigint  NOT NULL
);
