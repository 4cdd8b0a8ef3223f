// @ts-check
/**
 * The figure of a CNN or RNN race, in place of the MLP's boundary and landscape: the server's
 * `dataset` (model cnn or rnn), `view` and `ack` of `clip` messages come here. The digits show
 * one run at a time (picked in a list): its filters, confusion matrix and sample predictions;
 * the sequences show every run at once, with the live clipping control over the gradient chart.
 */
import { el } from './controls.js';
import { DigitsView } from './digitsview.js';
import { SequenceView } from './sequenceview.js';
import { ClipControl } from './clipcontrol.js';
import { TWIN_SUFFIX } from './store.js';

/** @typedef {import('./deepstate.js').Model} Model */
/** @typedef {import('./pathview.js').RunLegend} RunLegend */
/** @typedef {import('./theme.js').Theme} Theme */

export class DeepView {
  /**
   * @param {HTMLElement} root  the deep figure (empty: built here)
   * @param {HTMLElement} figure  the MLP's figure, hidden while a CNN or RNN is shown
   * @param {{clip: (maxNorm: number | null) => void}} on
   * @param {Theme} [theme]  of the sequence charts (the digits are pictures and a table)
   */
  constructor(root, figure, on, theme) {
    this.root = root;
    this.figure = figure;
    /** @type {Model} */
    this.kind = 'mlp';
    this.picker = /** @type {HTMLSelectElement} */ (el('select', { id: 'deep-run' }));
    this.step = el('span', { class: 'cell-note', id: 'deep-step' });
    this.arch = el('span', { class: 'cell-note deep-arch', id: 'deep-arch' });
    const pick = el('span', { class: 'deep-pick' }, [el('label', { for: 'deep-run', text: 'Run' }), this.picker, this.step]);
    this.digitsBox = el('div', { class: 'deep-body deep-digits', id: 'deep-digits' });
    const prediction = el('div', { class: 'plot', id: 'seq-prediction', role: 'img', 'aria-label': 'Each run\'s prediction against the target' });
    const grads = el('div', { class: 'plot', id: 'seq-grads', role: 'img', 'aria-label': 'The gradient reaching each time step, on a log axis' });
    const clipBox = el('div', { class: 'clip-control', id: 'clip-control' });
    this.sequenceBox = el('div', { class: 'deep-body deep-sequences', id: 'deep-sequences' }, [
      el('div', { class: 'deep-cell' }, [el('div', { class: 'deep-plot' }, [prediction])]),
      el('div', { class: 'deep-cell' }, [clipBox, el('div', { class: 'deep-plot' }, [grads])]),
    ]);
    this.head = el('div', { class: 'deep-head' }, [pick, this.arch]);
    root.replaceChildren(this.head, this.digitsBox, this.sequenceBox);
    this.digits = new DigitsView(this.digitsBox);
    this.sequences = new SequenceView(prediction, grads, theme);
    this.clip = new ClipControl(clipBox, (v) => on.clip(v));
    /** @type {Record<string, any>} the latest view of every run (cnn) */
    this.latest = {};
    /** @type {Record<string, number>} */
    this.steps = {};
    /** @type {any} */
    this.lastView = null;
    /** @type {RunLegend[]} */
    this.legends = [];
    this.picker.addEventListener('change', () => this.showPicked());
    this.setKind('mlp');
  }

  /** @param {Model} kind  which figure the page shows: the MLP's or this one (cnn, rnn) */
  setKind(kind) {
    this.kind = kind;
    const deep = kind !== 'mlp';
    document.body.dataset.net = kind;
    this.root.hidden = !deep;
    this.figure.hidden = deep;
    this.digitsBox.hidden = kind !== 'cnn';
    this.sequenceBox.hidden = kind !== 'rnn';
    this.picker.parentElement?.toggleAttribute('hidden', kind !== 'cnn');
    if (kind === 'rnn') this.sequences.invalidate();
  }

  /** @param {Theme} theme */
  setTheme(theme) {
    this.sequences.setTheme(theme);
  }

  /** A new race: forget the old one's views. */
  clear() {
    this.latest = {};
    this.steps = {};
    this.lastView = null;
    this.step.textContent = '';
    this.sequences.clear();
  }

  /** @param {RunLegend[]} legends */
  setLegends(legends) {
    this.legends = legends;
    const chosen = this.picker.value;
    this.picker.replaceChildren(...legends.map((l) => el('option', { value: l.id, text: l.name })));
    if (legends.some((l) => l.id === chosen)) this.picker.value = chosen;
    this.sequences.setLegends(legends);
    this.showPicked();
  }

  /** @param {number | null} clip  the threshold the race starts with */
  setClip(clip) {
    this.clip.set(clip);
  }

  /**
   * @param {any} msg  a server message about the network problem
   * @returns {boolean} whether it was this view's
   */
  receive(msg) {
    if (msg.type === 'dataset' && (msg.model === 'cnn' || msg.model === 'rnn')) {
      this.arch.textContent = String(msg.architecture ?? '');
      if (msg.model === 'cnn') this.digits.setDataset(msg.samples);
      else this.sequences.setDataset(String(msg.config?.dataset), msg.samples, Number(msg.steps));
      return true;
    }
    if (msg.type === 'view') {
      this.lastView = msg;
      if (msg.model === 'cnn') {
        for (const [id, v] of Object.entries(msg.runs ?? {})) {
          if (id.endsWith(TWIN_SUFFIX)) continue;
          this.latest[id] = v;
          this.steps[id] = Number(msg.steps?.[id] ?? msg.step);
        }
        this.showPicked();
      } else {
        this.sequences.show(msg.runs ?? {});
      }
      return true;
    }
    if (msg.type === 'ack' && msg.of === 'clip') {
      this.clip.acked(msg);
      return true;
    }
    return false;
  }

  showPicked() {
    const id = this.picker.value;
    const v = this.latest[id];
    if (this.kind !== 'cnn' || !v) return;
    this.digits.show(v);
    this.step.textContent = `at step ${this.steps[id]}`;
    this.digitsBox.dataset.run = id;
    this.digitsBox.dataset.step = String(this.steps[id]);
  }

  /**
   * The RNN's gradient norm of each run's latest update beside the clipping control (the render
   * loop calls this a few times a second).
   * @param {import('./store.js').RunStore} store
   */
  follow(store) {
    if (this.kind !== 'rnn') return;
    const norms = [];
    for (const l of this.legends) {
      const g = store.get(l.id)?.gnorm.at(-1);
      if (typeof g === 'number') norms.push({ legend: l, value: g });
    }
    this.clip.showNorms(norms);
  }

  /** The page's layout changed (a mode, presenter mode): plots fit their boxes again. */
  invalidate() {
    this.sequences.invalidate();
  }
}
