// One `meshless apply` with the standard OTLP environment yields one trace across processes: the
// CLI's root span, the datastore's server span as its child (over gRPC metadata), and the trace
// context written with the change as a `traceparent` header on the KV message (what sync servers
// and reflectors read). Real processes: nats-server, `meshless datastore`, `meshless apply`; the
// datastore exports http/protobuf, the CLI http/json, to a receiver that decodes both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { RESOURCES_BUCKET, resourceKey } from '../nats/index.js';
import { MESHLESS_BIN } from '../paths/index.js';
import { freePort, httpOk, startNatsServer, startOtlpReceiver, waitFor } from '../testing/index.js';

const PROFILE = `apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: traced}
spec: {labelsToApply: {team: tracing}}
`;

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
}

test('an apply is one trace from the CLI through the datastore to the KV write', async () => {
  const receiver = await startOtlpReceiver();
  const nats = await startNatsServer();
  const api = `127.0.0.1:${await freePort()}`;
  const metricsPort = await freePort();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
  const datastore = spawn(process.execPath, [MESHLESS_BIN, 'datastore', '--insecure', '--listen', api, '--nats', nats.url, '--metrics-port', String(metricsPort)], {
    env: { ...process.env, ...otel, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf', MESHLESS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitFor('the datastore', () => httpOk(`http://127.0.0.1:${metricsPort}/readyz`), 60_000);
    const cli = spawn(process.execPath, [MESHLESS_BIN, '--datastore', api, 'apply', '-f', '-'], {
      env: { ...process.env, ...otel, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', MESHLESS_CREDENTIALS: 'none' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    cli.stdin!.end(PROFILE);
    assert.equal(await exited(cli), 0);

    await waitFor('the CLI and datastore spans', () => receiver.spans.some((s) => s.service === 'meshless-datastore' && s.name === 'datastore Apply'), 30_000);
    const root = receiver.spans.find((s) => s.service === 'meshless-cli');
    assert.ok(root, `a CLI span arrived (got ${receiver.spans.map((s) => `${s.service}/${s.name}`).join(', ')})`);
    assert.equal(root.name, 'meshless apply');
    assert.match(root.contentType, /json/);
    const server = receiver.spans.find((s) => s.service === 'meshless-datastore' && s.name === 'datastore Apply')!;
    assert.match(server.contentType, /protobuf/);
    assert.equal(server.traceId, root.traceId, 'one trace');
    assert.equal(server.parentSpanId, root.spanId, "the datastore's span is the CLI span's child");
    assert.equal(server.attributes['rpc.method'], 'Apply');

    // The change carries the trace context for whoever reads it from the KV stream.
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const msg = await jsm.streams.getMessage(`KV_${RESOURCES_BUCKET}`, { last_by_subj: `$KV.${RESOURCES_BUCKET}.${resourceKey('Profile', '', 'traced')}` });
      const traceparent = msg?.header.get('traceparent') ?? '';
      assert.match(traceparent, new RegExp(`^00-${root.traceId}-[0-9a-f]{16}-01$`), 'the KV message carries the trace');
    } finally {
      await nc.close();
    }
  } finally {
    datastore.kill('SIGTERM');
    await exited(datastore);
    await nats.stop();
    await receiver.close();
  }
});
