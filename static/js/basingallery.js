// @ts-check
/**
 * Basin maps side by side: one small map per run of the race, the same grid and colours, so
 * SGD, momentum and Adam can be compared start by start. Each map streams in like the one on the
 * contour (one request after the other: the server computes one at a time anyway); a click on a
 * cell starts every run from that cell's start.
 */
import { el } from './controls.js';
import { basinStream } from './analysisapi.js';
import { basinColor, rgb } from './basinlayer.js';
import { fmt, runFields } from './analysishost.js';

/** @typedef {import('./analysishost.js').AnalysisContext} AnalysisContext */
/** @typedef {import('./analysishost.js').AnalysisHost} AnalysisHost */
/** @typedef {{n: number, steps: number, tol: number}} Asked */

/**
 * Paint grid rows of `minimum` (row 0 of the grid at the bottom of the canvas).
 * @param {HTMLCanvasElement} canvas
 * @param {number} row  the first grid row
 * @param {number[][]} minimum
 */
function paintRows(canvas, row, minimum) {
  const ctx = canvas.getContext('2d');
  if (!ctx || !minimum.length) return;
  const n = canvas.width;
  const image = ctx.createImageData(n, minimum.length);
  /** @type {Map<number, number[]>} */
  const colors = new Map();
  minimum.forEach((cells, r) => {
    const base = (minimum.length - 1 - r) * n * 4;
    cells.forEach((k, j) => {
      let c = colors.get(k);
      if (!c) colors.set(k, (c = [...rgb(basinColor(k)), 255]));
      image.data.set(c, base + j * 4);
    });
  });
  ctx.putImageData(image, 0, canvas.height - row - minimum.length);
}

export class BasinGallery {
  /**
   * @param {HTMLElement} card  the results card the maps go in
   * @param {AnalysisHost} host
   */
  constructor(card, host) {
    this.card = card;
    this.host = host;
    this.title = el('h2', { text: 'Basin maps side by side' });
    this.note = el('p', { class: 'summary', id: 'basin-gallery-note' });
    this.maps = el('div', { class: 'basin-gallery', id: 'basin-gallery' });
    this.legend = el('ul', { class: 'basin-legend', id: 'basin-gallery-legend', 'aria-label': 'What each colour means' });
    card.replaceChildren(el('div', { class: 'result-head' }, [this.title]), this.note, this.legend, this.maps);
    card.hidden = true;
    /** @type {{x: number[], y: number[]} | undefined} the grid of the maps shown */
    this.grid = undefined;
    /** what plane the maps cover (set by their panel; they go when the surface does) */
    this.plane = '';
  }

  /**
   * @param {AnalysisContext} ctx
   * @param {Asked} asked
   * @param {AbortSignal} signal
   * @param {(done: number, text: string) => void} progress  share of all the maps computed
   */
  async drawAll(ctx, asked, signal, progress) {
    const [[x0, x1], [y0, y1]] = ctx.domain;
    this.note.textContent =
      `Each run’s settings from every start of a ${asked.n} × ${asked.n} grid, ${asked.steps} steps, coloured by the listed minimum ` +
      `it ends within ${fmt(asked.tol)} of. Click a cell to start every run there.`;
    /** @type {[number, string][]} */
    const keys = [...ctx.minima.map((m, k) => /** @type {[number, string]} */ ([k, `(${fmt(m[0])}, ${fmt(m[1])})`])), [-1, 'none'], [-2, 'diverged']];
    this.legend.replaceChildren(
      ...keys.map(([k, text]) => {
        const li = el('li', {}, [el('span', { class: 'basin-swatch', 'aria-hidden': 'true' }), el('span', { text })]);
        li.style.setProperty('--basin-color', basinColor(k));
        return li;
      }),
    );
    const figures = ctx.runs.map((run) => {
      const canvas = /** @type {HTMLCanvasElement} */ (el('canvas', { class: 'basin-thumb', width: String(asked.n), height: String(asked.n), 'data-run': run.id }));
      const marks = ctx.minima.map((m) => {
        const star = el('span', { class: 'basin-thumb-min', 'aria-hidden': 'true', text: '★' });
        star.style.left = `${(100 * (m[0] - x0)) / (x1 - x0)}%`;
        star.style.top = `${(100 * (y1 - m[1])) / (y1 - y0)}%`;
        return star;
      });
      const frame = el('div', { class: 'basin-thumb-frame' }, [canvas, ...marks]);
      frame.style.aspectRatio = `${x1 - x0} / ${y1 - y0}`;
      const caption = el('figcaption', { text: `${run.name} lr ${fmt(run.lr)}` });
      const figure = el('figure', { class: 'basin-thumb-figure', 'data-run': run.id }, [frame, caption]);
      figure.style.setProperty('--run-color', run.color);
      canvas.addEventListener('click', (e) => this.clicked(e, canvas));
      return { run, canvas, caption, figure };
    });
    this.maps.replaceChildren(...figures.map((f) => f.figure));
    this.card.hidden = false;
    /** @type {number[]} */
    let x = [];
    /** @type {number[]} */
    let y = [];
    for (const [k, f] of figures.entries()) {
      const body = { ...runFields(ctx, f.run), ...asked, domain: ctx.domain };
      /** @type {Map<number, number>} */
      const counts = new Map();
      await basinStream(
        body,
        {
          head: (h) => {
            x = h.x;
            y = h.y;
          },
          block: (b) => {
            paintRows(f.canvas, b.row, b.minimum);
            for (const row of b.minimum) for (const v of row) counts.set(v, (counts.get(v) ?? 0) + 1);
            progress((k + b.done) / figures.length, `${f.run.name}: ${Math.round(b.done * 100)}%`);
          },
        },
        signal,
      );
      const total = asked.n * asked.n;
      const shares = ctx.minima.map((_, m) => `${Math.round((100 * (counts.get(m) ?? 0)) / total)}%`).join(' / ');
      f.caption.textContent = `${f.run.name} lr ${fmt(f.run.lr)}: ${shares}`;
      f.figure.dataset.counts = JSON.stringify(Object.fromEntries(counts));
    }
    this.grid = { x, y };
    this.card.scrollIntoView({ block: 'nearest' });
  }

  /** @param {MouseEvent} e @param {HTMLCanvasElement} canvas */
  clicked(e, canvas) {
    const g = this.grid;
    if (!g) return;
    const box = canvas.getBoundingClientRect();
    const j = Math.min(g.x.length - 1, Math.floor(((e.clientX - box.left) / box.width) * g.x.length));
    const i = Math.min(g.y.length - 1, Math.floor(((box.bottom - e.clientY) / box.height) * g.y.length));
    if (i >= 0 && j >= 0) this.host.startAt(g.x[j], g.y[i]);
  }

  hide() {
    this.card.hidden = true;
    this.grid = undefined;
    this.plane = '';
  }
}
