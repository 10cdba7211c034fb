// The Linux dataplane against a real kernel, in a network namespace this test creates: 1,000
// workload interfaces programmed in one batch, foreign routes left alone, hand-deleted routes
// restored, stale ones removed, borrowed addresses not swallowed by block routes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createNetns, netnsSkipReason, type Netns } from '../../../testing/index.js';
import { runEvery, waitFor } from '../../../shared/testing/index.js';
import { attachDataplane } from './attach.js';
import { blockAffinity, deletion, ipamBlock, workloadEndpoint } from './fixtures.js';
import { createLinuxDataplane, type LinuxDataplane } from './linux-dataplane.js';
import type { ResourceChange } from './view.js';

const execFileAsync = promisify(execFile);
const skip = netnsSkipReason();
const N = 1000;
const NODE = 'node-1';

const wepIp = (i: number): string => `10.70.${i >> 8}.${i & 255}`;

describe('linux dataplane in a network namespace', { skip }, () => {
  let ns: Netns;
  let dp: LinuxDataplane | undefined;
  const ip = async (...args: string[]): Promise<string> => (await execFileAsync('ip', ['-n', ns.name, ...args])).stdout;
  const routes = async (family: 4 | 6, proto: string): Promise<Array<Record<string, unknown>>> =>
    JSON.parse((await ip('-j', `-${family}`, 'route', 'show', 'proto', proto)) || '[]');
  const foreign = async (): Promise<string> =>
    JSON.stringify([await routes(4, 'static'), await routes(4, 'boot'), await routes(6, 'static')]);
  const routeGet = async (address: string): Promise<string> =>
    ip('route', 'get', address).then(
      (o) => o.trim(),
      (e: { stderr?: string }) => `error: ${e.stderr?.trim()}`,
    );
  let foreignBefore = '';

  const changes: ResourceChange[] = [];
  for (let b = 0; b < 16; b++)
    changes.push(ipamBlock(`10.70.${b >> 2}.${(b & 3) * 64}/26`, NODE, b === 15 ? { used: { 58: 'node-2' } } : {}));
  changes.push(ipamBlock('10.70.4.0/26', 'node-2'));
  changes.push(blockAffinity(NODE, 'fd00:70::/122'));
  for (let i = 0; i < N; i++)
    changes.push(
      workloadEndpoint(`pod-${i}`, NODE, `cw${i}`, i === 0 ? [`${wepIp(i)}/32`, 'fd00:70::5/128'] : [`${wepIp(i)}/32`]),
    );
  changes.push(workloadEndpoint('borrower', NODE, 'cb0', ['10.70.4.7/32']));

  before(async () => {
    ns = await createNetns('dp');
    const links: string[] = ['link add up0 type veth peer name up0p', 'link add cb0 type veth peer name cb0p'];
    for (let i = 0; i < N; i++) links.push(`link add cw${i} type veth peer name cp${i}`);
    const ups = ['link set up0 up', 'link set up0p up', 'link set cb0 up', 'link set cb0p up'];
    for (let i = 0; i < N; i++) ups.push(`link set cw${i} up`, `link set cp${i} up`);
    await execFileAsync('sh', ['-c', `printf '%s\\n' "$@" | ip -n ${ns.name} -batch -`, 'sh', ...links, ...ups], {
      maxBuffer: 64 * 1024 * 1024,
    });
    await ip('addr', 'add', '198.18.5.2/24', 'dev', 'up0');
    await ip('route', 'add', 'default', 'via', '198.18.5.1', 'dev', 'up0', 'proto', 'static');
    // Foreign routes: one in our block, one elsewhere, one in the slot a workload wants, one beside it (another metric).
    await ip('route', 'add', '10.70.3.245/32', 'dev', 'up0', 'proto', 'static');
    await ip('route', 'add', '10.99.0.0/24', 'via', '198.18.5.1', 'proto', 'static');
    await ip('route', 'add', `${wepIp(10)}/32`, 'dev', 'up0', 'proto', 'boot');
    await ip('route', 'add', `${wepIp(11)}/32`, 'dev', 'up0', 'proto', 'static', 'metric', '100');
    await ip('-6', 'route', 'add', 'fd00:99::/64', 'dev', 'up0', 'proto', 'static');
    // A route of ours nobody wants any more (left by an earlier run).
    await ip('route', 'add', '10.71.0.1/32', 'dev', 'up0', 'proto', '80');
    foreignBefore = await foreign();
  });

  after(() => runEvery('teardown', [() => dp?.close(), () => ns?.destroy()]));

  test(`${N} endpoints program in one batch; foreign routes and the slot a foreign route holds are left alone`, async (t) => {
    dp = createLinuxDataplane({ node: NODE, netns: ns.name, reconcileIntervalMs: 60_000 });
    dp.replace(changes);
    const r = await dp.start();
    t.diagnostic(
      `measured: first pass, ${r.added} routes added in one ip -batch: write ${r.writeMs.toFixed(1)} ms; read ${r.readMs.toFixed(1)} ms, interface settings ${r.settingsMs.toFixed(1)} ms, whole pass ${r.durationMs.toFixed(1)} ms`,
    );
    assert.deepEqual(r.conflicts, [`${wepIp(10)}/32 (WorkloadEndpoint default/pod-10)`]);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.waitingForInterface, []);
    assert.equal(r.removed, 1, 'the stale route of ours went');
    // 999 workloads (one slot is foreign) + borrower + v6 workload + 16 blocks + v6 block + borrowed hole.
    assert.equal(r.desired, N + 1 + 1 + 16 + 1 + 1);
    assert.equal(r.added, r.desired - 1);
    const v4 = await routes(4, '80');
    const v6 = await routes(6, '80');
    assert.equal(v4.length + v6.length, r.desired - 1);
    assert.deepEqual(
      v4.find((x) => x.dst === wepIp(5)),
      { dst: wepIp(5), dev: 'cw5', scope: 'link', flags: [] },
    );
    assert.ok(v4.some((x) => x.dst === '10.70.0.0/26' && x.type === 'blackhole'));
    assert.ok(!v4.some((x) => x.dst === '10.71.0.1'), 'stale route removed');
    assert.ok(!v4.some((x) => x.dst === '10.70.4.0/26'), "another node's block is the switch's business");
    assert.deepEqual(v6.map((x) => [x.dst, x.type ?? 'unicast', x.dev]).sort(), [
      ['fd00:70::/122', 'blackhole', 'lo'],
      ['fd00:70::5', 'unicast', 'cw0'],
    ]);
    assert.equal(await foreign(), foreignBefore, 'foreign routes are byte for byte what they were');
    const sysctl = async (path: string) => (await ns.exec('cat', [path])).stdout.trim();
    assert.equal(await sysctl('/proc/sys/net/ipv4/conf/cw0/proxy_arp'), '1');
    assert.equal(await sysctl(`/proc/sys/net/ipv4/conf/cw${N - 1}/proxy_arp`), '1');
    assert.equal(await sysctl('/proc/sys/net/ipv4/neigh/cw7/proxy_delay'), '0');
    assert.equal(
      await sysctl('/proc/sys/net/ipv4/conf/up0/proxy_arp'),
      '0',
      "not on interfaces that are not workloads'",
    );
    assert.equal(await sysctl('/proc/sys/net/ipv4/ip_forward'), '1');
  });

  test('longest prefix wins: block routes swallow neither workloads nor borrowed addresses', async () => {
    assert.match(await routeGet(wepIp(5)), /dev cw5 /, 'a workload inside our unreachable block');
    assert.match(await routeGet('10.70.4.7'), /dev cb0 /, "our workload borrowing from node-2's block");
    assert.match(
      await routeGet('10.70.3.250'),
      /via 198\.18\.5\.1 dev up0/,
      "our block's address in use on node-2 goes upstream",
    );
    assert.match(
      await routeGet('10.70.3.240'),
      /error: .*Invalid argument/,
      'an unused address of our block stops here (blackhole: the kernel refuses a lookup)',
    );
    assert.match(await routeGet('10.70.4.8'), /via 198\.18\.5\.1/, "the rest of node-2's block goes to the switch");
  });

  test('a route deleted by hand comes back (kernel monitor), without waiting for the period', async (t) => {
    const t0 = performance.now();
    await ip('route', 'del', `${wepIp(5)}/32`, 'proto', '80');
    await waitFor(
      'route restored',
      async () => (await ip('route', 'show', `${wepIp(5)}/32`, 'proto', '80')).includes('dev cw5'),
      10_000,
    );
    t.diagnostic(`measured: hand-deleted route restored in ${(performance.now() - t0).toFixed(1)} ms`);
    await waitFor('the restore is counted', async () => (dp!.status().last?.restored ?? 0) >= 1, 5000);
  });

  test('deletions and changes in the view are applied; a stale route of ours goes, a foreign one stays', async () => {
    await ip('route', 'add', '10.72.0.1/32', 'dev', 'up0', 'proto', '80');
    dp!.apply([
      deletion(workloadEndpoint(`pod-${N - 1}`, NODE, '', [])),
      workloadEndpoint('pod-1', NODE, `cw${N - 1}`, [`${wepIp(1)}/32`]),
    ]);
    // The change schedules a pass of its own; reconcile() runs one after it in any case.
    const r = await dp!.reconcile();
    assert.deepEqual(
      [r.added, r.replaced, r.removed],
      [0, 1, 2],
      'one pass: the moved endpoint, the deleted one and the stale route',
    );
    assert.deepEqual(
      [(await dp!.reconcile()).replaced, (await dp!.reconcile()).removed],
      [0, 0],
      'the next pass finds nothing left to do',
    );
    const v4 = await routes(4, '80');
    assert.equal(v4.find((x) => x.dst === wepIp(1))?.dev, `cw${N - 1}`, 'moved to its new interface');
    assert.ok(!v4.some((x) => x.dst === wepIp(N - 1)), "the deleted endpoint's route went");
    assert.ok(!v4.some((x) => x.dst === '10.72.0.1'), 'the stale route of ours went');
    assert.equal(await foreign(), foreignBefore);
  });

  test('a workload whose interface appears later is routed when it does', async () => {
    dp!.apply([workloadEndpoint('late', NODE, 'late0', ['10.70.3.233/32'])]);
    await waitFor(
      'pass with the new endpoint',
      async () => dp!.status().last?.waitingForInterface.includes('10.70.3.233/32 dev late0') === true,
      5000,
    );
    await ip('link', 'add', 'late0', 'type', 'veth', 'peer', 'name', 'latep');
    await ip('link', 'set', 'latep', 'up');
    await ip('link', 'set', 'late0', 'up');
    await waitFor(
      'route via the new interface',
      async () => (await ip('route', 'show', '10.70.3.233/32', 'proto', '80')).includes('dev late0'),
      10_000,
    );
    await waitFor(
      'proxy ARP on the new interface',
      async () => (await ns.exec('cat', ['/proc/sys/net/ipv4/conf/late0/proxy_arp'])).stdout.trim() === '1',
      5000,
    );
  });

  test('close() leaves every route; a new instance adopts them without a change', async () => {
    const before = (await routes(4, '80')).length + (await routes(6, '80')).length;
    await dp!.close();
    dp = undefined;
    assert.equal((await routes(4, '80')).length + (await routes(6, '80')).length, before);
    const view = [
      ...changes.filter((c) => c.name !== `pod-${N - 1}` && c.name !== 'pod-1'),
      workloadEndpoint('pod-1', NODE, `cw${N - 1}`, [`${wepIp(1)}/32`]),
      workloadEndpoint('late', NODE, 'late0', ['10.70.3.233/32']),
    ];
    dp = createLinuxDataplane({ node: NODE, netns: ns.name, watchKernel: false });
    dp.replace(view);
    const r = await dp.start();
    assert.deepEqual([r.added, r.replaced, r.removed, r.restored], [0, 0, 0, 0]);
    assert.equal(r.programmed, before);
  });

  test('attached to an agent: nothing is programmed (or removed) before the view is authoritative', async (t) => {
    // Another protocol number: this instance must not see the routes above as its own.
    const other = createLinuxDataplane({ node: 'node-9', netns: ns.name, routeProtocol: 81, watchKernel: false });
    const agent = Object.assign(new EventEmitter(), { revision: 0, keys: () => [] as string[], get: () => undefined });
    const attached = attachDataplane(agent, other);
    t.after(() => attached.close());
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(other.status().started, false);
    await ip('route', 'add', '10.73.0.1/32', 'dev', 'up0', 'proto', '81');
    agent.emit('commit', { revision: 7, updates: [ipamBlock('10.73.0.0/26', 'node-9')] });
    await attached.started;
    const mine = await routes(4, '81');
    assert.deepEqual(
      mine.map((x) => [x.dst, x.type]),
      [['10.73.0.0/26', 'blackhole']],
    );
    assert.ok((await routes(4, '80')).length > N, 'protocol 80 routes untouched');
  });
});

test('bad options are refused with the option named', () => {
  assert.throws(
    () => createLinuxDataplane({ node: 'n', routeProtocol: 2 }),
    /routeProtocol: 2 is not a route protocol we may own/,
  );
  assert.throws(() => createLinuxDataplane({ node: 'n', routeProtocol: 256 }), /routeProtocol/);
  assert.throws(() => createLinuxDataplane({ node: '' }), /node: required/);
  assert.throws(
    () => createLinuxDataplane({ node: 'n', table: 'main; rm' }),
    /table: 'main; rm' is not a routing table/,
  );
});
