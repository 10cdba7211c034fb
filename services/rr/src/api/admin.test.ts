// The admin API and `meshless bgp` against a reflector peering with real BIRD clients.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../../shared/log/index.js';
import { InvalidArgumentError, NotFoundError } from '../../../shared/errors/index.js';
import {
  birdConfig,
  birdSkipReason,
  createNetns,
  netnsSkipReason,
  peer,
  poll,
  reflectorSettings,
  startBird,
  startReflector,
  type BirdHandle,
  type Netns,
} from '../testing/lab.js';
import { startAdminServer, type AdminServer } from './admin-server.js';
import { createRrAdminClient, type RrAdminClient } from './admin-client.js';
import type { Reflector } from '../reflector/reflector.js';

const execFileAsync = promisify(execFile);
const skip = netnsSkipReason() ?? birdSkipReason();
const T = 30_000;
const MESHLESS = fileURLToPath(new URL('../../../../bin/meshless.mjs', import.meta.url));

describe('admin API and meshless bgp', { skip, timeout: 120_000 }, () => {
  let ns: Netns;
  let rr: Reflector;
  let admin: AdminServer;
  let client: RrAdminClient;
  let a: BirdHandle;
  let b: BirdHandle;
  let addr: { rr: string; a: string; b: string };

  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await execFileAsync(process.execPath, [MESHLESS, ...args, '--rr', admin.address], {
        env: { ...process.env, MESHLESS_LOG_LEVEL: 'silent', MESHLESS_CREDENTIALS: 'none' },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  before(async () => {
    ns = await createNetns('rradmin');
    addr = { rr: await ns.addAddress(), a: await ns.addAddress(), b: await ns.addAddress() };
    rr = await startReflector(
      ns,
      reflectorSettings(addr.rr),
      [peer(addr.a), peer(addr.b, { description: 'rack b' })],
      [{ prefix: '192.0.2.0/24', communities: ['65000:7'] }],
    );
    admin = await startAdminServer('127.0.0.1:0', () => rr, createLogger('rr-admin-test'));
    client = createRrAdminClient(admin.address);
    const neighbors = [{ name: 'refl', address: addr.rr, as: 65000 }];
    a = await startBird({
      netns: ns,
      address: addr.a,
      config: birdConfig({ routerId: addr.a, as: 65000, statics: ['10.1.0.0/26', '10.9.0.0/24'], neighbors }),
    });
    b = await startBird({
      netns: ns,
      address: addr.b,
      config: birdConfig({ routerId: addr.b, as: 65000, statics: ['10.9.0.0/24'], neighbors }),
    });
    await a.waitForState('refl', 'Established', T);
    await b.waitForState('refl', 'Established', T);
    await poll('routes in', async () => (rr.rib.routeCount === 4 ? true : undefined), T);
  });

  after(async () => {
    client?.close();
    await admin?.close();
    await a?.stop();
    await b?.stop();
    await rr?.close();
    await ns?.destroy();
  });

  it('status and peers', async () => {
    const s = await client.status();
    assert.deepEqual(
      [s.asNumber, s.routerId, s.clusterId, s.restarting, s.prefixes, s.paths],
      [65000, addr.rr, addr.rr, false, 3, 4],
    );
    const { peers } = await client.peers();
    const pa = peers.find((p) => p.address === addr.a)!;
    assert.deepEqual([pa.type, pa.state, pa.prefixesAccepted, pa.routerId], ['iBGP client', 'Established', 2, addr.a]);
    assert.ok(pa.establishedAtMs > 0);
    assert.deepEqual(pa.families, ['ipv4-unicast', 'ipv6-unicast']);
    assert.equal(peers.find((p) => p.address === addr.b)!.description, 'rack b');
    // a is the best source of 10.1.0.0/26 and 10.9.0.0/24 and gets only 192.0.2.0/24; b gets all three.
    const sent = async () => (await client.peers()).peers.map((p) => p.prefixesSent);
    await poll('exported counts', async () => (JSON.stringify(await sent()) === '[1,3]' ? true : undefined), T);
  });

  it('routes: one prefix with every path, best first; longer; all', async () => {
    const one = await client.routes({ prefix: '10.9.0.0/24' });
    assert.equal(one.matched, 1);
    const paths = one.prefixes[0]!.paths;
    assert.deepEqual(
      paths.map((p) => [p.peer, p.best]),
      [
        [addr.a, true],
        [addr.b, false],
      ],
    );
    const local = (await client.routes({ prefix: '192.0.2.0/24' })).prefixes[0]!.paths[0]!;
    assert.deepEqual([local.source, local.peer, local.nextHop, local.communities], ['local', '', addr.rr, ['65000:7']]);
    const inside = await client.routes({ prefix: '10.0.0.0/8', longer: true });
    assert.deepEqual(
      inside.prefixes.map((p) => p.prefix),
      ['10.1.0.0/26', '10.9.0.0/24'],
    );
    const limited = await client.routes({ limit: 2 });
    assert.deepEqual([limited.matched, limited.prefixes.length, limited.truncated], [3, 2, true]);
    assert.equal((await client.routes({ prefix: '10.77.0.0/24' })).matched, 0);
  });

  it('bad requests name the field; unknown peers are NOT_FOUND', async () => {
    await assert.rejects(
      client.routes({ prefix: '10.0.0.1/24' }),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === 'prefix',
    );
    await assert.rejects(client.reset('10.99.99.99'), (e: unknown) => e instanceof NotFoundError);
    await assert.rejects(
      client.reset('nonsense'),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === 'address',
    );
    await assert.rejects(
      client.shutdown(addr.a, 'x'.repeat(256)),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === 'message',
    );
  });

  it('meshless bgp peers / routes print the tables', async () => {
    const peers = await cli('bgp', 'peers');
    assert.equal(peers.code, 0, peers.stderr);
    assert.match(peers.stdout, /\| PEER ADDRESS \|\s+PEER TYPE\s+\| STATE \|/);
    assert.match(peers.stdout, new RegExp(`\\| ${addr.a.replaceAll('.', '\\.')} +\\| iBGP client \\| up +\\|`));
    const routes = await cli('bgp', 'routes', '10.9.0.0/24');
    assert.equal(routes.code, 0, routes.stderr);
    assert.match(routes.stdout, /^Table master \(AS 65000/);
    assert.match(
      routes.stdout,
      new RegExp(
        `10\\.9\\.0\\.0/24 +via ${addr.a.replaceAll('.', '\\.')} from ${addr.a.replaceAll('.', '\\.')} \\[iBGP client\\] \\*`,
      ),
    );
    assert.match(routes.stdout, /\tBGP\.local_pref: 100\n/);
    const missing = await cli('bgp', 'routes', '10.77.0.0/24');
    assert.deepEqual([missing.code, missing.stderr], [1, 'meshless: no route for 10.77.0.0/24\n']);
    const bad = await cli('bgp', 'peer', 'reset', '10.99.99.99');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^meshless: peer 10\.99\.99\.99 is not configured\n$/);
  });

  it('peer shutdown with an RFC 9003 message, then enable; reset', async () => {
    const down = await cli('bgp', 'peer', 'shutdown', addr.b, '--message', 'moving the ToR');
    assert.equal(down.code, 0, down.stderr);
    const p = await poll(
      'b sees the shutdown',
      async () => {
        const s = await b.protocol('refl');
        return /Administrative shutdown/i.test(s.lastError ?? '') ? s : undefined;
      },
      T,
    );
    assert.equal(p.fields.Message, 'moving the ToR', 'BIRD shows our RFC 9003 shutdown communication');
    await poll(
      'b stays down at the reflector',
      async () => ((await client.peers()).peers.find((x) => x.address === addr.b)!.state === 'Idle' ? true : undefined),
      T,
    );
    assert.equal((await client.routes({ prefix: '10.9.0.0/24' })).prefixes[0]!.paths.length, 1, "b's path is gone");
    assert.equal((await cli('bgp', 'peer', 'enable', addr.b)).code, 0);
    await b.waitForState('refl', 'Established', T);
    const before = (await client.peers()).peers.find((x) => x.address === addr.a)!.flaps;
    assert.equal((await cli('bgp', 'peer', 'reset', addr.a, '--message', 'maintenance')).code, 0);
    await poll(
      'a reset and back',
      async () => {
        const x = (await client.peers()).peers.find((y) => y.address === addr.a)!;
        return x.flaps > before && x.state === 'Established' ? true : undefined;
      },
      T,
    );
  });
});
