import { test } from 'node:test';
import assert from 'node:assert/strict';
import { badBookRefMessage, isBookId, parseBookList, parseBookRef } from './ids.js';

test('parseBookRef accepts ids, URNs and URLs that contain exactly one id', () => {
  const cases: [string, string][] = [
    ['9781492056348', '9781492056348'],
    ['  9781492056348\n', '9781492056348'],
    ['urn:orm:book:9781098118723', '9781098118723'],
    ['https://learning.oreilly.com/library/view/fluent-python-2nd/9781492056348/', '9781492056348'],
    ['https://learning.oreilly.com/library/view/fluent-python-2nd/9781492056348', '9781492056348'],
    ['https://learning.oreilly.com/library/view/fluent-python-2nd/9781492056348/ch01.html#intro', '9781492056348'],
    ['https://learning.oreilly.com/api/v1/book/9781492056348/', '9781492056348'],
    ['https://learning.oreilly.com/api/v1/book/9781492056348/chapter/ch01.html', '9781492056348'],
    ['http://127.0.0.1:8080/library/view/x/0636920000000/', '0636920000000'],
    ['https://learning.oreilly.com/library/view/a/9781492056348/9781492056348/', '9781492056348'],
  ];
  for (const [input, id] of cases) assert.equal(parseBookRef(input), id, input);
});

test('parseBookRef rejects ISBN-10s, other lengths, ambiguous URLs and non-URLs', () => {
  const bad = [
    '',
    '   ',
    '149205634X',
    '1492056340',
    '978149205634',
    '97814920563481',
    '978-1-492-05634-8',
    'fluent python',
    'urn:orm:book:1492056340',
    'ftp://example.com/9781492056348/',
    'https://learning.oreilly.com/library/view/fluent-python/',
    'https://example.com/?id=9781492056348',
    'https://learning.oreilly.com/library/view/python-9781492056348/',
    'https://learning.oreilly.com/x/9781492056348/9781098118723/',
    '9781492056348 9781098118723',
  ];
  for (const input of bad) assert.equal(parseBookRef(input), undefined, JSON.stringify(input));
});

test('isBookId is exactly 13 digits', () => {
  assert.equal(isBookId('9781492056348'), true);
  assert.equal(isBookId('978149205634'), false);
  assert.equal(isBookId(' 9781492056348'), false);
});

test('badBookRefMessage names the value and what is expected, shortening long input', () => {
  assert.match(badBookRefMessage('12345'), /"12345" is not a book id \(13 digits/);
  const long = badBookRefMessage('x'.repeat(500));
  assert.ok(long.length < 200);
});

test('parseBookList reads ids and URLs per line, skipping comments and blanks', () => {
  const text = [
    '# my reading list',
    '9781492056348',
    '',
    '  https://learning.oreilly.com/library/view/x/9781098118723/#toc   # with a fragment',
    'urn:orm:book:9781491950357 # trailing comment',
    '\t',
  ].join('\r\n');
  const list = parseBookList(text);
  assert.deepEqual(list.errors, []);
  assert.deepEqual(
    list.entries.map((e) => [e.id, e.where]),
    [
      ['9781492056348', 'line 2'],
      ['9781098118723', 'line 4'],
      ['9781491950357', 'line 5'],
    ],
  );
});

test('parseBookList names every bad line by number', () => {
  const list = parseBookList('9781492056348\n149205634X\nhello\n9781098118723\n');
  assert.equal(list.entries.length, 2);
  assert.equal(list.errors.length, 2);
  assert.match(list.errors[0]!, /^line 2: "149205634X" is not a book id/);
  assert.match(list.errors[1]!, /^line 3: "hello"/);
});

test("parseBookList reads the older tools' book_ids/<skill>_books.json", () => {
  const json = JSON.stringify({
    skill_name: 'Python',
    books: [
      { id: 'https://learning.oreilly.com/library/view/fluent-python-2nd/9781492056348/', title: 'Fluent Python, 2nd Edition' },
      { id: '9781098118723', title: '' },
      { id: 9781491950357 },
    ],
  });
  const list = parseBookList(`\uFEFF${json}`);
  assert.deepEqual(list.errors, []);
  assert.equal(list.skill, 'Python');
  assert.deepEqual(list.entries, [
    { id: '9781492056348', where: 'books[0]', title: 'Fluent Python, 2nd Edition' },
    { id: '9781098118723', where: 'books[1]' },
    { id: '9781491950357', where: 'books[2]' },
  ]);
});

test('parseBookList reports bad JSON files and bad entries in them', () => {
  assert.match(parseBookList('{"books": [').errors[0]!, /^not valid JSON/);
  assert.match(parseBookList('{"skill_name": "Go"}').errors[0]!, /expected/);
  const list = parseBookList('{"skill_name": "Go", "books": [{"id": "123"}, {"title": "no id"}, {"id": "9781492056348"}]}');
  assert.equal(list.entries.length, 1);
  assert.deepEqual(
    list.errors.map((e) => e.split(':')[0]),
    ['books[0]', 'books[1]'],
  );
  assert.deepEqual(
    parseBookList('["9781492056348", "https://learning.oreilly.com/api/v1/book/9781098118723/"]').entries.map((e) => e.id),
    ['9781492056348', '9781098118723'],
  );
});
