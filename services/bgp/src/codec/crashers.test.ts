// Replays every input in testdata/crashers/ (found by the property tests or written by hand to be
// nasty): each must decode or raise BgpMessageError under every option set, decode stably, and
// go through FrameReader one octet at a time without anything but BgpMessageError.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BgpMessageError, FrameReader } from './index.js';
import { decodesOrBgpError, REPLAY_OPTIONS, stable } from './test-support.js';
import { decodeMessage } from './index.js';

const DIR = join(import.meta.dirname, 'testdata', 'crashers');

function load(file: string): Uint8Array {
  const hex = readFileSync(join(DIR, file), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
  assert.match(hex, /^([0-9a-f]{2})*$/i, `${file}: not hex`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

describe('crasher replay', () => {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.hex'))
    .sort();

  it('has inputs', () => assert.ok(files.length >= 30, `${files.length} crasher files`));

  for (const file of files) {
    it(file, () => {
      const bytes = load(file);
      for (const opts of REPLAY_OPTIONS) {
        decodesOrBgpError(() => decodeMessage(bytes, opts), bytes);
        stable(bytes, opts);
        const reader = new FrameReader({ extendedMessage: true });
        try {
          for (let i = 0; i < bytes.length; i++) {
            reader.push(bytes.subarray(i, i + 1));
            for (let f = reader.next(); f; f = reader.next())
              decodesOrBgpError(() => decodeMessage(f.message, opts), f.message);
          }
        } catch (err) {
          assert.ok(err instanceof BgpMessageError, String(err));
        }
      }
    });
  }
});
