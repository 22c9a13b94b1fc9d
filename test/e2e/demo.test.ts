import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from '../helpers/cli.js';
import { epubcheckTs } from '../helpers/epubcheck.js';

test('bookd demo archives two skills in parallel, compares with one session, and keeps its library when asked', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const root = join(dir, 'demo');
    const r = await runCli(['--data-dir', root, 'demo'], { timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    const m = /(\d+) books archived in .* with 4 sessions: (\d+) books\/hour/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[1]) >= 10, 'two skills worth of books');
    const speedup = /4 sessions are ([\d.]+)× faster/.exec(r.stdout);
    assert.ok(speedup && Number(speedup[1]) > 2, `parallel sessions are faster: ${speedup?.[1]}`);
    assert.match(r.stdout, /the server saw \d+ requests, 0 stale tokens, 0 preview pages/);
    assert.match(r.stdout, /kept: /);
    const library = join(root, 'parallel', 'library');
    const skills = readdirSync(library)
      .filter((d) => !d.startsWith('.'))
      .sort();
    assert.deepEqual(skills, ['Go', 'Rust']);
    const first = readdirSync(join(library, 'Go'))[0]!;
    assert.deepEqual((await epubcheckTs(join(library, 'Go', first))).errors, []);
    assert.ok(existsSync(join(root, 'demo.log')));
  } finally {
    cleanup();
  }
});
