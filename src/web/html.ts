/** Text for HTML content and quoted attribute values: everything from the store or the service goes through here. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A tagged template whose interpolations are escaped unless they are `raw(...)`. */
export class Raw {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}
export const raw = (html: string): Raw => new Raw(html);

type Part = string | number | Raw | undefined | null | false | readonly Part[];

function piece(p: Part): string {
  if (p === undefined || p === null || p === false) return '';
  if (p instanceof Raw) return p.html;
  if (Array.isArray(p)) return (p as readonly Part[]).map(piece).join('');
  return escapeHtml(String(p));
}

export function html(strings: TemplateStringsArray, ...parts: Part[]): Raw {
  let out = strings[0]!;
  parts.forEach((p, i) => (out += piece(p) + strings[i + 1]!));
  return new Raw(out);
}
