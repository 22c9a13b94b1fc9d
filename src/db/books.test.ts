import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore } from './store.js';
import { bookRecord } from '../../test/helpers/book-record.js';

const record = bookRecord;

test('the catalogue records, replaces and lists books by (id, format)', () => {
  const { books } = openSqliteStore(':memory:');
  books.record(record());
  books.record(record({ format: 'kindle', path: 'Python/x.azw3', mode: 'chapters', gaps: ['images/missing.png'] }));
  books.record(record({ id: '9781098118723', title: 'Robust Python' }));
  assert.deepEqual(books.get('9781492056348', 'epub'), record());
  assert.equal(books.has('9781492056348', 'kindle'), true);
  assert.equal(books.has('9781098118723', 'kindle'), false);
  assert.deepEqual(
    books.list().map((b) => [b.id, b.format]),
    [
      ['9781098118723', 'epub'],
      ['9781492056348', 'epub'],
      ['9781492056348', 'kindle'],
    ],
  );
  books.record(record({ sha256: 'b'.repeat(64), bytes: 999 }));
  assert.equal(books.get('9781492056348', 'epub')!.sha256, 'b'.repeat(64));
  assert.equal(books.list().length, 3);
  assert.deepEqual(books.get('9781492056348', 'kindle')!.gaps, ['images/missing.png']);
});

test('addSkill adds a skill to every format once, case-insensitively', () => {
  const { books } = openSqliteStore(':memory:');
  books.record(record());
  books.record(record({ format: 'kindle' }));
  assert.equal(books.addSkill('9781492056348', 'Data Science'), true);
  assert.equal(books.addSkill('9781492056348', 'python'), true);
  for (const format of ['epub', 'kindle'] as const) assert.deepEqual(books.get('9781492056348', format)!.skills, ['Python', 'Data Science']);
  assert.equal(books.addSkill('9780000000000', 'Go'), false);
});

test('the catalogue keeps pages, date, revision and the previous sha256; noteIssued fills only a missing date', () => {
  const { books } = openSqliteStore(':memory:');
  const { revision: _, ...older } = record();
  books.record(older);
  assert.deepEqual(books.get('9781492056348', 'epub'), record(), 'an older row is revision 1 with no pages, date or previous file');
  books.noteIssued('9781492056348', '2024-05-01T00:00:00Z');
  books.noteIssued('9781492056348', '2025-01-01T00:00:00Z');
  assert.equal(books.get('9781492056348', 'epub')!.issued, '2024-05-01T00:00:00Z', 'a date already there stays');
  const grown = record({ sha256: 'c'.repeat(64), virtualPages: 420, issued: '2025-02-01T00:00:00Z', revision: 2, previousSha256: 'a'.repeat(64) });
  books.record(grown);
  assert.deepEqual(books.get('9781492056348', 'epub'), grown);
});
