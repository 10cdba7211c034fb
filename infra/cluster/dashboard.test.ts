// The web dashboard of the local cluster, in headless Chromium (Debian's `chromium`, driven over
// the DevTools protocol): `npm start` prints its URL; the page shows the nodes with their agents
// in sync, the reflector's BGP session to the BIRD switch, the sync server and the IPAM pool; a
// Node added through the datastore appears without a reload (server-sent events), with its block
// and in the feed of changes. Screenshots go to the test's temp dir (and to
// MESHLESS_DASHBOARD_SCREENSHOT when set: that is how docs/dashboard.png is made).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumMissing, launchChromium, waitFor, type Browser } from '../../services/shared/testing/index.js';
import { createDatastoreClient } from '../../services/shared/datastore-client/index.js';
import { clusterEnv, startCluster, type Cluster } from './testing.js';

const promtoolFound = () => spawnSync('promtool', ['--version']).status === 0;

interface PageView {
  nodes: Array<{ name: string; cells: string[] }>;
  peers: Array<{ address: string; cells: string[] }>;
  sync: string[][];
  pools: string[];
  changes: string[];
  live: string;
  summary: string;
}

// What the page shows, read from its DOM the way a person reads it (cell texts).
const READ_PAGE = `(() => {
  const cells = (tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim());
  return {
    nodes: [...document.querySelectorAll('#nodes tbody tr[data-node]')].map((tr) => ({ name: tr.dataset.node, cells: cells(tr) })),
    peers: [...document.querySelectorAll('#reflectors tr[data-peer]')].map((tr) => ({ address: tr.dataset.peer, cells: cells(tr) })),
    sync: [...document.querySelectorAll('#sync tbody tr')].map(cells),
    pools: [...document.querySelectorAll('#pools [data-pool]')].map((el) => el.textContent),
    changes: [...document.querySelectorAll('#changes li')].map((li) => li.textContent),
    live: document.getElementById('live').textContent,
    summary: document.getElementById('summary').textContent,
  };
})()`;

test('the dashboard of `npm start` shows nodes, agents, sessions, sync, IPAM in Chromium and follows a new node live', {
  skip: chromiumMissing(),
  timeout: 300_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshless-dashboard-'));
  const env = await clusterEnv(dataDir, {
    MESHLESS_AGENTS: 'node-a1,node-a2',
    MESHLESS_REFLECTORS: '1',
    // npm start gives the CLI the admin's credentials there: never in the real user's directory.
    XDG_CONFIG_HOME: join(dataDir, 'user-config'),
  });
  // The cluster serves mutual TLS: this test writes as the admin npm start creates at its start.
  let client: ReturnType<typeof createDatastoreClient> | undefined;
  let cluster: Cluster | undefined;
  let browser: Browser | undefined;
  try {
    cluster = await startCluster(env);
    const address = cluster.datastore;
    // The banner's endpoint lines follow `meshless ready`, maybe in a later chunk.
    const banner = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/)/;
    await waitFor("the ready banner's dashboard URL", () => banner.test(cluster!.output()), 10_000).catch(() =>
      assert.fail(`no dashboard URL in the banner:\n${cluster!.output()}`),
    );
    const url = banner.exec(cluster.output())![1]!;

    browser = await launchChromium();
    const page = await browser.newPage(1440, 900);
    await page.navigate(url);
    const read = () => page.evaluate<PageView>(READ_PAGE);
    let view: PageView | undefined;
    const shows = async (what: string, ok: (v: PageView) => boolean) => {
      await waitFor(what, async () => ok((view = await read())), 60_000, 250).catch((err: Error) => {
        throw new Error(`${err.message}\npage: ${JSON.stringify(view, null, 1)}`);
      });
    };

    const row = (v: PageView, name: string) => v.nodes.find((n) => n.name === name);
    await shows(
      'both agent nodes in sync and the reflector node',
      (v) =>
        ['node-a1', 'node-a2'].every((n) => row(v, n)?.cells[4] === 'in sync') &&
        row(v, 'reflector-0')?.cells[1] === 'reflector',
    );
    for (const n of ['node-a1', 'node-a2']) {
      const cells = row(view!, n)!.cells;
      assert.match(cells[2]!, /^127\.0\.1\.\d+\/32$/, `${n}'s address`);
      assert.match(cells[3]!, /^10\.240\.\d+\.\d+\/26$/, `${n}'s block`);
      assert.equal(cells[6], '0', `${n} has no lag`);
    }
    await shows("the reflector's session to the BIRD switch Established, with the blocks sent", (v) =>
      v.peers.some((p) => p.address === '127.0.0.10' && p.cells[2] === 'Established' && Number(p.cells[5]) >= 2),
    );
    await shows('the sync server with its streams', (v) => v.sync.some((r) => r[0] === 'sync' && Number(r[1]) >= 3));
    assert.ok(
      view!.pools.some((p) => p.includes('local-ipv4-ippool') && p.includes('blocks 2 / 1,024')),
      `the pool with its two blocks: ${view!.pools.join(' | ')}`,
    );
    assert.equal(view!.live, 'live');
    writeFileSync(join(dataDir, 'dashboard-before.png'), await page.screenshot());

    // A node joins: its Node resource, then its block. The page is not reloaded.
    client = createDatastoreClient(address, { credentials: join(dataDir, 'pki', 'admin') });
    await client.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'node-c1' },
      spec: { bgp: { ipv4Address: '127.0.1.9/32' } },
    });
    const { block } = await client.allocateBlock('node-c1');
    const cidr = (block.spec as { cidr: string }).cidr;
    await shows(
      'node-c1 with its block, and the change in the feed',
      (v) => row(v, 'node-c1')?.cells[3] === cidr && v.changes.some((c) => c.includes('Node/node-c1')),
    );
    assert.equal(row(view!, 'node-c1')!.cells[4], 'no agent metrics', 'node-c1 runs no agent');
    await shows("the sync server's fan-out time of the changes", (v) =>
      v.sync.some((r) => r[0] === 'sync' && /^[\d.]+ (µs|ms|s)$/.test(r[4]!) && /^[\d.]+ (µs|ms|s)$/.test(r[5]!)),
    );
    await shows('the switch session exporting the new block too', (v) =>
      v.peers.some((p) => p.address === '127.0.0.10' && Number(p.cells[5]) >= 3),
    );
    assert.equal(
      await page.evaluate<number>("performance.getEntriesByType('navigation').length"),
      1,
      'updated in place, not reloaded',
    );
    // The filter narrows the node table (by name, address or block), and clearing it restores it.
    const filter = (text: string) =>
      page.evaluate<string[]>(
        `(() => { const f = document.getElementById('filter'); f.value = ${JSON.stringify(text)}; f.dispatchEvent(new Event('input')); return [...document.querySelectorAll('#nodes tbody tr[data-node]')].map((tr) => tr.dataset.node); })()`,
      );
    assert.deepEqual(await filter('node-c'), ['node-c1']);
    assert.deepEqual(await filter(cidr), ['node-c1']);
    assert.deepEqual(await filter(''), ['node-a1', 'node-a2', 'node-c1', 'reflector-0']);
    assert.deepEqual(page.errors, [], 'no script error in the page');

    // Its /metrics: IPAM usage per pool for the alert rules (k8s/observability/), well-formed.
    const metrics = await (await fetch(`${url}metrics`)).text();
    assert.match(
      metrics,
      /^meshless_ipam_pool_blocks_allocated\{pool="local-ipv4-ippool",cidr="10\.240\.0\.0\/16"\} 3$/m,
    );
    assert.match(metrics, /^meshless_ipam_pool_blocks\{pool="local-ipv4-ippool",cidr="10\.240\.0\.0\/16"\} 1024$/m);
    assert.match(metrics, /^meshless_dashboard_source_up\{source="rr",target="127\.0\.0\.1:\d+"\} 1$/m);
    if (promtoolFound()) {
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
      assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`);
    }

    const shot = join(dataDir, 'dashboard.png');
    writeFileSync(shot, await page.screenshot());
    if (process.env.MESHLESS_DASHBOARD_SCREENSHOT) copyFileSync(shot, process.env.MESHLESS_DASHBOARD_SCREENSHOT);
  } finally {
    await browser?.close();
    if (cluster && cluster.child.exitCode === null) {
      cluster.child.kill('SIGTERM');
      assert.equal(await cluster.exited, 0);
    }
    client?.close();
    if (!process.env.MESHLESS_KEEP_TEST_DIR) rmSync(dataDir, { recursive: true, force: true });
  }
});
