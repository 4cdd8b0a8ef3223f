// @ts-check
/**
 * What a network race shows besides its curves: the server's `dataset`, `boundary` and
 * `landscape` messages go to the boundary view and to the contour view, which draws the loss
 * landscape (Li et al. 2018: the training objective on a plane through the common start, along
 * two filter-normalized directions) with each run's path projected onto that plane.
 *
 * The server computes the landscape on [-1, 1]² of the directions' units; a path that walks
 * further out widens the plot (the landscape stays where it was computed), so no path is cut off.
 */
import { valueScale } from './palette.js';

/** @typedef {import('./boundaryview.js').BoundaryView} BoundaryView */
/** @typedef {import('./boundaryview.js').DatasetMessage} DatasetMessage */
/** @typedef {import('./contour.js').ContourView} ContourView */
/** @typedef {import('./surfaceplot.js').Surface} Surface */
/** @typedef {import('./store.js').RunStore} RunStore */
/** @typedef {{a: number[], b: number[], z: number[][], span: number, seed: number}} LandscapeMessage */

const DATASET_TITLES = /** @type {Record<string, string>} */ ({
  spiral: 'Spiral',
  moons: 'Two moons',
  circles: 'Circles',
  xor: 'XOR',
  blobs: 'Blobs',
  sine: 'Sine (regression)',
});

/** @param {string} name */
export function datasetTitle(name) {
  return DATASET_TITLES[name] ?? name;
}

/**
 * "Spiral, 2-16-16-1 tanh network (337 weights), bce loss, full batch"
 * @param {DatasetMessage} d
 */
export function describeNetwork(d) {
  const config = /** @type {{dataset?: string, n?: number}} */ (d.config);
  const train = d.train.y.length;
  const batch = d.batch_size >= train ? 'full batch' : `mini-batches of ${d.batch_size}`;
  return `${datasetTitle(config.dataset ?? '')}: ${d.sizes.join('-')} ${d.activation} network (${d.dim} weights), ${d.loss} loss, ${batch}`;
}

/** The widest the landscape plot gets, in units of the directions. */
const MAX_HALF = 8;

/** @param {number} v  a half-width @returns {number} the next of 1, 1.5, 2, 3, 4, 6, 8, 12, ... above it */
function niceHalfWidth(v) {
  for (let m = 1; ; m *= 2) {
    if (m >= v) return m;
    if (1.5 * m >= v) return 1.5 * m;
  }
}

export class NetworkView {
  /**
   * @param {BoundaryView} boundary
   * @param {ContourView} contour
   * @param {(text: string) => void} caption
   */
  constructor(boundary, contour, caption) {
    this.boundary = boundary;
    this.contour = contour;
    this.caption = caption;
    /** @type {LandscapeMessage | null} */
    this.landscape = null;
    /** half-width of the plotted square */
    this.half = 1;
    this.key = '';
    /** @type {DatasetMessage | null} */
    this.dataset = null;
  }

  /** A new network race: forget the old landscape and boundaries. */
  clear() {
    this.landscape = null;
    this.dataset = null;
    this.half = 1;
    this.contour.clear();
    this.contour.setStart([0, 0]);
    this.boundary.clear();
  }

  /** @param {any} msg  dataset | boundary | landscape */
  receive(msg) {
    if (msg.type === 'dataset') {
      this.dataset = msg;
      this.boundary.setDataset(msg);
      this.caption(describeNetwork(msg));
    } else if (msg.type === 'boundary') {
      this.boundary.receive(msg);
    } else if (msg.type === 'landscape') {
      const fresh = JSON.stringify([msg.seed, msg.a.length, msg.z[0]?.slice(0, 4)]);
      this.landscape = msg;
      if (fresh !== this.key || !this.contour.surface) {
        this.key = fresh;
        this.half = Math.max(1, msg.span);
        this.draw();
      }
    }
  }

  draw() {
    const l = this.landscape;
    if (!l) return;
    const h = this.half;
    /** @type {Surface} */
    const surface = {
      key: `landscape:${this.key}:${h}`,
      title: 'Loss landscape',
      grid: { x: l.a, y: l.b, z: l.z },
      scale: valueScale(l.z, spansDecades(l.z)),
      domain: [
        [-h, h],
        [-h, h],
      ],
      minima: [],
      axes: ['direction 1', 'direction 2'],
    };
    this.contour.setSurface(surface);
    const note = document.getElementById('landscape-note');
    const span = Math.max(...l.a.map(Math.abs));
    if (note) note.textContent = h > span ? `(computed on [−${span}, ${span}]²)` : '';
  }

  /**
   * Widen the plot when a path leaves it.
   * @param {RunStore} store
   */
  follow(store) {
    if (!this.landscape) return;
    let far = 0;
    for (const t of store.tracks) {
      const p = t.head();
      if (p) far = Math.max(far, Math.abs(p[0]), Math.abs(p[1]));
    }
    // a diverging run runs off to huge values: past MAX_HALF its path is simply cut at the edge
    const half = Math.min(MAX_HALF, niceHalfWidth(far * 1.1));
    if (far > this.half * 0.97 && half > this.half) {
      this.half = half;
      this.draw();
    }
  }
}

/** @param {number[][]} z  whether the values span more than two decades (log colours then) */
function spansDecades(z) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of z) {
    for (const v of row) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo > 0 && hi / lo > 100;
}
