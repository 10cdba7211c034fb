// An esbuild plugin for infra/build.mjs: imports through a module's barrel (its index.ts, which
// re-exports the module's files) are compiled as imports of the files that define the names.
//
// Why: with code splitting, esbuild assigns a file to the chunks of every entry point whose import
// graph reaches it, following a barrel's re-exports whether or not the names are used. The agent
// imports SyncAgent from services/sync/index.ts, which also re-exports the sync server; so the
// agent's start loaded the sync server, and through it NATS, the YAML parser and more (~1 MB of
// JavaScript to compile). Tree shaking does drop the unused code in a bundle without splitting;
// this gives the split build the same graph. Only the build sees the rewrite: the sources, tsx
// and the type checker keep the barrels.
//
// Why not esbuild's own "sideEffects": false (package.json, or `sideEffects: false` in an
// onResolve result for our index.ts files): esbuild ignores it when code splitting has more than
// one entry point (evanw/esbuild#1110, the fix for chunks that imported each other, #1081), and
// every dynamic import() is an entry point of the split. Tried with esbuild 0.28.2 on this tree:
// marking every barrel side-effect free left what `meshless agent` loads at 1.96 MB (sync server,
// NATS and YAML included); this rewrite gives 0.99 MB (infra/build.test.ts checks the graph).
//
// What it understands is what the barrels here contain (infra/build.test.ts checks them):
// `export { a, b } from './file.js';` and `export type { ... } from ...`, possibly over several
// lines, no `export *`, no renames. A name the barrel defines itself, or one it does not
// re-export that way, stays imported from the barrel. Line counts are kept so source maps stay right.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const IMPORT = /^import\s*\{([^}]*)\}\s*from\s*'([^']*\/index\.js)';/gm;
const REEXPORT = /^export\s*\{([^}]*)\}\s*from\s*'([^']+)';/gm;

/** name -> absolute .ts file that defines it, for one barrel (following nested barrels). */
function barrelExports(barrel, cache) {
  let names = cache.get(barrel);
  if (names) return names;
  names = new Map();
  cache.set(barrel, names);
  let text;
  try {
    text = readFileSync(barrel, 'utf8');
  } catch {
    return names;
  }
  for (const m of text.matchAll(REEXPORT)) {
    const target = resolve(dirname(barrel), m[2].replace(/\.js$/, '.ts'));
    for (const spec of specifiers(m[1])) {
      if (spec.type || spec.imported !== spec.local) continue;
      const nested = target.endsWith('/index.ts') ? barrelExports(target, cache).get(spec.imported) : undefined;
      names.set(spec.imported, nested ?? target);
    }
  }
  return names;
}

function specifiers(list) {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const type = s.startsWith('type ');
      const [imported, local = imported] = s.replace(/^type\s+/, '').split(/\s+as\s+/);
      return { type, imported: imported.trim(), local: local.trim(), text: s };
    });
}

/** The source of `file` with its barrel imports pointing at the defining files. */
export function unbarrel(file, text, cache = new Map()) {
  return text.replace(IMPORT, (whole, list, from) => {
    const barrel = resolve(dirname(file), from.replace(/\.js$/, '.ts'));
    const names = barrelExports(barrel, cache);
    const byFile = new Map();
    const kept = [];
    for (const spec of specifiers(list)) {
      if (spec.type) continue; // erased by the compiler anyway
      const target = names.get(spec.imported);
      if (!target) kept.push(spec.text);
      else byFile.set(target, [...(byFile.get(target) ?? []), spec.text]);
    }
    const statements = [...byFile].map(
      ([target, specs]) => `import { ${specs.join(', ')} } from ${JSON.stringify(target)};`,
    );
    if (kept.length > 0) statements.push(`import { ${kept.join(', ')} } from '${from}';`);
    const newlines = whole.split('\n').length - 1;
    return statements.join(' ') + '\n'.repeat(newlines);
  });
}

/** The plugin: every .ts file of ours (not node_modules) goes through unbarrel. */
export function barrelsPlugin(root) {
  return {
    name: 'meshless-barrels',
    setup(b) {
      const cache = new Map();
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.startsWith(root) || args.path.includes('/node_modules/')) return undefined;
        return { contents: unbarrel(args.path, readFileSync(args.path, 'utf8'), cache), loader: 'ts' };
      });
    },
  };
}
