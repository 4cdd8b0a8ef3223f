// @ts-check
/**
 * The Backprop view: a small network (2-3-1 by default) on one example of the page's data set,
 * stepped forward layer by layer, then backward, then the update. Every number comes from
 * POST /api/backprop (our layers, checked against torch autograd); selecting a weight shows its
 * chain-rule product with the actual numbers.
 */
import { el } from './controls.js';
import { drawGraph, num, phaseName } from './backpropgraph.js';

/** @typedef {import('./backpropgraph.js').Graph} Graph */
/** @typedef {import('./state.js').AppState} AppState */

const LAYOUTS = [[3], [2], [4], [3, 3], [4, 4]];
const SVG = 'http://www.w3.org/2000/svg';

export class BackpropView {
  /** @param {{state: AppState}} app  read only */
  constructor(app) {
    this.app = app;
    /** @type {Graph | null} */
    this.graph = null;
    this.phase = 0;
    /** @type {{layer: number, i: number, j: number} | null} */
    this.selected = { layer: 0, i: 0, j: 0 };
    this.sample = 0;
    this.root = el('aside', { id: 'backprop-view', class: 'code-panel bp-view', 'aria-label': 'Backprop step by step', hidden: '', tabindex: '-1' });
    const close = el('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close backprop (Esc)', title: 'Close (Esc)', text: '✕' });
    close.addEventListener('click', () => this.close());
    this.title = el('h2', { id: 'bp-title', text: 'Backprop, step by step' });
    this.layout = /** @type {HTMLSelectElement} */ (el('select', { id: 'bp-layout', 'aria-label': 'Network layout' }));
    for (const h of LAYOUTS) this.layout.append(el('option', { value: h.join(','), text: `hidden ${h.join(', ')}` }));
    this.lr = /** @type {HTMLInputElement} */ (el('input', { id: 'bp-lr', type: 'number', step: 'any', min: '0', value: '0.5', 'aria-label': 'Learning rate of the update' }));
    this.sampleBox = /** @type {HTMLInputElement} */ (el('input', { id: 'bp-sample', type: 'number', min: '0', step: '1', value: '0', 'aria-label': 'Example number' }));
    this.back = el('button', { type: 'button', class: 'button', id: 'bp-back', text: '◀ Back' });
    this.next = el('button', { type: 'button', class: 'button primary', id: 'bp-next', text: 'Next ▶' });
    this.restart = el('button', { type: 'button', class: 'button', id: 'bp-restart', text: 'Restart' });
    this.phaseLabel = el('p', { id: 'bp-phase', class: 'bp-phase', 'aria-live': 'polite' });
    this.svg = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (document.createElementNS(SVG, 'svg')));
    this.svg.setAttribute('id', 'bp-graph');
    this.svg.setAttribute('role', 'img');
    this.svg.setAttribute('aria-label', 'The computation graph with each unit\'s value and gradient');
    this.chain = el('div', { id: 'bp-chain', class: 'bp-chain', 'aria-live': 'polite' });
    this.note = el('p', { class: 'summary', id: 'bp-note' });
    const controls = el('div', { class: 'bp-controls' }, [
      el('label', { for: 'bp-layout', text: 'Layers' }), this.layout,
      el('label', { for: 'bp-sample', text: 'Example' }), this.sampleBox,
      el('label', { for: 'bp-lr', text: 'SGD lr' }), this.lr,
      this.back, this.next, this.restart,
    ]);
    this.root.append(el('header', { class: 'code-head' }, [this.title, close]), controls, this.phaseLabel, this.svg, this.chain, this.note);
    document.body.append(this.root);
    this.back.addEventListener('click', () => this.go(this.phase - 1));
    this.next.addEventListener('click', () => this.advance());
    this.restart.addEventListener('click', () => void this.load(null));
    this.layout.addEventListener('change', () => void this.load(null));
    this.lr.addEventListener('change', () => void this.load(this.graph?.params ?? null));
    this.sampleBox.addEventListener('change', () => {
      this.sample = Math.max(0, Math.floor(Number(this.sampleBox.value) || 0));
      void this.load(this.graph?.params ?? null);
    });
    this.root.addEventListener('keydown', (e) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) {
        if (e.key === 'Escape') this.close();
        e.stopPropagation();
        return;
      }
      const keys = /** @type {Record<string, () => void>} */ ({
        ArrowRight: () => this.advance(),
        ArrowLeft: () => this.go(this.phase - 1),
        Escape: () => this.close(),
      });
      if (keys[e.key]) {
        keys[e.key]();
        e.preventDefault();
      }
      e.stopPropagation(); // the race's keys do not apply while stepping backprop
    });
  }

  get layers() {
    return this.graph ? this.graph.layers.length : 0;
  }

  open() {
    this.root.hidden = false;
    this.root.focus();
    if (!this.graph) void this.load(null);
  }

  close() {
    this.root.hidden = true;
  }

  network() {
    const net = this.app.state.net;
    return {
      dataset: net?.dataset ?? 'moons',
      n: 40,
      noise: net?.noise ?? 0.1,
      hidden: this.layout.value.split(',').map(Number),
      activation: net?.activation ?? 'tanh',
      ...(net?.dataset === 'spiral' ? { arms: net.arms } : {}),
      ...(net?.dataset === 'blobs' ? { classes: Math.min(4, net.classes) } : {}),
    };
  }

  /** @param {number[] | null} params  null: fresh weights from the seed */
  async load(params) {
    const body = {
      network: this.network(),
      seed: this.app.state.seed ?? 0,
      sample: this.sample,
      hyper: { lr: Number(this.lr.value) || 0.5 },
      ...(params ? { params } : {}),
    };
    const r = await fetch('/api/backprop', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await r.json();
    if (!r.ok) {
      this.note.textContent = `The server refused: ${answer.message}`;
      return;
    }
    this.graph = /** @type {Graph} */ (answer);
    this.sampleBox.max = String(this.graph.samples - 1);
    const net = this.network();
    this.title.textContent = `Backprop, step by step: ${this.graph.sizes.join('-')} ${this.graph.activation} on ${net.dataset}, example ${this.graph.sample.index}`;
    this.note.textContent = `Target ${this.graph.sample.target.map(num).join(', ')}; loss ${this.graph.loss_name} (as torch's, mean over this one example). Every number equals torch autograd's for the same weights.`;
    this.go(0);
  }

  advance() {
    if (!this.graph) return;
    if (this.phase >= 2 * this.layers + 2) {
      // on to the next example with the updated weights: stochastic gradient descent by hand
      this.sample = (this.sample + 1) % this.graph.samples;
      this.sampleBox.value = String(this.sample);
      void this.load(this.graph.update.params);
      return;
    }
    this.go(this.phase + 1);
  }

  /** @param {number} phase */
  go(phase) {
    if (!this.graph) return;
    const last = 2 * this.layers + 2;
    this.phase = Math.max(0, Math.min(last, phase));
    this.phaseLabel.textContent = `Step ${this.phase + 1} of ${last + 1}: ${phaseName(this.phase, this.layers, this.graph.activation)}`;
    this.next.textContent = this.phase === last ? 'Next example ▶' : 'Next ▶';
    this.back.toggleAttribute('disabled', this.phase === 0);
    this.draw();
  }

  draw() {
    if (!this.graph) return;
    drawGraph(this.svg, this.graph, this.phase, this.selected, (w) => {
      this.selected = w;
      this.draw();
    });
    this.showChain();
  }

  showChain() {
    const g = this.graph;
    const s = this.selected;
    const c = g && s ? g.chains.find((x) => x.layer === s.layer && x.i === s.i && x.j === s.j) : null;
    if (!g || !c) {
      this.chain.replaceChildren();
      return;
    }
    const L = g.layers.length;
    const name = `W${c.layer + 1}[${c.i + 1},${c.j + 1}]`;
    const input = c.layer === 0 ? `x${c.j + 1}` : `a${c.layer}[${c.j + 1}]`;
    const zname = `z${c.layer + 1}[${c.i + 1}]`;
    const known = this.phase >= L + 2 + (L - 1 - c.layer);
    const lines = [el('p', {}, [el('strong', { text: `${name} = ${num(c.weight)}` }), ` connects ${input} to ${zname}.`])];
    if (!known) {
      lines.push(el('p', { class: 'summary', text: 'Its gradient is known once the backward pass reaches this layer: press Next.' }));
    } else {
      lines.push(el('p', { class: 'bp-eq', text: `∂L/∂${name} = ∂L/∂${zname} · ${input} = ${num(c.dz)} × ${num(c.a_in)} = ${num(c.grad)}` }));
      if (c.fprime !== null) {
        const terms = c.upstream.map(([w, d]) => `${num(w)} × ${num(d)}`).join(' + ');
        lines.push(el('p', { class: 'bp-eq', text: `∂L/∂${zname} = ${g.activation}′(${zname}) · Σₖ W${c.layer + 2}[k,${c.i + 1}] ∂L/∂z${c.layer + 2}[k] = ${num(c.fprime)} × (${terms}) = ${num(c.dz)}` }));
      } else {
        lines.push(el('p', { class: 'bp-eq', text: `∂L/∂${zname} comes from the loss: ${lossGrad(g.loss_name)} = ${num(c.dz)}` }));
      }
      if (this.phase >= 2 * L + 2) {
        const lr = g.update.hyper.lr;
        let at = c.i * g.sizes[c.layer] + c.j;
        for (let l = 0; l < c.layer; l++) at += g.sizes[l] * g.sizes[l + 1] + g.sizes[l + 1];
        lines.push(el('p', { class: 'bp-eq', text: `update: ${num(c.weight)} − ${num(lr)} × ${num(c.grad)} = ${num(g.update.params[at])}` }));
      }
    }
    this.chain.replaceChildren(...lines);
  }
}

/** @param {string} loss */
function lossGrad(loss) {
  if (loss === 'bce') return 'σ(z) − t';
  if (loss === 'softmax') return 'softmax(z) − t';
  return '2 (z − t) / K';
}
