// @ts-check
/**
 * A small Python highlighter for the code panel: one pass over the text, tokens as spans with a
 * class (`tok-kw`, `tok-str`, ...). Built with DOM nodes, never innerHTML. `values` adds a badge
 * with the current value after every `hyper["name"]` of our numpy source.
 */

const KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'break', 'class', 'continue', 'def', 'del', 'elif',
  'else', 'except', 'finally', 'for', 'from', 'if', 'import', 'in', 'is', 'lambda', 'not', 'or',
  'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]);
const BUILTINS = new Set([
  'abs', 'bool', 'float', 'int', 'len', 'max', 'min', 'range', 'print', 'tuple', 'list', 'dict',
  'self', 'super', 'zip', 'sum',
]);

/** One token: its text and its class ('' for plain text). */
/** @typedef {{text: string, kind: string}} Token */

const PATTERN = new RegExp(
  [
    '(?<comment>#[^\\n]*)',
    '(?<str>[rbfRBF]{0,2}(?:"""[\\s\\S]*?"""|\'\'\'[\\s\\S]*?\'\'\'|"(?:\\\\.|[^"\\\\\\n])*"|\'(?:\\\\.|[^\'\\\\\\n])*\'))',
    '(?<num>\\b\\d[\\d_]*(?:\\.\\d*)?(?:[eE][+-]?\\d+)?\\b|\\.\\d+(?:[eE][+-]?\\d+)?)',
    '(?<deco>@[A-Za-z_][\\w.]*)',
    '(?<name>[A-Za-z_]\\w*)',
    '(?<op>[-+*/%=<>!&|^~@]+|[()[\\]{}.,:;])',
    '(?<space>\\s+)',
    '(?<other>.)',
  ].join('|'),
  'gu',
);

/**
 * @param {string} source
 * @returns {Token[]}
 */
export function tokenize(source) {
  /** @type {Token[]} */
  const out = [];
  let afterDef = false;
  for (const m of source.matchAll(PATTERN)) {
    const g = /** @type {Record<string, string | undefined>} */ (m.groups);
    const text = m[0];
    let kind = '';
    if (g.comment !== undefined) kind = 'comment';
    else if (g.str !== undefined) kind = 'str';
    else if (g.num !== undefined) kind = 'num';
    else if (g.deco !== undefined) kind = 'deco';
    else if (g.name !== undefined) {
      if (afterDef) kind = 'fn';
      else if (KEYWORDS.has(text)) kind = 'kw';
      else if (BUILTINS.has(text)) kind = 'builtin';
      else if (/^[A-Z]/.test(text)) kind = 'type';
    } else if (g.op !== undefined) kind = 'op';
    if (g.space === undefined) afterDef = kind === 'kw' && (text === 'def' || text === 'class');
    out.push({ text, kind });
  }
  return out;
}

/** @param {number | boolean | string} v */
function shown(v) {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return String(v);
}

/**
 * The highlighted code as a `<pre><code>` element.
 * @param {string} source
 * @param {Record<string, number | boolean | string>} [values]  hyperparameter values to show
 * @returns {HTMLElement}
 */
export function highlight(source, values = {}) {
  const code = document.createElement('code');
  const tokens = tokenize(source);
  /** @type {string | null} */
  let pending = null; // a hyper["name"] whose closing bracket comes next
  tokens.forEach((t, i) => {
    const span = t.kind ? document.createElement('span') : null;
    if (span) {
      span.className = `tok-${t.kind}`;
      span.textContent = t.text;
      code.append(span);
    } else code.append(t.text);
    if (t.kind === 'str' && tokens[i - 1]?.text === '[' && tokens[i - 2]?.text === 'hyper') {
      const name = t.text.slice(1, -1);
      if (name in values) pending = name;
    } else if (pending !== null && t.text === ']') {
      const badge = document.createElement('span');
      badge.className = 'hv';
      badge.dataset.name = pending;
      badge.textContent = ` = ${shown(values[pending])}`;
      code.append(badge);
      pending = null;
    } else if (t.kind !== 'str') pending = null;
  });
  const pre = document.createElement('pre');
  pre.className = 'code';
  pre.append(code);
  return pre;
}
