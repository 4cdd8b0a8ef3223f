// @ts-check
/**
 * The 3D view: the surface (height in the same units as its colour, so log-coloured surfaces are
 * drawn in log height) with each run's path lifted a little above it. The camera the user chose
 * stays through data updates (`uirevision`), and resets only when the surface changes.
 */
import { PathView } from './pathview.js';
import { SURFACE_COLORSCALE } from './palette.js';

/** @typedef {import('./surfaceplot.js').Surface} Surface */
/** @typedef {import('./store.js').RunStore} RunStore */
/** @typedef {import('./store.js').Track} Track */
/** @typedef {import('./plotkit.js').Extension} Extension */
/** @typedef {import('./theme.js').Theme} Theme */

const HEADS = 2;
const FIRST_PATH = 3;

/** @type {boolean | undefined} */
let webgl;

/** @returns {boolean} whether this browser can draw WebGL at all (asked once) */
export function hasWebGL() {
  if (webgl === undefined) {
    try {
      const canvas = document.createElement('canvas');
      webgl = Boolean(canvas.getContext('webgl2') ?? canvas.getContext('webgl'));
    } catch {
      webgl = false;
    }
  }
  return webgl;
}

export class SurfaceView extends PathView {
  /** @param {HTMLElement} gd @param {Theme} [theme] */
  constructor(gd, theme) {
    super(gd, ['x', 'y', 'z'], ['resetCameraDefault3d'], theme);
    /** @type {Surface | null} */
    this.surface = null;
    this.lift = 0;
    /** @type {number[] | null} */
    this.zRange = null;
    this.visible = false;
  }

  ready() {
    return this.surface !== null;
  }

  /** @param {Surface} surface */
  setSurface(surface) {
    this.surface = surface;
    let lo = Infinity;
    let hi = -Infinity;
    for (const row of surface.grid.z) {
      for (const v of row) {
        const h = surface.scale.apply(v);
        if (h === null) continue;
        lo = Math.min(lo, h);
        hi = Math.max(hi, h);
      }
    }
    this.lift = Number.isFinite(hi - lo) ? (hi - lo) * 0.012 : 0;
    /** heights of paths that leave the surface (a diverging run) stop at the top of the box */
    this.zRange = Number.isFinite(hi - lo) ? [lo, hi + 4 * this.lift] : null;
    this.invalidate();
  }

  /**
   * The part of a path inside the box: a point that leaves the domain (a diverging run) becomes
   * a gap, so the line ends at the edge instead of stretching the box.
   * @param {Track} t
   * @param {number} from
   */
  inside(t, from) {
    const [[x0, x1], [y0, y1]] = /** @type {Surface} */ (this.surface).domain;
    const z = this.heights(t, from);
    const x = t.x.slice(from);
    const y = t.y.slice(from);
    for (let i = 0; i < x.length; i++) {
      const a = x[i];
      const b = y[i];
      if (a === null || b === null || a < x0 || a > x1 || b < y0 || b > y1) {
        x[i] = null;
        y[i] = null;
        z[i] = null;
      }
    }
    return { x, y, z };
  }

  /**
   * @param {Track} t
   * @returns {(number | null)[]} x, y, z of the newest point, nulls when outside the box
   */
  head(t) {
    if (!t.length) return [null, null, null];
    const p = this.inside(t, t.length - 1);
    return [p.x[0], p.y[0], p.z[0]];
  }

  /** @param {Track} t @param {number} from */
  heights(t, from) {
    const s = /** @type {Surface} */ (this.surface);
    const [lo, hi] = this.zRange ?? [-Infinity, Infinity];
    return t.loss.slice(from).map((v) => {
      const h = s.scale.apply(v);
      return h === null ? null : Math.min(Math.max(h + this.lift, lo), hi);
    });
  }

  /** @param {RunStore} store */
  traces(store) {
    const s = /** @type {Surface} */ (this.surface);
    const heads = store.tracks.map((t) => this.head(t));
    return [
      {
        type: 'surface',
        x: s.grid.x,
        y: s.grid.y,
        z: s.grid.z.map((row) => row.map(s.scale.apply)),
        colorscale: SURFACE_COLORSCALE,
        showscale: false,
        opacity: 0.95,
        contours: { z: { show: true, usecolormap: false, color: 'rgba(40,55,75,0.35)', width: 1 } },
        hoverinfo: 'skip',
      },
      {
        type: 'scatter3d',
        mode: 'markers',
        x: s.minima.map((m) => m[0]),
        y: s.minima.map((m) => m[1]),
        z: s.minima.map((m) => (s.scale.apply(m[2]) ?? 0) + this.lift),
        marker: { size: 5, color: '#ffd23f', line: { color: '#1d2430', width: 1 } },
        hoverinfo: 'skip',
        showlegend: false,
      },
      {
        type: 'scatter3d',
        mode: 'markers',
        x: heads.map((h) => h[0]),
        y: heads.map((h) => h[1]),
        z: heads.map((h) => h[2]),
        marker: { size: 5, color: store.tracks.map((_, i) => this.legends[i]?.color ?? '#000') },
        hoverinfo: 'skip',
        showlegend: false,
      },
      ...store.tracks.map((t, i) => ({
        type: 'scatter3d',
        mode: 'lines',
        name: this.legends[i]?.name ?? t.id,
        meta: { kind: 'path', run: t.id },
        ...this.inside(t, 0),
        line: { color: this.legends[i]?.color ?? '#000', width: 5 },
        hovertemplate: `${this.legends[i]?.name ?? t.id}<br>step %{pointNumber}<extra></extra>`,
      })),
    ];
  }

  layout() {
    const s = /** @type {Surface} */ (this.surface);
    const axis = { backgroundcolor: '#f6f7f9', gridcolor: this.theme.grid.scene, showspikes: false };
    // not the 2D figures' base layout: a scene takes its drag mode (rotation) from the layout's
    return {
      font: this.theme.font,
      margin: { l: 0, r: 0, t: 0, b: 0 },
      paper_bgcolor: this.theme.paper,
      showlegend: false,
      ...(this.theme.hover ? {} : { hovermode: false }),
      uirevision: s.key,
      scene: {
        uirevision: s.key,
        aspectmode: 'manual',
        aspectratio: { x: 1, y: 1, z: 0.6 },
        camera: { eye: { x: 1.45, y: -1.55, z: 1.05 } },
        xaxis: { ...axis, title: { text: 'x' }, range: [...s.domain[0]] },
        yaxis: { ...axis, title: { text: 'y' }, range: [...s.domain[1]] },
        zaxis: {
          ...axis,
          title: { text: s.scale.log ? 'log₁₀ f' : 'f' },
          ...(this.zRange ? { range: [...this.zRange] } : {}),
        },
      },
    };
  }

  /** @param {Extension} ext @param {Track} track @param {number} index @param {number} from */
  extendTrack(ext, track, index, from) {
    ext.add(FIRST_PATH + index, this.inside(track, from));
  }

  /** @param {Extension} ext @param {RunStore} store */
  extendExtras(ext, store) {
    const heads = store.tracks.map((t) => this.head(t));
    ext.add(
      HEADS,
      { x: heads.map((h) => h[0]), y: heads.map((h) => h[1]), z: heads.map((h) => h[2]) },
      heads.length,
    );
  }
}
