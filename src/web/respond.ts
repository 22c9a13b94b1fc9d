import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request the web surface refuses, with the status that says why; decided where the input is read. */
export class WebError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'WebError';
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(`${JSON.stringify(value)}\n`);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(text);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'content-type': 'text/plain; charset=utf-8' });
  res.end(`see ${location}\n`);
}

/** What a POST carried: a form (the page without script) or a JSON object (the API and the script). */
export interface Body {
  form: boolean;
  fields: Record<string, unknown>;
}

/** The body, at most `maxBytes`; a form is decoded to strings (repeated names to arrays), JSON must be an object. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new WebError(413, `the request body is larger than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(text)) {
      const seen = fields[k];
      fields[k] = seen === undefined ? v : Array.isArray(seen) ? [...(seen as string[]), v] : [seen, v];
    }
    return { form: true, fields };
  }
  if (text.trim() === '') return { form: false, fields: {} };
  if (type !== 'application/json') throw new WebError(415, 'send JSON (content-type: application/json) or a form');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WebError(400, 'the body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new WebError(400, 'the body must be a JSON object');
  return { form: false, fields: parsed as Record<string, unknown> };
}

/** The remote address a rate limit counts against. */
export function remoteAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
