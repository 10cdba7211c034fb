// The import rules of the house (README, "Architecture"), checked on every file of the tree:
//
// 1. Doors: a unit is entered through its index.ts only. A unit is a service (services/<name>),
//    one shared library (services/shared/<name>), or a top-level tree (infra, loadtest, k8s).
//    Test code may also use a service's testing.ts (its fixtures); generated proto code
//    (proto/gen) is its own door.
// 2. Layers: code (not tests) imports only units of a lower layer; shared libraries sit in one
//    layer and may use each other. Tests, fixtures (testing/, testing.ts, testdata/) and the
//    harness (services/testing, services/lab, infra, loadtest, k8s) may use any unit's doors.
// 3. No cycles: no two files import each other at run time (directly or around a loop; `import
//    type` is erased by the compiler, so it does not count), and no two units depend on each other.
//
// The imports are read with the TypeScript parser (static, dynamic `import()` and re-exports), so
// a multi-line import or a lazy `await import()` counts like any other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Who may import whom: a unit imports only units of a strictly lower layer (shared: its own too). */
export const LAYERS: Readonly<Record<string, number>> = {
  proto: 0, // generated gRPC contracts
  shared: 1, // libraries: config, errors, log, telemetry, tls, nats, resources, ...
  bgp: 2, // protocol layers and services that stand on shared alone
  datastore: 2,
  sync: 2,
  cni: 2,
  'kube-controller': 2,
  agent: 3, // sync clients
  rr: 3,
  dashboard: 4, // reads the reflectors' admin API
  testing: 4, // the shared test harness (netns, BIRD/FRR/GoBGP, raw peers)
  lab: 5, // the end-to-end lab and `meshless demo`: runs every service
  cli: 6, // the `meshless` command: every service is a subcommand
  infra: 7,
  loadtest: 7,
  k8s: 7,
};

/**
 * Deep imports kept on purpose, each with its reason. An entry here is a debt: the test fails
 * when one is no longer needed, so the list only shrinks.
 */
export const ALLOWED_DEEP: Readonly<Record<string, string>> = {
  'services/cli/src/context.ts -> services/shared/tls/discover.ts':
    "every CLI command resolves credentials at start; the tls index loads grpc-js, which a command pays for only when it connects (README, 'The compiled build')",
};

export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  /** `import type` / `export type`: erased at compile time. */
  readonly typeOnly: boolean;
}

/** The unit a file belongs to: 'bgp', 'shared/tls', 'proto', 'infra', ... */
export function unitOf(path: string): string {
  const p = path.split('/');
  if (p[0] === 'services') return p[1] === 'shared' ? `shared/${p[2]}` : p[1]!;
  return p[0]!;
}

function layerOf(unit: string): number | undefined {
  return LAYERS[unit.startsWith('shared/') ? 'shared' : unit];
}

/** Tests and fixtures: free to use any unit (through its doors), never imported by code. */
export function isTestCode(path: string): boolean {
  return /\.test\.ts$/.test(path) || /(^|\/)testing(\/|\.ts$)/.test(path) || /(^|\/)testdata\//.test(path);
}

const HARNESS_UNITS = new Set(['testing', 'lab', 'infra', 'loadtest', 'k8s']);

/** The files through which other units may enter `unit`. */
function doorsOf(unit: string, test: boolean): (path: string) => boolean {
  if (unit === 'proto') return (p) => p.startsWith('proto/gen/');
  const base = unit.startsWith('shared/')
    ? `services/${unit}`
    : ['infra', 'loadtest', 'k8s'].includes(unit)
      ? unit
      : `services/${unit}`;
  return (p) => p === `${base}/index.ts` || (test && p === `${base}/testing.ts`);
}

/** Relative imports of one file (static, dynamic and re-exports), resolved to .ts paths. */
export function importsOf(file: SourceFile): ImportEdge[] {
  const sf = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: ImportEdge[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (!spec.startsWith('.')) return;
    const to = normalize(join(dirname(file.path), spec)).replace(/\.js$/, '.ts');
    out.push({ from: file.path, to, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      const typeOnly =
        !!c && (c.isTypeOnly || (!c.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      add(
        node.moduleSpecifier.text,
        node.isTypeOnly || (!!named && named.length > 0 && named.every((e) => e.isTypeOnly)),
      );
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteral(arg)) add(arg.text, false);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Strongly connected components with more than one member (Tarjan). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return found;
}

/** Every broken rule, one line each (empty: the tree keeps the rules). */
export function checkImports(
  files: readonly SourceFile[],
  allowedDeep: Readonly<Record<string, string>> = ALLOWED_DEEP,
): string[] {
  const problems: string[] = [];
  const known = new Set(files.map((f) => f.path));
  const edges = files.flatMap(importsOf);
  const usedExceptions = new Set<string>();
  for (const e of edges) {
    const from = unitOf(e.from);
    const to = unitOf(e.to);
    if (!known.has(e.to)) {
      problems.push(`${e.from}: imports ${e.to}, which does not exist`);
      continue;
    }
    if (from === to) continue;
    const test = isTestCode(e.from) || HARNESS_UNITS.has(from);
    const key = `${e.from} -> ${e.to}`;
    if (!doorsOf(to, test)(e.to)) {
      if (allowedDeep[key] !== undefined) usedExceptions.add(key);
      else
        problems.push(
          `${e.from}: imports ${e.to}, inside ${to}; go through ${to}'s index.ts${test ? ' (or testing.ts)' : ''}`,
        );
    }
    if (isTestCode(e.from)) continue;
    if (isTestCode(e.to) && !HARNESS_UNITS.has(from)) {
      problems.push(`${e.from}: code imports test code ${e.to}; fixtures are for tests only`);
      continue;
    }
    const lf = layerOf(from);
    const lt = layerOf(to);
    if (lf === undefined)
      problems.push(`${e.from}: ${from} has no layer; add it to LAYERS and to the README's architecture section`);
    else if (lt === undefined)
      problems.push(`${e.to}: ${to} has no layer; add it to LAYERS and to the README's architecture section`);
    else if (lt > lf || (lt === lf && !(from.startsWith('shared/') && to.startsWith('shared/')))) {
      problems.push(`${e.from}: ${from} (layer ${lf}) imports ${to} (layer ${lt}); a layer imports only lower ones`);
    }
  }
  for (const key of Object.keys(allowedDeep)) {
    if (!usedExceptions.has(key))
      problems.push(`ALLOWED_DEEP has '${key}', which the tree no longer does: remove the entry`);
  }
  const fileGraph = new Map<string, string[]>();
  for (const f of files) fileGraph.set(f.path, []);
  for (const e of edges) if (!e.typeOnly && known.has(e.to)) fileGraph.get(e.from)!.push(e.to);
  for (const c of cycles(fileGraph)) problems.push(`import cycle between files: ${c.join(' -> ')}`);
  const unitGraph = new Map<string, string[]>();
  for (const e of edges) {
    if (isTestCode(e.from) || !known.has(e.to)) continue;
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (!unitGraph.has(a)) unitGraph.set(a, []);
    if (a !== b) unitGraph.get(a)!.push(b);
  }
  for (const c of cycles(unitGraph)) problems.push(`dependency cycle between units: ${c.join(', ')}`);
  return problems;
}

/** Every TypeScript file of the project (generated proto code included: it is a door). */
export function projectFiles(root = ROOT): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
        out.push({ path: relative(root, path), text: readFileSync(path, 'utf8') });
    }
  };
  for (const top of ['services', 'proto', 'infra', 'loadtest', 'k8s']) walk(join(root, top));
  return out;
}

test('the tree keeps the import rules: doors, layers, no cycles', () => {
  const files = projectFiles();
  assert.ok(files.length > 300, `found only ${files.length} TypeScript files under ${ROOT}`);
  assert.deepEqual(checkImports(files), []);
});

test('the checker finds each kind of broken rule', () => {
  const f = (path: string, text: string): SourceFile => ({ path, text });
  const tree = [
    f('services/bgp/index.ts', "export { a } from './src/a.js';"),
    f('services/bgp/src/a.ts', 'export const a = 1;'),
    f('services/bgp/testing.ts', 'export const fixture = 1;'),
    f('services/rr/index.ts', "export { r } from './src/r.js';"),
    f('services/rr/src/r.ts', "import { a } from '../../bgp/index.js';\nexport const r = a;"),
    f('services/rr/src/r.test.ts', "import { fixture } from '../../bgp/testing.js';"),
    f('services/shared/log/index.ts', 'export const log = 1;'),
    f('services/shared/tls/index.ts', "import { log } from '../log/index.js';"),
  ];
  assert.deepEqual(checkImports(tree, {}), [], 'a tree that keeps the rules');

  const broken = (extra: SourceFile[], replace: Record<string, string> = {}) =>
    checkImports(
      [...tree.filter((t) => !(t.path in replace)), ...Object.entries(replace).map(([p, t]) => f(p, t)), ...extra],
      {},
    );
  // A deep import into another service.
  assert.match(
    broken([], { 'services/rr/src/r.ts': "import { a } from '../../bgp/src/a.js';" }).join('\n'),
    /rr\/src\/r\.ts: imports services\/bgp\/src\/a\.ts, inside bgp/,
  );
  // Fixtures from code (not a test).
  assert.match(
    broken([], { 'services/rr/src/r.ts': "import { fixture } from '../../bgp/testing.js';" }).join('\n'),
    /go through bgp's index\.ts$/m,
  );
  // A lower layer importing a higher one, even lazily.
  assert.match(
    broken([], {
      'services/bgp/src/a.ts': "export const a = 1;\nexport const later = () => import('../../rr/index.js');",
    }).join('\n'),
    /bgp \(layer 2\) imports rr \(layer 3\)/,
  );
  // Services of one layer do not import each other.
  assert.match(
    broken([f('services/sync/index.ts', "import { a } from '../bgp/index.js';")]).join('\n'),
    /sync \(layer 2\) imports bgp \(layer 2\)/,
  );
  // A file cycle; `import type` does not make one.
  const loop = broken([f('services/bgp/src/b.ts', "import { a } from './a.js';\nexport const b = a;")], {
    'services/bgp/src/a.ts': "import { b } from './b.js';\nexport const a = 1;",
  });
  assert.ok(
    loop.includes('import cycle between files: services/bgp/src/a.ts -> services/bgp/src/b.ts'),
    loop.join('\n'),
  );
  assert.deepEqual(
    broken([f('services/bgp/src/b.ts', "import { a } from './a.js';\nexport type B = 1;")], {
      'services/bgp/src/a.ts': "import type { B } from './b.js';\nexport const a = 1;",
    }),
    [],
  );
  // A cycle between shared libraries (one layer, so only the cycle check sees it).
  assert.ok(
    broken([], { 'services/shared/log/index.ts': "import '../tls/index.js';\nexport const log = 1;" }).includes(
      'dependency cycle between units: shared/log, shared/tls',
    ),
  );
  // A unit nobody placed in a layer, an import of a missing file, a stale exception.
  assert.match(
    broken([f('services/newcomer/index.ts', "import { a } from '../bgp/index.js';")]).join('\n'),
    /newcomer has no layer/,
  );
  assert.match(
    broken([f('services/bgp/src/c.ts', "import { x } from './gone.js';")]).join('\n'),
    /gone\.ts, which does not exist/,
  );
  assert.match(checkImports(tree, { 'x.ts -> y.ts': 'why' }).join('\n'), /no longer does/);
});
