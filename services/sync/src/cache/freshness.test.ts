// The horizon poll's verdicts without a server: a watch stuck behind a message the leader holds is
// re-opened every `stallPolls` polls for as long as it stays stuck (it used to be re-opened once
// per stream last sequence: the chaos suite's stale agent, stuck for 60 s with the writers paused),
// a stream whose newest messages were purged tombstones is no stall, and falling behind
// compaction is stale.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Freshness } from './freshness.js';

test('a watch stuck at one revision is re-opened every stallPolls polls while the leader holds a later message', () => {
  const f = new Freshness(3);
  f.reset(60);
  const kinds: string[] = [];
  // Same stream position throughout (the writers paused): stuck, re-opened, stuck again.
  for (let poll = 0; poll < 9; poll++) kinds.push(f.judge(60, 0, 0, 63).kind);
  assert.deepEqual(kinds, ['ok', 'ok', 'stalled', 'ok', 'ok', 'stalled', 'ok', 'ok', 'stalled']);
});

test('a revision that moves, or nothing after it (purged tombstones at the tail), is no stall', () => {
  const f = new Freshness(3);
  f.reset(60);
  for (let poll = 0; poll < 6; poll++) assert.equal(f.judge(60, 0, 0, undefined).kind, 'ok');
  for (let r = 61; r < 70; r++) assert.equal(f.judge(r, 0, 0, r + 1).kind, 'ok');
});

test('compaction past the revision held at the previous poll is stale, not stalled', () => {
  const f = new Freshness(3);
  f.reset(60);
  assert.equal(f.judge(60, 0, 50, 61).kind, 'ok');
  const v = f.judge(60, 50, 80, 81);
  assert.equal(v.kind, 'stale');
});
