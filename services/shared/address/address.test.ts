import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIpv6, ipv4ToUint32 } from './index.js';

/** Node's WHATWG URL host serializer: an independent RFC 5952-style formatter. */
function whatwg(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

test('IPv6 text is RFC 5952: longest zero run, first on ties, mapped IPv4 kept dotted', () => {
  const v6 = (...groups: number[]) => Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
  assert.equal(formatIpv6(v6(0, 0, 0, 0, 0, 0, 0, 0)), '::');
  assert.equal(formatIpv6(v6(0, 0, 0, 0, 0, 0, 0, 1)), '::1');
  assert.equal(formatIpv6(v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)), '2001:db8::1:0:0:1');
  assert.equal(formatIpv6(v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1)), '2001:db8:0:1:1:1:1:1');
  assert.equal(formatIpv6(v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201)), '::ffff:192.0.2.1');
  assert.equal(formatIpv6(v6(0, 0, 0, 0, 0, 0, 0x0102, 0x0304)), '::102:304');
  const framed = new Uint8Array(20);
  framed.set(v6(0xfe80, 0, 0, 0, 0, 0, 0, 1), 4);
  assert.equal(formatIpv6(framed, 4), 'fe80::1');
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), (bytes, sparse) => {
      if (sparse) for (let i = 0; i < 16; i++) if (bytes[i]! < 200) bytes[i] = 0;
      const text = formatIpv6(bytes);
      if (!text.startsWith('::ffff:')) assert.equal(text, whatwg(bytes));
    }),
  );
});

test('a BGP identifier compares as its unsigned 32-bit number', () => {
  assert.equal(ipv4ToUint32('0.0.0.0'), 0);
  assert.equal(ipv4ToUint32('10.0.0.1'), 0x0a000001);
  assert.equal(ipv4ToUint32('255.255.255.255'), 0xffffffff);
  assert.ok(ipv4ToUint32('192.0.2.2') > ipv4ToUint32('192.0.2.1'));
  assert.equal(ipv4ToUint32('1.2.3'), 0);
});
