// Shared by bin/meshless-cni and bin/meshless-ipam: runs the CNI entry (services/cni/src/main.ts)
// compiled under dist/ (infra/build.mjs), rebuilding it first when it is missing or stale, as
// bin/meshless.mjs does; MESHLESS_FROM_SOURCE=1 runs the TypeScript through tsx instead (about
// 0.5 CPU-s more per call). The exit status is the CNI command's (0 or 1). Nothing but the CNI
// result or error may reach stdout: build messages go to stderr.
const root = new URL('..', import.meta.url);

async function load() {
  if (process.env.MESHLESS_FROM_SOURCE === '1') {
    const { register } = await import('tsx/esm/api');
    register();
    return import(new URL('services/cni/src/main.ts', root).href);
  }
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  if (existsSync(`${fileURLToPath(root)}infra/fresh.mjs`)) {
    const { staleReason } = await import(new URL('infra/fresh.mjs', root).href);
    const why = staleReason();
    if (why) {
      process.stderr.write(`meshless-cni: ${why}; building it\n`);
      const { build } = await import(new URL('infra/build.mjs', root).href);
      await build({ quiet: true });
    }
  }
  return import(new URL('dist/services/cni/src/main.js', root).href);
}

export async function launch(kind) {
  const { main } = await load();
  process.exitCode = await main(kind);
}
