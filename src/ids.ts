/**
 * Book ids as users paste them. The service's ids are 13-digit archive ids (often the ISBN-13);
 * a shorter or longer number is a typo or an ISBN-10, and guessing would archive the wrong book.
 */
const BOOK_ID = /^\d{13}$/;
const URN = /^urn:orm:book:(\d{13})$/i;

export function isBookId(text: string): boolean {
  return BOOK_ID.test(text);
}

/** Audiobooks carry an archive id of 13 digits and `AU` (docs/SERVICE.md §2); bookd archives books. */
const AUDIOBOOK_ID = /^\d{13}AU$/i;

export function isAudiobookId(text: string): boolean {
  return AUDIOBOOK_ID.test(text);
}

/** The audiobook id in `text` (bare, a URN or a URL), if it names one. */
export function audiobookRef(text: string): string | undefined {
  const s = text.trim();
  if (AUDIOBOOK_ID.test(s)) return s;
  const urn = /^urn:orm:audiobook:(\d{13}AU)$/i.exec(s) ?? /^urn:orm:book:(\d{13}AU)$/i.exec(s);
  if (urn) return urn[1];
  try {
    const url = new URL(s);
    return url.pathname.split('/').find((seg) => AUDIOBOOK_ID.test(seg));
  } catch {
    return undefined;
  }
}

/**
 * The book id in `text`: a bare 13-digit id, `urn:orm:book:<id>`, or an http(s) URL with exactly
 * one 13-digit path segment (`/library/view/<slug>/<id>/`, `/api/v1/book/<id>/`, …).
 */
export function parseBookRef(text: string): string | undefined {
  const s = text.trim();
  if (BOOK_ID.test(s)) return s;
  const urn = URN.exec(s);
  if (urn) return urn[1];
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const ids = new Set(url.pathname.split('/').filter((seg) => BOOK_ID.test(seg)));
  return ids.size === 1 ? [...ids][0] : undefined;
}

/** The message for a reference that is not a book, for users who pasted it. */
export function badBookRefMessage(text: string): string {
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  const audio = audiobookRef(text);
  if (audio) return `"${shown}" is an audiobook (${audio}); bookd archives books as EPUB, not audiobooks`;
  return `"${shown}" is not a book id (13 digits, such as 9781492056348) or a book URL containing one`;
}

export interface BookListEntry {
  id: string;
  title?: string;
  /** Where it came from, for messages: "line 3" or "books[2]". */
  where: string;
}

export interface BookList {
  /** `skill_name` of an older tool's `book_ids/<skill>_books.json`. */
  skill?: string;
  entries: BookListEntry[];
  /** Every entry that is not a book, with where it is and why; empty when the list is good. */
  errors: string[];
}

function fromJson(value: unknown): BookList {
  const list: BookList = { entries: [], errors: [] };
  let books: unknown;
  if (Array.isArray(value)) {
    books = value;
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    books = obj.books;
    if (obj.skill_name !== undefined) {
      if (typeof obj.skill_name === 'string' && obj.skill_name.trim()) list.skill = obj.skill_name.trim();
      else list.errors.push('skill_name must be a non-empty string');
    }
  }
  if (!Array.isArray(books)) {
    list.errors.push('expected {"skill_name": …, "books": [{"id": …}]} or a JSON array of ids');
    return list;
  }
  books.forEach((book: unknown, i) => {
    const where = `books[${i}]`;
    const raw = book !== null && typeof book === 'object' ? (book as Record<string, unknown>).id : book;
    const title = book !== null && typeof book === 'object' ? (book as Record<string, unknown>).title : undefined;
    const id = typeof raw === 'string' || typeof raw === 'number' ? parseBookRef(String(raw)) : undefined;
    if (!id) list.errors.push(`${where}: ${badBookRefMessage(JSON.stringify(raw) ?? 'nothing')}`);
    else list.entries.push({ id, where, ...(typeof title === 'string' && title.trim() && { title: title.trim() }) });
  });
  return list;
}

/**
 * A list of books as people keep them: one id or URL per line with `#` comments, or the older
 * tools' JSON discovery file. Every bad entry is reported, so a caller can refuse the whole list.
 */
export function parseBookList(text: string): BookList {
  const body = text.replace(/^\uFEFF/, '');
  if (/^\s*[[{]/.test(body)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      return { entries: [], errors: [`not valid JSON (${(err as Error).message})`] };
    }
    return fromJson(parsed);
  }
  const list: BookList = { entries: [], errors: [] };
  body.split(/\r?\n/).forEach((line, i) => {
    // A '#' starts a comment at the line start or after a space; inside a URL it is a fragment.
    const text = line.replace(/(^|\s)#.*$/, '').trim();
    if (!text) return;
    const where = `line ${i + 1}`;
    const id = parseBookRef(text);
    if (id) list.entries.push({ id, where });
    else list.errors.push(`${where}: ${badBookRefMessage(text)}`);
  });
  return list;
}
