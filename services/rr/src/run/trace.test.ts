// A reflector's origination carries the trace of the change that caused it into the BGP UPDATE it
// sends: a traced block allocation (the datastore API call) → the sync server's fan-out → the
// reflector's sync client ("agent receive") → "rr originate" → "bgp update-group send", one
// trace, and the route reaches a real BIRD switch. Datastore, sync server and reflector run in
// this process (the reflector's BGP in a network namespace), exporting over OTLP to a receiver.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../shared/log/index.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../../shared/testing/index.js';
import type { DatastoreClient } from '../../../shared/datastore-client/index.js';
import { inSpan, startTracing, type Tracing } from '../../../shared/tracing/index.js';
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
import { res, startTestControlPlane, type TestControlPlane } from '../testing/control-plane.js';
import { startDatastoreMode, type DatastoreHandle } from './datastore.js';

const skip = netnsSkipReason() ?? birdSkipReason();
const T = 30_000;
const log = createLogger('rr-trace-test', undefined);

describe('a traced change reaches the UPDATE the reflector sends', { skip, timeout: 180_000 }, () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let cp: TestControlPlane;
  let client: DatastoreClient;
  let ns: Netns;
  let rr: DatastoreHandle;
  let tor: BirdHandle;

  before(async () => {
    receiver = await startOtlpReceiver();
    // The OTLP exporter reads its endpoint from process.env itself.
    Object.assign(process.env, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    tracing = await startTracing('rr-trace-test');
    cp = await startTestControlPlane('rr-trace', log);
    client = cp.client;
    ns = await createNetns('rrtr');
    const [rrAddr, torAddr] = [await ns.addAddress(), await ns.addAddress()];
    await client.apply(res('BGPConfiguration', 'default', { asNumber: 64512, bindMode: 'NodeIP' }));
    await client.apply(res('IPPool', 'pods', { cidr: '10.245.0.0/16' }));
    await client.apply(
      res(
        'Node',
        'rr-0',
        { bgp: { ipv4Address: `${rrAddr}/32`, routeReflectorClusterID: '224.0.0.1' } },
        { 'route-reflector': 'true' },
      ),
    );
    await client.apply(res('Node', 'node-0', { bgp: { ipv4Address: '198.18.1.1/24' } }));
    await client.apply(
      res('BGPPeer', 'tor', { nodeSelector: 'has(route-reflector)', peerIP: torAddr, asNumber: 65100 }),
    );
    rr = await startDatastoreMode({
      node: 'rr-0',
      syncEndpoints: [cp.sync],
      adminListen: false,
      metricsPort: false,
      transport: await ns.transport(),
      logger: log,
    });
    await rr.ready();
    tor = await startBird({
      netns: ns,
      address: torAddr,
      config: birdConfig({
        routerId: torAddr,
        as: 65100,
        statics: [],
        neighbors: [{ name: 'refl', address: rrAddr, as: 64512 }],
      }),
    });
    await tor.waitForState('refl', 'Established', T);
  });

  after(async () => {
    await tor?.stop();
    await rr?.close();
    await ns?.destroy();
    await cp?.stop();
    await tracing?.shutdown();
    await receiver?.close();
  });

  it('allocate a block: one trace from the API call to the update-group send, and BIRD has the route', async () => {
    let traceId = '';
    const { affinity } = await inSpan('test allocate-block', {}, async (span) => {
      traceId = span.spanContext().traceId;
      return client.allocateBlock('node-0');
    });
    const cidr = (affinity.spec as { cidr: string }).cidr;
    const route = await poll(
      `${cidr} at the switch`,
      async () => (await tor.routes({ protocol: 'refl', prefix: cidr }).catch(() => []))[0],
      T,
    );
    assert.equal(route.attributes['BGP.next_hop'], '198.18.1.1');

    const inTrace = (): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === traceId);
    const names = () =>
      inTrace()
        .map((s) => s.name)
        .join(', ');
    await poll(
      'the update-group send span',
      async () => (inTrace().some((s) => s.name === 'bgp update-group send') ? true : undefined),
      T,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; spans of the trace: ${names()}`);
    });
    const byId = new Map(inTrace().map((s) => [s.spanId, s]));
    const send = inTrace().find((s) => s.name === 'bgp update-group send')!;
    // Walk up from the send to the root: every hop is on the way.
    const chain: string[] = [];
    for (let s: ReceivedSpan | undefined = send; s; s = byId.get(s.parentSpanId)) chain.unshift(s.name);
    const expected = [
      'test allocate-block',
      'datastore AllocateBlock',
      'sync fan-out',
      'agent receive',
      'rr originate',
      'bgp update-group send',
    ];
    assert.deepEqual(
      chain.filter((n) => expected.includes(n)),
      expected,
      `the send descends from every hop (chain: ${chain.join(' → ')}; trace: ${names()})`,
    );
    const originate = inTrace().find((s) => s.name === 'rr originate')!;
    assert.equal(originate.attributes['meshless.node'], 'rr-0');
    assert.match(originate.attributes['meshless.revision'] ?? '', /^\d+$/);
    assert.equal(send.attributes['meshless.members'], '1');
    assert.ok(Number(send.attributes['meshless.prefixes_announced']) >= 1, 'the send announced the block');
  });
});
