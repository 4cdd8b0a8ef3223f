// @ts-check
/**
 * The three modes of the page and what each changes: the `problem` of the start message, whether
 * runs have a start point, which optimizers apply, and which parts of the page are shown (every
 * element marked `data-only="..."` is shown only in the modes it names; see app.css).
 */

import { CUSTOM } from './state.js';
import { deepNetwork, modelOf } from './deepstate.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./state.js').Mode} Mode */
/** @typedef {import('./api.js').OptimizerSpec} OptimizerSpec */

/**
 * @param {AppState} s
 * @returns {Record<string, unknown>} the `problem` of the start message; the data of a network
 *   keep the server's seed (0) while the race's seed draws the initial weights
 */
export function problemOf(s) {
  if (s.mode === 'network') {
    const n = s.net;
    if (modelOf(n.dataset) !== 'mlp') return { network: deepNetwork(n) };
    return {
      network: {
        dataset: n.dataset,
        n: n.n,
        noise: n.noise,
        hidden: [...n.hidden],
        activation: n.activation,
        batch_size: n.batch,
        arms: n.arms,
        classes: n.classes,
        torch: n.torch,
      },
    };
  }
  if (s.mode === 'regression') return { regression: { ...s.reg } };
  return s.surface === CUSTOM ? { expression: s.expr } : { surface: s.surface, params: s.params };
}

/** @param {Mode} mode  whether runs start from a point the user picks */
export function hasStart(mode) {
  return mode !== 'network';
}

/**
 * Networks have no Hessian here: Newton's method is left out.
 * @param {Mode} mode
 * @param {OptimizerSpec[]} optimizers
 */
export function optimizersFor(mode, optimizers) {
  return mode === 'network' ? optimizers.filter((o) => !o.needs_hessian) : optimizers;
}

/** @param {Mode} mode  show the parts of the page that belong to it */
export function showMode(mode) {
  document.body.dataset.mode = mode;
}
