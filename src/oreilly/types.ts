/** Response shapes of docs/SERVICE.md §2, as far as bookd reads them. */

export interface EpubInfo {
  ourn: string;
  identifier: string;
  isbn: string;
  title: string;
  description: string;
  language: string;
  publicationDate: string;
  virtualPages: number;
  tags: string[];
  contentFormat: string;
}

export interface SearchHit {
  archiveId: string;
  isbn: string;
  title: string;
  authors: string[];
  publishers: string[];
  coverUrl: string;
  issued: string;
  topics: string[];
  language: string;
  format: string;
  webUrl: string;
}

export interface ChapterItem {
  ourn: string;
  title: string;
  /** The chapter's path inside the book, from `reference_id` or the end of `ourn`. */
  path: string;
  contentUrl: string;
  images: string[];
  stylesheets: string[];
  virtualPages: number;
}

export interface TocNode {
  title: string;
  /** Chapter path inside the book (same form as ChapterItem.path). */
  path: string;
  fragment: string;
  children: TocNode[];
}

export interface FileItem {
  /** As listed, or built from `fullPath` when the listing leaves it out. */
  url: string;
  fullPath: string;
  mediaType: string;
  /** `chapter`, `image`, `stylesheet`, `font` or `other_asset`. */
  kind: string;
  /** The full file's size in bytes, when listed: the one reliable way to recognise a sample. */
  fileSize?: number;
}

export interface SpineItem {
  title: string;
  /** The file's path inside the book. */
  path: string;
}

export interface TopicPage {
  results: SearchHit[];
  total: number;
  /** False once the listing has nothing more it will show. */
  more: boolean;
  /** True when the service refused to go deeper (the page cap), not because the list ended. */
  capped: boolean;
}

export interface Playlist {
  uuid: string;
  name: string;
  bookIds: string[];
}
