import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasNodeScope, inView, NODE_SCOPED_KINDS, nodeOfResource, scopeOf } from './views.js';

test('the agent view: everything an agent needs, endpoints of its own node only', () => {
  for (const k of [
    'Node',
    'IPPool',
    'IPAMBlock',
    'BlockAffinity',
    'Profile',
    'NetworkPolicy',
    'GlobalNetworkPolicy',
    'LearnedRoute',
  ] as const) {
    assert.equal(scopeOf('agent', k), 'all', k);
  }
  assert.equal(inView('agent', 'n1', 'WorkloadEndpoint', 'n1'), true);
  assert.equal(inView('agent', 'n1', 'WorkloadEndpoint', 'n2'), false);
  assert.equal(inView('agent', 'n1', 'HostEndpoint', undefined), false);
  assert.equal(inView('agent', 'n1', 'BGPPeer', undefined), false);
  assert.equal(hasNodeScope('agent'), true);
});

test('the bgp view: what a route reflector needs, no endpoints', () => {
  for (const k of ['Node', 'IPPool', 'IPAMBlock', 'BlockAffinity', 'BGPPeer', 'BGPConfiguration'] as const)
    assert.equal(scopeOf('bgp', k), 'all', k);
  for (const k of [
    'WorkloadEndpoint',
    'HostEndpoint',
    'Profile',
    'NetworkPolicy',
    'GlobalNetworkPolicy',
    'LearnedRoute',
  ] as const)
    assert.equal(scopeOf('bgp', k), 'none', k);
  assert.equal(hasNodeScope('bgp'), false);
  assert.deepEqual([...NODE_SCOPED_KINDS].sort(), ['HostEndpoint', 'WorkloadEndpoint']);
});

test('nodeOfResource reads spec.node and refuses anything else', () => {
  assert.equal(nodeOfResource(Buffer.from('{"spec":{"node":"n1"}}')), 'n1');
  assert.equal(nodeOfResource(Buffer.from('{"spec":{"node":""}}')), undefined);
  assert.equal(nodeOfResource(Buffer.from('{"spec":{"node":7}}')), undefined);
  assert.equal(nodeOfResource(Buffer.from('{"spec":null}')), undefined);
  assert.equal(nodeOfResource(Buffer.from('null')), undefined);
  assert.equal(nodeOfResource(Buffer.from('{oops')), undefined);
});
