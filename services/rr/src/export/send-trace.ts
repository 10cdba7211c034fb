// The trace of an origination, carried into the UPDATEs it causes. Datastore mode hands the
// reflector the trace contexts of the changes that (re)originated or withdrew routes; the
// exporter's steps until the work they caused is done open one "bgp update-group send" span per
// context around each update group's send (not per member: the bytes are encoded once per group),
// with the group, its members and what was sent as attributes.
//
// Which context a given prefix came from is not tracked: that would put a field on every
// destination of the RIB for the rare sampled change. A step that sends an origination's prefixes
// sends them under every context pending at that moment (usually one).
import type { Context } from '@opentelemetry/api';
import { contextFromTraceparent, isTracing, SPAN_KIND, tracer } from '../../../shared/tracing/index.js';

/** Contexts kept at most: a burst of traced changes is sampled anyway. */
const MAX_PENDING = 16;

export interface SendSpanEnd {
  (sent: { updates: number; announced: number; withdrawn: number }): void;
}

export class SendTraces {
  private contexts: Context[] = [];

  /** True when a send should open spans (tracing on and an origination pending). */
  get active(): boolean {
    return this.contexts.length > 0;
  }

  /** Traced originations whose UPDATEs are about to be sent. */
  add(traceparents: readonly string[]): void {
    if (!isTracing()) return;
    for (const tp of traceparents)
      if (this.contexts.length < MAX_PENDING) this.contexts.push(contextFromTraceparent(tp));
  }

  /** The work of the pending originations is done (the exporter has nothing left to run). */
  clear(): void {
    if (this.contexts.length > 0) this.contexts = [];
  }

  /** Opens the spans of one group's send; call the result once the send is written. */
  start(groupId: number, members: number): SendSpanEnd {
    const spans = this.contexts.map((ctx) =>
      tracer().startSpan(
        'bgp update-group send',
        { kind: SPAN_KIND.PRODUCER, attributes: { 'meshless.update_group': groupId, 'meshless.members': members } },
        ctx,
      ),
    );
    return (sent) => {
      for (const span of spans) {
        span.setAttributes({
          'meshless.updates': sent.updates,
          'meshless.prefixes_announced': sent.announced,
          'meshless.prefixes_withdrawn': sent.withdrawn,
        });
        span.end();
      }
    };
  }
}
