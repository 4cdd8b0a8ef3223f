// @ts-check
/**
 * The network settings: which network (an MLP on 2D data, the digits CNN, a sequence RNN; the
 * last two in deeppanel.js), then for the MLP its data set (with its classes), points, noise,
 * hidden layers, activation and batch size; the PyTorch comparison; a line naming the
 * architecture the server built, and a note when torch is not installed. Every change is a new
 * race (reported with `change`).
 */
import { el } from './controls.js';
import { ACTIVATIONS, DATASETS, DEFAULT_NET, parseHidden } from './state.js';
import { datasetTitle } from './networkview.js';
import { batchRow, input, invalid, numberField, row, select } from './fields.js';
import { DEEP_FIELD_IDS, deepRows, firstDataset, modelRow, switchTo } from './deeppanel.js';
import { modelOf } from './deepstate.js';

/** @typedef {import('./state.js').NetState} NetState */

export const TORCH_MISSING_NOTE =
  'PyTorch is not installed: pip install torch==2.13.0 to compare with torch.optim';

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

    const model = modelRow(net, (m) => change(switchTo(firstDataset(m), DEFAULT_NET)));
    const rows = modelOf(net.dataset) === 'mlp' ? this.mlpRows(net, change) : deepRows(net, change, DEFAULT_NET);

    const torch = input({ type: 'checkbox', id: 'net-torch' });
    torch.checked = net.torch;
    torch.addEventListener('change', () => change({ torch: torch.checked }));
    const torchRow = el('div', { class: 'param param-bool' }, [
      el('label', { for: 'net-torch', title: 'Train a torch.optim twin of every run beside ours' }, [torch, ' Compare with PyTorch (torch.optim twins)']),
    ]);
    this.root.replaceChildren(model, ...rows, torchRow, this.torchNote, this.info);
  }

  /**
   * The MLP's fields.
   * @param {NetState} net
   * @param {(patch: Partial<NetState>) => void} change
   * @returns {HTMLElement[]}
   */
  mlpRows(net, change) {
    const toy = DATASETS.filter((d) => modelOf(d) === 'mlp');
    const dataset = select(toy, datasetTitle, net.dataset);
    dataset.addEventListener('change', () => change({ dataset: dataset.value }));
    const rows = [row('net-dataset', 'Data set', dataset)];

    if (net.dataset === 'spiral' || net.dataset === 'blobs') {
      const key = net.dataset === 'spiral' ? 'arms' : 'classes';
      const classes = input({ type: 'number', min: '2', max: '6', step: '1', inputmode: 'numeric' });
      classes.value = String(net[key]);
      numberField(classes, 2, 6, true, (v) => change({ [key]: v }));
      rows.push(row('net-classes', net.dataset === 'spiral' ? 'Arms' : 'Classes', classes));
    }

    const n = input({ type: 'number', min: '10', max: '2000', step: '10', inputmode: 'numeric' });
    n.value = String(net.n);
    numberField(n, 10, 2000, true, (v) => change({ n: v }));
    rows.push(row('net-n', 'Points', n));

    const noise = input({ type: 'number', min: '0', max: '5', step: '0.05', inputmode: 'decimal' });
    noise.value = String(net.noise);
    numberField(noise, 0, 5, false, (v) => change({ noise: v }));
    rows.push(row('net-noise', 'Noise', noise));

    const hidden = input({ type: 'text', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. 16,16' });
    hidden.value = net.hidden.join(',');
    hidden.addEventListener('change', () => {
      const widths = parseHidden(hidden.value);
      invalid(hidden, widths ? '' : 'Widths 1 to 64, comma-separated, at most 6 layers.');
      if (widths) change({ hidden: widths });
    });
    rows.push(row('net-hidden', 'Hidden layers', hidden, 'Units per hidden layer, e.g. 16,16; empty for none.'));

    const activation = select(ACTIVATIONS, (v) => v, net.activation);
    activation.addEventListener('change', () => change({ activation: activation.value }));
    rows.push(row('net-activation', 'Activation', activation));

    rows.push(batchRow(net.batch, 2000, (v) => change({ batch: v })));
    return rows;
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
      ...DEEP_FIELD_IDS,
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
    invalid(control, message);
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
