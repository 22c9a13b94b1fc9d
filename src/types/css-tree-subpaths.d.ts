// css-tree publishes its parts as subpaths (package.json "exports") so a program can load the
// parser, walker and tokenizer without the lexer, whose syntax data is most of the package's
// memory; @types/css-tree only describes the whole package, so these name the same functions.
declare module 'css-tree/parser' {
  import type { parse } from 'css-tree';
  const parser: typeof parse;
  export default parser;
}

declare module 'css-tree/walker' {
  import type { walk } from 'css-tree';
  const walker: typeof walk;
  export default walker;
}

declare module 'css-tree/tokenizer' {
  export { tokenize, tokenTypes } from 'css-tree';
}

declare module 'css-tree/utils' {
  export { string, url } from 'css-tree';
}
