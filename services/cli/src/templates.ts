// The two user-shaped output formats of `get`, as kubectl and calicoctl spell them:
//   -o custom-columns=NAME:.metadata.name,CIDR:.spec.cidr    one column per `HEADING:path`; a path
//      is `.field.field`, `[N]` for a list item, `[*]` for every item (joined with ",");
//      a missing value prints <none>.
//   -o go-template=TEMPLATE   a subset of Go's text/template: {{.path}}, {{"literal"}},
//      {{range .path}}…{{end}} (the item becomes `.`), {{if .path}}…{{else}}…{{end}},
//      {{len .path}}, and {{- / -}} to trim white space. Maps and lists print as JSON.
// Anything else is an error naming the position, never a silent partial output.
import { CliError } from './failure.js';

type Value = unknown;

/** Resolves `.a.b[0].c` / `.items[*].metadata.name` against `root`; [*] yields several values. */
function resolve(root: Value, path: string): Value[] {
  const p = path.trim().replace(/^\{\s*|\s*\}$/g, '');
  if (p === '.' || p === '') return [root];
  if (!p.startsWith('.') && !p.startsWith('['))
    throw new CliError(`invalid path '${path}': it must start with '.', e.g. .metadata.name`);
  const tokens = p.match(/\.[^.[\]]+|\[\*\]|\[\d+\]/g) ?? [];
  if (tokens.join('') !== p) throw new CliError(`invalid path '${path}': use .field, [N] or [*]`);
  let current: Value[] = [root];
  for (const t of tokens) {
    const next: Value[] = [];
    for (const v of current) {
      if (t === '[*]') {
        if (Array.isArray(v)) next.push(...v);
      } else if (t.startsWith('[')) {
        if (Array.isArray(v)) {
          const item: Value = v[Number(t.slice(1, -1))];
          if (item !== undefined) next.push(item);
        }
      } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const item = (v as Record<string, Value>)[t.slice(1)];
        if (item !== undefined) next.push(item);
      }
    }
    current = next;
  }
  return current;
}

function text(v: Value): string {
  if (v === null || v === undefined) return '<no value>';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Parses `NAME:.metadata.name,CIDR:.spec.cidr` into headings and paths. */
export function parseCustomColumns(spec: string): { heading: string; path: string }[] {
  if (spec.trim() === '')
    throw new CliError('custom-columns needs at least one HEADING:.path, e.g. custom-columns=NAME:.metadata.name');
  return spec.split(',').map((col) => {
    const i = col.indexOf(':');
    if (i <= 0 || i === col.length - 1) throw new CliError(`custom-columns: '${col}' is not HEADING:.path`);
    const path = col.slice(i + 1);
    resolve({}, path); // syntax check now, before any request
    return { heading: col.slice(0, i), path };
  });
}

/** Rows for `tabTable`: headings, then one row per item. */
export function customColumnRows(columns: { heading: string; path: string }[], items: Value[]): string[][] {
  return [
    columns.map((c) => c.heading),
    ...items.map((item) =>
      columns.map((c) => {
        const values = resolve(item, c.path);
        return values.length === 0
          ? '<none>'
          : values.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))).join(',');
      }),
    ),
  ];
}

type Node =
  | { t: 'text'; s: string }
  | { t: 'value'; expr: string }
  | { t: 'range'; expr: string; body: Node[]; otherwise: Node[] }
  | { t: 'if'; expr: string; body: Node[]; otherwise: Node[] };

/** Compiles a template; throws CliError naming the problem. */
export function compileTemplate(source: string): (data: Value) => string {
  const parts: ({ t: 'text'; s: string } | { t: 'action'; s: string; at: number })[] = [];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open < 0) {
      parts.push({ t: 'text', s: source.slice(i) });
      break;
    }
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new CliError(`go-template: unclosed action at character ${open + 1}`);
    let before = source.slice(i, open);
    let action = source.slice(open + 2, close);
    if (action.startsWith('-')) {
      before = before.trimEnd();
      action = action.slice(1);
    }
    let next = close + 2;
    if (action.endsWith('-')) {
      action = action.slice(0, -1);
      while (next < source.length && /\s/.test(source[next]!)) next++;
    }
    if (before) parts.push({ t: 'text', s: before });
    parts.push({ t: 'action', s: action.trim(), at: open + 1 });
    i = next;
  }
  let pos = 0;
  const block = (
    inside: { word: string; at: number } | undefined,
  ): { nodes: Node[]; ended: 'end' | 'else' | undefined } => {
    const nodes: Node[] = [];
    while (pos < parts.length) {
      const p = parts[pos++]!;
      if (p.t === 'text') {
        nodes.push(p);
        continue;
      }
      const [word, ...rest] = p.s.split(/\s+/);
      const expr = rest.join(' ');
      if (word === 'end' || word === 'else') {
        if (!inside) throw new CliError(`go-template: {{${word}}} at character ${p.at} closes nothing`);
        return { nodes, ended: word };
      }
      if (word === 'range' || word === 'if') {
        if (!expr)
          throw new CliError(`go-template: {{${word}}} at character ${p.at} needs a value, e.g. {{${word} .items}}`);
        const body = block({ word, at: p.at });
        let otherwise: Node[] = [];
        if (body.ended === 'else') {
          const e = block({ word, at: p.at });
          if (e.ended !== 'end') throw new CliError(`go-template: {{${word}}} at character ${p.at} has no {{end}}`);
          otherwise = e.nodes;
        } else if (body.ended !== 'end')
          throw new CliError(`go-template: {{${word}}} at character ${p.at} has no {{end}}`);
        nodes.push({ t: word, expr, body: body.nodes, otherwise });
        continue;
      }
      checkExpr(p.s, p.at);
      nodes.push({ t: 'value', expr: p.s });
    }
    if (inside) throw new CliError(`go-template: {{${inside.word}}} at character ${inside.at} has no {{end}}`);
    return { nodes, ended: undefined };
  };
  const tree = block(undefined).nodes;
  return (data) => render(tree, data);
}

function checkExpr(expr: string, at: number): void {
  if (/^"(?:[^"\\]|\\.)*"$/.test(expr) || expr.startsWith('.') || /^len\s+\./.test(expr)) return;
  throw new CliError(
    `go-template: unsupported action {{${expr}}} at character ${at} (supported: .path, "text", len .path, range, if, else, end)`,
  );
}

function evaluate(expr: string, dot: Value): Value {
  if (expr.startsWith('"')) return JSON.parse(expr) as string;
  if (expr.startsWith('len ')) {
    const v = resolve(dot, expr.slice(4))[0];
    return Array.isArray(v)
      ? v.length
      : v !== null && typeof v === 'object'
        ? Object.keys(v).length
        : typeof v === 'string'
          ? v.length
          : 0;
  }
  const values = resolve(dot, expr);
  return values.length === 1 ? values[0] : values.length === 0 ? undefined : values;
}

const truthy = (v: Value) =>
  !(
    v === undefined ||
    v === null ||
    v === false ||
    v === 0 ||
    v === '' ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && Object.keys(v as object).length === 0)
  );

function render(nodes: Node[], dot: Value): string {
  let out = '';
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        out += n.s;
        break;
      case 'value':
        out += text(evaluate(n.expr, dot));
        break;
      case 'if':
        out += render(truthy(evaluate(n.expr, dot)) ? n.body : n.otherwise, dot);
        break;
      case 'range': {
        const v = evaluate(n.expr, dot);
        const items = Array.isArray(v) ? v : v !== null && typeof v === 'object' ? Object.values(v) : [];
        out += items.length ? items.map((item) => render(n.body, item)).join('') : render(n.otherwise, dot);
        break;
      }
    }
  }
  return out;
}
