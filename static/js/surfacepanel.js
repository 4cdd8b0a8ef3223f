// @ts-check
/**
 * The surface picker: every surface of /api/surfaces with its parameters, and "Custom formula…"
 * with a text field, the examples of /api/expression/examples and an inline error that points at
 * the position the server names.
 */
import { el, paramControl, selectField } from './controls.js';
import { CUSTOM } from './state.js';

/** @typedef {import('./api.js').SurfaceSpec} SurfaceSpec */
/** @typedef {import('./api.js').Example} Example */
/** @typedef {import('./state.js').AppState} AppState */

/**
 * @typedef {Object} SurfaceHandlers
 * @property {(name: string) => void} surface  a surface was picked (CUSTOM for the formula)
 * @property {(name: string, value: number, final: boolean) => void} param
 * @property {(expression: string, example: Example | null) => void} expression  draw this formula
 * @property {() => Promise<Example[]>} examples
 */

export class SurfacePanel {
  /**
   * @param {HTMLElement} root
   * @param {SurfaceSpec[]} specs
   * @param {SurfaceHandlers} on
   */
  constructor(root, specs, on) {
    this.root = root;
    this.specs = specs;
    this.on = on;
    /** @type {Example[]} */
    this.exampleList = [];
    this.formulaInput = /** @type {HTMLInputElement | null} */ (null);
    this.errorBox = /** @type {HTMLElement | null} */ (null);
  }

  /** @param {AppState} state */
  render(state) {
    const spec = this.specs.find((s) => s.name === state.surface);
    const picker = selectField(
      'surface-select',
      'Surface',
      [
        ...this.specs.map((s) => ({ value: s.name, text: s.title })),
        { value: CUSTOM, text: 'Custom formula…' },
      ],
      spec ? spec.name : CUSTOM,
      (name) => this.on.surface(name),
    );
    const children = [picker.row];
    if (spec) {
      children.push(el('p', { class: 'formula', text: spec.formula }));
      for (const p of Object.values(spec.params)) {
        const value = state.params[p.name] ?? p.default;
        const c = paramControl(p, value, {
          id: `surface-${p.name}`,
          context: spec.title,
          change: (v, final) => this.on.param(p.name, Number(v), final),
        });
        children.push(c.element);
      }
    } else {
      children.push(this.customField(state.expr));
    }
    this.root.replaceChildren(...children);
  }

  /** @param {string} expr */
  customField(expr) {
    const input = /** @type {HTMLInputElement} */ (
      el('input', {
        type: 'text',
        id: 'formula-input',
        spellcheck: 'false',
        autocomplete: 'off',
        autocapitalize: 'off',
        placeholder: 'e.g. sin(x)*cos(y) + 0.1*(x^2+y^2)',
        'aria-describedby': 'formula-help formula-error',
      })
    );
    input.value = expr;
    const draw = el('button', { type: 'submit', class: 'button', text: 'Draw' });
    const error = el('div', { id: 'formula-error', class: 'formula-error', role: 'alert' });
    const help = el('p', {
      id: 'formula-help',
      class: 'summary',
      text: 'f(x, y) with + − * / ^, numbers, pi, e and functions such as sin, cos, exp, log, sqrt, abs.',
    });
    const examples = /** @type {HTMLSelectElement} */ (
      el('select', { id: 'formula-examples', 'aria-label': 'Example formulas' }, [
        el('option', { value: '', text: 'Examples…' }),
      ])
    );
    const form = el('form', { class: 'formula-form' }, [
      el('label', { for: input.id, text: 'Formula f(x, y)' }),
      el('div', { class: 'formula-row' }, [input, draw]),
      help,
      error,
      examples,
    ]);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.on.expression(input.value.trim(), null);
    });
    examples.addEventListener('change', () => {
      const ex = this.exampleList[Number(examples.value)];
      examples.value = '';
      if (!ex) return;
      input.value = ex.expression;
      this.on.expression(ex.expression, ex);
    });
    this.on
      .examples()
      .then((list) => {
        this.exampleList = list;
        list.forEach((ex, i) => examples.append(el('option', { value: String(i), text: ex.title })));
      })
      .catch(() => examples.setAttribute('hidden', ''));
    this.formulaInput = input;
    this.errorBox = error;
    return form;
  }

  /**
   * Show the server's complaint under the formula, with a caret under the character it names.
   * @param {string} message  '' clears
   * @param {number | undefined} [position]  0-based index into the formula
   */
  showFormulaError(message, position) {
    const input = this.formulaInput;
    const box = this.errorBox;
    if (!input || !box) return;
    box.replaceChildren();
    input.toggleAttribute('aria-invalid', Boolean(message));
    if (!message) return;
    if (position !== undefined && position !== null && position >= 0) {
      const text = input.value;
      const at = Math.min(position, text.length);
      box.append(
        el('pre', { class: 'caret', 'aria-hidden': 'true' }, [`${text}\n${' '.repeat(at)}^`]),
      );
      input.focus();
      input.setSelectionRange(at, Math.min(at + 1, text.length));
    }
    box.append(el('p', { text: message }));
  }
}
