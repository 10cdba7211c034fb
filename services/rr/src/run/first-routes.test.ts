// What a reflector in datastore mode waits for before its BGP speaker runs: the complete view and
// nothing else. Not the coalescing window of live changes (the first view is derived at once),
// not the datastore's list of the LearnedRoutes it published before (a round trip that only the
// cleanup of leftovers needs: learned-routes.ts). Both used to come before the first UPDATE.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../../shared/log/index.js';
import { createNetns, netnsSkipReason, type Netns } from '../testing/lab.js';
import { res } from '../testing/control-plane.js';
import type { ResourceChange } from '../datastore/model.js';
import type { ResourceSource } from '../datastore/source.js';
import { startDatastoreMode, type DatastoreHandle } from './datastore.js';

const skip = netnsSkipReason();
const log = createLogger('rr-first-routes-test');

/** A source that delivers a complete view at once, as a sync server's snapshot would. */
function viewOf(resources: Array<{ kind: ResourceChange['kind']; name: string; value: object }>): ResourceSource {
  return {
    async start(onChanges) {
      onChanges(
        resources.map((r) => ({ kind: r.kind, name: r.name, value: Buffer.from(JSON.stringify(r.value)) })),
        true,
        7,
      );
    },
    async close() {},
  };
}

/** Resolves with `what` if `promise` settles within `ms`, else with 'still waiting'. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<'still waiting'>((r) => (timer = setTimeout(() => r('still waiting'), ms))),
  ]).finally(() => clearTimeout(timer));
}

describe('a reflector in datastore mode starts BGP as soon as its view is complete', { skip, timeout: 120_000 }, () => {
  let ns: Netns;
  // A datastore that accepts the connection and every request, and never answers one.
  let silent: Http2Server;
  const sessions = new Set<ServerHttp2Session>();
  const handles: DatastoreHandle[] = [];

  before(async () => {
    ns = await createNetns('rrfirst');
    silent = createServer();
    silent.on('stream', () => undefined);
    silent.on('session', (session) => sessions.add(session));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  });

  after(async () => {
    for (const h of handles) await h.close();
    await ns?.destroy();
    for (const session of sessions) session.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  it('neither the coalescing of live changes (60 s here) nor an unanswered LearnedRoute list holds it back', async () => {
    const address = await ns.addAddress();
    const rr = await startDatastoreMode({
      node: 'rr-0',
      syncEndpoints: [],
      source: viewOf([
        { kind: 'BGPConfiguration', name: 'default', value: res('BGPConfiguration', 'default', { asNumber: 64512 }) },
        {
          kind: 'Node',
          name: 'rr-0',
          value: res(
            'Node',
            'rr-0',
            { bgp: { ipv4Address: `${address}/32`, routeReflectorClusterID: '224.0.0.1' } },
            { 'route-reflector': 'true' },
          ),
        },
      ]),
      datastore: `127.0.0.1:${(silent.address() as AddressInfo).port}`,
      coalesceMs: 60_000,
      adminListen: false,
      metricsPort: false,
      transport: await ns.transport(),
      logger: log,
    });
    handles.push(rr);
    // Generous against a start under load, far below the 60 s either wait would have taken.
    assert.equal(await within(rr.ready(), 20_000), undefined, 'the reflector runs its configuration');
    const bgp = await (await ns.transport()).connect({ host: address, port: 179, timeoutMs: 5_000 });
    bgp.destroy();
  });
});
