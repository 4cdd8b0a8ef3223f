// @ts-check
/**
 * Small helpers over the global Plotly (loaded from the local /vendor route by a classic script):
 * the shared config, resizing the plots shown, and appending only the new points of each track with one extendTraces call.
 */

/** @returns {any} window.Plotly */
export function plotly() {
  const P = /** @type {any} */ (window).Plotly;
  if (!P) throw new Error('plotly.js did not load');
  return P;
}

/** @param {string[]} buttons  modebar buttons to keep */
export function plotConfig(buttons = []) {
  return {
    responsive: true,
    displaylogo: false,
    displayModeBar: buttons.length > 0,
    modeBarButtons: buttons.length ? [buttons] : undefined,
    scrollZoom: false,
    doubleClick: false,
    showTips: false,
  };
}

/** Fit every plot that is shown to its box (plots that were hidden keep their old size). */
export function resizePlots() {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    if (/** @type {HTMLElement} */ (gd).offsetParent) plotly().Plots.resize(gd);
  }
}

/** Base font and colours: dark on light, larger on big screens (a projector at the back). */
export const FONT = {
  family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  size: window.innerWidth >= 1600 ? 15 : 13,
  color: '#1d2430',
};

/**
 * Collects the arrays of one extendTraces call.
 * Keys are attribute names ("x", "y", "z"); `limit` -1 keeps every point, n keeps the last n.
 */
export class Extension {
  /** @param {string[]} keys */
  constructor(keys) {
    this.keys = keys;
    /** @type {number[]} */
    this.indices = [];
    /** @type {Record<string, unknown[][]>} */
    this.update = Object.fromEntries(keys.map((k) => [k, []]));
    /** @type {number[]} */
    this.limits = [];
  }

  /**
   * @param {number} traceIndex
   * @param {Record<string, unknown[]>} arrays  one array per key, all the same length
   * @param {number} [limit]
   */
  add(traceIndex, arrays, limit = -1) {
    this.indices.push(traceIndex);
    for (const k of this.keys) this.update[k].push(arrays[k]);
    this.limits.push(limit);
  }

  get empty() {
    return this.indices.length === 0;
  }

  /** @param {HTMLElement} gd @returns {Promise<unknown> | undefined} */
  apply(gd) {
    if (this.empty) return undefined;
    const maxPoints = Object.fromEntries(this.keys.map((k) => [k, this.limits]));
    return plotly().extendTraces(gd, this.update, this.indices, maxPoints);
  }
}

/** @returns {Promise<void>} resolves once the browser has painted what is drawn now */
export function afterPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}
