// A node for CNI tests and the benchmark: a "node" network namespace that reaches a real
// datastore (on a real nats-server, in this process) over a veth to this namespace
// (198.19.0.0/16, RFC 2544 benchmarking space), with a default route (proxy ARP needs one) and
// forwarding on; an IPPool and the Node resource; pods as namespaces of their own. Needs root.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createNetns, type Netns } from '../../../testing/index.js';
import { runDatastore, datastoreConfig, type DatastoreConfig, type DatastoreHandle } from '../../../datastore/index.js';
import { createDatastoreClient, type DatastoreClient } from '../../../shared/datastore-client/index.js';
import { createLogger, type LogDestination } from '../../../shared/log/index.js';
import { createTestPki, startNatsServer, type NatsServerHandle, type TestPki } from '../../../shared/testing/index.js';
import { DEBIAN_CNI_DIR, REPO_BIN, type ConfList, type Runtime } from './runtime.js';

const execFileAsync = promisify(execFile);

export interface CniLab {
  readonly client: DatastoreClient;
  readonly datastore: DatastoreHandle;
  readonly node: Netns;
  readonly nodeName: string;
  readonly rt: Runtime;
  /** meshless-cni + tuning, logging to the scratch directory. */
  readonly list: ConfList;
  readonly scratch: string;
  /** With `tls`: the lab's CA (the datastore serves mutual TLS; the conflist carries a node certificate for nodeName). */
  readonly pki: TestPki | undefined;
  newPod(): Promise<Netns>;
  /** Deletes one pod's namespace now. */
  dropPod(ns: Netns): Promise<void>;
  stop(): Promise<void>;
}

export const netnsPath = (ns: Netns): string => `/var/run/netns/${ns.name}`;

export async function createCniLab(options: {
  pool: string;
  blockSize: number;
  logLevel?: string;
  tls?: boolean;
  /** Where the in-process datastore logs (a benchmark keeps its stdout for its JSON result). */
  logDestination?: LogDestination;
}): Promise<CniLab> {
  const scratch = mkdtempSync(join(tmpdir(), 'meshless-cni-'));
  const cleanups: Array<() => Promise<unknown>> = [async () => rmSync(scratch, { recursive: true, force: true })];
  const pods: Netns[] = [];
  const stop = async () => {
    for (const p of pods.splice(0)) await p.destroy();
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const nats: NatsServerHandle = await startNatsServer();
    cleanups.push(() => nats.stop());
    const node = await createNetns('cn');
    cleanups.push(() => node.destroy());
    const link = `mlc${process.pid % 100000}`;
    const octet = 100 + (process.pid % 150);
    await execFileAsync('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', 'up0', 'netns', node.name]);
    await execFileAsync('ip', ['addr', 'add', `198.19.${octet}.1/30`, 'dev', link]);
    await execFileAsync('ip', ['link', 'set', link, 'up']);
    await node.exec('ip', ['addr', 'add', `198.19.${octet}.2/30`, 'dev', 'up0']);
    await node.exec('ip', ['link', 'set', 'up0', 'up']);
    // Proxy ARP answers for 169.254.1.1 only when the node has a route to it that is not the
    // pod's interface: a real node's default route.
    await node.exec('ip', ['route', 'add', 'default', 'via', `198.19.${octet}.1`]);
    await node.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const nodeName = 'cni-node';
    const pki = options.tls ? await createTestPki() : undefined;
    if (pki) cleanups.push(async () => pki.remove());
    const serverCredentials = pki ? await pki.issue('datastore', 'datastore') : '';
    const adminCredentials = pki ? await pki.issue('admin', 'cni-lab') : undefined;
    const nodeCredentials = pki ? await pki.issue('node', nodeName) : undefined;
    const defaults = Object.fromEntries(
      Object.entries(datastoreConfig).map(([k, v]) => [k, v.default]),
    ) as unknown as DatastoreConfig;
    const datastore = await runDatastore(
      {
        ...defaults,
        listen: `198.19.${octet}.1:0`,
        metricsPort: 0,
        nats: nats.url,
        insecure: !pki,
        credentials: serverCredentials,
      },
      createLogger('cni-lab', {}, options.logDestination ? { destination: options.logDestination } : {}),
    );
    cleanups.push(() => datastore.close());
    const client = createDatastoreClient(datastore.address, adminCredentials ? { credentials: adminCredentials } : {});
    cleanups.push(async () => client.close());
    await client.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'cni-pool' },
      spec: { cidr: options.pool, blockSize: options.blockSize },
    });
    await client.create({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: nodeName }, spec: {} });
    return {
      client,
      datastore,
      node,
      nodeName,
      rt: { path: [REPO_BIN, DEBIAN_CNI_DIR], nodeNetns: node.name },
      list: {
        cniVersion: '1.0.0',
        name: 'k8s-pod-network',
        plugins: [
          {
            type: 'meshless-cni',
            datastore: datastore.address,
            nodename: nodeName,
            mtu: 1400,
            log_file: join(scratch, 'cni.log'),
            log_level: options.logLevel ?? 'debug',
            ipam: { type: 'meshless-ipam' },
            ...(nodeCredentials
              ? {
                  tls: {
                    ca: join(nodeCredentials, 'ca.crt'),
                    cert: join(nodeCredentials, 'tls.crt'),
                    key: join(nodeCredentials, 'tls.key'),
                  },
                }
              : {}),
          },
          { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' } },
        ],
      },
      scratch,
      pki,
      async newPod() {
        const ns = await createNetns('cp');
        pods.push(ns);
        return ns;
      },
      async dropPod(ns) {
        const i = pods.indexOf(ns);
        if (i >= 0) pods.splice(i, 1);
        await ns.destroy();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
