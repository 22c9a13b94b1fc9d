import { duration } from '../../views/format.js';
import type { LiveFigures } from '../../views/pace.js';

function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

const pace = (f: LiveFigures) => (f.perHour ? `${Math.round(f.perHour)} books/hour` : 'measuring pace…');
const eta = (f: LiveFigures) => (f.etaMs !== undefined ? `ETA ${duration(f.etaMs)}` : 'ETA -');

/**
 * The progress lines of `status --watch` and of the demo's live view: overall and per-skill bars,
 * pace, ETA, sessions, the last failure. `width` (a terminal's columns) cuts lines that would wrap,
 * since a wrapped line breaks redrawing in place.
 */
export function progressLines(f: LiveFigures, width?: number): string[] {
  const label = (s: string) => s.slice(0, 18).padEnd(18);
  const lines = [`${label('all books')} ${bar(f.done, f.total)} ${f.done}/${f.total}${f.failed ? ` (${f.failed} failed)` : ''}`];
  for (const k of f.skills) lines.push(`${label(`  ${k.skill}`)} ${bar(k.done, k.total)} ${k.done}/${k.total}`);
  lines.push(`${f.running} running · ${pace(f)} · ${eta(f)} · sessions: ${f.sessions}`);
  if (f.lastFailure) lines.push(`last failure ${f.lastFailure}`);
  return width === undefined ? lines : lines.map((l) => ([...l].length > width - 1 ? `${[...l].slice(0, Math.max(1, width - 2)).join('')}…` : l));
}

/** The same figures as one line, for output that is not a terminal (a log, CI). */
export function summaryLine(f: LiveFigures): string {
  return [
    `${f.done}/${f.total} books`,
    `${f.running} running`,
    f.failed ? `${f.failed} failed` : '',
    f.perHour ? `${Math.round(f.perHour)} books/h` : '',
    f.etaMs !== undefined ? `ETA ${duration(f.etaMs)}` : '',
    `sessions: ${f.sessions}`,
  ]
    .filter(Boolean)
    .join(' · ');
}
