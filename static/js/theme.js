// @ts-check
/**
 * The plots' themes, as objects a view is given (at construction and by `setTheme`): the base
 * font and colours every figure starts from (figure.js builds layouts from them), whether points
 * answer to hover, and how much larger type, lines, markers and margins get. The normal theme
 * leaves a view's own sizes as they are; the presenter theme, for a lecture hall, scales them
 * and turns every label black and the grid lines darker. `styleTraces` and `styleLayout` apply a
 * theme to a figure a view built; figure.js calls them as it draws, so no view is patched.
 */
import { FONT } from './plotkit.js';

/**
 * @typedef {Object} Theme
 * @property {'normal' | 'presenter'} name
 * @property {{family: string, size: number, color: string}} font  of a figure, before scaling
 * @property {string} paper  background of the figures
 * @property {{chart: string, scene: string}} grid  grid lines of a chart's axes and of the 3D box
 * @property {boolean} hover  points and paths show their values under the pointer
 * @property {{font: number, line: number, marker: number, margin: number}} scale
 * @property {string | null} ink  colour of every label (null: each keeps its own)
 * @property {string | null} contourLines  colour of every contour line (null: each keeps its own)
 */

/** @type {Theme} */
export const NORMAL_THEME = Object.freeze({
  name: 'normal',
  font: FONT,
  paper: '#ffffff',
  grid: { chart: '#eceff3', scene: '#d5d9e0' },
  hover: true,
  scale: { font: 1, line: 1, marker: 1, margin: 1 },
  ink: null,
  contourLines: null,
});

/** Black on white survives a washed-out projector, where a dark theme turns grey. */
/** @type {Theme} */
export const PRESENTER_THEME = Object.freeze({
  name: 'presenter',
  font: FONT,
  paper: '#ffffff',
  grid: { chart: '#aab2bf', scene: '#aab2bf' },
  hover: true,
  scale: { font: 1.7, line: 2.4, marker: 1.6, margin: 1.6 },
  ink: '#000000',
  contourLines: 'rgba(10, 15, 25, 0.5)',
});

/** @param {boolean} presenting @returns {Theme} */
export function themeFor(presenting) {
  return presenting ? PRESENTER_THEME : NORMAL_THEME;
}

/** Font size of a figure that sets none (Plotly's default). */
const PLOTLY_FONT = 12;
/** Line width of a trace that sets none (Plotly's default for lines). */
const PLOTLY_LINE = 2;

/** @param {Theme} theme  whether it leaves a figure as its view built it */
function plain(theme) {
  const s = theme.scale;
  return s.font === 1 && s.line === 1 && s.marker === 1 && s.margin === 1 && !theme.ink && !theme.contourLines;
}

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

/**
 * @param {Record<string, any>} font
 * @param {Theme} theme
 */
function styleFont(font, theme) {
  const out = { ...font, size: (typeof font.size === 'number' ? font.size : PLOTLY_FONT) * theme.scale.font };
  if (theme.ink) out.color = theme.ink;
  return out;
}

/**
 * A trace in the theme: lines, markers and colour bar sized by it; its data untouched.
 * @param {Record<string, any>} trace
 * @param {Theme} theme
 * @returns {Record<string, any>}
 */
export function styleTrace(trace, theme) {
  if (!isObject(trace) || plain(theme)) return trace;
  const S = theme.scale;
  const t = { ...trace };
  if (isObject(t.line)) {
    t.line = { ...t.line, width: scaled(t.line.width ?? PLOTLY_LINE, S.line) };
    if (t.type === 'contour' && theme.contourLines) t.line.color = theme.contourLines;
  }
  const marker = t.marker;
  if (isObject(marker)) {
    const edge = isObject(marker.line) ? { ...marker.line, width: scaled(marker.line.width, S.marker) } : marker.line;
    t.marker = { ...marker, size: scaled(marker.size, S.marker), line: edge };
  }
  if (isObject(t.colorbar)) {
    t.colorbar = {
      ...t.colorbar,
      thickness: scaled(t.colorbar.thickness ?? 30, S.margin),
      tickfont: styleFont(t.colorbar.tickfont ?? {}, theme),
    };
  }
  return t;
}

/**
 * @param {object[]} traces
 * @param {Theme} theme
 */
export function styleTraces(traces, theme) {
  return plain(theme) ? traces : traces.map((t) => styleTrace(/** @type {Record<string, any>} */ (t), theme));
}

/**
 * A layout in the theme: every font sized (and inked) by it, margins widened to hold them.
 * @param {Record<string, any>} layout
 * @param {Theme} theme
 * @returns {Record<string, any>}
 */
export function styleLayout(layout, theme) {
  if (plain(theme)) return layout;
  const out = walk(layout, '', theme);
  if (!isObject(layout.font)) out.font = styleFont({}, theme);
  return out;
}

/**
 * @param {Record<string, any>} node
 * @param {string} key  of this node in its parent
 * @param {Theme} theme
 * @returns {Record<string, any>}
 */
function walk(node, key, theme) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = isObject(v) ? walk(v, k, theme) : v;
  if (key === 'font' || key === 'tickfont') return styleFont(out, theme);
  if (key === 'margin') {
    for (const side of ['l', 'r', 't', 'b']) {
      if (typeof node[side] === 'number') out[side] = Math.round(node[side] * theme.scale.margin);
    }
  }
  return out;
}
