// Tracing off, in a process that never started it: the span kinds services use are the API's
// values, and every tracing helper works without the OpenTelemetry API having been loaded (they
// used to import it on every service's start; infra/build.test.ts checks the services' graphs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  continueTraces,
  contextFromTraceparent,
  contextWithSpan,
  injectTraceparent,
  inSpan,
  isTracing,
  SPAN_KIND,
  SPAN_STATUS_ERROR,
  tracer,
} from './index.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

test("SPAN_KIND and SPAN_STATUS_ERROR are the API's values", () => {
  assert.deepEqual(SPAN_KIND, {
    INTERNAL: SpanKind.INTERNAL,
    SERVER: SpanKind.SERVER,
    CLIENT: SpanKind.CLIENT,
    PRODUCER: SpanKind.PRODUCER,
    CONSUMER: SpanKind.CONSUMER,
  });
  assert.equal(SPAN_STATUS_ERROR, SpanStatusCode.ERROR);
});

test('while tracing is off, spans record nothing and no trace context is made or passed on', async () => {
  assert.equal(isTracing(), false);
  const span = tracer().startSpan('x', { kind: SPAN_KIND.PRODUCER });
  assert.equal(span.isRecording(), false);
  assert.equal(span.setAttribute('a', 1), span);
  span.end();

  const ctx = contextFromTraceparent(TRACEPARENT);
  assert.equal(ctx.getValue(Symbol.for('anything')), undefined);
  assert.equal(injectTraceparent(ctx), undefined, 'a received traceparent is not continued');
  assert.equal(contextWithSpan(ctx, span), ctx);

  const result = await inSpan('op', { kind: SPAN_KIND.SERVER, parent: ctx }, async (s) => {
    assert.equal(s.isRecording(), false);
    return 42;
  });
  assert.equal(result, 42);
  await assert.rejects(
    inSpan('failing op', {}, async () => {
      throw new Error('boom');
    }),
    /boom/,
  );

  const items = [{ traceparent: TRACEPARENT }];
  assert.equal(
    continueTraces('hop', items, () => ({}), SPAN_KIND.CONSUMER),
    undefined,
  );
  assert.equal(items[0]!.traceparent, TRACEPARENT, 'the item keeps the traceparent it came with');
});
