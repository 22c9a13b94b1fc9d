/**
 * Server JSON is hostile input: read fields by type, never trust a shape. These readers turn
 * anything unexpected into an empty value instead of a crash deep in the caller.
 */
export type Json = Record<string, unknown>;

export function obj(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

export function str(v: unknown, max = 4096): string {
  if (typeof v === 'string') return v.length > max ? v.slice(0, max) : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return '';
}

export function num(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

export function arr(v: unknown, max = 100_000): unknown[] {
  return Array.isArray(v) ? v.slice(0, max) : [];
}

export function strs(v: unknown, max = 1000): string[] {
  return arr(v, max)
    .map((x) => str(x))
    .filter((s) => s !== '');
}
