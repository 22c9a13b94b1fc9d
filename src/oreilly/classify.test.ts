import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BookdError } from '../errors.js';
import { classifyResponse, isEdgeRefusal } from './classify.js';
import type { HttpResponse } from './http.js';

const DENIED =
  '<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\nYou don\'t have permission to access "http://x/api/" on this server.<P>\n</BODY>\n</HTML>\n';

function answer(status: number, headers: Record<string, string>, body: string): HttpResponse {
  return { url: 'https://learning.example/api/v2/epubs/1/', status, headers, body: Buffer.from(body) };
}

function classified(res: HttpResponse): BookdError | undefined {
  try {
    classifyResponse(res, 'json', 0);
  } catch (err) {
    return err as BookdError;
  }
  return undefined;
}

test('edge refusals: a 403 from AkamaiGHost, or its HTML "Access Denied" page without the header', () => {
  const cases: [string, HttpResponse][] = [
    ['Akamai header, JSON body', answer(403, { server: 'AkamaiGHost', 'content-type': 'application/json' }, '{}')],
    ['Akamai header and the page', answer(403, { server: 'AkamaiGHost', 'content-type': 'text/html' }, DENIED)],
    ['the page, no Server header', answer(403, { 'content-type': 'text/html' }, DENIED)],
    ['the page, no content type', answer(403, {}, DENIED)],
  ];
  for (const [what, res] of cases) {
    assert.equal(isEdgeRefusal(res), true, what);
    const err = classified(res);
    assert.equal(err?.kind, 'rate_limited', what);
    assert.equal(err?.edge, true, what);
  }
});

test('not edge refusals: an origin 403, a JSON "access denied", the page with another status', () => {
  const cases: [string, HttpResponse][] = [
    [
      'origin 403 with a detail',
      answer(403, { server: 'nginx', 'content-type': 'application/json' }, '{"detail":"You do not have permission to perform this action."}'),
    ],
    ['origin 403 saying access denied in JSON', answer(403, { 'content-type': 'application/json' }, '{"detail":"Access denied"}')],
    ['an HTML 403 of the origin', answer(403, { 'content-type': 'text/html' }, '<!doctype html><title>Forbidden</title>')],
    ['the page with 200', answer(200, { 'content-type': 'text/html' }, DENIED)],
    ['Akamai header on a 404', answer(404, { server: 'AkamaiGHost' }, '')],
  ];
  for (const [what, res] of cases) {
    assert.equal(isEdgeRefusal(res), false, what);
    assert.notEqual(classified(res)?.edge, true, what);
  }
  assert.equal(classified(cases[0]![1])?.kind, 'auth', 'an origin 403 is the session not accepted');
});
