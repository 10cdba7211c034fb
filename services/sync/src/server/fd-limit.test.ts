import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectionCap, openFileLimit, RESERVED_FDS } from './fd-limit.js';

const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            ${soft}                20000                files     
`;

describe('the open-file limit caps maxConnections', () => {
  it('reads the soft limit', () => {
    assert.equal(openFileLimit(limits('20000')), 20000);
    assert.equal(openFileLimit(limits('unlimited')), undefined);
    assert.equal(openFileLimit('garbage'), undefined);
    const own = openFileLimit();
    assert.ok(own === undefined || own > 0);
  });

  it('keeps maxConnections when the limit allows it, caps it (with a warning) when not', () => {
    const warnings: string[] = [];
    const log = { warn: (_o: unknown, msg: string) => void warnings.push(msg) } as unknown as Parameters<
      typeof connectionCap
    >[2];
    assert.equal(connectionCap(10_000, 65_536, log), 10_000);
    assert.equal(connectionCap(10_000, undefined, log), 10_000);
    assert.deepEqual(warnings, []);
    assert.equal(connectionCap(20_000, 20_000, log), 20_000 - RESERVED_FDS);
    assert.match(
      warnings[0]!,
      /maxConnections 20000 exceeds what the open-file limit \(20000\) allows; accepting 19744 streams/,
    );
    assert.equal(connectionCap(5, 100, log), 1);
  });

  it('counts the limit of each worker process: 20,000 streams fit two workers under a limit of 20,000', () => {
    const warnings: string[] = [];
    const log = { warn: (_o: unknown, msg: string) => void warnings.push(msg) } as unknown as Parameters<
      typeof connectionCap
    >[2];
    assert.equal(connectionCap(20_000, 20_000, log, 2), 20_000);
    assert.deepEqual(warnings, []);
    assert.equal(connectionCap(50_000, 20_000, log, 2), 2 * (20_000 - RESERVED_FDS));
    assert.match(warnings[0]!, /\(20000 per process, 2 worker processes\) allows; accepting 39488 streams/);
  });
});
