import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import {
  addressAt,
  addressOrdinal,
  bigIntToIp,
  blockAt,
  blockCount,
  blockIndex,
  cidrContains,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  ipToBigInt,
  ipToString,
  parseCidr,
  parseIp,
  ResourceError,
  tryParseCidr,
  tryParseInterfaceAddress,
  tryParseIp,
} from './index.js';

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

/** Node's WHATWG URL host serializer: an independent RFC 5952-style IPv6 formatter. */
const whatwgIpv6 = (text: string) => new URL(`http://[${text}]/`).hostname.slice(1, -1);

test('IPv4 parsing and formatting', () => {
  assert.deepEqual([...parseIp('10.1.2.3').bytes], [10, 1, 2, 3]);
  assert.equal(ipToString(parseIp('0.0.0.0')), '0.0.0.0');
  assert.equal(ipToString(parseIp('255.255.255.255')), '255.255.255.255');
  for (const bad of [
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.-1',
    ' 1.2.3.4',
    '1.2.3.4 ',
    'a.b.c.d',
    '',
    '1..2.3',
  ]) {
    assert.equal(typeof tryParseIp(bad), 'string', bad);
  }
  assert.throws(
    () => parseIp('300.1.1.1'),
    (e: unknown) => e instanceof ResourceError && /'300.1.1.1' is not a valid IP address/.test(e.message),
  );
});

test('IPv6 parsing and RFC 5952 formatting', () => {
  const cases: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['1::2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['fe80::', 'fe80::'],
  ];
  for (const [input, canonical] of cases) assert.equal(ipToString(parseIp(input)), canonical, input);
  for (const bad of [
    ':',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::',
    'g::1',
    'fe80::1%eth0',
    '::1.2.3',
    '1:2:3:4:5:6:7',
    '[::1]',
  ]) {
    assert.equal(typeof tryParseIp(bad), 'string', bad);
  }
});

test('CIDR parsing: canonical text, strictness flag, bare addresses', () => {
  const c = parseCidr('10.1.2.3/16');
  assert.equal(c.text, '10.1.0.0/16');
  assert.equal(c.canonical, false);
  assert.equal(parseCidr('10.1.0.0/16').canonical, true);
  assert.equal(parseCidr('FD00:0::/8').text, 'fd00::/8');
  assert.equal(parseCidr('FD00:0::/8').canonical, false);
  assert.equal(parseCidr('10.0.0.1', { allowBareIp: true }).text, '10.0.0.1/32');
  assert.equal(parseCidr('fd00::1', { allowBareIp: true }).text, 'fd00::1/128');
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0.0/', 'fd00::/129', '/8', 'x/8']) {
    assert.equal(typeof tryParseCidr(bad), 'string', bad);
  }
  assert.match(tryParseCidr('10.0.0.0/33') as string, /prefix length must be 0-32/);
  assert.match(tryParseCidr('10.0.0.0') as string, /not a CIDR/);
  const a = tryParseInterfaceAddress('10.0.1.11/24');
  assert.ok(typeof a !== 'string');
  assert.equal(a.text, '10.0.1.11/24');
  assert.equal(a.network.text, '10.0.1.0/24');
});

test('containment, overlap, sizes and blocks (examples)', () => {
  assert.ok(cidrContains('10.0.0.0/8', '10.1.0.0/16'));
  assert.ok(!cidrContains('10.1.0.0/16', '10.0.0.0/8'));
  assert.ok(cidrContains('10.0.0.0/8', parseIp('10.255.255.255')));
  assert.ok(!cidrContains('10.0.0.0/8', '11.0.0.0/8'));
  assert.ok(!cidrContains('::/0', '10.0.0.0/8'), 'families never contain each other');
  assert.ok(cidrsOverlap('10.0.0.0/8', '10.1.0.0/16'));
  assert.ok(!cidrsOverlap('10.0.0.0/16', '10.1.0.0/16'));
  assert.ok(!cidrsOverlap('0.0.0.0/0', '::/0'));
  assert.equal(cidrSize('10.0.0.0/24'), 256n);
  assert.equal(cidrSize('fd00::/64'), 1n << 64n);
  assert.equal(blockCount('10.244.0.0/16', 26), 1024n);
  assert.equal(blockAt('10.244.0.0/16', 26, 0).text, '10.244.0.0/26');
  assert.equal(blockAt('10.244.0.0/16', 26, 5).text, '10.244.1.64/26');
  assert.equal(blockAt('10.244.0.0/16', 26, 1023).text, '10.244.255.192/26');
  assert.throws(() => blockAt('10.244.0.0/16', 26, 1024), RangeError);
  assert.throws(() => blockAt('10.244.0.0/16', 12, 0), /does not fit/);
  assert.equal(blockCount('fd00:10:244::/48', 122), 1n << 74n);
  const last = blockAt('fd00:10:244::/48', 122, (1n << 74n) - 1n);
  assert.equal(last.text, 'fd00:10:244:ffff:ffff:ffff:ffff:ffc0/122');
  assert.equal(blockIndex('fd00:10:244::/48', last), (1n << 74n) - 1n);
  assert.equal(blockIndex('10.244.0.0/16', '10.245.0.0/26'), undefined);
  assert.equal(ipToString(addressAt('10.244.1.64/26', 63)), '10.244.1.127');
  assert.equal(addressOrdinal('10.244.1.64/26', '10.244.1.70'), 6n);
  assert.equal(addressOrdinal('10.244.1.64/26', '10.244.1.128'), undefined);
  assert.equal(formatCidr(parseCidr('fd00::/8')), 'fd00::/8');
  assert.throws(() => bigIntToIp(1n << 32n, 4), /4294967296 is outside the IPv4 address space/);
  assert.throws(() => addressAt('10.0.0.0/30', 4), /ordinal 4 is outside 10.0.0.0\/30/);
});

const v4 = fc.bigInt({ min: 0n, max: V4_MAX });
const v6 = fc.bigInt({ min: 0n, max: V6_MAX });

for (const [family, gen, bits] of [
  [4, v4, 32],
  [6, v6, 128],
] as const) {
  test(`property: IPv${family} text round-trips and matches Node's formatter`, () => {
    fc.assert(
      fc.property(gen, (n) => {
        const ip = bigIntToIp(n, family);
        const text = ipToString(ip);
        assert.equal(isIP(text), family);
        assert.equal(ipToBigInt(parseIp(text)), n);
        if (family === 6 && !text.startsWith('::ffff:')) assert.equal(text, whatwgIpv6(text.toUpperCase()));
      }),
      { numRuns: 2000 },
    );
  });

  test(`property: IPv${family} CIDR containment and overlap agree with interval arithmetic and Node's BlockList`, () => {
    const cidrGen = fc
      .tuple(gen, fc.integer({ min: 0, max: bits }))
      .map(([n, p]) => parseCidr(`${ipToString(bigIntToIp(n, family))}/${p}`));
    fc.assert(
      fc.property(cidrGen, cidrGen, gen, (a, b, addr) => {
        const range = (c: typeof a) => {
          const start = ipToBigInt({ family, bytes: c.address });
          return [start, start + cidrSize(c) - 1n] as const;
        };
        const [as, ae] = range(a);
        const [bs, be] = range(b);
        assert.equal(cidrsOverlap(a, b), as <= be && bs <= ae);
        assert.equal(cidrsOverlap(a, b), cidrsOverlap(b, a));
        assert.equal(cidrContains(a, b), as <= bs && be <= ae);
        // CIDRs either nest or are disjoint.
        assert.equal(cidrsOverlap(a, b), cidrContains(a, b) || cidrContains(b, a));
        const ip = bigIntToIp(addr, family);
        const list = new BlockList();
        list.addSubnet(ipToString({ family, bytes: a.address }), a.prefixLength, family === 4 ? 'ipv4' : 'ipv6');
        assert.equal(cidrContains(a, ip), list.check(ipToString(ip), family === 4 ? 'ipv4' : 'ipv6'));
        assert.equal(parseCidr(a.text).text, a.text, 'canonical text is stable');
        assert.ok(parseCidr(a.text).canonical);
      }),
      { numRuns: 1000 },
    );
  });

  test(`property: IPv${family} blocks tile the pool in order`, () => {
    const gen2 = fc
      .tuple(
        gen,
        fc.integer({ min: 0, max: bits }),
        fc.integer({ min: 0, max: bits }),
        fc.bigInt({ min: 0n, max: V6_MAX }),
      )
      .map(([n, p, q, r]) => {
        const poolPrefix = Math.min(p, q);
        const blockSize = Math.max(p, q);
        const pool = parseCidr(`${ipToString(bigIntToIp(n, family))}/${poolPrefix}`);
        return { pool, blockSize, index: r % blockCount(pool, blockSize) };
      });
    fc.assert(
      fc.property(gen2, ({ pool, blockSize, index }) => {
        const block = blockAt(pool, blockSize, index);
        assert.equal(block.prefixLength, blockSize);
        assert.ok(cidrContains(pool, block));
        assert.equal(blockIndex(pool, block), index);
        const first = ipToBigInt(addressAt(block, 0));
        assert.equal(first, ipToBigInt({ family, bytes: pool.address }) + index * cidrSize(block));
        if (index + 1n < blockCount(pool, blockSize)) {
          const next = blockAt(pool, blockSize, index + 1n);
          assert.ok(!cidrsOverlap(block, next));
          assert.equal(ipToBigInt({ family, bytes: next.address }), first + cidrSize(block));
        }
        const lastAddr = addressAt(block, cidrSize(block) - 1n);
        assert.equal(addressOrdinal(block, lastAddr), cidrSize(block) - 1n);
      }),
      { numRuns: 1000 },
    );
  });
}

test('property: address validity agrees with Node for text over the address alphabet', () => {
  const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''));
  fc.assert(
    fc.property(
      fc.array(chars, { maxLength: 45 }).map((a) => a.join('')),
      (s) => {
        const r = tryParseIp(s);
        assert.equal(typeof r === 'string' ? 0 : r.family, isIP(s), s);
      },
    ),
    { numRuns: 5000 },
  );
  // Structured near-misses: dotted quads and IPv6 groups with random compression.
  const quad = fc.tuple(...Array.from({ length: 4 }, () => fc.integer({ min: 0, max: 300 }))).map((q) => q.join('.'));
  const groups = fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 9 }),
      fc.integer({ min: -1, max: 9 }),
    )
    .map(([g, at]) => {
      const hex = g.map((x) => x.toString(16));
      if (at >= 0 && at <= hex.length) return `${hex.slice(0, at).join(':')}::${hex.slice(at).join(':')}`;
      return hex.join(':');
    });
  fc.assert(
    fc.property(fc.oneof(quad, groups), (s) => {
      const r = tryParseIp(s);
      assert.equal(typeof r === 'string' ? 0 : r.family, isIP(s), s);
    }),
    { numRuns: 5000 },
  );
});
