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
export function startLiveView(opts: { store: Store; clock: Clock; out?: ViewStream; status: Tuning['status'] }): { stop(): Promise<void> } {
  const out: ViewStream = opts.out ?? process.stdout;
  const samples: Sample[] = [];
  const interval = opts.status.liveRedrawMs;
  const figures = () => liveFigures(opts.store, samples, opts.clock.now(), opts.status);
  // A view that cannot read the store this once skips a redraw; the run goes on.
  const onError = () => {};
  if (!out.isTTY) {
    let last = '';
    const timer = setInterval(
      () =>
        void figures().then((f) => {
          const line = summaryLine(f);
          if (line !== last) out.write(`${line}\n`);
          last = line;
        }, onError),
      Math.max(interval, opts.status.liveSummaryMs),
    );
    return { stop: () => Promise.resolve(clearInterval(timer)) };
  }
  let drawn = 0;
  const render = async () => {
    const lines = progressLines(await figures(), out.columns ?? 100);
    // Back to the first line drawn last time, erase to the end of the screen, draw again.
    out.write(`${drawn ? `\x1b[${drawn}F` : ''}\x1b[J${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  out.write('\x1b[?25l');
  void render().catch(onError);
  const timer = setInterval(() => void render().catch(onError), interval);
  return {
    stop: async () => {
      clearInterval(timer);
      await render().catch(onError);
      out.write('\x1b[?25h');
    },
  };
}
