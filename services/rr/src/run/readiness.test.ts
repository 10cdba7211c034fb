// /readyz of a reflector in datastore mode: not ready (with the reason) while its node has no BGP
// configuration in the datastore, ready once it reflects. Before, /readyz answered ok from the
// moment the metrics endpoint was up, so a probe sent BGP traffic to a reflector with no config.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../shared/log/index.js';
import type { DatastoreClient } from '../../../shared/datastore-client/index.js';
import { createNetns, netnsSkipReason, poll, type Netns } from '../testing/lab.js';
import { res, startTestControlPlane, type TestControlPlane } from '../testing/control-plane.js';
import { startDatastoreMode, type DatastoreHandle } from './datastore.js';

const skip = netnsSkipReason();
const log = createLogger('rr-readiness-test');

describe('reflector readiness follows its configuration', { skip, timeout: 120_000 }, () => {
  let cp: TestControlPlane;
  let client: DatastoreClient;
  let ns: Netns;
  let rr: DatastoreHandle;

  before(async () => {
    cp = await startTestControlPlane('rr-ready', log);
    client = cp.client;
    ns = await createNetns('rrready');
  });

  after(async () => {
    await rr?.close();
    await ns?.destroy();
    await cp?.stop();
  });

  it('503 with the reason before its Node exists and while its BGP port is taken, 200 once it reflects', async () => {
    rr = await startDatastoreMode({
      node: 'rr-late',
      syncEndpoints: [cp.sync],
      adminListen: false,
      metricsPort: 0,
      transport: await ns.transport(),
      logger: log,
    });
    const readyz = async () => {
      const r = await fetch(`http://127.0.0.1:${rr.metricsPort}/readyz`);
      return { status: r.status, body: (await r.text()).trim() };
    };
    const early = await readyz();
    assert.equal(early.status, 503);
    assert.match(early.body, /^reflector: (waiting for the datastore view|not reflecting: .+)$/);

    // The BGP port taken in the reflector's namespace: the configuration cannot be applied, and
    // /readyz says so until the port is free again (the reflector retries on its own).
    const blocker = await (await ns.transport()).listen({ host: '0.0.0.0', port: 179 });
    const addr = await ns.addAddress();
    await client.apply(res('BGPConfiguration', 'default', { asNumber: 64512 }));
    await client.apply(
      res(
        'Node',
        'rr-late',
        { bgp: { ipv4Address: `${addr}/32`, routeReflectorClusterID: '224.0.0.1' } },
        { 'route-reflector': 'true' },
      ),
    );
    const failed = await poll(
      '/readyz naming the failed apply',
      async () => {
        const r = await readyz();
        return /applying the configuration failed: .*EADDRINUSE/.test(r.body) ? r : undefined;
      },
      30_000,
    );
    assert.equal(failed.status, 503);
    await new Promise<void>((done) => blocker.close(() => done()));
    await rr.ready();
    await poll('/readyz 200', async () => ((await readyz()).status === 200 ? true : undefined), 30_000);
    assert.equal((await readyz()).body, 'ok');
    // Ready means reflecting: the retry built the reflector afresh and its BGP listener is up.
    const bgp = await (await ns.transport()).connect({ host: addr, port: 179, timeoutMs: 5_000 });
    bgp.destroy();
  });
});
