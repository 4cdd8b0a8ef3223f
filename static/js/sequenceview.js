// @ts-check
/**
 * What a sequence RNN does, every run in its colour (from the server's `view` messages): its
 * prediction against the target (the sine task: one held-out sequence, step by step, with the
 * noisy input it reads; the adding problem: the sum it reads out after the last step, for a few
 * held-out sequences), and how much gradient reaches each time step, ‖∂L/∂h_t‖ on a log axis:
 * a line falling towards the first steps is the gradient vanishing back through time, a line
 * rising steeply is it exploding.
 */
import { plotConfig } from './plotkit.js';
import { baseLayout, drawFigure, gridAxis } from './figure.js';
import { NORMAL_THEME } from './theme.js';

/** @typedef {import('./pathview.js').RunLegend} RunLegend */
/** @typedef {import('./theme.js').Theme} Theme */
/**
 * @typedef {Object} SequenceSamples  the `dataset` message's samples
 * @property {number[]} targets
 * @property {number[]} [inputs]  the sine task's input sequence
 */
/** @typedef {{prediction: number[], grad_norms: number[]}} SequenceRunView */

/** @param {number} n @param {number} [from] */
const range = (n, from = 1) => Array.from({ length: n }, (_, i) => i + from);

const MARGIN = { l: 56, r: 12, t: 30, b: 40 };

/**
 * @param {Theme} theme
 * @param {string} title
 * @param {Record<string, unknown>} x
 * @param {Record<string, unknown>} y
 */
function layout(theme, title, x, y) {
  const size = theme.font.size;
  return {
    ...baseLayout(theme, MARGIN),
    font: { ...theme.font, size: size - 1 },
    title: { text: title, x: 0.01, xanchor: 'left', y: 0.97, font: { size } },
    xaxis: gridAxis(theme, x),
    yaxis: gridAxis(theme, y),
  };
}

export class SequenceView {
  /**
   * @param {HTMLElement} predictionPlot
   * @param {HTMLElement} gradPlot
   * @param {Theme} [theme]
   */
  constructor(predictionPlot, gradPlot, theme = NORMAL_THEME) {
    this.predictionPlot = predictionPlot;
    this.theme = theme;
    this.gradPlot = gradPlot;
    /** @type {'adding' | 'sine_seq'} */
    this.task = 'adding';
    /** @type {SequenceSamples | null} */
    this.samples = null;
    this.steps = 0;
    /** @type {Map<string, SequenceRunView>} the latest view of every run */
    this.latest = new Map();
    /** @type {RunLegend[]} */
    this.legends = [];
    this.pending = false;
    new ResizeObserver(() => this.schedule()).observe(predictionPlot);
  }

  /**
   * @param {string} task
   * @param {SequenceSamples} samples
   * @param {number} steps  time steps of a sequence
   */
  setDataset(task, samples, steps) {
    this.task = task === 'sine_seq' ? 'sine_seq' : 'adding';
    this.samples = samples;
    this.steps = steps;
    this.latest.clear();
    this.schedule();
  }

  /** @param {RunLegend[]} legends */
  setLegends(legends) {
    this.legends = legends;
    this.schedule();
  }

  /** @param {Record<string, SequenceRunView>} runs */
  show(runs) {
    for (const [id, v] of Object.entries(runs)) this.latest.set(id, v);
    this.schedule();
  }

  clear() {
    this.latest.clear();
    this.samples = null;
    this.schedule();
  }

  /** @param {Theme} theme  drawn in it from the next frame on */
  setTheme(theme) {
    this.theme = theme;
    this.schedule();
  }

  /** Draw at the next animation frame, once however many views came. */
  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (!this.predictionPlot.offsetParent) return;
      this.draw();
    });
  }

  /** @param {string} id */
  legend(id) {
    return this.legends.find((l) => l.id === id);
  }

  runs() {
    return [...this.latest].filter(([id]) => this.legend(id));
  }

  draw() {
    const adding = this.task === 'adding';
    /** @type {any[]} */
    const traces = [];
    const s = this.samples;
    if (s && adding) {
      traces.push({
        type: 'scatter', mode: 'markers', name: 'target', meta: { kind: 'target' },
        x: range(s.targets.length), y: s.targets,
        marker: { symbol: 'line-ew-open', size: 22, line: { width: 3, color: '#1d2430' } },
        hovertemplate: 'sequence %{x}: target %{y:.3f}<extra></extra>',
      });
    } else if (s) {
      traces.push(
        {
          type: 'scatter', mode: 'lines', name: 'input', meta: { kind: 'input' },
          x: range(s.inputs?.length ?? 0), y: s.inputs ?? [],
          line: { color: '#8a94a6', width: 1.4, dash: 'dot' },
          hovertemplate: 'step %{x}: input %{y:.3f}<extra></extra>',
        },
        {
          type: 'scatter', mode: 'lines', name: 'target', meta: { kind: 'target' },
          x: range(s.targets.length), y: s.targets,
          line: { color: '#1d2430', width: 3 },
          hovertemplate: 'step %{x}: target %{y:.3f}<extra></extra>',
        },
      );
    }
    /** @type {any[]} */
    const grads = [];
    for (const [id, v] of this.runs()) {
      const l = this.legend(id);
      const color = l?.color ?? '#000';
      const name = l?.name ?? id;
      traces.push({
        type: 'scatter', mode: adding ? 'markers' : 'lines+markers', name, meta: { kind: 'prediction', run: id },
        x: range(v.prediction.length), y: v.prediction,
        marker: { color, size: adding ? 9 : 5 }, line: { color, width: 2 },
        hovertemplate: `${name}<br>${adding ? 'sequence' : 'step'} %{x}: predicted %{y:.3f}<extra></extra>`,
      });
      grads.push({
        type: 'scatter', mode: 'lines+markers', name, meta: { kind: 'grad', run: id },
        x: range(v.grad_norms.length), y: v.grad_norms.map((g) => (g > 0 ? g : null)),
        marker: { color, size: 5 }, line: { color, width: 2.2 },
        hovertemplate: `${name}<br>time step %{x}: ‖∂L/∂h‖ = %{y:.3g}<extra></extra>`,
      });
    }
    const predTitle = adding ? 'sum read out after the last step: target ▬, predicted ●' : 'one held-out sequence: input ┄, target ━, predicted';
    const predX = adding ? { title: { text: 'held-out sequence', standoff: 2 } } : { title: { text: 'time step', standoff: 2 } };
    drawFigure(this.predictionPlot, traces, layout(this.theme, predTitle, predX, {}), plotConfig(), this.theme);
    const gradTitle = 'gradient reaching each time step ‖∂L/∂h_t‖ (log)';
    const gradX = { title: { text: 'time step t (the loss is read at the end)', standoff: 2 }, range: [0.5, Math.max(this.steps, 2) + 0.5] };
    drawFigure(this.gradPlot, grads, layout(this.theme, gradTitle, gradX, { type: 'log', exponentformat: 'power' }), plotConfig(), this.theme);
  }

  /** Redraw if shown (after a layout change). */
  invalidate() {
    this.schedule();
  }
}
