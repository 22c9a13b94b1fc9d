import { zipSync, type Zippable } from 'fflate';
import type { BookContent } from './package.js';

const MTIME = new Date(Date.UTC(2020, 0, 1));

/** The package as an .epub (mimetype first and stored), for validating what the simulator serves. */
export function toEpub(content: BookContent): Uint8Array {
  const entries: Zippable = {};
  for (const f of content.files) {
    entries[f.path] = [f.bytes, f.path === 'mimetype' ? { level: 0, mtime: MTIME } : { level: 6, mtime: MTIME }];
  }
  return zipSync(entries);
}
