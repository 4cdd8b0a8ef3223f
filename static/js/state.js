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
 * A run is "optimizer,name:value,...": hyperparameters by their torch names, plus `noise:`,
 * `sched:<name>` and the schedule's parameters as `sched.<param>:`.
 *
 * Three modes share the runs, seed and steps: `surface` (the default, not written), `network`
 * (#mode=network&net=spiral,n:400,noise:0.1,hidden:16-16,act:tanh,batch:full,torch:1,...) and
 * `regression` (#mode=regression&reg=linear,n:50,noise:0.5,l2:0,seed:0&start=...). Fields that
 * belong to one mode are written only in that mode (`when`).
 */

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
 * @typedef {Object} NetState  the `network` of a start message (docs/protocol.md, Networks)
 * @property {string} dataset  moons, circles, xor, spiral, blobs or sine
 * @property {number} n  points
 * @property {number} noise
 * @property {number[]} hidden  widths of the hidden layers
 * @property {string} activation
 * @property {number | null} batch  mini-batch size; null for full batch
 * @property {boolean} torch  stream torch twins beside our runs
 * @property {number} arms  classes of the spiral
 * @property {number} classes  classes of the blobs
 */
/**
 * @typedef {Object} RegState  the `regression` of a start message
 * @property {'linear' | 'logistic'} model
 * @property {number} n
 * @property {number} noise
 * @property {number} l2
 * @property {number} seed  of the data (the race's seed is separate)
 */

export const CUSTOM = 'custom';
export const MAX_RUNS = 8;

/** The ids runs take, in order; a new run takes the first one no run has. */
const RUN_IDS = 'abcdefgh';

/** @param {number} index  the id of the index-th run of a fresh race */
export function runId(index) {
  return RUN_IDS[index] ?? `r${index}`;
}

/** @param {string} id @returns {number} the id's place among all ids (its colour), -1 if none */
export function runIndex(id) {
  return RUN_IDS.indexOf(id);
}

/**
 * The runs, each with an id: those they have are kept, the others get the first ids not taken.
 * @param {RunState[]} runs
 * @returns {RunState[]}
 */
export function withIds(runs) {
  const taken = new Set();
  const kept = runs.map((r) => {
    const ok = r.id !== undefined && runIndex(r.id) >= 0 && !taken.has(r.id);
    if (ok) taken.add(r.id);
    return ok;
  });
  const free = [...RUN_IDS].filter((id) => !taken.has(id));
  return runs.map((r, i) => (kept[i] ? r : { ...r, id: free.shift() ?? runId(i) }));
}

/**
 * A codec turns one value into hash text and back; `read` returns undefined for text it cannot
 * parse, and the field then keeps its default.
 * @template T
 * @typedef {{write: (value: T) => string, read: (text: string) => T | undefined}} Codec
 */

/** @param {string} s */
const esc = (s) => encodeURIComponent(s);

/** @param {string} s */
function unesc(s) {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

/** @param {number} v */
export function formatNumber(v) {
  return String(v);
}

/** @param {string} text */
function readNumber(text) {
  if (text.trim() === '') return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}

/** @param {string} text @returns {Scalar} */
function readScalar(text) {
  if (text === 'true') return true;
  if (text === 'false') return false;
  const v = readNumber(text);
  return v === undefined ? unesc(text) : v;
}

/** @param {Scalar} v */
function writeScalar(v) {
  return typeof v === 'string' ? esc(v) : String(v);
}

/** @type {Codec<string>} */
const text = { write: esc, read: (t) => unesc(t) };

/** @type {Codec<number>} */
const int = {
  write: String,
  read: (t) => {
    const v = readNumber(t);
    return v !== undefined && Number.isInteger(v) && v >= 0 ? v : undefined;
  },
};

/** @type {Codec<number>} */
const positive = {
  write: formatNumber,
  read: (t) => {
    const v = readNumber(t);
    return v !== undefined && v > 0 ? v : undefined;
  },
};

/** @type {Codec<[number, number] | null>} */
const point = {
  write: (p) => (p ? `${formatNumber(p[0])},${formatNumber(p[1])}` : ''),
  read: (t) => {
    const parts = t.split(',').map(readNumber);
    if (parts.length !== 2 || parts[0] === undefined || parts[1] === undefined) return undefined;
    return [parts[0], parts[1]];
  },
};

/** @type {Codec<[[number, number], [number, number]] | null>} */
const box = {
  write: (b) => (b ? b.flat().map(formatNumber).join(',') : ''),
  read: (t) => {
    const v = t.split(',').map(readNumber);
    if (v.length !== 4 || v.some((n) => n === undefined)) return undefined;
    const [x0, x1, y0, y1] = /** @type {number[]} */ (v);
    return x0 < x1 && y0 < y1 ? [[x0, x1], [y0, y1]] : undefined;
  },
};

/** @type {Codec<Record<string, number>>} */
const numberDict = {
  write: (d) =>
    Object.entries(d)
      .map(([k, v]) => `${esc(k)}:${formatNumber(v)}`)
      .join(','),
  read: (t) => {
    /** @type {Record<string, number>} */
    const out = {};
    for (const item of t.split(',')) {
      const [k, v] = item.split(':');
      const num = v === undefined ? undefined : readNumber(v);
      if (k && num !== undefined) out[unesc(k)] = num;
    }
    return out;
  },
};

export const MODES = /** @type {const} */ (['surface', 'network', 'regression']);

/** @type {Codec<Mode>} */
const mode = {
  write: (v) => v,
  read: (t) => /** @type {Mode[]} */ ([...MODES]).find((m) => m === t),
};

export const DATASETS = ['spiral', 'moons', 'circles', 'xor', 'blobs', 'sine'];
export const ACTIVATIONS = ['tanh', 'relu', 'leaky_relu', 'sigmoid', 'gelu'];

/** @type {NetState} */
export const DEFAULT_NET = {
  dataset: 'spiral',
  n: 400,
  noise: 0.1,
  hidden: [16, 16],
  activation: 'tanh',
  batch: null,
  torch: true,
  arms: 2,
  classes: 3,
};

/** @type {RegState} */
export const DEFAULT_REG = { model: 'linear', n: 50, noise: 0.5, l2: 0, seed: 0 };

/**
 * Hidden widths as the page writes them: "16,16" in the field, "16-16" in the hash.
 * @param {string} text
 * @returns {number[] | undefined} undefined unless every width is a whole number 1..64, at most 6
 */
export function parseHidden(text) {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const widths = trimmed.split(/[\s,;x×-]+/).filter(Boolean).map(Number);
  const ok = widths.length <= 6 && widths.every((w) => Number.isInteger(w) && w >= 1 && w <= 64);
  return ok ? widths : undefined;
}

/**
 * "key:value,..." after a head item, into a dictionary of raw texts.
 * @param {string} t
 * @returns {{head: string, items: Record<string, string>}}
 */
function headed(t) {
  const [head, ...rest] = t.split(',');
  /** @type {Record<string, string>} */
  const items = {};
  for (const item of rest) {
    const colon = item.indexOf(':');
    if (colon > 0) items[unesc(item.slice(0, colon))] = item.slice(colon + 1);
  }
  return { head: unesc(head ?? ''), items };
}

/**
 * @param {string | undefined} text
 * @param {number} fallback
 * @param {(v: number) => boolean} ok
 */
function numberOr(text, fallback, ok) {
  const v = text === undefined ? undefined : readNumber(text);
  return v !== undefined && ok(v) ? v : fallback;
}

const isCount = (/** @type {number} */ v) => Number.isInteger(v) && v >= 0;

/** @type {Codec<NetState>} */
const net = {
  write: (c) =>
    [
      esc(c.dataset),
      `n:${c.n}`,
      `noise:${formatNumber(c.noise)}`,
      `hidden:${c.hidden.join('-')}`,
      `act:${esc(c.activation)}`,
      `batch:${c.batch === null ? 'full' : c.batch}`,
      `torch:${c.torch ? 1 : 0}`,
      ...(c.dataset === 'spiral' ? [`arms:${c.arms}`] : []),
      ...(c.dataset === 'blobs' ? [`classes:${c.classes}`] : []),
    ].join(','),
  read: (t) => {
    const { head, items } = headed(t);
    if (!DATASETS.includes(head)) return undefined;
    const d = DEFAULT_NET;
    const hidden = items.hidden === undefined ? d.hidden : parseHidden(items.hidden);
    const act = items.act === undefined ? d.activation : unesc(items.act);
    const batch = items.batch;
    return {
      dataset: head,
      n: numberOr(items.n, d.n, (v) => isCount(v) && v >= 10),
      noise: numberOr(items.noise, d.noise, (v) => v >= 0),
      hidden: hidden ?? d.hidden,
      activation: ACTIVATIONS.includes(act) ? act : d.activation,
      batch: batch === undefined || batch === 'full' ? null : numberOr(batch, 0, isCount) || null,
      torch: items.torch === undefined ? d.torch : items.torch !== '0' && items.torch !== 'false',
      arms: numberOr(items.arms, d.arms, (v) => isCount(v) && v >= 2),
      classes: numberOr(items.classes, d.classes, (v) => isCount(v) && v >= 2),
    };
  },
};

/** @type {Codec<RegState>} */
const reg = {
  write: (c) =>
    [c.model, `n:${c.n}`, `noise:${formatNumber(c.noise)}`, `l2:${formatNumber(c.l2)}`, `seed:${c.seed}`].join(','),
  read: (t) => {
    const { head, items } = headed(t);
    if (head !== 'linear' && head !== 'logistic') return undefined;
    const d = DEFAULT_REG;
    return {
      model: head,
      n: numberOr(items.n, d.n, (v) => isCount(v) && v >= 2),
      noise: numberOr(items.noise, d.noise, (v) => v >= 0),
      l2: numberOr(items.l2, d.l2, (v) => v >= 0),
      seed: numberOr(items.seed, d.seed, isCount),
    };
  },
};

/** @type {Codec<'contour' | 'surface'>} */
const view = {
  write: (v) => v,
  read: (t) => (t === 'contour' || t === 'surface' ? t : undefined),
};

export const CONTROLS = /** @type {const} */ (['none', 'play', 'all']);

/** @type {Codec<Controls>} */
const controls = {
  write: (v) => v,
  read: (t) => /** @type {Controls[]} */ ([...CONTROLS]).find((c) => c === t),
};

/** @type {Codec<boolean>} */
const flag = {
  write: (v) => (v ? '1' : '0'),
  read: (t) => (t === '1' || t === 'true' ? true : t === '0' || t === 'false' ? false : undefined),
};

const SCHED_PREFIX = 'sched.';
/** `sched:none` in a change: back to a constant learning rate. */
const NO_SCHEDULE = 'none';
/** The most live changes a link keeps (the server's limit per run is larger). */
export const MAX_CHANGES = 256;

/**
 * The items after a run's or a change's head: hyperparameters, `noise:`, `sched:<name>` (`none`:
 * no schedule, in a change) and `sched.<param>:`.
 * @param {string[]} items
 */
function readItems(items) {
  /** @type {Record<string, Scalar>} */
  const hyper = {};
  /** @type {Record<string, Scalar>} */
  const sched = {};
  /** @type {number | undefined} */
  let noise;
  let schedName = '';
  for (const item of items) {
    const colon = item.indexOf(':');
    if (colon <= 0) continue;
    const key = unesc(item.slice(0, colon));
    const raw = item.slice(colon + 1);
    if (key === 'noise') {
      const v = readNumber(raw);
      if (v !== undefined && v >= 0) noise = v;
    } else if (key === 'sched') {
      schedName = unesc(raw);
    } else if (key.startsWith(SCHED_PREFIX)) {
      sched[key.slice(SCHED_PREFIX.length)] = readScalar(raw);
    } else {
      hyper[key] = readScalar(raw);
    }
  }
  /** @type {Schedule | null} */
  const schedule = schedName && schedName !== NO_SCHEDULE ? { ...sched, name: schedName } : null;
  return { hyper, noise, schedName, schedule };
}

/** @param {Record<string, Scalar>} hyper @param {number | undefined} noise @param {Schedule | null | undefined} schedule */
function writeItems(hyper, noise, schedule) {
  const parts = [];
  for (const [k, v] of Object.entries(hyper)) parts.push(`${esc(k)}:${writeScalar(v)}`);
  if (noise !== undefined) parts.push(`noise:${formatNumber(noise)}`);
  if (schedule === null) parts.push(`sched:${NO_SCHEDULE}`);
  else if (schedule) {
    const { name, ...params } = schedule;
    parts.push(`sched:${esc(name)}`);
    for (const [k, v] of Object.entries(params)) parts.push(`${SCHED_PREFIX}${esc(k)}:${writeScalar(v)}`);
  }
  return parts;
}

/** @type {Codec<RunState>} */
const run = {
  write: (r) => [esc(r.optimizer), ...writeItems(r.hyper, r.noise || undefined, r.schedule ?? undefined)].join(','),
  read: (t) => {
    const [head, ...items] = t.split(',');
    if (!head) return undefined;
    const { hyper, noise, schedule } = readItems(items);
    return { optimizer: unesc(head), hyper, schedule, noise: noise ?? 0 };
  },
};

/**
 * A live change: `chg=<run>,<acked step>,<items as in a run>`, e.g. `chg=a,226,lr:0.01`.
 * @type {Codec<Change>}
 */
const change = {
  write: (c) => [esc(c.run), String(c.step), ...writeItems(c.hyper ?? {}, c.noise, c.schedule)].join(','),
  read: (t) => {
    const [head, stepText, ...items] = t.split(',');
    const step = stepText === undefined ? undefined : readNumber(stepText);
    if (!head || step === undefined || !Number.isInteger(step) || step < 1) return undefined;
    const { hyper, noise, schedName, schedule } = readItems(items);
    /** @type {Change} */
    const c = { run: unesc(head), step };
    if (Object.keys(hyper).length) c.hyper = hyper;
    if (schedName) c.schedule = schedule;
    if (noise !== undefined) c.noise = noise;
    return Object.keys(c).length > 2 ? c : undefined;
  },
};

/** The race a newcomer sees first: Adam against momentum on Rosenbrock's valley. */
export const DEFAULT_RUNS = /** @type {RunState[]} */ ([
  { optimizer: 'adam', hyper: { lr: 0.05 }, schedule: null, noise: 0 },
  { optimizer: 'momentum', hyper: { lr: 0.0005 }, schedule: null, noise: 0 },
]);

/** Each mode's first race: a newcomer sees the difference between the optimizers at once. */
export const DEFAULT_RUNS_BY_MODE = /** @type {Record<Mode, RunState[]>} */ ({
  surface: DEFAULT_RUNS,
  network: [
    { optimizer: 'adam', hyper: { lr: 0.02 }, schedule: null, noise: 0 },
    { optimizer: 'sgd', hyper: { lr: 0.5 }, schedule: null, noise: 0 },
  ],
  regression: [
    { optimizer: 'adam', hyper: { lr: 0.1 }, schedule: null, noise: 0 },
    { optimizer: 'sgd', hyper: { lr: 0.1 }, schedule: null, noise: 0 },
  ],
});

/** @param {Mode} m @returns {RunState[]} */
export function defaultRuns(m) {
  return withIds(structuredClone(DEFAULT_RUNS_BY_MODE[m]));
}

const inSurface = (/** @type {AppState} */ s) => s.mode === 'surface';
const hasStart = (/** @type {AppState} */ s) => s.mode !== 'network';

/**
 * @typedef {Object} Field
 * @property {string} key  name in the hash
 * @property {keyof AppState} prop  name in AppState
 * @property {Codec<any>} codec
 * @property {any} default
 * @property {boolean} [many]  the key repeats, once per list item
 * @property {number} [max]  most items of a `many` field (default MAX_RUNS)
 * @property {(s: AppState) => unknown} [value]  what is written, when not `s[prop]` itself
 * @property {'always' | 'changed' | 'set'} write  always; when not the default; when not empty
 * @property {(s: AppState) => boolean} [when]  written only in the states this holds for
 */

/** @type {Field[]} */
export const FIELDS = [
  { key: 'mode', prop: 'mode', codec: mode, default: 'surface', write: 'changed' },
  { key: 'surface', prop: 'surface', codec: text, default: 'rosenbrock', write: 'always', when: inSurface },
  { key: 'p', prop: 'params', codec: numberDict, default: {}, write: 'set', when: inSurface },
  { key: 'expr', prop: 'expr', codec: text, default: '', write: 'set', when: inSurface },
  { key: 'domain', prop: 'domain', codec: box, default: null, write: 'set', when: inSurface },
  { key: 'net', prop: 'net', codec: net, default: DEFAULT_NET, write: 'always', when: (s) => s.mode === 'network' },
  { key: 'reg', prop: 'reg', codec: reg, default: DEFAULT_REG, write: 'always', when: (s) => s.mode === 'regression' },
  { key: 'start', prop: 'start', codec: point, default: null, write: 'set', when: hasStart },
  { key: 'seed', prop: 'seed', codec: int, default: 0, write: 'always' },
  { key: 'steps', prop: 'steps', codec: int, default: 2000, write: 'always' },
  { key: 'speed', prop: 'speed', codec: positive, default: 60, write: 'changed' },
  { key: 'view', prop: 'view', codec: view, default: 'contour', write: 'changed', when: hasStart },
  { key: 'run', prop: 'runs', codec: run, default: DEFAULT_RUNS, many: true, write: 'always' },
  { key: 'chg', prop: 'changes', codec: change, default: [], many: true, max: MAX_CHANGES, write: 'set', value: linkChanges },
  { key: 'controls', prop: 'controls', codec: controls, default: 'play', write: 'changed' },
  { key: 'present', prop: 'present', codec: flag, default: false, write: 'changed' },
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

/**
 * The runs as their cards show them: the start settings with every live change made.
 * @param {AppState} state
 * @returns {RunState[]}
 */
export function currentRuns(state) {
  const runs = structuredClone(state.runs);
  for (const c of state.changes) {
    const r = runs[idIndex(state, c.run)];
    if (!r) continue;
    if (c.hyper) r.hyper = { ...r.hyper, ...c.hyper };
    if (c.schedule !== undefined) r.schedule = c.schedule;
    if (c.noise !== undefined) r.noise = c.noise;
  }
  return runs;
}

/**
 * The state with every live change folded into the runs: the race a restart (or a reset) runs.
 * @param {AppState} state
 * @returns {AppState}
 */
export function foldChanges(state) {
  return { ...state, runs: currentRuns(state), changes: [] };
}

/**
 * One run's timeline as the `changes` of its run in a `start` message.
 * @param {AppState} state
 * @param {number} index
 * @returns {{step: number, hyper?: Record<string, Scalar>, schedule?: Schedule | null, noise?: number}[]}
 */
export function runChanges(state, index) {
  const id = state.runs[index]?.id ?? runId(index);
  return state.changes.filter((c) => c.run === id).map(({ run: _, ...rest }) => rest);
}

/** @param {AppState} state @param {string} id @returns {number} the run's place, -1 if none */
function idIndex(state, id) {
  return state.runs.findIndex((r, i) => (r.id ?? runId(i)) === id);
}

/**
 * The changes as a link writes them: a run is named by its place (a link gives the runs the ids
 * a, b, c... in order), and changes of runs no longer in the race are left out.
 * @param {AppState} state
 * @returns {Change[]}
 */
function linkChanges(state) {
  return state.changes
    .map((c) => ({ ...c, run: runId(idIndex(state, c.run)) }))
    .filter((c, k) => idIndex(state, state.changes[k].run) >= 0);
}

/**
 * The start settings and timeline of a room's race description, whose runs give their current
 * settings plus `initial` (those they started with) and `changes` (docs/protocol.md, Rooms).
 * @param {any[]} described  the description's runs
 * @param {RunState[]} runs  the same runs with their current settings
 * @returns {{runs: RunState[], changes: Change[]}}
 */
export function timelineOf(described, runs) {
  /** @type {Change[]} */
  const changes = [];
  const started = runs.map((r, i) => {
    const d = described[i] ?? {};
    const id = r.id ?? runId(i);
    for (const c of d.changes ?? []) changes.push({ run: id, ...c });
    const initial = d.initial;
    if (!initial) return r;
    return { ...r, hyper: { ...(initial.hyper ?? {}) }, schedule: initial.schedule ?? null, noise: Number(initial.noise ?? 0) };
  });
  return { runs: started, changes };
}
