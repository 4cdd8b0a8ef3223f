// @ts-check
/**
 * The surface under the contour view's paths: filled contours with a colour bar and the known
 * minima as stars, on a plot that carries the axes. The paths' plot on top shares its layout
 * (stackedLayout), so the two plot areas coincide.
 */
import { axisTitle, baseLayout } from './figure.js';
import { SURFACE_COLORSCALE } from './palette.js';
import { AXIS_PAD } from './api.js';

/** @typedef {import('./api.js').Grid} Grid */
/** @typedef {import('./palette.js').ValueScale} ValueScale */
/** @typedef {import('./theme.js').Theme} Theme */

/**
 * @typedef {Object} Surface  everything the views need to draw one surface
 * @property {string} key  changes when the surface or its parameters change
 * @property {string} title
 * @property {Grid} grid
 * @property {ValueScale} scale
 * @property {[[number, number], [number, number]]} domain
 * @property {[number, number, number][]} minima
 * @property {[string, string]} [axes]  axis titles; "x" and "y" by default
 */

/** @param {[number, number]} span @returns {[number, number]} the axis range around a domain's side */
function padded([lo, hi]) {
  const d = AXIS_PAD * (hi - lo);
  return [lo - d, hi + d];
}

/**
 * What the two stacked plots share, so that their plot areas coincide: fixed margins (never
 * pushed by a colour bar or a legend), the same axis ranges and equal scales on both axes.
 * @param {Surface} s
 * @param {boolean} compact  a small plot: no colour bar, narrower margins
 * @param {Theme} theme
 */
export function stackedLayout(s, compact, theme) {
  const margin = compact ? { l: 40, r: 12, t: 10, b: 42 } : { l: 58, r: 86, t: 12, b: 42 };
  return {
    ...baseLayout(theme, { ...margin, autoexpand: false }, { transparent: true }),
    xaxis: { range: padded(s.domain[0]), autorange: false, showgrid: false, zeroline: false, constrain: 'domain' },
    yaxis: {
      range: padded(s.domain[1]),
      autorange: false,
      showgrid: false,
      zeroline: false,
      scaleanchor: 'x',
      scaleratio: 1,
      constrain: 'domain',
    },
    uirevision: s.key,
  };
}

/**
 * @param {Surface} s
 * @param {boolean} compact
 */
export function surfaceTraces(s, compact) {
  const z = s.grid.z.map((row) => row.map(s.scale.apply));
  return [
    {
      type: 'contour',
      x: s.grid.x,
      y: s.grid.y,
      z,
      colorscale: SURFACE_COLORSCALE,
      ncontours: 28,
      contours: { coloring: 'fill', showlines: true },
      line: { color: 'rgba(40, 55, 75, 0.28)', width: 0.6, smoothing: 0.6 },
      showscale: !compact,
      colorbar: {
        thickness: 12,
        x: 1.015,
        xanchor: 'left',
        len: 1,
        outlinewidth: 0,
        tickvals: s.scale.tickvals,
        ticktext: s.scale.ticktext,
        tickfont: { size: 11 },
      },
      hoverinfo: 'skip',
    },
    {
      type: 'scatter',
      mode: 'markers',
      x: s.minima.map((m) => m[0]),
      y: s.minima.map((m) => m[1]),
      marker: { symbol: 'star', size: 15, color: '#ffd23f', line: { color: '#1d2430', width: 1.2 } },
      hoverinfo: 'skip',
    },
  ];
}

/**
 * The surface plot carries the axes: they change only with the zoom, so the plot of the paths
 * on top, redrawn at every frame, does not redraw ticks and labels too.
 * @param {Surface} s
 * @param {boolean} compact
 * @param {Theme} theme
 * @param {{x: number[], y: number[]} | null} zoom  the paths' current ranges, to keep
 */
export function surfaceLayout(s, compact, theme, zoom) {
  const layout = stackedLayout(s, compact, theme);
  return {
    ...layout,
    paper_bgcolor: theme.paper,
    xaxis: {
      ...layout.xaxis,
      ...(zoom ? { range: [...zoom.x] } : {}),
      title: axisTitle(s.axes?.[0] ?? 'x', 4),
      ticks: 'outside',
    },
    yaxis: {
      ...layout.yaxis,
      ...(zoom ? { range: [...zoom.y] } : {}),
      title: axisTitle(s.axes?.[1] ?? 'y', 4),
      ticks: 'outside',
    },
  };
}
