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
