// The service as a whole: health and metrics endpoints, and data surviving restarts of
// nats-server (killed with SIGKILL) and of the datastore service; a watch rides out the NATS restart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { MESHLESS_BIN } from '../../shared/paths/index.js';
import { after, before, test } from 'node:test';
import { UnavailableError } from '../../shared/errors/index.js';
import { createDatastoreClient, type WatchEvent } from '../../shared/datastore-client/index.js';
import { createLogger } from '../../shared/log/index.js';
import { freePort, startNatsServer, waitFor } from '../../shared/testing/index.js';
import { runDatastore } from './run.js';
import { FIXTURES, startTestDatastore, testConfig, type TestDatastore } from './testing/index.js';

let t: TestDatastore;
before(async () => {
  t = await startTestDatastore();
});
after(async () => {
  await t.stop();
});

const http = async (path: string) => {
  const res = await fetch(`http://127.0.0.1:${t.datastore.metricsPort}${path}`);
  return { status: res.status, body: await res.text() };
};

test('health and metrics endpoints', async () => {
  assert.equal((await http('/livez')).status, 200);
  assert.equal((await http('/readyz')).status, 200);
  await t.client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Profile',
    metadata: { name: 'metered' },
    spec: {},
  });
  await t.client.get('Profile', 'nope').catch(() => undefined);
  const metrics = (await http('/metrics')).body;
  assert.match(metrics, /meshless_datastore_requests_total\{[^}]*method="Create"[^}]*code="OK"[^}]*\} 1/);
  assert.match(metrics, /meshless_datastore_requests_total\{[^}]*method="Get"[^}]*code="NOT_FOUND"[^}]*\} 1/);
  assert.match(metrics, /^meshless_datastore_revision [1-9]/m);
  assert.match(metrics, /^meshless_datastore_compacted_revision \d+/m);
});

test('data survives a killed nats-server and a datastore restart; a watch resumes across the NATS restart', async () => {
  const written = [];
  for (const f of FIXTURES) written.push((await t.client.apply(f)).resource);

  const events: WatchEvent[] = [];
  const watching = (async () => {
    for await (const e of t.client.watch({
      revision: Number(written.at(-1)!.metadata.resourceVersion),
      kinds: ['Profile'],
    })) {
      events.push(e);
      if (e.type === 'put' && e.name === 'after-nats-restart') return;
    }
  })();
  await waitFor('the watch to be in sync', () => events.some((e) => e.type === 'in-sync'));

  await t.nats.restart(true);
  await waitFor('readiness after the NATS restart', async () => (await http('/readyz')).status === 200, 20_000);
  for (const r of written) {
    const got = await t.client.get(r.kind, r.metadata.name, r.metadata.namespace);
    assert.deepEqual(got, r, `${r.kind} ${r.metadata.name} after the NATS restart`);
  }
  await t.client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Profile',
    metadata: { name: 'after-nats-restart' },
    spec: {},
  });
  await watching;
  assert.equal(events.filter((e) => e.type === 'in-sync').length, 1);

  await t.restartDatastore();
  for (const r of written) {
    const got = await t.client.get(r.kind, r.metadata.name, r.metadata.namespace);
    assert.deepEqual(got, r, `${r.kind} ${r.metadata.name} after the datastore restart`);
  }
  const profiles = await t.client.list('Profile');
  assert.ok(profiles.items.some((p) => p.metadata.name === 'after-nats-restart'));
});

test('while NATS is down: not ready, requests fail with UNAVAILABLE; afterwards everything works', async () => {
  // A NATS of its own, with a store directory this test owns, so it can be stopped and started
  // again on the same port and data.
  const storeDir = mkdtempSync(join(tmpdir(), 'meshless-ds-test-'));
  let nats = await startNatsServer({ storeDir });
  const port = nats.port;
  const datastore = await runDatastore(testConfig(nats.url), createLogger('datastore-test'));
  const client = createDatastoreClient(datastore.address, { deadlineMs: 30_000 });
  const ready = async () => (await fetch(`http://127.0.0.1:${datastore.metricsPort}/readyz`)).status;
  try {
    await client.create({ apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'kept' }, spec: {} });
    await nats.stop();
    await waitFor('readiness to drop', async () => (await ready()) === 503, 10_000);
    await assert.rejects(client.get('Profile', 'kept'), (e: unknown) => {
      assert.ok(e instanceof UnavailableError, String(e));
      assert.match(e.message, /NATS is unavailable/);
      return true;
    });
    nats = await startNatsServer({ storeDir, port });
    await waitFor('readiness after NATS came back', async () => (await ready()) === 200, 20_000);
    assert.equal((await client.get('Profile', 'kept')).metadata.name, 'kept');
  } finally {
    client.close();
    await datastore.close();
    await nats.stop();
    rmSync(storeDir, { recursive: true, force: true });
  }
});

test('a NATS that keeps its connections but answers nothing (SIGSTOP): /readyz fails with the KV probe reason, then recovers', async () => {
  const nats = await startNatsServer();
  const datastore = await runDatastore(
    testConfig(nats.url, { kvProbeInterval: 200, kvProbeDeadline: 500 }),
    createLogger('datastore-test'),
  );
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${datastore.metricsPort}/readyz`);
    return { status: res.status, body: await res.text() };
  };
  try {
    await waitFor('ready', async () => (await readyz()).status === 200, 10_000);
    nats.signal('SIGSTOP');
    // The client connection stays up (no disconnect is seen for minutes): only the probe notices.
    await waitFor('the KV probe to fail', async () => (await readyz()).status === 503, 10_000);
    assert.match((await readyz()).body, /kv.*(did not answer a write and a read within 500 ms|NATS is unavailable)/s);
    nats.signal('SIGCONT');
    await waitFor('ready again without a restart', async () => (await readyz()).status === 200, 20_000);
  } finally {
    nats.signal('SIGCONT');
    await datastore.close();
    await nats.stop();
  }
});

test('`meshless datastore` (the compiled build) serves with MESHLESS_* configuration and exits 0 on SIGTERM', async () => {
  const metricsPort = await freePort();
  const apiPort = await freePort();
  const child = spawn(process.execPath, [MESHLESS_BIN, 'datastore'], {
    env: {
      ...process.env,
      MESHLESS_NATS: t.nats.url,
      MESHLESS_LISTEN: `127.0.0.1:${apiPort}`,
      MESHLESS_METRICS_PORT: String(metricsPort),
      MESHLESS_LOG_LEVEL: 'silent',
      MESHLESS_INSECURE: 'true',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(
      'the standalone datastore to be ready',
      async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200,
      30_000,
    );
    const client = createDatastoreClient(`127.0.0.1:${apiPort}`);
    try {
      assert.equal((await client.get('Profile', 'metered')).metadata.name, 'metered');
    } finally {
      client.close();
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    child.kill('SIGKILL');
  }

  const bad = spawn(process.execPath, [MESHLESS_BIN, 'datastore'], {
    env: { ...process.env, MESHLESS_LISTEN: 'nowhere', MESHLESS_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let badErr = '';
  bad.stderr!.on('data', (d: Buffer) => (badErr += d.toString()));
  const code = await new Promise<number | null>((resolve) => bad.once('exit', (c) => resolve(c)));
  assert.equal(code, 1);
  assert.match(badErr, /invalid listen from environment MESHLESS_LISTEN: must be HOST:PORT/);
});
