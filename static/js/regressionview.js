// @ts-check
/**
 * The data of a two-parameter regression and every run's current fit, in the run's colour:
 * the line y = w x + b, or for logistic regression the curve P(y = 1) = σ(w x + b). A run's
 * (w, b) is the newest point of its path; the fits move as the paths grow on the (w, b) contour.
 */
import { plotConfig, plotly } from './plotkit.js';
import { axisTitle, baseLayout, drawFigure, gridAxis } from './figure.js';
import { NORMAL_THEME } from './theme.js';
import { CLASS_COLORS } from './boundaryview.js';

/** @typedef {import('./store.js').RunStore} RunStore */
/** @typedef {import('./pathview.js').RunLegend} RunLegend */
/** @typedef {import('./theme.js').Theme} Theme */
/**
 * @typedef {Object} RegressionData  the parts of POST /api/regression drawn here
 * @property {'linear' | 'logistic'} model
 * @property {{x: number[], y: number[]}} data
 */

const REFRESH_MS = 50;
const CURVE_POINTS = 80;
const FIRST_FIT = 1;

/** @param {number} t */
const sigmoid = (t) => 1 / (1 + Math.exp(-t));

export class RegressionView {
  /** @param {HTMLElement} gd @param {Theme} [theme] */
  constructor(gd, theme = NORMAL_THEME) {
    this.gd = gd;
    this.theme = theme;
    /** @type {RegressionData | null} */
    this.reg = null;
    /** @type {RunLegend[]} */
    this.legends = [];
    /** @type {number[]} x values where the fits are evaluated */
    this.xs = [];
    this.dirty = true;
    this.busy = false;
    this.visible = false;
    this.shownAt = 0;
    this.shown = '';
  }

  /** @param {Theme} theme  the next update redraws the figure in it */
  setTheme(theme) {
    this.theme = theme;
    this.dirty = true;
  }

  /** @param {RegressionData} reg */
  setData(reg) {
    this.reg = reg;
    const lo = Math.min(...reg.data.x);
    const hi = Math.max(...reg.data.x);
    const pad = 0.05 * (hi - lo || 1);
    const n = reg.model === 'linear' ? 2 : CURVE_POINTS;
    this.xs = Array.from({ length: n }, (_, i) => lo - pad + ((hi - lo + 2 * pad) * i) / (n - 1));
    this.dirty = true;
  }

  /** @param {RunLegend[]} legends */
  setLegends(legends) {
    this.legends = legends;
    this.dirty = true;
  }

  /** @param {[number, number] | null} head  (w, b) @returns {number[]} */
  fit(head) {
    if (!head || !this.reg) return [];
    const [w, b] = head;
    const f = this.reg.model === 'linear' ? (/** @type {number} */ x) => w * x + b : (/** @type {number} */ x) => sigmoid(w * x + b);
    return this.xs.map(f);
  }

  /** @param {RunStore} store */
  async update(store) {
    const now = performance.now();
    if (this.busy || !this.visible || !this.reg || now - this.shownAt < REFRESH_MS) return;
    const heads = store.tracks.map((t) => t.head());
    const key = JSON.stringify(heads);
    if (!this.dirty && key === this.shown) return;
    this.busy = true;
    this.shownAt = now;
    try {
      const fits = heads.map((h) => this.fit(h));
      if (this.dirty || fits.length + FIRST_FIT !== /** @type {any} */ (this.gd).data?.length) {
        this.dirty = false;
        await drawFigure(this.gd, this.traces(fits), this.layout(), plotConfig(), this.theme);
      } else {
        await plotly().restyle(this.gd, { y: fits }, fits.map((_, i) => FIRST_FIT + i));
      }
      this.shown = key;
    } finally {
      this.busy = false;
    }
  }

  /** @param {number[][]} fits */
  traces(fits) {
    const reg = /** @type {RegressionData} */ (this.reg);
    const logistic = reg.model === 'logistic';
    return [
      {
        type: 'scatter',
        mode: 'markers',
        name: 'data',
        meta: { kind: 'data' },
        x: reg.data.x,
        y: reg.data.y,
        marker: {
          size: 8,
          color: logistic ? reg.data.y.map((c) => CLASS_COLORS[c ? 1 : 0]) : '#5b6577',
          opacity: 0.8,
          line: { color: '#ffffff', width: 1 },
        },
        hovertemplate: '(%{x:.2f}, %{y:.2f})<extra></extra>',
      },
      ...fits.map((y, i) => {
        const l = this.legends[i];
        return {
          type: 'scatter',
          mode: 'lines',
          name: l?.name ?? `run ${i}`,
          meta: { kind: 'fit', run: l?.id },
          x: this.xs,
          y,
          line: { color: l?.color ?? '#000', width: 3 },
          hovertemplate: `${l?.name ?? ''}<br>x %{x:.2f}: %{y:.3f}<extra></extra>`,
        };
      }),
    ];
  }

  layout() {
    const reg = /** @type {RegressionData} */ (this.reg);
    const logistic = reg.model === 'logistic';
    const ys = reg.data.y;
    const lo = Math.min(...ys);
    const hi = Math.max(...ys);
    const pad = 0.12 * (hi - lo || 1);
    const t = this.theme;
    return {
      ...baseLayout(t, { l: 50, r: 12, t: 8, b: 40 }),
      xaxis: gridAxis(t, { range: [this.xs[0], this.xs[this.xs.length - 1]], title: axisTitle('x', 2) }),
      yaxis: gridAxis(t, {
        range: logistic ? [-0.08, 1.08] : [lo - pad, hi + pad],
        title: axisTitle(logistic ? 'P(y = 1) = σ(w x + b)' : 'y ≈ w x + b', 2),
      }),
      uirevision: reg.model,
    };
  }
}
