import { zipSync, type Zippable } from 'fflate';
import { containerXml, type BookContent } from './package.js';

const MTIME = new Date(Date.UTC(2020, 0, 1));

/**
 * The publisher's package as an .epub (mimetype first and stored), for validating what the simulator
 * serves: with `META-INF/container.xml` even where the files API does not list it (`no-container`),
 * without the decoy OPF (`decoy-opf`), which is no part of the package.
 */
export function toEpub(content: BookContent): Uint8Array {
  const entries: Zippable = {};
  for (const f of content.files) {
    if (f.path === content.plan.decoyOpf) continue;
    entries[f.path] = [f.bytes, f.path === 'mimetype' ? { level: 0, mtime: MTIME } : { level: 6, mtime: MTIME }];
    if (f.path === 'mimetype' && !content.plan.container)
      entries['META-INF/container.xml'] = [Buffer.from(containerXml(content.plan.opf)), { level: 6, mtime: MTIME }];
  }
  return zipSync(entries);
}
