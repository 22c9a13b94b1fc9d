/**
 * The e-reader variant (docs/EPUB.md "Kindle variant"): long words and code wrap instead of running
 * off a small page. Linked last from every content document so it wins over the book's own CSS.
 */
export const KINDLE_CSS_NAME = 'bookd-kindle.css';

export const KINDLE_CSS = new TextEncoder().encode(
  `/* bookd e-reader adjustments */
body, body * {
  word-wrap: break-word;
  overflow-wrap: break-word;
  word-break: break-word;
}
pre, pre *, code, table, table * {
  white-space: pre-wrap !important;
  overflow: visible !important;
}
pre, table {
  max-width: 100%;
}
table {
  table-layout: fixed;
  width: 100%;
}
img, svg {
  max-width: 100%;
  height: auto;
}
`,
);
