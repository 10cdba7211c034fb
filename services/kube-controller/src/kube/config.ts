// Where the API server is and how to authenticate: in-cluster (the pod's service account, as
// client-go's rest.InClusterConfig) or a kubeconfig file (current-context's cluster and user).
// The in-cluster token is re-read on every request: kubelet rotates projected tokens (~1 h).
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { InvalidArgumentError } from '../../../shared/errors/index.js';

export interface KubeConfig {
  /** https://host:port or http://host:port (tests). */
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify?: boolean;
  /** Bearer token, read on each request (rotated service-account tokens). */
  token?: () => string;
  /** The namespace this process runs in (in-cluster) or the context's namespace. */
  namespace: string;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, saDir = SA_DIR): KubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new InvalidArgumentError(
      'not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset (give --kubeconfig)',
      { field: 'kubeconfig' },
    );
  const tokenFile = join(saDir, 'token');
  readFileSync(tokenFile); // fail now, naming the file, rather than on the first request
  let namespace = 'default';
  try {
    namespace = readFileSync(join(saDir, 'namespace'), 'utf8').trim() || 'default';
  } catch {
    // older clusters mount no namespace file
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(saDir, 'ca.crt')),
    token: () => readFileSync(tokenFile, 'utf8').trim(),
    namespace: env.POD_NAMESPACE || namespace,
  };
}

type Named<T> = { name: string } & Record<string, T>;

export function kubeconfigFile(path: string, context?: string): KubeConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError(`kubeconfig ${path}: ${(err as Error).message}`, {
      field: 'kubeconfig',
      cause: err,
    });
  }
  const base = dirname(path);
  const pick = (list: string, name: string): Record<string, unknown> => {
    const entry = ((doc[list] as Named<unknown>[] | undefined) ?? []).find((e) => e.name === name);
    if (!entry)
      throw new InvalidArgumentError(`kubeconfig ${path}: no ${list} entry named '${name}'`, {
        field: `kubeconfig.${list}`,
      });
    return (entry[list.slice(0, -1)] ?? {}) as Record<string, unknown>;
  };
  const ctxName = context ?? (doc['current-context'] as string | undefined);
  if (!ctxName)
    throw new InvalidArgumentError(`kubeconfig ${path}: no current-context (give --context)`, {
      field: 'kubeconfig.current-context',
    });
  const ctx = pick('contexts', ctxName);
  const cluster = pick('clusters', String(ctx.cluster));
  const user = ctx.user === undefined ? {} : pick('users', String(ctx.user));
  const file = (p: unknown) => readFileSync(isAbsolute(String(p)) ? String(p) : join(base, String(p)));
  const data = (inline: unknown, p: unknown): Buffer | undefined =>
    inline !== undefined ? Buffer.from(String(inline), 'base64') : p !== undefined ? file(p) : undefined;
  if (typeof cluster.server !== 'string')
    throw new InvalidArgumentError(`kubeconfig ${path}: cluster '${String(ctx.cluster)}' has no server`, {
      field: 'kubeconfig.clusters.server',
    });
  const cfg: KubeConfig = {
    server: cluster.server.replace(/\/+$/, ''),
    namespace: typeof ctx.namespace === 'string' ? ctx.namespace : 'default',
  };
  const ca = data(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca) cfg.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) cfg.insecureSkipTlsVerify = true;
  const cert = data(user['client-certificate-data'], user['client-certificate']);
  const key = data(user['client-key-data'], user['client-key']);
  if (cert) cfg.cert = cert;
  if (key) cfg.key = key;
  if (typeof user.token === 'string') {
    const token = user.token;
    cfg.token = () => token;
  } else if (user.tokenFile !== undefined) {
    const tf = user.tokenFile;
    cfg.token = () => file(tf).toString('utf8').trim();
  }
  return cfg;
}
