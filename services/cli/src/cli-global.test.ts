// The `meshless` command's global options and the datastore address, in-process and as a child
// process (bin/meshless.mjs), against a real datastore service on a real nats-server. Every
// failure is asserted as exit status 1 and exactly one `meshless: …` line on stderr.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { parse } from 'yaml';
import { freePort } from '../../shared/testing/index.js';
import type { Resource } from '../../shared/resources/index.js';
import { cli, cliProcess, cliSuite, fails, ok } from './testing.js';

const suite = cliSuite('cli-global');
const { meshless } = suite;
const V3 = 'projectcalico.org/v3';
const pool = (name: string, cidr: string) =>
  `apiVersion: ${V3}\nkind: IPPool\nmetadata: {name: ${name}}\nspec: {cidr: ${cidr}}\n`;

describe('global options and the datastore address', () => {
  test('an unreachable datastore is one line naming the address, after retrying within --timeout', async () => {
    const port = await freePort();
    fails(
      await cli(['get', 'ippools'], { env: { MESHLESS_DATASTORE: `127.0.0.1:${port}`, MESHLESS_TIMEOUT: '300ms' } }),
      `cannot reach the datastore at 127.0.0.1:${port} within 300ms (is \`npm start\` running?)`,
    );
    fails(
      await cli(['get', 'ippools', '--timeout', '200ms', '--datastore', `127.0.0.1:${port}`]),
      `cannot reach the datastore at 127.0.0.1:${port} within 200ms (is \`npm start\` running?)`,
    );
    fails(
      await cli(['apply', '-f', '-', '--timeout', '200ms', '--datastore', `127.0.0.1:${port}`], {
        stdin: pool('u-1', '10.0.0.0/16'),
      }),
      `cannot reach the datastore at 127.0.0.1:${port} within 200ms (is \`npm start\` running?)`,
    );
  });

  test('a datastore that starts listening within --timeout is waited for', async () => {
    const port = await freePort();
    const [host, upstream] = [
      suite.cluster.address.slice(0, suite.cluster.address.lastIndexOf(':')),
      Number(suite.cluster.address.slice(suite.cluster.address.lastIndexOf(':') + 1)),
    ];
    // A forwarder to the real datastore that starts listening only after the CLI has started.
    const sockets = new Set<Socket>();
    const late = createServer((s) => {
      const up = createConnection({ host, port: upstream });
      for (const x of [s, up]) {
        sockets.add(x);
        x.on('error', () => undefined);
      }
      s.pipe(up).pipe(s);
    });
    // (Another process may take the free port meanwhile: then say so instead of crashing.)
    const listening = new Promise<void>((resolve, reject) => {
      late.once('error', reject);
      setTimeout(() => late.listen(port, '127.0.0.1', resolve), 400);
    });
    try {
      const [r] = await Promise.all([
        cli(['get', 'ippools', '-o', 'json', '--timeout', '20s', '--datastore', `127.0.0.1:${port}`]),
        listening,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /"kind": "IPPoolList"/);
    } finally {
      for (const x of sockets) x.destroy();
      if (late.listening) await new Promise((resolve) => late.close(resolve));
    }
  });

  test('a server that accepts connections but never answers runs into --timeout', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      fails(
        await cli(['get', 'ippools', '--timeout', '300ms', '--datastore', address]),
        `the datastore at ${address} did not answer within 300ms (raise --timeout)`,
      );
      fails(
        await cli(['ipam', 'show'], { env: { MESHLESS_DATASTORE: address, MESHLESS_TIMEOUT: '1s' } }),
        `the datastore at ${address} did not answer within 1s (raise --timeout)`,
      );
      // The process ends by itself: no handle is left open after the deadline.
      fails(
        await cliProcess(['get', 'nodes', '--timeout', '500ms'], { env: { MESHLESS_DATASTORE: address } }),
        `the datastore at ${address} did not answer within 500ms (raise --timeout)`,
      );
    } finally {
      silent.close();
      for (const socket of sockets) socket.destroy();
    }
  });

  test('--datastore beats MESHLESS_DATASTORE; bad values are named', async () => {
    ok(
      await cli(['get', 'bgppeers', '--datastore', suite.cluster.address], {
        env: { MESHLESS_DATASTORE: '127.0.0.1:1' },
      }),
    );
    fails(
      await cli(['get', 'ippools', '--datastore', 'nowhere']),
      "invalid --datastore from command line: must be HOST:PORT, got 'nowhere'",
    );
    fails(
      await cli(['get', 'ippools'], { env: { MESHLESS_DATASTORE: 'x' } }),
      "invalid --datastore from environment MESHLESS_DATASTORE: must be HOST:PORT, got 'x'",
    );
    fails(
      await meshless('get', 'ippools', '--timeout', 'soon'),
      `invalid --timeout from command line: must be a duration like 500ms, 10s or 5m, got "soon"`,
    );
  });

  test('unknown commands and options are one line', async () => {
    fails(await meshless('frobnicate'), "unknown command 'frobnicate'");
    fails(await meshless('get', 'ippools', '--colour'), "unknown option '--colour'");
    fails(await meshless('aply'), "unknown command 'aply'; (Did you mean apply?)");
  });

  test('help: bare command and every subcommand print help on stdout with examples, exit 0', async () => {
    const top = ok(await meshless());
    assert.match(top, /^Usage: meshless \[options\] \[command\]/);
    assert.match(top, /Getting started:/);
    for (const sub of [['apply'], ['create'], ['replace'], ['delete'], ['get'], ['ipam', 'show'], ['datastore']]) {
      const text = ok(await meshless(...sub, '--help'));
      assert.match(text, new RegExp(`^Usage: meshless ${sub.join(' ')}`));
      assert.match(text, /Examples:\n {2}meshless /, `${sub.join(' ')} --help has examples`);
    }
    assert.match(ok(await meshless('ipam')), /^Usage: meshless ipam/);
    assert.match(ok(await meshless('help', 'get')), /^Usage: meshless get/);
    assert.match(ok(await meshless('datastore', '--help')), /MESHLESS_TOMBSTONE_RETENTION/);
  });
});

describe('as a child process (bin/meshless.mjs)', () => {
  test('apply from stdin, get back as YAML, delete; exit statuses 0', async () => {
    const childEnv = { MESHLESS_DATASTORE: suite.cluster.address };
    ok(
      await cliProcess(['apply', '-f', '-'], { env: childEnv, stdin: pool('proc-1', '10.71.0.0/16') }),
      "Successfully applied 1 'IPPool' resource(s)\n",
    );
    const yaml = ok(await cliProcess(['get', 'ippools', '-o', 'yaml'], { env: childEnv }));
    assert.deepEqual(
      (parse(yaml) as { items: Resource[] }).items.map((r) => r.metadata.name),
      ['proc-1'],
    );
    ok(
      await cliProcess(['delete', 'ippool', 'proc-1', '--datastore', suite.cluster.address]),
      "Successfully deleted 1 'IPPool' resource(s)\n",
    );
  });

  test('unreachable datastore and invalid file: exit 1, one line on stderr, no stack trace', async () => {
    const port = await freePort();
    fails(
      await cliProcess(['get', 'nodes'], {
        env: { MESHLESS_DATASTORE: `127.0.0.1:${port}`, MESHLESS_TIMEOUT: '200ms' },
      }),
      `cannot reach the datastore at 127.0.0.1:${port} within 200ms (is \`npm start\` running?)`,
    );
    fails(await cliProcess(['apply', '-f', '-'], { stdin: 'kind: [' }), /^- document 1: invalid YAML at line 1/);
  });

  test('--help exits 0', async () => {
    assert.match(ok(await cliProcess(['--help'])), /Usage: meshless/);
  });
});
