import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../shared/config/index.js';
import { agentConfigSpec } from './daemon.js';

test('the agent configuration: a node is required, endpoints are HOST:PORT', () => {
  const c = loadConfig(agentConfigSpec, { env: { MESHLESS_NODE: 'node-1', MESHLESS_SYNC: '10.0.0.7:5473, 10.0.0.8:5473' } });
  assert.deepEqual(c.sync, ['10.0.0.7:5473', '10.0.0.8:5473']);
  assert.equal(c.syncer, 'agent');
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{}, /invalid node from default: required: the name of this node/],
    [{ MESHLESS_NODE: 'Node_1' }, /invalid node .*'Node_1' is not a valid node name/],
    [{ MESHLESS_NODE: 'n1', MESHLESS_SYNC: 'nohost' }, /invalid sync .*must be HOST:PORT, got 'nohost'/],
    [{ MESHLESS_NODE: 'n1', MESHLESS_SYNCER: 'felix' }, /invalid syncer .*must be one of agent, bgp/],
  ];
  for (const [env, message] of bad) assert.throws(() => loadConfig(agentConfigSpec, { env }), (err: unknown) => err instanceof ConfigError && message.test(err.message), JSON.stringify(env));
});
