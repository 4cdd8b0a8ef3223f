// @ts-check
/**
 * The regression settings: linear or logistic, points, noise, L2 penalty and the data's seed,
 * and the loss being minimized over (w, b). Every change redraws the surface and restarts.
 */
import { el } from './controls.js';

/** @typedef {import('./state.js').RegState} RegState */

/** @type {{key: 'n' | 'noise' | 'l2' | 'seed', label: string, lo: number, hi: number, step: string, integer: boolean}[]} */
const NUMBERS = [
  { key: 'n', label: 'Points', lo: 2, hi: 2000, step: '1', integer: true },
  { key: 'noise', label: 'Noise', lo: 0, hi: 5, step: '0.05', integer: false },
  { key: 'l2', label: 'L2 penalty', lo: 0, hi: 10, step: '0.01', integer: false },
  { key: 'seed', label: 'Data seed', lo: 0, hi: 2 ** 32 - 1, step: '1', integer: true },
];

export class RegressionPanel {
  /**
   * @param {HTMLElement} root
   * @param {{change: (reg: RegState) => void}} on
   */
  constructor(root, on) {
    this.root = root;
    this.on = on;
    this.formula = el('p', { class: 'formula', id: 'reg-formula' });
  }

  /** @param {RegState} reg */
  render(reg) {
    const model = /** @type {HTMLSelectElement} */ (
      el('select', { id: 'reg-model' }, [
        el('option', { value: 'linear', text: 'Linear: y ≈ w x + b' }),
        el('option', { value: 'logistic', text: 'Logistic: P(y=1) = σ(w x + b)' }),
      ])
    );
    model.value = reg.model;
    model.addEventListener('change', () => this.on.change({ ...reg, model: /** @type {RegState['model']} */ (model.value) }));
    const rows = [el('div', { class: 'field' }, [el('label', { for: 'reg-model', text: 'Model' }), model]), this.formula];
    for (const spec of NUMBERS) {
      const id = `reg-${spec.key}`;
      const field = /** @type {HTMLInputElement} */ (
        el('input', { type: 'number', id, min: String(spec.lo), max: String(spec.hi), step: spec.step, inputmode: spec.integer ? 'numeric' : 'decimal' })
      );
      field.value = String(reg[spec.key]);
      const err = el('span', { class: 'field-error', role: 'status' });
      field.addEventListener('change', () => {
        const v = field.value.trim() === '' ? Number.NaN : Number(field.value);
        const ok = Number.isFinite(v) && v >= spec.lo && v <= spec.hi && (!spec.integer || Number.isInteger(v));
        field.toggleAttribute('aria-invalid', !ok);
        err.textContent = ok ? '' : `${spec.integer ? 'A whole number' : 'A number'} from ${spec.lo} to ${spec.hi}.`;
        if (ok) this.on.change({ ...reg, [spec.key]: v });
      });
      rows.push(el('div', { class: 'field' }, [el('label', { for: id, text: spec.label }), field, err]));
    }
    this.root.replaceChildren(...rows);
  }

  /** @param {string} text  the loss over (w, b) */
  setFormula(text) {
    this.formula.textContent = text;
  }
}
