// Shared by the FSM's tests: an FSM configuration, picking actions of a type, an OPEN event and
// driving a session to Established.
import assert from 'node:assert/strict';
import { Fsm, type FsmAction, type FsmConfig, type FsmEvent } from './index.js';

export const LOCAL_ID = 0x0a000005; // 10.0.0.5
export const HIGHER = 0x0a000009;
export const LOWER = 0x0a000001;

export function config(over: Partial<FsmConfig> = {}): FsmConfig {
  return {
    localBgpId: LOCAL_ID,
    localAs: 65000,
    passive: false,
    holdTime: 90,
    connectRetryTime: 10,
    openHoldTime: 240,
    delayOpenTime: 0,
    idleHold: { min: 5, max: 60 },
    errorForgetTime: 300,
    random: () => 1,
    ...over,
  };
}

export function only<T extends FsmAction['type']>(actions: FsmAction[], type: T): Extract<FsmAction, { type: T }>[] {
  return actions.filter((a): a is Extract<FsmAction, { type: T }> => a.type === type);
}

export function open(conn: number, over: Partial<Extract<FsmEvent, { type: 'OpenReceived' }>> = {}): FsmEvent {
  return {
    type: 'OpenReceived',
    conn,
    bgpId: HIGHER,
    peerAs: 65001,
    peerHoldTime: 90,
    gracefulRestart: false,
    ...over,
  };
}

/** Drives an active FSM to Established on its outgoing connection and returns that connection. */
export function establish(fsm: Fsm, over: Partial<Extract<FsmEvent, { type: 'OpenReceived' }>> = {}): number {
  const conn = only(fsm.handle({ type: 'Start' }), 'Connect')[0]!.conn;
  fsm.handle({ type: 'TcpConnected', conn });
  fsm.handle(open(conn, over));
  const up = fsm.handle({ type: 'KeepaliveReceived', conn });
  assert.equal(only(up, 'Established').length, 1);
  return conn;
}
