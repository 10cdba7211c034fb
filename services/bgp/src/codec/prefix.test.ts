import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  community,
  formatCommunity,
  makePrefix,
  parseCommunity,
  parsePrefix,
  prefixAddress,
  prefixEquals,
  prefixKey,
  prefixToString,
} from './index.js';
import { ipv6ToString, parseIpv6 } from './address.js';

describe('Prefix', () => {
  it('keeps only significant octets and zeroes bits past the length', () => {
    const p = makePrefix(4, new Uint8Array([10, 1, 0xff, 9]), 20);
    assert.deepEqual([...p.bytes], [10, 1, 0xf0]);
    assert.equal(prefixToString(p), '10.1.240.0/20');
    assert.deepEqual([...prefixAddress(p)], [10, 1, 240, 0]);
  });
  it('parses and prints IPv4 and IPv6 (RFC 5952)', () => {
    for (const t of [
      '0.0.0.0/0',
      '10.0.0.0/8',
      '192.0.2.128/25',
      '2001:db8::/32',
      '::/0',
      'fe80::/10',
      '2001:db8:0:1::/64',
    ])
      assert.equal(prefixToString(parsePrefix(t)), t);
    assert.equal(prefixKey(parsePrefix('2001:DB8:0:0::/32')), '2001:db8::/32');
  });
  it('rejects bad text, lengths and host bits with the field named', () => {
    assert.throws(() => parsePrefix('10.0.0.0'), /prefix: "10.0.0.0" has no "\/length"/);
    assert.throws(() => parsePrefix('10.0.0.1/24'), /host bits set past \/24/);
    assert.throws(() => parsePrefix('10.0.0.0/33'), /prefix.length: 33 is outside 0..32/);
    assert.throws(() => parsePrefix('010.0.0.0/8'), /not an IPv4 address/);
    assert.throws(() => parsePrefix('2001:db8::1::/64'), /more than one "::"/);
    assert.throws(() => makePrefix(4, new Uint8Array([10]), 24), /prefix.bytes: 1 octets cannot hold a \/24/);
  });
  it('compares by family, network, length and path id', () => {
    assert.ok(prefixEquals(parsePrefix('10.0.0.0/8'), makePrefix(4, new Uint8Array([10, 9]), 8)));
    assert.ok(!prefixEquals(parsePrefix('10.0.0.0/8', 1), parsePrefix('10.0.0.0/8', 2)));
  });
});

describe('IPv6 text', () => {
  it('compresses the longest zero run and keeps embedded IPv4 forms', () => {
    assert.equal(ipv6ToString(parseIpv6('2001:db8:0:0:1:0:0:1', 'x')), '2001:db8::1:0:0:1');
    assert.equal(ipv6ToString(parseIpv6('::ffff:192.0.2.1', 'x')), '::ffff:192.0.2.1');
    assert.equal(ipv6ToString(parseIpv6('1:0:2:3:4:5:6:7', 'x')), '1:0:2:3:4:5:6:7');
  });
});

describe('communities', () => {
  it('formats and parses asn:value', () => {
    assert.equal(community(65001, 100), 0xfde90064);
    assert.equal(formatCommunity(0xfde90064), '65001:100');
    assert.equal(parseCommunity('65535:65281'), 0xffffff01);
    assert.throws(() => community(70000, 1), /community.asn: 70000/);
  });
});
