// @ts-check
/**
 * The plots' presenter theme: every figure a view draws passes through it while it is on, so a
 * full redraw (a new race, a new surface, a resize) keeps the large type and thick lines. Fonts,
 * margins, line widths and marker sizes are scaled; text turns black and grid lines darker.
 * Views are left as they are: their figure-building methods are wrapped on the instance.
 */

/** How much larger things get in presenter mode. */
export const PRESENTER_SCALE = { font: 1.7, line: 2.4, marker: 1.6, margin: 1.6 };

/** Ink of every label in presenter mode: black on white survives a washed-out projector. */
export const PRESENTER_INK = '#000000';
const GRID = '#aab2bf';
const CONTOUR_LINES = 'rgba(10, 15, 25, 0.5)';
/** Font size of a figure that sets none (Plotly's default). */
const PLOTLY_FONT = 12;

/** Methods whose result is a figure's layout, traces, or the trace of marks ({index, trace}). */
const LAYOUTS = ['layout', 'backgroundLayout'];
const TRACES = ['traces', 'backgroundTraces', 'planeTraces', 'curveTraces'];
const MARKS = ['marks'];

/** @param {unknown} v @param {number} k */
function scaled(v, k) {
  if (typeof v === 'number') return v * k;
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'number' ? x * k : x));
  return v;
}

/** @param {unknown} v @returns {v is Record<string, any>} */
function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class PlotTheme {
  constructor() {
    this.on = false;
    /** objects this theme made: never scaled twice (a view's traces may include its marks) */
    this.made = new WeakSet();
  }

  /**
   * Route a view's figures through the theme.
   * @param {any} view
   */
  follow(view) {
    for (const name of [...LAYOUTS, ...TRACES, ...MARKS]) {
      const own = view[name];
      if (typeof own !== 'function') continue;
      const call = own.bind(view);
      view[name] = (/** @type {unknown[]} */ ...args) => {
        const out = call(...args);
        if (!this.on || out === null || out === undefined) return out;
        if (LAYOUTS.includes(name)) return this.layout(out);
        if (TRACES.includes(name)) return out.map((/** @type {any} */ t) => this.trace(t));
        return { ...out, trace: this.trace(out.trace) };
      };
    }
  }

  /**
   * @template {object} T
   * @param {T} o
   * @returns {T}
   */
  mark(o) {
    this.made.add(o);
    return o;
  }

  /**
   * A trace with thicker lines, larger markers and a larger colour bar; its data untouched.
   * @param {Record<string, any>} trace
   */
  trace(trace) {
    if (!isObject(trace) || this.made.has(trace)) return trace;
    const S = PRESENTER_SCALE;
    const t = { ...trace };
    const line = t.line;
    if (isObject(line) && !this.made.has(line)) {
      t.line = this.mark({ ...line, width: scaled(line.width ?? 2, S.line) });
      if (t.type === 'contour') t.line.color = CONTOUR_LINES;
    }
    const marker = t.marker;
    if (isObject(marker) && !this.made.has(marker)) {
      const edge = isObject(marker.line) ? { ...marker.line, width: scaled(marker.line.width, S.marker) } : marker.line;
      t.marker = this.mark({ ...marker, size: scaled(marker.size, S.marker), line: edge });
    }
    if (isObject(t.colorbar)) {
      const tickfont = t.colorbar.tickfont ?? {};
      t.colorbar = {
        ...t.colorbar,
        thickness: scaled(t.colorbar.thickness ?? 30, S.margin),
        tickfont: { ...tickfont, size: (tickfont.size ?? PLOTLY_FONT) * S.font, color: PRESENTER_INK },
      };
    }
    return this.mark(t);
  }

  /**
   * A layout with every font larger and black, margins wider to hold them, grids darker.
   * @param {Record<string, any>} layout
   */
  layout(layout) {
    const out = this.walk(layout, '');
    if (!isObject(layout.font)) out.font = { size: PLOTLY_FONT * PRESENTER_SCALE.font, color: PRESENTER_INK };
    return out;
  }

  /**
   * @param {Record<string, any>} node
   * @param {string} key  of this node in its parent
   * @returns {Record<string, any>}
   */
  walk(node, key) {
    /** @type {Record<string, any>} */
    const out = {};
    for (const [k, v] of Object.entries(node)) out[k] = isObject(v) ? this.walk(v, k) : v;
    const S = PRESENTER_SCALE;
    if (key === 'font' || key === 'tickfont') {
      out.size = (typeof node.size === 'number' ? node.size : PLOTLY_FONT) * S.font;
      out.color = PRESENTER_INK;
    } else if (key === 'margin') {
      for (const side of ['l', 'r', 't', 'b']) if (typeof node[side] === 'number') out[side] = Math.round(node[side] * S.margin);
    }
    if (typeof out.gridcolor === 'string') out.gridcolor = GRID;
    return out;
  }
}
