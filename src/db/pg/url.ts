// What a store URL is and how messages name it: plain string work, kept apart from connect.ts so
// the CLI can check a URL without loading the PostgreSQL driver.

/** What `--store URL` may name: a PostgreSQL server (anything else is SQLite in the data dir). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** host:port/database of a store URL, for messages: never its user's password. */
export function describeStore(url: string): string {
  try {
    const u = new URL(url);
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)';
    return `${u.hostname || 'localhost'}:${u.port || '5432'}/${db}`;
  } catch {
    return '(an unparsable store URL)';
  }
}
