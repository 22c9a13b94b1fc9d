import type { Clock } from '../../clock.js';
import type { Tuning } from '../../config.js';
import type { Store } from '../../db/store.js';
import { progressLines, summaryLine } from './progress.js';
import { liveFigures, type Sample } from '../../views/pace.js';

/** What the live view writes to: a terminal (redrawn in place) or anything else (summary lines). */
export interface ViewStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): boolean;
}

/**
 * The demo's live view: the progress lines of `status --watch` (src/cli/support/progress.ts), redrawn in
 * place every `liveRedrawMs` on a terminal. Without a terminal it prints one summary line when the
 * figures change, at most every `liveSummaryMs`, so a CI log stays readable.
 */
export function startLiveView(opts: { store: Store; clock: Clock; out?: ViewStream; status: Tuning['status'] }): { stop(): void } {
  const out: ViewStream = opts.out ?? process.stdout;
  const samples: Sample[] = [];
  const interval = opts.status.liveRedrawMs;
  const figures = () => liveFigures(opts.store, samples, opts.clock.now(), opts.status);
  if (!out.isTTY) {
    let last = '';
    const timer = setInterval(
      () => {
        const line = summaryLine(figures());
        if (line !== last) out.write(`${line}\n`);
        last = line;
      },
      Math.max(interval, opts.status.liveSummaryMs),
    );
    return { stop: () => clearInterval(timer) };
  }
  let drawn = 0;
  const render = () => {
    const lines = progressLines(figures(), out.columns ?? 100);
    // Back to the first line drawn last time, erase to the end of the screen, draw again.
    out.write(`${drawn ? `\x1b[${drawn}F` : ''}\x1b[J${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  out.write('\x1b[?25l');
  render();
  const timer = setInterval(render, interval);
  return {
    stop: () => {
      clearInterval(timer);
      render();
      out.write('\x1b[?25h');
    },
  };
}
