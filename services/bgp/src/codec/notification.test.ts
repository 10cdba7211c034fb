import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CeaseSubcode,
  decodeMessage,
  encodeMessage,
  endOfRib,
  isEndOfRib,
  shutdownCommunication,
  shutdownNotification,
  type NotificationMessage,
  type UpdateMessage,
} from './index.js';

const OPTS = { fourOctetAs: true, extendedMessage: false, addPath: [] };

describe('RFC 9003 shutdown communication', () => {
  it('round-trips through a Cease NOTIFICATION', () => {
    const n = shutdownNotification(CeaseSubcode.AdministrativeShutdown, 'maintenance: RR upgrade, back in 5 min ✓');
    const d = decodeMessage(encodeMessage(n, OPTS), OPTS).message as NotificationMessage;
    assert.equal(shutdownCommunication(d), 'maintenance: RR upgrade, back in 5 min ✓');
  });
  it('truncates to 255 octets at a character boundary', () => {
    const n = shutdownNotification(CeaseSubcode.AdministrativeReset, 'é'.repeat(200));
    assert.equal(n.data[0], 254);
    assert.equal(shutdownCommunication(n), 'é'.repeat(127));
  });
  it('is absent for other NOTIFICATIONs, bad lengths and invalid UTF-8', () => {
    const mk = (subcode: number, data: number[]): NotificationMessage => ({
      type: 3,
      code: 6,
      subcode,
      data: new Uint8Array(data),
    });
    assert.equal(shutdownCommunication(mk(CeaseSubcode.PeerDeconfigured, [1, 65])), undefined);
    assert.equal(shutdownCommunication(mk(2, [5, 65])), undefined);
    assert.equal(shutdownCommunication(mk(2, [1, 0xff])), undefined);
    assert.equal(shutdownCommunication(mk(2, [])), undefined);
  });
});

describe('End-of-RIB (RFC 4724 §2)', () => {
  it('is an empty UPDATE for IPv4 unicast and an empty MP_UNREACH otherwise', () => {
    for (const [afi, safi] of [
      [1, 1],
      [2, 1],
      [1, 2],
    ] as const) {
      const bytes = encodeMessage(endOfRib(afi, safi), OPTS);
      if (afi === 1 && safi === 1) assert.equal(bytes.length, 23);
      const u = decodeMessage(bytes, OPTS).message as UpdateMessage;
      assert.deepEqual(isEndOfRib(u), { afi, safi });
    }
    const notEor: UpdateMessage = {
      type: 2,
      withdrawn: [{ afi: 4, length: 8, bytes: new Uint8Array([10]), pathId: 0 }],
      nlri: [],
    };
    assert.equal(isEndOfRib(notEor), undefined);
  });
});
