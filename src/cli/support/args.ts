import { InvalidArgumentError } from '@commander-js/extra-typings';

/** Commander option parsers: a wrong value is a usage error naming the option's expectation. */
export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('expected a whole number.');
  return Number(value);
}

export function parsePositiveInteger(value: string): number {
  const n = parseInteger(value);
  if (n < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return n;
}

export function parseJobId(value: string): number {
  if (!/^#?\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a job id such as 12 (see bookd jobs list).');
  const n = Number(value.trim().replace(/^#/, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a job id such as 12 (see bookd jobs list).');
  return n;
}

/** For repeatable options: commander passes undefined the first time when there is no default. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A period such as `30s`, `6h` or `7d` (whole number and one unit: s, m, h or d), in ms. Anything
 * else is a usage error naming the expected form.
 */
export function parseDuration(value: string): number {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1)
    throw new InvalidArgumentError('expected a period such as 30s, 45m, 6h or 7d (a whole number ≥ 1 and a unit s, m, h or d).');
  return ms;
}
