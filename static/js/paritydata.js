// @ts-check
/**
 * The numbers of the parity panel, with no DOM: the `POST /api/parity` body of one run (a
 * `POST /api/trajectory` body), how many steps to ask for, and the largest difference so far
 * between our path and a library's. The server answers (GUIDE, REST):
 * `{"ours": {"points", "status", "steps"}, "libraries": {name: {"points", "max_diff", "notes"} | {"unavailable"}}}`;
 * for a network race `POST /api/parity/network` (docs/libraries.md, Networks) answers per library
 * `{"diff", "max_diff", "loss", "notes"}`: the largest weight difference per step, no weights.
 */
import { CUSTOM } from './state.js';
import { problemOf } from './modes.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./state.js').RunState} RunState */
/** @typedef {[number, number, number]} Point  x, y, loss */
/** @typedef {string | {text: string, setting?: string}} Note  a string (the contract), or text with the setting that makes them agree */
/**
 * @typedef {Object} LibraryPath
 * @property {Point[]} points
 * @property {number} max_diff  the largest |coordinate difference| over the steps both have
 * @property {Note[]} notes
 */
/**
 * @typedef {Object} LibraryWeights  a network run's library: its weights' distance from ours
 * @property {number[]} diff  per step, the largest |w − w'| over the weights
 * @property {number} max_diff
 * @property {number[]} loss
 * @property {Note[]} notes
 */
/** @typedef {LibraryPath | LibraryWeights | {unavailable: string}} LibraryResult */
/**
 * @typedef {Object} ParityResult
 * @property {{points?: Point[], loss?: number[], status: string, steps: number}} ours
 * @property {Record<string, LibraryResult>} libraries
 */

/**
 * The server's own cap on a parity run (MAX_PARITY_STEPS in server/routes/inside.py): a race
 * longer than this is compared over its first PARITY_MAX_STEPS steps.
 */
export const PARITY_MAX_STEPS = 5000;
/** The same for a network race (MAX_STEPS in server/inside/network_parity.py). */
export const NETWORK_PARITY_MAX_STEPS = 500;
/** The first request covers this many steps; each next one twice the last, as the race goes on. */
export const FIRST_STEPS = 128;

/** Libraries by the server's key: the name shown and the line drawn (colour and dash). */
export const LIBRARIES = /** @type {Record<string, {title: string, color: string, dash: string}>} */ ({
  torch: { title: 'PyTorch (torch.optim)', color: '#c2410c', dash: 'solid' },
  optax: { title: 'JAX (optax)', color: '#1f4fd1', dash: 'dash' },
  keras: { title: 'Keras 3', color: '#8f1d8f', dash: 'dot' },
});

/** @param {string} key @returns {{title: string, color: string, dash: string}} */
export function library(key) {
  return LIBRARIES[key] ?? { title: key, color: '#3b4453', dash: 'dashdot' };
}

/**
 * The body for one run, without `steps` (the key of a result: the same body, the same paths).
 * @param {AppState} s
 * @param {RunState} run  as its card shows it (live changes included)
 * @param {[number, number]} start
 * @returns {Record<string, unknown>}
 */
export function parityBody(s, run, start) {
  const problem = s.surface === CUSTOM ? { expression: s.expr } : { surface: s.surface, surface_params: { ...s.params } };
  return {
    ...problem,
    optimizer: run.optimizer,
    hyper: { ...run.hyper },
    schedule: run.schedule,
    start: [...start],
    noise: run.noise,
    seed: s.seed,
  };
}

/**
 * The body of `POST /api/parity/network` for one run of a network race, without `steps`: the
 * start message's `network`, so the weights start where the race's do (its seed).
 * @param {AppState} s
 * @param {RunState} run
 * @returns {Record<string, unknown>}
 */
export function networkParityBody(s, run) {
  const { torch: _, ...network } = /** @type {Record<string, unknown>} */ (problemOf(s).network);
  return { network, optimizer: run.optimizer, hyper: { ...run.hyper }, schedule: run.schedule, noise: run.noise, seed: s.seed };
}

/**
 * How many steps to ask for so that the `shown` steps are covered: FIRST_STEPS, doubled until it
 * covers them (so a race that plays on costs at most twice its length), never above `limit`.
 * @param {number} shown
 * @param {number} limit
 */
export function stepsToAsk(shown, limit) {
  let n = FIRST_STEPS;
  while (n < shown) n *= 2;
  return Math.max(0, Math.min(n, limit));
}

/**
 * Whether a result covers every step the race can show: ours stopped (converged or diverged)
 * before the steps asked, or it ran to the limit.
 * @param {ParityResult} result
 * @param {number} asked  the steps of its request
 * @param {number} limit
 */
export function isComplete(result, asked, limit) {
  return result.ours.status !== 'finished' || asked >= limit;
}

/**
 * The largest difference so far, step by step: entry k is the largest |x − x'| or |y − y'| over
 * steps 0..k, over the steps both paths have. Its last entry is the server's `max_diff`.
 * @param {Point[]} ours
 * @param {Point[]} theirs
 * @returns {number[]}
 */
export function runningMax(ours, theirs) {
  const n = Math.min(ours.length, theirs.length);
  const out = new Array(n);
  let m = 0;
  for (let k = 0; k < n; k++) {
    const d = Math.max(Math.abs(ours[k][0] - theirs[k][0]), Math.abs(ours[k][1] - theirs[k][1]));
    if (d > m) m = d;
    out[k] = m;
  }
  return out;
}

/**
 * A library's running largest difference from ours: over x and y on a surface, over every
 * weight of a network (whose answer has the per-step differences).
 * @param {ParityResult} result
 * @param {LibraryPath | LibraryWeights} lib
 * @returns {number[]}
 */
export function differenceSeries(result, lib) {
  if (!('diff' in lib)) return runningMax(result.ours.points ?? [], lib.points);
  const out = new Array(lib.diff.length);
  let m = 0;
  lib.diff.forEach((d, k) => {
    if (d > m) m = d;
    out[k] = m;
  });
  return out;
}

/**
 * The step at which the largest difference over steps 0..`upTo` was first reached.
 * @param {number[]} series  a runningMax
 * @param {number} upTo
 */
export function stepOfMax(series, upTo) {
  const last = Math.min(upTo, series.length - 1);
  if (last < 0) return -1;
  const m = series[last];
  let k = last;
  while (k > 0 && series[k - 1] === m) k -= 1;
  return k;
}

/** @param {LibraryResult} r @returns {r is {unavailable: string}} */
export function isUnavailable(r) {
  return typeof (/** @type {any} */ (r).unavailable) === 'string';
}

/** @param {Note} note @returns {{text: string, setting: string | null}} */
export function noteParts(note) {
  if (typeof note === 'string') return { text: note, setting: null };
  return { text: String(note.text ?? ''), setting: note.setting ? String(note.setting) : null };
}
