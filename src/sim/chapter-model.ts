import { CHAPTER_TITLES, CODE_SAMPLES, SECTION_TITLES, WORDS } from './words.js';
import type { Random } from './random.js';

/**
 * One chapter as data. The package XHTML and the chapter-API HTML are two renderings of this
 * model (render.ts), which is why their text is the same.
 */
export type Inline =
  string | { t: 'em' | 'strong' | 'code'; text: string } | { t: 'xref'; chapter: number; section: number; text: string } | { t: 'noteref'; n: number };

export type Block =
  | { t: 'p'; inl: Inline[] }
  | { t: 'figure'; id: string; src: string; alt: string; caption: string }
  | { t: 'code'; lang: string; code: string }
  | { t: 'quote'; lines: string[] }
  | { t: 'ul'; items: Inline[][] }
  /** Markup written as is in both renderings (hostile books only). */
  | { t: 'raw'; markup: string };

export interface SectionModel {
  id: string;
  title: string;
  blocks: Block[];
}

export interface ChapterModel {
  /** 0-based position in the spine. */
  index: number;
  id: string;
  path: string;
  title: string;
  intro: Block[];
  sections: SectionModel[];
  notes: Inline[][];
}

export interface ChapterSpec {
  /** 0-based position in the spine, of `count` chapters. */
  index: number;
  count: number;
  id: string;
  path: string;
  /** Full paths of the images its figures show. */
  images: string[];
  /** About how much markup the chapter should weigh. */
  targetBytes: number;
  /** Decides the language of the code samples. */
  skill: string;
  /** Blocks placed right after the opening paragraph (the hostile books' markup). */
  extra: Block[];
}

const LANGS_BY_SKILL: Record<string, string> = {
  python: 'python',
  go: 'go',
  'c++': 'cpp',
  javascript: 'javascript',
  typescript: 'javascript',
  rust: 'rust',
  sql: 'sql',
  'data science': 'python',
  'machine learning': 'python',
  'artificial intelligence': 'python',
  kubernetes: 'shell',
  devops: 'shell',
  linux: 'shell',
  'cloud computing': 'shell',
  java: 'cpp',
  security: 'shell',
};

function sentence(rng: Random): string {
  const n = rng.int(7, 16);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(rng.pick(WORDS));
  const roll = rng.next();
  if (roll < 0.08) words.splice(rng.int(1, words.length - 1), 0, 'when a < b && b > c');
  else if (roll < 0.14) words.splice(rng.int(1, words.length - 1), 0, '\u2014 R&D aside \u2014');
  else if (roll < 0.2) words.splice(rng.int(1, words.length - 1), 0, 'about 10\u00a0ms');
  else if (roll < 0.24) words.splice(rng.int(1, words.length - 1), 0, 'the caf\u00e9\u2019s menu\u2026');
  const s = words.join(' ');
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}${rng.chance(0.1) ? '?' : '.'}`;
}

function paragraph(rng: Random): Inline[] {
  const out: Inline[] = [];
  const n = rng.int(2, 5);
  for (let i = 0; i < n; i++) {
    if (i > 0) out.push(' ');
    const s = sentence(rng);
    const roll = rng.next();
    if (roll < 0.15) {
      const cut = s.indexOf(' ');
      out.push({ t: 'em', text: s.slice(0, cut) }, s.slice(cut));
    } else if (roll < 0.25) {
      out.push(s.slice(0, -1), ' (see ', { t: 'code', text: `${rng.pick(WORDS).replace(/\W/g, '') || 'run'}()` }, ').');
    } else if (roll < 0.3) {
      out.push({ t: 'strong', text: 'Note:' }, ` ${s}`);
    } else {
      out.push(s);
    }
  }
  return out;
}

function measure(inl: Inline[]): number {
  let n = 0;
  for (const i of inl) n += typeof i === 'string' ? i.length : 'text' in i ? i.text.length + 20 : 40;
  return n + 8;
}

function blockText(b: Block): number {
  switch (b.t) {
    case 'p':
      return measure(b.inl);
    case 'figure':
      return b.caption.length + b.alt.length + b.src.length + 80;
    case 'code':
      return b.code.length + 60;
    case 'quote':
      return b.lines.join(' ').length + 40;
    case 'ul':
      return b.items.reduce((s, i) => s + measure(i) + 10, 10);
    case 'raw':
      return b.markup.length;
  }
}

/** Builds one chapter's model; deterministic from the rng it is handed. */
export function chapterModel(rng: Random, spec: ChapterSpec): ChapterModel {
  const number = spec.index + 1;
  const title = `${rng.pick(CHAPTER_TITLES)}${rng.chance(0.3) ? `: ${rng.pick(SECTION_TITLES)}` : ''}`;
  const sectionCount = Math.max(2, Math.min(12, Math.round(spec.targetBytes / 3500)));
  const sections: SectionModel[] = [];
  for (let s = 0; s < sectionCount; s++) sections.push({ id: `sec-${number}-${s + 1}`, title: `${number}.${s + 1} ${rng.pick(SECTION_TITLES)}`, blocks: [] });

  const lang = LANGS_BY_SKILL[spec.skill.toLowerCase()] ?? rng.pick(Object.keys(CODE_SAMPLES));
  const notes: Inline[][] = [];
  const intro: Block[] = [{ t: 'p', inl: paragraph(rng) }, ...spec.extra];
  let size = intro.reduce((n, b) => n + blockText(b), 200);

  // Links to another chapter's section (or this chapter's, in a one-chapter book) and a footnote.
  const target = spec.count > 1 ? (spec.index + 1) % spec.count : spec.index;
  const xref: Block = {
    t: 'p',
    inl: [
      'As shown in ',
      { t: 'xref', chapter: target, section: 0, text: `Section ${target + 1}.1` },
      ', the same idea applies here',
      { t: 'noteref', n: 1 },
      '. ',
      ...paragraph(rng),
    ],
  };
  notes.push(['See the appendix for details \u2014 ', { t: 'em', text: 'especially' }, ' the caf\u00e9 example.']);
  sections[0]!.blocks.push(xref);
  size += blockText(xref);

  sections[0]!.blocks.push({ t: 'code', lang, code: rng.pick(CODE_SAMPLES[lang]!) });
  if (spec.count > 2) {
    const back = (spec.index + spec.count - 1) % spec.count;
    sections[1]!.blocks.push({
      t: 'p',
      inl: ['Compare ', { t: 'xref', chapter: back, section: 1, text: `Section ${back + 1}.2` }, { t: 'noteref', n: 2 }, '. ', ...paragraph(rng)],
    });
    notes.push(['Earlier editions called this a \u201cfa\u00e7ade\u201d.']);
  }
  sections[1]!.blocks.push({ t: 'quote', lines: ['Make it work,', 'make it right,', 'make it fast.'] });
  sections[sectionCount - 1]!.blocks.push({ t: 'ul', items: [paragraph(rng).slice(0, 1), [{ t: 'code', text: 'a < b' }, ' holds'], ['R&D \u2013 done']] });

  spec.images.forEach((src, k) => {
    const fig: Block = {
      t: 'figure',
      id: `fig-${number}-${k + 1}`,
      src,
      alt: `Illustration ${number}-${k + 1}`,
      caption: `Figure\u00a0${number}-${k + 1}. ${rng.pick(SECTION_TITLES)}`,
    };
    sections[k % sectionCount]!.blocks.push(fig);
    size += blockText(fig);
  });
  for (const s of sections) size += s.blocks.reduce((n, b) => n + blockText(b), 40);

  // Fill with prose, round-robin over the sections, until the chapter reaches its size.
  for (let s = 0; size < spec.targetBytes; s = (s + 1) % sectionCount) {
    const p: Block = rng.chance(0.08) ? { t: 'code', lang, code: rng.pick(CODE_SAMPLES[lang]!) } : { t: 'p', inl: paragraph(rng) };
    sections[s]!.blocks.push(p);
    size += blockText(p);
  }
  return { index: spec.index, id: spec.id, path: spec.path, title: `Chapter ${number}. ${title}`, intro, sections, notes };
}

/** Plain text of inlines, for word counts. */
function inlineText(inl: Inline[]): string {
  return inl.map((i) => (typeof i === 'string' ? i : i.t === 'noteref' ? String(i.n) : i.text)).join('');
}

export function wordCount(m: ChapterModel): number {
  let text = m.title;
  const add = (b: Block) => {
    if (b.t === 'p') text += ` ${inlineText(b.inl)}`;
    else if (b.t === 'figure') text += ` ${b.caption}`;
    else if (b.t === 'code') text += ` ${b.code}`;
    else if (b.t === 'quote') text += ` ${b.lines.join(' ')}`;
    else if (b.t === 'ul') text += ` ${b.items.map(inlineText).join(' ')}`;
  };
  m.intro.forEach(add);
  for (const s of m.sections) {
    text += ` ${s.title}`;
    s.blocks.forEach(add);
  }
  let words = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const space = text.charCodeAt(i) <= 32;
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words;
}
