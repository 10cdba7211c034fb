// The compiled build: bundles the TypeScript entry points into ESM JavaScript under dist/ with
// esbuild, so a `meshless` process starts in a fraction of a CPU-second instead of transpiling
// ~300 files through tsx at every start. Plain JavaScript on purpose: it runs before anything
// is compiled, and bin/meshless.mjs imports it to build on demand.
//
//   npm run build                  build dist/ (about a second)
//   node infra/build.mjs --check   exit 1 when dist/ is missing or older than the sources
//   node infra/build.mjs --if-stale  build only when --check would fail
//   node infra/build.mjs --cli-only  only the `meshless` command and the CNI executables (the container image)
//
// Layout: one bundle per entry (dist/<same path>.js), code shared between entries and code behind
// a dynamic import() in dist/chunks/ (esbuild's ESM code splitting), so the CLI's `await import()`
// of a service, of OpenTelemetry or of the BGP speaker stays lazy in the compiled output. npm
// packages are bundled too, except those in EXTERNAL: resolving and loading grpc-js's or
// OpenTelemetry's hundreds of CommonJS files one by one cost more than parsing them as one chunk
// (`meshless --help` 0.55 -> 0.3 CPU-s before the CLI's lazy imports). EXTERNAL packages carry
// native code (lmdb) or are build tools. Linked source maps make
// stack traces point at the .ts lines (bin/source-maps.mjs maps a frame when a stack is formatted).
// What a chunk imports statically is what a process compiles at start: imports through a barrel
// (index.ts) point at the defining file (infra/barrels.mjs), so a service's chunks hold its graph only.
//
// Freshness (infra/fresh.mjs): dist/build.json records when the build started; dist/ is stale when any input
// (a .ts file under the source roots, package.json or package-lock.json) changed after that. A
// checkout or an edit moves a file's mtime forward, so this catches both, and the walk over ~300
// files costs a few milliseconds. The alternative, hashing every source, costs more than the
// start-up this build is there to save.
import {
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  openSync,
  closeSync,
  existsSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { barrelsPlugin } from './barrels.mjs';
import { newestInput, staleReason } from './fresh.mjs';

export { newestInput, staleReason };

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');
const LOCK = join(ROOT, '.dist.lock');

/** What gets compiled: the CLI (every service is a subcommand), the local cluster, the benchmarks. */
export const CLI_ENTRIES = [
  'services/cli/src/main.ts',
  // The CNI executables (bin/meshless-cni, bin/meshless-ipam): their own small entry, since a
  // runtime starts one per pod and must not load the whole CLI.
  'services/cni/src/main.ts',
  // A sync server's worker process (`meshless sync --workers N`), forked by the server.
  'services/sync/src/server/workers/child.ts',
];
export const ENTRIES = [
  ...CLI_ENTRIES,
  'services/testing/src/netns-broker.ts',
  'infra/cluster/main.ts',
  'loadtest/bgp/main.ts',
  'loadtest/bgp-codec/main.ts',
  'loadtest/rr-core/main.ts',
  'loadtest/fanout/main.ts',
  'loadtest/fanout/worker.ts',
  'loadtest/fanout/floor-server.ts',
  'loadtest/startup/main.ts',
  'loadtest/cni/main.ts',
];
/**
 * Packages whose import has no side effect, so esbuild may drop an import of them that nothing
 * uses. Without this, a module that re-exports one gRPC helper beside plain error classes (as
 * services/shared/errors does) makes every command load all of grpc-js: a CommonJS package's
 * require() counts as a side effect unless its package.json says otherwise, and these do not.
 */
const SIDE_EFFECT_FREE = new Set([
  '@grpc/grpc-js',
  'yaml',
  '@bufbuild/protobuf',
  '@nats-io/transport-node',
  '@nats-io/jetstream',
  '@nats-io/kv',
]);
const pureImports = {
  name: 'meshless-pure-imports',
  setup(b) {
    b.onResolve({ filter: /^[@a-z]/ }, async (args) => {
      const pkg = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      if (pkg.startsWith('@opentelemetry/') && !args.pluginData?.otel) return otelModule(b, args);
      if (!SIDE_EFFECT_FREE.has(pkg) || args.pluginData?.pure) return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { pure: true },
      });
      return { ...resolved, sideEffects: false };
    });
  },
};

/**
 * OpenTelemetry packages: one copy each, as ES modules. exporter-prometheus brought its own
 * nested core, resources and sdk-metrics (2.12.0 beside the top-level 2.12.1, same API): both
 * copies were bundled, and through `main` (CommonJS, which esbuild cannot tree-shake) the whole of
 * each plus all of semantic-conventions (200 KB) came along: ~0.8 MB loaded by every service. The
 * top-level copy's ES build (`module`, or the `default` export condition) is what gets bundled.
 */
async function otelModule(b, args) {
  const resolved = await b.resolve(args.path, {
    kind: 'import-statement',
    resolveDir: ROOT,
    pluginData: { otel: true },
  });
  if (resolved.errors.length > 0) return resolved;
  const esm = resolved.path.replace('/build/src/', '/build/esm/');
  return { ...resolved, path: esm !== resolved.path && existsSync(esm) ? esm : resolved.path };
}

/**
 * lmdb through its CommonJS build: an `import` of it loads its ES modules one file at a time
 * (node-index.js, open, read, write, keys, caching, msgpackr's pack, unpack and struct, ...),
 * where `require` gets one bundled file per package (dist/index.cjs, msgpackr's dist/node.cjs):
 * ~15 ms less CPU for every process that opens LMDB (agent, reflector, sync server). The require
 * happens at run time (lmdb stays external: its native addon is found relative to its package).
 */
const lmdbAsCommonJs = {
  name: 'meshless-lmdb-cjs',
  setup(b) {
    b.onResolve({ filter: /^lmdb$/ }, (args) =>
      args.namespace === 'lmdb-cjs' ? { path: 'lmdb', external: true } : { path: 'lmdb', namespace: 'lmdb-cjs' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lmdb-cjs' }, () => ({
      contents: "module.exports = require('lmdb');",
      loader: 'js',
    }));
  },
};

/** Packages left to node_modules at run time (see above); everything else is bundled. */
// @grpc/proto-loader (with all of protobufjs, ~320 KB) is what grpc-js requires only to serve
// channelz or ORCA, which Meshless never does: left external, it is never read, where bundled it
// was parsed by every process that speaks gRPC.
// pino is bundled: Meshless logs through pino.destination (sonic-boom, synchronous writes) and
// never starts a transport, the one part of pino that loads files by path (a worker thread; in the
// bundle its path would be wrong, which infra/build.test.ts guards by finding no transport in the
// sources). Left external, every process that logs resolved and read ~38 files of pino and its
// dependencies one by one: ~0.01-0.02 CPU-s of a service's start.
const EXTERNAL = ['lmdb', 'esbuild', 'tsx', 'fsevents', '@grpc/proto-loader'];
/**
 * Builds dist/ (into a temporary directory, then swapped in, so a process starting meanwhile
 * never sees half a build). Concurrent builders (several `meshless` processes started at once
 * on stale sources) serialise on a lock file; whoever gets it second finds dist/ fresh.
 */
export async function build({ quiet = false, force = false, entries = ENTRIES } = {}) {
  const started = Date.now();
  const fd = await acquireLock();
  try {
    if (!force && !staleReason()) return;
    const { build: esbuild } = await import('esbuild');
    const tmp = `${DIST}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    const startedMs = Date.now() - 1; // mtime granularity: an edit during the build counts as newer
    const result = await esbuild({
      absWorkingDir: ROOT,
      entryPoints: entries.map((e) => ({ in: e, out: e.replace(/\.ts$/, '') })),
      outdir: tmp,
      outbase: '.',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external: EXTERNAL,
      sourcemap: 'linked',
      sourcesContent: false,
      chunkNames: 'chunks/[name]-[hash]',
      logLevel: 'warning',
      metafile: true,
      plugins: [pureImports, lmdbAsCommonJs, barrelsPlugin(ROOT + '/')],
      // CommonJS packages inside an ESM bundle still call require() for Node's built-ins. Code that
      // finds files relative to itself uses services/shared/paths (a chunk's import.meta.url is not
      // its source's).
      banner: {
        js: "// Generated by infra/build.mjs from the TypeScript sources; do not edit.\nimport { createRequire as __meshlessRequire } from 'node:module';\nconst require = __meshlessRequire(import.meta.url);",
      },
    });
    // MESHLESS_BUILD_FULL_MAPS=1 keeps the packages' mappings (debugging inside a dependency).
    if (process.env.MESHLESS_BUILD_FULL_MAPS !== '1') {
      for (const file of Object.keys(result.metafile.outputs))
        if (file.endsWith('.map')) unmapPackages(join(ROOT, file));
    }
    writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n');
    writeFileSync(
      join(tmp, 'build.json'),
      `${JSON.stringify({ startedMs, entries, files: Object.keys(result.metafile.outputs).length })}\n`,
    );
    rmSync(DIST, { recursive: true, force: true });
    renameSync(tmp, DIST);
    if (!quiet)
      process.stderr.write(
        `meshless: built dist/ (${entries.length} entries, ${Object.keys(result.metafile.outputs).length} files) in ${Date.now() - started} ms\n`,
      );
  } finally {
    closeSync(fd);
    rmSync(LOCK, { force: true });
  }
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Map([...BASE64].map((c, i) => [c, i]));

function decodeVlq(segment) {
  const out = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = BASE64_VALUE.get(ch);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

function encodeVlq(values) {
  let out = '';
  for (const v of values) {
    let vlq = v < 0 ? (-v << 1) | 1 : v << 1;
    do {
      let digit = vlq & 31;
      vlq >>>= 5;
      if (vlq > 0) digit |= 32;
      out += BASE64[digit];
    } while (vlq > 0);
  }
  return out;
}

/**
 * Leaves the bundled npm packages' code unmapped in a source map: a stack frame inside grpc-js
 * then shows its position in the bundle, and ours still map to the .ts lines. Node parses every
 * loaded bundle's map when source maps are on, and packages are ~70% of the mappings: this cuts a
 * service's start-up by ~0.1 CPU-s. A package segment becomes a column-only segment (source map
 * v3: "unmapped from here"), and a run of them collapses into its first.
 */
function unmapPackages(path) {
  const map = JSON.parse(readFileSync(path, 'utf8'));
  const packaged = map.sources.map((s) => s.includes('node_modules/'));
  // Absolute state: [source, line, column, name] carry across lines; the generated column resets.
  const state = [0, 0, 0, 0];
  const written = [0, 0, 0, 0];
  const lines = map.mappings.split(';').map((line) => {
    let column = 0;
    let writtenColumn = 0;
    let unmapped = false;
    const out = [];
    for (const segment of line.split(',')) {
      if (!segment) continue;
      const v = decodeVlq(segment);
      column += v[0];
      if (v.length === 1) {
        if (!unmapped) out.push(encodeVlq([column - writtenColumn]));
        if (!unmapped) writtenColumn = column;
        unmapped = true;
        continue;
      }
      for (let i = 1; i < v.length; i++) state[i - 1] += v[i];
      if (packaged[state[0]]) {
        if (!unmapped) {
          out.push(encodeVlq([column - writtenColumn]));
          writtenColumn = column;
        }
        unmapped = true;
        continue;
      }
      const fields = [column - writtenColumn, state[0] - written[0], state[1] - written[1], state[2] - written[2]];
      written[0] = state[0];
      written[1] = state[1];
      written[2] = state[2];
      if (v.length === 5) {
        fields.push(state[3] - written[3]);
        written[3] = state[3];
      }
      out.push(encodeVlq(fields));
      writtenColumn = column;
      unmapped = false;
    }
    return out.join(',');
  });
  map.mappings = lines.join(';');
  writeFileSync(path, JSON.stringify(map));
}

async function acquireLock() {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeFileSync(fd, String(process.pid));
      return fd;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A builder that died leaves its lock behind: take it over when its process is gone.
      let holder = 0;
      try {
        holder = Number(readFileSync(LOCK, 'utf8')) || 0;
      } catch {}
      if (holder && !alive(holder)) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline)
        throw new Error(
          `${relative(process.cwd(), LOCK)} held by process ${holder} for 60 s; remove it if no build is running`,
        );
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const known = ['--check', '--if-stale', '--quiet', '--cli-only'];
  const unknown = args.filter((a) => !known.includes(a));
  if (unknown.length) {
    console.error(`infra/build.mjs: unknown option ${unknown[0]} (options: ${known.join(', ')})`);
    process.exit(2);
  }
  if (args.includes('--check')) {
    const why = staleReason();
    if (why) {
      console.error(`meshless: ${why}; run \`npm run build\``);
      process.exit(1);
    }
  } else {
    const entries = args.includes('--cli-only') ? CLI_ENTRIES : ENTRIES;
    await build({ quiet: args.includes('--quiet'), force: !args.includes('--if-stale'), entries });
  }
}
