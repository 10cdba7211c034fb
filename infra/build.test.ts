// The compiled build (infra/build.mjs) as users meet it: dist/ is fresh after a build and stale
// after an edit; the `meshless` command runs from dist/ in the production image's layout (bin/,
// dist/, production dependencies only: no tsx, no esbuild, no sources) and stack traces point at
// the TypeScript lines; a read-only command loads neither OpenTelemetry nor pino.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { MESHLESS_BIN, PROJECT_ROOT } from '../services/shared/paths/index.js';
import { freePort, waitFor } from '../services/shared/testing/index.js';

const run = promisify(execFile);
interface BuildModule {
  build(o?: { quiet?: boolean; force?: boolean }): Promise<void>;
  staleReason(root?: string): string | undefined;
  ENTRIES: string[];
}
const buildModule = (): Promise<BuildModule> => import(join(PROJECT_ROOT, 'infra/build.mjs')) as Promise<BuildModule>;

test('dist/ is fresh after a build, stale after an edit to a source, and missing is reported', async () => {
  const { build, staleReason, ENTRIES } = await buildModule();
  await build({ quiet: true });
  assert.equal(staleReason(), undefined);
  for (const entry of ENTRIES) readFileSync(join(PROJECT_ROOT, 'dist', entry.replace(/\.ts$/, '.js')));

  const tree = mkdtempSync(join(tmpdir(), 'meshless-build-'));
  try {
    assert.equal(staleReason(tree), 'dist/ has not been built');
    mkdirSync(join(tree, 'dist'));
    mkdirSync(join(tree, 'services/x'), { recursive: true });
    writeFileSync(join(tree, 'services/x/a.ts'), 'export {};\n');
    utimesSync(join(tree, 'services/x/a.ts'), new Date(1000), new Date(1000));
    writeFileSync(join(tree, 'dist/build.json'), JSON.stringify({ startedMs: 2000 }));
    assert.equal(staleReason(tree), undefined);
    writeFileSync(join(tree, 'services/x/a.ts'), 'export const edited = 1;\n'); // mtime: now
    assert.equal(staleReason(tree), 'sources changed since dist/ was built');
    // A test file is not an input: editing one does not force a rebuild.
    utimesSync(join(tree, 'services/x/a.ts'), new Date(1000), new Date(1000));
    writeFileSync(join(tree, 'services/x/a.test.ts'), 'export {};\n');
    assert.equal(staleReason(tree), undefined);
    // The build's own files are inputs: a changed freshness check or build rebuilds.
    mkdirSync(join(tree, 'infra'));
    writeFileSync(join(tree, 'infra/fresh.mjs'), '// edited\n');
    assert.equal(staleReason(tree), 'sources changed since dist/ was built');
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});

test("a launcher's check of dist/ stands for the processes it starts, for the build it checked only", async () => {
  interface Freshness {
    CHECKED_ENV: string;
    checkedStamp(root?: string): string | undefined;
    checkedByLauncher(checked: string | undefined, root?: string): boolean;
  }
  const fresh = (await import(join(PROJECT_ROOT, 'infra/fresh.mjs'))) as Freshness;
  await (await buildModule()).build({ quiet: true });
  const stamp = fresh.checkedStamp();
  assert.ok(stamp && fresh.checkedByLauncher(stamp), 'a fresh dist/ is vouched for by its own stamp');

  // A tree whose sources are newer than its dist/, without the build: a start that checks
  // finds it stale and fails to build; a start vouched for this build runs dist/ as it is.
  const tree = mkdtempSync(join(tmpdir(), 'meshless-vouch-'));
  try {
    cpSync(join(PROJECT_ROOT, 'bin'), join(tree, 'bin'), { recursive: true });
    cpSync(join(PROJECT_ROOT, 'dist'), join(tree, 'dist'), { recursive: true });
    cpSync(join(PROJECT_ROOT, 'package.json'), join(tree, 'package.json'));
    mkdirSync(join(tree, 'infra'));
    cpSync(join(PROJECT_ROOT, 'infra/fresh.mjs'), join(tree, 'infra/fresh.mjs'));
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(tree, 'node_modules'));
    mkdirSync(join(tree, 'services/x'), { recursive: true });
    writeFileSync(join(tree, 'services/x/a.ts'), 'export {};\n'); // newer than the build
    assert.equal(fresh.checkedStamp(tree), undefined, 'no stamp for a stale dist/');
    const start = (checked: string | undefined) =>
      run(process.execPath, [join(tree, 'bin/meshless.mjs'), '--help'], {
        env: { ...process.env, MESHLESS_FROM_SOURCE: '0', [fresh.CHECKED_ENV]: checked ?? '' },
      }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const vouched = await start(stamp);
    assert.equal(vouched.code, 0, vouched.stderr);
    assert.match(vouched.stdout, /Manage a Meshless cluster/);
    for (const other of [undefined, String(Number(stamp) - 1), 'yes']) {
      const checked = await start(other);
      assert.notEqual(checked.code, 0, `vouched with ${other}: the start checks for itself`);
      assert.match(checked.stderr, /sources changed since dist\/ was built; building it/);
    }
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});

/** The image's /app: bin/, dist/, package.json and node_modules with the production dependencies only. */
function productionLayout(): string {
  const app = mkdtempSync(join(tmpdir(), 'meshless-app-'));
  cpSync(join(PROJECT_ROOT, 'bin'), join(app, 'bin'), { recursive: true });
  cpSync(join(PROJECT_ROOT, 'dist'), join(app, 'dist'), { recursive: true });
  cpSync(join(PROJECT_ROOT, 'package.json'), join(app, 'package.json'));
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  assert.ok(
    !('tsx' in pkg.dependencies) && !('esbuild' in pkg.dependencies),
    'tsx and esbuild are build tools, not production dependencies',
  );
  // Production dependencies and what they need at run time (their own dependencies, hoisted).
  const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || meta.dev || path.lastIndexOf('node_modules/') !== 0) continue;
    const target = join(PROJECT_ROOT, path);
    mkdirSync(join(app, path, '..'), { recursive: true });
    try {
      symlinkSync(target, join(app, path));
    } catch {
      // optional platform packages that are not installed here
    }
  }
  return app;
}

test('`meshless` runs from dist/ with production dependencies only, and its stack traces name the .ts lines', async () => {
  await (await buildModule()).build({ quiet: true });
  const app = productionLayout();
  try {
    const bin = join(app, 'bin/meshless.mjs');
    const help = await run(process.execPath, [bin, '--help'], { env: { ...process.env, MESHLESS_FROM_SOURCE: '0' } });
    assert.match(help.stdout, /Manage a Meshless cluster/);
    assert.equal(help.stderr, '');
    // A datastore that is not there: the one-line failure, from the compiled code.
    const down = await run(process.execPath, [
      bin,
      '--datastore',
      '127.0.0.1:1',
      '--timeout',
      '300ms',
      'get',
      'nodes',
    ]).catch((err: { code: number; stderr: string }) => err);
    assert.ok('code' in down && down.code === 1, 'get against no datastore exits 1');
    assert.match(down.stderr, /^meshless: .*127\.0\.0\.1:1/);
    assert.equal(down.stderr.trim().split('\n').length, 1);

    // An error thrown inside the bundle: the trace points at services/cli/src/main.ts, through the
    // lazy mapper bin/meshless.mjs installs (bin/source-maps.mjs), not Node's own source maps.
    const script = `const { installLazySourceMaps } = await import(${JSON.stringify(join(app, 'bin/source-maps.mjs'))});
installLazySourceMaps(${JSON.stringify(pathToFileURL(join(app, 'dist/')).href)});
const { run } = await import(${JSON.stringify(join(app, 'dist/services/cli/src/main.js'))});
try { await run(null, null); } catch (err) { console.log(err.stack); }`;
    const trace = await run(process.execPath, ['--input-type=module', '-e', script]);
    assert.match(trace.stdout, /services\/cli\/src\/main\.ts:\d+:\d+/);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});

test('a read-only command loads no telemetry SDK and no logger', async () => {
  await (await buildModule()).build({ quiet: true });
  // What the CLI's entry loads before any command runs: the files reachable from it by static
  // imports (a dynamic import() is what a command's action does when it needs more).
  const entry = join(PROJECT_ROOT, 'dist/services/cli/src/main.js');
  const loaded = staticGraph(entry);
  const packages = new Set(
    [...loaded].flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]!),
    ),
  );
  const externals = new Set(
    [...loaded].flatMap((file) => importsOf(file).filter((s) => !s.startsWith('.') && !s.startsWith('node:'))),
  );
  assert.ok(packages.has('commander'), `the entry bundles commander (found: ${[...packages].join(', ')})`);
  for (const heavy of ['@opentelemetry/sdk-metrics', '@opentelemetry/exporter-prometheus', '@grpc/grpc-js']) {
    assert.ok(!packages.has(heavy), `${heavy} is loaded by every command`);
  }
  // pino is bundled (infra/build.mjs), lmdb is not: neither may come with every command.
  assert.ok(!packages.has('pino'), 'pino is loaded by every command');
  assert.ok(!externals.has('lmdb'), 'lmdb is loaded by every command');
});

test('`meshless --help` and `meshless get` load no YAML parser and no schemas: they come with the commands that use them', async () => {
  await (await buildModule()).build({ quiet: true });
  // --help registers every command: the entry, the command list and their static imports.
  const loaded = new Set([
    ...staticGraph(join(PROJECT_ROOT, 'dist/services/cli/src/main.js')),
    ...chunksHolding('services/cli/src/commands/index.ts').flatMap((c) => [...staticGraph(c)]),
  ]);
  const sources = sourcesOf(loaded);
  assert.ok(sources.has('services/cli/src/commands/get.ts'), 'the graph holds the get command');
  for (const s of sources) {
    assert.ok(!s.includes('node_modules/yaml/'), `every command loads the YAML parser (${s})`);
    assert.ok(!s.startsWith('services/cli/src/load.ts'), `every command loads the manifest loader (${s})`);
    // The kinds' schemas are built when loaded: they come with the commands that validate.
    assert.ok(!s.startsWith('services/shared/resources/validate.ts'), `every command loads the schemas (${s})`);
    assert.ok(!s.startsWith('services/shared/resources/kinds-'), `every command loads the schemas (${s})`);
  }
  // ... and the parser, imported by the command that needs it, works from the bundle: `patch -p`
  // parses its argument (YAML is a superset of JSON) before it reaches for the datastore, so a
  // patch that parses fails on the datastore, one that does not on the parser's own message.
  const parsed = await run(process.execPath, [
    MESHLESS_BIN,
    '--datastore',
    '127.0.0.1:1',
    '--timeout',
    '300ms',
    'patch',
    'ippool',
    'p',
    '-p',
    'spec: {natOutgoing: true}',
  ]).catch((err: { code: number; stderr: string }) => err);
  assert.ok('code' in parsed && parsed.code === 1);
  assert.match(parsed.stderr, /^meshless: .*127\.0\.0\.1:1/);
  const bad = await run(process.execPath, [
    MESHLESS_BIN,
    '--datastore',
    '127.0.0.1:1',
    'patch',
    'ippool',
    'p',
    '-p',
    '{spec: [',
  ]).catch((err: { code: number; stderr: string }) => err);
  assert.ok('code' in bad && bad.code === 1, 'a patch that does not parse exits 1');
  assert.match(bad.stderr, /^meshless: -p: not JSON or YAML: /);
  assert.doesNotMatch(bad.stderr, /is not a function/);
});

test('the datastore client (`meshless get`, `apply`) and the CNI plugin load no OpenTelemetry API while tracing is off', async () => {
  await (await buildModule()).build({ quiet: true });
  const graphs = {
    'the datastore client': chunksHolding('services/shared/datastore-client/client.ts').flatMap((c) => [
      ...staticGraph(c),
    ]),
    'the CNI plugin': [...staticGraph(join(PROJECT_ROOT, 'dist/services/cni/src/main.js'))],
  };
  for (const [what, files] of Object.entries(graphs)) {
    const sources = sourcesOf(files);
    assert.ok(sources.has('services/shared/tracing/active.ts'), `${what} sends the traceparent`);
    for (const s of sources) assert.ok(!s.includes('node_modules/@opentelemetry/'), `${what} loads ${s}`);
  }
});

test('the routing services (agent, reflector) load no OpenTelemetry API while tracing is off', async () => {
  await (await buildModule()).build({ quiet: true });
  // What `meshless agent` and `meshless rr` load before they route: the CLI's entry, the command,
  // the service. Span kinds come from shared/tracing (SPAN_KIND), the API with startTracing.
  const graphs = {
    agent: ['services/cli/src/commands/agent.ts', 'services/agent/src/daemon.ts'],
    reflector: ['services/cli/src/commands/rr.ts', 'services/rr/src/run/datastore.ts'],
  };
  for (const [what, held] of Object.entries(graphs)) {
    const files = [
      ...staticGraph(join(PROJECT_ROOT, 'dist/services/cli/src/main.js')),
      ...held.flatMap((source) => chunksHolding(source).flatMap((c) => [...staticGraph(c)])),
    ];
    const sources = sourcesOf(files);
    for (const source of held) assert.ok(sources.has(source), `the ${what}'s graph holds ${source}`);
    for (const s of sources) assert.ok(!s.includes('node_modules/@opentelemetry/'), `the ${what} loads ${s}`);
  }
});

test('no source starts a pino transport (pino is bundled, and a transport loads files by path)', () => {
  const offenders = ['services', 'infra', 'loadtest'].flatMap((root) =>
    readdirSync(join(PROJECT_ROOT, root), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.includes('node_modules'))
      .map((f) => join(root, f))
      .filter((f) =>
        /\bpino\.transport\(|\btransport:\s*\{\s*target/.test(readFileSync(join(PROJECT_ROOT, f), 'utf8')),
      ),
  );
  assert.deepEqual(offenders, []);
});

test('a service loads only its own graph: the agent no NATS, sync server, YAML or metrics SDK', async () => {
  await (await buildModule()).build({ quiet: true });
  // The barrels are in the form infra/barrels.mjs rewrites; anything else would silently keep
  // the whole barrel in every importer's chunk.
  const barrels = ['services', 'proto', 'infra', 'loadtest'].flatMap((root) =>
    readdirSync(join(PROJECT_ROOT, root), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('index.ts'))
      .map((f) => join(root, f)),
  );
  for (const f of barrels) {
    const text = readFileSync(join(PROJECT_ROOT, f), 'utf8');
    assert.ok(!/^export \*/m.test(text), `${f}: \`export *\` is not followed by infra/barrels.mjs`);
    assert.ok(!/^export\s*\{[^}]*\sas\s[^}]*\}\s*from/m.test(text), `${f}: a renamed re-export is not followed`);
  }
  const chunks = join(PROJECT_ROOT, 'dist/chunks');
  // What `meshless agent` loads: the CLI's entry, its command module, then the agent's own chunk.
  const agent = readdirSync(chunks).find(
    (f) => f.endsWith('.js') && readFileSync(join(chunks, f), 'utf8').includes('\n// services/agent/src/daemon.ts\n'),
  );
  const command = readdirSync(chunks).find(
    (f) =>
      f.endsWith('.js') && readFileSync(join(chunks, f), 'utf8').includes('\n// services/cli/src/commands/agent.ts\n'),
  );
  assert.ok(agent && command, 'the agent and its command are chunks of their own');
  const loaded = new Set([
    ...staticGraph(join(PROJECT_ROOT, 'dist/services/cli/src/main.js')),
    ...staticGraph(join(chunks, command)),
    ...staticGraph(join(chunks, agent)),
  ]);
  const sources = new Set(
    [...loaded].flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/^\/\/ (\S+)$/gm)].map((m) => m[1]!)),
  );
  assert.ok(
    [...sources].some((s) => s.startsWith('services/sync/src/client/')),
    'the agent loads the sync client',
  );
  for (const s of sources) {
    assert.ok(!s.startsWith('services/sync/src/server/'), `the agent loads the sync server (${s})`);
    assert.ok(!s.includes('node_modules/@nats-io/'), `the agent loads NATS (${s})`);
    assert.ok(!s.includes('node_modules/@opentelemetry/exporter-prometheus/node_modules/'), `a second copy: ${s}`);
    assert.ok(!s.includes('node_modules/yaml/'), `the agent loads the YAML parser (${s})`);
    // The metrics SDK comes with the first scrape of /metrics (services/shared/telemetry).
    assert.ok(!s.includes('node_modules/@opentelemetry/sdk-metrics/'), `the agent loads the metrics SDK (${s})`);
  }
});

test('a compiled service serves /metrics: the SDK it imports on the first scrape works from the bundle', async (t) => {
  await (await buildModule()).build({ quiet: true });
  const dir = mkdtempSync(join(tmpdir(), 'meshless-build-metrics-'));
  const port = await freePort();
  // An agent whose sync server is not there keeps retrying, and serves /metrics meanwhile.
  const child = spawn(
    process.execPath,
    [
      MESHLESS_BIN,
      'agent',
      '--node',
      'n1',
      '--sync',
      '127.0.0.1:1',
      '--state-dir',
      dir,
      '--metrics-port',
      String(port),
    ],
    { stdio: 'ignore', env: { ...process.env, MESHLESS_LOG_LEVEL: 'silent' } },
  );
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let text = '';
  await waitFor(
    'the agent /metrics',
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
      text = (await res?.text()) ?? '';
      return res?.status === 200;
    },
    30_000,
  );
  assert.match(text, /^meshless_build_info\{service="agent"/m);
  assert.match(text, /^process_cpu_seconds_total /m);
});

/** The dist/chunks files that hold the given source (esbuild writes `// <source path>` before its code). */
function chunksHolding(source: string): string[] {
  const chunks = join(PROJECT_ROOT, 'dist/chunks');
  return readdirSync(chunks)
    .filter((f) => f.endsWith('.js') && readFileSync(join(chunks, f), 'utf8').includes(`\n// ${source}\n`))
    .map((f) => join(chunks, f));
}

function sourcesOf(files: Iterable<string>): Set<string> {
  return new Set(
    [...files].flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/^\/\/ (\S+)$/gm)].map((m) => m[1]!)),
  );
}

function importsOf(file: string): string[] {
  return [
    ...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s*"([^"]+)"|^import\s*"([^"]+)"/gm),
  ].map((m) => (m[1] ?? m[2])!);
}

function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  const visit = (file: string) => {
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const next = join(file, '..', spec);
      if (seen.has(next)) continue;
      seen.add(next);
      visit(next);
    }
  };
  visit(entry);
  return seen;
}
