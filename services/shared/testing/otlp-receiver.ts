// A minimal OTLP/HTTP trace receiver for tests: accepts POST /v1/traces in JSON (http/json) and
// protobuf (http/protobuf), keeps every span it is sent with its service name. Protobuf bodies are
// decoded with the ExportTraceServiceRequest schema written out below (the fields this test needs;
// OTLP's trace.proto numbers them), so the receiver checks what actually went over the wire.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BinaryReader } from '@bufbuild/protobuf/wire';

export interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, string>;
  contentType: string;
}

export interface OtlpReceiver {
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  close(): Promise<void>;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function anyValue(r: BinaryReader, end: number): string {
  let v = '';
  while (r.pos < end) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 2) v = r.string();
    else if (field === 3 && wire === 0) v = String(r.int64());
    else if (field === 2 && wire === 0) v = String(r.bool());
    else r.skip(wire);
  }
  return v;
}

function keyValue(r: BinaryReader, end: number, into: Record<string, string>): void {
  let key = '';
  let value = '';
  while (r.pos < end) {
    const [field, wire] = r.tag();
    if (field === 1) key = r.string();
    else if (field === 2) {
      const len = r.uint32();
      value = anyValue(r, r.pos + len);
    } else r.skip(wire);
  }
  into[key] = value;
}

/** ExportTraceServiceRequest{1: ResourceSpans{1: Resource{1: KeyValue}, 2: ScopeSpans{2: Span}}}. */
function decodeProtobuf(body: Uint8Array, contentType: string): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const r = new BinaryReader(body);
  while (r.pos < body.length) {
    const [field, wire] = r.tag();
    if (field !== 1) {
      r.skip(wire);
      continue;
    }
    const rsEnd = r.uint32() + r.pos;
    const resource: Record<string, string> = {};
    const spans: Omit<ReceivedSpan, 'service'>[] = [];
    while (r.pos < rsEnd) {
      const [f, w] = r.tag();
      if (f === 1) {
        const resEnd = r.uint32() + r.pos;
        while (r.pos < resEnd) {
          const [rf, rw] = r.tag();
          if (rf === 1) keyValue(r, r.uint32() + r.pos, resource);
          else r.skip(rw);
        }
      } else if (f === 2) {
        const ssEnd = r.uint32() + r.pos;
        while (r.pos < ssEnd) {
          const [sf, sw] = r.tag();
          if (sf !== 2) {
            r.skip(sw);
            continue;
          }
          const spanEnd = r.uint32() + r.pos;
          const span = {
            name: '',
            traceId: '',
            spanId: '',
            parentSpanId: '',
            attributes: {} as Record<string, string>,
            contentType,
          };
          while (r.pos < spanEnd) {
            const [pf, pw] = r.tag();
            if (pf === 1) span.traceId = hex(r.bytes());
            else if (pf === 2) span.spanId = hex(r.bytes());
            else if (pf === 4) span.parentSpanId = hex(r.bytes());
            else if (pf === 5) span.name = r.string();
            else if (pf === 9) keyValue(r, r.uint32() + r.pos, span.attributes);
            else r.skip(pw);
          }
          spans.push(span);
        }
      } else r.skip(w);
    }
    for (const s of spans) out.push({ ...s, service: resource['service.name'] ?? '' });
  }
  return out;
}

interface JsonKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
}

function decodeJson(body: string, contentType: string): ReceivedSpan[] {
  const attrs = (kvs: JsonKeyValue[] = []) =>
    Object.fromEntries(
      kvs.map((kv) => [kv.key, String(kv.value.stringValue ?? kv.value.intValue ?? kv.value.boolValue ?? '')]),
    );
  const req = JSON.parse(body) as {
    resourceSpans: Array<{
      resource?: { attributes?: JsonKeyValue[] };
      scopeSpans: Array<{
        spans: Array<{
          name: string;
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          attributes?: JsonKeyValue[];
        }>;
      }>;
    }>;
  };
  return req.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => ({
        service: attrs(rs.resource?.attributes)['service.name'] ?? '',
        name: s.name,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        attributes: attrs(s.attributes),
        contentType,
      })),
    ),
  );
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const contentType = req.headers['content-type'] ?? '';
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      spans.push(
        ...(contentType.includes('json')
          ? decodeJson(body.toString('utf8'), contentType)
          : decodeProtobuf(body, contentType)),
      );
      res
        .writeHead(200, {
          'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf',
        })
        .end(contentType.includes('json') ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
