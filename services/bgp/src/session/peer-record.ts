// What an operator sees of a peer beyond its FSM state (`meshless bgp peers`, the admin API):
// flaps, the last error, the last NOTIFICATION each way and the message counters, kept together
// with the speaker metrics that count the same events.
import type { SpeakerMetrics } from './metrics.js';
import type { NotificationRecord, PeerStatus } from './types.js';

export class PeerRecord {
  flaps = 0;
  /** Why the peer is down or what went wrong last (shown in its status). */
  lastError: string | undefined;
  private readonly notifications: { lastSent?: NotificationRecord; lastReceived?: NotificationRecord } = {};
  private readonly received: Record<string, number> = {};
  private readonly sent: Record<string, number> = {};

  constructor(
    private readonly address: string,
    private readonly metrics: SpeakerMetrics,
  ) {}

  countSent(type: string, n = 1): void {
    this.sent[type] = (this.sent[type] ?? 0) + n;
    for (let i = 0; i < n; i++) this.metrics.sent(this.address, type);
  }

  countReceived(type: string): void {
    this.received[type] = (this.received[type] ?? 0) + 1;
    this.metrics.received(this.address, type);
  }

  /** A NOTIFICATION sent or received; `remember` false for routine ones (counted, not recorded). */
  notification(
    direction: 'sent' | 'received',
    n: { code: number; subcode: number },
    text: string,
    remember = true,
  ): void {
    this.metrics.notification(this.address, direction, n.code, n.subcode);
    if (!remember) return;
    this.lastError = `${direction} ${text}`;
    const record = { code: n.code, subcode: n.subcode, text, at: Date.now() };
    if (direction === 'sent') this.notifications.lastSent = record;
    else this.notifications.lastReceived = record;
  }

  flap(): void {
    this.flaps++;
    this.metrics.flap(this.address);
  }

  snapshot(): Pick<PeerStatus, 'flaps' | 'lastError' | 'notifications' | 'messages'> {
    return {
      flaps: this.flaps,
      lastError: this.lastError,
      notifications: { ...this.notifications },
      messages: { received: { ...this.received }, sent: { ...this.sent } },
    };
  }
}
