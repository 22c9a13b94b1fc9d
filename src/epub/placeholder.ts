/**
 * What a reader shows where an image could not be had (missing, remote, or not an image at all):
 * a small SVG that says so, so the book stays valid and the gap stays visible.
 */
export const PLACEHOLDER_NAME = 'bookd-missing-image.svg';

export const PLACEHOLDER_SVG = new TextEncoder().encode(
  `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="320" height="80" viewBox="0 0 320 80">
  <title>Image not available</title>
  <rect x="1" y="1" width="318" height="78" fill="#f4f4f4" stroke="#999999" stroke-dasharray="6 4"/>
  <text x="160" y="46" font-family="sans-serif" font-size="16" text-anchor="middle" fill="#555555">Image not available</text>
</svg>
`,
);

export const PLACEHOLDER_ALT = 'Image not available';
