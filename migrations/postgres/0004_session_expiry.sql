-- bookd schema version 4, PostgreSQL (as ../0004_session_expiry.sql): how long each session can go
-- on (issue 13, README.md "Sessions").
--
-- Besides the orm-jwt's exp (token_expires_at), a session can refresh itself only while its
-- orm-rt lasts (docs/SERVICE.md §1): refresh_cookie says whether the jar holds an orm-rt at all,
-- refresh_expires_at when it expires (NULL: none, or it was imported without an expiry).
-- renewed_at is when the token's exp last moved. Every jar save fills them; rows saved before
-- this version are filled here from the cookie in the stored jar (tough-cookie's serialisation:
-- Expires, or Max-Age from its last use, as the jar counts it), the renewal taken to be the last
-- save — the same rule as the SQLite migration.
ALTER TABLE sessions ADD COLUMN refresh_cookie boolean NOT NULL DEFAULT false;
ALTER TABLE sessions ADD COLUMN refresh_expires_at bigint;
ALTER TABLE sessions ADD COLUMN renewed_at bigint;

UPDATE sessions SET
  refresh_cookie = EXISTS (SELECT 1 FROM jsonb_array_elements(sessions.jar::jsonb -> 'cookies') AS c WHERE c ->> 'key' = 'orm-rt'),
  refresh_expires_at = (
    SELECT CASE
      WHEN jsonb_typeof(c -> 'maxAge') = 'number'
        THEN round(extract(epoch FROM coalesce(c ->> 'lastAccessed', c ->> 'creation')::timestamptz) * 1000)::bigint + ((c ->> 'maxAge')::numeric * 1000)::bigint
      WHEN jsonb_typeof(c -> 'expires') = 'string' AND c ->> 'expires' <> 'Infinity'
        THEN round(extract(epoch FROM (c ->> 'expires')::timestamptz) * 1000)::bigint
    END
    FROM jsonb_array_elements(sessions.jar::jsonb -> 'cookies') AS c WHERE c ->> 'key' = 'orm-rt' LIMIT 1
  ),
  renewed_at = coalesce(jar_saved_at, created_at)
WHERE pg_input_is_valid(jar, 'jsonb');
