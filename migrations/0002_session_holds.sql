-- bookd schema version 2: a session belongs to one daemon at a time. Two processes using one
-- cookie jar would race for its rotating token, so a daemon holds each session it uses (renewed
-- while it runs) and other daemons leave it alone until the hold lapses.
ALTER TABLE sessions ADD COLUMN holder TEXT;
ALTER TABLE sessions ADD COLUMN held_until INTEGER;
