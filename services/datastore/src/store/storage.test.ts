// JetStream out of storage: nats-server's store on a small tmpfs, with max_file_store below its
// size (as k8s/nats.yaml sets it). Writes that do not fit get UNAVAILABLE naming storage (not a
// timeout, not INTERNAL), /readyz fails with the reason, the storage-error metric counts them, and
// once space is freed everything works again without restarting anything.
// Needs root (mount); skipped otherwise, with the reason.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createDatastoreClient } from '../../../shared/datastore-client/index.js';
import { UnavailableError } from '../../../shared/errors/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { Kvm } from '@nats-io/kv';
import { startNatsServer, waitFor } from '../../../shared/testing/index.js';
import { runDatastore } from '../run.js';
import { testConfig } from '../testing/index.js';

function mountTmpfs(dir: string, size: string): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here: ${String(err).split('\n')[0]}`;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'meshless-full-'));
const store = join(dir, 'store');
execFileSync('mkdir', ['-p', store]);
const skip = mountTmpfs(store, '24m');

test('a full JetStream store: UNAVAILABLE naming storage, /readyz says why, recovery without a restart', {
  skip,
}, async () => {
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, 'jetstream { max_file_store: 8MB }\n');
  const nats = await startNatsServer({ storeDir: store, extraArgs: ['-c', conf] }).catch((err: unknown) => {
    execFileSync('umount', [store]);
    throw err;
  });
  const datastore = await runDatastore(
    testConfig(nats.url, { kvProbeInterval: 200, kvProbeDeadline: 1000 }),
    createLogger('storage-test'),
  );
  const client = createDatastoreClient(datastore.address, { deadlineMs: 30_000 });
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${datastore.metricsPort}/readyz`);
    return { status: res.status, body: await res.text() };
  };
  try {
    // Something else fills the store (another bucket on the same servers)...
    const nc = await connect({ servers: nats.url });
    const filler = await new Kvm(nc).create('filler', { history: 1 });
    for (let i = 0; ; i++) {
      const full = await filler.put(`k${i}`, new Uint8Array(200 * 1024)).then(
        () => false,
        () => true,
      );
      if (full) break;
    }
    // ...and the datastore's next write does not fit.
    let refused: unknown;
    await client
      .create({ apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'refused' }, spec: {} })
      .catch((err: unknown) => (refused = err));
    assert.ok(refused instanceof UnavailableError, `a write past the limit is UNAVAILABLE, got ${String(refused)}`);
    assert.match(refused.message, /storage is full or failing/);
    await waitFor('/readyz to fail', async () => (await readyz()).status === 503, 10_000);
    assert.match((await readyz()).body, /storage/);
    const metrics = await (await fetch(`http://127.0.0.1:${datastore.metricsPort}/metrics`)).text();
    assert.match(metrics, /meshless_datastore_nats_errors_total\{[^}]*reason="storage"[^}]*\} [1-9]/);

    // The operator frees space (purges the other bucket); no restart of anything. (A purge with a
    // subject filter frees the bytes but, on nats-server 2.9.10, not the server's usage count:
    // writes stay refused until a restart. A whole-stream purge releases it.)
    await (await jetstreamManager(nc)).streams.purge('KV_filler');
    await nc.close();
    await waitFor('/readyz to pass again', async () => (await readyz()).status === 200, 20_000).catch(
      async (err: unknown) => {
        throw new Error(`${String(err)}: ${(await readyz()).body}`);
      },
    );
    await client.create({ apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'after' }, spec: {} });
  } finally {
    client.close();
    await datastore.close();
    await nats.stop();
    execFileSync('umount', [store]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cleanup when skipped', { skip: skip === undefined }, () => {
  rmSync(dir, { recursive: true, force: true });
});
