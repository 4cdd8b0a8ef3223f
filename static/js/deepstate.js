// @ts-check
/**
 * The CNN and RNN networks in the page's state: which data set trains which model, their
 * defaults, their items in the URL hash (`net=` of state.js) and their `network` in the start
 * message (docs/protocol.md, Networks). server/export/net_state.py reads and writes the same hash.
 *
 *   net=digits,n:1797,batch:64,torch:1,filters:8,kernel:3,stride:1,padding:1,pool:2
 *   net=adding,n:1000,batch:32,torch:1,hidden:16,steps:20,scale:1,clip:none
 *   net=sine_seq,n:1000,noise:0.1,batch:32,torch:1,hidden:16,steps:20,ahead:3,scale:1,clip:none
 *
 * `clip` is the threshold in force: a live change of it is written here, so a link restarts
 * with it from step 0 (as the server's reset does).
 */

/** @typedef {'mlp' | 'cnn' | 'rnn'} Model */
/**
 * @typedef {Object} DeepFields  what a NetState holds for the CNN and the RNN
 * @property {number} filters
 * @property {number} kernel
 * @property {number} stride
 * @property {number} padding
 * @property {number} pool
 * @property {number} units  the RNN's hidden width (`hidden:` in the hash)
 * @property {number} length  time steps of a sequence (`steps:` in the hash)
 * @property {number} ahead  how far ahead the sine task predicts
 * @property {number} scale  initial scale of the recurrent weights (`recurrent_scale`)
 * @property {number | null} clip  gradient clipping threshold; null: off
 */

/** @type {Record<string, Model>} */
const MODEL_OF = { digits: 'cnn', adding: 'rnn', sine_seq: 'rnn' };

export const DEEP_DATASETS = Object.keys(MODEL_OF);
export const RNN_TASKS = ['adding', 'sine_seq'];
export const CNN_ITEMS = /** @type {const} */ (['filters', 'kernel', 'stride', 'padding', 'pool']);

/** @type {DeepFields} */
export const DEEP_DEFAULTS = { filters: 8, kernel: 3, stride: 1, padding: 1, pool: 2, units: 16, length: 20, ahead: 3, scale: 1, clip: null };

/** What a data set starts with (the MLP's are state.js's DEFAULT_NET). */
const DATASET_DEFAULTS = /** @type {Record<string, {n: number, batch: number | null}>} */ ({
  digits: { n: 1797, batch: 64 },
  adding: { n: 1000, batch: 32 },
  sine_seq: { n: 1000, batch: 32 },
});

/** @param {string} dataset @returns {Model} */
export function modelOf(dataset) {
  return MODEL_OF[dataset] ?? 'mlp';
}

/** @param {string} dataset @returns {{n: number, batch: number | null} | undefined} */
export function datasetDefaults(dataset) {
  return DATASET_DEFAULTS[dataset];
}

/** The largest `n` of a data set: all 1,797 digits, 2,000 sequences or points. */
export function maxPoints(/** @type {string} */ dataset) {
  return dataset === 'digits' ? 1797 : 2000;
}

/** @param {number} v */
const num = (v) => String(v);

/**
 * The hash items after the data set, for a CNN or RNN data set.
 * @param {{dataset: string, n: number, noise: number, batch: number | null, torch: boolean} & DeepFields} c
 * @returns {string[]}
 */
export function writeDeepItems(c) {
  const batch = `batch:${c.batch === null ? 'full' : c.batch}`;
  const torch = `torch:${c.torch ? 1 : 0}`;
  if (modelOf(c.dataset) === 'cnn') return [`n:${c.n}`, batch, torch, ...CNN_ITEMS.map((k) => `${k}:${c[k]}`)];
  const sine = c.dataset === 'sine_seq';
  return [
    `n:${c.n}`,
    ...(sine ? [`noise:${num(c.noise)}`] : []),
    batch,
    torch,
    `hidden:${c.units}`,
    `steps:${c.length}`,
    ...(sine ? [`ahead:${c.ahead}`] : []),
    `scale:${num(c.scale)}`,
    `clip:${c.clip === null ? 'none' : num(c.clip)}`,
  ];
}

/**
 * The CNN or RNN fields of a hash's items; what is missing or unreadable keeps its default.
 * @param {string} dataset
 * @param {Record<string, string>} items  raw texts by key
 * @returns {{n: number, batch: number | null} & DeepFields}
 */
export function readDeepItems(dataset, items) {
  const d = DEEP_DEFAULTS;
  const base = DATASET_DEFAULTS[dataset];
  /** @param {string} key @param {number} fallback @param {number} lo @param {boolean} [whole] */
  const read = (key, fallback, lo, whole = true) => {
    const text = items[key];
    const v = text === undefined || text.trim() === '' ? Number.NaN : Number(text);
    return Number.isFinite(v) && v >= lo && (!whole || Number.isInteger(v)) ? v : fallback;
  };
  const clipText = items.clip;
  const clip = clipText === undefined || clipText === 'none' ? null : read('clip', 0, 0, false) || null;
  const batch = items.batch === 'full' ? null : read('batch', base.batch ?? 0, 1) || base.batch;
  return {
    n: read('n', base.n, 10),
    batch,
    filters: read('filters', d.filters, 1),
    kernel: read('kernel', d.kernel, 1),
    stride: read('stride', d.stride, 1),
    padding: read('padding', d.padding, 0),
    pool: read('pool', d.pool, 1),
    units: read('hidden', d.units, 1),
    length: read('steps', d.length, 2),
    ahead: read('ahead', d.ahead, 1),
    scale: read('scale', d.scale, 0, false) || d.scale,
    clip,
  };
}

/**
 * The `network` of the start message for a CNN or RNN state.
 * @param {{dataset: string, n: number, noise: number, batch: number | null, torch: boolean} & DeepFields} c
 * @returns {Record<string, unknown>}
 */
export function deepNetwork(c) {
  const model = modelOf(c.dataset);
  /** @type {Record<string, unknown>} */
  const out = { model, dataset: c.dataset, n: c.n, batch_size: c.batch };
  if (model === 'cnn') {
    for (const k of CNN_ITEMS) out[k] = c[k];
  } else {
    Object.assign(out, { hidden: c.units, steps: c.length, recurrent_scale: c.scale, clip: c.clip });
    if (c.dataset === 'sine_seq') Object.assign(out, { noise: c.noise, ahead: c.ahead });
  }
  out.torch = c.torch;
  return out;
}

/**
 * The state's fields for the `network` of a room's race description (the inverse of deepNetwork).
 * @param {Record<string, any>} n
 * @returns {Record<string, unknown>}
 */
export function deepFieldsOf(n) {
  /** @type {Record<string, unknown>} */
  const out = { dataset: n.dataset, n: n.n, batch: n.batch_size ?? null, torch: n.torch ?? true };
  for (const k of CNN_ITEMS) if (n[k] !== undefined) out[k] = n[k];
  const renamed = /** @type {[string, string][]} */ ([['hidden', 'units'], ['steps', 'length'], ['recurrent_scale', 'scale'], ['ahead', 'ahead'], ['noise', 'noise'], ['clip', 'clip']]);
  for (const [from, to] of renamed) if (n[from] !== undefined) out[to] = n[from];
  return out;
}
