/**
 * The "sample" the live service answers for an (X)HTML file when the request lacks `download=false`
 * or an HTML `Accept`, or when its bulk-access guard throttles the client (docs/SERVICE.md §2, §3):
 * the first ~2 KB of the very document, cut where a tag begins and closed again, so it is still a
 * plausible (and, for XHTML, well-formed) document. No paywall marker, no ellipsis: only its length
 * against the listing's `file_size` gives it away.
 */

/** What a sample weighs at most, in bytes, closing tags included. */
export const SAMPLE_BYTES = 2000;

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
const TAG = /<(\/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
const LT = 0x3c;

/** The closing tags for every element still open at the end of `head`, innermost first. */
function closers(head: string): string {
  const open: string[] = [];
  for (const m of head.matchAll(TAG)) {
    const [, slash, name, rest] = m as unknown as [string, string, string, string];
    if (slash) {
      const at = open.lastIndexOf(name);
      if (at >= 0) open.length = at;
    } else if (!rest.trimEnd().endsWith('/') && !VOID.has(name.toLowerCase())) {
      open.push(name);
    }
  }
  return open
    .reverse()
    .map((n) => `</${n}>`)
    .join('');
}

/** Text that ends in an ellipsis looks like a preview (§3); a sample never does. */
const ELLIPSIS_END = /(\u2026|&hellip;|&#8230;|&#x2026;|\.\.\.)\s*$/i;

/**
 * The sample of `doc`: a prefix ending right before a `<`, plus the closing tags, at most `budget`
 * bytes (the whole document when it is that small already).
 */
export function sampleOf(doc: string | Buffer, budget = SAMPLE_BYTES): Buffer {
  const bytes = Buffer.isBuffer(doc) ? doc : Buffer.from(doc, 'utf8');
  if (bytes.length <= budget) return bytes;
  // Cutting before a '<' never splits a tag, a character or an entity. Bounded: `cut` only decreases.
  for (let cut = bytes.lastIndexOf(LT, budget); cut > 0; cut = bytes.lastIndexOf(LT, cut - 1)) {
    const head = bytes.subarray(0, cut).toString('utf8');
    if (ELLIPSIS_END.test(head.replace(/(?:<[^>]*>|\s)+$/, ''))) continue;
    const tail = `${closers(head)}\n`;
    if (cut + Buffer.byteLength(tail) <= budget) return Buffer.concat([bytes.subarray(0, cut), Buffer.from(tail)]);
  }
  return bytes.subarray(0, 0);
}
