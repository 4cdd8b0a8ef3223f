// @ts-check
/**
 * Labelled settings fields of the network panels: a row (label, control, error line, help), the
 * inputs and selects in it, a number field that checks its bounds, and its error shown in words.
 */
import { el } from './controls.js';

/**
 * @param {string} id
 * @param {string} label
 * @param {HTMLElement} control
 * @param {string} [help]
 */
export function row(id, label, control, help) {
  control.id = id;
  const error = el('span', { class: 'field-error', id: `${id}-err`, role: 'status' });
  control.setAttribute('aria-describedby', `${id}-err`);
  const out = el('div', { class: 'field', 'data-field': id }, [el('label', { for: id, text: label }), control, error]);
  if (help) out.append(el('p', { class: 'summary field-help', text: help }));
  return out;
}

/** @param {Record<string, string>} attrs */
export function input(attrs) {
  return /** @type {HTMLInputElement} */ (el('input', attrs));
}

/** @param {string[]} values @param {(v: string) => string} text @param {string} value */
export function select(values, text, value) {
  const s = /** @type {HTMLSelectElement} */ (el('select', {}, values.map((v) => el('option', { value: v, text: text(v) }))));
  s.value = value;
  return s;
}

/** @param {HTMLElement} field @param {string} message  '' clears */
export function invalid(field, message) {
  field.toggleAttribute('aria-invalid', Boolean(message));
  const err = document.getElementById(`${field.id}-err`);
  if (err) err.textContent = message;
}

/**
 * A number input from lo to hi: a value in bounds is handed to `done`, else the field says why.
 * @param {HTMLInputElement} field
 * @param {number} lo
 * @param {number} hi
 * @param {boolean} integer
 * @param {(v: number) => void} done
 */
export function numberField(field, lo, hi, integer, done) {
  field.addEventListener('change', () => {
    const v = field.value.trim() === '' ? Number.NaN : Number(field.value);
    const ok = Number.isFinite(v) && v >= lo && v <= hi && (!integer || Number.isInteger(v));
    invalid(field, ok ? '' : `${integer ? 'A whole number' : 'A number'} from ${lo} to ${hi}.`);
    if (ok) done(v);
  });
}

/**
 * A number input with its value and bounds, as a row.
 * @param {string} id
 * @param {string} label
 * @param {number} value
 * @param {[number, number, number]} range  lo, hi, step
 * @param {(v: number) => void} done
 * @param {string} [help]
 */
export function numberRow(id, label, value, [lo, hi, step], done, help) {
  const integer = Number.isInteger(step);
  const field = input({ type: 'number', min: String(lo), max: String(hi), step: String(step), inputmode: integer ? 'numeric' : 'decimal' });
  field.value = String(value);
  numberField(field, lo, hi, integer, done);
  return row(id, label, field, help);
}

/**
 * The batch size: a whole number up to `max`, or empty for full batch.
 * @param {number | null} value
 * @param {number} max
 * @param {(v: number | null) => void} done
 */
export function batchRow(value, max, done) {
  const batch = input({ type: 'number', min: '1', max: String(max), step: '1', inputmode: 'numeric', placeholder: 'full batch' });
  batch.value = value === null ? '' : String(value);
  batch.addEventListener('change', () => {
    if (batch.value.trim() === '') {
      invalid(batch, '');
      done(null);
      return;
    }
    const v = Number(batch.value);
    const ok = Number.isInteger(v) && v >= 1 && v <= max;
    invalid(batch, ok ? '' : `A whole number from 1 to ${max}, or empty for full batch.`);
    if (ok) done(v);
  });
  return row('net-batch', 'Batch size', batch);
}
