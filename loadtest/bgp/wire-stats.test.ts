// bench:bgp's wire counters: ss output parsed into per-session counters, summed per role.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { countWire, parseSs, wireDelta } from './wire-stats.js';

// `ss -tinH state established` as iproute2 6.1 prints it (counters trimmed); a counter still at 0
// is left out (the injector-side socket below has no data_segs_in).
const SS = `0      0      10.0.0.3:38211 10.0.0.1:179
\t bbr wscale:10,10 rto:204 mss:65483 bytes_sent:120 bytes_acked:120 bytes_received:503290 segs_out:30 segs_in:40 data_segs_out:3 data_segs_in:23 send 1bps
0      0      10.0.0.1:179 10.0.0.3:38211
\t bbr wscale:10,10 bytes_sent:503290 bytes_received:120 data_segs_out:23 data_segs_in:3
0      0      10.0.0.2:179 10.0.0.1:40001
\t bbr bytes_sent:687772 bytes_acked:687772 segs_out:31 data_segs_out:28
0      0      10.0.0.4:50000 10.0.0.1:179
\t bbr bytes_received:1000 data_segs_in:2
0      0      10.0.0.9:179 10.0.0.8:1234
\t bbr bytes_sent:5 data_segs_out:1
`;

describe('bench:bgp wire counters', () => {
  it('sums what the receivers got from the reflector and what the injector sent', () => {
    const c = countWire(parseSs(SS), '10.0.0.1', '10.0.0.2', ['10.0.0.3', '10.0.0.4']);
    assert.deepEqual(c, { receivedBytes: 504290, receivedSegments: 25, injectorBytes: 687772, injectorSegments: 28 });
  });

  it('counts the floor: the injector as every receiver upstream', () => {
    const c = countWire(parseSs(SS), '10.0.0.2', '10.0.0.2', ['10.0.0.3']);
    assert.deepEqual(c, { receivedBytes: 0, receivedSegments: 0, injectorBytes: 0, injectorSegments: 0 });
  });

  it('reads nothing from empty or garbled output', () => {
    assert.deepEqual(parseSs(''), []);
    assert.deepEqual(parseSs('\tbytes_sent:5\nnot a socket line\n'), []);
  });

  it('takes phase deltas counter by counter', () => {
    const a = { receivedBytes: 10, receivedSegments: 1, injectorBytes: 5, injectorSegments: 1 };
    const b = { receivedBytes: 30, receivedSegments: 4, injectorBytes: 9, injectorSegments: 3 };
    assert.deepEqual(wireDelta(a, b), {
      receivedBytes: 20,
      receivedSegments: 3,
      injectorBytes: 4,
      injectorSegments: 2,
    });
  });
});
