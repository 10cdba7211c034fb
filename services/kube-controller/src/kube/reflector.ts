// A reflector: client-go's list + watch loop for one resource type, keeping a cache.
//   LIST (paged with limit/continue) → cache := items, rv := list's resourceVersion, onSync
//   WATCH ?resourceVersion=rv&allowWatchBookmarks=true&timeoutSeconds=N
//     ADDED/MODIFIED → cache put, onChange   DELETED → cache delete, onChange
//     BOOKMARK → rv := its resourceVersion (nothing else: it only moves the resume point)
//     ERROR 410 Gone (or HTTP 410) → LIST again: the rv was compacted away; objects missing
//       from the new list were deleted while we were not looking, so onChange reports them.
//   stream ends (timeoutSeconds, the server restarted) → WATCH again from rv
//   any failure → back off (exponential with jitter, 0.5 s → 30 s), reset after a good event.
import type { KubeHttp } from './http.js';
import { KubeApiError } from './http.js';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface ReflectorOptions {
  /** Collection path, e.g. /api/v1/pods or /apis/networking.k8s.io/v1/networkpolicies. */
  path: string;
  /** An object changed or was deleted (`obj` undefined); key is namespace/name or name. */
  onChange(key: string, obj: KubeObject | undefined): void;
  /** After every LIST: the cache holds the whole collection. */
  onSync?(): void;
  pageSize?: number;
  watchTimeoutSeconds?: number;
  log?: { warn(o: object, msg: string): void; info(o: object, msg: string): void };
}

export const keyOf = (o: { metadata: { name: string; namespace?: string } }): string =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

const GONE = 410;

export class Reflector {
  readonly cache = new Map<string, KubeObject>();
  resourceVersion = '';
  synced = false;
  /** How many LISTs ran (the first, then one per 410 Gone or failure); tests read it. */
  lists = 0;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly http: KubeHttp,
    private readonly opts: ReflectorOptions,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    let backoff = 500;
    let needList = true;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        const q = new URLSearchParams({
          watch: '1',
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(this.opts.watchTimeoutSeconds ?? 300),
        });
        for await (const raw of this.http.stream(`${this.opts.path}?${q}`, signal)) {
          const ev = raw as { type: string; object: KubeObject & { code?: number; message?: string } };
          if (ev.type === 'ERROR') {
            if (ev.object.code === GONE) {
              this.opts.log?.info(
                { path: this.opts.path, rv: this.resourceVersion },
                'watch: resourceVersion too old (410 Gone), listing again',
              );
              needList = true;
              break;
            }
            throw new KubeApiError(
              ev.object.code ?? 500,
              `watch ${this.opts.path}: ${ev.object.message ?? 'error event'}`,
            );
          }
          const rv = ev.object.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          backoff = 500;
          if (ev.type === 'BOOKMARK') continue;
          const key = keyOf(ev.object);
          if (ev.type === 'DELETED') {
            this.cache.delete(key);
            this.opts.onChange(key, undefined);
          } else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
            this.cache.set(key, ev.object);
            this.opts.onChange(key, ev.object);
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof KubeApiError && err.status === GONE) {
          needList = true;
          continue;
        }
        this.opts.log?.warn(
          { path: this.opts.path, err: (err as Error).message, retryMs: backoff },
          'list/watch failed, retrying',
        );
        await sleep(backoff * (0.75 + Math.random() / 2), signal);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  private async list(): Promise<void> {
    const items = new Map<string, KubeObject>();
    let cont = '';
    let rv = '';
    do {
      const q = new URLSearchParams({ limit: String(this.opts.pageSize ?? 500) });
      if (cont) q.set('continue', cont);
      const page = await this.http.json<{
        metadata: { resourceVersion: string; continue?: string };
        items: KubeObject[];
      }>('GET', `${this.opts.path}?${q}`, undefined, this.abort.signal);
      for (const item of page.items) items.set(keyOf(item), item);
      rv = page.metadata.resourceVersion;
      cont = page.metadata.continue ?? '';
    } while (cont);
    this.lists++;
    const old = this.cache;
    const gone = [...old.keys()].filter((k) => !items.has(k));
    this.cache.clear();
    for (const [k, v] of items) this.cache.set(k, v);
    this.resourceVersion = rv;
    for (const k of gone) this.opts.onChange(k, undefined);
    for (const [k, v] of items) this.opts.onChange(k, v);
    this.synced = true;
    this.opts.onSync?.();
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
