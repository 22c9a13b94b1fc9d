import { readFileSync } from 'node:fs';

/**
 * bookd's version, read at run time from the package.json one level above this file: that is the
 * project root both for the build (dist/version.js) and for the sources run through tsx
 * (src/version.ts), so a release only ever bumps package.json and `bookd --version` follows.
 */
function readVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof version !== 'string' || version === '') throw new Error('package.json has no "version" string');
  return version;
}

export const VERSION: string = readVersion();
