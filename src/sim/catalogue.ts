import { FIRST_NAMES, FOREIGN_LANGUAGES, FOREIGN_TITLES, LAST_NAMES, PUBLISHERS, TITLE_PATTERNS, TOPIC_WORDS } from './words.js';
import { Random } from './random.js';
import { catalogueOptionsOf, defaultCatalogueOptions, type CatalogueOptions } from './options.js';

/** Misbehaviours a special book carries; each touches one file (see `SimBook.specialFile`). */
export const POISON_FLAGS = ['poison-missing', 'poison-chapter', 'poison-image'] as const;
export const HOSTILE_FLAGS = [
  'hostile-paths',
  'hostile-huge',
  'hostile-html-image',
  'hostile-gzip-bomb',
  'hostile-invalid-xml',
  'hostile-json-image',
  'hostile-endless',
  'hostile-remote-refs',
] as const;
export type BookFlag = (typeof POISON_FLAGS)[number] | (typeof HOSTILE_FLAGS)[number];

/**
 * Where a publisher package keeps its files: `oebps-text` (`OEBPS/content.opf`, `OEBPS/text/chNN.xhtml`),
 * `root-html` (`content.opf` and `chNN.html` at the package root), `oebps-xhtml` (`OEBPS/xhtml/chNN.xhtml`),
 * `epub-xhtml` (`EPUB/content.opf`, `EPUB/xhtml/chNN.xhtml`).
 */
export const PACKAGE_LAYOUTS = ['oebps-text', 'root-html', 'oebps-xhtml', 'epub-xhtml'] as const;
export type PackageLayout = (typeof PACKAGE_LAYOUTS)[number];

/**
 * Listing quirks seen on the live service: `no-url` (files-listing items without `url`), `decoy-opf`
 * (a second, stale OPF listed besides `content.opf`), `no-container` (no `META-INF/container.xml`),
 * `encoded-ourn` (chapter-list `ourn`s ending in a percent-encoded path, no `reference_id`).
 */
export const LISTING_VARIANTS = ['no-url', 'decoy-opf', 'no-container', 'encoded-ourn'] as const;
export type ListingVariant = (typeof LISTING_VARIANTS)[number];

/** Layouts and variants are dealt per block of this many consecutive ordinary books. */
export const QUIRK_BLOCK = 4;

export interface SimBook {
  /** Position in generation order; with the seed it decides the book's content. */
  index: number;
  /** The archive id: what every URL uses. Differs from `isbn` for some books. */
  id: string;
  isbn: string;
  title: string;
  slug: string;
  authors: string[];
  publishers: string[];
  skills: string[];
  language: string;
  format: 'book' | 'video' | 'audiobook';
  /** YYYY-MM-DD. */
  issued: string;
  description: string;
  chapters: number;
  flags: BookFlag[];
  /** The publisher package's layout (always `oebps-text` for special books, videos and audiobooks). */
  layout: PackageLayout;
  /** The listing quirks this book shows (none for special books, videos and audiobooks). */
  variants: ListingVariant[];
}

export interface SimCollection {
  uuid: string;
  slug: string;
  name: string;
  /** ourns, books as `urn:orm:book:{id}` (one playlist also holds a video). */
  content: string[];
}

export interface Catalogue {
  options: CatalogueOptions;
  skills: string[];
  /** Books, videos and special books, in generation order. */
  books: SimBook[];
  collections: SimCollection[];
}

const indexes = new WeakMap<Catalogue, Map<string, SimBook>>();

/** The book (or video) with this archive id. */
export function findBook(catalogue: Catalogue, id: string): SimBook | undefined {
  let index = indexes.get(catalogue);
  if (!index) {
    index = new Map(catalogue.books.map((b) => [b.id, b]));
    indexes.set(catalogue, index);
  }
  return index.get(id);
}

export function isbn13(first12: string): string {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * (i % 2 === 0 ? 1 : 3);
  return first12 + String((10 - (sum % 10)) % 10);
}

export function slugify(title: string, fallback: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\+/g, 'p')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug || fallback;
}

function digits(rng: Random, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(rng.int(0, 9));
  return s;
}

function isoDate(rng: Random): string {
  const start = Date.UTC(2010, 0, 1);
  const end = Date.UTC(2025, 11, 31);
  return new Date(start + Math.floor(rng.next() * ((end - start) / 86_400_000)) * 86_400_000).toISOString().slice(0, 10);
}

function fill(pattern: string, skill: string, rng: Random): string {
  return pattern.replaceAll('{S}', skill).replaceAll('{T}', rng.pick(TOPIC_WORDS));
}

/**
 * The layout and listing variants of ordinary book `index`. Per block of QUIRK_BLOCK consecutive
 * books, a seeded shuffle gives each layout to one book, and each variant goes to one seeded pick:
 * a quarter of the books per layout and per variant, and every 4 consecutive books hold every layout.
 */
export function quirksOf(
  seed: number,
  index: number,
  o: Pick<CatalogueOptions, 'packageLayouts' | 'listingVariants'>,
): { layout: PackageLayout; variants: ListingVariant[] } {
  const rng = new Random('quirks', seed, Math.floor(index / QUIRK_BLOCK));
  const pos = index % QUIRK_BLOCK;
  const layouts = rng.sample(PACKAGE_LAYOUTS, QUIRK_BLOCK);
  const variants = LISTING_VARIANTS.filter(() => rng.int(0, QUIRK_BLOCK - 1) === pos);
  return { layout: o.packageLayouts ? layouts[pos]! : 'oebps-text', variants: o.listingVariants ? variants : [] };
}

/** Generates the catalogue: cheap (metadata only), deterministic from the options. */
export function generateCatalogue(partial: Partial<CatalogueOptions> = {}): Catalogue {
  const defaults = defaultCatalogueOptions(partial.books);
  const options = catalogueOptionsOf({ ...defaults, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) });
  const skills = options.skills.length > 0 ? options.skills : defaults.skills;
  const seed = options.seed;
  const used = new Set<string>();
  const titles = new Set<string>();

  const uniqueId = (rng: Random, make: () => string): string => {
    for (;;) {
      const id = make();
      if (!used.has(id)) {
        used.add(id);
        return id;
      }
      rng.next();
    }
  };
  const uniqueTitle = (title: string): string => {
    let t = title;
    for (let k = 2; titles.has(t); k++) t = `${title}, Volume ${k}`;
    titles.add(t);
    return t;
  };

  const bigAt = new Set<number>();
  for (let k = 0; k < Math.min(options.bigBooks, options.books); k++) bigAt.add(Math.floor(((k + 0.5) * options.books) / options.bigBooks));

  const books: SimBook[] = [];
  const makeBook = (index: number, flags: BookFlag[], opts: { skills?: string[]; big?: boolean } = {}): SimBook => {
    const rng = new Random('book', seed, index);
    const isbn = uniqueId(rng, () => isbn13(`978${rng.pick(['0', '1'])}${digits(rng, 8)}`));
    // O'Reilly's own archive ids (0636920…) differ from the ISBN; every fifth book has one.
    const id = index % 5 === 2 ? uniqueId(rng, () => `0636920${digits(rng, 6)}`) : isbn;
    const primary = skills[index % skills.length]!;
    const extra = rng.chance(0.5)
      ? rng.sample(
          skills.filter((s) => s !== primary),
          rng.chance(0.4) ? 2 : 1,
        )
      : [];
    const bookSkills = opts.skills ?? [primary, ...extra];
    const foreign = index % 23 === 11 && flags.length === 0;
    const language = foreign ? rng.pick(FOREIGN_LANGUAGES) : 'en';
    const pattern = foreign ? rng.pick(FOREIGN_TITLES[language]!) : rng.pick(TITLE_PATTERNS);
    const title = uniqueTitle(fill(pattern, bookSkills[0]!, rng));
    const authors = Array.from({ length: rng.int(1, 3) }, () => `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`);
    const quirks = flags.length === 0 ? quirksOf(seed, index, options) : { layout: 'oebps-text' as const, variants: [] };
    return {
      index,
      id,
      isbn,
      title,
      slug: slugify(title, `book-${id}`),
      authors: [...new Set(authors)],
      publishers: [rng.pick(PUBLISHERS)],
      skills: bookSkills,
      language,
      format: 'book',
      issued: isoDate(rng),
      description: `A practical book about ${bookSkills.join(', ')}: ${title}.`,
      chapters: opts.big ? options.bigChapters : options.chapters,
      flags,
      layout: quirks.layout,
      variants: quirks.variants,
    };
  };

  for (let i = 0; i < options.books; i++) books.push(makeBook(i, [], { big: bigAt.has(i) }));

  let next = options.books;
  const special: BookFlag[] = [...(options.poison ? POISON_FLAGS : []), ...(options.hostile ? HOSTILE_FLAGS : [])];
  for (const flag of special) books.push(makeBook(next++, [flag], { skills: [skills[0]!] }));

  // Listings must be filtered by format: a few videos sit among the books of a skill.
  const videos = options.books > 0 ? Math.max(1, Math.ceil(options.books / 60)) : 0;
  for (let v = 0; v < videos; v++) {
    const index = next++;
    const rng = new Random('video', seed, index);
    const skill = skills[v % skills.length]!;
    const id = uniqueId(rng, () => `0636920${digits(rng, 6)}`);
    const title = uniqueTitle(`${skill} Fundamentals (Video Course)`);
    books.push({
      index,
      id,
      isbn: id,
      title,
      slug: slugify(title, `video-${id}`),
      authors: [`${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`],
      publishers: [rng.pick(PUBLISHERS)],
      skills: [skill],
      language: 'en',
      format: 'video',
      issued: isoDate(rng),
      description: `A video course on ${skill}.`,
      chapters: 0,
      flags: [],
      layout: 'oebps-text',
      variants: [],
    });
  }

  // Audiobooks too: not books, though they sit in the same listings; ids are 13 digits and "AU".
  const audiobooks = options.books > 0 ? Math.ceil(options.books / 60) : 0;
  for (let a = 0; a < audiobooks; a++) {
    const index = next++;
    const rng = new Random('audiobook', seed, index);
    const skill = skills[(a + 1) % skills.length]!;
    const digitsOnly = uniqueId(rng, () => isbn13(`978${rng.pick(['0', '1'])}${digits(rng, 8)}`));
    const id = `${digitsOnly}AU`;
    used.add(id);
    const title = uniqueTitle(`${fill(rng.pick(TITLE_PATTERNS), skill, rng)} (Audiobook)`);
    books.push({
      index,
      id,
      isbn: digitsOnly,
      title,
      slug: slugify(title, `audiobook-${digitsOnly}`),
      authors: [`${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`],
      publishers: [rng.pick(PUBLISHERS)],
      skills: [skill],
      language: 'en',
      format: 'audiobook',
      issued: isoDate(rng),
      description: `An audiobook on ${skill}.`,
      chapters: 0,
      flags: [],
      layout: 'oebps-text',
      variants: [],
    });
  }

  return { options: { ...options, skills }, skills, books, collections: makeCollections(seed, books) };
}

/**
 * A new book in `skill`, as if the publisher had just released it (`POST /__sim/control`
 * `{addBook: {skill}}`): listed and downloadable from now on, its content decided by the seed and
 * its place, like every other book's.
 */
export function addBook(catalogue: Catalogue, skill: string): SimBook {
  const index = catalogue.books.length;
  const rng = new Random('added', catalogue.options.seed, index);
  let id = isbn13(`9781${digits(rng, 8)}`);
  while (findBook(catalogue, id)) id = isbn13(`9781${digits(rng, 8)}`);
  const titles = new Set(catalogue.books.map((b) => b.title));
  const base = fill(rng.pick(TITLE_PATTERNS), skill, rng);
  let title = base;
  for (let k = 2; titles.has(title); k++) title = `${base}, Volume ${k}`;
  const book: SimBook = {
    index,
    id,
    isbn: id,
    title,
    slug: slugify(title, `book-${id}`),
    authors: [`${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`],
    publishers: [rng.pick(PUBLISHERS)],
    skills: [skill],
    language: 'en',
    format: 'book',
    issued: isoDate(rng),
    description: `A practical book about ${skill}: ${title}.`,
    chapters: catalogue.options.chapters,
    flags: [],
    layout: 'oebps-text',
    variants: [],
  };
  catalogue.books.push(book);
  indexes.get(catalogue)?.set(id, book);
  return book;
}

export class GrowError extends Error {}

/** What `growBook` changed: the book's new chapter count and date. */
export interface GrownBook {
  id: string;
  chapters: number;
  issued: string;
}

/**
 * An early-release book gains chapters (`chapters`, default 2) and a later `issued` date (a month
 * on): its metadata's `virtual_pages`, chapter list, package and listing all show the new edition
 * from then on (the caller drops the book's cached content). Only plain books grow.
 */
export function growBook(catalogue: Catalogue, id: string, chapters = 2): GrownBook {
  const book = findBook(catalogue, id);
  if (!book || book.format !== 'book') throw new GrowError(`no book ${id} in the catalogue`);
  const o = catalogue.options;
  // The catalogue's big books are made differently (light chapters) at exactly that size.
  if (book.chapters > o.chapters && book.chapters === o.bigChapters) throw new GrowError(`book ${id} is one of the big books, which do not grow`);
  let n = book.chapters + chapters;
  if (n === o.bigChapters) n++;
  book.chapters = n;
  book.issued = new Date(Date.parse(`${book.issued}T00:00:00Z`) + 30 * 86_400_000).toISOString().slice(0, 10);
  return { id, chapters: book.chapters, issued: book.issued };
}

function uuid(rng: Random): string {
  const h = rng.hex(32).split('');
  h[12] = '4';
  h[16] = '89ab'[parseInt(h[16]!, 16) & 3]!;
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

function makeCollections(seed: number, books: SimBook[]): SimCollection[] {
  const rng = new Random('collections', seed);
  const plain = books.filter((b) => b.format === 'book' && b.flags.length === 0);
  const video = books.find((b) => b.format === 'video');
  const names = ['Essentials for the New Team', 'Weekend Reading: Go & Rust', 'Café Ops / SRE “Must Reads”'];
  return names.map((name, i) => {
    const picked = rng.sample(plain, rng.int(3, 6)).map((b) => `urn:orm:book:${b.id}`);
    if (i === 1 && video) picked.push(`urn:orm:video:${video.id}`);
    return { uuid: uuid(rng), slug: slugify(name, `playlist-${i}`), name, content: picked };
  });
}
