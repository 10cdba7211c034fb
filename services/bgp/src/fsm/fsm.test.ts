import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CeaseSubcode, ErrorCode, FsmErrorSubcode, OpenMessageSubcode } from '../codec/index.js';
import { Fsm, idleHoldSeconds, jitter, negotiateHoldTime, type FsmEvent } from './index.js';
import { config, establish, HIGHER, only, open } from './test-helpers.js';

test('active start connects and arms ConnectRetry with jitter; passive start waits in Active', () => {
  const fsm = new Fsm(config({ random: () => 0 }));
  const a = fsm.handle({ type: 'Start' });
  assert.equal(only(a, 'Connect').length, 1);
  assert.deepEqual(only(a, 'StartTimer'), [{ type: 'StartTimer', timer: 'ConnectRetry', ms: 7500 }]);
  assert.equal(fsm.state, 'Connect');
  assert.deepEqual(only(a, 'StateChange'), [{ type: 'StateChange', from: 'Idle', to: 'Connect' }]);

  const passive = new Fsm(config({ passive: true }));
  const p = passive.handle({ type: 'Start' });
  assert.equal(only(p, 'Connect').length, 0);
  assert.equal(only(p, 'StartTimer').length, 0);
  assert.equal(passive.state, 'Active');
  assert.deepEqual(passive.handle({ type: 'TimerExpired', timer: 'ConnectRetry' }), []);
});

test('failed connect goes to Active, ConnectRetry retries', () => {
  const fsm = new Fsm(config());
  const conn = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  fsm.handle({ type: 'TcpConnectFailed', conn });
  assert.equal(fsm.state, 'Active');
  const retry = fsm.handle({ type: 'TimerExpired', timer: 'ConnectRetry' });
  const next = only(retry, 'Connect');
  assert.equal(next.length, 1);
  assert.notEqual(next[0]!.conn, conn);
  assert.equal(only(retry, 'StartTimer')[0]!.timer, 'ConnectRetry');
  assert.equal(fsm.state, 'Connect');
});

test('ConnectRetry expiry abandons a hanging connect and starts a new one', () => {
  const fsm = new Fsm(config());
  const conn = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  const retry = fsm.handle({ type: 'TimerExpired', timer: 'ConnectRetry' });
  assert.deepEqual(only(retry, 'Close'), [{ type: 'Close', conn }]);
  assert.equal(only(retry, 'Connect').length, 1);
  // The abandoned attempt completing later is closed, and changes nothing.
  assert.deepEqual(fsm.handle({ type: 'TcpConnected', conn }), [{ type: 'Close', conn }]);
});

test('open exchange: OpenSent, OpenConfirm, Established with negotiated timers', () => {
  const fsm = new Fsm(config({ holdTime: 90 }));
  const conn = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  const up = fsm.handle({ type: 'TcpConnected', conn });
  assert.deepEqual(only(up, 'SendOpen'), [{ type: 'SendOpen', conn }]);
  assert.deepEqual(only(up, 'StopTimer'), [{ type: 'StopTimer', timer: 'ConnectRetry' }]);
  assert.deepEqual(only(up, 'StartTimer'), [{ type: 'StartTimer', timer: 'Hold', conn, ms: 240_000 }]);
  assert.equal(fsm.state, 'OpenSent');

  const o = fsm.handle(open(conn, { peerHoldTime: 30 }));
  assert.deepEqual(only(o, 'SendKeepalive'), [{ type: 'SendKeepalive', conn }]);
  assert.deepEqual(only(o, 'StartTimer'), [
    { type: 'StartTimer', timer: 'Hold', conn, ms: 30_000 },
    { type: 'StartTimer', timer: 'Keepalive', conn, ms: 10_000 },
  ]);
  assert.equal(fsm.state, 'OpenConfirm');

  const e = fsm.handle({ type: 'KeepaliveReceived', conn });
  assert.deepEqual(only(e, 'Established'), [{ type: 'Established', conn, holdTime: 30, keepaliveTime: 10 }]);
  assert.equal(fsm.state, 'Established');
  assert.equal(fsm.establishedConnection, conn);

  // Keepalive timer: send and re-arm. UPDATE and KEEPALIVE restart the hold timer.
  const k = fsm.handle({ type: 'TimerExpired', timer: 'Keepalive', conn });
  assert.deepEqual(k, [
    { type: 'SendKeepalive', conn },
    { type: 'StartTimer', timer: 'Keepalive', conn, ms: 10_000 },
  ]);
  assert.deepEqual(fsm.handle({ type: 'UpdateReceived', conn }), [
    { type: 'StartTimer', timer: 'Hold', conn, ms: 30_000 },
  ]);
  assert.deepEqual(fsm.handle({ type: 'KeepaliveReceived', conn }), [
    { type: 'StartTimer', timer: 'Hold', conn, ms: 30_000 },
  ]);
});

test('hold time negotiation: the smaller wins, 0 disables timers, 1 and 2 are refused', () => {
  assert.deepEqual(negotiateHoldTime(90, 30), { ok: true, holdTime: 30, keepaliveTime: 10 });
  assert.deepEqual(negotiateHoldTime(9, 180), { ok: true, holdTime: 9, keepaliveTime: 3 });
  assert.deepEqual(negotiateHoldTime(90, 0), { ok: true, holdTime: 0, keepaliveTime: 0 });
  assert.deepEqual(negotiateHoldTime(0, 90), { ok: true, holdTime: 0, keepaliveTime: 0 });
  assert.deepEqual(negotiateHoldTime(3, 3), { ok: true, holdTime: 3, keepaliveTime: 1 });
  assert.deepEqual(negotiateHoldTime(90, 90, 5), { ok: true, holdTime: 90, keepaliveTime: 5 });
  assert.deepEqual(negotiateHoldTime(90, 90, 60), { ok: true, holdTime: 90, keepaliveTime: 30 });
  assert.equal(negotiateHoldTime(90, 1).ok, false);
  assert.equal(negotiateHoldTime(90, 2).ok, false);
  assert.equal(negotiateHoldTime(90, 70000).ok, false);
  assert.equal(negotiateHoldTime(90, 5, undefined, 10).ok, false);
  assert.deepEqual(negotiateHoldTime(90, 0, undefined, 10), { ok: true, holdTime: 0, keepaliveTime: 0 });
  assert.deepEqual(negotiateHoldTime(90, 10, undefined, 10), { ok: true, holdTime: 10, keepaliveTime: 10 / 3 });

  for (const bad of [1, 2]) {
    const fsm = new Fsm(config());
    const conn = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
    fsm.handle({ type: 'TcpConnected', conn });
    const r = fsm.handle(open(conn, { peerHoldTime: bad }));
    assert.deepEqual(only(r, 'SendNotification'), [
      {
        type: 'SendNotification',
        conn,
        code: ErrorCode.OpenMessage,
        subcode: OpenMessageSubcode.UnacceptableHoldTime,
        data: new Uint8Array([0, bad]),
      },
    ]);
    assert.deepEqual(only(r, 'Close'), [{ type: 'Close', conn }]);
    assert.equal(fsm.state, 'Idle');
  }

  const zero = new Fsm(config());
  const conn = only(zero.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  zero.handle({ type: 'TcpConnected', conn });
  const r = zero.handle(open(conn, { peerHoldTime: 0 }));
  assert.deepEqual(only(r, 'StartTimer'), []);
  assert.deepEqual(only(r, 'StopTimer'), [{ type: 'StopTimer', timer: 'Hold', conn }]);
  const e = zero.handle({ type: 'KeepaliveReceived', conn });
  assert.deepEqual(only(e, 'StartTimer'), []);
  assert.deepEqual(zero.handle({ type: 'TimerExpired', timer: 'Keepalive', conn }), []);
});

test('hold timer expiry sends Hold Timer Expired, reports the session down and backs off', () => {
  const fsm = new Fsm(config());
  const conn = establish(fsm);
  const r = fsm.handle({ type: 'TimerExpired', timer: 'Hold', conn });
  assert.deepEqual(only(r, 'SendNotification'), [
    { type: 'SendNotification', conn, code: ErrorCode.HoldTimerExpired, subcode: 0 },
  ]);
  assert.deepEqual(only(r, 'SessionDown'), [{ type: 'SessionDown', conn, reason: { kind: 'hold-timer-expired' } }]);
  assert.deepEqual(
    only(r, 'StartTimer').map((t) => [t.timer, t.ms]),
    [
      ['ErrorForget', 300_000],
      ['IdleHold', 5000],
    ],
  );
  assert.equal(fsm.state, 'Idle');
  // Incoming connections are refused while idle-holding.
  const inc = fsm.newConnectionId();
  assert.deepEqual(fsm.handle({ type: 'TcpIncoming', conn: inc }), [
    { type: 'SendNotification', conn: inc, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionRejected },
    { type: 'Close', conn: inc },
  ]);
  const again = fsm.handle({ type: 'TimerExpired', timer: 'IdleHold' });
  assert.equal(only(again, 'Connect').length, 1);
  assert.equal(fsm.state, 'Connect');
});

test('idle hold doubles per consecutive error up to the maximum; ErrorForget resets it', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => idleHoldSeconds(n, 5, 60)),
    [5, 10, 20, 40, 60, 60],
  );
  const fsm = new Fsm(config());
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    const conn =
      i === 0
        ? only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn
        : only(fsm.handle({ type: 'TimerExpired', timer: 'IdleHold' }), 'Connect')[0]!.conn;
    fsm.handle({ type: 'TcpConnected', conn });
    const r = fsm.handle({
      type: 'NotificationReceived',
      conn,
      code: ErrorCode.OpenMessage,
      subcode: OpenMessageSubcode.BadPeerAs,
      data: new Uint8Array(),
    });
    waits.push(only(r, 'StartTimer').find((t) => t.timer === 'IdleHold')!.ms);
  }
  assert.deepEqual(waits, [5000, 10000, 20000, 40000, 60000]);
  assert.equal(fsm.errorCount, 5);
  fsm.handle({ type: 'TimerExpired', timer: 'ErrorForget' });
  assert.equal(fsm.errorCount, 0);
});

test('idle hold of 0 reconnects at once', () => {
  const fsm = new Fsm(config({ idleHold: { min: 0, max: 0 } }));
  const conn = establish(fsm);
  const r = fsm.handle({ type: 'TcpClosed', conn });
  assert.deepEqual(only(r, 'SessionDown'), [{ type: 'SessionDown', conn, reason: { kind: 'connection-lost' } }]);
  assert.equal(only(r, 'Connect').length, 1);
  assert.equal(fsm.state, 'Connect');
});

test('unexpected messages are FSM errors with the RFC 6608 subcode of the state', () => {
  const cases: [string, (f: Fsm, c: number) => void, FsmEvent['type'], number][] = [
    ['KEEPALIVE in OpenSent', () => undefined, 'KeepaliveReceived', FsmErrorSubcode.UnexpectedMessageInOpenSent],
    ['UPDATE in OpenSent', () => undefined, 'UpdateReceived', FsmErrorSubcode.UnexpectedMessageInOpenSent],
    [
      'UPDATE in OpenConfirm',
      (f, c) => f.handle(open(c)),
      'UpdateReceived',
      FsmErrorSubcode.UnexpectedMessageInOpenConfirm,
    ],
    [
      'OPEN in OpenConfirm',
      (f, c) => f.handle(open(c)),
      'OpenReceived',
      FsmErrorSubcode.UnexpectedMessageInOpenConfirm,
    ],
    [
      'OPEN in Established',
      (f, c) => (f.handle(open(c)), f.handle({ type: 'KeepaliveReceived', conn: c })),
      'OpenReceived',
      FsmErrorSubcode.UnexpectedMessageInEstablished,
    ],
  ];
  for (const [name, prepare, type, subcode] of cases) {
    const fsm = new Fsm(config());
    const conn = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
    fsm.handle({ type: 'TcpConnected', conn });
    prepare(fsm, conn);
    const event = type === 'OpenReceived' ? open(conn) : ({ type, conn } as FsmEvent);
    const r = fsm.handle(event);
    assert.deepEqual(
      only(r, 'SendNotification'),
      [{ type: 'SendNotification', conn, code: ErrorCode.FiniteStateMachine, subcode }],
      name,
    );
    assert.deepEqual(only(r, 'Close'), [{ type: 'Close', conn }], name);
    assert.equal(fsm.state, 'Idle', name);
  }
});

test('a message error sends the codec NOTIFICATION; a received NOTIFICATION is not answered', () => {
  const fsm = new Fsm(config());
  const conn = establish(fsm);
  const data = new Uint8Array([0x40, 0x01, 0x01, 0x07]);
  const r = fsm.handle({ type: 'MessageError', conn, code: ErrorCode.UpdateMessage, subcode: 6, data });
  assert.deepEqual(only(r, 'SendNotification'), [
    { type: 'SendNotification', conn, code: ErrorCode.UpdateMessage, subcode: 6, data },
  ]);
  assert.deepEqual(only(r, 'SessionDown'), [
    { type: 'SessionDown', conn, reason: { kind: 'notification-sent', code: 3, subcode: 6 } },
  ]);

  const g = new Fsm(config());
  const c2 = establish(g);
  const n = g.handle({
    type: 'NotificationReceived',
    conn: c2,
    code: ErrorCode.Cease,
    subcode: CeaseSubcode.AdministrativeReset,
    data: new Uint8Array(),
  });
  assert.deepEqual(only(n, 'SendNotification'), []);
  assert.deepEqual(only(n, 'Close'), [{ type: 'Close', conn: c2 }]);
  assert.deepEqual(only(n, 'SessionDown')[0]!.reason, {
    kind: 'notification-received',
    code: 6,
    subcode: 4,
    data: new Uint8Array(),
  });
});

test('losing a session with a graceful-restart peer: no idle hold, incoming accepted at once', () => {
  const fsm = new Fsm(config({ passive: true }));
  fsm.handle({ type: 'Start' });
  const conn = fsm.newConnectionId();
  fsm.handle({ type: 'TcpIncoming', conn });
  fsm.handle(open(conn, { gracefulRestart: true }));
  fsm.handle({ type: 'KeepaliveReceived', conn });
  const r = fsm.handle({ type: 'TcpClosed', conn });
  assert.deepEqual(only(r, 'SessionDown')[0]!.reason, { kind: 'connection-lost' });
  assert.deepEqual(only(r, 'StartTimer'), []);
  assert.equal(fsm.state, 'Active');
  assert.equal(fsm.errorCount, 0);
  const next = fsm.newConnectionId();
  assert.deepEqual(only(fsm.handle({ type: 'TcpIncoming', conn: next }), 'SendOpen'), [
    { type: 'SendOpen', conn: next },
  ]);
});

test('TCP failure before Established retries after ConnectRetry without backoff', () => {
  const fsm = new Fsm(config());
  const conn = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  fsm.handle({ type: 'TcpConnected', conn });
  const r = fsm.handle({ type: 'TcpClosed', conn });
  assert.deepEqual(only(r, 'SessionDown'), []);
  assert.deepEqual(
    only(r, 'StartTimer').map((t) => t.timer),
    ['ConnectRetry'],
  );
  assert.equal(fsm.state, 'Active');
  assert.equal(fsm.errorCount, 0);
});

test('stop sends Cease with the subcode and message to every connection, no backoff', () => {
  const fsm = new Fsm(config());
  const conn = establish(fsm);
  const r = fsm.handle({ type: 'Stop', subcode: CeaseSubcode.AdministrativeShutdown, message: 'maintenance' });
  assert.deepEqual(only(r, 'SendNotification'), [
    {
      type: 'SendNotification',
      conn,
      code: ErrorCode.Cease,
      subcode: CeaseSubcode.AdministrativeShutdown,
      message: 'maintenance',
    },
  ]);
  assert.deepEqual(only(r, 'SessionDown')[0]!.reason, {
    kind: 'stopped',
    subcode: CeaseSubcode.AdministrativeShutdown,
    message: 'maintenance',
  });
  assert.deepEqual(only(r, 'StartTimer'), []);
  assert.equal(fsm.state, 'Idle');
  assert.equal(fsm.isStarted, false);
  // Late events for the closed connection are ignored.
  assert.deepEqual(fsm.handle({ type: 'TimerExpired', timer: 'Hold', conn }), []);
  assert.deepEqual(fsm.handle({ type: 'KeepaliveReceived', conn }), []);
  // Incoming connections are refused while stopped.
  const inc = fsm.newConnectionId();
  assert.equal(
    only(fsm.handle({ type: 'TcpIncoming', conn: inc }), 'SendNotification')[0]!.subcode,
    CeaseSubcode.ConnectionRejected,
  );
  // Start again.
  assert.equal(only(fsm.handle({ type: 'Start' }), 'Connect').length, 1);
});

test('DelayOpen: OPEN sent when the peer’s OPEN arrives or the timer fires', () => {
  const fsm = new Fsm(config({ delayOpenTime: 5 }));
  const conn = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  const up = fsm.handle({ type: 'TcpConnected', conn });
  assert.deepEqual(only(up, 'SendOpen'), []);
  assert.deepEqual(
    only(up, 'StartTimer').map((t) => [t.timer, t.ms]),
    [
      ['DelayOpen', 5000],
      ['Hold', 240_000],
    ],
  );
  assert.equal(fsm.state, 'Connect');
  const r = fsm.handle(open(conn));
  assert.deepEqual(
    r.filter((a) => a.type === 'SendOpen' || a.type === 'SendKeepalive' || a.type === 'StopTimer').map((a) => a.type),
    ['StopTimer', 'SendOpen', 'SendKeepalive'],
  );
  assert.equal(fsm.state, 'OpenConfirm');

  const t = new Fsm(config({ delayOpenTime: 5, passive: true }));
  t.handle({ type: 'Start' });
  const inc = t.newConnectionId();
  t.handle({ type: 'TcpIncoming', conn: inc });
  assert.equal(t.state, 'Active');
  assert.deepEqual(t.handle({ type: 'TimerExpired', timer: 'DelayOpen', conn: inc }), [
    { type: 'SendOpen', conn: inc },
    { type: 'StateChange', from: 'Active', to: 'OpenSent' },
  ]);
  // A KEEPALIVE before any OPEN while DelayOpen runs is an FSM error.
  const u = new Fsm(config({ delayOpenTime: 5 }));
  const c3 = only(u.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  u.handle({ type: 'TcpConnected', conn: c3 });
  assert.equal(
    only(u.handle({ type: 'KeepaliveReceived', conn: c3 }), 'SendNotification')[0]!.code,
    ErrorCode.FiniteStateMachine,
  );
});

test('jitter stays within 75-100 % of the interval (RFC 4271 §10)', () => {
  assert.equal(
    jitter(30, () => 0),
    22_500,
  );
  assert.equal(
    jitter(30, () => 0.999999),
    30_000,
  );
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.integer({ min: 1, max: 65535 }),
      (r, s) => {
        const ms = jitter(s, () => r);
        return ms >= Math.floor(s * 750) && ms <= s * 1000;
      },
    ),
  );
});

test('any event sequence keeps the FSM invariants', () => {
  const eventArb = fc.oneof(
    fc.constant<{ kind: 'Start' }>({ kind: 'Start' }),
    fc.constant<{ kind: 'Stop' }>({ kind: 'Stop' }),
    fc.record({
      kind: fc.constant('PeerTimer' as const),
      timer: fc.constantFrom('ConnectRetry' as const, 'IdleHold' as const, 'ErrorForget' as const),
    }),
    fc.record({
      kind: fc.constant('Conn' as const),
      pick: fc.nat(5),
      what: fc.constantFrom(
        'TcpConnected',
        'TcpConnectFailed',
        'TcpClosed',
        'Open',
        'OpenBadHold',
        'OpenGr',
        'Keepalive',
        'Update',
        'Notification',
        'Error',
        'Hold',
        'KeepaliveTimer',
        'DelayOpen',
      ),
    }),
    fc.constant<{ kind: 'Incoming' }>({ kind: 'Incoming' }),
  );
  fc.assert(
    fc.property(fc.boolean(), fc.boolean(), fc.array(eventArb, { maxLength: 60 }), (passive, delayOpen, events) => {
      const fsm = new Fsm(config({ passive, delayOpenTime: delayOpen ? 3 : 0, idleHold: { min: 1, max: 8 } }));
      const known: number[] = [];
      const open = new Set<number>();
      const established = new Set<number>();
      for (const e of events) {
        let ev: FsmEvent;
        if (e.kind === 'Start') ev = { type: 'Start' };
        else if (e.kind === 'Stop') ev = { type: 'Stop', subcode: CeaseSubcode.AdministrativeShutdown };
        else if (e.kind === 'PeerTimer') ev = { type: 'TimerExpired', timer: e.timer };
        else if (e.kind === 'Incoming') {
          const id = fsm.newConnectionId();
          known.push(id);
          ev = { type: 'TcpIncoming', conn: id };
        } else {
          const conn = known.length ? known[e.pick % known.length]! : 99;
          const w = e.what;
          ev =
            w === 'Open' || w === 'OpenBadHold' || w === 'OpenGr'
              ? {
                  type: 'OpenReceived',
                  conn,
                  bgpId: HIGHER,
                  peerAs: 65001,
                  peerHoldTime: w === 'OpenBadHold' ? 2 : 9,
                  gracefulRestart: w === 'OpenGr',
                }
              : w === 'Keepalive'
                ? { type: 'KeepaliveReceived', conn }
                : w === 'Update'
                  ? { type: 'UpdateReceived', conn }
                  : w === 'Notification'
                    ? { type: 'NotificationReceived', conn, code: 6, subcode: 2, data: new Uint8Array() }
                    : w === 'Error'
                      ? { type: 'MessageError', conn, code: 3, subcode: 1 }
                      : w === 'Hold'
                        ? { type: 'TimerExpired', timer: 'Hold', conn }
                        : w === 'KeepaliveTimer'
                          ? { type: 'TimerExpired', timer: 'Keepalive', conn }
                          : w === 'DelayOpen'
                            ? { type: 'TimerExpired', timer: 'DelayOpen', conn }
                            : { type: w as 'TcpConnected' | 'TcpConnectFailed' | 'TcpClosed', conn };
        }
        const actions = fsm.handle(ev);
        for (let i = 0; i < actions.length; i++) {
          const a = actions[i]!;
          if (a.type === 'Connect') {
            assert.equal(passive, false, 'a passive peer never connects');
            known.push(a.conn);
          }
          if (a.type === 'SendOpen') open.add(a.conn);
          // Every NOTIFICATION is followed by the close of its connection.
          if (a.type === 'SendNotification') assert.deepEqual(actions[i + 1], { type: 'Close', conn: a.conn });
          if (a.type === 'Established') {
            assert.equal(open.has(a.conn), true, 'Established only after our OPEN');
            established.add(a.conn);
          }
          if (a.type === 'SessionDown') {
            assert.equal(established.delete(a.conn), true, 'SessionDown only for an Established connection');
          }
          if (a.type === 'Close' && established.has(a.conn)) {
            assert.ok(
              actions.some((b) => b.type === 'SessionDown' && b.conn === a.conn),
              'closing the Established connection reports the session down',
            );
          }
        }
        assert.ok(established.size <= 1, 'at most one Established connection');
        assert.equal(fsm.state === 'Established', established.size === 1);
        if (!fsm.isStarted) assert.equal(fsm.state, 'Idle', 'a stopped FSM is Idle');
      }
    }),
    { numRuns: 5000 },
  );
});
