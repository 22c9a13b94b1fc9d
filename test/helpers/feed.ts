import FeedParser from 'feedparser';
import { Readable } from 'node:stream';

/** A link as a feed reader sees it: href resolved against the feed's URL. */
export interface FeedLink {
  rel: string;
  href: string;
  type?: string;
  title?: string;
  length?: string;
}

export interface FeedEntry {
  /** The title exactly as the XML holds it (feedparser's `title` strips markup-looking text). */
  title: string;
  id: string;
  authors: string[];
  summary: string | undefined;
  identifier: string | undefined;
  categories: string[];
  links: FeedLink[];
}

export interface ParsedFeed {
  title: string;
  id: string;
  links: FeedLink[];
  entries: FeedEntry[];
}

type Node = { '@'?: Record<string, string>; '#'?: string } & Record<string, unknown>;

const list = (v: unknown): Node[] => (v === undefined ? [] : Array.isArray(v) ? (v as Node[]) : [v as Node]);
const text = (v: unknown): string | undefined => list(v)[0]?.['#'];
const links = (v: unknown): FeedLink[] => list(v).map((l) => l['@'] as unknown as FeedLink);

/** Parses an Atom feed with feedparser in strict mode (a well-formedness error rejects). */
export async function parseFeed(xml: string, feedUrl: string): Promise<ParsedFeed> {
  const parser = new FeedParser({ strict: true, feedurl: feedUrl, addmeta: false });
  const meta = new Promise<FeedParser.Meta>((resolve, reject) => {
    parser.once('meta', resolve);
    parser.once('error', reject);
  });
  Readable.from([xml]).pipe(parser);
  const entries: FeedEntry[] = [];
  for await (const item of parser) {
    entries.push({
      title: text(item['atom:title']) ?? '',
      id: text(item['atom:id']) ?? '',
      authors: list(item['atom:author']).map((a) => text(a.name) ?? ''),
      summary: text(item['atom:summary']),
      identifier: text(item['dc:identifier']),
      categories: list(item['atom:category']).map((c) => c['@']?.term ?? ''),
      links: links(item['atom:link']),
    });
  }
  const m = await meta;
  return { title: text(m['atom:title']) ?? m.title, id: text(m['atom:id']) ?? '', links: links(m['atom:link']), entries };
}

export function linkOf(links: FeedLink[], rel: string): FeedLink | undefined {
  return links.find((l) => l.rel === rel);
}
