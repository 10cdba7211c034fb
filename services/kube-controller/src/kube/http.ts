// Requests to the API server over node:http(s): one JSON request/response, and a watch stream
// read as newline-delimited JSON watch events (the API server writes one event per line,
// chunked). No client library: @kubernetes/client-node 1.x wants @types/node 24 and a dozen
// dependencies for what is two calls here.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from './config.js';

/** A failed request: the HTTP status and the API server's Status object when it sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface KubeHttp {
  readonly config: KubeConfig;
  json<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T>;
  /** Opens a watch; yields each event line parsed. Ends when the server closes the stream. */
  stream(path: string, signal: AbortSignal): AsyncGenerator<unknown, void, undefined>;
}

export function kubeHttp(config: KubeConfig, timeoutMs = 30_000): KubeHttp {
  const url = new URL(config.server);
  const tls = url.protocol === 'https:';
  const options = (method: string, path: string, signal?: AbortSignal): RequestOptions => {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'meshless-kube-controller' };
    const token = config.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    return {
      method,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (tls ? 443 : 80),
      path: url.pathname.replace(/\/$/, '') + path,
      headers,
      ...(signal ? { signal } : {}),
      ...(tls
        ? {
            ca: config.ca,
            cert: config.cert,
            key: config.key,
            rejectUnauthorized: config.insecureSkipTlsVerify !== true,
          }
        : {}),
    };
  };
  const send = (
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    timeout: number | undefined,
  ): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const opts = options(method, path, signal);
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      if (payload)
        opts.headers = {
          ...opts.headers,
          'content-type': 'application/json',
          'content-length': String(payload.length),
        };
      const req = (tls ? httpsRequest : httpRequest)(opts, resolve);
      req.on('error', reject);
      if (timeout !== undefined)
        req.setTimeout(timeout, () => req.destroy(new Error(`no answer from ${config.server} within ${timeout} ms`)));
      req.end(payload);
    });
  const readAll = async (res: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const failure = (status: number, text: string, path: string): KubeApiError => {
    try {
      const s = JSON.parse(text) as { message?: string; reason?: string };
      return new KubeApiError(status, `${path}: ${status} ${s.message ?? ''}`.trim(), s.reason);
    } catch {
      return new KubeApiError(status, `${path}: ${status} ${text.slice(0, 200)}`.trim());
    }
  };
  return {
    config,
    async json<T>(
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      path: string,
      body?: unknown,
      signal?: AbortSignal,
    ): Promise<T> {
      const res = await send(method, path, body, signal, timeoutMs);
      const text = await readAll(res);
      if ((res.statusCode ?? 0) >= 300) throw failure(res.statusCode ?? 0, text, path);
      return JSON.parse(text) as T;
    },
    async *stream(path: string, signal: AbortSignal) {
      // No socket timeout: a watch is quiet for minutes; the server ends it (timeoutSeconds).
      const res = await send('GET', path, undefined, signal, undefined);
      if ((res.statusCode ?? 0) >= 300) throw failure(res.statusCode ?? 0, await readAll(res), path);
      let buffered = '';
      try {
        for await (const chunk of res) {
          buffered += (chunk as Buffer).toString('utf8');
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line) yield JSON.parse(line) as unknown;
          }
        }
      } finally {
        res.destroy();
      }
    },
  };
}
