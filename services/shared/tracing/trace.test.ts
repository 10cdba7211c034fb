// One `meshless apply` of a WorkloadEndpoint with the standard OTLP environment yields one trace
// across every hop, in real processes (nats-server, `meshless datastore`, `meshless sync`,
// `meshless agent --dataplane linux` programming a network namespace, `meshless apply`):
//   meshless apply (CLI) → datastore Apply (gRPC metadata) → sync fan-out (the traceparent stored
//   with the KV write) → agent receive (the SyncUpdate's traceparent) → dataplane program
// with the node name and revision on the agent's and the dataplane's spans. The CLI and the sync
// server export http/json, the others http/protobuf, to a receiver that decodes both. The agent
// also reports the change's end-to-end latency (commit → programmed) on /metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { RESOURCES_BUCKET, resourceKey } from '../nats/index.js';
import { MESHLESS_BIN } from '../paths/index.js';
import { insecureSyncArgs } from '../../sync/testing.js';
import {
  freePort,
  httpOk,
  startNatsServer,
  startOtlpReceiver,
  waitFor,
  type NatsServerHandle,
  type OtlpReceiver,
  type ReceivedSpan,
} from '../testing/index.js';

const NODE = 'node-1';
const IFACE = 'calitrace0';
const WEP_NAME = `${NODE}-k8s-traced-eth0`;
const WEP = `apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: ${WEP_NAME}, namespace: default}
spec: {orchestrator: k8s, node: ${NODE}, pod: traced, endpoint: eth0, interfaceName: ${IFACE}, ipNetworks: [10.65.0.5/32]}
`;

/** Network namespaces need root and iproute2; without them the test cannot program a dataplane. */
function netnsSkipReason(): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return 'needs root for a network namespace (the agent programs its dataplane there)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'pipe' });
  } catch {
    return 'needs iproute2 (ip)';
  }
  return undefined;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', resolve),
  );
}

function httpText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

const OTEL_BASE = { OTEL_BSP_SCHEDULE_DELAY: '100' };
const otel = (receiver: OtlpReceiver, protocol: 'http/json' | 'http/protobuf') => ({
  ...OTEL_BASE,
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
});
const describeSpans = (spans: readonly ReceivedSpan[]) => spans.map((s) => `${s.service}/${s.name}`).join(', ');

let receiver: OtlpReceiver;
let nats: NatsServerHandle;
const children: ChildProcess[] = [];
const netns = `mltrace${process.pid}`;
const skip = netnsSkipReason();

function service(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [MESHLESS_BIN, ...args], {
    env: { ...process.env, MESHLESS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

before(async () => {
  receiver = await startOtlpReceiver();
  nats = await startNatsServer();
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all(children.map(exited));
  if (!skip) {
    try {
      execFileSync('ip', ['netns', 'delete', netns], { stdio: 'pipe' });
    } catch {
      // never created
    }
  }
  await nats.stop();
  await receiver.close();
});

test('an apply of a WorkloadEndpoint is one trace: CLI, datastore, sync server, agent, dataplane', {
  skip,
}, async () => {
  execFileSync('ip', ['netns', 'add', netns]);
  execFileSync('ip', ['-n', netns, 'link', 'add', IFACE, 'type', 'veth', 'peer', 'name', `${IFACE}p`]);
  for (const link of [IFACE, `${IFACE}p`]) execFileSync('ip', ['-n', netns, 'link', 'set', link, 'up']);

  const api = `127.0.0.1:${await freePort()}`;
  const sync = `127.0.0.1:${await freePort()}`;
  const [dsMetrics, syncMetrics, agentMetrics] = [await freePort(), await freePort(), await freePort()];
  service(
    ['datastore', '--insecure', '--listen', api, '--nats', nats.url, '--metrics-port', String(dsMetrics)],
    otel(receiver, 'http/protobuf'),
  );
  await waitFor('the datastore', () => httpOk(`http://127.0.0.1:${dsMetrics}/readyz`), 60_000);
  service(
    insecureSyncArgs({ listen: sync, nats: nats.url, stateDir: '', serverId: 'traced', metricsPort: syncMetrics }),
    otel(receiver, 'http/json'),
  );
  await waitFor('the sync server', () => httpOk(`http://127.0.0.1:${syncMetrics}/readyz`), 60_000);
  service(
    [
      'agent',
      '--node',
      NODE,
      '--sync',
      sync,
      '--state-dir',
      '',
      '--dataplane',
      'linux',
      '--netns',
      netns,
      '--metrics-port',
      String(agentMetrics),
    ],
    otel(receiver, 'http/protobuf'),
  );
  await waitFor('the agent in sync', () => httpOk(`http://127.0.0.1:${agentMetrics}/readyz`), 60_000);

  const cli = spawn(process.execPath, [MESHLESS_BIN, '--datastore', api, 'apply', '-f', '-'], {
    env: { ...process.env, ...otel(receiver, 'http/json'), MESHLESS_CREDENTIALS: 'none' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  cli.stdin!.end(WEP);
  assert.equal(await exited(cli), 0);

  await waitFor('the dataplane span', () => receiver.spans.some((s) => s.name === 'dataplane program'), 90_000).catch(
    (err: Error) => {
      throw new Error(`${err.message}; spans so far: ${describeSpans(receiver.spans)}`);
    },
  );
  const one = (service: string, name: string): ReceivedSpan => {
    const found = receiver.spans.filter((s) => s.service === service && s.name === name);
    assert.equal(found.length, 1, `one ${service}/${name} span (spans: ${describeSpans(receiver.spans)})`);
    return found[0]!;
  };
  const root = one('meshless-cli', 'meshless apply');
  const server = one('meshless-datastore', 'datastore Apply');
  const fanout = one('meshless-sync', 'sync fan-out');
  const receive = one('meshless-agent', 'agent receive');
  const program = one('meshless-agent', 'dataplane program');
  assert.match(root.contentType, /json/);
  assert.match(server.contentType, /protobuf/);
  assert.match(fanout.contentType, /json/);
  assert.match(program.contentType, /protobuf/);
  for (const s of [server, fanout, receive, program])
    assert.equal(s.traceId, root.traceId, `${s.service}/${s.name} is in the CLI's trace`);
  assert.equal(server.parentSpanId, root.spanId, "the datastore's span is the CLI span's child");
  assert.equal(server.attributes['rpc.method'], 'Apply');
  const datastoreSpanIds = new Set(
    receiver.spans.filter((s) => s.service === 'meshless-datastore').map((s) => s.spanId),
  );
  assert.ok(datastoreSpanIds.has(fanout.parentSpanId), 'the fan-out continues the context stored with the KV write');
  assert.equal(
    receive.parentSpanId,
    fanout.spanId,
    "the agent's span is the fan-out span's child (the delta carried it)",
  );
  assert.equal(program.parentSpanId, receive.spanId, "the dataplane's span is the agent span's child");

  // The revision is the KV message's sequence; the KV message carries the datastore's context.
  const nc = await connect({ servers: nats.url });
  let revision = '';
  try {
    const jsm = await jetstreamManager(nc);
    const msg = await jsm.streams.getMessage(`KV_${RESOURCES_BUCKET}`, {
      last_by_subj: `$KV.${RESOURCES_BUCKET}.${resourceKey('WorkloadEndpoint', 'default', WEP_NAME)}`,
    });
    assert.ok(msg, 'the WorkloadEndpoint is in the KV');
    assert.match(
      msg.header.get('traceparent'),
      new RegExp(`^00-${root.traceId}-[0-9a-f]{16}-01$`),
      'the KV message carries the trace',
    );
    revision = String(msg.seq);
  } finally {
    await nc.close();
  }
  assert.equal(fanout.attributes['meshless.revision'], revision);
  assert.equal(fanout.attributes['meshless.streams'], '1', 'one stream got the change');
  for (const s of [receive, program]) {
    assert.equal(s.attributes['meshless.node'], NODE, `${s.name} names the node`);
    assert.equal(s.attributes['meshless.revision'], revision, `${s.name} names the revision`);
  }

  // The route is in the namespace, and its latency (commit → programmed) was recorded.
  const routes = execFileSync('ip', ['-n', netns, '-j', 'route', 'show', 'dev', IFACE]).toString();
  assert.ok(
    (JSON.parse(routes) as Array<{ dst: string }>).some((r) => r.dst === '10.65.0.5'),
    `the workload route is programmed (${routes})`,
  );
  const metrics = await httpText(`http://127.0.0.1:${agentMetrics}/metrics`);
  for (const stage of ['received', 'programmed']) {
    const count = new RegExp(
      `^meshless_agent_change_latency_seconds_count\\{[^}]*stage="${stage}"[^}]*\\} (\\d+)`,
      'm',
    ).exec(metrics);
    assert.ok(
      count && Number(count[1]) >= 1,
      `a ${stage} latency was recorded:\n${metrics
        .split('\n')
        .filter((l) => l.includes('change_latency'))
        .join('\n')}`,
    );
  }
});
