/**
 * Rewrites the references of a stylesheet (or a `style` attribute): `url()` and `@import`.
 * `resolve` returns the new href, or null when the target cannot be had: an `@import` is then
 * removed, and an `@font-face` rule is removed whole (a font rule without its font is invalid).
 */
export type CssRefUse = 'font' | 'import' | 'other';
export type CssResolver = (ref: string, use: CssRefUse) => string | null;

// Comments and strings are matched (and kept) so that url( inside them is left alone.
const TOKENS =
  /\/\*[\s\S]*?(?:\*\/|$)|"(?:[^"\\\n]|\\[\s\S])*"|'(?:[^'\\\n]|\\[\s\S])*'|\burl\(\s*(?:"((?:[^"\\\n]|\\[\s\S])*)"|'((?:[^'\\\n]|\\[\s\S])*)'|([^()"'\s]*))\s*\)|@import\s+(?:"((?:[^"\\\n]|\\[\s\S])*)"|'((?:[^'\\\n]|\\[\s\S])*)'|url\(\s*(?:"((?:[^"\\\n]|\\[\s\S])*)"|'((?:[^'\\\n]|\\[\s\S])*)'|([^()"'\s]*))\s*\))([^;]*;?)/gi;

// `[^{}]` keeps an unclosed rule from making every later attempt scan to the end.
const FONT_FACE = /@font-face\s*\{[^{}]*\}/gi;

function unescapeCss(s: string): string {
  return s.replace(/\\([0-9a-fA-F]{1,6})\s?|\\([\s\S])/g, (_m, hex: string | undefined, ch: string | undefined) =>
    hex !== undefined ? String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff) || 0xfffd) : ch === '\n' ? '' : ch ?? '',
  );
}

const quote = (href: string) => `url("${href.replace(/["\\\n]/g, (c) => `\\${c === '\n' ? 'a ' : c}`)}")`;

/** Rewrites url()/@import in `css`; `failed` says a url() could not be resolved. */
function rewritePart(css: string, use: 'font' | 'other', resolve: CssResolver): { text: string; failed: boolean } {
  let failed = false;
  const text = css.replace(TOKENS, (m, u1?: string, u2?: string, u3?: string, i1?: string, i2?: string, i3?: string, i4?: string, i5?: string, tail?: string) => {
    const importRef = i1 ?? i2 ?? i3 ?? i4 ?? i5;
    if (importRef !== undefined) {
      const href = resolve(unescapeCss(importRef), 'import');
      return href === null ? '' : `@import ${quote(href)}${tail ?? ''}`;
    }
    const urlRef = u1 ?? u2 ?? u3;
    if (urlRef === undefined) return m;
    const raw = unescapeCss(urlRef);
    if (raw.trim() === '') return m;
    const href = resolve(raw, use);
    if (href === null) {
      failed = true;
      return use === 'font' ? m : 'none';
    }
    return quote(href);
  });
  return { text, failed };
}

export function rewriteCss(css: string, resolve: CssResolver): string {
  const faces: string[] = [];
  // NUL is not CSS (the syntax maps it to U+FFFD); here it marks where the font rules go back.
  const withoutFaces = css.replace(/\u0000/g, '\ufffd').replace(FONT_FACE, (block) => {
    const { text, failed } = rewritePart(block, 'font', resolve);
    faces.push(failed ? '' : text);
    return `\u0000${faces.length - 1}\u0000`;
  });
  const { text } = rewritePart(withoutFaces, 'other', resolve);
  return text.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => faces[Number(i)] ?? '');
}
