// @ts-check
/**
 * The settings of "Tune all" (budget, criterion, starts) and their place in the URL hash:
 * `tune=trials:16,steps:500,crit:steps,tol:0.001,starts:current,second:0,lo:0.0001,hi:1`
 * (`n:` the number of random starts with `starts:random`). Every setting is written, so a link
 * reproduces the tuning even if a later version changes a default; the random starts come from
 * the race's seed, which the link holds too.
 */

/**
 * @typedef {Object} TuneState
 * @property {number} trials  settings each optimizer tries
 * @property {number} steps  updates of each trial
 * @property {'steps' | 'final_loss'} criterion  steps to reach f* + tol, or the final loss
 * @property {number} tol
 * @property {'current' | 'random'} starts  the race's start, or random starts in the domain
 * @property {number} nStarts  random starts (with `starts: random`)
 * @property {boolean} second  also tune each optimizer's main other hyperparameter
 * @property {number} lrMin
 * @property {number} lrMax
 */

/** @type {TuneState} */
export const DEFAULT_TUNE = {
  trials: 16,
  steps: 500,
  criterion: 'steps',
  tol: 1e-3,
  starts: 'current',
  nStarts: 4,
  second: false,
  lrMin: 1e-4,
  lrMax: 1,
};

/** The server's limits (server/analysis/requests.py). */
export const TUNE_LIMITS = { trials: 64, steps: 20_000, nStarts: 16 };

/** @param {string | undefined} text @returns {number | undefined} */
function num(text) {
  if (text === undefined || text.trim() === '') return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}

/** @param {number | undefined} v @param {number} lo @param {number} hi */
const count = (v, lo, hi) => (v !== undefined && Number.isInteger(v) && v >= lo && v <= hi ? v : undefined);

/** @type {import('./hashcodecs.js').Codec<TuneState | null>} */
export const tuneCodec = {
  write: (t) =>
    t
      ? [
          `trials:${t.trials}`,
          `steps:${t.steps}`,
          `crit:${t.criterion}`,
          `tol:${String(t.tol)}`,
          `starts:${t.starts}`,
          ...(t.starts === 'random' ? [`n:${t.nStarts}`] : []),
          `second:${t.second ? 1 : 0}`,
          `lo:${String(t.lrMin)}`,
          `hi:${String(t.lrMax)}`,
        ].join(',')
      : '',
  read: (text) => {
    /** @type {Record<string, string>} */
    const items = {};
    for (const item of text.split(',')) {
      const colon = item.indexOf(':');
      if (colon > 0) items[item.slice(0, colon)] = item.slice(colon + 1);
    }
    const d = DEFAULT_TUNE;
    const positive = (/** @type {string | undefined} */ t, /** @type {number} */ fallback) => {
      const v = num(t);
      return v !== undefined && v > 0 ? v : fallback;
    };
    const lrMin = positive(items.lo, d.lrMin);
    const lrMax = positive(items.hi, d.lrMax);
    const lrOk = lrMin < lrMax;
    return {
      trials: count(num(items.trials), 1, TUNE_LIMITS.trials) ?? d.trials,
      steps: count(num(items.steps), 1, TUNE_LIMITS.steps) ?? d.steps,
      criterion: items.crit === 'final_loss' ? 'final_loss' : items.crit === 'steps' ? 'steps' : d.criterion,
      tol: positive(items.tol, d.tol),
      starts: items.starts === 'random' ? 'random' : 'current',
      nStarts: count(num(items.n), 1, TUNE_LIMITS.nStarts) ?? d.nStarts,
      second: items.second === '1' || items.second === 'true',
      lrMin: lrOk ? lrMin : d.lrMin,
      lrMax: lrOk ? lrMax : d.lrMax,
    };
  },
};

/**
 * The body of POST /api/tune for a race: every optimizer of its runs once (the first run of an
 * optimizer gives the settings not tuned), from the race's start or from random starts drawn
 * with the race's seed.
 * @param {import('./analysishost.js').AnalysisContext} ctx
 * @param {TuneState} t
 */
export function tuneRequest(ctx, t) {
  /** @type {Record<string, Record<string, import('./state.js').Scalar>>} */
  const hyper = {};
  for (const r of ctx.runs) {
    if (hyper[r.optimizer]) continue;
    const { lr: _, ...rest } = r.hyper;
    hyper[r.optimizer] = rest;
  }
  return {
    ...ctx.problem,
    optimizers: Object.keys(hyper),
    hyper,
    start: ctx.start,
    starts: t.starts,
    n_starts: t.nStarts,
    seed: ctx.seed,
    trials: t.trials,
    steps: t.steps,
    criterion: t.criterion,
    tol: t.tol,
    lr_min: t.lrMin,
    lr_max: t.lrMax,
    second: t.second,
  };
}
