/**
 * `Content-Disposition: attachment` naming a file (RFC 6266): `filename=` an ASCII fallback for
 * old clients, `filename*=UTF-8''…` the real name percent-encoded (RFC 8187), which clients that
 * know it prefer. Nothing of the name can end the header or add a parameter.
 */
export function attachment(fileName: string): string {
  // Control characters could split the header; path separators are never part of a base name.
  const name =
    fileName
      .replace(/[\u0000-\u001f\u007f-\u009f/\\]/g, '')
      // A lone surrogate half has no UTF-8 (encodeURIComponent throws on it).
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
      .trim() || 'book';
  const ascii =
    name
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      // Quotes and backslashes end or escape the quoted string; `%` some clients decode.
      .replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'book';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeRfc8187(name)}`;
}

/** RFC 8187 attr-char are letters, digits and `!#$&+-.^_\`|~`; everything else as %XX of its UTF-8. */
function encodeRfc8187(s: string): string {
  return encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
