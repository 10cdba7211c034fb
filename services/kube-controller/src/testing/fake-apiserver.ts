// A local HTTP server that speaks the Kubernetes API's list/watch protocol for the controller's
// tests (there is no kube-apiserver on these machines). What it implements, as the real one does:
//   GET  collection ?limit&continue              → <Kind>List {metadata.resourceVersion, continue}, items
//   GET  collection ?watch=1&resourceVersion=N   → 200, chunked, one JSON event per line:
//        ADDED / MODIFIED / DELETED {object}; BOOKMARK {object: {kind, apiVersion, metadata.rv}}
//        when allowWatchBookmarks=true; resourceVersion older than the compaction point →
//        ERROR {object: Status{code: 410, reason: Expired}}; resourceVersion ''/0 → ADDED for
//        every current object first; the stream ends after timeoutSeconds.
//   Leases (coordination.k8s.io/v1, namespaced): GET (404 NotFound), POST (409 AlreadyExists),
//        PUT with metadata.resourceVersion (409 Conflict when it moved).
// One resourceVersion counter for everything, as etcd's revision. Objects are stored as given
// (real v1 JSON) with metadata.resourceVersion, uid and creationTimestamp stamped.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
};
export type Resource = 'nodes' | 'namespaces' | 'pods' | 'serviceaccounts' | 'networkpolicies' | 'leases';

const META: Record<Resource, { kind: string; apiVersion: string; namespaced: boolean }> = {
  nodes: { kind: 'Node', apiVersion: 'v1', namespaced: false },
  namespaces: { kind: 'Namespace', apiVersion: 'v1', namespaced: false },
  pods: { kind: 'Pod', apiVersion: 'v1', namespaced: true },
  serviceaccounts: { kind: 'ServiceAccount', apiVersion: 'v1', namespaced: true },
  networkpolicies: { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', namespaced: true },
  leases: { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', namespaced: true },
};

interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

export interface FakeApiServer {
  readonly url: string;
  /** Create or replace (ADDED or MODIFIED); returns the stored object. */
  put(resource: Resource, obj: Obj): Obj;
  remove(resource: Resource, name: string, namespace?: string): void;
  get(resource: Resource, name: string, namespace?: string): Obj | undefined;
  /** Forget every event up to now: older resourceVersions now get 410 Gone. */
  compact(): void;
  /** End every open watch (as an API server restart or a load balancer would). */
  dropWatches(): void;
  /** Requests seen, e.g. `watch pods rv=12 bookmarks=true`, `list pods`, `PUT lease`. */
  readonly requests: string[];
  close(): Promise<void>;
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

export async function startFakeApiServer(opts: { bookmarkIntervalMs?: number } = {}): Promise<FakeApiServer> {
  let rv = 1;
  let compacted = 0;
  const store = new Map<Resource, Map<string, Obj>>(Object.keys(META).map((r) => [r as Resource, new Map()]));
  const events = new Map<Resource, Event[]>(Object.keys(META).map((r) => [r as Resource, []]));
  const watchers = new Set<{ resource: Resource; ns?: string; send(e: Event): void; end(): void }>();
  const requests: string[] = [];
  const keyOf = (o: Obj) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);
  const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

  const record = (resource: Resource, type: Event['type'], object: Obj) => {
    const e: Event = { rv, type, object: clone(object) };
    events.get(resource)!.push(e);
    for (const w of watchers) if (w.resource === resource && (!w.ns || w.ns === object.metadata.namespace)) w.send(e);
  };

  const put = (resource: Resource, input: Obj): Obj => {
    const m = META[resource];
    const items = store.get(resource)!;
    const prev = items.get(keyOf(input));
    rv++;
    const obj: Obj = {
      ...clone(input),
      kind: m.kind,
      apiVersion: m.apiVersion,
      metadata: {
        ...clone(input.metadata),
        uid: (prev?.metadata.uid as string | undefined) ?? randomUUID(),
        creationTimestamp:
          (prev?.metadata.creationTimestamp as string | undefined) ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        resourceVersion: String(rv),
      },
    };
    if (m.namespaced) obj.metadata.namespace ??= 'default';
    items.set(keyOf(obj), obj);
    record(resource, prev ? 'MODIFIED' : 'ADDED', obj);
    return clone(obj);
  };

  const remove = (resource: Resource, name: string, namespace?: string) => {
    const items = store.get(resource)!;
    const key = namespace ? `${namespace}/${name}` : name;
    const prev = items.get(key);
    if (!prev) return;
    items.delete(key);
    rv++;
    record(resource, 'DELETED', { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } });
  };

  const json = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const route = (path: string): { resource: Resource; ns?: string; name?: string } | undefined => {
    let m = /^\/api\/v1\/(nodes|namespaces)$/.exec(path);
    if (m) return { resource: m[1] as Resource };
    m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?(pods|serviceaccounts)$/.exec(path);
    if (m) return { resource: m[2] as Resource, ...(m[1] ? { ns: m[1] } : {}) };
    m = /^\/apis\/networking\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?networkpolicies$/.exec(path);
    if (m) return { resource: 'networkpolicies', ...(m[1] ? { ns: m[1] } : {}) };
    m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(path);
    if (m) return { resource: 'leases', ns: m[1]!, ...(m[2] ? { name: decodeURIComponent(m[2]) } : {}) };
    return undefined;
  };

  const list = (res: ServerResponse, resource: Resource, ns: string | undefined, q: URLSearchParams) => {
    requests.push(`list ${resource}`);
    const all = [...store.get(resource)!.values()]
      .filter((o) => !ns || o.metadata.namespace === ns)
      .sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const limit = Number(q.get('limit') ?? 0) || all.length;
    let start = 0;
    let listRv = rv;
    const cont = q.get('continue');
    if (cont) {
      // A continue token pins the list to the resourceVersion of its first page.
      const t = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { start: number; rv: number };
      if (t.rv <= compacted)
        return json(res, 410, status(410, 'Expired', 'The provided continue parameter is too old'));
      start = t.start;
      listRv = t.rv;
    }
    const items = all.slice(start, start + limit);
    const more = start + limit < all.length;
    json(res, 200, {
      kind: `${META[resource].kind}List`,
      apiVersion: META[resource].apiVersion,
      metadata: {
        resourceVersion: String(listRv),
        ...(more
          ? { continue: Buffer.from(JSON.stringify({ start: start + limit, rv: listRv })).toString('base64url') }
          : {}),
      },
      items,
    });
  };

  const watch = (
    req: IncomingMessage,
    res: ServerResponse,
    resource: Resource,
    ns: string | undefined,
    q: URLSearchParams,
  ) => {
    const from = Number(q.get('resourceVersion') || 0);
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    requests.push(`watch ${resource} rv=${from} bookmarks=${bookmarks}`);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const write = (e: unknown) => res.write(JSON.stringify(e) + '\n');
    if (from !== 0 && from < compacted) {
      write({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${compacted})`) });
      res.end();
      return;
    }
    if (from === 0) {
      for (const o of store.get(resource)!.values())
        if (!ns || o.metadata.namespace === ns) write({ type: 'ADDED', object: o });
    } else {
      for (const e of events.get(resource)!)
        if (e.rv > from && (!ns || e.object.metadata.namespace === ns)) write({ type: e.type, object: e.object });
    }
    const timers: NodeJS.Timeout[] = [];
    const w = {
      resource,
      ...(ns ? { ns } : {}),
      send: (e: Event) => write({ type: e.type, object: e.object }),
      end: () => {
        for (const t of timers) clearTimeout(t);
        watchers.delete(w);
        res.end();
      },
    };
    watchers.add(w);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    if (timeout > 0) timers.push(setTimeout(w.end, timeout * 1000));
    if (bookmarks) {
      const m = META[resource];
      const t = setInterval(
        () =>
          write({
            type: 'BOOKMARK',
            object: { kind: m.kind, apiVersion: m.apiVersion, metadata: { resourceVersion: String(rv) } },
          }),
        opts.bookmarkIntervalMs ?? 1000,
      );
      timers.push(t as unknown as NodeJS.Timeout);
    }
    req.on('close', w.end);
  };

  const lease = async (req: IncomingMessage, res: ServerResponse, ns: string, name: string | undefined) => {
    const items = store.get('leases')!;
    requests.push(`${req.method} lease`);
    if (req.method === 'GET' && name) {
      const l = items.get(`${ns}/${name}`);
      return l
        ? json(res, 200, l)
        : json(res, 404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`));
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString()) as Obj;
    body.metadata.namespace = ns;
    const existing = items.get(`${ns}/${body.metadata.name}`);
    if (req.method === 'POST') {
      if (existing)
        return json(
          res,
          409,
          status(409, 'AlreadyExists', `leases.coordination.k8s.io "${body.metadata.name}" already exists`),
        );
      return json(res, 201, put('leases', body));
    }
    if (req.method === 'PUT' && name) {
      if (!existing) return json(res, 404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`));
      if (body.metadata.resourceVersion !== existing.metadata.resourceVersion) {
        return json(
          res,
          409,
          status(
            409,
            'Conflict',
            `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          ),
        );
      }
      return json(res, 200, put('leases', body));
    }
    json(res, 405, status(405, 'MethodNotAllowed', `${req.method} is not supported here`));
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const r = route(url.pathname);
    if (!r)
      return json(
        res,
        404,
        status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`),
      );
    if (r.resource === 'leases') {
      lease(req, res, r.ns!, r.name).catch((err: Error) => json(res, 400, status(400, 'BadRequest', err.message)));
      return;
    }
    if (req.method !== 'GET')
      return json(res, 405, status(405, 'MethodNotAllowed', `${req.method} is not supported here`));
    if (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true')
      watch(req, res, r.resource, r.ns, url.searchParams);
    else list(res, r.resource, r.ns, url.searchParams);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    put,
    remove,
    get: (resource, name, namespace) => {
      const o = store.get(resource)!.get(namespace ? `${namespace}/${name}` : name);
      return o && clone(o);
    },
    compact() {
      compacted = rv;
      for (const list of events.values()) list.length = 0;
    },
    dropWatches() {
      for (const w of [...watchers]) w.end();
    },
    requests,
    async close() {
      for (const w of [...watchers]) w.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
