import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import type { Logger } from '../log.js';
import { DEFAULT_EXPIRY_WARNING_MS as EXPIRY_WARNING_MS } from '../config.js';
import { expiringSessions, expiringSoon, expiryWarner, type ExpiryRow } from './expiry.js';

const H = 3_600_000;
const NOW = Date.UTC(2026, 11, 1, 12);

function row(name: string, over: Partial<ExpiryRow> = {}): ExpiryRow {
  return { name, state: 'ok', tokenExpiresAt: NOW + H, hasRefreshCookie: true, refreshExpiresAt: NOW + 14 * 24 * H, ...over };
}

test('a session is expiring when its orm-rt runs out within the threshold, whatever its token says', () => {
  const rows = [
    row('far'),
    row('edge', { refreshExpiresAt: NOW + EXPIRY_WARNING_MS }),
    row('past-edge', { refreshExpiresAt: NOW + EXPIRY_WARNING_MS + 1 }),
    row('soon', { refreshExpiresAt: NOW + 2 * H, tokenExpiresAt: NOW + 10 * 24 * H }),
    row('gone', { refreshExpiresAt: NOW - H }),
    row('forever', { refreshExpiresAt: undefined, tokenExpiresAt: NOW - H }),
  ];
  const got = expiringSoon(rows, NOW, EXPIRY_WARNING_MS);
  assert.deepEqual(
    got.map((e) => [e.name, e.limit, e.until]),
    [
      ['gone', 'refresh', NOW - H],
      ['soon', 'refresh', NOW + 2 * H],
      ['edge', 'refresh', NOW + EXPIRY_WARNING_MS],
    ],
  );
  assert.equal(
    got[1]!.message,
    'session soon can refresh its token only until 2026-12-01T14:00:00.000Z, when its orm-rt cookie expires: log in again in the browser and run bookd sessions renew soon --from-browser BROWSER[:PROFILE] (or --cookies FILE)',
  );
  assert.match(got[0]!.message, /^session gone could refresh its token only until .* expired: .*bookd sessions renew gone /);
  assert.deepEqual(
    expiringSoon(rows, NOW, 60_000).map((e) => e.name),
    ['gone'],
    'the threshold is a parameter',
  );
});

test('without an orm-rt the token is the limit; a disabled session is never reported', () => {
  const rows = [
    row('no-rt', { hasRefreshCookie: false, refreshExpiresAt: undefined, tokenExpiresAt: NOW + 3 * H }),
    row('no-rt-far', { hasRefreshCookie: false, refreshExpiresAt: undefined, tokenExpiresAt: NOW + 30 * H }),
    row('no-rt-unknown', { hasRefreshCookie: false, refreshExpiresAt: undefined, tokenExpiresAt: undefined }),
    row('off', { state: 'disabled', refreshExpiresAt: NOW + H }),
  ];
  const got = expiringSoon(rows, NOW, EXPIRY_WARNING_MS);
  assert.deepEqual(
    got.map((e) => [e.name, e.limit, e.until]),
    [['no-rt', 'token', NOW + 3 * H]],
  );
  assert.match(got[0]!.message, /^session no-rt has no orm-rt cookie to refresh its token, which expires at 2026-12-01T15:00:00\.000Z: .*renew no-rt/);
});

test('expiringSessions warns once per session per day', () => {
  const rows = [row('a', { refreshExpiresAt: NOW + H }), row('b', { refreshExpiresAt: NOW + 2 * H })];
  assert.deepEqual(
    expiringSessions(rows, NOW, new Map(), EXPIRY_WARNING_MS).map((e) => e.name),
    ['a', 'b'],
  );
  const warned = new Map([
    ['a', NOW - 23 * H],
    ['b', NOW - 24 * H],
  ]);
  assert.deepEqual(
    expiringSessions(rows, NOW, warned, EXPIRY_WARNING_MS).map((e) => e.name),
    ['b'],
  );
});

test('expiryWarner logs session.expiring once a day per session, and again after a renewal lapses anew', async () => {
  const clock = new ManualClock(NOW);
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const logger = { warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }) } as unknown as Logger;
  let rows = [row('s1', { hasRefreshCookie: false, refreshExpiresAt: undefined, tokenExpiresAt: NOW + 30_000 }), row('s2')];
  const told: string[] = [];
  const warn = expiryWarner({ list: async () => rows, logger, clock, withinMs: 60_000, onWarn: (e) => told.push(`${e.name}: ${e.message}`) });
  await warn();
  clock.advance(10_000);
  await warn();
  assert.deepEqual(
    lines.map((l) => l.fields),
    [{ event: 'session.expiring', session: 's1', until: new Date(NOW + 30_000).toISOString(), limit: 'token' }],
  );
  assert.match(lines[0]!.msg, /bookd sessions renew s1/);
  clock.advance(EXPIRY_WARNING_MS);
  await warn();
  assert.equal(lines.length, 2, 'a day later, still expiring: told again');
  rows = [row('s1', { hasRefreshCookie: false, tokenExpiresAt: clock.now() + 10 * H }), row('s2')];
  await warn();
  assert.equal(lines.length, 2, 'renewed: nothing to say');
  rows = [row('s1', { hasRefreshCookie: false, tokenExpiresAt: clock.now() + 30_000 }), row('s2')];
  await warn();
  assert.equal(lines.length, 3, 'expiring again after the renewal: told at once');
  assert.deepEqual(
    told,
    lines.map((l) => `s1: ${l.msg}`),
    'the session.expiring event goes with each warning, with the same sentence',
  );
});
