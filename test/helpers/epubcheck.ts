import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { EpubCheck } from '@likecoin/epubcheck-ts';

export const EPUBCHECK_JAR = '/usr/share/java/epubcheck.jar';

export interface CheckReport {
  errors: string[];
  warnings: string[];
}

/** Validates with @likecoin/epubcheck-ts (always available offline). */
export async function epubcheckTs(epub: string | Uint8Array): Promise<CheckReport> {
  const data = typeof epub === 'string' ? await readFile(epub) : epub;
  const result = await EpubCheck.validate(data);
  const fmt = (m: (typeof result.messages)[number]) =>
    `${m.severity} ${m.id ?? ''}: ${m.message}${m.location ? ` (${m.location.path}:${m.location.line ?? ''})` : ''}`;
  return {
    errors: result.messages.filter((m) => m.severity === 'error' || m.severity === 'fatal').map(fmt),
    warnings: result.messages.filter((m) => m.severity === 'warning').map(fmt),
  };
}

export const hasJavaEpubcheck = (): boolean => existsSync(EPUBCHECK_JAR);

/** Validates with the reference Java epubcheck; callers skip when `hasJavaEpubcheck()` is false. */
export function epubcheckJava(file: string): Promise<CheckReport> {
  return new Promise((resolve, reject) => {
    execFile(
      'java',
      ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-jar', EPUBCHECK_JAR, '-q', file],
      { timeout: 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const lines = `${stdout}\n${stderr}`
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
        const errors = lines.filter((l) => /^(ERROR|FATAL)/.test(l));
        const warnings = lines.filter((l) => /^WARNING/.test(l));
        if (err && errors.length === 0 && (err as NodeJS.ErrnoException).code !== undefined && typeof (err as NodeJS.ErrnoException).code !== 'number') {
          reject(new Error(`java epubcheck did not run: ${err.message}`, { cause: err }));
          return;
        }
        resolve({ errors, warnings });
      },
    );
  });
}
