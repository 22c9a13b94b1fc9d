/**
 * Token buckets on the sim clock: one per session (429 + Retry-After), one over all traffic (the
 * edge's 403), and one per remote IP address (the origin's bulk-access guard: samples and 403s).
 * Storms and edge blocks are windows set through the control endpoint.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: number,
    private burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token; otherwise says how long until one is available. */
  take(now: number): { ok: true } | { ok: false; waitMs: number } {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, waitMs: Math.ceil(((1 - this.tokens) / this.rate) * 1000) };
  }

  reconfigure(rate: number, burst: number, now: number): void {
    this.refill(now);
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
    this.last = now;
  }
}

/** Whole seconds, at least 1, as `Retry-After` carries them. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

export type LimitVerdict =
  | { ok: true }
  | { ok: false; kind: 'edge' }
  /** The remote IP's bulk-access budget is spent. */
  | { ok: false; kind: 'guard' }
  | { ok: false; kind: 'session'; retryAfter: number };

export interface LimitSettings {
  rateLimit: number;
  burst: number;
  edgeLimit: number;
  /** Requests per second per remote IP over guarded paths; 0 = no guard. */
  guardRate?: number;
  guardBurst?: number;
}

export class Limits {
  private readonly sessions = new Map<string, TokenBucket>();
  private edge: TokenBucket | undefined;
  private edgeRate = 0;
  private edgeBlockedUntil = 0;
  private readonly storms = new Map<string, number>();
  private sessionRate = 0;
  private sessionBurst = 0;
  private readonly ips = new Map<string, TokenBucket>();
  private guardRate = 0;
  private guardBurst = 0;

  constructor(private readonly settings: LimitSettings) {}

  /** Everyone gets the edge's 403 until `now + ms`. */
  blockEdge(now: number, ms: number): void {
    this.edgeBlockedUntil = now + ms;
  }

  /** These sessions get 429 until `now + ms`. */
  storm(now: number, sids: string[], ms: number): void {
    for (const sid of sids) this.storms.set(sid, now + ms);
  }

  /**
   * Decides one request: the edge first (it sees all traffic), then — for a request to a guarded
   * path, `ip` given — the origin's per-IP guard, then the session's own pace.
   */
  check(sid: string | undefined, now: number, ip?: string): LimitVerdict {
    if (now < this.edgeBlockedUntil) return { ok: false, kind: 'edge' };
    const { edgeLimit, rateLimit, burst } = this.settings;
    if (edgeLimit > 0) {
      if (!this.edge || this.edgeRate !== edgeLimit) {
        this.edge = new TokenBucket(edgeLimit, Math.max(1, edgeLimit), now);
        this.edgeRate = edgeLimit;
      }
      if (!this.edge.take(now).ok) return { ok: false, kind: 'edge' };
    }
    if (ip !== undefined && !this.guard(ip, now)) return { ok: false, kind: 'guard' };
    if (sid === undefined) return { ok: true };
    const stormUntil = this.storms.get(sid);
    if (stormUntil !== undefined) {
      if (now < stormUntil) return { ok: false, kind: 'session', retryAfter: retryAfterSeconds(stormUntil - now) };
      this.storms.delete(sid);
    }
    if (rateLimit > 0) {
      if (this.sessionRate !== rateLimit || this.sessionBurst !== burst) {
        for (const b of this.sessions.values()) b.reconfigure(rateLimit, Math.max(1, burst), now);
        this.sessionRate = rateLimit;
        this.sessionBurst = burst;
      }
      let bucket = this.sessions.get(sid);
      if (!bucket) {
        bucket = new TokenBucket(rateLimit, Math.max(1, burst), now);
        this.sessions.set(sid, bucket);
      }
      const verdict = bucket.take(now);
      if (!verdict.ok) return { ok: false, kind: 'session', retryAfter: retryAfterSeconds(verdict.waitMs) };
    }
    return { ok: true };
  }

  /** Takes one token from this address's bucket; false when it is empty. */
  private guard(ip: string, now: number): boolean {
    const rate = this.settings.guardRate ?? 0;
    if (rate <= 0) return true;
    const burst = Math.max(1, this.settings.guardBurst ?? 1);
    if (this.guardRate !== rate || this.guardBurst !== burst) {
      for (const b of this.ips.values()) b.reconfigure(rate, burst, now);
      this.guardRate = rate;
      this.guardBurst = burst;
    }
    let bucket = this.ips.get(ip);
    if (!bucket) {
      bucket = new TokenBucket(rate, burst, now);
      this.ips.set(ip, bucket);
    }
    return bucket.take(now).ok;
  }
}
