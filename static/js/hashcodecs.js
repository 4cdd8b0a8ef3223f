// @ts-check
/**
 * How each piece of the state is written in the URL hash and read back: one codec per kind of
 * value (state.js's FIELDS says which field uses which). `read` returns undefined for text it
 * cannot parse, and the field then keeps its default.
 *
 * A run is "optimizer,name:value,...": hyperparameters by their torch names, plus `noise:`,
 * `sched:<name>` and the schedule's parameters as `sched.<param>:`. A network is
 * "spiral,n:400,noise:0.1,hidden:16-16,act:tanh,batch:full,torch:1,..." (a CNN's or RNN's items
 * are deepstate.js's) and a regression "linear,n:50,noise:0.5,l2:0,seed:0".
 */
import { DEEP_DATASETS, DEEP_DEFAULTS, modelOf, readDeepItems, writeDeepItems } from './deepstate.js';

/** @typedef {import('./state.js').Scalar} Scalar */
/** @typedef {import('./state.js').Schedule} Schedule */
/** @typedef {import('./state.js').RunState} RunState */
/** @typedef {import('./state.js').Change} Change */
/** @typedef {import('./state.js').Controls} Controls */
/** @typedef {import('./state.js').Mode} Mode */
/** @typedef {import('./state.js').NetState} NetState */
/** @typedef {import('./state.js').RegState} RegState */

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
export const text = { write: esc, read: (t) => unesc(t) };

/** @type {Codec<number>} */
export const int = {
  write: String,
  read: (t) => {
    const v = readNumber(t);
    return v !== undefined && Number.isInteger(v) && v >= 0 ? v : undefined;
  },
};

/** @type {Codec<number>} */
export const positive = {
  write: formatNumber,
  read: (t) => {
    const v = readNumber(t);
    return v !== undefined && v > 0 ? v : undefined;
  },
};

/** @type {Codec<[number, number] | null>} */
export const point = {
  write: (p) => (p ? `${formatNumber(p[0])},${formatNumber(p[1])}` : ''),
  read: (t) => {
    const parts = t.split(',').map(readNumber);
    if (parts.length !== 2 || parts[0] === undefined || parts[1] === undefined) return undefined;
    return [parts[0], parts[1]];
  },
};

/** @type {Codec<[[number, number], [number, number]] | null>} */
export const box = {
  write: (b) => (b ? b.flat().map(formatNumber).join(',') : ''),
  read: (t) => {
    const v = t.split(',').map(readNumber);
    if (v.length !== 4 || v.some((n) => n === undefined)) return undefined;
    const [x0, x1, y0, y1] = /** @type {number[]} */ (v);
    return x0 < x1 && y0 < y1 ? [[x0, x1], [y0, y1]] : undefined;
  },
};

/** @type {Codec<Record<string, number>>} */
export const numberDict = {
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
export const mode = {
  write: (v) => v,
  read: (t) => /** @type {Mode[]} */ ([...MODES]).find((m) => m === t),
};

export const DATASETS = ['spiral', 'moons', 'circles', 'xor', 'blobs', 'sine', ...DEEP_DATASETS];
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
  ...DEEP_DEFAULTS,
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
export const net = {
  write: (c) =>
    modelOf(c.dataset) !== 'mlp' ? [esc(c.dataset), ...writeDeepItems(c)].join(',') : [
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
    if (modelOf(head) !== 'mlp') {
      const noise = numberOr(items.noise, d.noise, (v) => v >= 0);
      const torch = items.torch === undefined ? d.torch : items.torch !== '0' && items.torch !== 'false';
      return { ...d, dataset: head, noise, torch, ...readDeepItems(head, items) };
    }
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
export const reg = {
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
export const view = {
  write: (v) => v,
  read: (t) => (t === 'contour' || t === 'surface' ? t : undefined),
};

export const CONTROLS = /** @type {const} */ (['none', 'play', 'all']);

/** @type {Codec<Controls>} */
export const controls = {
  write: (v) => v,
  read: (t) => /** @type {Controls[]} */ ([...CONTROLS]).find((c) => c === t),
};

/** @type {Codec<boolean>} */
export const flag = {
  write: (v) => (v ? '1' : '0'),
  read: (t) => (t === '1' || t === 'true' ? true : t === '0' || t === 'false' ? false : undefined),
};

const SCHED_PREFIX = 'sched.';
/** `sched:none` in a change: back to a constant learning rate. */
const NO_SCHEDULE = 'none';
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
export const run = {
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
export const change = {
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
