// @ts-check
/**
 * The basin map drawn under the paths on the contour: one canvas pixel per grid cell (row 0 of
 * the canvas is the top row of the grid), scaled by CSS with `image-rendering: pixelated` onto
 * the plot area, so a zoom or a resize only moves the canvas and a block of rows paints in well
 * under a millisecond. A keyboard cursor walks the cells.
 */

import { plotly } from './plotkit.js';

/** Colours of the listed minima, by index: distinct from the runs' colours and from each other. */
export const BASIN_COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#1f78b4'];
/** A start whose run ended near no listed minimum. */
export const NONE_COLOR = '#c3c8d0';
/** A start whose run diverged. */
export const DIVERGED_COLOR = '#2b2b2b';
/** Viridis stops for "steps to tolerance": few steps dark purple, many yellow. */
const STEP_STOPS = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];

/** Cells not computed yet: transparent. */
const PENDING = -3;

/** @param {string} hex @returns {[number, number, number]} */
export function rgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** @param {number} k  the cell's `minimum` value @returns {string} */
export function basinColor(k) {
  if (k === -2) return DIVERGED_COLOR;
  if (k < 0) return NONE_COLOR;
  return BASIN_COLORS[k % BASIN_COLORS.length];
}

/**
 * @param {number} t  0..1
 * @returns {[number, number, number]}
 */
export function stepsColor(t) {
  const stops = STEP_STOPS.map(rgb);
  const u = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  const [a, b] = [stops[i], stops[i + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f));
}

export const STEPS_GRADIENT = `linear-gradient(to right, ${STEP_STOPS.join(', ')})`;

/** @typedef {'minimum' | 'steps'} BasinViewKind */

export class BasinLayer {
  /**
   * @param {HTMLElement} plot  the Plotly div of the paths (#contour), whose axes place the map
   */
  constructor(plot) {
    this.plot = plot;
    this.box = document.createElement('div');
    this.box.className = 'basin-layer';
    this.box.hidden = true;
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'basin-canvas';
    this.canvas.setAttribute('aria-hidden', 'true');
    this.cursor = document.createElement('div');
    this.cursor.className = 'basin-cursor';
    this.cursor.hidden = true;
    this.box.append(this.canvas, this.cursor);
    plot.before(this.box); // under the paths, over the contours
    /** @type {number[]} */
    this.x = [];
    /** @type {number[]} */
    this.y = [];
    this.minimum = new Int16Array(0);
    this.steps = new Int32Array(0);
    this.maxSteps = 0;
    /** @type {BasinViewKind} */
    this.view = 'minimum';
    /** @type {[number, number] | null} keyboard cursor: [row, column] */
    this.at = null;
    this.placed = '';
    this.hooked = false;
    new ResizeObserver(() => this.place()).observe(plot);
  }

  get shown() {
    return !this.box.hidden;
  }

  /** @param {number[]} x @param {number[]} y */
  begin(x, y) {
    this.x = x;
    this.y = y;
    this.minimum = new Int16Array(x.length * y.length).fill(PENDING);
    this.steps = new Int32Array(x.length * y.length).fill(-1);
    this.maxSteps = 0;
    this.canvas.width = x.length;
    this.canvas.height = y.length;
    this.canvas.getContext('2d')?.clearRect(0, 0, x.length, y.length);
    this.box.hidden = false;
    this.placed = '';
    this.hook();
    this.place();
  }

  /**
   * @param {number} row  index of the first grid row
   * @param {number[][]} minimum
   * @param {(number | null)[][]} steps
   */
  add(row, minimum, steps) {
    const n = this.x.length;
    let grew = false;
    minimum.forEach((cells, r) => {
      cells.forEach((k, j) => {
        const at = (row + r) * n + j;
        this.minimum[at] = k;
        const s = steps[r][j];
        this.steps[at] = s ?? -1;
        if (s !== null && s > this.maxSteps) {
          this.maxSteps = s;
          grew = true;
        }
      });
    });
    if (this.view === 'steps' && grew) this.paint(0, this.y.length);
    else this.paint(row, row + minimum.length);
  }

  /** @param {BasinViewKind} view */
  setView(view) {
    this.view = view;
    this.paint(0, this.y.length);
  }

  hide() {
    this.box.hidden = true;
    this.at = null;
    this.cursor.hidden = true;
  }

  /**
   * The colour of one cell as the current view paints it ([0, 0, 0, 0] until computed).
   * @param {number} i  grid row @param {number} j  grid column
   * @returns {[number, number, number, number]}
   */
  cellColor(i, j) {
    const at = i * this.x.length + j;
    const k = this.minimum[at];
    if (k === PENDING) return [0, 0, 0, 0];
    const s = this.steps[at];
    if (this.view === 'minimum' || k < 0 || s < 0) return [...rgb(basinColor(k)), 255];
    return [...stepsColor(this.maxSteps ? s / this.maxSteps : 0), 255];
  }

  /** @param {number} i0 @param {number} i1  grid rows to paint */
  paint(i0, i1) {
    const ctx = this.canvas.getContext('2d');
    const n = this.x.length;
    const m = this.y.length;
    if (!ctx || i1 <= i0) return;
    const image = ctx.createImageData(n, i1 - i0);
    const data = image.data;
    /** @type {Map<number, [number, number, number, number]>} one colour per minimum, computed once */
    const byMinimum = new Map();
    for (let i = i0; i < i1; i++) {
      const base = (i1 - 1 - i) * n * 4; // the canvas runs top to bottom, y upwards
      for (let j = 0; j < n; j++) {
        const k = this.minimum[i * n + j];
        let color = this.view === 'minimum' || k < 0 ? byMinimum.get(k) : undefined;
        if (!color) {
          color = this.cellColor(i, j);
          if (this.view === 'minimum' || k < 0) byMinimum.set(k, color);
        }
        data.set(color, base + j * 4);
      }
    }
    ctx.putImageData(image, 0, m - i1);
  }

  /** @returns {Map<number, number>} how many computed cells have each `minimum` value */
  counts() {
    /** @type {Map<number, number>} */
    const out = new Map();
    for (const k of this.minimum) if (k !== PENDING) out.set(k, (out.get(k) ?? 0) + 1);
    return out;
  }

  hook() {
    const gd = /** @type {any} */ (this.plot);
    if (this.hooked || !gd.on) return;
    this.hooked = true;
    gd.on('plotly_relayout', () => this.place());
    gd.on('plotly_afterplot', () => this.place());
  }

  /** Fit the box to the plot area and the canvas to the grid's cells, in the plot's pixels. */
  place() {
    if (this.box.hidden || this.x.length < 2) return;
    this.hook();
    const full = /** @type {any} */ (this.plot)._fullLayout;
    const xa = full?.xaxis;
    const ya = full?.yaxis;
    if (!xa?.l2p || !ya?.l2p) return;
    const dx = (this.x[this.x.length - 1] - this.x[0]) / (this.x.length - 1);
    const dy = (this.y[this.y.length - 1] - this.y[0]) / (this.y.length - 1);
    const left = xa.l2p(this.x[0] - dx / 2);
    const right = xa.l2p(this.x[this.x.length - 1] + dx / 2);
    const top = ya.l2p(this.y[this.y.length - 1] + dy / 2);
    const bottom = ya.l2p(this.y[0] - dy / 2);
    const key = [xa._offset, ya._offset, xa._length, ya._length, left, right, top, bottom].map(Math.round).join();
    if (key === this.placed) return;
    this.placed = key;
    Object.assign(this.box.style, {
      left: `${xa._offset}px`,
      top: `${ya._offset}px`,
      width: `${xa._length}px`,
      height: `${ya._length}px`,
    });
    Object.assign(this.canvas.style, {
      left: `${left}px`,
      top: `${top}px`,
      width: `${right - left}px`,
      height: `${bottom - top}px`,
    });
    this.drawCursor();
  }

  /**
   * The cell a point of the plane lies in (cells are centred on the grid's points).
   * @param {number} px @param {number} py  data coordinates
   * @returns {[number, number] | null} [row, column], null outside the map
   */
  cellAt(px, py) {
    if (this.box.hidden || this.x.length < 2) return null;
    const j = Math.round(((px - this.x[0]) / (this.x[this.x.length - 1] - this.x[0])) * (this.x.length - 1));
    const i = Math.round(((py - this.y[0]) / (this.y[this.y.length - 1] - this.y[0])) * (this.y.length - 1));
    if (i < 0 || j < 0 || i >= this.y.length || j >= this.x.length) return null;
    return [i, j];
  }

  /**
   * Move the keyboard cursor, or put it on the middle cell.
   * @param {number} di @param {number} dj
   * @returns {[number, number]}
   */
  move(di, dj) {
    const [i, j] = this.at ?? [Math.floor(this.y.length / 2), Math.floor(this.x.length / 2)];
    this.at = this.at
      ? [Math.min(this.y.length - 1, Math.max(0, i + di)), Math.min(this.x.length - 1, Math.max(0, j + dj))]
      : [i, j];
    this.drawCursor();
    return this.at;
  }

  drawCursor() {
    if (!this.at) {
      this.cursor.hidden = true;
      return;
    }
    const [i, j] = this.at;
    const w = parseFloat(this.canvas.style.width) / this.x.length;
    const h = parseFloat(this.canvas.style.height) / this.y.length;
    Object.assign(this.cursor.style, {
      left: `${parseFloat(this.canvas.style.left) + j * w}px`,
      top: `${parseFloat(this.canvas.style.top) + (this.y.length - 1 - i) * h}px`,
      width: `${Math.max(w, 6)}px`,
      height: `${Math.max(h, 6)}px`,
    });
    this.cursor.hidden = false;
  }

  blur() {
    this.at = null;
    this.cursor.hidden = true;
  }
}

/**
 * The key takes room above the figure, or gives it back, and grows as the map fills in: the
 * figure's plots follow their box (Plotly follows only the window). Only the key's height is
 * watched: a legend whose numbers change width at every frame must not resize the plots.
 * @param {HTMLElement} box  the box the contour's plots fill
 * @param {HTMLElement} key
 */
export function fitPlotsTo(box, key) {
  let pending = 0;
  let height = -1;
  new ResizeObserver(() => {
    const h = key.offsetHeight;
    if (pending || Math.abs(h - height) < 1) return;
    height = h;
    pending = requestAnimationFrame(() => {
      pending = 0;
      for (const gd of /** @type {NodeListOf<any>} */ (box.querySelectorAll('.js-plotly-plot'))) {
        const full = gd._fullLayout;
        const moved = full && (Math.abs(full.width - gd.clientWidth) > 1 || Math.abs(full.height - gd.clientHeight) > 1);
        if (moved && gd.offsetParent) plotly().Plots.resize(gd);
      }
    });
  }).observe(key);
}
