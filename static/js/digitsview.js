// @ts-check
/**
 * What the digits CNN has learned, for one run (from the server's `view` messages): its
 * first-layer filters as small images (blue below zero, red above, each scaled to its own
 * largest weight), the held-out confusion matrix (rows: the true digit, columns: the predicted
 * one) with the accuracy it gives, and a few test digits with the class predicted for each.
 */
import { el } from './controls.js';

/**
 * @typedef {Object} DigitsSamples  the `dataset` message's samples
 * @property {number[][][]} images  8 x 8, ink in [0, 1]
 * @property {number[]} labels
 */
/**
 * @typedef {Object} DigitsRunView  one run's part of a `view` message (model cnn)
 * @property {number[][][]} filters  one k x k filter per output channel
 * @property {number[][]} confusion  10 x 10 counts
 * @property {number[]} predicted  the class of each sample digit
 * @property {number[]} confidence  its softmax probability
 */

const FILTER_PX = 52;
const DIGIT_PX = 44;

/** @param {number} v  in [-1, 1] @returns {[number, number, number]} blue, white, red */
function diverging(v) {
  const t = Math.min(1, Math.abs(v));
  const [r, g, b] = v < 0 ? [31, 79, 209] : [214, 39, 40];
  return [255 + (r - 255) * t, 255 + (g - 255) * t, 255 + (b - 255) * t];
}

/**
 * Paint a small matrix into a canvas, one block of pixels per entry.
 * @param {HTMLCanvasElement} canvas
 * @param {number[][]} m
 * @param {(v: number) => [number, number, number]} color
 */
function paint(canvas, m, color) {
  const rows = m.length;
  const cols = m[0]?.length ?? 0;
  const ctx = canvas.getContext('2d');
  if (!ctx || !rows || !cols) return;
  const w = canvas.width / cols;
  const h = canvas.height / rows;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const [r, g, b] = color(m[i][j]);
      ctx.fillStyle = `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)})`;
      ctx.fillRect(Math.floor(j * w), Math.floor(i * h), Math.ceil(w), Math.ceil(h));
    }
  }
}

/** @param {number} px */
function canvas(px) {
  return /** @type {HTMLCanvasElement} */ (el('canvas', { width: String(px), height: String(px) }));
}

export class DigitsView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    this.filters = el('div', { class: 'filter-grid', id: 'deep-filters', role: 'list', 'aria-label': 'First-layer filters' });
    this.accuracy = el('p', { class: 'cell-note', id: 'deep-accuracy', 'aria-live': 'polite' });
    this.confusion = /** @type {HTMLTableElement} */ (el('table', { class: 'confusion', id: 'deep-confusion' }));
    this.samples = el('div', { class: 'digit-grid', id: 'deep-samples', role: 'list', 'aria-label': 'Test digits and the predicted class' });
    /** @type {DigitsSamples | null} */
    this.data = null;
    root.replaceChildren(
      el('section', { class: 'deep-part' }, [el('h3', { text: 'First-layer filters' }), this.filters]),
      el('section', { class: 'deep-part' }, [el('h3', { text: 'Confusion on the held-out digits' }), this.accuracy, this.confusion]),
      el('section', { class: 'deep-part deep-wide' }, [el('h3', { text: 'Test digits: true → predicted' }), this.samples]),
    );
  }

  /** @param {DigitsSamples} samples */
  setDataset(samples) {
    this.data = samples;
    this.filters.replaceChildren();
    this.confusion.replaceChildren();
    this.accuracy.textContent = '';
    this.samples.replaceChildren(
      ...samples.images.map((img, i) => {
        const c = canvas(DIGIT_PX);
        paint(c, img, (v) => { const k = 255 * (1 - v); return [k, k, k]; });
        return el('figure', { class: 'digit', role: 'listitem', 'data-label': String(samples.labels[i]) }, [
          c,
          el('figcaption', { text: `${samples.labels[i]} → ?` }),
        ]);
      }),
    );
  }

  /** @param {DigitsRunView} v */
  show(v) {
    this.showFilters(v.filters);
    this.showConfusion(v.confusion);
    this.showPredictions(v.predicted, v.confidence);
  }

  /** @param {number[][][]} filters */
  showFilters(filters) {
    if (this.filters.children.length !== filters.length) {
      this.filters.replaceChildren(
        ...filters.map((_, i) => el('figure', { class: 'filter', role: 'listitem' }, [canvas(FILTER_PX), el('figcaption', { text: String(i + 1) })])),
      );
    }
    filters.forEach((f, i) => {
      const figure = /** @type {HTMLElement} */ (this.filters.children[i]);
      const c = /** @type {HTMLCanvasElement} */ (figure.querySelector('canvas'));
      const top = Math.max(1e-12, ...f.flat().map(Math.abs));
      paint(c, f, (w) => diverging(w / top));
      const text = JSON.stringify(f);
      figure.dataset.values = text;
      figure.title = `filter ${i + 1}: largest |weight| ${top.toPrecision(3)}`;
      c.setAttribute('aria-label', `filter ${i + 1}, weights ${f.map((r) => r.map((w) => w.toFixed(2)).join(' ')).join(' / ')}`);
    });
  }

  /** @param {number[][]} m */
  showConfusion(m) {
    const n = m.length;
    let right = 0;
    let total = 0;
    const top = Math.max(1, ...m.flat());
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        total += m[i][j];
        if (i === j) right += m[i][j];
      }
    }
    this.accuracy.textContent = `held-out accuracy ${(100 * right / Math.max(1, total)).toFixed(1)}% (${right} of ${total})`;
    this.accuracy.dataset.right = String(right);
    this.accuracy.dataset.total = String(total);
    const head = el('tr', {}, [el('th', { scope: 'col', class: 'corner', text: 'true \\ predicted' }), ...m.map((_, j) => el('th', { scope: 'col', text: String(j) }))]);
    const body = m.map((r, i) =>
      el('tr', {}, [
        el('th', { scope: 'row', text: String(i) }),
        ...r.map((count, j) => {
          const t = Math.sqrt(count / top);
          const hue = i === j ? '23, 133, 58' : '214, 39, 40';
          const td = el('td', { text: count ? String(count) : '' });
          if (count) td.style.background = `rgba(${hue}, ${(0.12 + 0.75 * t).toFixed(3)})`;
          if (t > 0.6) td.style.color = '#fff';
          return td;
        }),
      ]),
    );
    this.confusion.replaceChildren(el('thead', {}, [head]), el('tbody', {}, body));
  }

  /** @param {number[]} predicted @param {number[]} confidence */
  showPredictions(predicted, confidence) {
    const labels = this.data?.labels ?? [];
    predicted.forEach((p, i) => {
      const figure = /** @type {HTMLElement | undefined} */ (this.samples.children[i]);
      if (!figure) return;
      const right = p === labels[i];
      figure.dataset.predicted = String(p);
      figure.classList.toggle('wrong', !right);
      const caption = /** @type {HTMLElement} */ (figure.querySelector('figcaption'));
      caption.replaceChildren(
        el('span', { class: 'verdict', text: `${labels[i]} → ${p} ${right ? '✓' : '✗'}` }),
        el('span', { class: 'sure', text: `${Math.round(100 * (confidence[i] ?? 0))}% sure` }),
      );
    });
  }
}
