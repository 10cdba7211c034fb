// The CNI plugin run the way a container runtime runs it: the real executables (bin/meshless-cni,
// bin/meshless-ipam, Debian's containernetworking-plugins) executed by name from CNI_PATH inside a
// "node" network namespace, CNI_* in the environment, a conflist's configuration on stdin, pods
// in their own namespaces; a real datastore on a real nats-server. Needs root.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason, type Netns } from '../../testing/index.js';
import type { DatastoreHandle } from '../../datastore/index.js';
import type { DatastoreClient } from '../../shared/datastore-client/index.js';
import { NotFoundError } from '../../shared/errors/index.js';
import { installCni } from './install.js';
import { hostVethName } from './names.js';
import { createCniLab, netnsPath, type CniLab } from './testing/lab.js';
import {
  addList,
  checkList,
  DEBIAN_CNI_DIR,
  delList,
  execPlugin,
  type Attachment,
  type ConfList,
  type Runtime,
} from './testing/runtime.js';
const skip =
  netnsSkipReason() ??
  (existsSync(join(DEBIAN_CNI_DIR, 'tuning'))
    ? undefined
    : 'needs Debian containernetworking-plugins (/usr/lib/cni); infra/install.sh installs it');

const NODE = 'cni-node';

let lab: CniLab;
let client: DatastoreClient;
let node: Netns;
let scratch: string;
let rt: Runtime;
let list: ConfList;
let datastore: DatastoreHandle;
const newPod = () => lab.newPod();

describe('meshless-cni in network namespaces', { skip }, () => {
  before(async () => {
    lab = await createCniLab({ pool: '10.77.0.0/24', blockSize: 28 });
    ({ client, node, scratch, rt, list, datastore } = lab);
  });

  after(async () => {
    await lab?.stop();
  });

  test('ADD wires two Kubernetes pods like Calico, chained with tuning; they reach each other; CHECK; DEL leaves nothing, twice', async () => {
    const specs = [
      { name: 'web-1', ns: 'shop' },
      { name: 'web-2', ns: 'shop' },
    ];
    const attached: { a: Attachment; ns: Netns; result: Record<string, unknown>; ip: string }[] = [];
    for (const s of specs) {
      const ns = await newPod();
      const a: Attachment = {
        containerId: `c0ffee${s.name.replace('-', '')}`,
        netns: netnsPath(ns),
        ifname: 'eth0',
        args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: s.ns, K8S_POD_NAME: s.name, K8S_POD_INFRA_CONTAINER_ID: 'x' },
      };
      const { result, runs } = await addList(rt, list, a);
      assert.ok(result, `ADD failed: ${runs.map((r) => r.stdout + r.stderr).join(' | ')}`);
      const ips = result.ips as { address: string; interface: number }[];
      assert.equal(ips.length, 1);
      assert.match(ips[0]!.address, /^10\.77\.0\.\d+\/32$/);
      attached.push({ a, ns, result, ip: ips[0]!.address.replace('/32', '') });
    }
    const [p1, p2] = attached as [(typeof attached)[0], (typeof attached)[0]];
    const hostVeth = hostVethName('shop.web-1');
    assert.match(hostVeth, /^cali[0-9a-f]{11}$/);
    const interfaces = p1.result.interfaces as { name: string; mac?: string; sandbox?: string }[];
    assert.deepEqual(interfaces[0], { name: hostVeth, mac: 'ee:ee:ee:ee:ee:ee' });
    assert.equal(interfaces[1]!.name, 'eth0');
    assert.equal(interfaces[1]!.sandbox, p1.a.netns);
    assert.deepEqual(p1.result.routes, [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);

    // The container side: the /32, the two routes, the MTU; the tuning plugin ran after us.
    const addr = JSON.parse(await p1.ns.exec('ip', ['-j', 'addr', 'show', 'dev', 'eth0']).then((r) => r.stdout)) as {
      mtu: number;
      address: string;
      addr_info: { local: string; prefixlen: number }[];
    }[];
    assert.equal(addr[0]!.mtu, 1400);
    assert.equal(addr[0]!.address, interfaces[1]!.mac);
    assert.ok(addr[0]!.addr_info.some((x) => x.local === p1.ip && x.prefixlen === 32));
    const routes = (await p1.ns.exec('ip', ['route'])).stdout;
    assert.match(routes, /^default via 169\.254\.1\.1 dev eth0/m);
    assert.match(routes, /^169\.254\.1\.1 dev eth0 scope link/m);
    assert.equal((await p1.ns.exec('sysctl', ['-n', 'net.ipv4.conf.eth0.arp_notify'])).stdout.trim(), '1');
    // The host side: fixed MAC, proxy ARP without delay, the /32 route.
    const host = JSON.parse((await node.exec('ip', ['-j', 'link', 'show', hostVeth])).stdout) as {
      address: string;
      operstate: string;
    }[];
    assert.equal(host[0]!.address, 'ee:ee:ee:ee:ee:ee');
    assert.equal((await node.exec('cat', [`/proc/sys/net/ipv4/conf/${hostVeth}/proxy_arp`])).stdout.trim(), '1');
    assert.equal((await node.exec('cat', [`/proc/sys/net/ipv4/neigh/${hostVeth}/proxy_delay`])).stdout.trim(), '0');
    assert.match(
      (await node.exec('ip', ['route', 'show', 'dev', hostVeth])).stdout,
      new RegExp(`^${p1.ip.replace(/\./g, '\\.')} proto 80 scope link`, 'm'),
      "the host route carries the agent's protocol: the agent owns it",
    );
    // Pod to pod through the node.
    await p1.ns.exec('ping', ['-c', '1', '-W', '5', p2.ip], { timeoutMs: 20_000 });

    // The WorkloadEndpoint, as Calico's CNI writes it.
    const wep = await client.get('WorkloadEndpoint', 'cni--node-k8s-web--1-eth0', 'shop');
    const spec = wep.spec as Record<string, unknown>;
    assert.equal(spec.node, NODE);
    assert.equal(spec.orchestrator, 'k8s');
    assert.equal(spec.pod, 'web-1');
    assert.equal(spec.endpoint, 'eth0');
    assert.equal(spec.containerID, p1.a.containerId);
    assert.equal(spec.interfaceName, hostVeth);
    assert.equal(spec.mac, interfaces[1]!.mac);
    assert.deepEqual(spec.ipNetworks, [`${p1.ip}/32`]);
    assert.deepEqual(spec.profiles, ['kns.shop']);
    assert.equal(wep.metadata.labels?.['projectcalico.org/namespace'], 'shop');
    const block = (await client.list('IPAMBlock')).items.find(
      (b) => (b.spec as { affinity?: string }).affinity === `host:${NODE}`,
    );
    assert.ok(block, 'the node claimed an affine block');

    // CHECK passes, then fails once the pod lost its address.
    for (const r of await checkList(rt, list, p1.a, p1.result)) assert.equal(r.code, 0, r.stdout + r.stderr);
    await p1.ns.exec('ip', ['addr', 'del', `${p1.ip}/32`, 'dev', 'eth0']);
    const bad = await execPlugin(
      rt,
      'CHECK',
      { cniVersion: '1.0.0', name: list.name, ...list.plugins[0], prevResult: p1.result },
      p1.a,
    );
    assert.equal(bad.code, 1);
    assert.equal(bad.json?.code, 103);
    assert.match(String(bad.json?.msg), /eth0 lacks/);

    // DEL: everything goes; DEL again (and with the netns gone) still succeeds.
    for (const p of attached) {
      for (const r of await delList(rt, list, p.a, p.result)) assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    await lab.dropPod(p2.ns);
    for (const p of attached)
      for (const r of await delList(rt, list, p.a, p.result)) assert.equal(r.code, 0, r.stdout + r.stderr);
    await assert.rejects(client.get('WorkloadEndpoint', 'cni--node-k8s-web--1-eth0', 'shop'), NotFoundError);
    assert.deepEqual(await client.handleAddresses(`k8s-pod-network.${p1.a.containerId}`), []);
    assert.equal((await client.list('IPAMHandle')).items.length, 0);
    const links = (await node.exec('ip', ['-o', 'link'])).stdout;
    assert.doesNotMatch(links, /cali/);
    assert.doesNotMatch((await node.exec('ip', ['route'])).stdout, /10\.77\./);
    const log = readFileSync(join(scratch, 'cni.log'), 'utf8');
    assert.match(log, /"msg":"ADD done"/);
    assert.match(log, /"msg":"DEL done"/);
  });

  test('without Kubernetes arguments the endpoint is keyed by the container id; IPv4 from a named pool', async () => {
    const ns = await newPod();
    const a: Attachment = { containerId: 'podman0123456789abcdef', netns: netnsPath(ns), ifname: 'eth1' };
    const conf = {
      ...list,
      plugins: [
        { ...list.plugins[0], ipam: { type: 'meshless-ipam', ipv4_pools: ['10.77.0.0/24'], assign_ipv4: 'true' } },
      ],
    };
    const { result, runs } = await addList(rt, conf, a);
    assert.ok(result, runs.map((r) => r.stdout).join());
    const wep = await client.get('WorkloadEndpoint', 'cni--node-cni-podman0123456789abcdef-eth1', 'default');
    assert.equal((wep.spec as { workload: string }).workload, a.containerId);
    assert.equal((wep.spec as { interfaceName: string }).interfaceName, hostVethName(a.containerId));
    assert.deepEqual((wep.spec as { profiles: string[] }).profiles, ['k8s-pod-network']);
    for (const r of await delList(rt, conf, a, result)) assert.equal(r.code, 0, r.stdout);
  });

  test('errors are CNI error JSON with a non-zero exit, and leave nothing behind', async () => {
    const ns = await newPod();
    const a: Attachment = {
      containerId: 'errcase1',
      netns: netnsPath(ns),
      ifname: 'eth0',
      args: { K8S_POD_NAMESPACE: 'x', K8S_POD_NAME: 'y' },
    };
    const base = { cniVersion: '1.0.0', name: list.name, ...list.plugins[0] };
    const run = (conf: Record<string, unknown>, at: Attachment | undefined = a, command = 'ADD') =>
      execPlugin(rt, command, conf, at);

    let r = await run({ ...base, datastore: '127.0.0.1:1', timeout_seconds: 3 });
    assert.equal(r.code, 1);
    assert.equal(r.json?.code, 11);
    assert.match(String(r.json?.msg), /datastore is unreachable \(127\.0\.0\.1:1\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'never a stack trace');

    r = await run({ ...base, mtu: 'big' });
    assert.deepEqual(
      [r.code, r.json?.code, r.json?.msg],
      [1, 7, 'network configuration: mtu: must be a number, got "big"'],
    );
    r = await run({ ...base, cniVersion: '9.9.9' });
    assert.deepEqual([r.json?.code, r.json?.cniVersion], [1, '9.9.9']);
    r = await run({ ...base, ipam: { type: 'meshless-ipam', ipv4_pools: ['nope'] } });
    assert.equal(r.json?.code, 100);
    assert.match(String(r.json?.msg), /ipv4_pools\[0\]: no IPPool named or with CIDR 'nope'/);
    r = await run(base, { ...a, netns: '/var/run/netns/does-not-exist' });
    assert.deepEqual([r.json?.code, r.json?.msg], [3, 'CNI_NETNS /var/run/netns/does-not-exist does not exist']);
    r = await run(base, { ...a, ifname: 'this-name-is-far-too-long' });
    assert.equal(r.json?.code, 4);
    r = await run(base, a, 'FROB');
    assert.equal(r.json?.code, 4);
    // The interface name is taken inside the container: the wiring fails after the assignment,
    // which is undone.
    await ns.exec('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    r = await run(base);
    assert.equal(r.json?.code, 101, r.stdout);
    assert.deepEqual(
      await client.handleAddresses('k8s-pod-network.errcase1'),
      [],
      'the failed ADD released its address',
    );
    await assert.rejects(client.get('WorkloadEndpoint', 'cni--node-k8s-y-eth0', 'x'), NotFoundError);

    r = await run({ cniVersion: '0.3.1', type: 'meshless-cni' }, undefined, 'VERSION');
    assert.deepEqual(r.json, { cniVersion: '0.3.1', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    r = await run(base, undefined, 'STATUS');
    assert.equal(r.code, 0, r.stdout);
    r = await run({ ...base, datastore: '127.0.0.1:1', timeout_seconds: 2 }, undefined, 'STATUS');
    assert.equal(r.json?.code, 50);
  });

  test('0.3.1 and 0.4.0 configurations get results in their version; IPAM delegated to host-local composes', async () => {
    for (const v of ['0.3.1', '0.4.0']) {
      const ns = await newPod();
      const a: Attachment = { containerId: `legacy${v.replace(/\./g, '')}`, netns: netnsPath(ns), ifname: 'eth0' };
      const conf: ConfList = {
        cniVersion: v,
        name: 'legacy-net',
        plugins: [
          {
            ...list.plugins[0],
            ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/24' }]], dataDir: join(scratch, 'host-local') },
          },
        ],
      };
      const { result, runs } = await addList(rt, conf, a);
      assert.ok(result, runs.map((r) => r.stdout).join());
      assert.equal(result.cniVersion, v);
      const ips = result.ips as { address: string; version: string }[];
      assert.equal(ips[0]!.version, '4');
      assert.match(ips[0]!.address, /^10\.88\.0\.\d+\/24$/);
      for (const r of await delList(rt, conf, a, result)) assert.equal(r.code, 0, r.stdout);
    }
  });

  test('GC (CNI 1.1) removes what the runtime no longer lists, and keeps the rest', async () => {
    const conf = { cniVersion: '1.1.0', name: list.name, ...list.plugins[0] };
    const keep: Attachment = { containerId: 'gckeep', netns: netnsPath(await newPod()), ifname: 'eth0' };
    const gone: Attachment = { containerId: 'gcgone', netns: netnsPath(await newPod()), ifname: 'eth0' };
    for (const a of [keep, gone]) assert.equal((await execPlugin(rt, 'ADD', conf, a)).code, 0);
    const r = await execPlugin(
      rt,
      'GC',
      { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'gckeep', ifname: 'eth0' }] },
      undefined,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await assert.rejects(client.get('WorkloadEndpoint', 'cni--node-cni-gcgone-eth0', 'default'), NotFoundError);
    assert.deepEqual(await client.handleAddresses('k8s-pod-network.gcgone'), []);
    assert.doesNotMatch((await node.exec('ip', ['-o', 'link'])).stdout, new RegExp(hostVethName('gcgone')));
    await client.get('WorkloadEndpoint', 'cni--node-cni-gckeep-eth0', 'default');
    assert.equal((await client.handleAddresses('k8s-pod-network.gckeep')).length, 1);
    assert.equal((await execPlugin(rt, 'DEL', conf, keep)).code, 0);
  });

  test('meshless cni install writes executables that a runtime can run, and the conflist', async () => {
    const binDir = join(scratch, 'bin');
    const confDir = join(scratch, 'net.d');
    const res = installCni({ binDir, confDir, datastore: datastore.address, chain: ['portmap'] });
    assert.deepEqual(res.executables, [join(binDir, 'meshless-cni'), join(binDir, 'meshless-ipam')]);
    const conf = JSON.parse(readFileSync(res.conflist, 'utf8')) as ConfList;
    assert.deepEqual(
      conf.plugins.map((p) => p.type),
      ['meshless-cni', 'portmap'],
    );
    assert.equal(conf.plugins[0]!.datastore, datastore.address);
    for (const type of ['meshless-cni', 'meshless-ipam']) {
      const r = await execPlugin({ path: [binDir] }, 'VERSION', { cniVersion: '1.0.0', type }, undefined);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json?.cniVersion, '1.0.0');
    }
  });
});
