// Calico's selector language (policy selectors, nodeSelector, peerSelector, namespaceSelector):
//
//   expr    := and ('||' and)*
//   and     := unary ('&&' unary)*
//   unary   := '!'* atom
//   atom    := 'all()' | 'global()' | 'has(' label ')' | '(' expr ')'
//            | label ('==' | '!=' | 'contains' | 'starts with' | 'ends with') string
//            | label ('in' | 'not in') '{' [string (',' string)*] '}'
//   string  := '"' chars '"' | "'" chars "'"          (no escapes, as in Calico)
//   label   := [A-Za-z0-9_./-]+ (at most 512 characters)
//
// The empty selector means all(). Whitespace is spaces and tabs, as in Calico's tokenizer.
// Semantics: `k != v` and `k not in {…}` also match when k is absent; every other comparison
// needs k present. `global()` matches everything here; it only means something in a
// namespaceSelector, where callers check `Selector.isGlobal`.

import { ResourceError } from './errors.js';

/** Calico's label length limit in selectors. */
export const MAX_SELECTOR_LABEL_LENGTH = 512;
/** Nesting limit for '(' and '!', so hostile input cannot exhaust the stack. */
export const MAX_SELECTOR_DEPTH = 64;
/** Length limit of a selector's text. */
export const MAX_SELECTOR_LENGTH = 64 * 1024;

export type Labels = Readonly<Record<string, string>>;

export type SelectorNode =
  | { op: 'all' }
  | { op: 'global' }
  | { op: 'has'; label: string }
  | { op: 'not'; node: SelectorNode }
  | { op: 'and'; nodes: SelectorNode[] }
  | { op: 'or'; nodes: SelectorNode[] }
  | { op: '==' | '!=' | 'contains' | 'starts with' | 'ends with'; label: string; value: string }
  | { op: 'in' | 'not in'; label: string; values: string[] };

export interface Selector {
  /** The text as given. */
  readonly text: string;
  readonly root: SelectorNode;
  /** True when the selector is exactly `global()`. */
  readonly isGlobal: boolean;
  matches(labels: Labels): boolean;
  /** Normalized text (Calico's rendering: double quotes, single spaces). */
  toString(): string;
}

/** A selector that does not parse; `position` is the 0-based character offset of the problem. */
export class SelectorError extends ResourceError {
  readonly position: number;
  constructor(reason: string, position: number, field?: string) {
    super(`invalid selector at position ${position}: ${reason}`, field === undefined ? {} : { field });
    this.position = position;
  }
}

type TokKind =
  | 'label'
  | 'string'
  | '('
  | ')'
  | '{'
  | '}'
  | ','
  | '=='
  | '!='
  | '!'
  | '&&'
  | '||'
  | 'in'
  | 'not in'
  | 'contains'
  | 'starts with'
  | 'ends with'
  | 'all()'
  | 'global()'
  | 'has'
  | 'eof';

interface Token {
  kind: TokKind;
  value: string;
  pos: number;
}

const isIdentChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_./-]/.test(c);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const skipSpace = () => {
    while (input[i] === ' ' || input[i] === '\t') i++;
  };
  const ident = (): string => {
    const start = i;
    while (isIdentChar(input[i])) i++;
    if (i === start) {
      const c = input[i];
      throw new SelectorError(
        c === undefined ? 'expected a label, found end of selector' : `unexpected character '${c}'`,
        i,
      );
    }
    if (i - start > MAX_SELECTOR_LABEL_LENGTH) {
      throw new SelectorError(`label longer than ${MAX_SELECTOR_LABEL_LENGTH} characters`, start);
    }
    return input.slice(start, i);
  };
  // A keyword must end at a word boundary ("in" is not the start of "index").
  const word = (w: string): boolean => {
    if (!input.startsWith(w, i) || isIdentChar(input[i + w.length])) return false;
    i += w.length;
    return true;
  };
  const words = (a: string, b: string): boolean => {
    const save = i;
    if (!input.startsWith(a, i)) return false;
    i += a.length;
    skipSpace();
    if (word(b)) return true;
    i = save;
    return false;
  };
  const call = (name: string): boolean => {
    if (!input.startsWith(`${name}(`, i)) return false;
    i += name.length + 1;
    return true;
  };
  for (;;) {
    skipSpace();
    const pos = i;
    const c = input[i];
    if (c === undefined) {
      tokens.push({ kind: 'eof', value: '', pos });
      return tokens;
    }
    const push = (kind: TokKind, value = '') => tokens.push({ kind, value, pos });
    const two = input.slice(i, i + 2);
    if (c === '(' || c === ')' || c === '{' || c === '}' || c === ',') {
      i++;
      push(c);
    } else if (c === '"' || c === "'") {
      const end = input.indexOf(c, i + 1);
      if (end < 0) throw new SelectorError('unterminated string', pos);
      push('string', input.slice(i + 1, end));
      i = end + 1;
    } else if (two === '==' || two === '!=' || two === '&&' || two === '||') {
      i += 2;
      push(two);
    } else if (c === '!') {
      i++;
      push('!');
    } else if (c === '=' || c === '&' || c === '|') {
      throw new SelectorError(`expected '${c}${c}'`, pos);
    } else if (tokens[tokens.length - 1]?.kind === 'label') {
      // After a label only an operator may follow.
      if (word('contains')) push('contains');
      else if (words('starts', 'with')) push('starts with');
      else if (words('ends', 'with')) push('ends with');
      else if (words('not', 'in') || word('notin')) push('not in');
      else if (word('in')) push('in');
      else throw new SelectorError(`expected an operator after label '${tokens[tokens.length - 1]!.value}'`, pos);
    } else if (call('has')) {
      skipSpace();
      const label = ident();
      skipSpace();
      if (input[i] !== ')') throw new SelectorError("expected ')' to close has(", i);
      i++;
      push('has', label);
    } else if (call('all') || call('global')) {
      const kind = input.startsWith('all(', pos) ? 'all()' : 'global()';
      skipSpace();
      if (input[i] !== ')') throw new SelectorError(`expected ')' after ${kind.slice(0, -1)}`, i);
      i++;
      push(kind);
    } else {
      push('label', ident());
    }
  }
}

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.at]!;
  }
  private next(): Token {
    return this.tokens[this.at++]!;
  }
  private describe(t: Token): string {
    if (t.kind === 'eof') return 'end of selector';
    if (t.kind === 'label') return `label '${t.value}'`;
    if (t.kind === 'string') return `string "${t.value}"`;
    return `'${t.kind}'`;
  }

  parse(): SelectorNode {
    if (this.peek().kind === 'eof') return { op: 'all' };
    const node = this.or(0);
    const t = this.peek();
    if (t.kind !== 'eof') throw new SelectorError(`unexpected ${this.describe(t)}`, t.pos);
    return node;
  }

  private or(depth: number): SelectorNode {
    const nodes = [this.and(depth)];
    while (this.peek().kind === '||') {
      this.next();
      nodes.push(this.and(depth));
    }
    return nodes.length === 1 ? nodes[0]! : { op: 'or', nodes };
  }

  private and(depth: number): SelectorNode {
    const nodes = [this.unary(depth)];
    while (this.peek().kind === '&&') {
      this.next();
      nodes.push(this.unary(depth));
    }
    return nodes.length === 1 ? nodes[0]! : { op: 'and', nodes };
  }

  private unary(depth: number): SelectorNode {
    if (depth > MAX_SELECTOR_DEPTH)
      throw new SelectorError(`nested deeper than ${MAX_SELECTOR_DEPTH} levels`, this.peek().pos);
    if (this.peek().kind === '!') {
      this.next();
      return { op: 'not', node: this.unary(depth + 1) };
    }
    return this.atom(depth);
  }

  private string(after: string): string {
    const t = this.next();
    if (t.kind !== 'string')
      throw new SelectorError(`expected a quoted string after '${after}', found ${this.describe(t)}`, t.pos);
    return t.value;
  }

  private atom(depth: number): SelectorNode {
    const t = this.next();
    switch (t.kind) {
      case 'all()':
        return { op: 'all' };
      case 'global()':
        return { op: 'global' };
      case 'has':
        return { op: 'has', label: t.value };
      case '(': {
        const node = this.or(depth + 1);
        const close = this.next();
        if (close.kind !== ')') throw new SelectorError(`expected ')', found ${this.describe(close)}`, close.pos);
        return node;
      }
      case 'label': {
        const op = this.next();
        switch (op.kind) {
          case '==':
          case '!=':
          case 'contains':
          case 'starts with':
          case 'ends with':
            return { op: op.kind, label: t.value, value: this.string(op.kind) };
          case 'in':
          case 'not in':
            return { op: op.kind, label: t.value, values: this.set(op.kind) };
          default:
            throw new SelectorError(
              `expected an operator after label '${t.value}', found ${this.describe(op)}`,
              op.pos,
            );
        }
      }
      default:
        throw new SelectorError(
          `expected a label, has(), all(), global(), '!' or '(', found ${this.describe(t)}`,
          t.pos,
        );
    }
  }

  private set(op: string): string[] {
    const open = this.next();
    if (open.kind !== '{')
      throw new SelectorError(`expected '{' after '${op}', found ${this.describe(open)}`, open.pos);
    const values: string[] = [];
    if (this.peek().kind === '}') {
      this.next();
      return values;
    }
    for (;;) {
      const v = this.next();
      if (v.kind !== 'string')
        throw new SelectorError(`expected a quoted string in set, found ${this.describe(v)}`, v.pos);
      values.push(v.value);
      const sep = this.next();
      if (sep.kind === '}') return [...new Set(values)].sort();
      if (sep.kind !== ',') throw new SelectorError(`expected ',' or '}' in set, found ${this.describe(sep)}`, sep.pos);
    }
  }
}

function evaluate(node: SelectorNode, labels: Labels): boolean {
  switch (node.op) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return Object.hasOwn(labels, node.label);
    case 'not':
      return !evaluate(node.node, labels);
    case 'and':
      return node.nodes.every((n) => evaluate(n, labels));
    case 'or':
      return node.nodes.some((n) => evaluate(n, labels));
    case '==':
      return Object.hasOwn(labels, node.label) && labels[node.label] === node.value;
    case '!=':
      return !Object.hasOwn(labels, node.label) || labels[node.label] !== node.value;
    case 'contains':
      return Object.hasOwn(labels, node.label) && labels[node.label]!.includes(node.value);
    case 'starts with':
      return Object.hasOwn(labels, node.label) && labels[node.label]!.startsWith(node.value);
    case 'ends with':
      return Object.hasOwn(labels, node.label) && labels[node.label]!.endsWith(node.value);
    case 'in':
      return Object.hasOwn(labels, node.label) && node.values.includes(labels[node.label]!);
    case 'not in':
      return !Object.hasOwn(labels, node.label) || !node.values.includes(labels[node.label]!);
  }
}

const quote = (s: string) => (s.includes('"') ? `'${s}'` : `"${s}"`);

function render(node: SelectorNode, parent?: 'and' | 'or'): string {
  switch (node.op) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${node.label})`;
    case 'not':
      return `!${render(node.node, 'and')}`;
    case 'and': {
      const s = node.nodes.map((n) => render(n, 'and')).join(' && ');
      return parent ? `(${s})` : s;
    }
    case 'or': {
      const s = node.nodes.map((n) => render(n, 'or')).join(' || ');
      return parent ? `(${s})` : s;
    }
    case 'in':
    case 'not in':
      return `${node.label} ${node.op} {${node.values.map(quote).join(', ')}}`;
    default:
      return `${node.label} ${node.op} ${quote(node.value)}`;
  }
}

/** Parses a Calico selector; throws SelectorError (a ResourceError) naming the position. */
export function parseSelector(text: string): Selector {
  if (typeof text !== 'string') throw new SelectorError('selector must be a string', 0);
  if (text.length > MAX_SELECTOR_LENGTH)
    throw new SelectorError(`selector longer than ${MAX_SELECTOR_LENGTH} characters`, MAX_SELECTOR_LENGTH);
  const root = new Parser(tokenize(text)).parse();
  const rendered = render(root);
  return {
    text,
    root,
    isGlobal: root.op === 'global',
    matches: (labels: Labels) => evaluate(root, labels),
    toString: () => rendered,
  };
}
