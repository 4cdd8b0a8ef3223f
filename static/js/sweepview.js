// @ts-check
/**
 * The learning-rate sweep of every run: one curve per run of its final loss (or its steps to
 * f* + tol) against lr on a log axis, 64 values over six decades around its current lr, from the
 * race's start for the race's steps; the measured divergence edge (solid) and, where the server
 * knows it, the predicted local stability edge 2/λmax (dashed). A click on a point sets that
 * run's lr live; the keyboard picks a point with the run's slider below the chart.
 */
import { el } from './controls.js';
import { plotConfig } from './plotkit.js';
import { baseLayout, drawFigure } from './figure.js';
import { NORMAL_THEME } from './theme.js';
import { errorText, isAbort, sweep } from './analysisapi.js';
import { fmt, runFields } from './analysishost.js';

/** @typedef {import('./analysishost.js').AnalysisHost} AnalysisHost */
/** @typedef {import('./analysishost.js').RunInfo} RunInfo */
/** @typedef {import('./analysisapi.js').SweepResult} SweepResult */
/** @typedef {'final_loss' | 'steps'} SweepY */
/** @typedef {import('./theme.js').Theme} Theme */

export const SWEEP_POINTS = 64;
export const SWEEP_DECADES = 6;
const TOL = 1e-3;
/** Surfaces whose Hessian is the same everywhere: there the limit at the start is the edge. */
const QUADRATIC = new Set(['quadratic', 'booth', 'matyas']);

/**
 * Six decades centred on the run's lr, moved down if needed to stay within its spec's bounds.
 * @param {RunInfo} run
 * @returns {[number, number]}
 */
export function sweepRange(run) {
  const half = 10 ** (SWEEP_DECADES / 2);
  const max = run.lrSpec?.max ?? Infinity;
  const min = run.lrSpec?.min && run.lrSpec.min > 0 ? run.lrSpec.min : 0;
  let hi = Math.min(run.lr * half, max);
  let lo = hi / 10 ** SWEEP_DECADES;
  if (lo < min) {
    lo = min;
    hi = Math.min(max, lo * 10 ** SWEEP_DECADES);
  }
  return [lo, hi];
}

/**
 * @typedef {Object} Swept
 * @property {RunInfo} run
 * @property {SweepResult} result
 * @property {number} steps
 */

export class SweepPanel {
  /**
   * @param {HTMLElement} controls  in the settings panel
   * @param {HTMLElement} card  the results card (chart, pickers)
   * @param {AnalysisHost} host
   * @param {Theme} [theme]
   */
  constructor(controls, card, host, theme = NORMAL_THEME) {
    this.host = host;
    this.theme = theme;
    this.card = card;
    /** @type {Swept[]} */
    this.swept = [];
    /** @type {SweepY} */
    this.y = 'final_loss';
    /** @type {AbortController | null} */
    this.abort = null;
    /** @type {{run: string, index: number} | null} */
    this.picked = null;
    this.quadratic = false;
    this.listening = false;
    /** @type {number | null} the lowest listed minimum's value */
    this.fstar = null;
    this.button = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'button small primary', id: 'sweep-run', text: 'Sweep every run’s lr' }));
    this.status = el('p', { id: 'sweep-status', class: 'summary', role: 'status' });
    this.error = el('p', { id: 'sweep-error', class: 'field-error', role: 'alert' });
    controls.replaceChildren(
      el('p', { class: 'summary', text: `Each run from the race’s start for the race’s steps, at ${SWEEP_POINTS} learning rates over ${SWEEP_DECADES} decades around its own.` }),
      el('div', { class: 'inline analysis-actions' }, [this.button]),
      this.status,
      this.error,
    );
    this.button.addEventListener('click', () => this.run());
    /** @type {Record<SweepY, HTMLButtonElement>} */
    this.yButtons = {
      final_loss: /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'button small', id: 'sweep-y-loss', 'aria-pressed': 'true', text: 'Final loss' })),
      steps: /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'button small', id: 'sweep-y-steps', 'aria-pressed': 'false', text: `Steps to f* + ${TOL}` })),
    };
    for (const [y, b] of Object.entries(this.yButtons)) b.addEventListener('click', () => this.setY(/** @type {SweepY} */ (y)));
    this.chart = el('div', { id: 'sweep-chart', class: 'sweep-chart', role: 'img', 'aria-label': 'Each run’s final loss against its learning rate' });
    this.note = el('p', { id: 'sweep-note', class: 'summary' });
    this.pickers = el('div', { id: 'sweep-pickers', class: 'sweep-pickers' });
    card.replaceChildren(
      el('div', { class: 'result-head' }, [
        el('h2', { text: 'Learning-rate sweep' }),
        el('div', { class: 'segmented', role: 'group', 'aria-label': 'Sweep chart shows' }, Object.values(this.yButtons)),
      ]),
      this.chart,
      this.note,
      this.pickers,
    );
    card.hidden = true;
  }

  async run() {
    const ctx = this.host.context();
    if (!ctx) return;
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    this.error.textContent = '';
    this.button.disabled = true;
    this.status.textContent = `Sweeping ${ctx.runs.length} run${ctx.runs.length > 1 ? 's' : ''}…`;
    try {
      const swept = await Promise.all(
        ctx.runs.map(async (run) => {
          const [lrMin, lrMax] = sweepRange(run);
          const body = { ...runFields(ctx, run), start: ctx.start, steps: ctx.steps, lr_min: lrMin, lr_max: lrMax, n: SWEEP_POINTS, tol: TOL };
          try {
            return { run, result: await sweep(body, abort.signal), steps: ctx.steps };
          } catch (err) {
            if (!isAbort(err)) /** @type {any} */ (err).run = run;
            throw err;
          }
        }),
      );
      if (this.abort !== abort) return;
      this.swept = swept;
      this.quadratic = QUADRATIC.has(ctx.problem.surface ?? '');
      this.fstar = ctx.minima.length ? Math.min(...ctx.minima.map((m) => m[2])) : null;
      this.picked = null;
      this.status.textContent = `Swept ${swept.length} run${swept.length > 1 ? 's' : ''}: click a point to use its lr.`;
      this.card.hidden = false;
      await this.draw();
      this.buildPickers();
      this.card.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      if (isAbort(err)) return;
      const run = /** @type {any} */ (err).run;
      this.status.textContent = '';
      this.error.textContent = `${run ? `${run.name}: ` : ''}${errorText(err)}`;
    } finally {
      if (this.abort === abort) {
        this.abort = null;
        this.button.disabled = false;
      }
    }
  }

  /** @param {SweepY} y */
  setY(y) {
    this.y = y;
    for (const [k, b] of Object.entries(this.yButtons)) b.setAttribute('aria-pressed', String(k === y));
    this.chart.setAttribute('aria-label', y === 'steps' ? 'Each run’s steps to tolerance against its learning rate' : 'Each run’s final loss against its learning rate');
    this.draw();
  }

  /**
   * What point i shows before any clipping: its steps to tol, or its final loss above f* (the
   * lowest listed minimum; the loss itself where none is listed). Null where the run diverged.
   * @param {Swept} s @param {number} i
   * @returns {number | null}
   */
  raw(s, i) {
    if (s.result.diverged[i]) return null;
    if (this.y === 'steps') return s.result.steps_to_tol[i];
    return s.result.final_loss[i] - (this.fstar ?? 0);
  }

  /** @param {Swept} s @param {number} i @param {{floor: number}} axis @returns {number | null} as plotted */
  value(s, i, axis) {
    const v = this.raw(s, i);
    return v === null ? null : Math.max(v, axis.floor); // a loss at f* exactly sits on the floor
  }

  /**
   * The y axis: losses on a log axis (those at or a rounding below f* on its floor), up to a
   * millionfold rise above the start; steps on a linear one.
   */
  yAxis() {
    if (this.y === 'steps') {
      const top = Math.max(1, ...this.swept.map((s) => s.steps));
      return { type: 'linear', range: [0, top * 1.08], title: { text: `steps to f* + ${TOL}` }, top, floor: -Infinity };
    }
    const values = /** @type {number[]} */ (this.swept.flatMap((s) => s.result.lr.map((_, i) => this.raw(s, i))).filter((v) => v !== null));
    const gap = this.fstar === null ? 'final loss' : this.fstar === 0 ? 'final loss (f* = 0)' : `final loss − f* (f* = ${fmt(this.fstar)})`;
    const title = { text: `${gap} after ${this.swept[0]?.steps ?? ''} steps` };
    const positive = values.filter((v) => v > 0);
    const log = positive.length > 0 && values.every((v) => v > -1e-9 * Math.max(1, Math.abs(this.fstar ?? 0)));
    const rises = this.swept.map((s) => Math.abs(this.raw(s, 0) ?? 0) * 1e6).filter((v) => v > 0);
    const cap = rises.length ? Math.max(...rises) : Infinity;
    if (!log) {
      const shown = values.filter((v) => Math.abs(v) <= cap);
      const [lo, hi] = shown.length ? [Math.min(...shown), Math.max(...shown)] : [0, 1];
      const pad = (hi - lo) * 0.08 || 1;
      return { type: 'linear', range: [lo - pad, hi + pad], title, top: hi + pad * 0.5, floor: -Infinity };
    }
    const floor = Math.min(...positive) / 10;
    const shown = values.map((v) => Math.max(v, floor)).filter((v) => v <= cap);
    const [a, b] = [Math.log10(Math.min(...shown)), Math.log10(Math.max(...shown))];
    const pad = Math.max(0.3, (b - a) * 0.06);
    return { type: 'log', range: [a - pad, b + pad], title, top: 10 ** (b + pad * 0.5), floor };
  }

  async draw() {
    if (!this.swept.length) return;
    const axis = this.yAxis();
    /** @type {any[]} */
    const traces = [];
    /** @type {any[]} */
    const shapes = [];
    /** @type {any[]} */
    const notes = [];
    for (const s of this.swept) {
      const idx = s.result.lr.map((_, i) => i);
      const kept = idx.filter((i) => this.raw(s, i) !== null);
      const off = idx.filter((i) => this.raw(s, i) === null);
      const color = s.run.color;
      traces.push({
        type: 'scatter',
        mode: 'lines+markers',
        name: s.run.name,
        meta: { kind: 'sweep', run: s.run.id },
        x: kept.map((i) => s.result.lr[i]),
        y: kept.map((i) => this.value(s, i, axis)),
        customdata: kept,
        text: kept.map((i) => (this.y === 'steps' ? String(s.result.steps_to_tol[i]) : fmt(s.result.final_loss[i], 4))),
        line: { color, width: 2 },
        marker: { color, size: 6 },
        hovertemplate: `${s.run.name}<br>lr %{x:.3g}<br>${this.y === 'steps' ? 'steps' : 'loss'} %{text}<extra>click: use this lr</extra>`,
      });
      traces.push({
        type: 'scatter',
        mode: 'markers',
        name: `${s.run.name}: ${this.y === 'steps' ? 'not reached' : 'diverged'}`,
        meta: { kind: this.y === 'steps' ? 'unreached' : 'diverged', run: s.run.id },
        x: off.map((i) => s.result.lr[i]),
        y: off.map(() => axis.top),
        customdata: off,
        marker: { color, size: 8, symbol: this.y === 'steps' ? 'circle-open' : 'x-thin-open', line: { color, width: 2 } },
        hovertemplate: `${s.run.name}<br>lr %{x:.3g}<br>${this.y === 'steps' ? 'never within tol' : 'diverged'}<extra>click: use this lr</extra>`,
        showlegend: false,
      });
      if (s.result.edge !== null) {
        shapes.push({ type: 'line', xref: 'x', yref: 'paper', x0: s.result.edge, x1: s.result.edge, y0: 0, y1: 1, line: { color, width: 1.5 } });
        notes.push(`${s.run.name}: diverges or rises from lr ${fmt(s.result.edge)}`);
      }
      const p = s.result.predicted_edge;
      if (p && this.quadratic) {
        shapes.push({ type: 'line', xref: 'x', yref: 'paper', x0: p.lr, x1: p.lr, y0: 0, y1: 1, line: { color, width: 1.5, dash: 'dash' } });
        notes.push(`predicted ${p.formula} = ${fmt(p.lr)} (λmax ${fmt(p.lambda_max)})`);
      } else if (p) {
        notes.push(`the local limit ${p.formula} at the start is ${fmt(p.lr)} (λmax ${fmt(p.lambda_max)} there; the curvature changes along the path)`);
      }
    }
    traces.push(this.pickedTrace());
    const layout = {
      ...baseLayout(this.theme, { l: 64, r: 12, t: 10, b: 46 }),
      dragmode: 'zoom',
      xaxis: { type: 'log', title: { text: 'learning rate' }, exponentformat: 'power', dtick: 1 },
      yaxis: { type: axis.type, range: axis.range, title: axis.title, exponentformat: 'power' },
      shapes,
      showlegend: true,
      legend: { orientation: 'h', y: 1.02, yanchor: 'bottom', x: 0 },
    };
    await drawFigure(this.chart, traces, layout, plotConfig(), this.theme);
    this.note.textContent = notes.length
      ? `Solid line: the measured edge (the smallest lr that diverged or ended above its start)${this.quadratic ? '; dashed: the predicted one' : ''}. ${notes.join('; ')}.`
      : 'No swept lr diverged or ended above its start.';
    if (!this.listening) {
      this.listening = true;
      /** @type {any} */ (this.chart).on('plotly_click', (/** @type {any} */ ev) => this.clicked(ev));
    }
  }

  /** @param {Theme} theme */
  async setTheme(theme) {
    this.theme = theme;
    await this.draw();
  }

  pickedTrace() {
    const at = this.picked && this.swept.find((s) => s.run.id === this.picked?.run);
    const i = this.picked?.index ?? 0;
    const axis = this.yAxis();
    const v = at ? (this.value(at, i, axis) ?? axis.top) : null;
    return {
      type: 'scatter',
      mode: 'markers',
      meta: { kind: 'picked' },
      x: at ? [at.result.lr[i]] : [],
      y: at ? [v] : [],
      marker: { size: 16, color: 'rgba(0,0,0,0)', line: { color: '#1d2430', width: 2.5 } },
      hoverinfo: 'skip',
      showlegend: false,
    };
  }

  /** @param {any} ev  plotly_click */
  clicked(ev) {
    const p = ev?.points?.[0];
    const meta = p?.data?.meta;
    if (!meta?.run || typeof p.customdata !== 'number') return;
    this.use(meta.run, p.customdata);
  }

  /** @param {string} id @param {number} index  of the swept lr */
  use(id, index) {
    const s = this.swept.find((w) => w.run.id === id);
    if (!s) return;
    const lr = s.result.lr[index];
    this.picked = { run: id, index };
    this.host.setLr(id, lr);
    this.status.textContent = `${s.run.name}: lr set to ${fmt(lr, 4)}.`;
    this.draw();
    const slider = /** @type {HTMLInputElement | null} */ (this.pickers.querySelector(`input[data-run="${id}"]`));
    if (slider) slider.value = String(index);
    this.describe(s, index);
  }

  /** One slider per run over its swept lrs: the keyboard's way to pick a point. */
  buildPickers() {
    this.pickers.replaceChildren(
      ...this.swept.map((s) => {
        const id = `sweep-pick-${s.run.id}`;
        const near = nearest(s.result.lr, s.run.lr);
        const slider = /** @type {HTMLInputElement} */ (el('input', { type: 'range', id, min: '0', max: String(s.result.lr.length - 1), step: '1', value: String(near), 'data-run': s.run.id }));
        const out = el('output', { for: id, id: `${id}-out`, class: 'sweep-out' });
        const use = el('button', { type: 'button', class: 'button small', id: `${id}-use`, text: 'Use this lr' });
        slider.addEventListener('input', () => {
          this.picked = { run: s.run.id, index: Number(slider.value) };
          this.describe(s, Number(slider.value));
          this.draw();
        });
        use.addEventListener('click', () => this.use(s.run.id, Number(slider.value)));
        const row = el('div', { class: 'sweep-pick' }, [el('label', { for: id, text: s.run.name }), slider, use, out]);
        row.style.setProperty('--run-color', s.run.color);
        this.describe(s, near, out);
        return row;
      }),
    );
  }

  /** @param {Swept} s @param {number} i @param {HTMLElement} [out] */
  describe(s, i, out) {
    const target = out ?? this.pickers.querySelector(`#sweep-pick-${s.run.id}-out`);
    if (!target) return;
    const r = s.result;
    const what = r.diverged[i]
      ? `diverged at step ${r.diverged_at[i]}`
      : `loss ${fmt(r.final_loss[i], 4)}, ${r.steps_to_tol[i] === null ? 'never within tol' : `within tol from step ${r.steps_to_tol[i]}`}`;
    target.textContent = `lr ${fmt(r.lr[i], 4)}: ${what}`;
  }
}

/** @param {number[]} values @param {number} v @returns {number} index of the value closest to v in log */
function nearest(values, v) {
  let best = 0;
  values.forEach((x, i) => {
    if (Math.abs(Math.log(x / v)) < Math.abs(Math.log(values[best] / v))) best = i;
  });
  return best;
}
