import { connect, type NatsConnection } from '@nats-io/transport-node';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CA_FILE, CERT_FILE, KEY_FILE } from '../tls/index.js';

export type { NatsConnection };

/**
 * Connects with reconnection forever (services ride out a NATS restart), logging state changes.
 * `servers` is a comma-separated list of nats:// URLs. `credentials` (a directory with ca.crt,
 * tls.crt, tls.key): TLS with this client certificate, which is also the NATS user (see
 * server-config.ts); absent: plain text, no user.
 */
export async function connectNats(servers: string, name: string, log?: Logger, credentials?: string): Promise<NatsConnection> {
  const nc = await connect({
    ...(credentials ? { tls: { caFile: join(credentials, CA_FILE), certFile: join(credentials, CERT_FILE), keyFile: join(credentials, KEY_FILE) } } : {}),
    servers: servers.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
  });
  if (log) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') log.warn({ nats: s.type }, 'nats connection status');
      }
    })();
  }
  return nc;
}
