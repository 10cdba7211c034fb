#!/usr/bin/env node
// Entry point of the `meshless` command: runs the compiled CLI under dist/ (infra/build.mjs).
// When dist/ is missing or older than the sources (a fresh `npm ci`, an edit, a checkout), it
// rebuilds it first: esbuild takes well under a second, and concurrent starts share one build.
// Where esbuild is not installed (a production install without dev dependencies and without a
// build) it says how to build and exits. MESHLESS_FROM_SOURCE=1 runs the TypeScript sources
// through tsx instead (development: no build step, ~2 CPU-seconds per start).
// Resolution is relative to this file, so it works from any directory.
const root = new URL('..', import.meta.url);

/**
 * lmdb finds its native addon through node-gyp-build-optional-packages, which loads detect-libc to
 * tell a glibc system from a musl one unless LIBC says which: ~10 ms of CPU in every process that
 * opens LMDB. The answer is the ELF interpreter of this Node binary, which is what detect-libc reads
 * first: a 2 KB read here. Nothing is set when it is not clearly one or the other.
 */
async function setLibc() {
  if (process.platform !== 'linux' || process.env.LIBC) return;
  const { openSync, readSync, closeSync } = await import('node:fs');
  try {
    const fd = openSync('/proc/self/exe', 'r');
    const head = Buffer.alloc(2048);
    const n = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const text = head.subarray(0, n).toString('latin1');
    if (text.includes('/ld-musl-')) process.env.LIBC = 'musl';
    else if (text.includes('/ld-linux')) process.env.LIBC = 'glibc';
  } catch {}
}

async function fromSource() {
  const { register } = await import('tsx/esm/api');
  register();
  return import(new URL('services/cli/src/main.ts', root).href);
}

async function compiled() {
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const rootPath = fileURLToPath(root);
  // The container image ships dist/ without infra/ or the sources: nothing to check or build.
  if (existsSync(`${rootPath}infra/fresh.mjs`)) {
    // The check alone: the build and esbuild are imported only when there is something to build.
    // A launcher that checked this very build for us (CHECKED_ENV) spares every child the walk.
    const { staleReason, checkedByLauncher, CHECKED_ENV } = await import(new URL('infra/fresh.mjs', root).href);
    const why = checkedByLauncher(process.env[CHECKED_ENV]) ? undefined : staleReason();
    if (why) {
      try {
        await import('esbuild');
      } catch {
        process.stderr.write(
          `meshless: ${why}, and esbuild is not installed to build it: run \`npm ci && npm run build\` in ${rootPath}\n`,
        );
        process.exit(1);
      }
      process.stderr.write(`meshless: ${why}; building it\n`);
      const { build } = await import(new URL('infra/build.mjs', root).href);
      await build({ quiet: false });
    }
  }
  // Stack traces through the bundles point at the .ts lines (linked source maps) in a service's
  // logs and wherever MESHLESS_DEBUG=1 asks for traces. Mapped when a stack is formatted, not at
  // load (bin/source-maps.mjs): Node's own support parses every loaded bundle's map at start-up
  // (~0.02 CPU-s of a service's start measured, ~50 ms of a `meshless get` before), for processes
  // that mostly never format a stack.
  const { installLazySourceMaps } = await import('./source-maps.mjs');
  installLazySourceMaps(new URL('dist/', root).href);
  return import(new URL('dist/services/cli/src/main.js', root).href);
}

await setLibc();
const { main } = process.env.MESHLESS_FROM_SOURCE === '1' ? await fromSource() : await compiled();
await main(process.argv);
