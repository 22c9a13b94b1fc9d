import type { ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { BOOK_FORMATS, JOB_KINDS, JOB_STATES, type BookFormat, type JobKind, type JobState } from '../db/jobs.js';
import type { Store } from '../db/store.js';
import { BookdError, UsageError } from '../errors.js';
import { renewCommand } from '../pool/expiry.js';
import { enqueueItems, parseBookRefs, skillList } from '../jobs/enqueue-items.js';
import { coverPath, downloadPath, searchLibrary } from './library-search.js';
import { redirect, sendHtml, sendJson, WebError, type Body } from './respond.js';
import { renderError } from './page.js';
import { statusJson, statusSnapshot } from '../views/status.js';
import { attemptJson, jobJson } from '../views/jobs.js';
import { bookJson } from '../views/books.js';
import { jobSubject } from '../views/format.js';

export interface ApiDeps {
  store: Store;
  clock: Clock;
  config: Pick<Config, 'tuning' | 'expiryWarningMs'>;
  /** Something changed: the event stream sends a fresh snapshot now rather than at its next tick. */
  changed: () => void;
}

/** The result of an action: its JSON, the sentence a form's redirect shows, and where on the page. */
interface Done {
  json: Record<string, unknown>;
  note: string;
  anchor: string;
}

const MAX_LIST = 100_000;
const DEFAULT_LIST = 1_000;

function oneOf<T extends string>(value: string | null, allowed: readonly T[], name: string): T | undefined {
  if (value === null || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new WebError(400, `${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

function positiveInt(text: string, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1 || Number(text) > max)
    throw new WebError(400, `${name} must be a whole number from 1 to ${max}, got "${text}"`);
  return Number(text);
}

/** A text field: absent is undefined; a list (a form's repeated name) or a non-string is refused. */
function textField(fields: Record<string, unknown>, name: string, maxLength = 10_000): string | undefined {
  const v = fields[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new WebError(400, `${name} must be a string`);
  if (v.length > maxLength) throw new WebError(400, `${name} is longer than ${maxLength} characters`);
  return v;
}

/** A list of strings: a JSON array, or text split on white space and commas (the form's textarea). */
function listField(fields: Record<string, unknown>, name: string, split: RegExp): string[] {
  const v = fields[name];
  if (v === undefined || v === null) return [];
  const parts = Array.isArray(v) ? v : [v];
  if (!parts.every((p): p is string => typeof p === 'string')) throw new WebError(400, `${name} must be a string or a list of strings`);
  return parts
    .flatMap((p) => p.split(split))
    .map((p) => p.trim())
    .filter(Boolean);
}

function flag(fields: Record<string, unknown>, name: string): boolean {
  const v = fields[name];
  if (v === undefined || v === null || v === false || v === '' || v === '0') return false;
  if (v === true || v === '1' || v === 'on' || v === 'true') return true;
  throw new WebError(400, `${name} must be true or false`);
}

/** The operator's input errors from the shared parsing (UsageError, bad_input) are 400s like ours. */
async function asBadInput<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UsageError || (err instanceof BookdError && err.kind === 'bad_input')) throw new WebError(400, err.message);
    throw err;
  }
}

/** GET /api/…: the same read models as the CLI's --json output. */
export async function apiGet(deps: ApiDeps, path: string, url: URL): Promise<unknown> {
  const { store } = deps;
  if (path === '/api/status') {
    const now = deps.clock.now();
    return statusJson(await statusSnapshot(store, now, deps.config.tuning.status.daemonStaleMs, deps.config.expiryWarningMs));
  }
  if (path === '/api/jobs') {
    const state = oneOf<JobState>(url.searchParams.get('state'), JOB_STATES, 'state');
    const kind = oneOf<JobKind>(url.searchParams.get('kind'), JOB_KINDS, 'kind');
    const skill = url.searchParams.get('skill') || undefined;
    const limitText = url.searchParams.get('limit');
    const limit = limitText ? positiveInt(limitText, 'limit', MAX_LIST) : DEFAULT_LIST;
    return (await store.views.list({ ...(state && { state }), ...(kind && { kind }), ...(skill && { skill }), limit })).map(jobJson);
  }
  const job = /^\/api\/jobs\/([^/]+)$/.exec(path);
  if (job) {
    const id = positiveInt(decodeURIComponent(job[1]!), 'the job id');
    const found = await store.jobs.get(id);
    if (!found) throw new WebError(404, `there is no job #${id}`);
    return { ...jobJson(found), attempts: (await store.jobs.attempts(id)).map(attemptJson) };
  }
  if (path === '/api/sessions') {
    const now = deps.clock.now();
    const snap = statusJson(await statusSnapshot(store, now, deps.config.tuning.status.daemonStaleMs, deps.config.expiryWarningMs));
    return snap.sessions.map((s) => ({ ...s, todo: sessionTodo(s.name, s.state) }));
  }
  if (path === '/api/library') {
    const q = url.searchParams.get('q') ?? '';
    if (q.length > 500) throw new WebError(400, 'q is longer than 500 characters');
    return searchLibrary(await store.books.list(), q).map((b) => ({ ...bookJson(b), download: downloadPath(b), cover: coverPath(b) }));
  }
  throw new WebError(404, `no such API endpoint: GET ${path}`);
}

/** What the operator has to do about a session, with the exact command; null when nothing. */
export function sessionTodo(name: string, state: string): string | null {
  if (state === 'expired' || state === 'failed' || state === 'partial') return `log in again in the browser, then run ${renewCommand(name)}`;
  if (state === 'disabled') return `bookd sessions enable ${name}`;
  return null;
}

async function jobAction(deps: ApiDeps, id: number, verb: 'retry' | 'cancel'): Promise<Done> {
  const { store } = deps;
  if (verb === 'retry') {
    const r = await store.jobs.retryOne(id);
    if (!r) throw new WebError(404, `there is no job #${id}`);
    if (r.after !== 'queued' || (r.before !== 'failed' && r.before !== 'cancelled'))
      throw new WebError(409, `job #${id} is ${r.before}; only failed or cancelled jobs can be retried`);
    const job = (await store.jobs.get(id))!;
    return { json: { requeued: 1, was: r.before, job: jobJson(job) }, note: `Requeued #${id} ${jobSubject(job)}.`, anchor: 'failed' };
  }
  const r = await store.jobs.cancel(id);
  if (!r) throw new WebError(404, `there is no job #${id}`);
  const job = (await store.jobs.get(id))!;
  if (r.before !== 'queued' && !r.cancelRequested) throw new WebError(409, `job #${id} already ${r.before}; nothing to cancel`);
  return {
    json: { cancelled: r.before === 'queued', cancel_requested: r.before !== 'queued', was: r.before, job: jobJson(job) },
    note: r.before === 'queued' ? `Cancelled #${id}.` : `Asked the worker running #${id} to stop.`,
    anchor: 'running',
  };
}

async function enqueue(deps: ApiDeps, fields: Record<string, unknown>): Promise<Done> {
  const refs = listField(fields, 'books', /[\s,]+/);
  const skillsText = listField(fields, 'skills', /,/).join(', ');
  const format = oneOf<BookFormat>(textField(fields, 'format') ?? null, BOOK_FORMATS, 'format') ?? 'epub';
  const priorityText = fields.priority;
  let priority: number | undefined;
  if (priorityText !== undefined && priorityText !== '' && priorityText !== null) {
    priority = typeof priorityText === 'number' ? priorityText : Number(textField(fields, 'priority'));
    if (!Number.isSafeInteger(priority)) throw new WebError(400, 'priority must be a whole number');
  }
  const force = flag(fields, 'force');
  if (refs.length === 0 && skillsText === '') throw new WebError(400, 'give book ids or URLs (books) or skills to discover (skills); nothing was enqueued');
  const items = await asBadInput(() =>
    enqueueItems({
      books: parseBookRefs(refs, 'books'),
      skills: skillsText ? skillList(skillsText, 'skills') : [],
      format,
      ...(priority !== undefined && { priority }),
    }),
  );
  const results = await asBadInput(() => deps.store.jobs.enqueue(items, { force }));
  const counts = { added: 0, merged: 0, requeued: 0, exists: 0 };
  for (const r of results) counts[r.status]++;
  const jobs = results.map((r, i) => ({ status: r.status, id: r.id, state: r.state, key: r.key, kind: items[i]!.kind, payload: items[i]!.payload }));
  const note = (['added', 'merged', 'requeued', 'exists'] as const)
    .filter((k) => counts[k] > 0)
    .map((k) => `${k === 'exists' ? 'already there' : k} ${counts[k]}`)
    .join(', ');
  return { json: { dry_run: false, jobs, counts }, note: `Enqueue: ${note}.`, anchor: 'queue' };
}

async function sessionAction(deps: ApiDeps, name: string, verb: 'enable' | 'disable'): Promise<Done> {
  const s = await deps.store.sessions.get(name);
  if (!s) throw new WebError(404, `no session named "${name}"`);
  if (verb === 'disable') await deps.store.sessions.setState(name, 'disabled');
  else await deps.store.sessions.setState(name, 'ok', { lastError: '' });
  const after = (await deps.store.sessions.get(name))!;
  return { json: { name, was: s.state, state: after.state }, note: `Session ${name} ${verb}d.`, anchor: 'sessions' };
}

/** POST /api/…: the CLI's actions. Bad input throws a WebError before anything is written. */
export async function apiPost(deps: ApiDeps, path: string, body: Body): Promise<Done> {
  const { store } = deps;
  if (path === '/api/pause') {
    const reason = textField(body.fields, 'reason', 200);
    await store.control.pause(reason || undefined);
    const st = await store.control.state();
    return {
      json: { paused: true, reason: st.reason ?? null, since: st.since === undefined ? null : new Date(st.since).toISOString() },
      note: 'Paused.',
      anchor: 'state',
    };
  }
  if (path === '/api/resume') {
    const was = (await store.control.state()).paused;
    await store.control.resume();
    return { json: { paused: false, was_paused: was }, note: was ? 'Resumed.' : 'The queue was not paused.', anchor: 'state' };
  }
  if (path === '/api/jobs/retry-failed') {
    const n = await store.jobs.retryAllFailed();
    return { json: { requeued: n }, note: `Requeued ${n} failed job${n === 1 ? '' : 's'}.`, anchor: 'failed' };
  }
  const job = /^\/api\/jobs\/([^/]+)\/(retry|cancel)$/.exec(path);
  if (job) return await jobAction(deps, positiveInt(decodeURIComponent(job[1]!), 'the job id'), job[2] as 'retry' | 'cancel');
  if (path === '/api/enqueue') return await enqueue(deps, body.fields);
  const session = /^\/api\/sessions\/([^/]+)\/(enable|disable)$/.exec(path);
  if (session) return sessionAction(deps, decodeURIComponent(session[1]!), session[2] as 'enable' | 'disable');
  throw new WebError(404, `no such API endpoint: POST ${path}`);
}

/** Answers a POST: JSON for scripts; for the page's forms, a redirect back (303) or an error page. */
export async function answerPost(deps: ApiDeps, res: ServerResponse, path: string, body: Body): Promise<void> {
  try {
    const done = await apiPost(deps, path, body);
    deps.changed();
    if (body.form) redirect(res, `/?note=${encodeURIComponent(done.note)}#${done.anchor}`);
    else sendJson(res, 200, done.json);
  } catch (err) {
    if (!(err instanceof WebError)) throw err;
    if (body.form) sendHtml(res, err.status, renderError(err.message));
    else sendJson(res, err.status, { error: err.message });
  }
}
