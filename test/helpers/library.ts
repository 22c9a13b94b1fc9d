import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliResult } from './cli.js';
import type { SimProcess } from './sim.js';

/**
 * The machine budget tests run with: the live defaults (3 rising to 6 requests/s) scaled up so a
 * suite finishes in minutes; `startSimProcess` scales the simulator's bulk-access guard to match
 * (SIM_GUARD), keeping the live proportions (guard 8, budget 3 → 6).
 */
export const TEST_BUDGET = { start: 300, ceiling: 600, floor: 25, riseSeconds: 1 } as const;

/** Environment for a bookd child working on `dataDir` against `simUrl`, unpaced for speed. */
export function bookdEnv(dataDir: string, simUrl: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    BOOKD_DATA_DIR: dataDir,
    // The library where these tests look for it (the default is under XDG_DATA_HOME).
    BOOKD_LIBRARY: join(dataDir, 'library'),
    BOOKD_BASE_URL: simUrl,
    BOOKD_SESSION_INTERVAL_MS: '0',
    BOOKD_LOG_LEVEL: 'warn',
    BOOKD_BUDGET_START: String(TEST_BUDGET.start),
    BOOKD_BUDGET_CEILING: String(TEST_BUDGET.ceiling),
    BOOKD_BUDGET_FLOOR: String(TEST_BUDGET.floor),
    BOOKD_BUDGET_RISE_SECONDS: String(TEST_BUDGET.riseSeconds),
    ...extra,
  };
}

/** Mints `n` sessions on the sim and imports each with `bookd sessions add` (as a user would). */
export async function addSessions(sim: SimProcess, n: number, dir: string, env: NodeJS.ProcessEnv, prefix = 's'): Promise<Record<string, string>[]> {
  const sets = await sim.mint(n);
  for (const [i, cookies] of sets.entries()) {
    const file = join(dir, `${prefix}${i + 1}.json`);
    writeFileSync(file, JSON.stringify(cookies));
    const r = await runCli(['sessions', 'add', `${prefix}${i + 1}`, '--cookies', file], { env });
    if (r.code !== 0) throw new Error(`sessions add failed: ${r.stderr}`);
  }
  return sets;
}

export async function cliJson<T>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const r: CliResult = await runCli([...args, '--json'], { env });
  if (r.code !== 0) throw new Error(`bookd ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface LibraryEntry {
  id: string;
  title: string;
  authors: string[];
  skills: string[];
  path: string;
  sha256: string;
  bytes: number;
  archived_at: number;
  format?: string;
  gaps?: string[];
}
