// Bad input of every sort gets a clear status naming the field, and the service stays up.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { InvalidArgumentError, ResourceExhaustedError } from '../../../shared/errors/index.js';
import { FIELD_METADATA_KEY } from '../../../shared/grpc-status/index.js';
import { startTestDatastore, type TestDatastore } from '../testing/index.js';

let t: TestDatastore;
let raw: Client;
before(async () => {
  t = await startTestDatastore();
  raw = new Client(t.datastore.address, credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
});
after(async () => {
  raw.close();
  await t.stop();
});

const V3 = 'projectcalico.org/v3';

interface RawStatus {
  code: number;
  details: string;
  field: string | undefined;
}

/** Sends `bytes` as the request of `method`, with no client-side encoding at all. */
function rawUnary(method: string, bytes: Uint8Array): Promise<RawStatus> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest(
      `/meshless.v1.DatastoreService/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes),
      new Metadata(),
      {},
      (err: ServiceError | null) => {
        const field = err?.metadata?.get(FIELD_METADATA_KEY)[0];
        resolve({
          code: err?.code ?? status.OK,
          details: err?.details ?? '',
          field: field === undefined ? undefined : String(field),
        });
      },
    );
  });
}

function rawWatch(bytes: Uint8Array): Promise<RawStatus> {
  return new Promise((resolve) => {
    const call = raw.makeServerStreamRequest(
      `/meshless.v1.DatastoreService/Watch`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes),
    );
    call.on('data', () => call.cancel());
    call.on('error', (err: ServiceError) => {
      const field = err.metadata?.get(FIELD_METADATA_KEY)[0];
      resolve({ code: err.code, details: err.details, field: field === undefined ? undefined : String(field) });
    });
    call.on('end', () => resolve({ code: status.OK, details: '', field: undefined }));
  });
}

/** Protobuf bytes by hand: [field number, wire type, payload bytes]. */
function pb(...fields: Array<[number, number, Uint8Array | number[]]>): Uint8Array {
  const out: number[] = [];
  const varint = (v: bigint) => {
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      out.push(b);
    } while (v > 0n);
  };
  for (const [no, wt, payload] of fields) {
    varint(BigInt((no << 3) | wt));
    if (wt === 2) varint(BigInt(payload.length));
    out.push(...payload);
  }
  return Uint8Array.from(out);
}
const varintBytes = (v: bigint): number[] => {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
};
const text = (s: string) => new TextEncoder().encode(s);

async function stillServing(): Promise<void> {
  const r = await t.client.apply({ apiVersion: V3, kind: 'Profile', metadata: { name: 'canary' }, spec: {} });
  assert.equal(r.resource.metadata.name, 'canary');
}

test('undecodable and wrong-typed gRPC requests: INVALID_ARGUMENT naming the field', async () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['Create', Uint8Array.from([0xff, 0xff, 0xff, 0xff]), 'request'],
    ['Create', pb([1, 2, text('{}')]).subarray(0, 3), 'request'],
    ['Create', pb([1, 0, varintBytes(7n)]), 'json'],
    ['Get', pb([1, 0, varintBytes(1n)]), 'kind'],
    ['Get', pb([1, 2, text('Profile')], [3, 5, [1, 2, 3, 4]]), 'name'],
    ['Get', pb([1, 2, text('Profile')], [3, 2, [0xc3, 0x28]]), 'name'],
    ['List', pb([3, 1, [0, 0, 0, 0, 0, 0, 0, 0]]), 'label_selector'],
    ['Delete', pb([1, 2, text('Profile')], [3, 2, text('x')], [4, 2, text('12')]), 'revision'],
    ['Update', pb([1, 2, text('{}')], [2, 0, varintBytes(1n << 60n)]), 'revision'],
    ['AllocateBlock', pb([1, 2, text('n1')], [3, 0, varintBytes(1n << 40n)]), 'ip_version'],
    ['AllocateBlock', pb([1, 2, text('n1')], [3, 0, varintBytes(5n)]), 'ip_version'],
    ['ReleaseBlocks', pb([1, 0, varintBytes(3n)]), 'node'],
  ];
  for (const [method, bytes, field] of cases) {
    const st = await rawUnary(method, bytes);
    assert.equal(st.code, status.INVALID_ARGUMENT, `${method} ${Buffer.from(bytes).toString('hex')}: ${st.details}`);
    assert.equal(st.field, field, `${method}: ${st.details}`);
    assert.ok(st.details.startsWith(`${field}:`), st.details);
  }
  const w = await rawWatch(pb([2, 0, varintBytes(1n)]));
  assert.equal(w.code, status.INVALID_ARGUMENT);
  assert.equal(w.field, 'kinds');
  const g = await rawWatch(Uint8Array.from([0x12, 0x05, 0x41]));
  assert.equal(g.code, status.INVALID_ARGUMENT);
  assert.equal(g.field, 'request');
  // Unknown field numbers are ignored (proto3): a newer client's extra field does not break old servers.
  const ok = await rawUnary('List', pb([1, 2, text('Profile')], [99, 0, varintBytes(1n)]));
  assert.equal(ok.code, status.OK);
  await stillServing();
});

test('missing fields: INVALID_ARGUMENT naming the field', async () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['Create', new Uint8Array(0), 'json'],
    ['Apply', new Uint8Array(0), 'json'],
    ['Get', new Uint8Array(0), 'kind'],
    ['Get', pb([1, 2, text('Profile')]), 'name'],
    ['List', new Uint8Array(0), 'kind'],
    ['Delete', pb([1, 2, text('IPPool')]), 'name'],
    ['AllocateBlock', new Uint8Array(0), 'node'],
    ['ReleaseBlocks', new Uint8Array(0), 'node'],
  ];
  for (const [method, bytes, field] of cases) {
    const st = await rawUnary(method, bytes);
    assert.equal(st.code, status.INVALID_ARGUMENT, `${method}: ${st.details}`);
    assert.equal(st.field, field, `${method}: ${st.details}`);
  }
  await stillServing();
});

test('bad documents: a clear INVALID_ARGUMENT naming the field', async () => {
  const expectField = async (doc: unknown, field: string, pattern: RegExp) => {
    await assert.rejects(t.client.create(doc as object), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, String(e));
      assert.equal(e.field, field, e.message);
      assert.match(e.message, pattern);
      return true;
    });
  };
  await expectField({ apiVersion: V3, kind: 'Gadget', metadata: { name: 'x' } }, 'kind', /unknown kind 'Gadget'/);
  await expectField(
    { apiVersion: 'projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'x' }, spec: { cidr: '10.0.0.0/16' } },
    'apiVersion',
    /projectcalico\.org\/v3/,
  );
  await expectField(
    { kind: 'IPPool', metadata: { name: 'x' }, spec: { cidr: '10.0.0.0/16' } },
    'apiVersion',
    /required/,
  );
  await expectField(
    { apiVersion: V3, kind: 'IPPool', metadata: { name: 'Bad_Name' }, spec: { cidr: '10.0.0.0/16' } },
    'metadata.name',
    /Bad_Name|lower case/,
  );
  await expectField(
    { apiVersion: V3, kind: 'IPPool', metadata: { name: 'a'.repeat(300) }, spec: { cidr: '10.0.0.0/16' } },
    'metadata.name',
    /253/,
  );
  await expectField(
    { apiVersion: V3, kind: 'IPPool', metadata: {}, spec: { cidr: '10.0.0.0/16' } },
    'metadata.name',
    /required/,
  );
  await expectField(
    { apiVersion: V3, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', blockSize: 40 } },
    'spec.blockSize',
    /out of range/,
  );
  await expectField(
    { apiVersion: V3, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/33' } },
    'spec.cidr',
    /./,
  );
  await expectField(
    { apiVersion: V3, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', colour: 'red' } },
    'spec.colour',
    /unknown field/,
  );
  await expectField(
    { apiVersion: V3, kind: 'Profile', metadata: { name: 'p', resourceVersion: 'abc' }, spec: {} },
    'metadata.resourceVersion',
    /revision/,
  );
  await assert.rejects(
    t.client.create([1, 2, 3]),
    (e: unknown) => e instanceof InvalidArgumentError && /expected a resource/.test(e.message),
  );

  const rawJson = async (json: string) => rawUnary('Create', pb([1, 2, text(json)]));
  const notJson = await rawJson('{"apiVersion": ');
  assert.equal(notJson.code, status.INVALID_ARGUMENT);
  assert.equal(notJson.field, 'json');
  assert.match(notJson.details, /not valid JSON/);
  const badUtf8 = await rawUnary('Create', pb([1, 2, [0x7b, 0xc3, 0x28, 0x7d]]));
  assert.equal(badUtf8.field, 'json');

  const badNames: Array<[string, string]> = [
    ['Profile', 'a.*'],
    ['Profile', 'a b'],
    ['Profile', '>'],
    ['Profile', 'UPPER'],
  ];
  for (const [kind, name] of badNames) {
    await assert.rejects(
      t.client.get(kind, name),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === 'name',
    );
    await assert.rejects(
      t.client.delete(kind, name),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === 'name',
    );
  }
  await assert.rejects(
    t.client.get('WorkloadEndpoint', 'x', 'Bad.NS'),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'namespace',
  );
  await assert.rejects(
    t.client.list('Gadgets'),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'kind' && /known kinds/.test(e.message),
  );
  await stillServing();
});

test('a 10 MB request is refused with RESOURCE_EXHAUSTED; a 2 MB document too; the service stays up', async () => {
  const huge = {
    apiVersion: V3,
    kind: 'Profile',
    metadata: { name: 'huge', annotations: { blob: 'x'.repeat(10 * 1024 * 1024) } },
    spec: {},
  };
  await assert.rejects(t.client.create(huge), (e: unknown) => {
    assert.ok(e instanceof ResourceExhaustedError, String(e));
    assert.match(e.message, /larger than max|10485/);
    return true;
  });
  await stillServing();
  const big = {
    apiVersion: V3,
    kind: 'Profile',
    metadata: { name: 'big', annotations: { blob: 'x'.repeat(2 * 1024 * 1024) } },
    spec: {},
  };
  await assert.rejects(t.client.create(big), (e: unknown) => {
    assert.ok(e instanceof ResourceExhaustedError, String(e));
    assert.match(e.message, /json: the document is \d+ bytes; the datastore stores at most \d+ bytes/);
    return true;
  });
  await stillServing();
  // Many bad requests at once do not take the server down either.
  await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      rawUnary(['Create', 'Get', 'List', 'Delete', 'Watch'][i % 4]!, Uint8Array.from([0xff, i])),
    ),
  );
  await stillServing();
});
