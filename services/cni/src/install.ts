// `meshless cni install`: what Calico's install-cni init container does. Puts the two executables
// in the runtime's CNI bin directory and writes the network configuration list (conflist) into
// its conf directory, atomically (write to a temporary name, then rename), so a runtime never
// reads half a file.
//
// The executables are small launchers. With the compiled build (dist/, infra/build.mjs; the
// container image ships it) dist/ is copied beside them as meshless-dist/, so the bin directory
// is self-contained (the DaemonSet copies into the host's /opt/cni/bin); without it, they run
// this checkout's bin/cni-launch.mjs (a machine that runs Meshless from a clone). `nodeBinary` is the interpreter of their #! line; with `copyNode` the
// running Node binary is copied beside them as meshless-node, so the host needs no Node.js.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout (or the image's /app): found upwards from this file, sources or a bundle under dist/. */
const REPO = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'cni-launch.mjs'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..', '..', '..');
  }
}

export interface InstallOptions {
  binDir: string;
  confDir: string;
  /** "HOST:PORT[,HOST:PORT]". */
  datastore: string;
  /** Network name (conflist name, handle prefix). */
  name?: string;
  nodename?: string;
  mtu?: number;
  /** Plugins chained after meshless-cni, each with its usual configuration (portmap, tuning, bandwidth). */
  chain?: string[];
  assignIpv6?: boolean;
  logFile?: string;
  confFileName?: string;
  /**
   * The node's credentials directory as the host sees it: written as `tls: {ca, cert, key}` (not
   * read here: the installer may run in a container where the host's path differs).
   */
  tlsDir?: string;
  nodeBinary?: string;
  copyNode?: boolean;
}

export interface InstallResult {
  executables: string[];
  conflist: string;
}

const CHAINABLE: Record<string, Record<string, unknown>> = {
  portmap: { type: 'portmap', snat: true, capabilities: { portMappings: true } },
  tuning: { type: 'tuning', sysctl: {} },
  bandwidth: { type: 'bandwidth', capabilities: { bandwidth: true } },
};

export function conflist(o: InstallOptions): Record<string, unknown> {
  const plugins: Record<string, unknown>[] = [
    {
      type: 'meshless-cni',
      datastore: o.datastore,
      ...(o.nodename ? { nodename: o.nodename } : {}),
      mtu: o.mtu ?? 1500,
      log_file: o.logFile ?? '/var/log/meshless/cni.log',
      log_level: 'info',
      ipam: { type: 'meshless-ipam', assign_ipv4: 'true', assign_ipv6: o.assignIpv6 ? 'true' : 'false' },
      ...(o.tlsDir
        ? {
            tls: {
              ca: posix.join(o.tlsDir, 'ca.crt'),
              cert: posix.join(o.tlsDir, 'tls.crt'),
              key: posix.join(o.tlsDir, 'tls.key'),
            },
          }
        : {}),
    },
  ];
  for (const name of o.chain ?? []) {
    const plugin = CHAINABLE[name];
    if (!plugin) throw new Error(`--chain: '${name}' is not one of ${Object.keys(CHAINABLE).join(', ')}`);
    plugins.push(plugin);
  }
  return { name: o.name ?? 'k8s-pod-network', cniVersion: '1.0.0', plugins };
}

function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.meshless-tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function installCni(o: InstallOptions): InstallResult {
  const list = conflist(o);
  mkdirSync(o.binDir, { recursive: true });
  mkdirSync(o.confDir, { recursive: true });
  let interpreter = o.nodeBinary ?? process.execPath;
  if (o.copyNode) {
    const target = join(o.binDir, 'meshless-node');
    copyFileSync(process.execPath, `${target}.meshless-tmp`);
    chmodSync(`${target}.meshless-tmp`, 0o755);
    renameSync(`${target}.meshless-tmp`, target);
    interpreter = resolve(target);
  }
  // dist/ holds the compiled entry and the chunks it imports.
  const dist = existsSync(join(REPO, 'dist', 'services', 'cni', 'src', 'main.js')) ? join(REPO, 'dist') : undefined;
  let entry: string;
  if (dist) {
    const target = join(o.binDir, 'meshless-dist');
    rmSync(`${target}.meshless-tmp`, { recursive: true, force: true });
    cpSync(dist, `${target}.meshless-tmp`, { recursive: true });
    rmSync(target, { recursive: true, force: true });
    renameSync(`${target}.meshless-tmp`, target);
    entry = './meshless-dist/services/cni/src/main.js';
  } else {
    entry = join(REPO, 'bin', 'cni-launch.mjs');
  }
  const executables: string[] = [];
  for (const [file, kind] of [
    ['meshless-cni', 'cni'],
    ['meshless-ipam', 'ipam'],
  ] as const) {
    // No top-level await: outside a "type": "module" package an extensionless file is CommonJS.
    const launcher = entry.startsWith('./')
      ? `#!${interpreter}\n// Installed by \`meshless cni install\`.\nimport(${JSON.stringify(entry)}).then((m) => m.main('${kind}')).then((code) => { process.exitCode = code; });\n`
      : `#!${interpreter}\n// Installed by \`meshless cni install\` (runs the sources of ${REPO}).\nimport(${JSON.stringify(entry)}).then((m) => m.launch('${kind}'));\n`;
    const path = join(o.binDir, file);
    writeAtomic(path, launcher, 0o755);
    executables.push(path);
  }
  const conf = join(o.confDir, o.confFileName ?? '10-meshless.conflist');
  writeAtomic(conf, JSON.stringify(list, null, 2) + '\n', 0o644);
  return { executables, conflist: conf };
}
