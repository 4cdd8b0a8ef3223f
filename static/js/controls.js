// @ts-check
/**
 * One control per parameter spec (the same shape for hyperparameters, surface parameters and
 * schedule parameters): a slider, log-scaled where the spec says so, beside a number field for
 * exact entry; a checkbox for booleans; a list for choices. Nothing here knows about runs.
 */
import { formatValue } from './palette.js';

/** @typedef {import('./api.js').ParamSpec} ParamSpec */
/** @typedef {import('./state.js').Scalar} Scalar */

/**
 * @typedef {Object} ParamControl
 * @property {HTMLElement} element
 * @property {(value: Scalar) => void} set  show a value without reporting it
 * @property {(message: string) => void} invalid  show why the value was refused ('' clears)
 * @property {HTMLElement} focusTarget
 */

/**
 * @typedef {Object} ControlOptions
 * @property {string} id  unique prefix for element ids
 * @property {string} [label]  visible label; the spec's name by default
 * @property {string} [context]  appended to labels for screen readers, e.g. "run a"
 * @property {(value: Scalar, final: boolean) => void} change  final: the user let go (commit)
 */

const STEPS = 1000;

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

/** Round a slider value to 3 significant digits so that URLs and labels stay readable. */
/** @param {number} v */
export function round3(v) {
  return v === 0 ? 0 : Number(v.toPrecision(3));
}

/**
 * How slider positions 0..STEPS map to values. Log sliders whose spec allows 0 keep position 0
 * for exactly 0 and spread the other positions over six decades below the maximum.
 * @param {ParamSpec} spec
 */
export function sliderScale(spec) {
  const d = Number(spec.default);
  const kind = spec.kind ?? 'float';
  const log = spec.scale === 'log';
  let lo = spec.min ?? null;
  let hi = spec.max ?? null;
  if (log) {
    if (hi === null) hi = d > 0 ? d * 1e3 : 1;
    const zero = lo !== null && lo <= 0;
    const logLo = lo !== null && lo > 0 ? lo : Math.min(hi * 1e-6, d > 0 ? d / 1e3 : Infinity);
    const a = Math.log10(logLo);
    const b = Math.log10(hi);
    const first = zero ? 1 : 0;
    return {
      /** @param {number} pos */
      toValue(pos) {
        if (zero && pos <= 0) return 0;
        const t = (pos - first) / (STEPS - first);
        return finish(10 ** (a + t * (b - a)), kind);
      },
      /** @param {number} v */
      toPos(v) {
        if (zero && v <= 0) return 0;
        const t = (Math.log10(Math.max(v, logLo)) - a) / (b - a);
        return Math.round(first + Math.min(Math.max(t, 0), 1) * (STEPS - first));
      },
    };
  }
  if (lo === null) lo = d > 0 ? 0 : d - 10;
  if (hi === null) hi = d > 0 ? d * 4 : lo + 10;
  const span = hi - lo;
  const l = lo;
  return {
    /** @param {number} pos */
    toValue: (pos) => finish(l + (pos / STEPS) * span, kind),
    /** @param {number} v */
    toPos: (v) => Math.round(Math.min(Math.max((v - l) / span, 0), 1) * STEPS),
  };
}

/** @param {number} v @param {string} kind */
function finish(v, kind) {
  return kind === 'int' ? Math.round(v) : round3(v);
}

/**
 * @param {ParamSpec} spec
 * @param {number} v
 * @returns {string} why v is not allowed, or ''
 */
export function checkValue(spec, v) {
  if (!Number.isFinite(v)) return 'Enter a number.';
  if (spec.kind === 'int' && !Number.isInteger(v)) return 'Enter a whole number.';
  if (spec.min !== null && spec.min !== undefined && v < spec.min) {
    return `${spec.name} must be at least ${spec.min}.`;
  }
  if (spec.max !== null && spec.max !== undefined && v > spec.max) {
    return `${spec.name} must be at most ${spec.max}.`;
  }
  return '';
}

/**
 * @param {ParamSpec} spec
 * @param {Scalar} value
 * @param {ControlOptions} opts
 * @returns {ParamControl}
 */
export function paramControl(spec, value, opts) {
  const kind = spec.kind ?? 'float';
  if (kind === 'bool') return checkboxControl(spec, Boolean(value), opts);
  if (kind === 'choice') return choiceControl(spec, String(value), opts);
  return numberControl(spec, Number(value), opts);
}

/** @param {ParamSpec} spec @param {ControlOptions} opts */
function labelText(spec, opts) {
  return opts.label ?? spec.name;
}

/** @param {ParamSpec} spec @param {ControlOptions} opts */
function describe(spec, opts) {
  const id = `${opts.id}-doc`;
  const scale = spec.scale === 'log' ? ' (log slider)' : '';
  const node = el('span', { id, class: 'sr-only', text: `${spec.doc ?? ''}${scale}` });
  return { id, node };
}

/**
 * @param {ParamSpec} spec
 * @param {number} value
 * @param {ControlOptions} opts
 * @returns {ParamControl}
 */
function numberControl(spec, value, opts) {
  const scale = sliderScale(spec);
  const context = opts.context ? ` (${opts.context})` : '';
  const doc = describe(spec, opts);
  const label = el('label', { for: `${opts.id}-num`, text: labelText(spec, opts), title: spec.doc ?? '' });
  const range = /** @type {HTMLInputElement} */ (
    el('input', {
      type: 'range',
      min: '0',
      max: String(STEPS),
      step: '1',
      id: `${opts.id}-range`,
      'aria-label': `${labelText(spec, opts)}${context} slider`,
      'aria-describedby': doc.id,
    })
  );
  const num = /** @type {HTMLInputElement} */ (
    el('input', {
      type: 'number',
      id: `${opts.id}-num`,
      step: 'any',
      inputmode: 'decimal',
      'aria-describedby': `${doc.id} ${opts.id}-err`,
    })
  );
  if (context) num.setAttribute('aria-label', `${labelText(spec, opts)}${context}`);
  const err = el('span', { id: `${opts.id}-err`, class: 'field-error', role: 'status' });
  const row = el('div', { class: 'param', 'data-param': spec.name }, [label, range, num, err, doc.node]);

  /** @param {number} v */
  const show = (v) => {
    range.value = String(scale.toPos(v));
    range.setAttribute('aria-valuetext', formatValue(v, 4));
    num.value = String(v);
  };
  /** @param {string} message */
  const invalid = (message) => {
    err.textContent = message;
    num.toggleAttribute('aria-invalid', Boolean(message));
    row.classList.toggle('is-invalid', Boolean(message));
  };
  show(value);

  range.addEventListener('input', () => {
    const v = scale.toValue(Number(range.value));
    num.value = String(v);
    range.setAttribute('aria-valuetext', formatValue(v, 4));
    invalid('');
    opts.change(v, false);
  });
  range.addEventListener('change', () => opts.change(scale.toValue(Number(range.value)), true));
  num.addEventListener('change', () => {
    const v = num.value.trim() === '' ? Number.NaN : Number(num.value);
    const problem = checkValue(spec, v);
    invalid(problem);
    if (problem) return;
    range.value = String(scale.toPos(v));
    opts.change(v, true);
  });
  return { element: row, set: (v) => show(Number(v)), invalid, focusTarget: num };
}

/**
 * @param {ParamSpec} spec
 * @param {boolean} value
 * @param {ControlOptions} opts
 * @returns {ParamControl}
 */
function checkboxControl(spec, value, opts) {
  const context = opts.context ? ` (${opts.context})` : '';
  const doc = describe(spec, opts);
  const box = /** @type {HTMLInputElement} */ (
    el('input', { type: 'checkbox', id: `${opts.id}-check`, 'aria-describedby': doc.id })
  );
  if (context) box.setAttribute('aria-label', `${labelText(spec, opts)}${context}`);
  box.checked = value;
  const label = el('label', { for: box.id, title: spec.doc ?? '' }, [box, ` ${labelText(spec, opts)}`]);
  const err = el('span', { class: 'field-error', role: 'status' });
  const row = el('div', { class: 'param param-bool', 'data-param': spec.name }, [label, err, doc.node]);
  box.addEventListener('change', () => opts.change(box.checked, true));
  return {
    element: row,
    set: (v) => (box.checked = Boolean(v)),
    invalid: (m) => (err.textContent = m),
    focusTarget: box,
  };
}

/**
 * @param {ParamSpec} spec
 * @param {string} value
 * @param {ControlOptions} opts
 * @returns {ParamControl}
 */
function choiceControl(spec, value, opts) {
  const context = opts.context ? ` (${opts.context})` : '';
  const doc = describe(spec, opts);
  const select = /** @type {HTMLSelectElement} */ (
    el('select', { id: `${opts.id}-choice`, 'aria-describedby': doc.id })
  );
  if (context) select.setAttribute('aria-label', `${labelText(spec, opts)}${context}`);
  for (const c of spec.choices ?? []) select.append(el('option', { value: c, text: c }));
  select.value = value;
  const label = el('label', { for: select.id, text: labelText(spec, opts), title: spec.doc ?? '' });
  const err = el('span', { class: 'field-error', role: 'status' });
  const row = el('div', { class: 'param param-choice', 'data-param': spec.name }, [label, select, err, doc.node]);
  select.addEventListener('change', () => opts.change(select.value, true));
  return {
    element: row,
    set: (v) => (select.value = String(v)),
    invalid: (m) => (err.textContent = m),
    focusTarget: select,
  };
}

/**
 * A labelled <select>.
 * @param {string} id
 * @param {string} label
 * @param {{value: string, text: string}[]} options
 * @param {string} value
 * @param {(value: string) => void} change
 * @param {string} [ariaLabel]
 */
export function selectField(id, label, options, value, change, ariaLabel) {
  const select = /** @type {HTMLSelectElement} */ (el('select', { id }));
  if (ariaLabel) select.setAttribute('aria-label', ariaLabel);
  for (const o of options) select.append(el('option', { value: o.value, text: o.text }));
  select.value = value;
  select.addEventListener('change', () => change(select.value));
  const row = el('div', { class: 'field' }, [el('label', { for: id, text: label }), select]);
  return { row, select };
}
