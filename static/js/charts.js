// @ts-check
/**
 * A chart of one series of every run against the step: the loss (log y when the surface is
 * non-negative) or the gradient norm (log y). Marks show where live changes and events happened.
 */
import { PathView } from './pathview.js';
import { FONT, plotly } from './plotkit.js';
import { MARK_SYMBOLS } from './contour.js';

/** @typedef {import('./store.js').RunStore} RunStore */
/** @typedef {import('./store.js').Track} Track */
/** @typedef {import('./plotkit.js').Extension} Extension */

const MARKS = 0;
const FIRST_RUN = 1;

/** @param {number} from @param {number} to @returns {number[]} */
const steps = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

export class SeriesView extends PathView {
  /**
   * @param {HTMLElement} gd
   * @param {'loss' | 'gnorm'} series
   * @param {string} title
   */
  constructor(gd, series, title) {
    super(gd, ['x', 'y'], []);
    this.series = series;
    this.title = title;
    this.logY = true;
    /** decades spanned by the values drawn so far, for the tick spacing of the log axis */
    this.lo = Infinity;
    this.hi = -Infinity;
    this.dtick = /** @type {number | string | undefined} */ (undefined);
  }

  /**
   * Log ticks: every decade when the values span a few, 1-2-5 within one or two, so the axis
   * always has a few labels and never a crowd of them.
   */
  tickSpacing() {
    if (!this.logY || !Number.isFinite(this.hi - this.lo)) return undefined;
    const decades = this.hi - this.lo;
    if (decades < 1.5) return 'D2';
    return Math.max(1, Math.ceil(decades / 7));
  }

  /** @param {(number | null)[]} values */
  widen(values) {
    for (const v of values) {
      if (v === null || !(v > 0)) continue;
      const d = Math.log10(v);
      if (d < this.lo) this.lo = d;
      if (d > this.hi) this.hi = d;
    }
  }

  /** @param {RunStore} store */
  async update(store) {
    await super.update(store);
    const dtick = this.tickSpacing();
    if (dtick !== this.dtick && /** @type {any} */ (this.gd).layout && !this.busy) {
      this.dtick = dtick;
      await plotly().relayout(this.gd, { 'yaxis.dtick': dtick ?? null });
    }
  }

  /** @param {RunStore} store */
  async redraw(store) {
    this.lo = Infinity;
    this.hi = -Infinity;
    for (const t of store.tracks) this.widen(t[this.series]);
    this.dtick = this.tickSpacing();
    await super.redraw(store);
  }

  /** @param {boolean} logY */
  setLogY(logY) {
    if (logY !== this.logY) this.invalidate();
    this.logY = logY;
  }

  /** @param {RunStore} store */
  marks(store) {
    const marks = store.tracks.flatMap((t, i) =>
      t.marks
        .map((m) => {
          const k = Math.min(m.kind === 'set' ? m.step - 1 : m.step, t.length - 1);
          return { m, i, k, v: t[this.series][k] };
        })
        .filter((e) => e.k >= 0 && e.v !== null && e.v !== undefined),
    );
    return {
      index: MARKS,
      trace: {
        x: marks.map((e) => e.k),
        y: marks.map((e) => e.v),
        text: marks.map((e) => e.m.text),
        marker: {
          symbol: marks.map((e) => MARK_SYMBOLS[e.m.kind]),
          size: 10,
          color: marks.map((e) => this.legends[e.i]?.color ?? '#000'),
          line: { color: '#ffffff', width: 1 },
        },
      },
    };
  }

  /** @param {RunStore} store */
  traces(store) {
    return [
      {
        type: 'scatter',
        mode: 'markers',
        meta: { kind: 'marks' },
        ...this.marks(store).trace,
        hovertemplate: '%{text}<extra></extra>',
        showlegend: false,
      },
      ...store.tracks.map((t, i) => ({
        type: 'scatter',
        mode: 'lines',
        name: this.legends[i]?.name ?? t.id,
        meta: { kind: 'path', run: t.id },
        x: steps(0, t.length),
        y: [...t[this.series]],
        line: { color: this.legends[i]?.color ?? '#000', width: 2 },
        hovertemplate: `${this.legends[i]?.name ?? t.id}<br>step %{x}: %{y:.4g}<extra></extra>`,
      })),
    ];
  }

  layout() {
    return {
      font: { ...FONT, size: FONT.size - 1 },
      margin: { l: 58, r: 14, t: 30, b: 38 },
      paper_bgcolor: '#ffffff',
      plot_bgcolor: '#ffffff',
      title: { text: this.title, x: 0.01, xanchor: 'left', y: 0.97, font: { size: FONT.size } },
      showlegend: false,
      hovermode: 'closest',
      dragmode: false,
      xaxis: { title: { text: 'step', standoff: 2 }, gridcolor: '#eceff3', zeroline: false, rangemode: 'tozero' },
      yaxis: {
        type: this.logY ? 'log' : 'linear',
        gridcolor: '#eceff3',
        zeroline: false,
        exponentformat: 'power',
        dtick: this.dtick,
      },
      uirevision: `${this.series}-${this.logY}`,
    };
  }

  /** @param {Extension} ext @param {Track} track @param {number} index @param {number} from */
  extendTrack(ext, track, index, from) {
    const values = track[this.series].slice(from);
    this.widen(values);
    ext.add(FIRST_RUN + index, { x: steps(from, track.length), y: values });
  }
}
