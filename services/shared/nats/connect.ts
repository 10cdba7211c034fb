import { connect, type NatsConnection } from '@nats-io/transport-node';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CA_FILE, CERT_FILE, checkCredentials, KEY_FILE } from '../tls/index.js';
import { inboxPrefix } from './names.js';

export type { NatsConnection };

/**
 * Connects with reconnection forever (services ride out a NATS restart), logging state changes.
 * `servers` is a comma-separated list of nats:// URLs. `credentials` (a directory with ca.crt,
 * tls.crt, tls.key): TLS with this client certificate, which is also the NATS user (see
 * server-config.ts), and its replies come on that identity's own inboxes (names.ts inboxPrefix),
 * the only ones its user may subscribe to; absent: plain text, no user.
 */
export async function connectNats(
  servers: string,
  name: string,
  log?: Logger,
  credentials?: string,
): Promise<NatsConnection> {
  const identity = credentials ? checkCredentials(credentials).identity : undefined;
  const nc = await connect({
    ...(credentials
      ? {
          tls: {
            caFile: join(credentials, CA_FILE),
            certFile: join(credentials, CERT_FILE),
            keyFile: join(credentials, KEY_FILE),
          },
        }
      : {}),
    ...(identity ? { inboxPrefix: inboxPrefix(identity) } : {}),
    servers: servers.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
  });
  if (log) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error')
          log.warn({ nats: s.type }, 'nats connection status');
      }
    })();
  }
  return nc;
}
