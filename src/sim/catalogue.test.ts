import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCatalogue, isbn13, slugify, HOSTILE_FLAGS, LISTING_VARIANTS, PACKAGE_LAYOUTS, POISON_FLAGS, QUIRK_BLOCK } from './catalogue.js';
import { DEFAULT_SKILLS } from './options.js';

test('the same seed gives a byte-identical catalogue; another seed a different one', () => {
  const a = JSON.stringify(generateCatalogue({ seed: 7 }));
  const b = JSON.stringify(generateCatalogue({ seed: 7 }));
  const c = JSON.stringify(generateCatalogue({ seed: 8 }));
  assert.equal(a, b);
  assert.notEqual(a, c);
});

test('the default catalogue: a few hundred books over at least 12 skills users know', () => {
  const cat = generateCatalogue({ seed: 1 });
  const books = cat.books.filter((b) => b.format === 'book');
  assert.equal(books.length, 300);
  assert.ok(cat.skills.length >= 12);
  for (const s of ['Python', 'Go', 'Kubernetes', 'JavaScript', 'C++', 'Machine Learning', 'Data Science']) assert.ok(cat.skills.includes(s), s);
  for (const skill of cat.skills)
    assert.ok(
      books.some((b) => b.skills.includes(skill)),
      `no book in ${skill}`,
    );
  for (const b of books) {
    assert.ok(b.skills.length >= 1 && b.skills.length <= 3, `${b.id} has ${b.skills.length} skills`);
    assert.equal(new Set(b.skills).size, b.skills.length);
    assert.match(b.id, /^\d{13}$/);
    assert.match(b.isbn, /^\d{13}$/);
    assert.equal(isbn13(b.isbn.slice(0, 12)), b.isbn, 'ISBN check digit');
    assert.ok(b.authors.length >= 1 && b.publishers.length >= 1);
    assert.match(b.slug, /^[a-z0-9]+(-[a-z0-9]+)*$/);
  }
  assert.equal(new Set(cat.books.map((b) => b.id)).size, cat.books.length, 'ids are unique');
  assert.ok(books.filter((b) => b.skills.length > 1).length > 50, 'many books sit in several skills');
  const differing = books.filter((b) => b.id !== b.isbn);
  assert.ok(differing.length >= 30, 'archive_id differs from the ISBN for some books');
  assert.ok(differing.every((b) => b.id.startsWith('0636920')));
});

test('titles carry : , / C++ quotes and non-ASCII; listings hold videos and non-English books', () => {
  const cat = generateCatalogue({ seed: 1 });
  const titles = cat.books.map((b) => b.title);
  for (const ch of [':', ',', '/', 'C++', '"', "'"])
    assert.ok(
      titles.some((t) => t.includes(ch)),
      `a title with ${ch}`,
    );
  assert.ok(
    titles.some((t) => /[^\x00-\x7f]/.test(t)),
    'a non-ASCII title',
  );
  assert.equal(new Set(titles).size, titles.length, 'titles are unique');
  assert.ok(cat.books.some((b) => b.format === 'video'));
  const foreign = cat.books.filter((b) => b.language !== 'en');
  assert.ok(foreign.length >= 5 && foreign.length < 30, `${foreign.length} non-English books`);
});

test('a few big books with hundreds of chapters; --books and --skills shape the catalogue', () => {
  const cat = generateCatalogue({ seed: 1 });
  const big = cat.books.filter((b) => b.chapters >= 250);
  assert.equal(big.length, 2);
  const small = generateCatalogue({ seed: 3, books: 10, skills: ['Go', 'C++'] });
  assert.deepEqual(small.skills, ['Go', 'C++']);
  assert.equal(small.books.filter((b) => b.format === 'book').length, 10);
  assert.ok(small.books.every((b) => b.skills.every((s) => s === 'Go' || s === 'C++')));
  assert.ok(
    small.books.filter((b) => b.format === 'book').every((b) => b.chapters === 8),
    'no big book unless asked',
  );
  const withBig = generateCatalogue({ seed: 3, books: 10, bigBooks: 1, bigChapters: 300 });
  assert.equal(withBig.books.filter((b) => b.chapters === 300).length, 1);
});

test('poison and hostile books are flagged, one misbehaviour each, and sit in a listed skill', () => {
  const cat = generateCatalogue({ seed: 1, books: 20, poison: true, hostile: true });
  const flagged = cat.books.filter((b) => b.flags.length > 0);
  assert.deepEqual(
    flagged.map((b) => b.flags[0]),
    [...POISON_FLAGS, ...HOSTILE_FLAGS],
  );
  assert.ok(flagged.every((b) => b.flags.length === 1 && b.skills[0] === cat.skills[0]));
  assert.equal(generateCatalogue({ seed: 1, books: 20 }).books.filter((b) => b.flags.length > 0).length, 0);
});

test('the default skill list and slugs', () => {
  assert.ok(DEFAULT_SKILLS.length >= 12);
  assert.equal(slugify('From C++ to Go: Café “Notes”', 'x'), 'from-cpp-to-go-cafe-notes');
  assert.equal(slugify('入門', 'book-1'), 'book-1');
});

test('layouts and listing variants: a quarter of the books each, every block of 4 holds every layout, from the seed', () => {
  const cat = generateCatalogue({ seed: 1, poison: true, hostile: true });
  const books = cat.books.filter((b) => b.format === 'book' && b.flags.length === 0);
  assert.equal(books.length, 300);
  for (const layout of PACKAGE_LAYOUTS) assert.equal(books.filter((b) => b.layout === layout).length, 75, layout);
  for (const variant of LISTING_VARIANTS) assert.equal(books.filter((b) => b.variants.includes(variant)).length, 75, variant);
  assert.ok(books.some((b) => b.variants.length === 0) && books.some((b) => b.variants.length >= 2), 'some books have none, some several');
  for (let at = 0; at + QUIRK_BLOCK <= books.length; at += QUIRK_BLOCK) {
    assert.deepEqual(
      books
        .slice(at, at + QUIRK_BLOCK)
        .map((b) => b.layout)
        .sort(),
      [...PACKAGE_LAYOUTS].sort(),
      `block at ${at}`,
    );
  }
  const special = cat.books.filter((b) => b.flags.length > 0 || b.format !== 'book');
  assert.ok(
    special.every((b) => b.layout === 'oebps-text' && b.variants.length === 0),
    'special books, videos and audiobooks stay classic',
  );
  const other = generateCatalogue({ seed: 2 }).books.filter((b) => b.format === 'book');
  assert.notDeepEqual(
    other.map((b) => b.layout),
    books.map((b) => b.layout),
    'another seed deals them otherwise',
  );
  const again = generateCatalogue({ seed: 1, poison: true, hostile: true });
  assert.deepEqual(
    again.books.map((b) => [b.layout, b.variants]),
    cat.books.map((b) => [b.layout, b.variants]),
  );
  // The switches change nothing else about a book.
  const plain = generateCatalogue({ seed: 1, poison: true, hostile: true, packageLayouts: false, listingVariants: false });
  assert.ok(plain.books.every((b) => b.layout === 'oebps-text' && b.variants.length === 0));
  assert.deepEqual(
    plain.books.map((b) => [b.id, b.title, b.skills]),
    cat.books.map((b) => [b.id, b.title, b.skills]),
  );
});

test('audiobooks: ceil(books/60) of them in the listings, ids of 13 digits and AU', () => {
  for (const n of [1, 60, 61, 300]) {
    const cat = generateCatalogue({ seed: 4, books: n });
    const audio = cat.books.filter((b) => b.format === 'audiobook');
    assert.equal(audio.length, Math.ceil(n / 60), `${n} books`);
    for (const a of audio) {
      assert.match(a.id, /^\d{13}AU$/);
      assert.equal(a.isbn, a.id.slice(0, 13));
      assert.ok(a.skills.length === 1 && cat.skills.includes(a.skills[0]!));
      assert.equal(a.chapters, 0);
    }
  }
  assert.equal(generateCatalogue({ seed: 4, books: 0 }).books.filter((b) => b.format === 'audiobook').length, 0);
  const cat = generateCatalogue({ seed: 1 });
  assert.equal(new Set(cat.books.map((b) => b.id)).size, cat.books.length);
  assert.ok(cat.books.filter((b) => b.format === 'audiobook').every((b) => b.title.endsWith('(Audiobook)')));
});
