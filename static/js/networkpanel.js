// @ts-check
/**
 * The network settings: data set (with its classes), points, noise, hidden layers, activation,
 * batch size and the PyTorch comparison; a line naming the architecture the server built, and
 * a note when torch is not installed. Every change is a new race (reported with `change`).
 */
import { el } from './controls.js';
import { ACTIVATIONS, DATASETS, parseHidden } from './state.js';
import { datasetTitle } from './networkview.js';

/** @typedef {import('./state.js').NetState} NetState */

export const TORCH_MISSING_NOTE =
  'PyTorch is not installed: pip install torch==2.13.0 to compare with torch.optim';

/**
 * @param {string} id
 * @param {string} label
 * @param {HTMLElement} control
 * @param {string} [help]
 */
function row(id, label, control, help) {
  control.id = id;
  const error = el('span', { class: 'field-error', id: `${id}-err`, role: 'status' });
  control.setAttribute('aria-describedby', `${id}-err`);
  const out = el('div', { class: 'field', 'data-field': id }, [el('label', { for: id, text: label }), control, error]);
  if (help) out.append(el('p', { class: 'summary field-help', text: help }));
  return out;
}

/** @param {Record<string, string>} attrs */
function input(attrs) {
  return /** @type {HTMLInputElement} */ (el('input', attrs));
}

/** @param {string[]} values @param {(v: string) => string} text @param {string} value */
function select(values, text, value) {
  const s = /** @type {HTMLSelectElement} */ (el('select', {}, values.map((v) => el('option', { value: v, text: text(v) }))));
  s.value = value;
  return s;
}

export class NetworkPanel {
  /**
   * @param {HTMLElement} root
   * @param {{change: (net: NetState) => void}} on
   */
  constructor(root, on) {
    this.root = root;
    this.on = on;
    /** @type {NetState | null} */
    this.net = null;
    this.info = el('p', { class: 'summary', id: 'net-info', 'aria-live': 'polite' });
    this.torchNote = el('p', { class: 'note', id: 'net-torch-note', role: 'status' });
    this.torchNote.hidden = true;
  }

  /** @param {NetState} net */
  render(net) {
    this.net = net;
    /** @param {Partial<NetState>} patch */
    const change = (patch) => this.on.change({ .../** @type {NetState} */ (this.net), ...patch });

    const dataset = select(DATASETS, datasetTitle, net.dataset);
    dataset.addEventListener('change', () => change({ dataset: dataset.value }));
    const rows = [row('net-dataset', 'Data set', dataset)];

    if (net.dataset === 'spiral' || net.dataset === 'blobs') {
      const key = net.dataset === 'spiral' ? 'arms' : 'classes';
      const classes = input({ type: 'number', min: '2', max: '6', step: '1', inputmode: 'numeric' });
      classes.value = String(net[key]);
      this.numberField(classes, 2, 6, true, (v) => change({ [key]: v }));
      rows.push(row('net-classes', net.dataset === 'spiral' ? 'Arms' : 'Classes', classes));
    }

    const n = input({ type: 'number', min: '10', max: '2000', step: '10', inputmode: 'numeric' });
    n.value = String(net.n);
    this.numberField(n, 10, 2000, true, (v) => change({ n: v }));
    rows.push(row('net-n', 'Points', n));

    const noise = input({ type: 'number', min: '0', max: '5', step: '0.05', inputmode: 'decimal' });
    noise.value = String(net.noise);
    this.numberField(noise, 0, 5, false, (v) => change({ noise: v }));
    rows.push(row('net-noise', 'Noise', noise));

    const hidden = input({ type: 'text', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. 16,16' });
    hidden.value = net.hidden.join(',');
    hidden.addEventListener('change', () => {
      const widths = parseHidden(hidden.value);
      this.invalid(hidden, widths ? '' : 'Widths 1 to 64, comma-separated, at most 6 layers.');
      if (widths) change({ hidden: widths });
    });
    rows.push(row('net-hidden', 'Hidden layers', hidden, 'Units per hidden layer, e.g. 16,16; empty for none.'));

    const activation = select(ACTIVATIONS, (v) => v, net.activation);
    activation.addEventListener('change', () => change({ activation: activation.value }));
    rows.push(row('net-activation', 'Activation', activation));

    const batch = input({ type: 'number', min: '1', max: '2000', step: '1', inputmode: 'numeric', placeholder: 'full batch' });
    batch.value = net.batch === null ? '' : String(net.batch);
    batch.addEventListener('change', () => {
      if (batch.value.trim() === '') {
        this.invalid(batch, '');
        change({ batch: null });
        return;
      }
      const v = Number(batch.value);
      const ok = Number.isInteger(v) && v >= 1 && v <= 2000;
      this.invalid(batch, ok ? '' : 'A whole number from 1 to 2000, or empty for full batch.');
      if (ok) change({ batch: v });
    });
    rows.push(row('net-batch', 'Batch size', batch));

    const torch = input({ type: 'checkbox', id: 'net-torch' });
    torch.checked = net.torch;
    torch.addEventListener('change', () => change({ torch: torch.checked }));
    const torchRow = el('div', { class: 'param param-bool' }, [
      el('label', { for: 'net-torch', title: 'Train a torch.optim twin of every run beside ours' }, [torch, ' Compare with PyTorch (torch.optim twins)']),
    ]);
    this.root.replaceChildren(...rows, torchRow, this.torchNote, this.info);
  }

  /**
   * @param {HTMLInputElement} field
   * @param {number} lo
   * @param {number} hi
   * @param {boolean} integer
   * @param {(v: number) => void} done
   */
  numberField(field, lo, hi, integer, done) {
    field.addEventListener('change', () => {
      const v = field.value.trim() === '' ? Number.NaN : Number(field.value);
      const ok = Number.isFinite(v) && v >= lo && v <= hi && (!integer || Number.isInteger(v));
      this.invalid(field, ok ? '' : `${integer ? 'A whole number' : 'A number'} from ${lo} to ${hi}.`);
      if (ok) done(v);
    });
  }

  /** @param {HTMLElement} field @param {string} message */
  invalid(field, message) {
    field.toggleAttribute('aria-invalid', Boolean(message));
    const err = document.getElementById(`${field.id}-err`);
    if (err) err.textContent = message;
  }

  /**
   * A server error about the network ("problem.network.hidden[1]").
   * @param {string} field
   * @param {string} message
   * @returns {boolean} whether a control was found
   */
  showError(field, message) {
    const m = /^problem\.network\.(\w+)/.exec(field);
    const ids = /** @type {Record<string, string>} */ ({
      dataset: 'net-dataset',
      arms: 'net-classes',
      classes: 'net-classes',
      n: 'net-n',
      noise: 'net-noise',
      hidden: 'net-hidden',
      activation: 'net-activation',
      batch_size: 'net-batch',
    });
    const control = m ? document.getElementById(ids[m[1]] ?? '') : null;
    if (!control) return false;
    this.invalid(control, message);
    return true;
  }

  /** @param {string} text  the architecture the server built */
  setInfo(text) {
    this.info.textContent = text;
  }

  /** @param {string} text  '' hides */
  setTorchNote(text) {
    this.torchNote.textContent = text;
    this.torchNote.hidden = !text;
  }
}
