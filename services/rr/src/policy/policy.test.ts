import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBgpFilter, parseCommunity } from './filter.js';
import { evaluateRules, type RouteFacts } from './evaluate.js';
import { PeerPolicy } from './peer-policy.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { PathAttributes } from '../../../bgp/index.js';

const attrs: PathAttributes = {
  origin: 0,
  asPath: [{ type: 2, asns: [65001, 65002] }],
  atomicAggregate: false,
  unknown: [],
  localPref: 100,
  communities: [0xfde80007],
};

function facts(cidr: string, extra: Partial<RouteFacts> = {}): RouteFacts {
  const [addr, len] = cidr.split('/');
  const v6 = addr!.includes(':');
  const network = new Uint8Array(v6 ? 16 : 4);
  if (!v6) addr!.split('.').forEach((o, i) => (network[i] = Number(o)));
  else {
    const [h, t] = addr!.split('::');
    const hw = h ? h.split(':') : [];
    const tw = t ? t.split(':') : [];
    const words = [...hw, ...new Array(8 - hw.length - tw.length).fill('0'), ...tw];
    words.forEach((w, i) => {
      network[2 * i] = parseInt(w, 16) >> 8;
      network[2 * i + 1] = parseInt(w, 16) & 255;
    });
  }
  return { afi: v6 ? 6 : 4, network, length: Number(len), attrs, originated: false, ...extra };
}

function verdict(rule: Record<string, unknown>, f: RouteFacts, peerType: 'eBGP' | 'iBGP' = 'eBGP'): string {
  const filter = parseBgpFilter('t', f.afi === 4 ? { exportV4: [rule] } : { exportV6: [rule] });
  return evaluateRules(f.afi === 4 ? filter.exportV4 : filter.exportV6, f, peerType).kind;
}

describe('BGPFilter matching (Calico semantics)', () => {
  const cases: [string, Record<string, unknown>, RouteFacts, string][] = [
    [
      'Equal matches the exact prefix',
      { action: 'Accept', cidr: '10.0.0.0/24', matchOperator: 'Equal' },
      facts('10.0.0.0/24'),
      'accept',
    ],
    [
      'Equal does not match a longer prefix',
      { action: 'Accept', cidr: '10.0.0.0/24', matchOperator: 'Equal' },
      facts('10.0.0.0/26'),
      'no-match',
    ],
    ['NotEqual', { action: 'Reject', cidr: '10.0.0.0/24', matchOperator: 'NotEqual' }, facts('10.0.0.0/26'), 'reject'],
    [
      'In matches contained prefixes',
      { action: 'Accept', cidr: '10.0.0.0/16', matchOperator: 'In' },
      facts('10.0.7.0/26'),
      'accept',
    ],
    [
      'In does not match a shorter prefix',
      { action: 'Accept', cidr: '10.0.0.0/16', matchOperator: 'In' },
      facts('10.0.0.0/8'),
      'no-match',
    ],
    [
      'In with prefixLength',
      { action: 'Accept', cidr: '10.0.0.0/16', matchOperator: 'In', prefixLength: { min: 26, max: 28 } },
      facts('10.0.7.0/24'),
      'no-match',
    ],
    ['NotIn', { action: 'Reject', cidr: '10.0.0.0/16', matchOperator: 'NotIn' }, facts('11.0.0.0/26'), 'reject'],
    [
      'host bits in the filter CIDR are masked',
      { action: 'Accept', cidr: '10.0.0.9/16', matchOperator: 'In' },
      facts('10.0.1.0/24'),
      'accept',
    ],
    ['IPv6 In', { action: 'Accept', cidr: 'fd00::/8', matchOperator: 'In' }, facts('fd12:3456::/122'), 'accept'],
    [
      'source RemotePeers skips originated routes',
      { action: 'Reject', source: 'RemotePeers' },
      facts('10.0.0.0/26', { originated: true }),
      'no-match',
    ],
    [
      'source RemotePeers matches learned routes',
      { action: 'Reject', source: 'RemotePeers' },
      facts('10.0.0.0/26'),
      'reject',
    ],
    ['peerType mismatch', { action: 'Reject', peerType: 'iBGP' }, facts('10.0.0.0/26'), 'no-match'],
    ['community match', { action: 'Reject', communities: { values: ['65000:7'] } }, facts('10.0.0.0/26'), 'reject'],
    [
      'community mismatch',
      { action: 'Reject', communities: { values: ['65000:8'] } },
      facts('10.0.0.0/26'),
      'no-match',
    ],
    [
      'large community mismatch',
      { action: 'Reject', communities: { values: ['65000:0:7'] } },
      facts('10.0.0.0/26'),
      'no-match',
    ],
    ['asPathPrefix match', { action: 'Reject', asPathPrefix: [65001] }, facts('10.0.0.0/26'), 'reject'],
    ['asPathPrefix mismatch', { action: 'Reject', asPathPrefix: [65002] }, facts('10.0.0.0/26'), 'no-match'],
    ['priority = 2^31-1 - LOCAL_PREF', { action: 'Reject', priority: 2147483547 }, facts('10.0.0.0/26'), 'reject'],
    [
      'interface never matches on a reflector',
      { action: 'Reject', interface: 'eth*' },
      facts('10.0.0.0/26'),
      'no-match',
    ],
  ];
  for (const [name, rule, f, want] of cases) it(name, () => assert.equal(verdict(rule, f), want));

  it('operations run in order on accept', () => {
    const filter = parseBgpFilter('t', {
      exportV4: [
        {
          action: 'Accept',
          operations: [
            { addCommunity: { value: '65000:9' } },
            { addCommunity: { value: '1:2:3' } },
            { prependASPath: { prefix: [64512, 64512] } },
            { setPriority: { value: 1024 } },
          ],
        },
      ],
    });
    const out = evaluateRules(filter.exportV4, facts('10.0.0.0/26'), 'eBGP');
    assert.equal(out.kind, 'accept');
    if (out.kind !== 'accept') return;
    assert.deepEqual(out.attrs.communities, [0xfde80007, 0xfde80009]);
    assert.deepEqual(out.attrs.largeCommunities, [{ globalAdmin: 1, localData1: 2, localData2: 3 }]);
    assert.deepEqual(out.attrs.asPath, [{ type: 2, asns: [64512, 64512, 65001, 65002] }]);
    assert.equal(out.attrs.localPref, 2147483647 - 1024);
  });

  it('the first matching rule across filters wins', () => {
    const a = parseBgpFilter('a', { exportV4: [{ action: 'Reject', cidr: '10.0.0.0/8', matchOperator: 'In' }] });
    const b = parseBgpFilter('b', { exportV4: [{ action: 'Accept' }] });
    const p = new PeerPolicy('eBGP', [a, b]);
    assert.equal(p.exportRoute(facts('10.0.0.0/26')), undefined);
    assert.ok(p.exportRoute(facts('11.0.0.0/26')));
  });
});

describe('peer policy defaults', () => {
  it('iBGP: everything in and out', () => {
    const p = new PeerPolicy('iBGP', []);
    assert.ok(p.importRoute(facts('10.0.0.0/26')));
    assert.ok(p.exportRoute(facts('10.0.0.0/26')));
  });
  it('eBGP without filters (RFC 8212): nothing in, only originated routes out', () => {
    const p = new PeerPolicy('eBGP', []);
    assert.equal(p.importRoute(facts('10.0.0.0/26')), undefined);
    assert.equal(p.exportRoute(facts('10.0.0.0/26')), undefined);
    assert.ok(p.exportRoute(facts('10.0.0.0/26', { originated: true })));
  });
  it('eBGP with a filter: unmatched routes accepted (Calico default Accept)', () => {
    const p = new PeerPolicy('eBGP', [
      parseBgpFilter('x', { importV4: [{ action: 'Reject', cidr: '10.9.0.0/16', matchOperator: 'In' }] }),
    ]);
    assert.ok(p.importRoute(facts('10.0.0.0/26')));
    assert.equal(p.importRoute(facts('10.9.0.0/26')), undefined);
    assert.ok(p.exportRoute(facts('10.0.0.0/26')));
  });
  it('equal filters give equal ids (one update group), different ones do not', () => {
    const f = () => parseBgpFilter('x', { exportV4: [{ action: 'Reject', cidr: '10.9.0.0/16', matchOperator: 'In' }] });
    assert.equal(new PeerPolicy('iBGP', [f()]).id, new PeerPolicy('iBGP', [f()]).id);
    assert.notEqual(new PeerPolicy('iBGP', [f()]).id, new PeerPolicy('iBGP', []).id);
  });
});

describe('BGPFilter validation names the field', () => {
  const bad: [unknown, string][] = [
    [{ exportV4: [{ action: 'Maybe' }] }, 'filters.t.exportV4[0].action'],
    [{ exportV4: [{ action: 'Accept', cidr: '10.0.0.0/8' }] }, 'filters.t.exportV4[0].matchOperator'],
    [{ exportV4: [{ action: 'Accept', matchOperator: 'In' }] }, 'filters.t.exportV4[0].cidr'],
    [{ exportV4: [{ action: 'Accept', cidr: '10.0.0.0/33', matchOperator: 'In' }] }, 'filters.t.exportV4[0].cidr'],
    [{ exportV6: [{ action: 'Accept', cidr: '10.0.0.0/8', matchOperator: 'In' }] }, 'filters.t.exportV6[0].cidr'],
    [{ importV4: [{ action: 'Accept', prefixLength: { min: 8 } }] }, 'filters.t.importV4[0].prefixLength'],
    [
      { importV4: [{ action: 'Accept', cidr: '10.0.0.0/8', matchOperator: 'In', prefixLength: { min: 30, max: 20 } }] },
      'filters.t.importV4[0].prefixLength',
    ],
    [
      { importV4: [{ action: 'Reject', operations: [{ setPriority: { value: 5 } }] }] },
      'filters.t.importV4[0].operations',
    ],
    [
      { importV4: [{ action: 'Accept', operations: [{ setPriority: { value: 5 }, addCommunity: { value: '1:1' } }] }] },
      'filters.t.importV4[0].operations[0]',
    ],
    [
      { importV4: [{ action: 'Accept', communities: { values: ['70000:1'] } }] },
      'filters.t.importV4[0].communities.values[0]',
    ],
    [{ importV4: [{ action: 'Accept', peerType: 'xBGP' }] }, 'filters.t.importV4[0].peerType'],
    [{ importV4: [{ action: 'Accept', colour: 'red' }] }, 'filters.t.importV4[0].colour'],
    [{ exportV5: [] }, 'filters.t.exportV5'],
    ['nope', 'filters.t'],
  ];
  for (const [spec, field] of bad) {
    it(field, () => {
      assert.throws(
        () => parseBgpFilter('t', spec),
        (e: unknown) => e instanceof InvalidArgumentError && e.message.startsWith(field + ':'),
      );
    });
  }
  it('communities parse as standard or large', () => {
    assert.deepEqual(parseCommunity('65000:100', 'c'), { kind: 'standard', value: 65000 * 65536 + 100 });
    assert.deepEqual(parseCommunity('4200000000:1:2', 'c'), {
      kind: 'large',
      value: { globalAdmin: 4200000000, localData1: 1, localData2: 2 },
    });
  });
});
