import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bins, hoursChart } from './charts.js';
import { escapeHtml, html, raw } from './html.js';

const H = 3_600_000;

test('bins count each time in its hour; what is older or in the future is left out', () => {
  const now = Date.UTC(2026, 0, 2, 10, 30);
  const b = bins([now, now - 10 * 60_000, now - H, now - 23 * H, now - 24 * H, now + H], now, H, 24);
  assert.equal(b.length, 24);
  assert.equal(b.at(-1)!.at, Date.UTC(2026, 0, 2, 10));
  assert.equal(b.at(-1)!.count, 2);
  assert.equal(b.at(-2)!.count, 1);
  assert.equal(b[0]!.count, 1);
  assert.equal(
    b.reduce((n, x) => n + x.count, 0),
    4,
  );
});

test('the chart is an SVG document with a bar per hour, its total in the title, and no script or style', () => {
  const now = Date.UTC(2026, 0, 2, 10, 30);
  const svg = hoursChart([now, now, now - 2 * H], now);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal(svg.match(/<rect /g)!.length, 24);
  assert.match(svg, /<title>Books archived per hour, last 24 h: 3 in all<\/title>/);
  assert.match(svg, /<title>10h: 2 books<\/title>/);
  assert.doesNotMatch(svg, /<script|style=/);
});

test('html escapes every interpolation unless it is raw', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  const title = '<img src=x onerror=alert(1)>';
  assert.equal(
    html`<b>${title}</b>${raw('<i>ok</i>')}${[1, ' & ', 2]}${undefined}${false}`.html,
    '<b>&lt;img src=x onerror=alert(1)&gt;</b><i>ok</i>1 &amp; 2',
  );
});
