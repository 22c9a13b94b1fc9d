import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BookdError } from '../errors.js';
import { parseCookieExport } from './cookie-import.js';
import { cookieScope, jarFromImport, restoreJar, serializeJar } from './jar.js';
import { jwtExpiry } from '../jwt.js';

const jwt = (exp: number) => `h.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.s`;

test('reads a flat {name: value} file as safaribooks writes it', () => {
  const { format, cookies } = parseCookieExport(JSON.stringify({ 'orm-jwt': 'a.b.c', 'orm-rt': 'r', groot_sessionid: 'g' }));
  assert.equal(format, 'flat-json');
  assert.deepEqual(
    cookies.map((c) => c.name),
    ['orm-jwt', 'orm-rt', 'groot_sessionid'],
  );
  assert.equal(cookies[0]!.domain, undefined);
});

test('reads cookie-editor arrays with domains and expiry', () => {
  const { format, cookies } = parseCookieExport(
    JSON.stringify([
      { name: 'orm-jwt', value: 'x', domain: '.oreilly.com', path: '/', expirationDate: 1900000000.5, secure: true, httpOnly: true, hostOnly: false },
      { name: 'NID', value: 'y', domain: '.google.com', path: '/' },
    ]),
  );
  assert.equal(format, 'cookie-editor-json');
  assert.equal(cookies[0]!.expires, 1900000000);
  assert.equal(cookies[1]!.domain, '.google.com');
});

test('reads Netscape cookies.txt including #HttpOnly_ lines', () => {
  const text =
    '# Netscape HTTP Cookie File\n\n#HttpOnly_.oreilly.com\tTRUE\t/\tTRUE\t1900000000\torm-jwt\tx.y.z\n.oreilly.com\tTRUE\t/\tFALSE\t0\tlogged_in\ty\n';
  const { format, cookies } = parseCookieExport(text);
  assert.equal(format, 'netscape');
  assert.equal(cookies.length, 2);
  assert.equal(cookies[0]!.httpOnly, true);
  assert.equal(cookies[1]!.expires, undefined);
});

test('reads a raw Cookie header, with or without the name', () => {
  for (const text of ['Cookie: orm-jwt=a.b.c; orm-rt=r', 'orm-jwt=a.b.c; orm-rt=r\n']) {
    const { format, cookies } = parseCookieExport(text);
    assert.equal(format, 'header');
    assert.deepEqual(
      cookies.map((c) => [c.name, c.value]),
      [
        ['orm-jwt', 'a.b.c'],
        ['orm-rt', 'r'],
      ],
    );
  }
});

test('refuses empty, binary, huge, unknown and orm-jwt-less files with a message that says how to export', () => {
  const cases: [string, Buffer | string, RegExp][] = [
    ['empty', '', /empty/],
    ['binary', Buffer.from([0x53, 0x51, 0x4c, 0x00, 0xff, 0xfe]), /binary/],
    ['huge', Buffer.alloc(2 << 20, 0x61), /larger than any cookie export/],
    ['prose', 'hello world, this is not cookies', /not a format bookd reads/],
    ['no jwt', JSON.stringify({ groot_sessionid: 'g' }), /no orm-jwt/],
    ['bad json', '{"orm-jwt": ', /does not parse/],
  ];
  for (const [what, data, re] of cases) {
    assert.throws(
      () => parseCookieExport(data),
      (err: unknown) => {
        assert.ok(err instanceof BookdError, what);
        assert.equal(err.kind, 'bad_input');
        assert.match(err.message, re, what);
        if (what !== 'bad json') assert.match(err.message, /export|cookie/i);
        return true;
      },
    );
  }
});

test('flat cookies take the registrable domain of the base URL, and other sites are left out', () => {
  assert.deepEqual(cookieScope('https://learning.oreilly.com'), { domain: 'oreilly.com', hostOnly: false });
  assert.deepEqual(cookieScope('http://127.0.0.1:8080'), { domain: '127.0.0.1', hostOnly: true });
  const { cookies } = parseCookieExport(
    JSON.stringify([
      { name: 'orm-jwt', value: 'x', domain: '.oreilly.com', path: '/' },
      { name: 'NID', value: 'y', domain: '.google.com', path: '/' },
    ]),
  );
  const { jar, kept, skipped } = jarFromImport(cookies, 'https://learning.oreilly.com');
  assert.equal(kept, 1);
  assert.deepEqual(skipped, ['NID (for .google.com)']);
  assert.equal(jar.getCookieStringSync('https://learning.oreilly.com/profile/'), 'orm-jwt=x');
  assert.equal(jar.getCookieStringSync('https://www.google.com/'), '');
  assert.equal(jar.getCookieStringSync('https://evil.example/'), '');
});

test('a rotated Set-Cookie replaces the imported flat cookie instead of sitting beside it', () => {
  for (const [base, setCookie] of [
    ['https://learning.oreilly.com', 'orm-jwt=NEW; Domain=.oreilly.com; Path=/; HttpOnly; Secure'],
    ['http://127.0.0.1:9999', 'orm-jwt=NEW; Path=/; HttpOnly'],
  ] as const) {
    const { jar } = jarFromImport(parseCookieExport(JSON.stringify({ 'orm-jwt': 'OLD', 'orm-rt': 'R' })).cookies, base);
    jar.setCookieSync(setCookie, `${base}/api/v2/x`);
    assert.equal(jar.getCookieStringSync(`${base}/api/v2/x`), 'orm-jwt=NEW; orm-rt=R', base);
  }
});

test('the jar survives serialisation, and the token expiry is read from the JWT', () => {
  const { jar } = jarFromImport(parseCookieExport(JSON.stringify({ 'orm-jwt': jwt(1_900_000_000) })).cookies, 'http://127.0.0.1:1');
  const again = restoreJar(serializeJar(jar));
  assert.equal(again.getCookieStringSync('http://127.0.0.1:1/'), jar.getCookieStringSync('http://127.0.0.1:1/'));
  assert.equal(jwtExpiry(jwt(1_900_000_000)), 1_900_000_000_000);
  assert.equal(jwtExpiry('garbage'), undefined);
});

test('cookies.txt include-subdomains: TRUE is a domain cookie, FALSE a host-only one, whatever the leading dot says', () => {
  const text = [
    '# Netscape HTTP Cookie File',
    'learning.oreilly.com\tTRUE\t/\tTRUE\t1900000000\torm-jwt\tj',
    '.oreilly.com\tTRUE\t/\tFALSE\t0\tdomain_wide\td',
    'learning.oreilly.com\tFALSE\t/\tFALSE\t0\thost_only\th',
    '.learning.oreilly.com\tFALSE\t/\tFALSE\t0\thost_only_dotted\th2',
    '',
  ].join('\n');
  const { format, cookies } = parseCookieExport(text);
  assert.equal(format, 'netscape');
  assert.deepEqual(
    cookies.map((c) => [c.name, c.hostOnly]),
    [
      ['orm-jwt', false],
      ['domain_wide', false],
      ['host_only', true],
      ['host_only_dotted', true],
    ],
  );
  // The jar sends a domain cookie to subdomains too, and a host-only cookie to its host alone.
  const { jar, kept } = jarFromImport(cookies, 'https://learning.oreilly.com');
  assert.equal(kept, 4);
  const sent = (url: string) =>
    jar
      .getCookiesSync(url)
      .map((c) => c.key)
      .sort();
  assert.deepEqual(sent('https://learning.oreilly.com/'), ['domain_wide', 'host_only', 'host_only_dotted', 'orm-jwt']);
  assert.deepEqual(sent('https://api.learning.oreilly.com/'), ['domain_wide', 'orm-jwt']);
});

test('a browser cookie database given as an export points at --from-browser', () => {
  assert.throws(
    () => parseCookieExport(Buffer.from('SQLite format 3\0\x10\0')),
    (err: unknown) => err instanceof BookdError && err.kind === 'bad_input' && /use --from-browser BROWSER/.test(err.message),
  );
});
