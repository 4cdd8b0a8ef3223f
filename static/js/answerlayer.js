// @ts-check
/**
 * The class's taps for "where will it end?" as a heat layer on the contour, under the paths:
 * each tap a soft disc, so where many land the colour deepens. The viewer's own tap is a ring.
 * Drawn in the plot's pixels from its axes, again after every zoom, pan or resize.
 */

const HEAT = '214, 39, 40'; // rgb of the discs
const MINE = '#0b3d91';

export class AnswerLayer {
  /** @param {HTMLElement} plot  the Plotly div of the paths (#contour) */
  constructor(plot) {
    this.plot = plot;
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'answer-layer';
    this.canvas.id = 'answer-layer';
    this.canvas.setAttribute('aria-hidden', 'true');
    this.canvas.hidden = true;
    plot.before(this.canvas); // under the paths, over the contours
    /** @type {[number, number][]} */
    this.points = [];
    /** @type {[number, number] | null} */
    this.mine = null;
    this.hooked = false;
    new ResizeObserver(() => this.paint()).observe(plot);
  }

  /**
   * @param {[number, number][]} points  everyone's taps
   * @param {[number, number] | null} [mine]  this viewer's
   */
  show(points, mine = null) {
    this.points = points;
    this.mine = mine;
    this.canvas.hidden = false;
    this.hook();
    this.paint();
  }

  hide() {
    this.points = [];
    this.mine = null;
    this.canvas.hidden = true;
  }

  hook() {
    const gd = /** @type {any} */ (this.plot);
    if (this.hooked || !gd.on) return;
    this.hooked = true;
    gd.on('plotly_relayout', () => this.paint());
    gd.on('plotly_afterplot', () => this.paint());
  }

  paint() {
    if (this.canvas.hidden) return;
    const full = /** @type {any} */ (this.plot)._fullLayout;
    const xa = full?.xaxis;
    const ya = full?.yaxis;
    const ctx = this.canvas.getContext('2d');
    if (!xa?.l2p || !ya?.l2p || !ctx) return;
    const ratio = window.devicePixelRatio || 1;
    const [w, h] = [xa._length, ya._length];
    Object.assign(this.canvas.style, { left: `${xa._offset}px`, top: `${ya._offset}px`, width: `${w}px`, height: `${h}px` });
    this.canvas.width = Math.round(w * ratio);
    this.canvas.height = Math.round(h * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const r = Math.max(10, Math.min(w, h) * 0.035);
    // fainter discs the more there are, so that a crowd of taps deepens without going solid
    const alpha = Math.max(0.05, Math.min(0.45, 3 / Math.sqrt(this.points.length + 1)));
    for (const [x, y] of this.points) {
      const px = xa.l2p(x);
      const py = ya.l2p(y);
      const disc = ctx.createRadialGradient(px, py, 0, px, py, r);
      disc.addColorStop(0, `rgba(${HEAT}, ${alpha})`);
      disc.addColorStop(1, `rgba(${HEAT}, 0)`);
      ctx.fillStyle = disc;
      ctx.fillRect(px - r, py - r, 2 * r, 2 * r);
    }
    if (this.mine) {
      ctx.beginPath();
      ctx.arc(xa.l2p(this.mine[0]), ya.l2p(this.mine[1]), 9, 0, 2 * Math.PI);
      ctx.lineWidth = 3;
      ctx.strokeStyle = MINE;
      ctx.stroke();
    }
  }
}
