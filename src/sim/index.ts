/** The simulated O'Reilly library: what tests, `bookd demo` and benchmarks run against. */
export { startSim, type SimServer, type MintOptions } from './server.js';
export {
  generateCatalogue,
  findBook,
  POISON_FLAGS,
  HOSTILE_FLAGS,
  PACKAGE_LAYOUTS,
  LISTING_VARIANTS,
  type Catalogue,
  type SimBook,
  type SimCollection,
  type BookFlag,
  type PackageLayout,
  type ListingVariant,
} from './catalogue.js';
export {
  bookContent,
  buildContent,
  planBook,
  containerXml,
  type BookContent,
  type BookPlan,
  type PackageFile,
  type ChapterEntry,
  ROOT,
  LAYOUTS,
} from './package.js';
export { sampleOf, SAMPLE_BYTES } from './sample.js';
export { chapterApiPage, previewXhtml } from './chapter-api.js';
export { rewriteForFilesApi, isRewritten } from './rewrite.js';
export { filesPrefix } from './render.js';
export { chapterText } from './markup.js';
export { toEpub } from './zip.js';
export { mintCookies } from './mint.js';
export { decodeJwt } from './jwt.js';
export type { SimStats } from './stats.js';
export type { ControlPatch } from './control.js';
export {
  DEFAULT_SKILLS,
  DEFAULT_BEHAVIOUR,
  resolveOptions,
  parseRotate,
  type SimOptions,
  type CatalogueOptions,
  type Behaviour,
  type RotatePolicy,
  type StaleMode,
  type PartialCookiesMode,
  type ProfileMode,
} from './options.js';
