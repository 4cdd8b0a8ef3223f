// @ts-check
/**
 * The internals overlay on the contour (off by default): at each run's newest point, arrows for
 * plain gradient descent's step (−lr·∇f), the optimizer's velocity or first moment (−lr·m) and
 * the step it is about to take, and one line per run on why that step differs from gradient
 * descent. The numbers are the server's (`{"type": "internals"}` messages, docs/protocol.md):
 * the optimizer's real state, not a guess made here. Drawn as SVG over the Plotly plot, at most
 * once per animation frame.
 */
import { el } from './controls.js';
import { runColor } from './palette.js';
import { runIndex } from './state.js';

const SVG = 'http://www.w3.org/2000/svg';
const LONGEST = 72; // px: the longest arrow of a run; the three arrows of a run share one scale

/**
 * @typedef {Object} RunInternals
 * @property {number} step
 * @property {[number, number]} point
 * @property {[number, number]} grad
 * @property {number} lr
 * @property {[number, number]} gd_step
 * @property {[number, number]} next_step
 * @property {[number, number] | null} moment
 * @property {string | null} moment_name
 * @property {(number | null)[]} effective_lr
 * @property {string} why
 */

/** @param {string} tag @param {Record<string, string | number>} attrs */
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

export class InternalsOverlay {
  /**
   * @param {HTMLElement} plot  the Plotly div of the paths (#contour)
   * @param {HTMLButtonElement} button  the toggle
   * @param {HTMLElement} readout  where the one-line explanations go
   * @param {{send: (m: object) => void}} connection
   */
  constructor(plot, button, readout, connection) {
    this.plot = plot;
    this.button = button;
    this.readout = readout;
    this.connection = connection;
    this.on = false;
    /** @type {Record<string, RunInternals>} */
    this.runs = {};
    this.pending = 0;
    this.wrote = 0; // when the readout was last written: a few times a second is enough to read
    this.layer = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (svg('svg', { class: 'internals-layer', 'aria-hidden': 'true' })));
    this.layer.append(this.markers());
    (plot.parentElement ?? plot).append(this.layer);
    this.layer.setAttribute('hidden', '');
    button.addEventListener('click', () => this.toggle());
    window.addEventListener('resize', () => this.schedule());
  }

  /** Arrowheads, one per kind (SVG markers take their colour from here). */
  markers() {
    const defs = svg('defs', {});
    for (const [id, color] of [['gd', '#1d2430'], ['moment', '#0b6a78'], ['step', '#000']]) {
      const m = svg('marker', {
        id: `ih-${id}`, viewBox: '0 0 10 10', refX: 8, refY: 5, markerWidth: 11, markerHeight: 11,
        markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse',
      });
      m.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }));
      defs.append(m);
    }
    return defs;
  }

  toggle() {
    this.set(!this.on);
  }

  /** @param {boolean} on */
  set(on) {
    this.on = on;
    this.button.setAttribute('aria-pressed', String(on));
    this.layer.toggleAttribute('hidden', !on);
    this.readout.hidden = !on;
    this.runs = {};
    this.connection.send({ type: 'internals', on });
    if (on) (/** @type {any} */ (this.plot)).on?.('plotly_relayout', () => this.schedule());
    this.schedule();
  }

  /** A new connection is a new session: ask again. */
  connected() {
    if (this.on) this.connection.send({ type: 'internals', on: true });
  }

  /** @param {any} m  a server message @returns {boolean} whether it was ours */
  receive(m) {
    if (m?.type !== 'internals') return false;
    if (m.runs) this.runs = m.runs; // every running run, each time: a stopped one drops out
    if (m.note) this.readout.textContent = m.note;
    this.schedule();
    return true;
  }

  schedule() {
    if (this.pending || !this.on) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  /** Data -> pixel mapping of the plot's axes, relative to the overlay. */
  mapping() {
    const full = /** @type {any} */ (this.plot)._fullLayout;
    const xa = full?.xaxis;
    const ya = full?.yaxis;
    if (!xa?.l2p || !ya?.l2p) return null;
    const box = this.plot.getBoundingClientRect();
    const host = this.layer.getBoundingClientRect();
    const dx = box.left - host.left + xa._offset;
    const dy = box.top - host.top + ya._offset;
    return {
      /** @param {number} x @param {number} y */
      px: (x, y) => [dx + xa.l2p(x), dy + ya.l2p(y)],
      /** data units per pixel, per axis */
      unit: [Math.abs((xa.range[1] - xa.range[0]) / xa._length), Math.abs((ya.range[1] - ya.range[0]) / ya._length)],
    };
  }

  draw() {
    const map = this.mapping();
    const defs = this.layer.firstChild;
    this.layer.replaceChildren(...(defs ? [defs] : []));
    /** @type {HTMLElement[]} */
    const rows = [];
    for (const [id, r] of Object.entries(this.runs)) {
      const color = runColor(Math.max(0, runIndex(id)));
      rows.push(this.row(id, r, color));
      if (map) this.layer.append(this.arrows(r, map, color, id));
    }
    const now = performance.now();
    if (rows.length && (now - this.wrote > 250 || !this.playing())) {
      this.wrote = now;
      this.readout.replaceChildren(this.key(), ...rows);
    }
  }

  /** Whether the race is playing (then the words change faster than anyone reads them). */
  playing() {
    return document.getElementById('play')?.dataset.playing === 'true';
  }

  key() {
    return el('li', { class: 'internals-key' }, [
      el('span', { class: 'key-gd', text: '→ plain GD step −lr·∇f' }),
      el('span', { class: 'key-moment', text: '→ velocity / first moment −lr·m' }),
      el('span', { class: 'key-step', text: '→ the step it takes' }),
      el('span', { class: 'key-note', text: "(one scale per run, shown ×N; the ball moves to the coloured arrow's tip)" }),
    ]);
  }

  /**
   * @param {RunInternals} r
   * @param {{px: (x: number, y: number) => number[], unit: number[]}} map
   * @param {string} color
   * @param {string} id
   */
  arrows(r, map, color, id) {
    const g = svg('g', { class: 'internals-run', 'data-run': id });
    const [x0, y0] = map.px(r.point[0], r.point[1]);
    /** @type {[string, [number, number]][]} */
    const vectors = [['gd', r.gd_step], ['step', r.next_step]];
    if (r.moment) vectors.splice(1, 0, ['moment', [-r.lr * r.moment[0], -r.lr * r.moment[1]]]);
    // pixel lengths at true scale, then one factor for the run so that the longest is LONGEST px
    const pix = vectors.map(([, v]) => [v[0] / map.unit[0], -v[1] / map.unit[1]]);
    const longest = Math.max(...pix.map(([a, b]) => Math.hypot(a, b)));
    if (!(longest > 0) || !Number.isFinite(longest)) return g;
    const scale = LONGEST / longest;
    vectors.forEach(([kind], k) => {
      const [a, b] = pix[k];
      const line = svg('line', {
        x1: x0, y1: y0, x2: x0 + a * scale, y2: y0 + b * scale,
        class: `ih ih-${kind}`, 'marker-end': `url(#ih-${kind})`, 'data-kind': kind,
      });
      if (kind === 'step') line.setAttribute('stroke', color);
      g.append(line);
    });
    g.append(svg('circle', { cx: x0, cy: y0, r: 4, class: 'ih-point', stroke: color }));
    const label = svg('text', { x: x0 + 8, y: y0 - 8, class: 'ih-scale' });
    label.textContent = `×${Number(scale.toPrecision(2))}`; // arrows drawn this much longer than true
    g.append(label);
    return g;
  }

  /** @param {string} id @param {RunInternals} r @param {string} color */
  row(id, r, color) {
    const item = el('li', { 'data-run': id }, [
      el('span', { class: 'ih-swatch', 'aria-hidden': 'true' }),
      el('strong', { text: `${id} · step ${r.step + 1}:` }),
      r.why,
    ]);
    item.style.setProperty('--run-color', color);
    return item;
  }
}
