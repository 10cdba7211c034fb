// Shared by bin/meshless-cni and bin/meshless-ipam: runs the CNI entry (services/cni/src/main.ts)
// from the compiled bundle dist/meshless-cni.mjs when it exists (fast start), else from the
// TypeScript sources through tsx. The exit status is the CNI command's (0 or 1).
import { existsSync } from 'node:fs';

export async function launch(kind) {
  const bundle = new URL('../dist/meshless-cni.mjs', import.meta.url);
  let main;
  if (existsSync(bundle)) {
    ({ main } = await import(bundle.href));
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    ({ main } = await import('../services/cni/src/main.ts'));
  }
  process.exitCode = await main(kind);
}
