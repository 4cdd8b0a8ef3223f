// @ts-check
/**
 * The decision boundary of one run (picked in a list) as a heatmap over the input plane, with the
 * data on top: training points filled, held-out points hollow, in their class colours. A black
 * line marks where the prediction changes class (p = 0.5, or between class indices). The heatmap
 * follows the server's `boundary` messages (about ten a second): only its z changes.
 *
 * For the 1D regression data set (`sine`) the server sends curves instead: the data as points
 * and every run's predicted curve in its colour.
 */
import { el } from './controls.js';
import { plotConfig, plotly } from './plotkit.js';
import { axisTitle, baseLayout, drawFigure, gridAxis } from './figure.js';
import { NORMAL_THEME } from './theme.js';
import { TWIN_SUFFIX } from './store.js';

/** @typedef {import('./pathview.js').RunLegend} RunLegend */
/** @typedef {import('./theme.js').Theme} Theme */
/**
 * The `dataset` message (docs/protocol.md, Networks), the parts drawn here.
 * @typedef {Object} DatasetMessage
 * @property {'binary' | 'multiclass' | 'regression'} task
 * @property {number} classes
 * @property {{x: number[][], y: number[]}} train
 * @property {{x: number[][], y: number[]}} test
 * @property {[[number, number], [number, number]]} bounds
 * @property {number[]} sizes
 * @property {number} dim
 * @property {string} loss
 * @property {string} activation
 * @property {number} batch_size
 * @property {Record<string, unknown>} config
 */
/**
 * @typedef {Object} BoundaryMessage
 * @property {'probability' | 'class' | 'curve'} kind
 * @property {Record<string, number>} steps
 * @property {Record<string, any>} runs  n x n for 2D inputs, n values for curves
 * @property {{x: number[], y: number[] | null}} grid
 */

/** Class colours of the points: saturated, distinct from the paler heatmap underneath. */
export const CLASS_COLORS = ['#2563b8', '#e0701b', '#1d8a4a', '#7b45b8', '#b8860b', '#c2304a'];
/** The same hues, pale, for the regions the network assigns to each class. */
const REGION_COLORS = ['#b9d3f0', '#f8cfa7', '#bfe5c9', '#dccbf0', '#f1e0a6', '#f3c0c9'];

/** @param {number} classes @returns {[number, string][]} a stepped colour scale over 0..classes-1 */
function classScale(classes) {
  const out = /** @type {[number, string][]} */ ([]);
  for (let k = 0; k < classes; k++) {
    out.push([k / classes, REGION_COLORS[k % REGION_COLORS.length]]);
    out.push([(k + 1) / classes, REGION_COLORS[k % REGION_COLORS.length]]);
  }
  return out;
}

/** @param {string} id */
const isTwin = (id) => id.endsWith(TWIN_SUFFIX);

export class BoundaryView {
  /**
   * @param {HTMLElement} gd  the plot
   * @param {HTMLSelectElement} picker  which run's boundary
   * @param {HTMLElement} stepLabel
   * @param {Theme} [theme]
   */
  constructor(gd, picker, stepLabel, theme = NORMAL_THEME) {
    this.gd = gd;
    this.theme = theme;
    this.picker = picker;
    this.stepLabel = stepLabel;
    /** @type {DatasetMessage | null} */
    this.dataset = null;
    /** @type {BoundaryMessage['kind'] | null} */
    this.kind = null;
    /** @type {{x: number[], y: number[] | null} | null} */
    this.grid = null;
    /** @type {Map<string, {z: any, step: number}>} the newest prediction of every run and twin */
    this.latest = new Map();
    /** @type {RunLegend[]} */
    this.legends = [];
    this.selected = '';
    this.dirty = true;
    this.fresh = false;
    this.busy = false;
    this.visible = false;
    picker.addEventListener('change', () => {
      this.selected = picker.value;
      this.fresh = true;
    });
  }

  /** @param {RunLegend[]} legends */
  setLegends(legends) {
    this.legends = legends;
    this.fillPicker();
    this.dirty = true;
  }

  /** @param {Theme} theme  the next update redraws the figure in it */
  setTheme(theme) {
    this.theme = theme;
    this.dirty = true;
  }

  /** A new race: nothing to show until its dataset arrives. */
  clear() {
    this.dataset = null;
    this.latest.clear();
    this.kind = null;
    this.dirty = true;
    this.fillPicker();
    plotly().purge(this.gd);
  }

  /** @param {DatasetMessage} msg */
  setDataset(msg) {
    this.dataset = msg;
    this.dirty = true;
  }

  /** @param {BoundaryMessage} msg */
  receive(msg) {
    const known = this.latest.size;
    for (const [id, z] of Object.entries(msg.runs ?? {})) {
      this.latest.set(id, { z, step: Number(msg.steps?.[id] ?? 0) });
    }
    if (msg.kind !== this.kind) this.dirty = true;
    this.kind = msg.kind;
    this.grid = msg.grid;
    if (this.latest.size !== known) this.fillPicker();
    this.fresh = true;
  }

  /** The runs, then the twins that have sent a boundary. */
  fillPicker() {
    const options = this.legends.map((l) => ({ value: l.id, text: l.name }));
    for (const l of this.legends) {
      if (this.latest.has(l.id + TWIN_SUFFIX)) {
        options.push({ value: l.id + TWIN_SUFFIX, text: `${l.name} (PyTorch twin)` });
      }
    }
    const key = JSON.stringify(options);
    if (this.picker.dataset.options !== key) {
      this.picker.dataset.options = key;
      this.picker.replaceChildren(...options.map((o) => el('option', { value: o.value, text: o.text })));
    }
    if (!options.some((o) => o.value === this.selected)) this.selected = options[0]?.value ?? '';
    this.picker.value = this.selected;
    this.picker.hidden = this.kind === 'curve';
    const label = this.picker.labels?.[0];
    if (label) label.textContent = this.kind === 'curve' ? "Every run's prediction" : 'Decision boundary of';
  }

  /** @param {string} id */
  color(id) {
    const run = isTwin(id) ? id.slice(0, -TWIN_SUFFIX.length) : id;
    return this.legends.find((l) => l.id === run)?.color ?? '#1d2430';
  }

  /** Draw what arrived since the last call; skipped while Plotly is busy or the view is hidden. */
  async update() {
    if (this.busy || !this.visible || !this.dataset || !this.kind || !this.grid) return;
    if (!this.dirty && !this.fresh) return;
    this.busy = true;
    try {
      if (this.dirty) await this.redraw();
      else await this.restyle();
      this.fresh = false;
      const shown = this.latest.get(this.kind === 'curve' ? (this.legends[0]?.id ?? '') : this.selected);
      this.stepLabel.textContent = shown ? `step ${shown.step}` : '';
    } finally {
      this.busy = false;
    }
  }

  async redraw() {
    this.dirty = false;
    const traces = this.kind === 'curve' ? this.curveTraces() : this.planeTraces();
    await drawFigure(this.gd, traces, this.layout(), plotConfig(), this.theme);
  }

  async restyle() {
    if (this.kind === 'curve') {
      const ids = this.legends.map((l) => l.id);
      const y = ids.map((id) => this.latest.get(id)?.z ?? []);
      await plotly().restyle(this.gd, { y }, ids.map((_, i) => 2 + i));
      return;
    }
    const z = this.latest.get(this.selected)?.z;
    if (z) await plotly().restyle(this.gd, { z: [z, z] }, [0, 1]);
  }

  /** @param {{x: number[][], y: number[]}} part @param {boolean} test */
  pointTrace(part, test) {
    const colors = part.y.map((c) => CLASS_COLORS[Math.round(c) % CLASS_COLORS.length]);
    return {
      type: 'scatter',
      mode: 'markers',
      name: test ? 'test points' : 'training points',
      meta: { kind: test ? 'test' : 'train' },
      x: part.x.map((p) => p[0]),
      y: part.x.map((p) => p[1]),
      marker: test
        ? { size: 7, color: '#ffffff', line: { color: colors, width: 2 } }
        : { size: 6, color: colors, line: { color: '#ffffff', width: 0.8 } },
      hoverinfo: 'skip',
    };
  }

  planeTraces() {
    const ds = /** @type {DatasetMessage} */ (this.dataset);
    const grid = /** @type {{x: number[], y: number[]}} */ (this.grid);
    const z = this.latest.get(this.selected)?.z ?? [];
    const probability = this.kind === 'probability';
    const classes = Math.max(2, ds.classes);
    return [
      {
        type: 'heatmap',
        meta: { kind: 'boundary' },
        x: grid.x,
        y: grid.y,
        z,
        zmin: probability ? 0 : -0.5,
        zmax: probability ? 1 : classes - 0.5,
        zsmooth: probability ? 'best' : false,
        colorscale: probability
          ? [
              [0, REGION_COLORS[0]],
              [0.5, '#ffffff'],
              [1, REGION_COLORS[1]],
            ]
          : classScale(classes),
        showscale: false,
        hovertemplate: probability
          ? '(%{x:.2f}, %{y:.2f})<br>P(class 1) = %{z:.2f}<extra></extra>'
          : '(%{x:.2f}, %{y:.2f})<br>class %{z}<extra></extra>',
      },
      {
        type: 'contour',
        meta: { kind: 'edge' },
        x: grid.x,
        y: grid.y,
        z,
        autocontour: false,
        contours: { coloring: 'none', start: 0.5, end: probability ? 0.5 : classes - 1.5, size: 1 },
        line: { color: '#1d2430', width: 2 },
        showscale: false,
        hoverinfo: 'skip',
      },
      this.pointTrace(ds.train, false),
      this.pointTrace(ds.test, true),
    ];
  }

  curveTraces() {
    const ds = /** @type {DatasetMessage} */ (this.dataset);
    const grid = /** @type {{x: number[]}} */ (this.grid);
    /** @param {{x: number[][], y: number[]}} part @param {boolean} test */
    const points = (part, test) => ({
      type: 'scatter',
      mode: 'markers',
      name: test ? 'test points' : 'training points',
      meta: { kind: test ? 'test' : 'train' },
      x: part.x.map((p) => p[0]),
      y: part.y,
      marker: test
        ? { size: 7, color: '#ffffff', line: { color: '#4a5566', width: 1.8 } }
        : { size: 6, color: '#8a94a6' },
      hoverinfo: 'skip',
    });
    return [
      points(ds.train, false),
      points(ds.test, true),
      ...this.legends.map((l) => ({
        type: 'scatter',
        mode: 'lines',
        name: l.name,
        meta: { kind: 'curve', run: l.id },
        x: grid.x,
        y: this.latest.get(l.id)?.z ?? [],
        line: { color: l.color, width: 3 },
        hovertemplate: `${l.name}<br>x %{x:.2f}: %{y:.3f}<extra></extra>`,
      })),
    ];
  }

  layout() {
    const ds = /** @type {DatasetMessage} */ (this.dataset);
    const [bx, by] = ds.bounds;
    const plane = this.kind !== 'curve';
    const ys = [...ds.train.y, ...ds.test.y];
    const pad = plane ? 0 : 0.15 * (Math.max(...ys) - Math.min(...ys) || 1);
    const t = this.theme;
    return {
      ...baseLayout(t, { l: 48, r: 12, t: 8, b: 44 }),
      xaxis: { range: [...bx], showgrid: false, zeroline: false, title: axisTitle(plane ? 'x₁' : 'x', 6), constrain: 'domain' },
      yaxis: plane
        ? { range: [...by], showgrid: false, zeroline: false, title: axisTitle('x₂', 6), scaleanchor: 'x', constrain: 'domain' }
        : gridAxis(t, { range: [Math.min(...ys) - pad, Math.max(...ys) + pad], title: axisTitle('y', 2) }),
      uirevision: JSON.stringify(ds.config),
    };
  }
}
