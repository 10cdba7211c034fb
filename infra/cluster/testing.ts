// Starting the local cluster (`npm start`'s compiled entry) from a test: built first (a no-op when
// dist/ is current), output collected, resolved once it printed `meshless ready`.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../services/shared/testing/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface Cluster {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** The datastore's address, as the cluster printed it once ready. */
  datastore: string;
}

/**
 * The environment of a test cluster in `dataDir`: every port a free one, logs at info; `extra`
 * adds or overrides (MESHLESS_AGENTS, MESHLESS_REFLECTORS, ...). NATS, the datastore and the sync
 * server get port 0: the cluster picks their ports and picks again when one is taken before its
 * service binds it (a port picked here would be bound only seconds later, by then maybe another
 * test's). The datastore's address is the started Cluster's `datastore`. The other ports are the
 * cluster's first choice; it takes another when one is taken.
 */
export async function clusterEnv(dataDir: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    MESHLESS_DATA_DIR: dataDir,
    MESHLESS_NATS_PORT: '0',
    MESHLESS_DATASTORE_LISTEN: '127.0.0.1:0',
    MESHLESS_SYNC_LISTEN: '127.0.0.1:0',
    MESHLESS_METRICS_BASE_PORT: String(await freePort()),
    MESHLESS_DASHBOARD_PORT: String(await freePort()),
    MESHLESS_BGP_PORT: String(await freePort()),
    MESHLESS_SWITCH_PORT: String(await freePort()),
    MESHLESS_RR_ADMIN_BASE_PORT: String(await freePort()),
    MESHLESS_LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Starts the cluster; `onOutput` sees the output so far each time it grows (tests that race it). */
export async function startCluster(env: Record<string, string>, onOutput?: (out: string) => void): Promise<Cluster> {
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
  child.stdout!.on('data', (d) => {
    out += d;
    onOutput?.(out);
  });
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 120_000;
  // The endpoints are printed after `meshless ready`, possibly in a later chunk of output.
  const datastoreLine = () => (out.includes('meshless ready') ? /^\s+datastore\s+(\S+)/m.exec(out)?.[1] : undefined);
  try {
    while (!datastoreLine()) {
      if (child.exitCode !== null) throw new Error(`cluster exited early:\n${out}`);
      if (Date.now() > deadline)
        throw new Error(
          `cluster not ready${out.includes('meshless ready') ? ' (printed no datastore address)' : ''}:\n${out}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    // The caller gets no handle to stop it: a cluster left running keeps the test file alive to
    // the runner's timeout. SIGTERM lets it stop its services; SIGKILL if it does not.
    child.kill('SIGTERM');
    const gone = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 30_000))]);
    if (!gone) child.kill('SIGKILL');
    throw err;
  }
  const datastore = datastoreLine()!;
  return { child, output: () => out, exited, datastore };
}
