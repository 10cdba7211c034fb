import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchLines, diffRoutes, parseBatchErrors, parseKernelRoutes, routeKey, type Route } from './routes.js';

const wl = (dst: string, dev: string): Route => ({
  family: 4,
  dst,
  type: 'unicast',
  dev,
  scope: 'link',
  metric: 0,
  reason: 'workload',
  owner: `wep ${dst}`,
});
const block = (dst: string): Route => ({
  family: 4,
  dst,
  type: 'unreachable',
  scope: 'global',
  metric: 0,
  reason: 'local-block',
});

test('kernel routes: host routes get their prefix length, default is 0/0, multipath is left unparsed', () => {
  const v4 = JSON.stringify([
    { type: 'unicast', dst: '10.65.0.5', dev: 'cali1', scope: 'link', flags: [] },
    { type: 'unreachable', dst: '10.65.0.0/26', scope: 'global', flags: [] },
    { type: 'unicast', dst: 'default', gateway: '198.18.0.1', dev: 'eth0', scope: 'global', metric: 5, flags: [] },
    {
      dst: '10.9.0.0/24',
      nexthops: [
        { gateway: '10.0.0.1', dev: 'a' },
        { gateway: '10.0.0.2', dev: 'b' },
      ],
    },
  ]);
  const { routes, unparsed } = parseKernelRoutes(v4, 4);
  assert.deepEqual(
    routes.map((r) => [r.dst, r.type, r.dev, r.via, r.scope, r.metric]),
    [
      ['10.65.0.5/32', 'unicast', 'cali1', undefined, 'link', 0],
      ['10.65.0.0/26', 'unreachable', undefined, undefined, 'global', 0],
      ['0.0.0.0/0', 'unicast', 'eth0', '198.18.0.1', 'global', 5],
    ],
  );
  assert.equal(unparsed.length, 1);
  const v6 = parseKernelRoutes(
    JSON.stringify([
      { type: 'blackhole', dst: 'fd00:65::/122', dev: 'lo', metric: 1024 },
      { dst: 'fd00:65::5', dev: 'cali2', metric: 1024 },
    ]),
    6,
  );
  assert.deepEqual(
    v6.routes.map((r) => [r.dst, r.type, r.metric]),
    [
      ['fd00:65::/122', 'blackhole', 1024],
      ['fd00:65::5/128', 'unicast', 1024],
    ],
  );
  assert.deepEqual(parseKernelRoutes('', 4), { routes: [], unparsed: [] });
  assert.throws(() => parseKernelRoutes('not json', 4), /ip route show: output is not JSON/);
  assert.throws(() => parseKernelRoutes('{"dst":"x"}', 4), /expected a JSON array/);
});

test('diff: missing slots are added, differing ones replaced, unwanted and duplicate ones removed', () => {
  const desired = new Map<string, Route>();
  for (const r of [
    wl('10.65.0.5/32', 'cali1'),
    wl('10.65.0.6/32', 'cali2'),
    wl('10.65.0.7/32', 'cali3'),
    block('10.65.0.0/26'),
  ])
    desired.set(routeKey(r), r);
  const kernel = [
    {
      family: 4 as const,
      dst: '10.65.0.5/32',
      type: 'unicast',
      dev: 'cali1',
      via: undefined,
      scope: 'link',
      metric: 0,
    },
    {
      family: 4 as const,
      dst: '10.65.0.6/32',
      type: 'unicast',
      dev: 'cali9',
      via: undefined,
      scope: 'link',
      metric: 0,
    },
    {
      family: 4 as const,
      dst: '10.65.0.0/26',
      type: 'blackhole',
      dev: undefined,
      via: undefined,
      scope: 'global',
      metric: 0,
    },
    {
      family: 4 as const,
      dst: '10.65.0.9/32',
      type: 'unicast',
      dev: 'cali4',
      via: undefined,
      scope: 'link',
      metric: 0,
    },
    {
      family: 4 as const,
      dst: '10.65.0.5/32',
      type: 'unicast',
      dev: 'cali1',
      via: undefined,
      scope: 'link',
      metric: 7,
    },
  ];
  const diff = diffRoutes(desired, kernel);
  assert.deepEqual(
    diff.add.map((r) => r.dst),
    ['10.65.0.7/32'],
  );
  assert.deepEqual(
    diff.replace.map((r) => r.dst),
    ['10.65.0.6/32', '10.65.0.0/26'],
  );
  assert.deepEqual(
    diff.remove.map((r) => `${r.dst} ${r.metric}`),
    ['10.65.0.9/32 0', '10.65.0.5/32 7'],
  );
  const lines = batchLines(diff, 80, 'main').map((l) => l.text);
  assert.deepEqual(lines, [
    'route del 10.65.0.9/32 proto 80 metric 0 table main',
    'route del 10.65.0.5/32 proto 80 metric 7 table main',
    'route replace 10.65.0.6/32 dev cali2 proto 80 scope link metric 0 table main',
    'route replace unreachable 10.65.0.0/26 proto 80 metric 0 table main',
    'route add 10.65.0.7/32 dev cali3 proto 80 scope link metric 0 table main',
  ]);
  assert.deepEqual(
    diffRoutes(desired, [
      ...kernel.slice(0, 1),
      { ...kernel[1]!, dev: 'cali2' },
      { ...kernel[2]!, type: 'unreachable' },
      { ...kernel[0]!, dst: '10.65.0.7/32', dev: 'cali3' },
    ]),
    { add: [], replace: [], remove: [] },
  );
});

test('diff: a gateway route with the interface left to the kernel matches whatever interface it got', () => {
  const r: Route = {
    family: 6,
    dst: 'fd00:65::40/122',
    type: 'unicast',
    via: 'fd00::12',
    scope: 'global',
    metric: 1024,
  };
  const desired = new Map([[routeKey(r), r]]);
  assert.deepEqual(
    diffRoutes(desired, [
      {
        family: 6,
        dst: 'fd00:65::40/122',
        type: 'unicast',
        dev: 'eth0',
        via: 'fd00::12',
        scope: 'global',
        metric: 1024,
      },
    ]).replace,
    [],
  );
  assert.deepEqual(
    diffRoutes(desired, [
      {
        family: 6,
        dst: 'fd00:65::40/122',
        type: 'unicast',
        dev: 'eth0',
        via: 'fd00::13',
        scope: 'global',
        metric: 1024,
      },
    ]).replace,
    [r],
  );
  assert.equal(
    batchLines({ add: [r], replace: [], remove: [] }, 99, '100')[0]!.text,
    'route add fd00:65::40/122 via fd00::12 proto 99 metric 1024 table 100',
  );
});

test('batch errors: each failed line is classified by the kernel answer before it', () => {
  const stderr = [
    'RTNETLINK answers: File exists',
    'Command failed -:1',
    'Cannot find device "cali7"',
    'Command failed -:2',
    'Error: Device for nexthop is not up.',
    'Command failed -:3',
    'RTNETLINK answers: No such process',
    'Command failed -:4',
    'Error: inet prefix is expected rather than "x".',
    'Command failed -:9',
  ].join('\n');
  assert.deepEqual(
    parseBatchErrors(stderr).map((e) => [e.line, e.kind]),
    [
      [1, 'conflict'],
      [2, 'missing-interface'],
      [3, 'missing-interface'],
      [4, 'gone'],
      [9, 'other'],
    ],
  );
  assert.match(parseBatchErrors(stderr)[4]!.message, /inet prefix is expected/);
  assert.deepEqual(parseBatchErrors(''), []);
});
