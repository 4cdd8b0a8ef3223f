// @ts-check
/**
 * The whole UI state, and its round trip through the URL hash.
 *
 * One declarative table (FIELDS) says, for every piece of state, its key in the hash, how its value
 * is written and read, and its default. Everything that changes a trajectory (surface, its
 * parameters or formula, start, seed, step limit, every run) is always written, so a shared link
 * reproduces the exact race even if a later version changes a default.
 *
 * Hash shape:  #surface=rosenbrock&seed=0&steps=2000&run=adam,lr:0.05&run=momentum,lr:0.001
 * How each value is written is in hashcodecs.js; the runs' ids and timeline in runstate.js (both
 * re-exported here, so `state.js` stays the one import for the page's state).
 *
 * Three modes share the runs, seed and steps: `surface` (the default, not written), `network`
 * (#mode=network&net=spiral,n:400,noise:0.1,hidden:16-16,act:tanh,batch:full,torch:1,...) and
 * `regression` (#mode=regression&reg=linear,n:50,noise:0.5,l2:0,seed:0&start=...). Fields that
 * belong to one mode are written only in that mode (`when`).
 */

import * as codec from './hashcodecs.js';
import { DEFAULT_NET, DEFAULT_REG } from './hashcodecs.js';
import { DEFAULT_RUNS, MAX_RUNS, defaultRuns, linkChanges, withIds } from './runstate.js';
import { tuneCodec } from './tunestate.js';

export {
  ACTIVATIONS,
  CONTROLS,
  DATASETS,
  DEFAULT_NET,
  DEFAULT_REG,
  MODES,
  formatNumber,
  parseHidden,
} from './hashcodecs.js';
export {
  DEFAULT_RUNS,
  DEFAULT_RUNS_BY_MODE,
  MAX_RUNS,
  currentRuns,
  defaultRuns,
  foldChanges,
  runChanges,
  runId,
  runIndex,
  timelineOf,
  withIds,
} from './runstate.js';

/** @typedef {number | boolean | string} Scalar */
/** @typedef {{name: string} & Record<string, Scalar>} Schedule */
/**
 * @typedef {Object} RunState
 * @property {string} optimizer
 * @property {Record<string, Scalar>} hyper  values set by the user; the rest take the spec default
 * @property {Schedule | null} schedule
 * @property {number} noise  standard deviation of the Gaussian noise added to each gradient component
 * @property {string} [id]  the run's id ("a".."h") for its whole life: its colour, its legend and
 *   the server's name for it. Not in the hash: a link's runs are a, b, c... in order.
 */
/**
 * @typedef {Object} AppState
 * @property {string} surface  a surface name, or CUSTOM for a formula
 * @property {Record<string, number>} params  surface parameters that differ from the defaults
 * @property {string} expr  the custom formula (when surface is CUSTOM)
 * @property {[[number, number], [number, number]] | null} domain  of the custom formula's plot
 * @property {[number, number] | null} start  null: the surface's default start
 * @property {number} seed
 * @property {number} steps  max_steps of the race
 * @property {number} speed  steps per second
 * @property {'contour' | 'surface'} view
 * @property {RunState[]} runs
 * @property {Mode} mode
 * @property {NetState} net  the network problem (network mode)
 * @property {RegState} reg  the two-parameter regression (regression mode)
 * @property {Controls} controls  what an embedded page shows of the toolbar (the full page ignores it)
 * @property {boolean} present  presenter mode: large type, thick lines, high contrast
 * @property {Change[]} changes  the live changes of the race, in the order they were acked
 * @property {import('./tunestate.js').TuneState | null} tune  the settings of "Tune all", once used
 */
/**
 * @typedef {Object} Change  a live change of one run: update number `step` (the step its `set`
 *   was acked at) is the first computed with it; `runs` hold the settings the race started with
 * @property {string} run  the run's id
 * @property {number} step
 * @property {Record<string, Scalar>} [hyper]
 * @property {Schedule | null} [schedule]  null: back to a constant learning rate
 * @property {number} [noise]
 */
/** @typedef {'none' | 'play' | 'all'} Controls */
/** @typedef {'surface' | 'network' | 'regression'} Mode */
/**
 * @typedef {Object} MlpFields  the `network` of a start message (docs/protocol.md, Networks)
 * @property {string} dataset  moons, circles, xor, spiral, blobs or sine (an MLP); digits (the
 *   CNN), adding or sine_seq (the RNN): deepstate.js
 * @property {number} n  points
 * @property {number} noise
 * @property {number[]} hidden  widths of the hidden layers
 * @property {string} activation
 * @property {number | null} batch  mini-batch size; null for full batch
 * @property {boolean} torch  stream torch twins beside our runs
 * @property {number} arms  classes of the spiral
 * @property {number} classes  classes of the blobs
 */
/** @typedef {MlpFields & import('./deepstate.js').DeepFields} NetState */
/**
 * @typedef {Object} RegState  the `regression` of a start message
 * @property {'linear' | 'logistic'} model
 * @property {number} n
 * @property {number} noise
 * @property {number} l2
 * @property {number} seed  of the data (the race's seed is separate)
 */

export const CUSTOM = 'custom';
/** The most live changes a link keeps (the server's limit per run is larger). */
export const MAX_CHANGES = 256;

const inSurface = (/** @type {AppState} */ s) => s.mode === 'surface';
const hasStart = (/** @type {AppState} */ s) => s.mode !== 'network';

/**
 * @typedef {Object} Field
 * @property {string} key  name in the hash
 * @property {keyof AppState} prop  name in AppState
 * @property {import('./hashcodecs.js').Codec<any>} codec
 * @property {any} default
 * @property {boolean} [many]  the key repeats, once per list item
 * @property {number} [max]  most items of a `many` field (default MAX_RUNS)
 * @property {(s: AppState) => unknown} [value]  what is written, when not `s[prop]` itself
 * @property {'always' | 'changed' | 'set'} write  always; when not the default; when not empty
 * @property {(s: AppState) => boolean} [when]  written only in the states this holds for
 */

/** @type {Field[]} */
export const FIELDS = [
  { key: 'mode', prop: 'mode', codec: codec.mode, default: 'surface', write: 'changed' },
  { key: 'surface', prop: 'surface', codec: codec.text, default: 'rosenbrock', write: 'always', when: inSurface },
  { key: 'p', prop: 'params', codec: codec.numberDict, default: {}, write: 'set', when: inSurface },
  { key: 'expr', prop: 'expr', codec: codec.text, default: '', write: 'set', when: inSurface },
  { key: 'domain', prop: 'domain', codec: codec.box, default: null, write: 'set', when: inSurface },
  { key: 'net', prop: 'net', codec: codec.net, default: DEFAULT_NET, write: 'always', when: (s) => s.mode === 'network' },
  { key: 'reg', prop: 'reg', codec: codec.reg, default: DEFAULT_REG, write: 'always', when: (s) => s.mode === 'regression' },
  { key: 'start', prop: 'start', codec: codec.point, default: null, write: 'set', when: hasStart },
  { key: 'seed', prop: 'seed', codec: codec.int, default: 0, write: 'always' },
  { key: 'steps', prop: 'steps', codec: codec.int, default: 2000, write: 'always' },
  { key: 'speed', prop: 'speed', codec: codec.positive, default: 60, write: 'changed' },
  { key: 'view', prop: 'view', codec: codec.view, default: 'contour', write: 'changed', when: hasStart },
  { key: 'run', prop: 'runs', codec: codec.run, default: DEFAULT_RUNS, many: true, write: 'always' },
  { key: 'chg', prop: 'changes', codec: codec.change, default: [], many: true, max: MAX_CHANGES, write: 'set', value: linkChanges },
  { key: 'tune', prop: 'tune', codec: tuneCodec, default: null, write: 'set', when: inSurface },
  { key: 'controls', prop: 'controls', codec: codec.controls, default: 'play', write: 'changed' },
  { key: 'present', prop: 'present', codec: codec.flag, default: false, write: 'changed' },
];

/** @returns {AppState} */
export function defaultState() {
  /** @type {Record<string, unknown>} */
  const s = {};
  for (const f of FIELDS) s[f.prop] = structuredClone(f.default);
  return /** @type {AppState} */ (/** @type {unknown} */ (s));
}

/** @param {AppState} state @returns {AppState} */
export function cloneState(state) {
  return structuredClone(state);
}

/** @param {unknown} value */
function isEmpty(value) {
  if (value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(/** @type {object} */ (value)).length === 0;
  return false;
}

/**
 * @param {AppState} state
 * @returns {string} the hash, starting with '#'
 */
export function formatHash(state) {
  const parts = [];
  for (const f of FIELDS) {
    const value = f.value ? f.value(state) : state[f.prop];
    if (f.when && !f.when(state)) continue;
    if (f.write === 'set' && isEmpty(value)) continue;
    if (f.write === 'changed' && JSON.stringify(value) === JSON.stringify(f.default)) continue;
    const items = f.many ? /** @type {unknown[]} */ (value) : [value];
    for (const item of items) parts.push(`${f.key}=${f.codec.write(item)}`);
  }
  return `#${parts.join('&')}`;
}

/**
 * Parse a hash; missing or unreadable fields keep their defaults.
 * @param {string} hash  with or without the leading '#'
 * @returns {AppState}
 */
export function parseHash(hash) {
  const state = defaultState();
  /** @type {Map<string, string[]>} */
  const found = new Map();
  for (const part of hash.replace(/^#/, '').split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq);
    found.set(key, [...(found.get(key) ?? []), part.slice(eq + 1)]);
  }
  /** @type {Record<string, unknown>} */
  const out = /** @type {any} */ (state);
  for (const f of FIELDS) {
    const texts = found.get(f.key);
    if (!texts) continue;
    if (f.many) {
      const items = texts.map((t) => f.codec.read(t)).filter((v) => v !== undefined);
      if (items.length) out[f.prop] = items.slice(0, f.max ?? MAX_RUNS);
    } else {
      const v = f.codec.read(texts[texts.length - 1]);
      if (v !== undefined) out[f.prop] = v;
    }
  }
  state.runs = found.has('run') ? withIds(state.runs) : defaultRuns(state.mode);
  return state;
}

/**
 * What differs between two states, by how much work it takes to follow.
 * @param {AppState} a
 * @param {AppState} b
 * @returns {{surface: boolean, race: boolean, view: boolean, speed: boolean}}
 */
export function diffStates(a, b) {
  const same = (/** @type {unknown} */ x, /** @type {unknown} */ y) =>
    JSON.stringify(x) === JSON.stringify(y);
  const surface =
    a.mode !== b.mode ||
    !same(a.net, b.net) ||
    !same(a.reg, b.reg) ||
    a.surface !== b.surface ||
    !same(a.params, b.params) ||
    a.expr !== b.expr ||
    !same(a.domain, b.domain);
  const race =
    surface ||
    !same(a.start, b.start) ||
    a.seed !== b.seed ||
    a.steps !== b.steps ||
    !same(a.runs, b.runs) ||
    !same(a.changes, b.changes);
  return { surface, race, view: a.view !== b.view, speed: a.speed !== b.speed };
}
