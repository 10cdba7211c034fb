// The one place gRPC credentials are built, for servers and clients.
//
// Servers: mutual TLS from a credentials directory (a client must present a certificate from the
// same CA; grpc-js refuses the handshake otherwise: no certificate, another CA, expired), or plain
// text only with an explicit `insecure`, which logs a warning every start. Neither is an error.
// Clients: with a credentials directory, TLS that checks the server's chain against ca.crt and
// the server's role in its certificate (not its host name: servers are reached by pod IP,
// loopback or a name the certificate need not list, as with Typha); without one, plain text, so
// an `--insecure` set-up keeps working.
//
// Rotation: certificates and keys are re-read every `refreshMs` (grpc-js's file watcher); new
// handshakes use the new files, established connections keep theirs until they reconnect.
import type { PeerCertificate } from 'node:tls';
import {
  credentials,
  experimental,
  ServerCredentials,
  type ChannelCredentials,
  type ChannelOptions,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { checkCredentials, TlsConfigError, type CredentialPaths, type TlsFiles } from './files.js';
import { describeIdentity, identityFromSubjectAltName, type Identity, type Role } from './identity.js';

export const DEFAULT_REFRESH_MS = 10_000;

/** The name clients put in SNI: servers are not checked by host name (see above). */
const TARGET_NAME = 'meshless';

export interface ServerTlsSettings {
  /** Credentials directory (ca.crt, tls.crt, tls.key); empty = none. */
  readonly credentials: string;
  /** Listen in plain text (no credentials may be given then). */
  readonly insecure: boolean;
  readonly refreshMs?: number;
}

/** Who called, as far as the transport can tell. */
export type Caller =
  /** Plain-text server: nobody is authenticated and everything is allowed, as before TLS. */
  | { readonly kind: 'insecure' }
  | { readonly kind: 'identified'; readonly identity: Identity }
  /** A certificate from our CA without a meshless identity: allowed nothing. */
  | { readonly kind: 'unidentified'; readonly reason: string };

export interface ServerSecurity {
  readonly secure: boolean;
  readonly credentials: ServerCredentials;
  /** Our own identity (undefined when insecure). */
  readonly files: TlsFiles | undefined;
  caller(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null }): Caller;
}

const INSECURE: Caller = { kind: 'insecure' };

/**
 * Server credentials for `service` from its settings; throws TlsConfigError when neither
 * credentials nor insecure is given, or both. Resolves once the files are loaded.
 */
export async function serverSecurity(
  service: string,
  settings: ServerTlsSettings,
  log: Logger,
): Promise<ServerSecurity> {
  if (settings.credentials && settings.insecure)
    throw new TlsConfigError(`${service}: give either --credentials DIR or --insecure, not both`);
  if (!settings.credentials) {
    if (!settings.insecure) {
      throw new TlsConfigError(
        `${service}: no TLS credentials: give --credentials DIR (ca.crt, tls.crt, tls.key; see meshless certs issue) or --insecure to serve plain text`,
      );
    }
    log.warn(
      { service },
      'INSECURE: serving plain-text gRPC with no authentication; anyone who reaches the port can read and change everything',
    );
    return { secure: false, credentials: ServerCredentials.createInsecure(), files: undefined, caller: () => INSECURE };
  }
  const files = checkCredentials(settings.credentials);
  const provider = fileProvider(files, settings.refreshMs);
  await firstLoad(provider);
  const creds = experimental.createCertificateProviderServerCredentials(provider, provider, true);
  log.info(
    { service, identity: files.identity, notAfter: files.notAfter.toISOString(), dir: files.dir },
    'serving mutual TLS',
  );
  return {
    secure: true,
    credentials: creds,
    files,
    caller(call) {
      const cert = call.getAuthContext()?.sslPeerCertificate;
      if (!cert) return { kind: 'unidentified', reason: 'no client certificate' };
      const identity = identityFromSubjectAltName(cert.subjectaltname);
      return identity
        ? { kind: 'identified', identity }
        : { kind: 'unidentified', reason: 'the client certificate carries no meshless identity' };
    },
  };
}

export function describeCaller(c: Caller): string {
  return c.kind === 'identified'
    ? describeIdentity(c.identity)
    : c.kind === 'insecure'
      ? 'an anonymous client (insecure server)'
      : `an unidentified client (${c.reason})`;
}

export interface ClientChannel {
  readonly credentials: ChannelCredentials;
  /** Channel options to merge into the client's (SNI name when secure). */
  readonly options: ChannelOptions;
  readonly secure: boolean;
}

const providers = new Map<string, experimental.FileWatcherCertificateProvider>();

/**
 * Credentials for a client of a server that must hold one of `serverRoles`. `source` (a
 * credentials directory, or three named files) undefined or empty: plain text. The files are
 * checked now (a clear error naming the file).
 */
export function clientChannel(
  source: string | CredentialPaths | undefined,
  serverRoles: readonly Role[],
  refreshMs = DEFAULT_REFRESH_MS,
): ClientChannel {
  if (!source) return { credentials: credentials.createInsecure(), options: {}, secure: false };
  const files = checkCredentials(source);
  const key = `${files.caFile}\0${files.certFile}\0${files.keyFile}`;
  let provider = providers.get(key);
  if (!provider) providers.set(key, (provider = fileProvider(files, refreshMs)));
  const checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined => {
    const id = identityFromSubjectAltName(cert.subjectaltname);
    if (!id) return new Error('the server certificate carries no meshless identity');
    if (!serverRoles.includes(id.role))
      return new Error(`the server is ${describeIdentity(id)}, expected a ${serverRoles.join(' or ')} certificate`);
    return undefined;
  };
  return {
    credentials: experimental.createCertificateProviderChannelCredentials(provider, provider, { checkServerIdentity }),
    options: { 'grpc.ssl_target_name_override': TARGET_NAME, 'grpc.default_authority': TARGET_NAME },
    secure: true,
  };
}

function fileProvider(files: TlsFiles, refreshMs = DEFAULT_REFRESH_MS): experimental.FileWatcherCertificateProvider {
  return new experimental.FileWatcherCertificateProvider({
    caCertificateFile: files.caFile,
    certificateFile: files.certFile,
    privateKeyFile: files.keyFile,
    refreshIntervalMs: refreshMs,
  });
}

function firstLoad(provider: experimental.FileWatcherCertificateProvider): Promise<void> {
  return new Promise((resolve, reject) => {
    const listener = (update: unknown) => {
      provider.removeIdentityCertificateListener(listener);
      if (update) resolve();
      else reject(new TlsConfigError('could not read the certificate files'));
    };
    provider.addIdentityCertificateListener(listener);
  });
}
