// Compare-and-set read-modify-write of one resource, batched per key.
//
// Every change to an IPAMBlock or IPAMHandle is a function of its current spec. Changes to the
// same key are queued in this process and applied together: one read, every queued function on
// the result in order, one write expecting the revision read. When the write loses a race (another
// datastore replica wrote the key in between: ConflictError, or NotFoundError when it was
// deleted) the whole batch is re-read and re-applied, bounded, with jitter. So N concurrent pods
// on one node cost a few KV round trips instead of N, the changes inside a process never race,
// and across processes the KV sequence check is the arbiter (Calico retries its CAS updates the
// same way). A function that throws fails only its own caller; the spec is restored to what it
// was before that function ran.
import type { Logger } from 'pino';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../../shared/errors/index.js';
import type { StoredKind } from '../../../shared/nats/index.js';
import type { ResourceDocument, ResourceStore, StoredResource } from '../store/index.js';
import type { Normalize } from './ipam.js';

/** What a batch writes: the new spec, or `delete` to remove the resource. */
export type Outcome<S> = { spec: S } | { delete: true };

export interface CasTarget<S> {
  kind: StoredKind;
  /** The document to create when the resource does not exist and a function produced a spec. */
  document(name: string, spec: S): ResourceDocument;
  /** Decides what to write after the batch ran (e.g. delete an empty unaffine block). */
  outcome(spec: S, before: StoredResource | undefined): Outcome<S>;
}

/** The spec a function works on; it may mutate it in place or assign a new one (to create). */
export interface Draft<S> {
  spec: S | undefined;
}

interface Pending<S> {
  fn: (draft: Draft<S>) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Attempts per batch before the callers get the ConflictError. */
const MAX_ATTEMPTS = 24;

export class CasWriter<S extends object> {
  private readonly queues = new Map<string, Pending<S>[]>();
  /** Writes that lost a race and were retried (a metric for tests and operators). */
  conflicts = 0;

  constructor(
    private readonly store: ResourceStore,
    private readonly normalize: Normalize,
    private readonly target: CasTarget<S>,
    private readonly log: Logger,
  ) {}

  /**
   * Runs `fn` on the current spec (draft.spec undefined when the resource does not exist) and
   * writes the result. Returning without changing anything writes nothing.
   */
  mutate<R>(name: string, fn: (draft: Draft<S>) => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.queues.get(name);
      const pending = { fn, resolve: resolve as (v: unknown) => void, reject };
      if (queue) {
        queue.push(pending);
        return;
      }
      this.queues.set(name, [pending]);
      void this.drain(name);
    });
  }

  private async drain(name: string): Promise<void> {
    for (;;) {
      const queue = this.queues.get(name)!;
      if (queue.length === 0) {
        this.queues.delete(name);
        return;
      }
      const batch = queue.splice(0);
      try {
        await this.runBatch(name, batch);
      } catch (err) {
        // Never leave the key's queue without a drain: its later callers would wait forever.
        for (const p of batch) p.reject(err);
      }
    }
  }

  private async runBatch(name: string, batch: Pending<S>[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let current: StoredResource | undefined;
      try {
        current = await this.store.get(this.target.kind, '', name);
      } catch (err) {
        for (const p of batch) p.reject(err);
        return;
      }
      const original = current ? (current.document.spec as S) : undefined;
      const draft: Draft<S> = { spec: original ? structuredClone(original) : undefined };
      const results: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
      for (const p of batch) {
        const saved = draft.spec === undefined ? undefined : structuredClone(draft.spec);
        try {
          results.push({ ok: true, value: p.fn(draft) });
        } catch (err) {
          draft.spec = saved;
          results.push({ ok: false, err });
        }
      }
      const spec = draft.spec;
      try {
        if (spec !== undefined && JSON.stringify(spec) !== JSON.stringify(original)) {
          const outcome = this.target.outcome(spec, current);
          if ('delete' in outcome) {
            if (current) await this.store.delete(this.target.kind, '', name, current.revision);
          } else if (current) {
            await this.store.update(this.normalize({ ...current.document, spec: outcome.spec }), current.revision);
          } else {
            await this.store.create(this.normalize(this.target.document(name, outcome.spec)));
          }
        }
      } catch (err) {
        const raced =
          err instanceof ConflictError ||
          err instanceof NotFoundError ||
          (current === undefined && err instanceof AlreadyExistsError);
        if (raced && attempt < MAX_ATTEMPTS) {
          this.conflicts++;
          await sleep(Math.random() * Math.min(50, 2 * attempt));
          continue;
        }
        if (raced)
          this.log.warn(
            { kind: this.target.kind, name, attempts: attempt },
            'gave up writing after repeated conflicts',
          );
        for (const p of batch) p.reject(err);
        return;
      }
      batch.forEach((p, i) => {
        const r = results[i]!;
        if (r.ok) p.resolve(r.value);
        else p.reject(r.err);
      });
      return;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
