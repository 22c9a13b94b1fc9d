import type { Clock } from '../clock.js';

/** What the watch reads of the pool's edge gate (src/pool/edge-gate.ts). */
export interface EdgeView {
  blockedUntil(): number | undefined;
  /** Refusals in the current episode: zero once a request has got through again. */
  readonly strikeCount: number;
}

/**
 * A supervisor duty: calls `alert` once per episode in which the edge has paused every session
 * for `thresholdMs` or more. An episode is the run of refusals with no request getting through in
 * between (the gate's strike count), so the short gaps between two pauses do not restart it.
 */
export function edgeWatch(d: { edge: EdgeView; clock: Clock; thresholdMs: number; alert: (since: number, until: number) => void }): () => void {
  let since: number | undefined;
  let alerted = false;
  return () => {
    const now = d.clock.now();
    const until = d.edge.blockedUntil();
    if (until === undefined && d.edge.strikeCount === 0) {
      since = undefined;
      alerted = false;
      return;
    }
    if (until === undefined) return;
    since ??= now;
    if (!alerted && now - since >= d.thresholdMs) {
      alerted = true;
      d.alert(since, until);
    }
  };
}
