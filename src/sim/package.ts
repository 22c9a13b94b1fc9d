import { findBook, type Catalogue, type PackageLayout, type SimBook } from './catalogue.js';
import { chapterModel, wordCount, type Block, type ChapterModel } from './chapter-model.js';
import { woff } from './font.js';
import { image, IMAGE_MEDIA_TYPES, png, type ImageFormat } from './images.js';
import { escapeXhtml, escapeXml } from './markup.js';
import { Random } from './random.js';
import { relativeRef, renderSection, xhtmlDialect, xhtmlDocument } from './render.js';

/**
 * The root folder of the classic layout (`oebps-text`), which special books always use. Other
 * layouts have their own (`BookPlan.root`): see LAYOUTS.
 */
export const ROOT = 'OEBPS';

/** Where each layout keeps the OPF and its siblings (`root`), and the chapters (`text`, with `ext`). */
export const LAYOUTS: Record<PackageLayout, { root: string; text: string; ext: 'xhtml' | 'html' }> = {
  'oebps-text': { root: 'OEBPS', text: 'text', ext: 'xhtml' },
  'root-html': { root: '', text: '', ext: 'html' },
  'oebps-xhtml': { root: 'OEBPS', text: 'xhtml', ext: 'xhtml' },
  'epub-xhtml': { root: 'EPUB', text: 'xhtml', ext: 'xhtml' },
};

/** `dir/name`, or `name` alone when `dir` is the package root. */
const under = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

/** `kind` as the files API reports it. */
export type FileKind = 'chapter' | 'html' | 'stylesheet' | 'image' | 'font' | 'other_asset';

export interface PlannedFile {
  path: string;
  mediaType: string;
  kind: FileKind;
}

export interface PlannedChapter {
  index: number;
  id: string;
  path: string;
  /** Full paths of the images its figures show. */
  images: string[];
}

/** A book's structure: paths and types only, cheap enough to compute for the whole catalogue. */
export interface BookPlan {
  book: SimBook;
  /** The folder the OPF sits in ('' for the package root). */
  root: string;
  chapters: PlannedChapter[];
  /** Every package file except `mimetype`, in listing order. */
  files: PlannedFile[];
  /** What a files-API download must fetch to count as full: chapters, stylesheets, images, fonts. */
  required: string[];
  opf: string;
  /** A second, stale OPF the files API lists besides the real one (variant `decoy-opf`); not part of the EPUB. */
  decoyOpf: string | undefined;
  /** Whether the files API lists (and serves) `META-INF/container.xml` (not under variant `no-container`). */
  container: boolean;
  ncx: string;
  nav: string;
  css: string;
  font: string;
  cover: string;
  chapterBytes: number;
  imageBytes: number;
  /** Roughly what the package weighs, known before any byte is made. */
  estimatedBytes: number;
  /** The one file a poison or hostile book misbehaves on. */
  specialFile: string | undefined;
}

export interface PackageFile extends PlannedFile {
  /** Made on first read, then kept. */
  readonly bytes: Buffer;
}

export interface ChapterEntry extends PlannedChapter {
  title: string;
  sections: { id: string; title: string }[];
  model: ChapterModel;
  words: number;
  virtualPages: number;
  minutesRequired: number;
}

export interface BookContent {
  book: SimBook;
  plan: BookPlan;
  /**
   * `mimetype` first, then every file of the plan, in order: what the files API lists and serves.
   * Under `no-container` that lacks `META-INF/container.xml`, under `decoy-opf` it holds the decoy:
   * `toEpub` puts the container back and leaves the decoy out.
   */
  files: PackageFile[];
  byPath: Map<string, PackageFile>;
  chapters: ChapterEntry[];
}

export const HOSTILE_PATHS = [`${ROOT}/../../../../tmp/bookd-escape.png`, '/etc/bookd-absolute.png'];

const FORMATS: ImageFormat[] = ['png', 'jpg', 'gif', 'svg'];

/** The assets every book has, under its root folder. */
function fixedAssets(root: string) {
  return {
    coverImage: under(root, 'images/cover.jpg'),
    pattern: under(root, 'images/bg/pattern.gif'),
    figureA: under(root, 'images/a/figure.png'),
    figureB: under(root, 'images/b/figure.png'),
    logo: under(root, 'images/logo.svg'),
  };
}

function mediaTypeOf(path: string): string {
  const ext = path.slice(path.lastIndexOf('.') + 1) as ImageFormat;
  return IMAGE_MEDIA_TYPES[ext] ?? 'application/octet-stream';
}

export function planBook(catalogue: Catalogue, book: SimBook): BookPlan {
  const o = catalogue.options;
  // Big books keep their hundreds of chapters light (short text, only the fixed figures): they
  // exist to make lists paginate, not to weigh hundreds of MB.
  const big = book.chapters > o.chapters && book.chapters === o.bigChapters;
  const n = Math.max(1, book.chapters);
  const width = Math.max(2, String(n).length);
  const perChapter = big ? 0 : o.images;
  const flag = book.flags[0];
  const layout = LAYOUTS[book.flags.length > 0 ? 'oebps-text' : (book.layout ?? 'oebps-text')];
  const root = layout.root;
  const FIXED = fixedAssets(root);

  const chapters: PlannedChapter[] = [];
  for (let i = 0; i < n; i++) {
    const id = `ch${String(i + 1).padStart(width, '0')}`;
    const images: string[] = [];
    for (let k = 1; k <= perChapter; k++) images.push(under(root, `images/${k % 2 ? 'a' : 'b'}/${id}-${k}.${FORMATS[(i + k) % FORMATS.length]}`));
    chapters.push({ index: i, id, path: under(under(root, layout.text), `${id}.${layout.ext}`), images });
  }
  chapters[0]!.images.unshift(FIXED.figureA);
  chapters[Math.min(1, n - 1)]!.images.push(FIXED.figureB);
  chapters[n - 1]!.images.push(FIXED.logo);

  const extras: string[] = [];
  if (flag === 'hostile-paths') extras.push(...HOSTILE_PATHS);
  if (flag === 'hostile-huge') extras.push(`${ROOT}/images/huge.png`);
  if (flag === 'hostile-gzip-bomb') extras.push(`${ROOT}/images/bomb.png`);
  if (flag === 'hostile-endless') extras.push(`${ROOT}/images/endless.png`);
  chapters[0]!.images.push(...extras);

  let specialFile: string | undefined;
  if (flag === 'poison-chapter') specialFile = chapters[Math.min(1, n - 1)]!.path;
  else if (flag === 'poison-image' || flag === 'hostile-html-image' || flag === 'hostile-json-image') specialFile = FIXED.figureB;
  else if (flag === 'hostile-invalid-xml' || flag === 'hostile-remote-refs') specialFile = chapters[0]!.path;
  else if (extras.length > 0) specialFile = extras[0];

  const css = under(root, 'styles/book.css');
  const font = under(root, 'fonts/SimSans-Regular.woff');
  const opfPath = under(root, 'content.opf');
  const variants = book.variants ?? [];
  const container = !variants.includes('no-container');
  const decoyOpf = variants.includes('decoy-opf')
    ? under(root, new Random('decoy', catalogue.options.seed, book.index).chance(0.5) ? 'package.opf' : 'old/content-2.opf')
    : undefined;
  const opfFile: PlannedFile = { path: opfPath, mediaType: 'application/oebps-package+xml', kind: 'other_asset' };
  const images = [FIXED.coverImage, FIXED.pattern, ...new Set(chapters.flatMap((c) => c.images))];
  const files: PlannedFile[] = [
    ...(container ? [{ path: 'META-INF/container.xml', mediaType: 'application/xml', kind: 'other_asset' } as PlannedFile] : []),
    // The decoy comes first, so a client that takes the first OPF it sees takes the wrong one.
    ...(decoyOpf ? [{ ...opfFile, path: decoyOpf }] : []),
    opfFile,
    { path: under(root, 'toc.ncx'), mediaType: 'application/x-dtbncx+xml', kind: 'other_asset' },
    { path: under(root, 'nav.xhtml'), mediaType: 'application/xhtml+xml', kind: 'html' },
    { path: css, mediaType: 'text/css', kind: 'stylesheet' },
    { path: font, mediaType: 'font/woff', kind: 'font' },
    ...images.map((path): PlannedFile => ({ path, mediaType: mediaTypeOf(path), kind: 'image' })),
    ...chapters.map((c): PlannedFile => ({ path: c.path, mediaType: 'application/xhtml+xml', kind: 'chapter' })),
  ];
  const required = files.filter((f) => f.kind !== 'other_asset' && f.kind !== 'html').map((f) => f.path);
  const chapterBytes = (big ? Math.min(o.chapterKb, 4) : o.chapterKb) * 1024;
  const imageBytes = o.imageKb * 1024;
  return {
    book,
    root,
    chapters,
    files,
    required,
    opf: opfPath,
    decoyOpf,
    container,
    ncx: under(root, 'toc.ncx'),
    nav: under(root, 'nav.xhtml'),
    css,
    font,
    cover: FIXED.coverImage,
    chapterBytes,
    imageBytes,
    estimatedBytes: chapters.length * chapterBytes + images.length * imageBytes + 64 * 1024,
    specialFile,
  };
}

function itemId(plan: BookPlan, path: string): string {
  const local = plan.root && path.startsWith(`${plan.root}/`) ? path.slice(plan.root.length + 1) : path;
  return `x-${local.replace(/[^A-Za-z0-9]/g, '-')}`;
}

function css(flag: string | undefined): string {
  const lines = [
    '@font-face {',
    '  font-family: "Sim Sans";',
    '  src: url("../fonts/SimSans-Regular.woff") format("woff");',
    '}',
    'body { font-family: "Sim Sans", Georgia, serif; line-height: 1.4; }',
    'h1, h2 { font-family: "Sim Sans", sans-serif; }',
    'pre { background: #f6f6f6 url(../images/bg/pattern.gif) repeat; padding: 0.5em; white-space: pre-wrap; }',
    'figure { margin: 1em 0; text-align: center; }',
    'figure img { max-width: 100%; }',
    'div[data-type="footnotes"] { font-size: 0.9em; border-top: 1px solid #ccc; }',
  ];
  if (flag === 'hostile-remote-refs') lines.push('.remote { background-image: url("http://evil.invalid/bg.png"); }');
  return `${lines.join('\n')}\n`;
}

/**
 * The package document at `at`. The real one lists every file of the plan; the decoy (variant
 * `decoy-opf`) is a stale edition's: the first half of the chapters, no figures, no nav.
 */
function opf(plan: BookPlan, content: BookContent['chapters'], at = plan.opf): string {
  const b = plan.book;
  const decoy = at !== plan.opf;
  const rel = (p: string) => escapeXml(relativeRef(at, p));
  const spine = decoy ? content.slice(0, Math.ceil(content.length / 2)) : content;
  const kept = new Set(spine.map((c) => c.path));
  const items = plan.files
    .filter((f) => f.path !== plan.opf && f.path !== plan.decoyOpf && !f.path.startsWith('META-INF/'))
    .filter((f) => !decoy || kept.has(f.path) || f.path === plan.ncx || f.path === plan.css || f.path === plan.font || f.path === plan.cover)
    .map((f) => {
      const props = f.path === plan.nav ? ' properties="nav"' : f.path === plan.cover ? ' properties="cover-image"' : '';
      return `    <item id="${itemId(plan, f.path)}" href="${rel(f.path)}" media-type="${f.mediaType}"${props}/>`;
    });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="bookid" xml:lang="${b.language}">`,
    '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">',
    `    <dc:identifier id="bookid">urn:isbn:${b.isbn}</dc:identifier>`,
    `    <dc:title>${escapeXhtml(b.title)}</dc:title>`,
    `    <dc:language>${b.language}</dc:language>`,
    ...b.authors.map((a) => `    <dc:creator>${escapeXhtml(a)}</dc:creator>`),
    ...b.publishers.map((p) => `    <dc:publisher>${escapeXhtml(p)}</dc:publisher>`),
    `    <dc:date>${b.issued}</dc:date>`,
    `    <dc:description>${escapeXhtml(b.description)}</dc:description>`,
    ...b.skills.map((s) => `    <dc:subject>${escapeXhtml(s)}</dc:subject>`),
    `    <meta property="dcterms:modified">${decoy ? `${Number(b.issued.slice(0, 4)) - 2}${b.issued.slice(4)}` : b.issued}T00:00:00Z</meta>`,
    `    <meta name="cover" content="${itemId(plan, plan.cover)}"/>`,
    '  </metadata>',
    '  <manifest>',
    ...items,
    '  </manifest>',
    '  <spine toc="' + itemId(plan, plan.ncx) + '">',
    ...spine.map((c) => `    <itemref idref="${itemId(plan, c.path)}"/>`),
    '  </spine>',
    '</package>',
    '',
  ].join('\n');
}

function nav(plan: BookPlan, chapters: ChapterEntry[]): string {
  const rel = (p: string) => escapeXml(relativeRef(plan.nav, p));
  const items = chapters.map((c) => {
    const subs = c.sections.map((s) => `<li><a href="${rel(c.path)}#${s.id}">${escapeXhtml(s.title)}</a></li>`).join('');
    return `<li><a href="${rel(c.path)}">${escapeXhtml(c.title)}</a><ol>${subs}</ol></li>`;
  });
  return xhtmlDocument({
    language: plan.book.language,
    title: plan.book.title,
    stylesheet: relativeRef(plan.nav, plan.css),
    body: `<nav epub:type="toc" id="toc">\n<h1>Table of Contents</h1>\n<ol>\n${items.join('\n')}\n</ol>\n</nav>\n`,
  });
}

function ncx(plan: BookPlan, chapters: ChapterEntry[]): string {
  const rel = (p: string) => escapeXml(relativeRef(plan.ncx, p));
  let order = 0;
  const point = (id: string, label: string, src: string, inner = '') =>
    `<navPoint id="${id}" playOrder="${++order}"><navLabel><text>${escapeXhtml(label)}</text></navLabel><content src="${src}"/>${inner}</navPoint>`;
  const points = chapters.map((c) => {
    const head = { id: `np-${c.id}`, label: c.title, src: rel(c.path) };
    const first = `<navPoint id="${head.id}" playOrder="${++order}"><navLabel><text>${escapeXhtml(head.label)}</text></navLabel><content src="${head.src}"/>`;
    const subs = c.sections.map((s) => point(`np-${s.id}`, s.title, `${rel(c.path)}#${s.id}`)).join('');
    return `${first}${subs}</navPoint>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1" xml:lang="${plan.book.language}">`,
    '<head>',
    `<meta name="dtb:uid" content="urn:isbn:${plan.book.isbn}"/>`,
    '<meta name="dtb:depth" content="2"/>',
    '<meta name="dtb:totalPageCount" content="0"/>',
    '<meta name="dtb:maxPageNumber" content="0"/>',
    '</head>',
    `<docTitle><text>${escapeXhtml(plan.book.title)}</text></docTitle>`,
    '<navMap>',
    ...points,
    '</navMap>',
    '</ncx>',
    '',
  ].join('\n');
}

/** `META-INF/container.xml` pointing at the OPF. */
export function containerXml(opfPath: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="${escapeXml(opfPath)}" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
`;
}

/** The HTML error page a hostile book serves under an image name. */
export const HTML_ERROR_PAGE =
  '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>The upstream image service failed.</p></body></html>\n';
export const JSON_ON_IMAGE = '{"message":"Image temporarily unavailable","code":"asset_unavailable"}\n';

function extraBlocks(flag: string | undefined): Block[] {
  if (flag === 'hostile-invalid-xml') return [{ t: 'raw', markup: '<p>Unescaped R&D <b>bold <i>and</b> crossed</i> tags<br></p>' }];
  if (flag === 'hostile-remote-refs') {
    return [
      {
        t: 'raw',
        markup: '<p class="remote"><img src="http://evil.invalid/x.png" alt="remote image"/> See <a href="http://evil.invalid/page">elsewhere</a>.</p>',
      },
    ];
  }
  return [];
}

/** One book's package: chapter models now, each file's bytes when first read. */
export function buildContent(catalogue: Catalogue, book: SimBook): BookContent {
  const plan = planBook(catalogue, book);
  const o = catalogue.options;
  const seedParts = [o.seed, book.index, o.chapterKb, o.imageKb, o.images, book.chapters] as const;
  const flag = book.flags[0];
  const chapterPaths = plan.chapters.map((c) => c.path);
  const FIXED = fixedAssets(plan.root);

  const chapters: ChapterEntry[] = plan.chapters.map((c) => {
    const model = chapterModel(new Random('chapter', ...seedParts, c.index), {
      index: c.index,
      count: plan.chapters.length,
      id: c.id,
      path: c.path,
      images: c.images,
      targetBytes: plan.chapterBytes,
      skill: book.skills[0] ?? 'Python',
      extra: c.index === 0 ? extraBlocks(flag) : [],
    });
    const words = wordCount(model);
    return {
      ...c,
      title: model.title,
      sections: model.sections.map((s) => ({ id: s.id, title: s.title })),
      model,
      words,
      virtualPages: Math.max(1, Math.ceil(words / 300)),
      minutesRequired: Math.max(1, Math.round((words / 250) * 10) / 10),
    };
  });

  const bytesFor = (f: PlannedFile): Buffer => {
    const rng = new Random('file', ...seedParts, f.path);
    if (f.path === 'META-INF/container.xml') return Buffer.from(containerXml(plan.opf));
    if (f.path === plan.opf || f.path === plan.decoyOpf) return Buffer.from(opf(plan, chapters, f.path));
    if (f.path === plan.ncx) return Buffer.from(ncx(plan, chapters));
    if (f.path === plan.nav) return Buffer.from(nav(plan, chapters));
    if (f.path === plan.css) return Buffer.from(css(flag));
    if (f.path === plan.font) return woff('Sim Sans');
    if (f.path === plan.specialFile && flag === 'hostile-html-image') return Buffer.from(HTML_ERROR_PAGE);
    if (f.path === plan.specialFile && flag === 'hostile-json-image') return Buffer.from(JSON_ON_IMAGE);
    if (f.kind === 'chapter') {
      const ch = chapters.find((c) => c.path === f.path)!;
      return Buffer.from(
        xhtmlDocument({
          language: book.language,
          title: ch.title,
          stylesheet: relativeRef(f.path, plan.css),
          body: renderSection(ch.model, xhtmlDialect(chapterPaths, f.path)),
        }),
      );
    }
    if (f.path === plan.cover) return image('jpg', rng, plan.imageBytes * 2, book.title);
    if (f.path === FIXED.pattern) return image('gif', rng, 512, 'pattern');
    if (f.path === FIXED.logo) return image('svg', rng, 2048, `${book.title} logo`);
    const ext = f.path.slice(f.path.lastIndexOf('.') + 1) as ImageFormat;
    if (!FORMATS.includes(ext)) return png(rng, 256);
    return image(ext, rng, plan.imageBytes, f.path);
  };

  // Bytes are made on first use: a client asking for one chapter should not wait for every image.
  const lazy = (f: PlannedFile): PackageFile => {
    let made: Buffer | undefined;
    return {
      path: f.path,
      mediaType: f.mediaType,
      kind: f.kind,
      get bytes() {
        made ??= bytesFor(f);
        return made;
      },
    };
  };
  const files: PackageFile[] = [
    { path: 'mimetype', mediaType: 'text/plain', kind: 'other_asset', bytes: Buffer.from('application/epub+zip') },
    ...plan.files.map(lazy),
  ];
  return { book, plan, files, byPath: new Map(files.map((f) => [f.path, f])), chapters };
}

/**
 * One book's package and chapters, the same bytes the simulator serves (before the files API
 * rewrites references); undefined for unknown ids, videos and audiobooks.
 */
export function bookContent(catalogue: Catalogue, id: string): BookContent | undefined {
  const book = findBook(catalogue, id);
  if (!book || book.format !== 'book') return undefined;
  return buildContent(catalogue, book);
}
