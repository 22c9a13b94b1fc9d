-- bookd schema version 2, PostgreSQL (as ../0002_session_holds.sql): a session belongs to one
-- daemon at a time. Two processes using one cookie jar would race for its rotating token, so a
-- daemon holds each session it uses (renewed while it runs) and other daemons leave it alone
-- until the hold lapses.
ALTER TABLE sessions ADD COLUMN holder text;
ALTER TABLE sessions ADD COLUMN held_until bigint;
