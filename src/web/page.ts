import { JOB_STATES, type Job } from '../db/jobs.js';
import type { BookRecord } from '../db/books.js';
import { renewCommand } from '../pool/expiry.js';
import { coverPath, downloadPath } from './library-search.js';
import { html, raw, type Raw } from './html.js';
import type { LiveData } from './live.js';
import { duration, jobSubject, relative } from '../views/format.js';

/** What a render needs besides the data: the CSRF token of this viewer's forms. */
export interface RenderContext {
  csrf: string;
  /** A token is set: the page offers to log out. */
  loggedIn: boolean;
}

/** The sections the event stream replaces in place, by element id. */
export const LIVE_SECTIONS = ['state', 'queue', 'running', 'pace', 'sessions', 'failed'] as const;
export type LiveSection = (typeof LIVE_SECTIONS)[number];

const csrfField = (ctx: RenderContext) => html`<input type="hidden" name="_csrf" value="${ctx.csrf}" />`;

function button(ctx: RenderContext, action: string, label: string, fields: Record<string, string> = {}, cls = ''): Raw {
  return html`<form method="post" action="${action}" class="inline">
    ${csrfField(ctx)}${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}" />`)}<button
      type="submit"
      ${raw(cls ? ` class="${cls}"` : '')}
    >
      ${label}
    </button>
  </form>`;
}

const at = (ms: number | null | undefined) => (ms === null || ms === undefined ? '' : new Date(ms).toISOString());
/** A time the script keeps counting toward (or away from); without script, the text as rendered. */
const countdown = (ms: number, now: number) => html`<time class="countdown" datetime="${at(ms)}" data-at="${ms}">${relative(ms, now)}</time>`;

function stateSection(d: LiveData, ctx: RenderContext): Raw {
  const s = d.status;
  const claiming = !s.paused;
  return html`<p class="${claiming ? 'ok' : 'warn'}">
    <strong>${claiming ? 'Claiming jobs' : 'PAUSED'}</strong>${
      s.pause?.reason ? `: ${s.pause.reason}` : ''
    }${s.pause?.since ? html` (since ${countdown(s.pause.since, d.now)})` : ''}
    ${claiming ? button(ctx, '/api/pause', 'Pause') : button(ctx, '/api/resume', 'Resume')}
    <span class="muted">updated <time data-updated="${d.now}">${at(d.now)}</time></span>
  </p>`;
}

function queueSection(d: LiveData): Raw {
  const s = d.status;
  return html`<h2>Queue</h2>
    <div class="scroll">
      <table class="counts">
        <tr>
          ${JOB_STATES.map((st) => html`<th>${st}</th>`)}
        </tr>
        <tr>
          ${JOB_STATES.map((st) => html`<td data-state="${st}">${s.jobs[st]}</td>`)}
        </tr>
      </table>
    </div>
    ${
      s.skills.length
        ? html`<div class="scroll">
            <table>
              <tr>
                <th>skill (books)</th>
                ${JOB_STATES.map((st) => html`<th>${st}</th>`)}
              </tr>
              ${s.skills.map(
                (k) =>
                  html`<tr>
                    <td>${k.skill}</td>
                    ${JOB_STATES.map((st) => html`<td>${k[st]}</td>`)}
                  </tr>`,
              )}
            </table>
          </div>`
        : html`<p class="muted">No book jobs per skill yet.</p>`
    }
    ${s.oldest_queued ? html`<p class="muted">Oldest queued: #${s.oldest_queued.id} ${s.oldest_queued.subject}, ${relative(s.oldest_queued.created_at, d.now)}.</p>` : ''}`;
}

function progressOf(p: unknown): { phase?: string; done?: number; total?: number } {
  if (p === null || typeof p !== 'object') return {};
  const o = p as Record<string, unknown>;
  return {
    ...(typeof o.phase === 'string' && { phase: o.phase }),
    ...(typeof o.done === 'number' && { done: o.done }),
    ...(typeof o.total === 'number' && { total: o.total }),
  };
}

function runningSection(d: LiveData, ctx: RenderContext): Raw {
  const r = d.status.running;
  return html`<h2>Running now (${r.length})</h2>
    ${
      r.length === 0
        ? html`<p class="muted">Nothing is running.</p>`
        : html`<ul class="running">
            ${r.map((j) => {
              const p = progressOf(j.progress);
              const bar =
                p.total !== undefined && p.total > 0
                  ? html`<progress max="${p.total}" value="${Math.min(p.done ?? 0, p.total)}">${p.done ?? 0}/${p.total}</progress> ${p.done ?? 0}/${p.total}`
                  : html`<progress></progress>`;
              return html`<li data-job="${j.id}">
                <strong>#${j.id} ${j.subject}</strong>${j.cancel_requested ? ' (cancelling)' : ''} <br />session ${j.session ?? '—'} · phase ${p.phase ?? '—'} ·
                attempt ${j.attempt}/${j.max_attempts}${j.started_at !== null ? html` · started ${countdown(j.started_at, d.now)}` : ''}<br />${bar}
                ${button(ctx, `/api/jobs/${j.id}/cancel`, 'Cancel', {}, 'quiet')}
              </li>`;
            })}
          </ul>`
    }`;
}

function paceSection(d: LiveData): Raw {
  const p = d.pace;
  const budget = d.status.budget;
  return html`<h2>Pace</h2>
    <dl class="pace">
      <dt>Books/hour</dt>
      <dd data-pace="books">${p.booksPerHour === undefined ? 'measuring…' : p.booksPerHour.toFixed(p.booksPerHour < 10 ? 1 : 0)}</dd>
      <dt>Requests/s</dt>
      <dd data-pace="requests">${p.requestsPerSecond === undefined ? 'measuring…' : p.requestsPerSecond.toFixed(2)}</dd>
      <dt>ETA</dt>
      <dd data-pace="eta">${p.remaining === 0 ? 'nothing left' : p.etaMs === undefined ? '—' : `${duration(p.etaMs)} (${p.remaining} books left)`}</dd>
      ${budget.map(
        (b) =>
          html`<dt>Budget ${b.scope}</dt>
            <dd>
              ${b.rate >= 10 ? b.rate.toFixed(0) : b.rate.toFixed(2)} requests/s for the machine — ${b.reason}
              (${countdown(
                b.changed_at,
                d.now,
              )})${b.edge_until !== null ? html`<br /><strong class="warn">The edge refuses this machine: every session waits until ${countdown(b.edge_until, d.now)}</strong>` : ''}
            </dd>`,
      )}
    </dl>`;
}

function sessionAdvice(s: LiveData['status']['sessions'][number], ctx: RenderContext): Raw {
  switch (s.state) {
    case 'expired':
    case 'failed':
    case 'partial':
      return html`<div class="todo">
        Its login is gone${s.state === 'partial' ? ' (partial cookies?)' : ''}: log in again in the browser, then run <code>${renewCommand(s.name)}</code>
      </div>`;
    case 'disabled':
      return html`<div class="todo">
        Disabled by the operator. ${button(ctx, `/api/sessions/${encodeURIComponent(s.name)}/enable`, 'Enable')} or run
        <code>bookd sessions enable ${s.name}</code>
      </div>`;
    default:
      return button(ctx, `/api/sessions/${encodeURIComponent(s.name)}/disable`, 'Disable', {}, 'quiet');
  }
}

function sessionsSection(d: LiveData, ctx: RenderContext): Raw {
  const list = d.status.sessions;
  const expiring = new Map(d.status.expiring.map((e) => [e.name, e.message]));
  return html`<h2>Sessions (${list.length})</h2>
    ${
      list.length === 0
        ? html`<p>No sessions: add one with <code>bookd sessions add NAME --from-browser firefox</code></p>`
        : html`<ul class="sessions">
            ${list.map(
              (s) =>
                html`<li data-session="${s.name}">
                  <strong>${s.name}</strong> <span class="badge ${s.state}">${s.state}</span> · ${s.books_done} books · ${s.requests}
                  requests${
                    s.token_expires_at !== null
                      ? html` · token ${s.token_expires_at > d.now ? 'expires' : 'expired'} ${countdown(s.token_expires_at, d.now)}`
                      : ''
                  }${s.cooldown_until !== null && s.cooldown_until > d.now ? html` · cooling until ${countdown(s.cooldown_until, d.now)}` : ''}
                  ${s.last_error ? html`<br /><span class="error">Last error: ${s.last_error}</span>` : ''}
                  ${expiring.has(s.name) ? html`<br /><span class="warn">${expiring.get(s.name)}</span>` : ''} ${sessionAdvice(s, ctx)}
                </li>`,
            )}
          </ul>`
    }`;
}

function failedSection(d: LiveData, ctx: RenderContext): Raw {
  const n = d.status.jobs.failed;
  return html`<h2>Failed (${n})</h2>
    ${
      n === 0
        ? html`<p class="muted">No failed jobs.</p>`
        : html`${button(ctx, '/api/jobs/retry-failed', `Retry all ${n} failed`)}
            <ul class="failed">
              ${d.failedJobs.map(
                (j: Job) =>
                  html`<li data-job="${j.id}">
                    <strong>#${j.id} ${jobSubject(j)}</strong>${j.kind === 'book' && j.payload.title ? ` ${j.payload.title}` : ''} <br /><span class="error"
                      >${j.lastError ? `${j.lastError.kind}: ${j.lastError.message}` : 'no reason recorded'}</span
                    >
                    ${button(ctx, `/api/jobs/${j.id}/retry`, 'Retry')}
                  </li>`,
              )}
            </ul>
            ${n > d.failedJobs.length ? html`<p class="muted">and ${n - d.failedJobs.length} more (bookd jobs list --state failed)</p>` : ''}`
    }`;
}

/** One live section's inner HTML, as the page holds it and the event stream sends it. */
export function renderSection(name: LiveSection, d: LiveData, ctx: RenderContext): string {
  switch (name) {
    case 'state':
      return stateSection(d, ctx).html;
    case 'queue':
      return queueSection(d).html;
    case 'running':
      return runningSection(d, ctx).html;
    case 'pace':
      return paceSection(d).html;
    case 'sessions':
      return sessionsSection(d, ctx).html;
    case 'failed':
      return failedSection(d, ctx).html;
  }
}

const size = (bytes: number) => (bytes >= 1_048_576 ? `${(bytes / 1_048_576).toFixed(1)} MB` : bytes >= 1024 ? `${Math.round(bytes / 1024)} kB` : `${bytes} B`);

/** The library section: at most this many hits are listed. */
export const LIBRARY_SHOWN = 100;

function librarySection(q: string, hits: readonly BookRecord[], total: number): Raw {
  return html`<h2>Library (${total} files)</h2>
    <form method="get" action="/#library" class="search" role="search">
      <input type="search" name="q" value="${q}" placeholder="title, author or skill" aria-label="Search the library" /> <button type="submit">Search</button>
    </form>
    ${q ? html`<p class="muted">${hits.length} match${hits.length === 1 ? '' : 'es'} for “${q}”.</p>` : ''}
    <ul class="library">
      ${hits.slice(0, LIBRARY_SHOWN).map(
        (b) =>
          html`<li data-book="${b.id}">
            <img class="cover" src="${coverPath(b)}" alt="" loading="lazy" width="60" height="80" />
            <div>
              <strong class="title">${b.title}</strong> <span class="muted">${b.format}</span><br />${b.authors.join(', ')}${
                b.skills.length ? html` · <span class="muted">${b.skills.join(', ')}</span>` : ''
              }<br />${size(b.bytes)} ·
              ${new Date(b.archivedAt).toISOString().slice(0, 10)}${
                b.gaps.length ? html` · <span class="warn" title="${b.gaps.join('\n')}">${b.gaps.length} gap${b.gaps.length === 1 ? '' : 's'}</span>` : ''
              }<br /><a class="download" href="${downloadPath(b)}" download>Download ${b.format === 'kindle' ? 'Kindle file' : 'EPUB'}</a>
            </div>
          </li>`,
      )}
    </ul>
    ${hits.length > LIBRARY_SHOWN ? html`<p class="muted">Showing ${LIBRARY_SHOWN} of ${hits.length}: narrow the search.</p>` : ''}`;
}

function enqueueSection(ctx: RenderContext): Raw {
  return html`<h2>Enqueue</h2>
    <form method="post" action="/api/enqueue" class="enqueue">
      ${csrfField(ctx)}
      <label>Book ids or URLs (one per line or separated by spaces)<textarea name="books" rows="3"></textarea></label>
      <label>Skills to discover (comma-separated)<input type="text" name="skills" placeholder="Python, Go" /></label>
      <label
        >Format
        <select name="format">
          <option value="epub">EPUB</option>
          <option value="kindle">Kindle</option>
          <option value="both">both</option>
        </select></label
      >
      <label class="check"><input type="checkbox" name="force" value="1" /> queue finished books again</label>
      <button type="submit">Enqueue</button>
    </form>`;
}

function shell(title: string, body: Raw, head: Raw = raw('')): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${head.html}
<title>${title}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script></head>
<body>${body.html}</body></html>
`;
}

export interface PageInput {
  live: LiveData;
  ctx: RenderContext;
  q: string;
  hits: readonly BookRecord[];
  libraryTotal: number;
  /** A one-line result of the last action (after a form's redirect), or an error. */
  note?: string;
}

/** GET /: the whole page, useful without script; the script keeps the live sections current. */
export function renderPage(p: PageInput): string {
  const live = (name: LiveSection, tag = 'section') => raw(`<${tag} id="${name}" data-live>${renderSection(name, p.live, p.ctx)}</${tag}>`);
  return shell(
    'bookd',
    html`<header>
        <h1>bookd</h1>
        ${live('state', 'div')}${
          p.ctx.loggedIn
            ? html`<form method="post" action="/logout" class="inline logout">${csrfField(p.ctx)}<button type="submit" class="quiet">Log out</button></form>`
            : ''
        }
      </header>
      ${p.note ? html`<p class="note" role="status">${p.note}</p>` : ''}
      <main>
        ${live('queue')}${live('running')}${live('pace')}
        <section id="charts">
          <h2>Archived</h2>
          <img class="chart" id="chart-hours" src="/charts/hours.svg" alt="Books archived per hour over the last 24 hours" width="600" height="180" />
          <img class="chart" id="chart-days" src="/charts/days.svg" alt="Books archived per day over the last 30 days" width="600" height="180" />
        </section>
        ${live('sessions')}${live('failed')}
        <section id="enqueue-section">${enqueueSection(p.ctx)}</section>
        <section id="library">${librarySection(p.q, p.hits, p.libraryTotal)}</section>
      </main>`,
    html`<meta name="csrf" content="${p.ctx.csrf}" />`,
  );
}

/** The login form a token-protected page shows first; the token goes in a POST body, never a URL. */
export function renderLogin(message: string | undefined): string {
  return shell(
    'bookd: log in',
    html`<main class="login">
      <h1>bookd</h1>
      <form method="post" action="/login">
        <label
          >Token (httpToken, BOOKD_HTTP_TOKEN or the credentials file http-token)<input
            type="password"
            name="token"
            autocomplete="current-password"
            required
            autofocus
        /></label>
        <button type="submit">Log in</button>
      </form>
      ${message ? html`<p class="error" role="alert">${message}</p>` : ''}
    </main>`,
  );
}

/** A refused form (bad input), with the way back: the page without script shows it instead of JSON. */
export function renderError(message: string): string {
  return shell(
    'bookd: error',
    html`<main>
      <h1>bookd</h1>
      <p class="error" role="alert">${message}</p>
      <p>Nothing was changed. <a href="/">Back</a></p>
    </main>`,
  );
}
