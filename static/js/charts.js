// @ts-check
/**
 * A chart of one series of every run against the step: the loss (log y when the surface is
 * non-negative) or the gradient norm (log y). Marks show where live changes and events happened.
 */
import { PathView } from './pathview.js';
import { plotly } from './plotkit.js';
import { chartLayout, gridAxis } from './figure.js';
import { MARK_SYMBOLS } from './contour.js';
import { YRange, hasDiverged, logTicks } from './yrange.js';

/** @typedef {import('./store.js').RunStore} RunStore */
/** @typedef {import('./store.js').Track} Track */
/** @typedef {import('./plotkit.js').Extension} Extension */
/** @typedef {import('./theme.js').Theme} Theme */

const MARKS = 0;
const FIRST_RUN = 1;

/** @param {number} from @param {number} to @returns {number[]} */
const steps = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Show a view's new y range (its `yrange.shown`), with no other update of the view meanwhile.
 * @param {PathView & {yrange: YRange}} view
 * @param {boolean} log
 */
export async function relayoutRange(view, log) {
  const r = view.yrange.shown;
  if (!r) return;
  view.busy = true;
  try {
    await plotly().relayout(view.gd, { 'yaxis.range': [...r], 'yaxis.autorange': false, 'yaxis.dtick': (log && logTicks(r)) || null });
  } finally {
    view.busy = false;
  }
}

export class SeriesView extends PathView {
  /**
   * @param {HTMLElement} gd
   * @param {'loss' | 'gnorm'} series
   * @param {string} title
   * @param {Theme} [theme]
   */
  constructor(gd, series, title, theme) {
    super(gd, ['x', 'y'], [], theme);
    this.series = series;
    this.title = title;
    this.logY = true;
    this.yrange = new YRange();
  }

  /** @param {RunStore} store */
  seriesOf(store) {
    return store.tracks.map((t) => ({ key: t.id, diverged: hasDiverged(t) }));
  }

  /** @returns {Record<string, unknown>} the y axis for the range shown */
  axisRange() {
    const r = this.yrange.shown;
    return r ? { range: [...r], autorange: false, dtick: this.logY ? logTicks(r) : undefined } : { autorange: true };
  }

  /** @param {RunStore} store */
  async update(store) {
    await super.update(store);
    if (!(/** @type {any} */ (this.gd).layout) || this.busy || !this.visible) return;
    if (!this.yrange.next(this.seriesOf(store), this.logY)) return;
    this.marksVersion = -1; // marks pinned to the old range move to the new edge
    await relayoutRange(this, this.logY);
  }

  /** @param {RunStore} store */
  async redraw(store) {
    this.yrange.clear();
    for (const t of store.tracks) this.yrange.add(t.id, t[this.series], 0, this.logY);
    this.yrange.next(this.seriesOf(store), this.logY);
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
        .filter((e) => e.k >= 0 && e.v !== null && e.v !== undefined && (!this.logY || e.v > 0)),
    );
    return {
      index: MARKS,
      trace: {
        x: marks.map((e) => e.k),
        y: marks.map((e) => this.yrange.pin(/** @type {number} */ (e.v), this.logY)),
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
      ...chartLayout(this.theme, this.title),
      yaxis: gridAxis(this.theme, { type: this.logY ? 'log' : 'linear', exponentformat: 'power', ...this.axisRange() }),
      uirevision: `${this.series}-${this.logY}`,
    };
  }

  /** @param {Extension} ext @param {Track} track @param {number} index @param {number} from */
  extendTrack(ext, track, index, from) {
    const values = track[this.series];
    this.yrange.add(track.id, values, from, this.logY);
    ext.add(FIRST_RUN + index, { x: steps(from, track.length), y: values.slice(from) });
  }
}
