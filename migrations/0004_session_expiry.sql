-- bookd schema version 4: how long each session can go on (issue 13, README.md "Sessions").
--
-- Besides the orm-jwt's exp (token_expires_at), a session can refresh itself only while its
-- orm-rt lasts (docs/SERVICE.md §1): refresh_cookie says whether the jar holds an orm-rt at all,
-- refresh_expires_at when it expires (NULL: none, or it was imported without an expiry).
-- renewed_at is when the token's exp last moved. Every jar save fills them; rows saved by an
-- older bookd are filled here from the cookie in the stored jar (tough-cookie's serialisation:
-- Expires, or Max-Age from its last use, as the jar counts it; the refresh token's own exp is
-- added at the next save), the renewal taken to be the last save.
ALTER TABLE sessions ADD COLUMN refresh_cookie INTEGER NOT NULL DEFAULT 0 CHECK (refresh_cookie IN (0, 1));
ALTER TABLE sessions ADD COLUMN refresh_expires_at INTEGER;
ALTER TABLE sessions ADD COLUMN renewed_at INTEGER;

UPDATE sessions SET
  refresh_cookie = EXISTS (SELECT 1 FROM json_each(sessions.jar, '$.cookies') WHERE json_extract(value, '$.key') = 'orm-rt'),
  refresh_expires_at = (
    SELECT CASE
      WHEN json_type(value, '$.maxAge') IN ('integer', 'real')
        THEN CAST(round((julianday(coalesce(json_extract(value, '$.lastAccessed'), json_extract(value, '$.creation'))) - 2440587.5) * 86400000) AS INTEGER) + CAST(json_extract(value, '$.maxAge') * 1000 AS INTEGER)
      WHEN json_type(value, '$.expires') = 'text' AND json_extract(value, '$.expires') <> 'Infinity'
        THEN CAST(round((julianday(json_extract(value, '$.expires')) - 2440587.5) * 86400000) AS INTEGER)
    END
    FROM json_each(sessions.jar, '$.cookies') WHERE json_extract(value, '$.key') = 'orm-rt' LIMIT 1
  ),
  renewed_at = coalesce(jar_saved_at, created_at)
WHERE json_valid(jar);
