import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Static value imports and re-exports (not `import type`, not `import()`): what loads with a module. */
const STATIC = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

/** Every source file and package a module loads before its first line runs, following src/. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string>; specifiers: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const specifiers = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const [, spec] of readFileSync(join(SRC, file), 'utf8').matchAll(STATIC)) {
      if (spec!.startsWith('.')) visit(relative(SRC, resolve(SRC, dirname(file), spec!.replace(/\.js$/, '.ts'))));
      else if (!spec!.startsWith('node:')) {
        specifiers.add(spec!);
        packages.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!);
      }
    }
  };
  visit(entry);
  return { files, packages, specifiers };
}

// The daemon is one long-lived process of the same program every command runs: what the other
// commands, the web page, the PostgreSQL driver and the EPUB build need must not sit in its memory
// unless it uses them (each loads where it is used: an action, --http, --store, the build thread).
test('the CLI loads the simulator, the doctor, the web page, metrics, PostgreSQL and the EPUB libraries only when a command uses them', () => {
  const { files, packages } = staticGraph('cli/main.ts');
  assert.ok(files.has('app/service.ts') && files.has('pool/pool.ts'), 'the walk follows the daemon');
  // sim/options.ts is the simulator's flags and their defaults, which `bookd sim --help` shows.
  const eager = [...files].filter(
    (f) => (/^(sim|web|doctor|epub\/html)\//.test(f) && f !== 'sim/options.ts') || ['daemon/metrics.ts', 'db/pg/copy.ts', 'db/pg/connect.ts'].includes(f),
  );
  assert.deepEqual(eager, []);
  for (const name of ['pg', 'prom-client', 'parse5', '@xmldom/xmldom', 'fflate', 'yazl']) assert.ok(!packages.has(name), `${name} loads with every command`);
});

// css-tree's main entry also builds its lexer from the syntax data (about 6 MB of a thread's memory
// measured with a bare worker): both threads that read CSS take only the parts they use.
test("neither the daemon nor the build thread loads css-tree's lexer", () => {
  for (const entry of ['cli/main.ts', 'epub/build-worker.ts']) {
    const { packages, specifiers } = staticGraph(entry);
    assert.ok(packages.has('css-tree'), `${entry} reads CSS`);
    assert.ok(!specifiers.has('css-tree'), `${entry} loads the whole of css-tree`);
  }
});

// The build and jar threads answer their caller by message and never log.
test('the build and jar threads do not load the logger', () => {
  for (const entry of ['epub/build-worker.ts', 'db/jar-writer-worker.ts']) assert.ok(!staticGraph(entry).packages.has('pino'), `${entry} loads pino`);
});
