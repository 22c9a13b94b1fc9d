/**
 * The files a chapter page or a stylesheet pulls in, as absolute URLs: what the chapter-mode
 * download must fetch besides the chapters. Only references that load something (images, style
 * sheets, fonts) are collected; hyperlinks are the EPUB writer's business.
 */
import { cssReferences } from '../markup/css-refs.js';

const TAG = /<(img|image|link|source|input)\b[^>]*>/gi;
const ATTR = /\b(src|href|xlink:href|poster)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/gi;

function decodeAttr(v: string): string {
  return v
    .replace(/&amp;/g, '&')
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)));
}

function absolute(ref: string, base: string): string | undefined {
  if (!ref || ref.startsWith('data:') || ref.startsWith('#')) return undefined;
  try {
    const u = new URL(ref, base);
    u.hash = '';
    return /^https?:$/.test(u.protocol) ? u.href : undefined;
  } catch {
    return undefined;
  }
}

export function htmlAssetRefs(html: string, base: string): string[] {
  const out = new Set<string>();
  for (const tag of html.matchAll(TAG)) {
    const name = tag[1]!.toLowerCase();
    const text = tag[0];
    if (name === 'link' && !/\brel\s*=\s*["']?[^"'>]*stylesheet/i.test(text)) continue;
    for (const a of text.matchAll(ATTR)) {
      const attr = a[1]!.toLowerCase();
      if (name !== 'link' && name !== 'image' && attr === 'href') continue;
      const url = absolute(decodeAttr(a[3] ?? a[4] ?? a[5] ?? ''), base);
      if (url) out.add(url);
    }
  }
  return [...out];
}

/** What a stylesheet loads: the same references the EPUB writer rewrites (src/markup/css-refs.ts). */
export function cssAssetRefs(css: string, base: string): string[] {
  const out = new Set<string>();
  for (const ref of cssReferences(css)) {
    const url = absolute(ref.value.trim(), base);
    if (url) out.add(url);
  }
  return [...out];
}
