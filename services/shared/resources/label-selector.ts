// Kubernetes-style label selectors, as used by List and `meshless get -l`:
//
//   selector    := requirement (',' requirement)*          (all must hold; empty = everything)
//   requirement := key | '!' key
//                | key ('=' | '==' | '!=') value
//                | key ('in' | 'notin') '(' [value (',' value)*] ')'
//
// Keys are Kubernetes qualified names, values label values (checked by the same rules as
// metadata.labels). `!=` and `notin` also match when the key is absent.

import { ResourceError } from './errors.js';
import { checkLabelKey, checkLabelValue } from './names.js';
import type { Labels } from './selector.js';

export type LabelRequirement =
  | { op: 'exists' | '!exists'; key: string }
  | { op: '=' | '!='; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] };

export interface LabelSelector {
  readonly text: string;
  readonly requirements: readonly LabelRequirement[];
  matches(labels: Labels): boolean;
}

export class LabelSelectorError extends ResourceError {
  readonly position: number;
  constructor(reason: string, position: number) {
    super(`invalid label selector at position ${position}: ${reason}`);
    this.position = position;
  }
}

const MAX_LABEL_SELECTOR_LENGTH = 16 * 1024;

export function parseLabelSelector(text: string): LabelSelector {
  if (typeof text !== 'string') throw new LabelSelectorError('label selector must be a string', 0);
  if (text.length > MAX_LABEL_SELECTOR_LENGTH) {
    throw new LabelSelectorError(`longer than ${MAX_LABEL_SELECTOR_LENGTH} characters`, MAX_LABEL_SELECTOR_LENGTH);
  }
  let i = 0;
  const space = () => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const isWordChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_./-]/.test(c);
  const word = (): [string, number] => {
    space();
    const start = i;
    while (isWordChar(text[i])) i++;
    return [text.slice(start, i), start];
  };
  const key = (): string => {
    const [k, at] = word();
    if (!k)
      throw new LabelSelectorError(
        text[at] === undefined
          ? 'expected a label key, found end of selector'
          : `expected a label key, found '${text[at]}'`,
        at,
      );
    const problem = checkLabelKey(k);
    if (problem) throw new LabelSelectorError(`label key '${k}': ${problem}`, at);
    return k;
  };
  const value = (): string => {
    const [v, at] = word();
    const problem = checkLabelValue(v);
    if (problem) throw new LabelSelectorError(`label value '${v}': ${problem}`, at);
    return v;
  };

  const requirements: LabelRequirement[] = [];
  space();
  if (i < text.length) {
    for (;;) {
      space();
      if (text[i] === '!') {
        i++;
        requirements.push({ op: '!exists', key: key() });
      } else {
        const k = key();
        space();
        const rest = text.slice(i);
        if (rest.startsWith('==') || rest.startsWith('!=')) {
          i += 2;
          requirements.push({ op: rest.startsWith('==') ? '=' : '!=', key: k, value: value() });
        } else if (rest.startsWith('=')) {
          i += 1;
          requirements.push({ op: '=', key: k, value: value() });
        } else if (/^(in|notin)\s*\(/.test(rest)) {
          const op = rest.startsWith('in') ? 'in' : 'notin';
          i += op.length;
          space();
          i++; // '('
          const values: string[] = [];
          space();
          if (text[i] !== ')') {
            for (;;) {
              values.push(value());
              space();
              if (text[i] === ',') {
                i++;
                continue;
              }
              break;
            }
          }
          space();
          if (text[i] !== ')') throw new LabelSelectorError(`expected ',' or ')' in the value set of '${k}'`, i);
          i++;
          if (values.length === 0) throw new LabelSelectorError(`'${op}' needs at least one value`, i - 1);
          requirements.push({ op, key: k, values });
        } else if (text[i] === ',' || i >= text.length) {
          requirements.push({ op: 'exists', key: k });
        } else {
          throw new LabelSelectorError(
            `expected '=', '==', '!=', 'in', 'notin', ',' or end after '${k}', found '${text[i]}'`,
            i,
          );
        }
      }
      space();
      if (i >= text.length) break;
      if (text[i] !== ',') throw new LabelSelectorError(`expected ',' or end of selector, found '${text[i]}'`, i);
      i++;
    }
  }
  const has = (labels: Labels, k: string) => Object.hasOwn(labels, k);
  const test = (r: LabelRequirement, labels: Labels): boolean => {
    switch (r.op) {
      case 'exists':
        return has(labels, r.key);
      case '!exists':
        return !has(labels, r.key);
      case '=':
        return has(labels, r.key) && labels[r.key] === r.value;
      case '!=':
        return !has(labels, r.key) || labels[r.key] !== r.value;
      case 'in':
        return has(labels, r.key) && r.values.includes(labels[r.key]!);
      case 'notin':
        return !has(labels, r.key) || !r.values.includes(labels[r.key]!);
    }
  };
  return { text, requirements, matches: (labels: Labels) => requirements.every((r) => test(r, labels)) };
}
