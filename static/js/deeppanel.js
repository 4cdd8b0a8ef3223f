// @ts-check
/**
 * The settings of the CNN and RNN networks in the network panel: which network (the MLP on 2D
 * data, the digits CNN or a sequence RNN), then the chosen one's sizes. Every change is a new
 * race, as for the MLP; the RNN's clipping threshold changes live in the sequence view instead.
 */
import { el } from './controls.js';
import { batchRow, numberRow, row, select } from './fields.js';
import { RNN_TASKS, datasetDefaults, maxPoints, modelOf } from './deepstate.js';

/** @typedef {import('./state.js').NetState} NetState */
/** @typedef {import('./deepstate.js').Model} Model */
/** @typedef {(patch: Partial<NetState>) => void} Change */

const MODEL_TITLES = /** @type {Record<Model, string>} */ ({
  mlp: 'Small MLP on 2D data',
  cnn: 'Digits (CNN)',
  rnn: 'Sequences (RNN)',
});

const TASK_TITLES = /** @type {Record<string, string>} */ ({
  adding: 'Adding problem (memory over the sequence)',
  sine_seq: 'Sine wave, a few steps ahead',
});

/** The data set a model starts on. */
const FIRST_DATASET = /** @type {Record<Model, string>} */ ({ mlp: 'spiral', cnn: 'digits', rnn: 'adding' });

/**
 * The patch that switches to another data set, with its own size and batch defaults.
 * @param {string} dataset
 * @param {{n: number, batch: number | null}} mlp  the MLP's defaults (state.js DEFAULT_NET)
 * @returns {Partial<NetState>}
 */
export function switchTo(dataset, mlp) {
  const d = datasetDefaults(dataset) ?? mlp;
  return { dataset, n: d.n, batch: d.batch };
}

/**
 * The "Network" choice.
 * @param {NetState} net
 * @param {(model: Model) => void} pick
 */
export function modelRow(net, pick) {
  const models = /** @type {Model[]} */ (['mlp', 'cnn', 'rnn']);
  const s = select(models, (m) => MODEL_TITLES[/** @type {Model} */ (m)], modelOf(net.dataset));
  s.addEventListener('change', () => pick(/** @type {Model} */ (s.value)));
  return row('net-model', 'Network', s);
}

/** @param {Model} model */
export function firstDataset(model) {
  return FIRST_DATASET[model];
}

/**
 * The CNN's or the RNN's fields.
 * @param {NetState} net
 * @param {Change} change
 * @param {{n: number, batch: number | null}} mlp
 * @returns {HTMLElement[]}
 */
export function deepRows(net, change, mlp) {
  const batch = batchRow(net.batch, maxPoints(net.dataset), (v) => change({ batch: v }));
  if (modelOf(net.dataset) === 'cnn') {
    return [
      el('p', { class: 'summary', text: 'The 8×8 handwritten digits (1,797 images, 10 classes): conv → ReLU → max-pool → dense 10, by hand in numpy.' }),
      numberRow('net-n', 'Images', net.n, [100, 1797, 1], (v) => change({ n: v }), 'A fifth of them are held out for the test curves.'),
      numberRow('net-filters', 'Filters', net.filters, [1, 16, 1], (v) => change({ filters: v })),
      numberRow('net-kernel', 'Kernel size', net.kernel, [1, 5, 1], (v) => change({ kernel: v })),
      numberRow('net-stride', 'Stride', net.stride, [1, 2, 1], (v) => change({ stride: v })),
      numberRow('net-padding', 'Padding', net.padding, [0, 2, 1], (v) => change({ padding: v })),
      numberRow('net-pool', 'Max-pool', net.pool, [1, 2, 1], (v) => change({ pool: v }), '2 for 2×2 pooling, 1 for none.'),
      batch,
    ];
  }
  const task = select(RNN_TASKS, (t) => TASK_TITLES[t] ?? t, net.dataset);
  task.addEventListener('change', () => change(switchTo(task.value, mlp)));
  const rows = [
    row('net-dataset', 'Task', task),
    numberRow('net-n', 'Sequences', net.n, [100, 2000, 1], (v) => change({ n: v })),
    numberRow('net-steps', 'Time steps', net.length, [2, 50, 1], (v) => change({ length: v }),
      'Longer sequences: the gradient has further to travel back through time.'),
    numberRow('net-hidden', 'Hidden units', net.units, [1, 32, 1], (v) => change({ units: v })),
    numberRow('net-scale', 'Recurrent scale', net.scale, [0.1, 4, 0.1], (v) => change({ scale: v }),
      'The recurrent weights start at this times their usual size: below 1 gradients vanish, above 1 they explode.'),
  ];
  if (net.dataset === 'sine_seq') {
    rows.push(
      numberRow('net-noise', 'Noise', net.noise, [0, 1, 0.05], (v) => change({ noise: v })),
      numberRow('net-ahead', 'Steps ahead', net.ahead, [1, 10, 1], (v) => change({ ahead: v })),
    );
  }
  rows.push(batch);
  return rows;
}

/** The server's field names of the CNN and RNN, by the id of their control. */
export const DEEP_FIELD_IDS = /** @type {Record<string, string>} */ ({
  model: 'net-model',
  filters: 'net-filters',
  kernel: 'net-kernel',
  stride: 'net-stride',
  padding: 'net-padding',
  pool: 'net-pool',
  steps: 'net-steps',
  recurrent_scale: 'net-scale',
  ahead: 'net-ahead',
});
