/** Word lists the generators draw from: technical prose with the odd non-ASCII word. */
// Word lists stay in rows of ten (prettier-ignore): one word a line would make them unreadable.

// prettier-ignore
export const WORDS: readonly string[] = [
  'system', 'cluster', 'request', 'latency', 'function', 'module', 'value', 'pattern', 'design', 'service',
  'library', 'object', 'stream', 'buffer', 'thread', 'process', 'schema', 'query', 'index', 'cache',
  'token', 'session', 'model', 'vector', 'tensor', 'gradient', 'network', 'layer', 'batch', 'pipeline',
  'container', 'deployment', 'replica', 'volume', 'namespace', 'controller', 'operator', 'scheduler', 'node', 'pod',
  'compiler', 'template', 'iterator', 'closure', 'promise', 'callback', 'channel', 'goroutine', 'pointer', 'reference',
  'allocation', 'ownership', 'lifetime', 'borrow', 'trait', 'interface', 'generic', 'type', 'variable', 'constant',
  'benchmark', 'profile', 'trace', 'metric', 'log', 'alert', 'incident', 'release', 'version', 'branch',
  'commit', 'review', 'test', 'fixture', 'mock', 'assertion', 'coverage', 'refactoring', 'dependency', 'package',
  'protocol', 'handshake', 'certificate', 'key', 'cipher', 'hash', 'signature', 'policy', 'permission', 'role',
  'table', 'column', 'row', 'transaction', 'lock', 'isolation', 'replication', 'partition', 'shard', 'join',
  'feature', 'label', 'dataset', 'sample', 'estimator', 'regression', 'classifier', 'cluster', 'embedding', 'prompt',
  'quickly', 'carefully', 'simply', 'often', 'rarely', 'usually', 'safely', 'directly', 'eventually', 'gracefully',
  'robust', 'scalable', 'concurrent', 'immutable', 'durable', 'idempotent', 'lazy', 'eager', 'strict', 'portable',
  'handles', 'returns', 'stores', 'builds', 'runs', 'parses', 'renders', 'sends', 'reads', 'writes',
  'measures', 'retries', 'rotates', 'schedules', 'validates', 'compiles', 'deploys', 'monitors', 'scales', 'recovers',
  'the', 'a', 'each', 'every', 'this', 'that', 'our', 'your', 'one', 'any',
  'with', 'without', 'before', 'after', 'inside', 'across', 'between', 'through', 'under', 'over',
  'café', 'naïve', 'résumé', 'façade', 'Zürich', 'señor', 'coöperate', 'déjà vu', 'Ångström', 'jalapeño',
];

// prettier-ignore
export const FIRST_NAMES: readonly string[] = [
  'Ada', 'Alan', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Guido',
  'José', 'Zoë', 'Łukasz', 'Søren', 'Anaïs', 'Björn', 'Chloé', 'Dvořák', 'Renée', 'Ștefan',
  'Hiroshi', 'Mei', 'Priya', 'Olúwaseun', 'Nadia', 'Rob', 'Katherine', 'Bjarne', 'Anders', 'Yukihiro',
];

// prettier-ignore
export const LAST_NAMES: readonly string[] = [
  'Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie', 'Allen', 'van Rossum',
  'García', 'Müller', 'Kowalski', 'Kierkegaard', 'Nin', 'Borg', 'Dubois', 'Novák', 'Lefèvre', 'Popescu',
  'Tanaka', 'Chen', 'Raman', 'Adébáyọ̀', "O'Brien", 'Pike', 'Johnson', 'Stroustrup', 'Hejlsberg', 'Matsumoto',
];

// prettier-ignore
export const PUBLISHERS: readonly string[] = [
  "O'Reilly Media, Inc.", 'Manning Publications', 'Packt Publishing', 'No Starch Press', 'Pragmatic Bookshelf',
  'Addison-Wesley Professional', 'Apress', 'Wiley',
];

/** Title shapes; `{S}` is the skill, `{T}` a topic word. Several carry `: , / " '` on purpose. */
export const TITLE_PATTERNS: readonly string[] = [
  'Learning {S}: A Hands-On Guide',
  '{S} Cookbook, 3rd Edition',
  'Effective {S}: 42 Specific Ways to Improve Your {T}',
  'CI/CD with {S}',
  '"Hello, World" and Beyond: {S} for the Curious',
  "The {S} Programmer's Handbook",
  '{S} in Production: Patterns, Pitfalls & Practice',
  'Head First {S}',
  '{S} / {T} Interop: A Field Guide',
  'Café Society: {S} für Entwickler',
  'Designing {T} Systems with {S}',
  '{S} Up & Running, 2nd Edition',
  'Naïve {T}s, Robust {S}',
  'Mastering {S} {T}s — Second Edition',
  '{S} Pocket Reference: "Quick, Precise" Answers',
  'From C++ to {S}: A Migration Guide',
];

/** Title shapes for non-English books, keyed by language. */
export const FOREIGN_TITLES: Record<string, readonly string[]> = {
  de: ['{S} für Einsteiger: Grundlagen und Praxis', 'Praxisbuch {S} – Größere Projekte'],
  fr: ['{S} pour les développeurs : le guide complet', 'Apprendre {S}, 2ᵉ édition'],
  es: ['{S} práctico: guía del desarrollador', 'Aprende {S} en español'],
  ja: ['入門{S}：基礎から学ぶ', '実践{S}プログラミング'],
  'pt-BR': ['{S} na prática: guia do programador', 'Introdução ao {S}'],
};

export const FOREIGN_LANGUAGES: readonly string[] = ['de', 'fr', 'es', 'ja', 'pt-BR'];

// prettier-ignore
export const TOPIC_WORDS: readonly string[] = [
  'Service', 'Pipeline', 'Cluster', 'Model', 'Stream', 'Query', 'Network', 'Compiler', 'Scheduler', 'Cache',
];

// prettier-ignore
export const SECTION_TITLES: readonly string[] = [
  'Getting Started', 'Why It Matters', 'A First Example', 'Under the Hood', 'Error Handling',
  'Testing & Debugging', 'Performance: What to Measure', 'Putting It Together', 'Common Pitfalls',
  'Going Further', 'Configuration, Step by Step', 'Async I/O', 'Design Trade-offs', 'Case Study: Café Orders',
  'Security "By Default"', "The Operator's View",
];

// prettier-ignore
export const CHAPTER_TITLES: readonly string[] = [
  'Introduction', 'Core Concepts', 'Working with Data', 'Concurrency', 'Testing', 'Deployment', 'Observability',
  'Security', 'Performance Tuning', 'Interfaces & Types', 'Networking', 'Storage', 'Tooling', 'Case Studies',
  'Advanced Topics', 'Migration: Old to New', 'Appendix: Reference',
];

/** Code samples whose text holds `<`, `>` and `&`, so escaping is exercised everywhere. */
export const CODE_SAMPLES: Record<string, readonly string[]> = {
  cpp: [
    '#include <vector>\n#include <iostream>\n\nint main() {\n  std::vector<int> v{3, 1, 2};\n  if (v.size() < 4 && !v.empty()) std::cout << v[0] << "\\n";\n  return 0;\n}',
    'template <typename T>\nT clamp(const T& x, const T& lo, const T& hi) {\n  return x < lo ? lo : (hi < x ? hi : x);\n}',
  ],
  python: [
    'def pick(items, limit=3):\n    """Return the first items below <limit>."""\n    return [x for x in items if x < limit and x & 1]',
    'with open("data.csv") as f:\n    rows = [r for r in f if r and "<" not in r]\nprint(len(rows) > 0 and len(rows) & 1)',
  ],
  go: [
    'func worker(jobs <-chan int, out chan<- int) {\n\tfor j := range jobs {\n\t\tif j < 10 && j%2 == 0 {\n\t\t\tout <- j * 2\n\t\t}\n\t}\n}',
    'if err != nil && !errors.Is(err, io.EOF) {\n\treturn fmt.Errorf("read <%s>: %w", name, err)\n}',
  ],
  javascript: [
    'const ok = items.filter((x) => x < 10 && x !== null);\nconsole.log(`<b>${ok.length}</b> & done`);',
    'async function load(url) {\n  const res = await fetch(url);\n  return res.ok && res.status < 300 ? res.json() : null;\n}',
  ],
  rust: ['fn largest<T: PartialOrd>(list: &[T]) -> &T {\n    let mut best = &list[0];\n    for item in list { if best < item { best = item; } }\n    best\n}'],
  sql: ["SELECT title, isbn FROM books\nWHERE pages < 500 AND (lang = 'en' OR title <> 'R&D')\nORDER BY title;"],
  shell: [
    'kubectl get pods -o json | jq \'.items[] | select(.status.phase != "Running")\' && echo "<done>"',
    'for f in *.epub; do [ -s "$f" ] && echo "$f" >> list.txt; done < /dev/null 2>&1',
  ],
};
