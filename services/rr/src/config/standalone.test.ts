import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStandaloneConfig, parseStandaloneConfig, withServiceOverrides } from './standalone.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';

const minimal = { asNumber: 65000, routerID: '10.0.0.254' };

describe('rr.yaml', () => {
  it('fills defaults: cluster id = router id, BGP listens on the router id (not 0.0.0.0), admin 127.0.0.1:5474', () => {
    const c = parseStandaloneConfig(minimal);
    assert.equal(c.reflector.clusterId, '10.0.0.254');
    assert.deepEqual(c.reflector.listen, { address: '10.0.0.254', port: 179 });
    assert.equal(c.service.adminListen, '127.0.0.1:5474');
    assert.equal(c.service.metricsPort, false);
    assert.deepEqual(c.peers, []);
  });

  it('reads peers, filters and routes', () => {
    const c = parseStandaloneConfig({
      ...minimal,
      clusterID: '1.1.1.1',
      listen: '[2001:db8::1]:1790',
      filters: { tor: { exportV4: [{ action: 'Accept' }] } },
      peers: [
        { address: '10.0.0.1', asNumber: 65000, rrClient: true, addPaths: true },
        {
          address: '2001:DB8::9',
          asNumber: 65100,
          passive: true,
          port: 1179,
          filters: ['tor'],
          nextHopMode: 'Keep',
          maxPrefixes: 1000,
          families: ['ipv6-unicast'],
        },
      ],
      routes: [
        { prefix: '10.10.0.0/24', nextHop: '10.0.0.5', communities: ['65000:100', '65000:1:2'], localPref: 200 },
      ],
    });
    assert.deepEqual(c.reflector.listen, { address: '2001:db8::1', port: 1790 });
    assert.equal(c.peers[0]!.addPaths, 'both');
    assert.equal(c.peers[1]!.address, '2001:db8::9');
    assert.equal(c.peers[1]!.nextHopMode, 'keep');
    assert.equal(c.peers[1]!.filters[0]!.name, 'tor');
    assert.deepEqual(c.routes[0], {
      prefix: '10.10.0.0/24',
      nextHop: '10.0.0.5',
      communities: ['65000:100', '65000:1:2'],
      localPref: 200,
    });
  });

  const bad: [Record<string, unknown>, string][] = [
    [{ routerID: '1.1.1.1' }, 'asNumber'],
    [{ asNumber: 65000 }, 'routerID'],
    [{ ...minimal, routerID: '0.0.0.0' }, 'routerID'],
    [{ ...minimal, routerID: 'fd00::1' }, 'routerID'],
    [{ ...minimal, clusterID: 'x' }, 'clusterID'],
    [{ ...minimal, listen: '10.0.0.1' }, 'listen'],
    [{ ...minimal, holdTime: 2 }, 'holdTime'],
    [{ ...minimal, colour: 'red' }, 'colour'],
    [{ ...minimal, peers: {} }, 'peers'],
    [{ ...minimal, peers: [{ asNumber: 1 }] }, 'peers[0].address'],
    [{ ...minimal, peers: [{ address: '10.0.0.1' }] }, 'peers[0].asNumber'],
    [{ ...minimal, peers: [{ address: '10.0.0.1', asNumber: 0 }] }, 'peers[0].asNumber'],
    [{ ...minimal, peers: [{ address: '10.0.0.1', asNumber: 1, nextHopMode: 'Maybe' }] }, 'peers[0].nextHopMode'],
    [{ ...minimal, peers: [{ address: '10.0.0.1', asNumber: 1, filters: ['nope'] }] }, 'peers[0].filters[0]'],
    [
      { ...minimal, peers: [{ address: '10.0.0.1', asNumber: 1, families: ['ipv4-multicast'] }] },
      'peers[0].families[0]',
    ],
    [{ ...minimal, peers: [{ address: '10.0.0.1', asNumber: 1, rrclient: true }] }, 'peers[0].rrclient'],
    [
      {
        ...minimal,
        peers: [
          { address: '10.0.0.1', asNumber: 1 },
          { address: '10.0.0.01', asNumber: 2 },
        ],
      },
      'peers[1].address',
    ],
    [{ ...minimal, routes: [{ prefix: '10.0.0.1/24' }] }, 'routes[0].prefix'],
    [{ ...minimal, routes: [{ prefix: '10.0.0.0/24', nextHop: 'fd00::1' }] }, 'routes[0].nextHop'],
    [{ ...minimal, routes: [{ prefix: '10.0.0.0/24', communities: ['1:2:3:4'] }] }, 'routes[0].communities[0]'],
    [{ ...minimal, filters: { f: { exportV4: [{ action: 'Nope' }] } } }, 'filters.f.exportV4[0].action'],
    [{ ...minimal, gracefulRestart: { restartTime: 5000 } }, 'gracefulRestart.restartTime'],
    [{ ...minimal, metricsPort: 70000 }, 'metricsPort'],
    [{ ...minimal, peers: [{ address: '10.0.0.1', asNumber: 1, password: 'hunter2' }] }, 'peers[0].password'],
    [
      {
        ...minimal,
        peers: [{ address: '10.0.0.1', asNumber: 1, password: { secretKeyRef: { name: 's', key: 'k' } } }],
      },
      'peers[0].password.secretKeyRef',
    ],
    [
      { ...minimal, peers: [{ address: '10.0.0.1', asNumber: 1, password: { file: '/nonexistent/key' } }] },
      'peers[0].password.file',
    ],
    [
      { ...minimal, peers: [{ address: '10.0.0.1', asNumber: 1, password: { env: 'MESHLESS_TEST_UNSET_PASSWORD' } }] },
      'peers[0].password.env',
    ],
    [
      { ...minimal, peers: [{ address: '10.0.0.1', asNumber: 1, password: { file: 'a', env: 'B' } }] },
      'peers[0].password',
    ],
    [{ ...minimal, peers: [{ address: '10.0.0.1', asNumber: 1, ttlSecurity: 256 }] }, 'peers[0].ttlSecurity'],
  ];
  for (const [doc, field] of bad) {
    it(`rejects a bad ${field}`, () => {
      assert.throws(
        () => parseStandaloneConfig(doc),
        (e: unknown) => e instanceof InvalidArgumentError && e.field === field && e.message.startsWith(`${field}:`),
      );
    });
  }

  it('file errors name the file; YAML errors are one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-config-'));
    const f = join(dir, 'rr.yaml');
    writeFileSync(f, 'asNumber: 65000\nrouterID: 10.0.0.1\npeers: [{address: 10.0.0.1, asNumber: x}]\n');
    assert.throws(() => loadStandaloneConfig(f), /rr\.yaml: peers\[0\]\.asNumber: must be an integer/);
    writeFileSync(f, 'asNumber: [\n');
    assert.throws(() => loadStandaloneConfig(f), /rr\.yaml: not valid YAML/);
    assert.throws(() => loadStandaloneConfig(join(dir, 'missing.yaml')), /missing\.yaml: ENOENT/);
  });

  it('passwords come from a key file (relative to rr.yaml) or an environment variable, never the YAML', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-config-'));
    writeFileSync(join(dir, 'rack-a.key'), 'from a file\n');
    writeFileSync(join(dir, 'long.key'), 'x'.repeat(81));
    const f = join(dir, 'rr.yaml');
    writeFileSync(
      f,
      [
        'asNumber: 65000',
        'routerID: 10.0.0.254',
        'peers:',
        '  - { address: 10.0.0.1, asNumber: 65001, password: { file: rack-a.key }, ttlSecurity: 1 }',
        '  - { address: 10.0.0.2, asNumber: 65002, password: { env: MESHLESS_TEST_RR_KEY } }',
        '  - { address: 10.0.0.3, asNumber: 65003, ttlSecurity: 0 }',
      ].join('\n'),
    );
    process.env.MESHLESS_TEST_RR_KEY = 'from the environment';
    try {
      const c = loadStandaloneConfig(f);
      assert.deepEqual(c.peers[0]!.tcpMd5, { key: Buffer.from('from a file') });
      assert.equal(c.peers[0]!.ttlSecurity, 1);
      assert.deepEqual(c.peers[1]!.tcpMd5, { key: Buffer.from('from the environment') });
      assert.equal(c.peers[2]!.ttlSecurity, undefined);
    } finally {
      delete process.env.MESHLESS_TEST_RR_KEY;
    }
    writeFileSync(
      f,
      'asNumber: 65000\nrouterID: 10.0.0.254\npeers: [{ address: 10.0.0.1, asNumber: 1, password: { file: long.key } }]\n',
    );
    assert.throws(
      () => loadStandaloneConfig(f),
      (e: unknown) =>
        e instanceof InvalidArgumentError &&
        /peers\[0\]\.password\.file: key file .*long\.key holds 81 octets/.test(e.message) &&
        !e.message.includes('xxx'),
    );
  });

  it('command-line overrides are validated', () => {
    const c = parseStandaloneConfig(minimal);
    assert.equal(withServiceOverrides(c, { adminListen: 'none' }).service.adminListen, false);
    assert.equal(withServiceOverrides(c, { dataDir: '/tmp/x' }).service.dataDir, '/tmp/x');
    assert.throws(() => withServiceOverrides(c, { adminListen: 'nowhere' }), /--admin/);
  });
});
