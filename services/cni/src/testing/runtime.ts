// A container runtime's side of CNI, for tests and the benchmark: what libcni does for a network
// configuration list. ADD runs each plugin in order with {cniVersion, name} of the list, the
// plugin's own keys and the previous plugin's result as prevResult; DEL runs them in reverse with
// the final result as prevResult; CHECK in order with it. Plugins are found by `type` in CNI_PATH
// and executed (optionally inside a "node" namespace: `ip netns exec`) with CNI_* in the
// environment and the configuration on stdin.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's bin/ (found upwards from this file: the sources or a bundle under dist/). */
export const REPO_BIN = findBin(dirname(fileURLToPath(import.meta.url)));

function findBin(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'meshless-cni'))) return join(dir, 'bin');
    if (dirname(dir) === dir) throw new Error(`bin/meshless-cni not found above ${from}`);
  }
}
/** Debian's containernetworking-plugins. */
export const DEBIAN_CNI_DIR = '/usr/lib/cni';

export interface Attachment {
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs (K8S_POD_NAMESPACE, ...). */
  args?: Record<string, string>;
}

export interface Runtime {
  /** Directories searched for plugins (CNI_PATH). */
  path: string[];
  /** Run plugins inside this namespace (the "node"); undefined = this process's. */
  nodeNetns?: string;
  env?: NodeJS.ProcessEnv;
}

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json: Record<string, unknown> | undefined;
  /** Wall time of the execution, ms. */
  ms: number;
}

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

export function execPlugin(
  rt: Runtime,
  command: string,
  conf: Record<string, unknown>,
  a: Attachment | undefined,
): Promise<PluginRun> {
  const type = String(conf.type);
  const file = rt.path.map((p) => join(p, type)).find((p) => existsSync(p));
  if (!file) throw new Error(`plugin ${type} not found in ${rt.path.join(':')}`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ...rt.env,
    CNI_COMMAND: command,
    CNI_PATH: rt.path.join(':'),
    ...(a
      ? {
          CNI_CONTAINERID: a.containerId,
          CNI_NETNS: a.netns,
          CNI_IFNAME: a.ifname,
          CNI_ARGS: Object.entries(a.args ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(';'),
        }
      : {}),
  };
  const [cmd, args] = rt.nodeNetns ? ['ip', ['netns', 'exec', rt.nodeNetns, file]] : [file, []];
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, args as string[], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? 1, stdout, stderr, json, ms: Number(process.hrtime.bigint() - started) / 1e6 });
    });
    child.stdin.end(JSON.stringify(conf));
  });
}

function pluginConf(list: ConfList, plugin: Record<string, unknown>, prevResult: unknown): Record<string, unknown> {
  return {
    cniVersion: list.cniVersion,
    name: list.name,
    ...plugin,
    ...(prevResult === undefined ? {} : { prevResult }),
  };
}

/** ADD through the list; the first failure stops it (and is returned). */
export async function addList(
  rt: Runtime,
  list: ConfList,
  a: Attachment,
): Promise<{ result: Record<string, unknown> | undefined; runs: PluginRun[] }> {
  let prev: unknown;
  const runs: PluginRun[] = [];
  for (const p of list.plugins) {
    const r = await execPlugin(rt, 'ADD', pluginConf(list, p, prev), a);
    runs.push(r);
    if (r.code !== 0) return { result: undefined, runs };
    prev = r.json;
  }
  return { result: prev as Record<string, unknown>, runs };
}

/** DEL through the list in reverse; every plugin runs even when one fails (libcni stops; we report all). */
export async function delList(rt: Runtime, list: ConfList, a: Attachment, prevResult?: unknown): Promise<PluginRun[]> {
  const runs: PluginRun[] = [];
  for (const p of [...list.plugins].reverse())
    runs.push(await execPlugin(rt, 'DEL', pluginConf(list, p, prevResult), a));
  return runs;
}

export async function checkList(rt: Runtime, list: ConfList, a: Attachment, prevResult: unknown): Promise<PluginRun[]> {
  const runs: PluginRun[] = [];
  for (const p of list.plugins) runs.push(await execPlugin(rt, 'CHECK', pluginConf(list, p, prevResult), a));
  return runs;
}
