// The dashboard's HTTP side: the page (HTML, CSS and JS served from memory: nothing to build or
// install for the user), GET /api/state (the whole picture as JSON), GET /events (server-sent
// events: the picture again whenever it changed, at most once per PUSH_MS), GET /metrics (IPAM
// usage per pool for Prometheus: exposition.ts), /livez and /readyz.
//
// Why server-sent events and not a WebSocket: updates only flow one way, EventSource reconnects by
// itself, and SSE is plain HTTP that any proxy passes; a WebSocket would need a framing layer here
// for nothing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Collector } from './collector.js';
import { exposition } from './exposition.js';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page.js';

/** Pushes are coalesced: at most one state per this many ms to each page. */
const PUSH_MS = 500;
/** An SSE comment this often keeps idle proxies from closing the stream. */
const KEEPALIVE_MS = 15_000;

const STATIC: Record<string, { type: string; body: string }> = {
  '/': { type: 'text/html; charset=utf-8', body: PAGE_HTML },
  '/index.html': { type: 'text/html; charset=utf-8', body: PAGE_HTML },
  '/app.css': { type: 'text/css; charset=utf-8', body: PAGE_CSS },
  '/app.js': { type: 'text/javascript; charset=utf-8', body: PAGE_JS },
};

export interface DashboardServer {
  /** http://HOST:PORT/ */
  readonly url: string;
  close(): Promise<void>;
}

export async function serveDashboard(collector: Collector, host: string, port: number): Promise<DashboardServer> {
  const streams = new Set<ServerResponse>();
  let pending: NodeJS.Timeout | undefined;
  let lastPush = 0;

  const push = () => {
    pending = undefined;
    lastPush = Date.now();
    if (streams.size === 0) return;
    const frame = `event: state\ndata: ${JSON.stringify(collector.snapshot())}\n\n`;
    for (const res of streams) res.write(frame);
  };
  const unsubscribe = collector.onChange(() => {
    if (pending || streams.size === 0) return;
    pending = setTimeout(push, Math.max(0, lastPush + PUSH_MS - Date.now()));
  });
  const keepalive = setInterval(() => {
    for (const res of streams) res.write(': keepalive\n\n');
  }, KEEPALIVE_MS);
  keepalive.unref();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const file = STATIC[path];
    if (file) {
      res
        .writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' })
        .end(file.body);
      return;
    }
    if (path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/metrics') {
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        .end(exposition(collector.snapshot()));
      return;
    }
    if (path === '/api/state') {
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(collector.snapshot()));
      return;
    }
    if (path === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(`retry: 2000\nevent: state\ndata: ${JSON.stringify(collector.snapshot())}\n\n`);
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such page: ${path}\n`);
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}/`,
    async close() {
      unsubscribe();
      clearTimeout(pending);
      clearInterval(keepalive);
      for (const res of streams) res.end();
      streams.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
