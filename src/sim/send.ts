import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSource, type BodySource } from './bodies.js';
import type { Fault } from './faults.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer | BodySource;
  /** Runs once the whole body went out unharmed (download tracking). */
  onFull?: () => void;
}

export interface SendOptions {
  fault: Exclude<Fault, 'fail'>;
  /** KiB per second; 0 = as fast as the socket takes it. */
  bandwidthKbps: number;
  sleep: (ms: number) => Promise<void>;
}

const PACE_MS = 50;

/** Writes one chunk with backpressure; false once the client has gone. */
function write(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

function* pieces(body: Buffer | BodySource, kbps: number): Generator<Buffer> {
  const size = kbps > 0 ? Math.max(256, Math.floor((kbps * 1024 * PACE_MS) / 1000)) : 0;
  const source = isSource(body) ? body.chunks() : [body][Symbol.iterator]();
  for (let next = source.next(); !next.done; next = source.next()) {
    const chunk = next.value;
    if (size === 0) {
      yield chunk;
      continue;
    }
    for (let at = 0; at < chunk.length; at += size) yield chunk.subarray(at, at + size);
  }
}

/**
 * Sends a reply, applying the bandwidth cap and the transport faults: `reset` destroys the socket
 * mid-body, `short` announces the full length then closes early, `stall` sends headers then nothing.
 */
export async function send(req: IncomingMessage, res: ServerResponse, reply: Reply, opts: SendOptions): Promise<void> {
  res.statusCode = reply.status;
  for (const [k, v] of Object.entries(reply.headers)) res.setHeader(k, v);
  const body = reply.body;
  const length = isSource(body) ? body.length : body.length;
  if (length !== undefined) res.setHeader('Content-Length', String(length));

  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  if (opts.fault === 'stall') {
    res.flushHeaders();
    return;
  }
  if (opts.fault === 'reset' || opts.fault === 'short') {
    const bytes = isSource(body) ? Buffer.alloc(0) : body;
    const part = bytes.subarray(0, Math.floor(bytes.length / 2));
    const socket = req.socket;
    res.flushHeaders();
    const cut = () => {
      if (opts.fault === 'reset') socket.resetAndDestroy();
      else socket.end();
    };
    // A moment after the partial body left, so the client has read the headers and some bytes.
    if (part.length > 0) res.write(part, () => setTimeout(cut, 5));
    else setTimeout(cut, 5);
    return;
  }

  if (opts.bandwidthKbps <= 0 && !isSource(body)) {
    if (reply.onFull) res.once('finish', reply.onFull);
    res.end(body);
    return;
  }
  let first = true;
  for (const chunk of pieces(body, opts.bandwidthKbps)) {
    if (!first && opts.bandwidthKbps > 0) await opts.sleep(PACE_MS);
    first = false;
    if (!(await write(res, chunk))) return;
  }
  if (res.destroyed) return;
  if (reply.onFull) res.once('finish', reply.onFull);
  res.end();
}
