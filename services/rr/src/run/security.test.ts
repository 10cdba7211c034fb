// `meshless rr --config rr.yaml` with BGP passwords and GTSM against real BIRD clients, in a
// network namespace: keys come from a key file (relative to rr.yaml) and an environment variable,
// never from the YAML; the reflector listens on its router id because rr.yaml has no `listen`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  birdConfig,
  birdSkipReason,
  createNetns,
  netnsSkipReason,
  poll,
  startBird,
  type BirdHandle,
  type Netns,
} from '../testing/lab.js';
import { loadStandaloneConfig } from '../config/standalone.js';
import { startStandalone, type RrHandle } from './standalone.js';

const skip = netnsSkipReason() ?? birdSkipReason();
const T = 30_000;

describe('standalone reflector: TCP-MD5 and GTSM with BIRD clients', { skip, timeout: 120_000 }, () => {
  let ns: Netns;
  let rr: RrHandle;
  let rrAddr: string;
  let good: BirdHandle;
  let wrong: BirdHandle;
  let goodAddr: string;
  let wrongAddr: string;

  before(async () => {
    ns = await createNetns('rrsec');
    rrAddr = await ns.addAddress();
    goodAddr = await ns.addAddress();
    wrongAddr = await ns.addAddress();
    const dir = mkdtempSync(join(tmpdir(), 'rr-security-'));
    writeFileSync(join(dir, 'rack-a.key'), 'rack-a-secret\n', { mode: 0o600 });
    process.env.MESHLESS_TEST_RACK_B_KEY = 'rack-b-secret';
    const file = join(dir, 'rr.yaml');
    writeFileSync(
      file,
      [
        'asNumber: 65000',
        `routerID: ${rrAddr}`,
        'adminListen: none',
        'peers:',
        `  - { address: ${goodAddr}, asNumber: 65000, rrClient: true, password: { file: rack-a.key }, ttlSecurity: 1 }`,
        `  - { address: ${wrongAddr}, asNumber: 65000, rrClient: true, password: { env: MESHLESS_TEST_RACK_B_KEY } }`,
        'routes:',
        `  - { prefix: 10.77.0.0/24, nextHop: ${rrAddr} }`,
      ].join('\n'),
    );
    const config = loadStandaloneConfig(file);
    delete process.env.MESHLESS_TEST_RACK_B_KEY;
    assert.deepEqual(config.reflector.listen, { address: rrAddr, port: 179 });
    rr = await startStandalone(config, { transport: await ns.transport() });
    const client = (address: string, extra: string, statics: string[]): Promise<BirdHandle> =>
      startBird({
        netns: ns,
        address,
        config: birdConfig({
          routerId: address,
          as: 65000,
          statics,
          neighbors: [{ name: 'refl', address: rrAddr, as: 65000, extra }],
        }),
      });
    good = await client(goodAddr, 'password "rack-a-secret"; multihop 1; ttl security on;', ['10.1.0.0/24']);
    wrong = await client(wrongAddr, 'password "not-rack-b-secret";', ['10.2.0.0/24']);
  });

  after(async () => {
    await rr?.close();
    await good?.stop();
    await wrong?.stop();
    await ns?.destroy();
  });

  it('the client with the right key (and GTSM) peers and gets the originated route', async () => {
    await good.waitForState('refl', 'Established', T);
    await poll(
      '10.77.0.0/24 at the client',
      async () =>
        (await good.routes({ protocol: 'refl' })).some((r) => r.prefix === '10.77.0.0/24') ? true : undefined,
      T,
    );
  });

  it('the client with the wrong key never gets a session, and the reflector says why', async () => {
    await poll(
      'the reflector reports unanswered signed SYNs',
      async () => (rr.reflector.speaker.peer(wrongAddr)?.lastError?.includes('TCP-MD5 is on') ? true : undefined),
      T,
    );
    assert.notEqual((await wrong.protocol('refl')).bgpState, 'Established');
    assert.equal(rr.reflector.speaker.peer(wrongAddr)?.flaps, 0);
  });
});
