/** The simulated O'Reilly library: what tests, `bookd demo` and benchmarks run against. */
export { startSim, type SimServer, type MintOptions } from './server.js';
export { generateCatalogue, findBook, POISON_FLAGS, HOSTILE_FLAGS, type Catalogue, type SimBook, type SimCollection, type BookFlag } from './catalogue.js';
export { bookContent, buildContent, planBook, type BookContent, type BookPlan, type PackageFile, type ChapterEntry, ROOT } from './package.js';
export { chapterApiPage, previewXhtml } from './chapter-api.js';
export { rewriteForFilesApi, isRewritten } from './rewrite.js';
export { filesPrefix } from './render.js';
export { chapterText } from './markup.js';
export { toEpub } from './zip.js';
export { mintCookies } from './mint.js';
export { decodeJwt } from './jwt.js';
export type { SimStats } from './stats.js';
export type { ControlPatch } from './control.js';
export { DEFAULT_SKILLS, resolveOptions, parseRotate, type SimOptions, type CatalogueOptions, type Behaviour, type RotatePolicy, type StaleMode } from './options.js';
