import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxTable, formatG, formatPercent, tabTable } from './table.js';

test('tabTable pads each column to its widest cell plus 3, at least 5, and trims line ends', () => {
  const out = tabTable([
    ['NAME', 'CIDR', 'SELECTOR'],
    ['default-ipv4-ippool', '192.168.0.0/16', 'all()'],
    ['p', '10.0.0.0/8', ''],
  ]);
  assert.equal(
    out,
    'NAME                  CIDR             SELECTOR\n' +
      'default-ipv4-ippool   192.168.0.0/16   all()\n' +
      'p                     10.0.0.0/8\n',
  );
});

test('tabTable gives narrow columns the minimum width of 5 and counts code points, not bytes', () => {
  assert.equal(
    tabTable([
      ['A', 'B'],
      ['é', 'x'],
    ]),
    'A    B\né    x\n',
  );
  assert.equal(tabTable([['NAME']]), 'NAME\n');
});

test('boxTable draws go-pretty default style with centred headings and right-aligned numbers', () => {
  const out = boxTable(
    ['GROUPING', 'CIDR', 'IPS TOTAL'],
    [['IP Pool', '10.65.0.0/16', '65536']],
    ['left', 'left', 'right'],
  );
  assert.equal(
    out,
    '+----------+--------------+-----------+\n' +
      '| GROUPING |     CIDR     | IPS TOTAL |\n' +
      '+----------+--------------+-----------+\n' +
      '| IP Pool  | 10.65.0.0/16 |     65536 |\n' +
      '+----------+--------------+-----------+\n',
  );
});

test('boxTable with no rows is the heading box only', () => {
  assert.equal(boxTable(['A', 'BB'], []), '+---+----+\n| A | BB |\n+---+----+\n');
});

test("formatG matches Go's %.5g", () => {
  assert.equal(formatG(0), '0');
  assert.equal(formatG(5), '5');
  assert.equal(formatG(64), '64');
  assert.equal(formatG(65536), '65536');
  assert.equal(formatG(99999), '99999');
  assert.equal(formatG(100000), '1e+05');
  assert.equal(formatG(16777216), '1.6777e+07');
  assert.equal(formatG(2 ** 80), '1.2089e+24');
  assert.equal(formatG(1.5), '1.5');
});

test("formatPercent rounds like Go's %.f (ties to even)", () => {
  assert.equal(formatPercent(5, 65536), '0%');
  assert.equal(formatPercent(65531, 65536), '100%');
  assert.equal(formatPercent(1, 8), '12%'); // 12.5 → 12
  assert.equal(formatPercent(3, 8), '38%'); // 37.5 → 38
  assert.equal(formatPercent(1, 3), '33%');
  assert.equal(formatPercent(0, 0), '0%');
});
