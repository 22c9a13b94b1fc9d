import type { Clock } from '../clock.js';
import type { Tuning } from '../config.js';
import type { Store } from '../db/store.js';
import { epubMetaCache } from './epub-meta-cache.js';
import { libraryFileRoutes } from './library-files.js';
import { opdsRoutes } from './opds.js';
import type { Route } from './route.js';

/**
 * The library's part of the HTTP surface, to mount after the auth check: its files and covers
 * (`/library/…`) and the OPDS catalog (`/opds…`), sharing one cache of what the EPUBs say.
 */
export function libraryRoutes(deps: { books: Store['books']; libraryRoot: string; tuning: Tuning['opds']; clock?: Clock }): Route[] {
  const meta = epubMetaCache({ libraryRoot: deps.libraryRoot, ...deps.tuning });
  return [
    libraryFileRoutes({ books: deps.books, libraryRoot: deps.libraryRoot, meta }),
    opdsRoutes({ books: deps.books, meta, pageSize: deps.tuning.pageSize, ...(deps.clock && { clock: deps.clock }) }),
  ];
}
