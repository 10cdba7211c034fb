// Connection collisions and replaced connections (RFC 4271 §6.8, RFC 6286): which of two
// connections to the same peer survives, in every state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CeaseSubcode, ErrorCode } from '../codec/index.js';
import { Fsm } from './index.js';
import { config, establish, HIGHER, LOCAL_ID, LOWER, only, open } from './test-helpers.js';

test('an incoming connection leaves our pending connect alone; the first OPEN ends it', () => {
  // Both speakers connecting at once each see the other's connection before their own completes:
  // closing ours here would have each side close a different connection (RFC 4271 §6.8 wants the
  // same one closed on both). The peer's OPEN says it is talking on the incoming one.
  const fsm = new Fsm(config());
  const out = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  const inc = fsm.newConnectionId();
  const r = fsm.handle({ type: 'TcpIncoming', conn: inc });
  assert.deepEqual(only(r, 'Close'), []);
  assert.deepEqual(only(r, 'SendOpen'), [{ type: 'SendOpen', conn: inc }]);
  assert.equal(fsm.state, 'OpenSent');
  assert.equal(fsm.connection(inc)?.direction, 'incoming');
  assert.equal(fsm.connection(out)?.phase, 'Connecting');
  const o = fsm.handle(open(inc));
  assert.deepEqual(only(o, 'Close'), [{ type: 'Close', conn: out }], 'ended silently (no TCP to send on)');
  assert.deepEqual(only(o, 'SendNotification'), []);
  assert.equal(fsm.connection(out), undefined);
  assert.equal(fsm.state, 'OpenConfirm');
  // The abandoned connect completing late is closed at once.
  assert.deepEqual(only(fsm.handle({ type: 'TcpConnected', conn: out }), 'Close'), [{ type: 'Close', conn: out }]);
});

test('an incoming connection while our connect is pending: ours completing first goes through §6.8', () => {
  const fsm = new Fsm(config());
  const out = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  const inc = fsm.newConnectionId();
  fsm.handle({ type: 'TcpIncoming', conn: inc });
  assert.deepEqual(only(fsm.handle({ type: 'TcpConnected', conn: out }), 'SendOpen'), [
    { type: 'SendOpen', conn: out },
  ]);
  fsm.handle(open(inc, { bgpId: LOWER }));
  // Our identifier is higher: the connection we opened survives, the peer's gets the Cease.
  const r = fsm.handle(open(out, { bgpId: LOWER }));
  assert.deepEqual(
    only(r, 'SendNotification').map((n) => [n.conn, n.subcode]),
    [[inc, CeaseSubcode.ConnectionCollisionResolution]],
  );
  assert.equal(fsm.connection(out)?.phase, 'OpenConfirm');
});

/** Both connections up and in OpenSent; returns [outgoing, incoming]. */
function bothConnections(fsm: Fsm): [number, number] {
  const out = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  fsm.handle({ type: 'TcpConnected', conn: out });
  const inc = fsm.newConnectionId();
  const r = fsm.handle({ type: 'TcpIncoming', conn: inc });
  assert.deepEqual(only(r, 'SendOpen'), [{ type: 'SendOpen', conn: inc }]);
  assert.equal(only(r, 'Close').length, 0);
  return [out, inc];
}

test('collision (RFC 4271 §6.8): a peer with the higher identifier keeps its own connection', () => {
  const fsm = new Fsm(config());
  const [out, inc] = bothConnections(fsm);
  // OPEN on ours first: nothing to compare yet.
  assert.equal(only(fsm.handle(open(out, { bgpId: HIGHER })), 'SendNotification').length, 0);
  // OPEN on the peer's: the other one is in OpenConfirm; local id is lower → close ours.
  const r = fsm.handle(open(inc, { bgpId: HIGHER }));
  assert.deepEqual(only(r, 'SendNotification'), [
    { type: 'SendNotification', conn: out, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution },
  ]);
  assert.deepEqual(only(r, 'SendKeepalive'), [{ type: 'SendKeepalive', conn: inc }]);
  assert.equal(fsm.state, 'OpenConfirm');
  assert.equal(only(fsm.handle({ type: 'KeepaliveReceived', conn: inc }), 'Established').length, 1);
});

test('collision: with our identifier higher we keep our connection, whichever OPEN comes first', () => {
  for (const first of ['out', 'inc'] as const) {
    const fsm = new Fsm(config());
    const [out, inc] = bothConnections(fsm);
    const [a, b] = first === 'out' ? [out, inc] : [inc, out];
    fsm.handle(open(a, { bgpId: LOWER }));
    const r = fsm.handle(open(b, { bgpId: LOWER }));
    assert.deepEqual(
      only(r, 'SendNotification').map((n) => [n.conn, n.subcode]),
      [[inc, CeaseSubcode.ConnectionCollisionResolution]],
      `first OPEN on ${first}`,
    );
    assert.deepEqual(fsm.connection(out)?.phase, 'OpenConfirm');
    assert.equal(fsm.connection(inc), undefined);
  }
});

test('collision with equal identifiers: the larger AS keeps its connection (RFC 6286)', () => {
  const fsm = new Fsm(config({ localAs: 65000 }));
  const [out, inc] = bothConnections(fsm);
  fsm.handle(open(out, { bgpId: LOCAL_ID, peerAs: 65001 }));
  const r = fsm.handle(open(inc, { bgpId: LOCAL_ID, peerAs: 65001 }));
  assert.deepEqual(
    only(r, 'SendNotification').map((n) => n.conn),
    [out],
  );
});

test('reaching Established closes the other connection', () => {
  const fsm = new Fsm(config());
  const [out, inc] = bothConnections(fsm);
  fsm.handle(open(out));
  const r = fsm.handle({ type: 'KeepaliveReceived', conn: out });
  assert.equal(only(r, 'Established').length, 1);
  assert.deepEqual(only(r, 'SendNotification'), [
    { type: 'SendNotification', conn: inc, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution },
  ]);
});

test('a new connection while Established is refused unless the peer can graceful-restart', () => {
  const fsm = new Fsm(config());
  const conn = establish(fsm);
  const inc = fsm.newConnectionId();
  assert.equal(only(fsm.handle({ type: 'TcpIncoming', conn: inc }), 'SendOpen').length, 1);
  assert.equal(fsm.state, 'Established');
  const r = fsm.handle(open(inc));
  assert.deepEqual(only(r, 'SendNotification'), [
    { type: 'SendNotification', conn: inc, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution },
  ]);
  assert.equal(fsm.establishedConnection, conn);

  const gr = new Fsm(config());
  const old = establish(gr, { gracefulRestart: true });
  const fresh = gr.newConnectionId();
  gr.handle({ type: 'TcpIncoming', conn: fresh });
  const g = gr.handle(open(fresh, { gracefulRestart: true }));
  assert.deepEqual(only(g, 'SendNotification'), []);
  assert.deepEqual(only(g, 'Close'), [{ type: 'Close', conn: old }]);
  assert.deepEqual(only(g, 'SessionDown'), [{ type: 'SessionDown', conn: old, reason: { kind: 'peer-restarted' } }]);
  assert.equal(gr.state, 'OpenConfirm');
  assert.equal(only(gr.handle({ type: 'KeepaliveReceived', conn: fresh }), 'Established').length, 1);
});

test('a second incoming connection replaces an earlier one that is not Established', () => {
  const fsm = new Fsm(config({ passive: true }));
  fsm.handle({ type: 'Start' });
  const first = fsm.newConnectionId();
  fsm.handle({ type: 'TcpIncoming', conn: first });
  const second = fsm.newConnectionId();
  const r = fsm.handle({ type: 'TcpIncoming', conn: second });
  assert.deepEqual(
    only(r, 'SendNotification').map((n) => [n.conn, n.subcode]),
    [[first, CeaseSubcode.ConnectionCollisionResolution]],
  );
  assert.deepEqual(only(r, 'SendOpen'), [{ type: 'SendOpen', conn: second }]);
});
