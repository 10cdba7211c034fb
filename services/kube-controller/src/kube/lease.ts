// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does:
//   every retryPeriod: GET the Lease
//     404 → POST one naming us (409: someone else was first; try again next round)
//     held by another and its renewTime changed less than leaseDuration ago *by our clock*
//       → not leader. (client-go compares against when *we* observed the change, not the
//       holder's timestamp, so clock skew between replicas cannot shorten a lease.)
//     else → PUT with its resourceVersion (409 Conflict: it moved, try again next round)
//   a leader that has not renewed for renewDeadline stops leading (onLost) before the lease
//   can expire for the others; release (SIGTERM) clears holderIdentity so a follower takes
//   over at once instead of after leaseDuration.
import type { KubeHttp } from './http.js';
import { KubeApiError } from './http.js';
import { sleep } from './reflector.js';

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStarted(): void;
  onLost(): void;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** MicroTime: RFC 3339 with microseconds, what the API server stores for renewTime. */
const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  leading = false;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private observed: { renewTime?: string; holder?: string; at: number } = { at: 0 };
  private lastRenew = 0;
  private readonly durationMs: number;
  private readonly deadlineMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly http: KubeHttp,
    private readonly opts: LeaseOptions,
  ) {
    this.durationMs = opts.leaseDurationMs ?? 15_000;
    this.deadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.durationMs > this.deadlineMs && this.deadlineMs > this.retryMs)) {
      throw new Error('leader election: need leaseDuration > renewDeadline > retryPeriod');
    }
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/leases`;
  }

  start(): void {
    this.running ??= this.loop();
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        if (!signal.aborted)
          this.opts.log?.warn({ err: (err as Error).message }, 'leader election: lease request failed');
      }
      if (signal.aborted) return;
      const now = Date.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.opts.log?.info({ lease: this.opts.name, identity: this.opts.identity }, 'became the leader');
          this.opts.onStarted();
        }
      } else if (this.leading && now - this.lastRenew > this.deadlineMs) {
        this.leading = false;
        this.opts.log?.warn(
          { lease: this.opts.name },
          'could not renew the lease within the renew deadline: no longer the leader',
        );
        this.opts.onLost();
      }
      await sleep(this.retryMs, signal);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const spec = (prev?: Lease['spec']): Lease['spec'] => {
      const mine = prev?.holderIdentity === this.opts.identity;
      return {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: Math.ceil(this.durationMs / 1000),
        acquireTime: mine && prev?.acquireTime ? prev.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (prev?.leaseTransitions ?? 0) + (mine || !prev ? 0 : 1),
      };
    };
    let lease: Lease;
    try {
      lease = await this.http.json<Lease>('GET', `${this.path}/${encodeURIComponent(this.opts.name)}`);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      const fresh: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.opts.name, namespace: this.opts.namespace },
        spec: spec(),
      };
      return this.write('POST', this.path, fresh);
    }
    const holder = lease.spec.holderIdentity ?? '';
    if (lease.spec.renewTime !== this.observed.renewTime || holder !== this.observed.holder) {
      this.observed = { renewTime: lease.spec.renewTime, holder, at: Date.now() };
    }
    const duration = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
    if (holder && holder !== this.opts.identity && Date.now() - this.observed.at < duration) return false;
    return this.write('PUT', `${this.path}/${encodeURIComponent(this.opts.name)}`, {
      ...lease,
      spec: spec(lease.spec),
    });
  }

  private async write(method: 'POST' | 'PUT', path: string, lease: Lease): Promise<boolean> {
    try {
      await this.http.json('PUT' === method ? 'PUT' : 'POST', path, lease);
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 409) return false; // someone else moved it
      throw err;
    }
  }

  /** Stops competing; a leader clears holderIdentity so another replica takes over at once. */
  async release(): Promise<void> {
    this.abort.abort();
    await this.running;
    if (!this.leading) return;
    this.leading = false;
    try {
      const path = `${this.path}/${encodeURIComponent(this.opts.name)}`;
      const lease = await this.http.json<Lease>('GET', path);
      if (lease.spec.holderIdentity !== this.opts.identity) return;
      await this.http.json('PUT', path, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() },
      });
      this.opts.log?.info({ lease: this.opts.name }, 'released the lease');
    } catch (err) {
      this.opts.log?.warn(
        { err: (err as Error).message },
        'could not release the lease; it expires after its duration',
      );
    }
  }
}
