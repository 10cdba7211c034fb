// `meshless kube-controller` as a Deployment runs it: a child process reading a kubeconfig,
// following the fake API server (the real list/watch and Lease protocol), writing to a datastore
// that serves mutual TLS with a `controller` certificate (the only role that may write the
// knp.default.* policies it converts), and releasing its Lease on SIGTERM before exiting 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDatastore } from '../../../datastore/index.js';
import { testConfig } from '../../../datastore/testing.js';
import { startFakeApiServer } from '../../../kube-controller/index.js';
import { createDatastoreClient } from '../../../shared/datastore-client/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { createTestPki, startNatsServer, waitFor } from '../../../shared/testing/index.js';
import { REPO_ROOT } from '../testing.js';

test('meshless kube-controller: kubeconfig, mutual TLS as the controller role, converts a NetworkPolicy, releases the Lease on SIGTERM', async () => {
  const nats = await startNatsServer();
  const pki = await createTestPki();
  const ds = await runDatastore(
    testConfig(nats.url, { insecure: false, credentials: await pki.issue('datastore', 'datastore-0') }),
    createLogger('kc-cli-test'),
  );
  const admin = createDatastoreClient(ds.address, {
    credentials: await pki.issue('admin', 'root'),
    deadlineMs: 10_000,
  });
  const api = await startFakeApiServer();
  api.put('namespaces', { metadata: { name: 'shop' } });
  api.put('networkpolicies', {
    metadata: { name: 'deny', namespace: 'shop' },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  });
  const dir = mkdtempSync(join(tmpdir(), 'kc-cli-'));
  writeFileSync(
    join(dir, 'kubeconfig'),
    `apiVersion: v1\nkind: Config\ncurrent-context: t\ncontexts:\n- name: t\n  context: {cluster: c, namespace: meshless-system}\nclusters:\n- name: c\n  cluster: {server: "${api.url}"}\n`,
  );
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin', 'meshless.mjs'),
      'kube-controller',
      '--kubeconfig',
      join(dir, 'kubeconfig'),
      '--datastore',
      ds.address,
      '--credentials',
      await pki.issue('controller', 'kube-controller'),
      '--metrics',
      'none',
      '--retry-period',
      '0.5',
      '--renew-deadline',
      '2',
      '--lease-duration',
      '3',
    ],
    { cwd: REPO_ROOT, env: { PATH: process.env.PATH, MESHLESS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  try {
    const lease = () =>
      api.get('leases', 'meshless-kube-controller', 'meshless-system') as unknown as
        | { spec: { holderIdentity: string } }
        | undefined;
    await waitFor(
      'the controller to hold the lease',
      () => (lease()?.spec.holderIdentity ?? '') !== '' || child.exitCode !== null,
      60_000,
    );
    assert.equal(child.exitCode, null, `exited early: ${stderr}`);
    await waitFor(
      'knp.default.deny in the datastore',
      async () =>
        (await admin.list('NetworkPolicy', { namespace: 'shop' })).items.some(
          (p) => p.metadata.name === 'knp.default.deny',
        ),
      30_000,
    );
    await waitFor(
      'kns.shop',
      async () => (await admin.list('Profile')).items.some((p) => p.metadata.name === 'kns.shop'),
      30_000,
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.equal(lease()!.spec.holderIdentity, '', 'the lease is released for the standby');
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- controller log:\n${stdout.slice(-4000)}\n${stderr.slice(-2000)}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    admin.close();
    await api.close();
    await ds.close();
    await nats.stop();
    pki.remove();
  }
});
