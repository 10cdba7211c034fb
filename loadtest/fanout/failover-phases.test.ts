import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PHASE_MOMENTS, summarizePhases } from './failover-phases.js';

describe('failover phases', () => {
  it('splits each orphan’s time into detect, spread, set-up, resume and sync, from the kill', () => {
    const kill = 1_000;
    // lost, reconnect, settings, hello, inSync
    const rows = [
      [1_002, 1_102, 1_112, 1_113, 1_120],
      [1_004, 1_504, 1_520, 1_522, 1_530],
    ];
    const p = summarizePhases(rows, kill);
    assert.equal(p.streams, 2);
    assert.equal(p.detectMs.max, 4);
    assert.equal(p.spreadMs.min, 100);
    assert.equal(p.spreadMs.max, 500);
    assert.equal(p.setupMs.max, 16);
    assert.equal(p.resumeMs.max, 2);
    assert.equal(p.syncMs.max, 8);
    assert.equal(p.doneMs.max, 530);
    assert.equal(p.doneMs.count, 2);
  });

  it('leaves out an orphan with a moment missing or a row of the wrong length, and never goes below zero', () => {
    const p = summarizePhases(
      [
        [Number.NaN, 5, 6, 7, 8],
        [1, 2, 3],
        // A standby session's SETTINGS came before the failover: set-up counts as 0, not negative.
        [10, 20, 15, 30, 40],
      ],
      0,
    );
    assert.equal(PHASE_MOMENTS.length, 5);
    assert.equal(p.streams, 1);
    assert.equal(p.setupMs.max, 0);
    assert.equal(p.resumeMs.max, 15);
  });
});
