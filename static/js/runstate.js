// @ts-check
/**
 * The runs of the state: their ids (and so their colours), each mode's first race, and the
 * timeline of live changes folded into the runs, sent in a `start` message, written in a link,
 * or read from a room's race description.
 */

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./state.js').RunState} RunState */
/** @typedef {import('./state.js').Change} Change */
/** @typedef {import('./state.js').Mode} Mode */
/** @typedef {import('./state.js').Scalar} Scalar */
/** @typedef {import('./state.js').Schedule} Schedule */

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
 * The race a newcomer sees first: Adam against momentum on Rosenbrock's valley, from the surface's
 * start (-1.5, 1.5): momentum swings across the valley while Adam slides down its wall.
 */
export const DEFAULT_RUNS = /** @type {RunState[]} */ ([
  { optimizer: 'adam', hyper: { lr: 0.05 }, schedule: null, noise: 0 },
  { optimizer: 'momentum', hyper: { lr: 0.001 }, schedule: null, noise: 0 },
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
export function linkChanges(state) {
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
