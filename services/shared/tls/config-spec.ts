// The TLS parameters every server declares (spread into its config spec), so the flags, the
// environment names and the help text are the same everywhere.
import type { ParamSpec } from '../config/index.js';

export const serverTlsSpec = {
  credentials: {
    type: 'string',
    default: '',
    description: 'directory with ca.crt, tls.crt and tls.key (a cert-manager Secret; meshless certs issue): mutual TLS',
  } as ParamSpec<string>,
  insecure: {
    type: 'bool',
    default: false,
    description: 'serve plain text without authentication (only when no credentials are given)',
  } as ParamSpec<boolean>,
  natsCredentials: {
    type: 'string',
    default: '',
    description:
      'directory with ca.crt, tls.crt, tls.key for TLS to NATS (the certificate is the NATS user); empty: plain text',
  } as ParamSpec<string>,
  tlsRefresh: {
    type: 'duration',
    default: 10_000,
    description: 'how often the certificate files are re-read (rotation without restart)',
  } as ParamSpec<number>,
};
