import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  LabelSelectorError,
  MAX_SELECTOR_DEPTH,
  parseLabelSelector,
  parseSelector,
  ResourceError,
  SelectorError,
  type Labels,
} from './index.js';

const labels: Labels = { app: 'web', tier: 'frontend', 'k8s.io/zone': 'us-east-1a', empty: '' };

test('Calico selector: every operator', () => {
  const cases: [string, boolean][] = [
    ['', true],
    ['all()', true],
    ['global()', true],
    ['has(app)', true],
    ['has(db)', false],
    ['!has(db)', true],
    ["app == 'web'", true],
    ['app == "db"', false],
    ["app != 'db'", true],
    ["db != 'x'", true],
    ["app in {'web', 'api'}", true],
    ['app in {}', false],
    ["app not in {'web'}", false],
    ["db not in {'web'}", true],
    ["app notin {'api'}", true],
    ["k8s.io/zone starts with 'us-'", true],
    ["k8s.io/zone ends with '1a'", true],
    ["k8s.io/zone contains 'east'", true],
    ["db contains ''", false],
    ["empty == ''", true],
    ["app == 'web' && tier == 'frontend'", true],
    ["app == 'web' && tier == 'backend'", false],
    ["app == 'db' || tier == 'frontend'", true],
    ["app == 'db' || tier == 'frontend' && has(nope)", false],
    ["(app == 'db' || tier == 'frontend') && !has(nope)", true],
    ["!(app == 'web')", false],
    ['!!has(app)', true],
    ["\tapp=='web'&&tier=='frontend'  ", true],
  ];
  for (const [text, expected] of cases) assert.equal(parseSelector(text).matches(labels), expected, text);
  assert.equal(parseSelector('global()').isGlobal, true);
  assert.equal(parseSelector('all()').isGlobal, false);
  assert.equal(parseSelector("app == 'web' && !has(x)").toString(), 'app == "web" && !has(x)');
  assert.equal(parseSelector("!(a == 'b' || has(c))").toString(), '!(a == "b" || has(c))');
});

test('Calico selector: syntax errors name the position', () => {
  const cases: [string, number, RegExp][] = [
    ["app = 'web'", 4, /expected '=='/],
    ['app == web', 7, /expected a quoted string after '==', found label 'web'/],
    ["app == 'web", 7, /unterminated string/],
    ['has(app', 7, /expected '\)' to close has\(/],
    ["app is 'web'", 4, /expected an operator after label 'app'/],
    ["app == 'web' &&", 15, /found end of selector/],
    ["app == 'web' & tier == 'x'", 13, /expected '&&'/],
    ["(app == 'web'", 13, /expected '\)', found end of selector/],
    ["app == 'web')", 12, /unexpected '\)'/],
    ["app in {'a' 'b'}", 12, /expected ',' or '}' in set/],
    ["app in ('a')", 7, /expected '\{' after 'in'/],
    ['#', 0, /unexpected character '#'/],
    ['has(', 4, /expected a label, found end of selector/],
    ["== 'a'", 0, /expected a label, has\(\), all\(\), global\(\), '!' or '\(', found '=='/],
    ["a in {'x', b}", 11, /expected a quoted string in set, found label 'b'/],
    ['all(x)', 4, /expected '\)' after all/],
    [`${'x'.repeat(513)} == 'a'`, 0, /label longer than 512/],
  ];
  for (const [text, position, message] of cases) {
    assert.throws(
      () => parseSelector(text),
      (e: unknown) => {
        assert.ok(e instanceof SelectorError, `${text}: ${String(e)}`);
        assert.ok(e instanceof ResourceError);
        assert.equal(e.position, position, `${text}: ${e.message}`);
        assert.match(e.message, new RegExp(`^invalid selector at position ${position}: `));
        assert.match(e.message, message);
        return true;
      },
      text,
    );
  }
  assert.throws(
    () => parseSelector('!'.repeat(10_000) + 'all()'),
    new RegExp(`nested deeper than ${MAX_SELECTOR_DEPTH}`),
  );
  assert.throws(() => parseSelector('('.repeat(10_000)), /nested deeper/);
});

// A reference model: an AST of simple selectors, rendered to text and evaluated directly.
type Ref =
  | { t: 'has' | 'nothas'; k: string }
  | { t: 'eq' | 'ne' | 'contains' | 'starts' | 'ends'; k: string; v: string }
  | { t: 'in' | 'notin'; k: string; vs: string[] }
  | { t: 'and' | 'or'; a: Ref; b: Ref }
  | { t: 'not'; a: Ref }
  | { t: 'all' };

const keys = ['a', 'b', 'x.io/c', 'd_e'];
const values = ['', '1', 'v', 'vv', 'w-1'];
const key = fc.constantFrom(...keys);
const value = fc.constantFrom(...values);

const refArb: fc.Arbitrary<Ref> = fc.letrec<{ ref: Ref }>((tie) => ({
  ref: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constantFrom('has' as const, 'nothas' as const), k: key }),
    fc.record({
      t: fc.constantFrom('eq' as const, 'ne' as const, 'contains' as const, 'starts' as const, 'ends' as const),
      k: key,
      v: value,
    }),
    fc.record({ t: fc.constantFrom('in' as const, 'notin' as const), k: key, vs: fc.array(value, { maxLength: 3 }) }),
    fc.constant({ t: 'all' as const }),
    fc.record({ t: fc.constantFrom('and' as const, 'or' as const), a: tie('ref'), b: tie('ref') }),
    fc.record({ t: fc.constant('not' as const), a: tie('ref') }),
  ),
})).ref;

function render(r: Ref): string {
  const q = (v: string) => (v.length % 2 ? `'${v}'` : `"${v}"`);
  switch (r.t) {
    case 'has':
      return `has(${r.k})`;
    case 'nothas':
      return `!has(${r.k})`;
    case 'eq':
      return `${r.k} == ${q(r.v)}`;
    case 'ne':
      return `${r.k} != ${q(r.v)}`;
    case 'contains':
      return `${r.k} contains ${q(r.v)}`;
    case 'starts':
      return `${r.k} starts with ${q(r.v)}`;
    case 'ends':
      return `${r.k} ends with ${q(r.v)}`;
    case 'in':
      return `${r.k} in {${r.vs.map(q).join(',')}}`;
    case 'notin':
      return `${r.k} not in { ${r.vs.map(q).join(' , ')} }`;
    case 'all':
      return 'all()';
    case 'and':
      return `(${render(r.a)}) && (${render(r.b)})`;
    case 'or':
      return `(${render(r.a)}) || (${render(r.b)})`;
    case 'not':
      return `!(${render(r.a)})`;
  }
}

function evalRef(r: Ref, l: Record<string, string>): boolean {
  const has = r.t !== 'all' && 'k' in r && Object.hasOwn(l, r.k);
  const v = 'k' in r ? l[r.k] : undefined;
  switch (r.t) {
    case 'has':
      return has;
    case 'nothas':
      return !has;
    case 'eq':
      return has && v === r.v;
    case 'ne':
      return !has || v !== r.v;
    case 'contains':
      return has && v!.includes(r.v);
    case 'starts':
      return has && v!.startsWith(r.v);
    case 'ends':
      return has && v!.endsWith(r.v);
    case 'in':
      return has && r.vs.includes(v!);
    case 'notin':
      return !has || !r.vs.includes(v!);
    case 'all':
      return true;
    case 'and':
      return evalRef(r.a, l) && evalRef(r.b, l);
    case 'or':
      return evalRef(r.a, l) || evalRef(r.b, l);
    case 'not':
      return !evalRef(r.a, l);
  }
}

const labelMap = fc.dictionary(key, value, { maxKeys: 4 });

test('property: generated selectors evaluate like the reference model, also after re-rendering', () => {
  fc.assert(
    fc.property(refArb, fc.array(labelMap, { minLength: 1, maxLength: 8 }), (ref, maps) => {
      const text = render(ref);
      const sel = parseSelector(text);
      const again = parseSelector(sel.toString());
      for (const l of maps) {
        assert.equal(sel.matches(l), evalRef(ref, l), `${text} on ${JSON.stringify(l)}`);
        assert.equal(again.matches(l), evalRef(ref, l), `${sel.toString()} on ${JSON.stringify(l)}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('property: arbitrary text either parses or throws SelectorError with a position inside the text', () => {
  const selectorish = fc
    .array(
      fc.constantFrom(
        'a',
        'b',
        ' ',
        '(',
        ')',
        '{',
        '}',
        ',',
        '=',
        '!',
        '&',
        '|',
        "'",
        '"',
        'in',
        'not',
        'has(',
        'all()',
        'global()',
        'starts',
        'with',
        'contains',
        '==',
        '!=',
        '&&',
        '||',
      ),
      { maxLength: 30 },
    )
    .map((p) => p.join(''));
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), selectorish),
      (text) => {
        try {
          const sel = parseSelector(text);
          assert.equal(typeof sel.matches({ a: 'b' }), 'boolean');
          parseSelector(sel.toString());
        } catch (e) {
          assert.ok(e instanceof SelectorError, `${JSON.stringify(text)} threw ${String(e)}`);
          assert.ok(e.position >= 0 && e.position <= text.length, `${JSON.stringify(text)}: position ${e.position}`);
        }
      },
    ),
    { numRuns: 5000 },
  );
  assert.throws(() => parseSelector(42 as unknown as string), SelectorError);
});

test('Kubernetes label selector', () => {
  const l = { app: 'web', tier: 'frontend', 'k8s.io/zone': 'a' };
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app = web , tier = frontend', true],
    ['app!=web', false],
    ['db!=x', true],
    ['app in (web,api)', true],
    ['app notin (web)', false],
    ['db notin (web)', true],
    ['app', true],
    ['db', false],
    ['!db', true],
    ['!app', false],
    ['k8s.io/zone=a,app', true],
    ['app=', false],
  ];
  for (const [text, expected] of cases) assert.equal(parseLabelSelector(text).matches(l), expected, text);
  const bad: [string, RegExp][] = [
    ['app=web,', /expected a label key, found end of selector/],
    ['app in (web', /expected ',' or '\)' in the value set of 'app'/],
    ['app in ()', /'in' needs at least one value/],
    ['app > 1', /expected '=', '==', '!=', 'in', 'notin', ',' or end after 'app', found '>'/],
    ['-app=x', /label key '-app'/],
    ['app=-x', /label value '-x'/],
    ['app=web tier=x', /expected ',' or end of selector, found 't'/],
    ['=x', /expected a label key, found '='/],
  ];
  assert.throws(() => parseLabelSelector(1 as unknown as string), /label selector must be a string/);
  for (const [text, message] of bad) {
    assert.throws(
      () => parseLabelSelector(text),
      (e: unknown) =>
        e instanceof LabelSelectorError &&
        e instanceof ResourceError &&
        /^invalid label selector at position \d+: /.test(e.message) &&
        message.test(e.message),
      text,
    );
  }
});
