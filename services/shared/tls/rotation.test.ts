// Certificate rotation without restart, against a real datastore serving mutual TLS: new files
// written into its credentials directory are served to new connections, and clients keep working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createDatastoreClient } from '../datastore-client/index.js';
import { createLogger } from '../log/index.js';
import { createTestPki, startNatsServer, waitFor } from '../testing/index.js';
import { runDatastore } from '../../datastore/index.js';
import { testConfig } from '../../datastore/testing.js';
import { issueCertificate, writeCredentials } from './index.js';

/** The serial number of the certificate the server at `port` presents now (a fresh handshake). */
function servedSerial(port: number, client: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      ALPNProtocols: ['h2'],
      ca: readFileSync(join(client, 'ca.crt')),
      cert: readFileSync(join(client, 'tls.crt')),
      key: readFileSync(join(client, 'tls.key')),
      checkServerIdentity: () => undefined,
    });
    s.once('secureConnect', () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(serial);
    });
    s.once('error', reject);
  });
}

test('a rotated server certificate is served without a restart; clients keep working', async () => {
  const nats = await startNatsServer();
  const pki = await createTestPki();
  const dir = await pki.issue('datastore', 'datastore-0');
  const admin = await pki.issue('admin', 'root');
  const ds = await runDatastore(
    testConfig(nats.url, { insecure: false, credentials: dir, tlsRefresh: 200 }),
    createLogger('rotation-test'),
  );
  const client = createDatastoreClient(ds.address, { credentials: admin });
  try {
    const before = await servedSerial(ds.port, admin);
    await client.list('Node');
    const next = await issueCertificate(pki.ca, { identity: { role: 'datastore', name: 'datastore-0' } });
    writeCredentials(dir, { ca: pki.ca.cert, cert: next.cert, key: next.key });
    await waitFor('the new certificate served', async () => (await servedSerial(ds.port, admin)) !== before, 30_000);
    await client.list('Node');
    const fresh = createDatastoreClient(ds.address, { credentials: admin });
    await fresh.list('Node');
    fresh.close();
  } finally {
    client.close();
    await ds.close();
    await nats.stop();
    pki.remove();
  }
});
