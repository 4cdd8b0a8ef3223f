// @ts-check
/**
 * What the views' figures share: the layout every figure starts from (the theme's font and
 * paper, no legend, no drag, hover as the theme says), a chart's axes and title, and the one call
 * that draws a figure, through its view's theme (theme.js).
 */
import { plotly } from './plotkit.js';
import { styleLayout, styleTrace, styleTraces } from './theme.js';

/** @typedef {import('./theme.js').Theme} Theme */
/** @typedef {{l: number, r: number, t: number, b: number, autoexpand?: boolean}} Margin */

/**
 * The start of every figure's layout.
 * @param {Theme} theme
 * @param {Margin} margin
 * @param {{transparent?: boolean}} [options]  transparent: a plot stacked over another
 */
export function baseLayout(theme, margin, { transparent = false } = {}) {
  const paper = transparent ? 'rgba(0,0,0,0)' : theme.paper;
  return {
    font: theme.font,
    margin,
    paper_bgcolor: paper,
    plot_bgcolor: paper,
    showlegend: false,
    dragmode: /** @type {const} */ (false),
    hovermode: theme.hover ? 'closest' : /** @type {const} */ (false),
  };
}

/**
 * An axis with grid lines in the theme's colour and no zero line.
 * @param {Theme} theme
 * @param {Record<string, unknown>} [more]  the rest of the axis (its title, range, ...)
 */
export function gridAxis(theme, more = {}) {
  return { gridcolor: theme.grid.chart, zeroline: false, ...more };
}

/** @param {string} text @param {number} standoff  px between the ticks and the title */
export function axisTitle(text, standoff) {
  return { text, standoff };
}

/** Margins of the charts under the main figure. */
const CHART_MARGIN = { l: 58, r: 14, t: 30, b: 38 };

/**
 * A chart of every run against the step, its title at the top left, a little smaller type.
 * @param {Theme} theme
 * @param {string} title
 */
export function chartLayout(theme, title) {
  const size = theme.font.size;
  return {
    ...baseLayout(theme, CHART_MARGIN),
    font: { ...theme.font, size: size - 1 },
    title: { text: title, x: 0.01, xanchor: 'left', y: 0.97, font: { size } },
    xaxis: gridAxis(theme, { title: axisTitle('step', 2), rangemode: 'tozero' }),
  };
}

/**
 * Draw a figure in full (Plotly.react: the zoom and camera stay through `uirevision`).
 * @param {HTMLElement} gd
 * @param {object[]} traces
 * @param {Record<string, any>} layout
 * @param {object} config
 * @param {Theme} theme
 * @returns {Promise<unknown>}
 */
export function drawFigure(gd, traces, layout, config, theme) {
  return plotly().react(gd, styleTraces(traces, theme), styleLayout(layout, theme), config);
}

/**
 * Restyle one trace with new attributes (its marks, say), sized by the theme.
 * @param {HTMLElement} gd
 * @param {number} index
 * @param {Record<string, unknown>} trace
 * @param {Theme} theme
 * @returns {Promise<unknown>}
 */
export function restyleTrace(gd, index, trace, theme) {
  /** @type {Record<string, unknown[]>} */
  const update = {};
  for (const [k, v] of Object.entries(styleTrace(trace, theme))) update[k] = [v];
  return plotly().restyle(gd, update, [index]);
}
