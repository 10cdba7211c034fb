import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../shared/config/index.js';
import { syncConfigSpec } from './config.js';

test('the sync server configuration: defaults, environment, and errors naming the parameter', () => {
  const c = loadConfig(syncConfigSpec, { env: {} });
  assert.equal(c.listen, '127.0.0.1:5473');
  assert.equal(c.maxConnections, 20_000);
  assert.equal(c.directWrites, true);
  const e = loadConfig(syncConfigSpec, {
    env: { MESHLESS_PING_INTERVAL: '2s', MESHLESS_ADVERTISE: '10.0.0.7', MESHLESS_DIRECT_WRITES: 'false' },
  });
  assert.equal(e.pingInterval, 2000);
  assert.equal(e.advertise, '10.0.0.7');
  assert.equal(e.directWrites, false);
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ MESHLESS_LISTEN: 'nowhere' }, /invalid listen from environment MESHLESS_LISTEN: must be HOST:PORT/],
    [{ MESHLESS_MAX_CONNECTIONS: '0' }, /invalid maxConnections .*greater than 0/],
    [{ MESHLESS_PING_INTERVAL: 'often' }, /invalid pingInterval .*duration/],
    [{ MESHLESS_ADVERTISE: 'a b' }, /invalid advertise .*HOST or HOST:PORT/],
    [{ MESHLESS_METRICS_PORT: '70000' }, /invalid metricsPort/],
  ];
  for (const [env, message] of bad)
    assert.throws(
      () => loadConfig(syncConfigSpec, { env }),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      JSON.stringify(env),
    );
});
