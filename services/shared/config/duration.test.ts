import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parseDuration, type ParamSpec } from './index.js';
import { durationMs, validateResource } from '../resources/index.js';

test('one duration syntax (Go and Kubernetes): units ns to h, sequences, or 0', () => {
  const cases: [string, number | undefined][] = [
    ['0', 0],
    ['500ms', 500],
    ['90s', 90_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['', undefined],
    ['5', undefined],
    ['soon', undefined],
    ['2 minutes', undefined],
    ['-1s', undefined],
    ['1d', undefined],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('configuration and resources accept the same durations; configuration also a plain number of milliseconds', () => {
  const spec = { grace: { type: 'duration', default: 1000, description: 'a duration' } } satisfies Record<
    string,
    ParamSpec<number>
  >;
  const load = (value: string) => loadConfig(spec, { env: { MESHLESS_GRACE: value } }).grace;
  for (const text of ['1h30m', '500ms', '90s', '0']) {
    assert.equal(load(text), parseDuration(text), text);
    assert.equal(durationMs(text), parseDuration(text), text);
  }
  assert.equal(load('2500'), 2500);
  assert.equal(load(' 10s '), 10_000);
  assert.throws(() => load('soon'), /must be a duration like 500ms, 10s or 5m, got "soon"/);
  const peer = (maxRestartTime: string) =>
    validateResource({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPPeer',
      metadata: { name: 'p' },
      spec: { peerIP: '10.0.0.1', asNumber: 64512, maxRestartTime },
    });
  assert.doesNotThrow(() => peer('1h30m'));
  assert.throws(() => peer('2500'), /spec\.maxRestartTime.*is not a duration/);
});
