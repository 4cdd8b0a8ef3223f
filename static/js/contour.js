// @ts-check
/**
 * The contour view: two plots stacked in one box. Underneath, the surface (contours, colour bar,
 * known minima), drawn once per surface; on top, on a transparent plot with the same margins and
 * axis ranges, the runs' paths. Only the top plot is redrawn as points arrive, so a 30 frame/s
 * race does not recompute the contours 30 times a second. Zoom buttons act on the top plot and the
 * surface follows. A click or tap on the plot area picks a start point.
 */
import { PathView } from './pathview.js';
import { plotConfig, plotly } from './plotkit.js';
import { drawFigure } from './figure.js';
import { listenForPicks } from './contourpick.js';
import { stackedLayout, surfaceLayout, surfaceTraces } from './surfaceplot.js';

/** @typedef {import('./store.js').RunStore} RunStore */
/** @typedef {import('./store.js').Track} Track */
/** @typedef {import('./plotkit.js').Extension} Extension */
/** @typedef {import('./theme.js').Theme} Theme */

/** @typedef {import('./surfaceplot.js').Surface} Surface */

// Traces of the plot on top, in order: the start ring, the marks, the heads, then one path per run.
const MARKS = 1;
const HEADS = 2;
const FIRST_PATH = 3;

/** Symbols of the marks on a path, by kind. */
export const MARK_SYMBOLS = {
  set: 'diamond',
  diverged: 'x-thin-open',
  finished: 'square-open',
  converged: 'star-open',
};

/** Below this width or height (px) the plot drops its colour bar and narrows its margins. */
const COMPACT_WIDTH = 560;
const COMPACT_HEIGHT = 300;

export class ContourView extends PathView {
  /**
   * @param {HTMLElement} background
   * @param {HTMLElement} overlay
   * @param {(x: number, y: number) => void} onPick  a click or tap on the plot area
   * @param {Theme} [theme]
   */
  constructor(background, overlay, onPick, theme) {
    super(overlay, ['x', 'y'], ['zoomIn2d', 'zoomOut2d', 'resetScale2d'], theme);
    this.background = background;
    /** @type {Surface | null} */
    this.surface = null;
    /** @type {[number, number] | null} */
    this.start = null;
    this.compact = false;
    this.listening = false;
    this.placing = false;
    listenForPicks(overlay, onPick);
    new ResizeObserver(() => {
      if (this.isCompact() !== this.compact) this.invalidate();
    }).observe(overlay);
  }

  isCompact() {
    return this.gd.clientWidth < COMPACT_WIDTH || this.gd.clientHeight < COMPACT_HEIGHT;
  }

  ready() {
    return this.surface !== null;
  }

  /** @param {Surface} surface */
  async setSurface(surface) {
    const drawn = surface === this.surface && this.isCompact() === this.compact;
    if (drawn && /** @type {any} */ (this.background).data) {
      this.invalidate(); // the page's first surface, shown a second time: nothing to redraw
      return;
    }
    this.surface = surface;
    this.compact = this.isCompact();
    await this.drawBackground(false);
    if (!this.placing) {
      this.placing = true;
      /** @type {any} */ (this.background).on('plotly_afterplot', () => this.placeColorbar());
    }
    this.placeColorbar();
    this.invalidate();
  }

  /**
   * The surface underneath, in the view's theme.
   * @param {boolean} keepZoom  keep the current zoom of the paths (same surface, new size or theme)
   */
  drawBackground(keepZoom) {
    const s = /** @type {Surface} */ (this.surface);
    const config = { ...plotConfig(), staticPlot: true };
    const fg = /** @type {any} */ (this.gd).layout;
    const zoom = keepZoom && fg?.xaxis?.range && fg?.yaxis?.range ? { x: fg.xaxis.range, y: fg.yaxis.range } : null;
    const layout = surfaceLayout(s, this.compact, this.theme, zoom);
    return drawFigure(this.background, surfaceTraces(s, this.compact), layout, config, this.theme);
  }

  /**
   * The paths and the surface underneath are drawn again in `theme`.
   * @param {Theme} theme
   */
  async setTheme(theme) {
    super.setTheme(theme);
    if (this.surface && /** @type {any} */ (this.background).data) await this.drawBackground(true);
  }

  /**
   * Equal axis scales leave the plot narrower than its box: keep the colour bar beside the plot,
   * not at the far edge of the box.
   */
  placeColorbar() {
    const bg = /** @type {any} */ (this.background);
    const end = bg._fullLayout?.xaxis?.domain?.[1];
    const trace = bg.data?.[0];
    if (end === undefined || !trace?.showscale) return;
    const x = Math.round((end + 0.015) * 1000) / 1000;
    if (trace.colorbar?.x !== x) plotly().restyle(bg, { 'colorbar.x': x }, [0]);
  }

  /** No surface (a network race before its landscape arrives): both plots emptied. */
  clear() {
    this.surface = null;
    plotly().purge(this.background);
    plotly().purge(this.gd);
    this.listening = false;
    this.placing = false;
    this.invalidate();
  }

  /** @param {[number, number]} start */
  setStart(start) {
    this.start = start;
    this.invalidate();
  }

  layout() {
    const s = /** @type {Surface} */ (this.surface);
    const layout = stackedLayout(s, this.compact, this.theme);
    return {
      ...layout,
      xaxis: { ...layout.xaxis, visible: false },
      yaxis: { ...layout.yaxis, visible: false },
      hoverlabel: { font: { size: 13 } },
      modebar: { bgcolor: 'rgba(255,255,255,0.75)', color: '#4a5566', activecolor: '#1f4fd1' },
    };
  }

  /** @param {RunStore} store */
  marks(store) {
    const legends = this.legends;
    const marks = store.tracks.flatMap((t, i) =>
      t.marks
        .map((m) => ({ m, p: pointAt(t, m.kind === 'set' ? m.step - 1 : m.step), i }))
        .filter((e) => e.p !== null),
    );
    return {
      index: MARKS,
      trace: {
        x: this.clip(marks.map((e) => /** @type {number[]} */ (e.p)[0]), 0),
        y: this.clip(marks.map((e) => /** @type {number[]} */ (e.p)[1]), 1),
        text: marks.map((e) => e.m.text),
        marker: {
          symbol: marks.map((e) => MARK_SYMBOLS[e.m.kind]),
          size: marks.map((e) => (e.m.kind === 'set' ? 11 : 15)),
          color: marks.map((e) => legends[e.i]?.color ?? '#000'),
          line: { color: '#ffffff', width: marks.map((e) => (e.m.kind === 'set' ? 1.5 : 3)) },
        },
      },
    };
  }

  /** @param {RunStore} store */
  traces(store) {
    const legends = this.legends;
    const heads = store.tracks.map((t) => t.head());
    return [
      {
        type: 'scatter',
        mode: 'markers',
        name: 'start',
        meta: { kind: 'start' },
        x: this.start ? [this.start[0]] : [],
        y: this.start ? [this.start[1]] : [],
        marker: { symbol: 'circle-open', size: 14, color: '#1d2430', line: { width: 2.5 } },
        hovertemplate: 'start (%{x:.3g}, %{y:.3g})<extra></extra>',
        showlegend: false,
      },
      {
        type: 'scatter',
        mode: 'markers',
        name: 'marks',
        meta: { kind: 'marks' },
        ...this.marks(store).trace,
        hovertemplate: '%{text}<extra></extra>',
        showlegend: false,
      },
      {
        type: 'scatter',
        mode: 'markers',
        name: 'heads',
        meta: { kind: 'heads' },
        x: this.clip(heads.map((h) => (h ? h[0] : null)), 0),
        y: this.clip(heads.map((h) => (h ? h[1] : null)), 1),
        marker: {
          size: 11,
          color: store.tracks.map((_, i) => legends[i]?.color ?? '#000'),
          line: { color: '#ffffff', width: 2 },
        },
        hoverinfo: 'skip',
        showlegend: false,
      },
      ...store.tracks.map((t, i) => ({
        type: 'scatter',
        mode: 'lines',
        name: legends[i]?.name ?? t.id,
        meta: { kind: 'path', run: t.id },
        x: this.clip(t.x, 0),
        y: this.clip(t.y, 1),
        line: { color: legends[i]?.color ?? '#000', width: 2.5 },
        hovertemplate: `${legends[i]?.name ?? t.id}<br>step %{pointNumber}<br>(%{x:.4g}, %{y:.4g})<extra></extra>`,
      })),
    ];
  }

  /** @param {Extension} ext @param {Track} track @param {number} index @param {number} from */
  extendTrack(ext, track, index, from) {
    ext.add(FIRST_PATH + index, { x: this.clip(track.x.slice(from), 0), y: this.clip(track.y.slice(from), 1) });
  }

  /**
   * Coordinates kept within ten plot widths of the surface's domain: a run that left the plot
   * for 1e150 still leaves it, but no marker is placed where SVG cannot write the number.
   * @param {(number | null)[]} values
   * @param {0 | 1} axis
   * @returns {(number | null)[]}
   */
  clip(values, axis) {
    const d = this.surface?.domain[axis];
    if (!d) return [...values];
    const far = 10 * (d[1] - d[0]);
    const lo = d[0] - far;
    const hi = d[1] + far;
    return values.map((v) => (v === null ? null : Math.min(hi, Math.max(lo, v))));
  }

  /** @param {Extension} ext @param {RunStore} store */
  extendExtras(ext, store) {
    const heads = store.tracks.map((t) => t.head());
    ext.add(
      HEADS,
      { x: this.clip(heads.map((h) => (h ? h[0] : null)), 0), y: this.clip(heads.map((h) => (h ? h[1] : null)), 1) },
      heads.length,
    );
  }

  /** @param {RunStore} store */
  async redraw(store) {
    const compact = this.isCompact();
    if (compact !== this.compact && this.surface) {
      this.compact = compact;
      await this.drawBackground(true);
    }
    await super.redraw(store);
    if (!this.listening) {
      // Keep the surface underneath at the zoom of the paths on top.
      this.listening = true;
      /** @type {any} */ (this.gd).on('plotly_relayout', () => this.syncBackgroundRange());
    }
  }

  syncBackgroundRange() {
    const fg = /** @type {any} */ (this.gd).layout;
    const bg = /** @type {any} */ (this.background).layout;
    if (!fg?.xaxis?.range || !bg) return;
    const same =
      JSON.stringify([fg.xaxis.range, fg.yaxis.range]) ===
      JSON.stringify([bg.xaxis?.range, bg.yaxis?.range]);
    if (!same) {
      plotly().relayout(this.background, {
        'xaxis.range': [...fg.xaxis.range],
        'yaxis.range': [...fg.yaxis.range],
      });
    }
  }
}

/**
 * @param {Track} t
 * @param {number} step
 * @returns {[number, number] | null}
 */
function pointAt(t, step) {
  const k = Math.min(Math.max(step, 0), t.length - 1);
  const x = t.x[k];
  const y = t.y[k];
  return x === null || y === null || x === undefined || y === undefined ? null : [x, y];
}
