// @ts-check
/**
 * What the analysis views (basin map, learning-rate sweep, tuning) need from the page, and the
 * small helpers they share. The page hands them an AnalysisHost; they never reach further.
 */
import { el } from './controls.js';

/** @typedef {import('./state.js').Scalar} Scalar */
/** @typedef {import('./state.js').Schedule} Schedule */
/** @typedef {import('./api.js').ParamSpec} ParamSpec */
/** @typedef {import('./analysisapi.js').Problem} Problem */
/** @typedef {import('./tunestate.js').TuneState} TuneState */

/**
 * @typedef {Object} RunInfo  one run of the race as its card shows it
 * @property {string} id
 * @property {string} optimizer
 * @property {Record<string, Scalar>} hyper
 * @property {Schedule | null} schedule
 * @property {string} name  "a · SGD"
 * @property {string} color
 * @property {number} lr  its current learning rate (the spec default when not set)
 * @property {ParamSpec | undefined} lrSpec
 */
/**
 * @typedef {Object} AnalysisContext  the race the analysis is about
 * @property {Problem} problem
 * @property {[[number, number], [number, number]]} domain  of the contour as drawn
 * @property {[number, number, number][]} minima
 * @property {[number, number]} start
 * @property {number} steps  the race's step limit
 * @property {number} seed
 * @property {RunInfo[]} runs
 */
/**
 * @typedef {Object} AnalysisHost
 * @property {() => AnalysisContext | null} context  null when the page shows no surface race
 * @property {(id: string, lr: number) => void} setLr  a live change of one run's lr
 * @property {(x: number, y: number) => void} startAt  every run from this exact point
 * @property {(runs: Record<string, Record<string, number>>, tune: TuneState) => void} applyTuned
 *   a new race with the tuned values (by optimizer), the tuning's settings into the URL
 * @property {(tune: TuneState) => void} saveTune  the tuning's settings into the URL
 * @property {() => TuneState | null} tuneState  those in the URL, null if none
 */

/** @param {number} v @param {number} [digits] */
export function fmt(v, digits = 3) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(digits))) : v.toExponential(digits - 1);
}

/**
 * A labelled field of a panel: label, control and, when its request is refused, the reason.
 * @param {string} id
 * @param {string} label
 * @param {HTMLElement} control
 * @returns {HTMLElement}
 */
export function field(id, label, control) {
  control.id = id;
  return el('div', { class: 'field' }, [el('label', { for: id, text: label }), control]);
}

/**
 * @param {Record<string, string>} attrs
 * @returns {HTMLInputElement}
 */
export function numberInput(attrs) {
  return /** @type {HTMLInputElement} */ (el('input', { type: 'number', inputmode: 'decimal', ...attrs }));
}

/**
 * @param {[string, string][]} options  value, text
 * @param {string} value
 * @returns {HTMLSelectElement}
 */
export function select(options, value) {
  const s = /** @type {HTMLSelectElement} */ (el('select', {}, options.map(([v, t]) => el('option', { value: v, text: t }))));
  s.value = value;
  return s;
}

/**
 * Read a number field: the value, or a reason naming the field.
 * @param {HTMLInputElement} input
 * @param {string} name  the field's name in the request
 * @param {{min?: number, max?: number, int?: boolean}} rules
 * @returns {number}
 */
export function readField(input, name, rules) {
  const v = Number(input.value);
  const bad =
    input.value.trim() === '' ||
    !Number.isFinite(v) ||
    (rules.int && !Number.isInteger(v)) ||
    (rules.min !== undefined && v < rules.min) ||
    (rules.max !== undefined && v > rules.max);
  if (bad) {
    const range = [rules.min, rules.max].every((r) => r !== undefined) ? ` from ${rules.min} to ${rules.max}` : '';
    throw new FieldProblem(name, `${name}: give ${rules.int ? 'a whole number' : 'a number'}${range} (not “${input.value}”)`);
  }
  return v;
}

/** A field the page itself refuses before asking the server. */
export class FieldProblem extends Error {
  /** @param {string} field @param {string} message */
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

/**
 * Mark the control a refusal names (its `data-field`) as invalid, the others as fine.
 * @param {HTMLElement} root
 * @param {string | undefined} name
 */
export function markField(root, name) {
  for (const c of root.querySelectorAll('[data-field]')) {
    if (c.getAttribute('data-field') === name) c.setAttribute('aria-invalid', 'true');
    else c.removeAttribute('aria-invalid');
  }
}

/**
 * The request fields of a run: the problem, the optimizer and its settings.
 * @param {AnalysisContext} ctx
 * @param {RunInfo} run
 */
export function runFields(ctx, run) {
  return { ...ctx.problem, optimizer: run.optimizer, hyper: run.hyper, schedule: run.schedule };
}
