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

/** @typedef {{step: number, x: number[], y: number[], loss: number[], gnorm?: number[]}} FrameRun */

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
    /** @type {Mark[]} */
    this.marks = [];
    this.version = 0;
  }

  get length() {
    return this.x.length;
  }

  /** @param {number} n  keep the points of steps 0 .. n-1 */
  truncate(n) {
    if (n >= this.length) return;
    for (const a of [this.x, this.y, this.loss, this.gnorm]) a.length = n;
    this.marks = this.marks.filter((m) => m.step < n);
    this.version += 1;
  }

  /** @param {FrameRun} f */
  append(f) {
    if (f.step < this.length) this.truncate(f.step);
    for (let k = this.length; k < f.step; k++) {
      // a gap in the steps would be a server bug; leave a visible hole rather than a false line
      for (const a of [this.x, this.y, this.loss, this.gnorm]) a.push(null);
    }
    this.x.push(...f.x);
    this.y.push(...f.y);
    this.loss.push(...f.loss);
    const g = f.gnorm ?? [];
    for (let i = 0; i < f.x.length; i++) this.gnorm.push(g[i] ?? null);
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
    /** changes when the runs are replaced or rewound: views redraw */
    this.version = 0;
    /** changes when a mark is added: views redraw their marks only */
    this.marksVersion = 0;
  }

  /** @param {string[]} ids  one empty track per run, in order */
  reset(ids) {
    this.tracks = ids.map((id) => new Track(id));
    this.version += 1;
  }

  /** @param {string} id */
  get(id) {
    return this.tracks.find((t) => t.id === id);
  }

  /** @param {Record<string, FrameRun>} runs  the `runs` of a frame message */
  applyFrame(runs) {
    for (const [id, f] of Object.entries(runs)) this.get(id)?.append(f);
  }

  /** Back to the start points (the server's `reset`): keep step 0 of every run. */
  rewind() {
    for (const t of this.tracks) {
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
