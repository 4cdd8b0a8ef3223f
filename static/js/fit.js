// @ts-check
/**
 * Keeps the plots on screen. The CSS sizes the main figure to the part of the first screen left
 * below whatever stands above it (toolbar, room panel, legend: see app.css), which it reads from
 * two variables set here: `--stage-top` and `--figure-top`, the document offsets of the stage and
 * of the figure. And every plot follows its box: Plotly's `responsive` follows only the window,
 * not a box that shrinks when a panel opens above it.
 */
import { plotly } from './plotkit.js';

/** @param {HTMLElement} node @returns {number} the offset of its top from the document's top */
function documentTop(node) {
  return Math.round(node.getBoundingClientRect().top + window.scrollY);
}

/**
 * @param {HTMLElement} stage
 * @param {HTMLElement} figure
 * @param {HTMLElement[]} above  everything whose size moves the figure
 */
export function keepFigureOnScreen(stage, figure, above) {
  const root = document.documentElement.style;
  let queued = false;
  const measure = () => {
    queued = false;
    root.setProperty('--stage-top', `${documentTop(stage)}px`);
    root.setProperty('--figure-top', `${documentTop(figure)}px`);
  };
  const schedule = () => {
    if (!queued) {
      queued = true;
      requestAnimationFrame(measure);
    }
  };
  const watch = new ResizeObserver(schedule);
  for (const node of above) watch.observe(node);
  window.addEventListener('resize', schedule);
  measure();
}

/** Every Plotly plot under `root` is resized when its box changes size, at most once a frame. */
export function plotsFollowTheirBoxes(root = document.body) {
  /** @type {Set<HTMLElement>} */
  const changed = new Set();
  const fit = () => {
    for (const gd of changed) {
      const full = /** @type {any} */ (gd)._fullLayout;
      if (!full || !gd.offsetParent) continue;
      if (Math.abs(full.width - gd.clientWidth) > 1 || Math.abs(full.height - gd.clientHeight) > 1) {
        plotly().Plots.resize(gd);
      }
    }
    changed.clear();
  };
  const watch = new ResizeObserver((entries) => {
    if (changed.size === 0) requestAnimationFrame(fit);
    for (const e of entries) changed.add(/** @type {HTMLElement} */ (e.target));
  });
  for (const gd of root.querySelectorAll('.plot, .chart')) watch.observe(gd);
}
