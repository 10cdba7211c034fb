// Starting the local cluster (`npm start`'s compiled entry) from a test: built first (a no-op when
// dist/ is current), output collected, resolved once it printed `meshless ready`.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface Cluster {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export async function startCluster(env: Record<string, string>): Promise<Cluster> {
  const { build } = (await import(join(root, 'infra/build.mjs'))) as { build(o?: { quiet?: boolean }): Promise<void> };
  await build({ quiet: true }); // a no-op when dist/ is up to date
  // What `npm start` runs: the compiled cluster (infra/test.sh builds dist/ before the tests).
  const child = spawn(process.execPath, ['--enable-source-maps', join(root, 'dist/infra/cluster/main.js')], {
    cwd: root,
    // npm start writes the admin's credentials under the user's configuration directory: a test
    // cluster writes them beside its data instead, never where other tests' CLIs would find them.
    env: { ...process.env, XDG_CONFIG_HOME: join(env.MESHLESS_DATA_DIR ?? root, 'user-config'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 120_000;
  while (!out.includes('meshless ready')) {
    if (child.exitCode !== null) throw new Error(`cluster exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`cluster not ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out, exited };
}
