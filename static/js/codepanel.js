// @ts-check
/**
 * The code panel of one run: its update rule typeset, our own numpy `update` read from the
 * server's code (GET /api/optimizers/{name}/source) with the current values beside every
 * `hyper[...]`, and the same run written with torch.optim (POST /api/optimizers/{name}/torch).
 * In Networks mode it adds each layer's forward and backward and the torch.nn module it equals.
 */
import { el } from './controls.js';
import { highlight } from './highlight.js';
import { typeset } from './mathtex.js';
import { runId, runIndex } from './state.js';
import { runColor } from './palette.js';
import { modelOf } from './deepstate.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./state.js').RunState} RunState */
/** @typedef {import('./api.js').OptimizerSpec} OptimizerSpec */
/** @typedef {{source: string, file: string, line: number}} Code */
/**
 * @typedef {Object} OptimizerSource
 * @property {string} title
 * @property {Code} update
 * @property {Code} init
 * @property {Code | null} state
 * @property {(Code & {name: string})[]} helpers
 * @property {string[]} tex
 * @property {Record<string, string>} symbols
 */
/** @typedef {{name: string, title: string, doc: string, forward: Code, backward: Code, torch: string}} LayerSource */

/** @param {string} url @param {RequestInit} [init] */
async function json(url, init) {
  const r = await fetch(url, init);
  const body = await r.json();
  if (!r.ok) throw new Error(body.message ?? `HTTP ${r.status}`);
  return body;
}

/** @param {string} title @param {Code} code @param {Record<string, any>} [values] */
function codeBlock(title, code, values) {
  return el('figure', { class: 'code-block' }, [
    el('figcaption', {}, [el('span', { text: title }), el('span', { class: 'code-where', text: `${code.file}:${code.line}` })]),
    highlight(code.source, values),
  ]);
}

export class CodePanel {
  /**
   * @param {{state: AppState, raceCmds: {shownRuns: () => RunState[]}}} app  read only: the panel never changes the race
   * @param {{optimizers: OptimizerSpec[], surfaces: import('./api.js').SurfaceSpec[]}} specs
   */
  constructor(app, specs) {
    this.app = app;
    this.specs = specs;
    /** @type {Map<string, Promise<OptimizerSource>>} */
    this.sources = new Map();
    /** @type {Promise<LayerSource[]> | null} */
    this.layers = null;
    /** @type {number | null} the run shown */
    this.index = null;
    this.timer = 0;
    this.drawn = ''; // the key of what is drawn, to skip redundant redraws
    this.root = el('aside', { id: 'code-panel', class: 'code-panel', 'aria-label': 'Update rule and code', hidden: '' });
    this.title = el('h2', { id: 'code-panel-title' });
    const close = el('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close the code panel (Esc)', title: 'Close (Esc)', text: '✕' });
    close.addEventListener('click', () => this.close());
    this.body = el('div', { class: 'code-body' });
    this.root.append(el('header', { class: 'code-head' }, [this.title, close]), this.body);
    this.root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close();
    });
    document.body.append(this.root);
  }

  /** @param {number} index  the run whose code to show */
  open(index) {
    this.index = index;
    this.drawn = '';
    this.root.hidden = false;
    this.refresh(true);
    this.root.focus?.();
  }

  close() {
    this.index = null;
    this.root.hidden = true;
  }

  /** Redraw soon (a slider moved), or now. @param {boolean} [now] */
  refresh(now = false) {
    if (this.index === null) return;
    clearTimeout(this.timer);
    if (now) void this.draw();
    else this.timer = window.setTimeout(() => void this.draw(), 120);
  }

  /** @param {string} name */
  source(name) {
    let p = this.sources.get(name);
    if (!p) {
      p = json(`/api/optimizers/${encodeURIComponent(name)}/source`);
      p.catch(() => this.sources.delete(name));
      this.sources.set(name, p);
    }
    return p;
  }

  problemTitle() {
    const s = this.app.state;
    if (s.mode === 'network') return 'the network\'s training loss over its weights';
    if (s.mode === 'regression') return 'the regression loss over (w, b)';
    const spec = this.specs.surfaces.find((x) => x.name === s.surface);
    return spec ? `${spec.title}: ${spec.formula}` : `f(x, y) = ${s.expr}`;
  }

  startPoint() {
    const s = this.app.state;
    const spec = this.specs.surfaces.find((x) => x.name === s.surface);
    return s.start ?? spec?.start ?? [0, 0];
  }

  async draw() {
    const index = this.index;
    const run = index === null ? undefined : this.app.raceCmds.shownRuns()[index]; // live changes included
    if (index === null || !run) return this.close();
    const spec = this.specs.optimizers.find((o) => o.name === run.optimizer);
    if (!spec) return;
    /** @type {Record<string, number | boolean | string>} */
    const values = {};
    for (const h of spec.hyper) values[h.name] = run.hyper[h.name] ?? h.default;
    const body = { hyper: values, schedule: run.schedule, start: this.startPoint(), steps: this.app.state.steps, problem: this.problemTitle() };
    const key = JSON.stringify([index, run.optimizer, body, this.app.state.mode, layersOf(this.app.state.net)]);
    if (key === this.drawn) return;
    this.drawn = key;
    const id = run.id ?? runId(index);
    this.title.textContent = `Run ${id} · ${spec.title}: the rule and the code`;
    this.root.style.setProperty('--run-color', runColor(runIndex(id)));
    try {
      const [source, torch] = await Promise.all([
        this.source(run.optimizer),
        json(`/api/optimizers/${encodeURIComponent(run.optimizer)}/torch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      ]);
      if (this.drawn !== key) return; // a newer change is being drawn
      const layers = this.app.state.mode === 'network' ? await this.layerSources() : null;
      this.render(spec, source, torch.code, values, layers);
    } catch (err) {
      this.body.replaceChildren(el('p', { class: 'run-status', 'data-tone': 'bad', text: `The code could not be shown: ${/** @type {Error} */ (err).message}` }));
    }
  }

  layerSources() {
    if (!this.layers) this.layers = json('/api/layers');
    return this.layers;
  }

  /**
   * @param {OptimizerSpec} spec
   * @param {OptimizerSource} source
   * @param {string} torchCode
   * @param {Record<string, number | boolean | string>} values
   * @param {LayerSource[] | null} layers
   */
  render(spec, source, torchCode, values, layers) {
    const rule = el('div', { class: 'code-rule', role: 'math', 'aria-label': spec.rule });
    for (const line of source.tex) {
      const node = el('div', { class: 'tex-line' });
      rule.append(node);
      void typeset(node, line);
    }
    const symbols = el('dl', { class: 'code-values', 'aria-label': 'Current values' });
    for (const h of spec.hyper) {
      const dt = el('dt');
      const sym = source.symbols[h.name];
      if (sym) void typeset(dt, sym).then(() => dt.append(el('span', { class: 'code-name', text: h.name })));
      else dt.textContent = h.name;
      symbols.append(dt, el('dd', { text: String(values[h.name]), 'data-name': h.name }));
    }
    const ours = el('section', { class: 'code-col', 'aria-label': 'Without libraries' }, [
      el('h3', { text: 'Without libraries: our numpy' }),
      codeBlock('update', source.update, values),
      ...(source.state ? [codeBlock('state', source.state)] : []),
      codeBlock('init', source.init),
      ...source.helpers.map((h) => codeBlock(h.name, h)),
    ]);
    const theirs = el('section', { class: 'code-col', 'aria-label': 'With PyTorch' }, [
      el('h3', { text: 'With PyTorch' }),
      el('figure', { class: 'code-block torch-code' }, [el('figcaption', { text: 'torch.optim + autograd, these values' }), highlight(torchCode)]),
    ]);
    const parts = [
      el('section', { class: 'code-section' }, [el('h3', { text: 'Update rule' }), rule, symbols]),
      el('div', { class: 'code-cols' }, [ours, theirs]),
    ];
    if (layers) parts.push(this.layerSection(layers));
    this.body.replaceChildren(...parts);
  }

  /** @param {LayerSource[]} layers */
  layerSection(layers) {
    const order = layersOf(this.app.state.net); // in the network's order
    const rows = layers
      .filter((l) => order.includes(l.name))
      .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))
      .map((l) =>
        el('section', { class: 'layer-code', 'data-layer': l.name }, [
          el('h4', {}, [el('span', { text: l.title }), el('code', { class: 'torch-module', text: l.torch })]),
          el('p', { class: 'summary', text: l.doc }),
          el('div', { class: 'code-cols' }, [codeBlock('forward', l.forward), codeBlock('backward', l.backward)]),
        ]),
      );
    return el('section', { class: 'code-section' }, [el('h3', { text: "The network's layers: forward and backward" }), ...rows]);
  }
}

/**
 * The layers a network is made of, by their names in /api/layers.
 * @param {import('./state.js').NetState | undefined} net
 * @returns {string[]}
 */
function layersOf(net) {
  const model = modelOf(net?.dataset ?? '');
  if (model === 'cnn') return ['conv2d', 'relu', ...((net?.pool ?? 1) > 1 ? ['maxpool2d'] : []), 'flatten', 'linear'];
  if (model === 'rnn') return ['rnn', 'linear'];
  return ['linear', net?.activation ?? 'tanh'];
}
