export { Fsm } from './fsm.js';
export type { ConnectionInfo } from './fsm.js';
export { SessionState, SESSION_STATE_CODE } from './types.js';
export type {
  SessionStateName,
  ConnectionId,
  Direction,
  PeerTimer,
  ConnectionTimer,
  FsmConfig,
  FsmEvent,
  FsmAction,
  DownReason,
} from './types.js';
export { jitter, negotiateHoldTime, idleHoldSeconds } from './timers.js';
export type { HoldTimeResult } from './timers.js';
