import { escapeHtml } from './html.js';

export interface Bin {
  /** Start of the bin, epoch ms. */
  at: number;
  count: number;
}

/** Counts of `times` in `n` consecutive bins of `widthMs` ending at the bin that holds `now`. */
export function bins(times: Iterable<number>, now: number, widthMs: number, n: number, offsetMs = 0): Bin[] {
  const last = Math.floor((now - offsetMs) / widthMs) * widthMs + offsetMs;
  const first = last - (n - 1) * widthMs;
  const out: Bin[] = Array.from({ length: n }, (_, i) => ({ at: first + i * widthMs, count: 0 }));
  for (const t of times) {
    const i = Math.floor((t - first) / widthMs);
    if (i >= 0 && i < n) out[i]!.count++;
  }
  return out;
}

/**
 * A bar chart as a standalone SVG document: no script, no style sheet (presentation attributes
 * only), so it shows as an <img> under the page's Content-Security-Policy. `label` names a bin
 * under its bar (every `labelEvery`-th); each bar's <title> says its count.
 */
export function barChart(title: string, data: readonly Bin[], label: (b: Bin) => string, labelEvery: number): string {
  const w = 600;
  const h = 180;
  const pad = { left: 34, right: 6, top: 22, bottom: 24 };
  const max = Math.max(1, ...data.map((b) => b.count));
  const step = (w - pad.left - pad.right) / Math.max(1, data.length);
  const plotH = h - pad.top - pad.bottom;
  const bars = data
    .map((b, i) => {
      const bh = (b.count / max) * plotH;
      const x = pad.left + i * step;
      const y = pad.top + plotH - bh;
      const tip = `${label(b)}: ${b.count} book${b.count === 1 ? '' : 's'}`;
      const text = i % labelEvery === 0 ? `<text x="${(x + step / 2).toFixed(1)}" y="${h - 8}" text-anchor="middle">${escapeHtml(label(b))}</text>` : '';
      return `<rect x="${(x + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, step - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="#2f6fb0"><title>${escapeHtml(tip)}</title></rect>${text}`;
    })
    .join('');
  const total = data.reduce((n, b) => n + b.count, 0);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" font-family="sans-serif" font-size="11" fill="#333">` +
    `<title>${escapeHtml(`${title}: ${total} in all`)}</title>` +
    `<text x="${pad.left}" y="14" font-size="13" font-weight="bold">${escapeHtml(`${title} (${total})`)}</text>` +
    `<line x1="${pad.left}" y1="${pad.top + plotH}" x2="${w - pad.right}" y2="${pad.top + plotH}" stroke="#999"/>` +
    `<text x="${pad.left - 4}" y="${pad.top + 8}" text-anchor="end">${max}</text>` +
    `<text x="${pad.left - 4}" y="${pad.top + plotH}" text-anchor="end">0</text>` +
    bars +
    '</svg>\n'
  );
}

const two = (n: number) => String(n).padStart(2, '0');

/** Books archived per hour over the last 24 hours (UTC hours). */
export function hoursChart(archivedAt: Iterable<number>, now: number): string {
  return barChart('Books archived per hour, last 24 h', bins(archivedAt, now, 3_600_000, 24), (b) => `${two(new Date(b.at).getUTCHours())}h`, 3);
}

/** Books archived per day over the last 30 days (UTC days). */
export function daysChart(archivedAt: Iterable<number>, now: number): string {
  return barChart(
    'Books archived per day, last 30 days',
    bins(archivedAt, now, 86_400_000, 30),
    (b) => `${two(new Date(b.at).getUTCMonth() + 1)}-${two(new Date(b.at).getUTCDate())}`,
    5,
  );
}
