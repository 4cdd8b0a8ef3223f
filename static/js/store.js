// @ts-check
/**
 * The points of every run as they arrive, indexed by step (point k is the point after k updates).
 * Views pull from here: each remembers how much of each track it has drawn, and a track's
 * `version` changes when points are taken back (a reset or a restart), which asks for a redraw.
 */

/**
 * @typedef {Object} Mark  something that happened to a run at a step
 * @property {number} step
 * @property {'set' | 'diverged' | 'finished' | 'converged'} kind
 * @property {string} text  plain words, shown on hover and beside the run
 */

/**
 * One run's new points in a frame. A surface frame has x, y, loss; a network frame has
 * train_loss, test_loss, train_acc, test_acc and proj (docs/protocol.md, Networks): the point on
 * the landscape plane becomes (x, y) and the training objective the loss.
 * @typedef {{step: number, x: number[], y: number[], loss: number[], gnorm?: number[],
 *   extra?: Record<string, number[]>}} FrameRun
 */

/** Series of network frames kept besides x, y, loss and gnorm. */
export const EXTRA_SERIES = ['test_loss', 'train_acc', 'test_acc'];

/** The suffix of a torch twin's id ("a~torch"). */
export const TWIN_SUFFIX = '~torch';

/**
 * A diverging network walks off to 1e150 and beyond, which no plot can place (SVG refuses such
 * coordinates): landscape coordinates are kept within ±PROJ_LIMIT, far outside any plot of them.
 */
const PROJ_LIMIT = 1e4;
/** More queued frames than this and the drawing clock applies them all at once. */
const MAX_QUEUED = 3;

/** @param {number | undefined} v */
function clampProj(v) {
  return v === undefined || v === null ? null : Math.max(-PROJ_LIMIT, Math.min(PROJ_LIMIT, v));
}

/**
 * @param {any} f  a run's part of a frame, either shape
 * @returns {FrameRun}
 */
export function frameRun(f) {
  if (Array.isArray(f.x)) return f;
  const proj = /** @type {[number, number][]} */ (f.proj ?? []);
  const loss = /** @type {number[]} */ (f.train_loss ?? []);
  /** @type {Record<string, number[]>} */
  const extra = {};
  for (const k of EXTRA_SERIES) if (Array.isArray(f[k])) extra[k] = f[k];
  return {
    step: f.step,
    x: loss.map((_, i) => clampProj(proj[i]?.[0])),
    y: loss.map((_, i) => clampProj(proj[i]?.[1])),
    loss,
    gnorm: f.gnorm,
    extra,
  };
}

export class Track {
  /** @param {string} id */
  constructor(id) {
    this.id = id;
    /** @type {(number | null)[]} */
    this.x = [];
    /** @type {(number | null)[]} */
    this.y = [];
    /** @type {(number | null)[]} */
    this.loss = [];
    /** @type {(number | null)[]} */
    this.gnorm = [];
    /** @type {Record<string, (number | null)[]>} network series besides the loss */
    this.extra = Object.fromEntries(EXTRA_SERIES.map((k) => [k, []]));
    /** @type {Mark[]} */
    this.marks = [];
    this.version = 0;
  }

  /** @returns {(number | null)[][]} every per-point array */
  arrays() {
    return [this.x, this.y, this.loss, this.gnorm, ...Object.values(this.extra)];
  }

  get length() {
    return this.x.length;
  }

  /** @param {number} n  keep the points of steps 0 .. n-1 */
  truncate(n) {
    if (n >= this.length) return;
    for (const a of this.arrays()) a.length = n;
    this.marks = this.marks.filter((m) => m.step < n);
    this.version += 1;
  }

  /** @param {FrameRun} f */
  append(f) {
    if (f.step < this.length) this.truncate(f.step);
    for (let k = this.length; k < f.step; k++) {
      // a gap in the steps would be a server bug; leave a visible hole rather than a false line
      for (const a of this.arrays()) a.push(null);
    }
    this.x.push(...f.x);
    this.y.push(...f.y);
    this.loss.push(...f.loss);
    const g = f.gnorm ?? [];
    for (let i = 0; i < f.x.length; i++) this.gnorm.push(g[i] ?? null);
    for (const [k, a] of Object.entries(this.extra)) {
      const v = f.extra?.[k] ?? [];
      for (let i = 0; i < f.x.length; i++) a.push(v[i] ?? null);
    }
  }

  /** @returns {[number, number] | null} the newest point */
  head() {
    for (let i = this.length - 1; i >= 0; i--) {
      const x = this.x[i];
      const y = this.y[i];
      if (x !== null && y !== null) return [x, y];
    }
    return null;
  }
}

export class RunStore {
  constructor() {
    /** @type {Track[]} */
    this.tracks = [];
    /** @type {Map<string, Track>} torch twins by their own id ("a~torch"), as they arrive */
    this.twins = new Map();
    /** changes when the runs are replaced or rewound: views redraw */
    this.version = 0;
    /** changes when a mark is added: views redraw their marks only */
    this.marksVersion = 0;
    /** frames received and not yet applied, oldest first (see queueFrame) */
    /** @type {Record<string, FrameRun>[]} */
    this.queued = [];
  }

  /**
   * Keep a frame's points for the drawing clock, which applies one frame per animation frame:
   * two frames that arrive close together are shown one after the other, not merged.
   * @param {Record<string, FrameRun>} runs  the `runs` of a frame message
   */
  queueFrame(runs) {
    this.queued.push(runs);
  }

  /**
   * Apply the oldest queued frame; every queued frame when `all` is asked (a message about the
   * points follows) or when more than a couple wait (a busy or hidden page catches up at once).
   * @param {boolean} [all]
   * @returns {boolean} whether points were applied
   */
  applyQueued(all = false) {
    if (this.queued.length === 0) return false;
    const n = all || this.queued.length > MAX_QUEUED ? this.queued.length : 1;
    for (const runs of this.queued.splice(0, n)) this.applyFrame(runs);
    return true;
  }

  /** @param {string[]} ids  one empty track per run, in order */
  reset(ids) {
    this.queued = [];
    this.tracks = ids.map((id) => new Track(id));
    this.twins = new Map();
    this.version += 1;
  }

  /** @param {string} id  drop a run's track (and its torch twin's); the others keep theirs */
  remove(id) {
    this.queued = this.queued.map((runs) =>
      Object.fromEntries(Object.entries(runs).filter(([k]) => k !== id && k !== id + TWIN_SUFFIX)),
    );
    this.tracks = this.tracks.filter((t) => t.id !== id);
    this.twins.delete(id + TWIN_SUFFIX);
    this.version += 1;
  }

  /** @param {string} id */
  get(id) {
    return this.tracks.find((t) => t.id === id);
  }

  /** @param {Record<string, FrameRun>} runs  the `runs` of a frame message */
  applyFrame(runs) {
    for (const [id, f] of Object.entries(runs)) {
      let track = this.get(id) ?? this.twins.get(id);
      if (!track && id.endsWith(TWIN_SUFFIX) && this.get(id.slice(0, -TWIN_SUFFIX.length))) {
        track = new Track(id);
        this.twins.set(id, track);
      }
      track?.append(frameRun(f));
    }
  }

  /** @param {string} runId @returns {Track | undefined} the torch twin of a run */
  twin(runId) {
    return this.twins.get(runId + TWIN_SUFFIX);
  }

  /** Back to the start points (the server's `reset`): keep step 0 of every run. */
  rewind() {
    this.queued = [];
    for (const t of [...this.tracks, ...this.twins.values()]) {
      t.truncate(1);
      t.marks = [];
    }
    this.version += 1;
  }

  /**
   * @param {string} id
   * @param {Mark} mark
   */
  mark(id, mark) {
    const t = this.get(id);
    if (!t) return;
    t.marks.push(mark);
    this.marksVersion += 1;
  }

  /** @returns {number} the newest step any run has reached */
  lastStep() {
    return Math.max(0, ...this.tracks.map((t) => t.length - 1));
  }
}
