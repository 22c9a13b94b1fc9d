import type { Behaviour, PartialCookiesMode, ProfileMode, StaleMode } from './options.js';
import { parseRotate } from './options.js';

/** A run-time change sent to `POST /__sim/control`. */
export interface ControlPatch {
  failRate?: number;
  resetRate?: number;
  stallRate?: number;
  shortRate?: number;
  staleMode?: StaleMode;
  /** `every`, `off`, `age` or a positive number of responses. */
  rotate?: string | number;
  rotateAgeSec?: number;
  grace?: number;
  tokenTtlSec?: number;
  latencyMs?: number;
  jitterMs?: number;
  bandwidthKbps?: number;
  rateLimit?: number;
  burst?: number;
  edgeLimit?: number;
  fileGate?: boolean;
  guardRate?: number;
  /** A whole number ≥ 1. */
  guardBurst?: number;
  partialCookies?: PartialCookiesMode;
  profileMode?: ProfileMode;
  profileRefresh?: boolean;
  tokenEndpoint?: boolean;
  duplicateLoginCookies?: boolean;
  anonymousListing?: boolean;
  /** Answer the edge's 403 to everyone for this long, from now. */
  edgeBlockMs?: number;
  /** 429 to these sessions for this long, from now. */
  storm?: { sessions: string[]; ms: number };
  /** Logs these sessions out (`m1`, …): their tokens and orm-rt are refused from now on, as after a logout elsewhere. */
  revoke?: string[];
  /** Moves the simulator's clock forward (token expiry, limits). */
  advanceClockMs?: number;
  /** Publishes a new book in this skill; the answer names it (`addedBook`). */
  addBook?: { skill: string };
  /** Grows a book by `chapters` (default 2) with a later date; the answer says how (`grownBook`). */
  growBook?: { id: string; chapters?: number };
}

const RATES = ['failRate', 'resetRate', 'stallRate', 'shortRate'] as const;
const COUNTS = ['rotateAgeSec', 'grace', 'tokenTtlSec', 'latencyMs', 'jitterMs', 'bandwidthKbps', 'burst', 'edgeBlockMs', 'advanceClockMs'] as const;
const SPEEDS = ['rateLimit', 'edgeLimit', 'guardRate'] as const;
const SWITCHES = ['fileGate', 'profileRefresh', 'tokenEndpoint', 'duplicateLoginCookies', 'anonymousListing'] as const;
/** Keys that take one of a few strings. */
const CHOICES = { partialCookies: ['404', 'ignore'], profileMode: ['redirect', 'plain'] } as const;

export class ControlError extends Error {}

/** Checks a patch; throws ControlError with a one-line reason for anything unknown or out of range. */
export function parseControl(raw: unknown): ControlPatch {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ControlError('the control body must be a JSON object');
  const known = new Set<string>([
    ...RATES,
    ...COUNTS,
    ...SPEEDS,
    ...SWITCHES,
    ...Object.keys(CHOICES),
    'guardBurst',
    'staleMode',
    'rotate',
    'storm',
    'addBook',
    'revoke',
    'growBook',
  ]);
  const out: ControlPatch = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!known.has(key)) throw new ControlError(`unknown control key "${key}" (known: ${[...known].join(', ')})`);
    if ((RATES as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new ControlError(`${key} must be a number from 0 to 1`);
    } else if ((COUNTS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new ControlError(`${key} must be a whole number ≥ 0`);
    } else if ((SPEEDS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ControlError(`${key} must be a number ≥ 0`);
    } else if ((SWITCHES as readonly string[]).includes(key)) {
      if (typeof value !== 'boolean') throw new ControlError(`${key} must be true or false`);
    } else if (key === 'guardBurst') {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new ControlError('guardBurst must be a whole number ≥ 1');
    } else if (key === 'partialCookies' || key === 'profileMode') {
      const allowed: readonly string[] = CHOICES[key];
      const v = key === 'partialCookies' && value === 404 ? '404' : value;
      if (typeof v !== 'string' || !allowed.includes(v)) throw new ControlError(`${key} must be ${allowed.map((a) => `"${a}"`).join(' or ')}`);
      (out as Record<string, unknown>)[key] = v;
      continue;
    } else if (key === 'staleMode') {
      if (value !== '401' && value !== 'preview' && value !== 'silent-preview' && value !== 401)
        throw new ControlError('staleMode must be "401", "preview" or "silent-preview"');
      out.staleMode = value === 401 ? '401' : value;
      continue;
    } else if (key === 'rotate') {
      if ((typeof value !== 'string' && typeof value !== 'number') || !parseRotate(String(value)))
        throw new ControlError('rotate must be "every", "off", "age" or a positive whole number');
    } else if (key === 'addBook') {
      const a = value as { skill?: unknown } | null;
      if (!a || typeof a !== 'object' || typeof a.skill !== 'string' || a.skill.trim() === '') throw new ControlError('addBook must be {"skill": "Python"}');
      out.addBook = { skill: a.skill.trim() };
      continue;
    } else if (key === 'revoke') {
      if (!Array.isArray(value) || !value.every((x) => typeof x === 'string' && x !== ''))
        throw new ControlError('revoke must be a list of session names: ["m1", …]');
    } else if (key === 'growBook') {
      const g = value as { id?: unknown; chapters?: unknown } | null;
      const usage = 'growBook must be {"id": "9781492056348"} or {"id": "…", "chapters": N} with N from 1 to 100';
      if (!g || typeof g !== 'object' || Array.isArray(g) || typeof g.id !== 'string' || !/^\d{13}$/.test(g.id.trim())) throw new ControlError(usage);
      if (Object.keys(g).some((k) => k !== 'id' && k !== 'chapters')) throw new ControlError(usage);
      if (g.chapters !== undefined && (typeof g.chapters !== 'number' || !Number.isSafeInteger(g.chapters) || g.chapters < 1 || g.chapters > 100))
        throw new ControlError(usage);
      out.growBook = { id: g.id.trim(), ...(g.chapters !== undefined && { chapters: g.chapters }) };
      continue;
    } else if (key === 'storm') {
      const s = value as { sessions?: unknown; ms?: unknown } | null;
      if (
        !s ||
        typeof s !== 'object' ||
        !Array.isArray(s.sessions) ||
        !s.sessions.every((x) => typeof x === 'string') ||
        typeof s.ms !== 'number' ||
        s.ms < 0
      ) {
        throw new ControlError('storm must be {"sessions": ["m1", …], "ms": N}');
      }
    }
    (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

/** Applies the behaviour part of a patch (windows and the clock are the server's). */
export function applyBehaviour(b: Behaviour, p: ControlPatch): void {
  for (const key of [...RATES, ...SPEEDS, 'rotateAgeSec', 'grace', 'tokenTtlSec', 'latencyMs', 'jitterMs', 'bandwidthKbps', 'burst', 'guardBurst'] as const) {
    const v = p[key];
    if (v !== undefined) b[key] = v;
  }
  for (const key of SWITCHES) {
    const v = p[key];
    if (v !== undefined) b[key] = v;
  }
  if (p.partialCookies !== undefined) b.partialCookies = p.partialCookies;
  if (p.profileMode !== undefined) b.profileMode = p.profileMode;
  if (p.staleMode !== undefined) b.staleMode = p.staleMode;
  if (p.rotate !== undefined) b.rotate = parseRotate(String(p.rotate))!;
}
