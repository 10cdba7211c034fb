// The CNI plugin speaking mutual TLS to a real TLS datastore: the conflist's `tls: {ca, cert, key}`
// (a `node` certificate for the lab's node) through the real executables (bin/meshless-cni, which
// runs bin/meshless-ipam from CNI_PATH) in a node network namespace. ADD and DEL work; a missing
// file, a certificate of another role or of another node, no `tls` against the TLS datastore, and
// a certificate from another CA each fail with a CNI error that says what is wrong, and leave
// nothing behind. Needs root.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason } from '../../testing/index.js';
import type { DatastoreClient } from '../../shared/datastore-client/index.js';
import { createTestPki, type TestPki } from '../../shared/testing/index.js';
import { createCniLab, netnsPath, type CniLab } from './testing/lab.js';
import { addList, DEBIAN_CNI_DIR, delList, execPlugin, type Attachment } from './testing/runtime.js';
const skip =
  netnsSkipReason() ??
  (existsSync(join(DEBIAN_CNI_DIR, 'tuning'))
    ? undefined
    : 'needs Debian containernetworking-plugins (/usr/lib/cni); infra/install.sh installs it');

let lab: CniLab;
let client: DatastoreClient;
let otherCa: TestPki;

const files = (dir: string) => ({ ca: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') });

describe('meshless-cni over mutual TLS', { skip }, () => {
  before(async () => {
    lab = await createCniLab({ pool: '10.78.0.0/24', blockSize: 28, tls: true });
    client = lab.client;
    otherCa = await createTestPki();
  });

  after(async () => {
    otherCa?.remove();
    await lab?.stop();
  });

  test("ADD and DEL through the real plugin with the node's certificate", async () => {
    const plugin = lab.list.plugins[0]!;
    assert.ok(plugin.tls, 'the lab conflist carries tls');
    const ns = await lab.newPod();
    const a: Attachment = {
      containerId: 'tls0001',
      netns: netnsPath(ns),
      ifname: 'eth0',
      args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'shop', K8S_POD_NAME: 'tls-1' },
    };
    const { result, runs } = await addList(lab.rt, lab.list, a);
    assert.ok(result, `ADD failed: ${runs.map((r) => r.stdout + r.stderr).join(' | ')}`);
    const ip = (result.ips as { address: string }[])[0]!.address;
    assert.match(ip, /^10\.78\.0\.\d+\/32$/);
    assert.equal((await client.handleAddresses('k8s-pod-network.tls0001')).length, 1);
    const wep = await client.get('WorkloadEndpoint', 'cni--node-k8s-tls--1-eth0', 'shop');
    assert.equal((wep.spec as { node: string }).node, lab.nodeName);
    const del = await delList(lab.rt, lab.list, a, result);
    assert.deepEqual(
      del.map((r) => r.code),
      [0, 0],
      del.map((r) => r.stdout + r.stderr).join(' | '),
    );
    assert.deepEqual(await client.handleAddresses('k8s-pod-network.tls0001'), []);
  });

  test('a bad path, a wrong role, no tls, and another CA: clear errors, nothing left behind', async () => {
    const ns = await lab.newPod();
    const a: Attachment = {
      containerId: 'tls0002',
      netns: netnsPath(ns),
      ifname: 'eth0',
      args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'shop', K8S_POD_NAME: 'tls-2' },
    };
    const base: Record<string, unknown> = {
      cniVersion: '1.0.0',
      name: lab.list.name,
      ...lab.list.plugins[0],
      timeout_seconds: 4,
    };
    const good = base.tls as { ca: string; cert: string; key: string };
    const run = (conf: Record<string, unknown>) => execPlugin(lab.rt, 'ADD', conf, a);

    let r = await run({ ...base, tls: { ...good, cert: '/nonexistent/tls.crt' } });
    assert.deepEqual([r.code, r.json?.code], [1, 7], r.stdout);
    assert.equal(r.json?.msg, 'network configuration: tls: /nonexistent/tls.crt: no such file');

    r = await run({ ...base, tls: { ca: good.ca, cert: good.cert } });
    assert.deepEqual(
      [r.json?.code, r.json?.msg],
      [7, 'network configuration: tls.key: must be a file path, got undefined'],
    );

    const reflector = await lab.pki!.issue('reflector', lab.nodeName);
    r = await run({ ...base, tls: files(reflector) });
    assert.equal(r.json?.code, 7);
    assert.match(String(r.json?.msg), /is a 'reflector' certificate; the CNI plugin needs a 'node' one/);

    const otherNode = await lab.pki!.issue('node', 'some-other-node');
    r = await run({ ...base, tls: files(otherNode) });
    assert.deepEqual(
      [r.json?.code, r.json?.msg],
      [
        7,
        `network configuration: tls: ${join(otherNode, 'tls.crt')}: is node 'some-other-node''s certificate, but this node is '${lab.nodeName}' (nodename)`,
      ],
    );

    // Plain text against the TLS datastore: refused by the server, reported as unreachable with why.
    const { tls: _tls, ...plain } = base;
    void _tls;
    r = await run(plain);
    assert.equal(r.json?.code, 11, r.stdout);
    assert.match(
      String(r.json?.msg),
      /datastore is unreachable \(.*\) in plain text \(no tls in the network configuration\)/,
    );

    // A node certificate from another CA: the datastore's certificate is not trusted by it (and its
    // own is not trusted by the datastore); the detail says the TLS handshake failed.
    const stranger = await otherCa.issue('node', lab.nodeName);
    r = await run({ ...base, tls: files(stranger) });
    assert.equal(r.json?.code, 11, r.stdout);
    assert.equal(
      r.json?.msg,
      `the Meshless datastore is unreachable (${lab.datastore.address}) over mutual TLS (certificate ${join(stranger, 'tls.crt')}, CA ${join(stranger, 'ca.crt')})`,
    );
    assert.match(String(r.json?.details), /self-signed certificate in certificate chain/, r.stdout);

    assert.deepEqual(await client.handleAddresses('k8s-pod-network.tls0002'), [], 'no address held');
    assert.equal(
      (await client.list('WorkloadEndpoint', { namespace: 'shop' })).items.filter((w) =>
        (w.metadata as { name: string }).name.includes('tls--2'),
      ).length,
      0,
    );
  });
});
