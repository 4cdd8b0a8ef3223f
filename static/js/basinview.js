// @ts-check
/**
 * The basin map of one run's settings: its controls in the panel (run, grid, steps, tolerance,
 * Draw / Cancel, progress), its key beside the legend (which colour is which minimum, how many
 * starts reached it; or the steps-to-tolerance scale) and the map itself on the contour
 * (BasinLayer). The map streams in row block by row block; Cancel aborts the request, which stops
 * the server's work. A click on a cell, or Enter on the keyboard cursor, starts the runs there.
 */
import { el } from './controls.js';
import { basinStream, errorText, isAbort } from './analysisapi.js';
import { BASIN_COLORS, DIVERGED_COLOR, NONE_COLOR, STEPS_GRADIENT, basinColor, fitPlotsTo } from './basinlayer.js';
import { FieldProblem, field, fmt, markField, numberInput, readField, runFields, select } from './analysishost.js';

/** @typedef {import('./analysishost.js').AnalysisHost} AnalysisHost */
/** @typedef {import('./analysishost.js').AnalysisContext} AnalysisContext */
/** @typedef {import('./analysishost.js').RunInfo} RunInfo */
/** @typedef {import('./basinlayer.js').BasinLayer} BasinLayer */
/** @typedef {import('./basinlayer.js').BasinViewKind} BasinViewKind */

export const GRID_SIZES = [40, 60, 100, 150, 200, 250];
const MAX_STEPS = 20_000;

/** @param {AnalysisContext} ctx  the plane a map covers */
function planeKey(ctx) {
  return JSON.stringify([ctx.problem, ctx.domain]);
}

/** @param {AnalysisContext} ctx @param {RunInfo} run  what a map depends on */
function mapKey(ctx, run) {
  return JSON.stringify([planeKey(ctx), run.optimizer, run.hyper, run.schedule]);
}

export class BasinPanel {
  /**
   * @param {HTMLElement} root  the panel's box
   * @param {HTMLElement} key  the map's key, beside the runs' legend
   * @param {BasinLayer} layer
   * @param {AnalysisHost} host
   * @param {import('./basingallery.js').BasinGallery} gallery  every run's map, side by side
   */
  constructor(root, key, layer, host, gallery) {
    this.gallery = gallery;
    this.root = root;
    this.key = key;
    this.layer = layer;
    this.host = host;
    /** @type {AbortController | null} */
    this.abort = null;
    /** @type {{key: string, plane: string, run: RunInfo, n: number, steps: number, tol: number, minima: [number, number, number][]} | null} */
    this.drawn = null;
    this.started = 0;
    this.runSelect = select([], '');
    this.runSelect.dataset.field = 'optimizer';
    this.gridSelect = select(GRID_SIZES.map((n) => [String(n), `${n} × ${n}`]), '100');
    this.gridSelect.dataset.field = 'n';
    this.steps = numberInput({ min: '1', max: String(MAX_STEPS), step: '1', value: '500', 'data-field': 'steps' });
    this.tol = numberInput({ min: '0', step: 'any', value: '0.001', 'data-field': 'tol' });
    this.drawButton = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'button small primary', id: 'basin-draw', text: 'Draw basin map' }));
    this.allButton = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'button small', id: 'basin-all', text: 'Every run, side by side' }));
    this.cancelButton = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'button small', id: 'basin-cancel', text: 'Cancel' }));
    this.cancelButton.disabled = true;
    this.progress = /** @type {HTMLProgressElement} */ (el('progress', { id: 'basin-progress', max: '1', value: '0', 'aria-label': 'Basin map computed' }));
    this.progress.hidden = true;
    this.status = el('p', { id: 'basin-status', class: 'summary', role: 'status' });
    this.error = el('p', { id: 'basin-error', class: 'field-error', role: 'alert' });
    root.replaceChildren(
      el('p', { class: 'summary', text: 'Where a run with these settings ends, from every start of a grid.' }),
      field('basin-run', 'Run', this.runSelect),
      field('basin-n', 'Grid', this.gridSelect),
      field('basin-steps', 'Steps', this.steps),
      field('basin-tol', 'Tolerance', this.tol),
      el('div', { class: 'inline analysis-actions' }, [this.drawButton, this.allButton, this.cancelButton]),
      this.progress,
      this.status,
      this.error,
    );
    this.drawButton.addEventListener('click', () => this.draw());
    this.allButton.addEventListener('click', () => this.drawAll());
    this.cancelButton.addEventListener('click', () => this.cancel());
    root.addEventListener('focusin', () => this.refresh());
    this.buildKey();
    this.listenForKeys();
    if (layer.box.parentElement) fitPlotsTo(layer.box.parentElement, key);
  }

  buildKey() {
    this.title = el('span', { class: 'basin-title' });
    /** @type {Record<BasinViewKind, HTMLButtonElement>} */
    this.viewButtons = {
      minimum: /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'button small', id: 'basin-view-minimum', 'aria-pressed': 'true', text: 'Minimum reached' })),
      steps: /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'button small', id: 'basin-view-steps', 'aria-pressed': 'false', text: 'Steps to tolerance' })),
    };
    const hide = el('button', { type: 'button', class: 'icon-button', id: 'basin-hide', 'aria-label': 'Hide the basin map', title: 'Hide the basin map', text: '✕' });
    this.legend = el('ul', { class: 'basin-legend', id: 'basin-legend', 'aria-label': 'What each colour of the map means' });
    this.cell = el('p', { class: 'basin-cell', id: 'basin-cell', 'aria-live': 'polite' });
    this.stale = el('p', { class: 'basin-stale', id: 'basin-stale' });
    this.stale.hidden = true;
    this.key.replaceChildren(
      el('div', { class: 'basin-key-head' }, [
        el('strong', { text: 'Basin map' }),
        this.title,
        el('div', { class: 'segmented', role: 'group', 'aria-label': 'Colour the map by' }, Object.values(this.viewButtons)),
        hide,
      ]),
      this.legend,
      this.stale,
      this.cell,
    );
    for (const [view, button] of Object.entries(this.viewButtons)) {
      button.addEventListener('click', () => this.setView(/** @type {BasinViewKind} */ (view)));
    }
    hide.addEventListener('click', () => this.hide());
  }

  /** Arrow keys walk the cells of the focused map, Enter starts the runs there. */
  listenForKeys() {
    const box = this.layer.box;
    box.tabIndex = 0;
    box.setAttribute('role', 'application');
    box.setAttribute('aria-label', 'Basin map: the arrow keys move between cells, Enter starts every run from the cell');
    box.setAttribute('aria-describedby', 'basin-cell');
    box.addEventListener('keydown', (e) => {
      const by = e.shiftKey ? 5 : 1;
      /** @type {Record<string, [number, number]>} */
      const moves = { ArrowUp: [by, 0], ArrowDown: [-by, 0], ArrowLeft: [0, -by], ArrowRight: [0, by] };
      if (moves[e.key]) {
        this.describe(...this.layer.move(...moves[e.key]));
      } else if ((e.key === 'Enter' || e.key === ' ') && this.layer.at) {
        this.startFrom(...this.layer.at);
      } else if (e.key === 'Escape') {
        this.layer.blur();
        box.blur();
      } else {
        return;
      }
      e.preventDefault(); // the race's own keys (space, arrows) wait while the map has the keyboard
    });
    box.addEventListener('focus', () => this.describe(...this.layer.move(0, 0)));
    box.addEventListener('blur', () => this.layer.blur());
  }

  /** The run list, and whether the map still shows the runs' settings. */
  refresh() {
    const ctx = this.host.context();
    const runs = ctx?.runs ?? [];
    const options = runs.map((r) => `${r.id}|${r.name}`).join();
    if (options !== this.runSelect.dataset.options) {
      const keep = this.runSelect.value;
      this.runSelect.replaceChildren(...runs.map((r) => el('option', { value: r.id, text: r.name })));
      this.runSelect.dataset.options = options;
      if (runs.some((r) => r.id === keep)) this.runSelect.value = keep;
    }
    this.drawButton.disabled = !ctx;
    this.allButton.disabled = !ctx;
    if (this.gallery.plane && (!ctx || planeKey(ctx) !== this.gallery.plane)) this.gallery.hide();
    if (!this.drawn || !this.layer.shown) return;
    if (!ctx || planeKey(ctx) !== this.drawn.plane) {
      this.hide(); // another surface: the map is of nothing shown
      return;
    }
    const run = runs.find((r) => r.id === this.drawn?.run.id);
    const same = run && mapKey(ctx, run) === this.drawn.key;
    this.stale.hidden = !!same;
    this.stale.textContent = same ? '' : `Drawn for ${this.drawn.run.name} as it was then; its settings have changed since.`;
  }

  /** @returns {{n: number, steps: number, tol: number} | null} the grid asked for (null: refused) */
  asked() {
    try {
      return {
        n: readField(/** @type {any} */ (this.gridSelect), 'n', { min: 2, max: 250, int: true }),
        steps: readField(this.steps, 'steps', { min: 1, max: MAX_STEPS, int: true }),
        tol: readField(this.tol, 'tol', { min: Number.MIN_VALUE }),
      };
    } catch (err) {
      this.fail(err);
      return null;
    }
  }

  /** A new request replaces the one under way. @returns {AbortController} */
  begin() {
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    this.fail(null);
    this.running(true);
    this.started = performance.now();
    return abort;
  }

  /**
   * @param {AbortController} abort
   * @param {unknown} err
   */
  ended(abort, err) {
    if (isAbort(err)) {
      if (this.abort === abort) this.status.textContent = `Cancelled at ${Math.round(this.progress.value * 100)}%.`;
    } else if (err) {
      this.status.textContent = '';
      this.fail(err);
    }
    if (this.abort === abort) {
      this.abort = null;
      this.running(false);
    }
  }

  async drawAll() {
    this.refresh();
    const ctx = this.host.context();
    const asked = this.asked();
    if (!ctx || !asked) return;
    const abort = this.begin();
    this.gallery.plane = planeKey(ctx);
    this.status.textContent = `Computing ${ctx.runs.length} maps of ${asked.n * asked.n} runs…`;
    try {
      await this.gallery.drawAll(ctx, asked, abort.signal, (done, text) => {
        this.progress.value = done;
        this.status.textContent = `Computed ${text}…`;
      });
      const seconds = (performance.now() - this.started) / 1000;
      this.status.textContent = `Done: ${ctx.runs.length} maps of ${asked.n * asked.n} runs in ${seconds.toFixed(1)} s.`;
      this.ended(abort, null);
    } catch (err) {
      this.ended(abort, err);
    }
  }

  async draw() {
    this.refresh();
    const ctx = this.host.context();
    const run = ctx?.runs.find((r) => r.id === this.runSelect.value) ?? ctx?.runs[0];
    const asked = this.asked();
    if (!ctx || !run || !asked) return;
    const body = { ...runFields(ctx, run), ...asked, domain: ctx.domain };
    const abort = this.begin();
    this.status.textContent = `Computing ${asked.n * asked.n} runs of ${run.name}…`;
    try {
      await basinStream(
        body,
        {
          head: (h) => {
            this.drawn = { key: mapKey(ctx, run), plane: planeKey(ctx), run, ...asked, minima: h.minima };
            this.layer.begin(h.x, h.y);
            this.layer.setView(this.view());
            this.showKey();
          },
          block: (b) => {
            this.layer.add(b.row, b.minimum, b.steps);
            this.progress.value = b.done;
            this.status.textContent = `Computed ${Math.round(b.done * 100)}% of ${asked.n * asked.n} runs…`;
            this.fillLegend();
          },
        },
        abort.signal,
      );
      const seconds = (performance.now() - this.started) / 1000;
      this.status.textContent = `Done: ${asked.n * asked.n} runs of ${asked.steps} steps in ${seconds.toFixed(1)} s.`;
      this.ended(abort, null);
    } catch (err) {
      this.ended(abort, err);
    }
  }

  cancel() {
    this.abort?.abort();
  }

  /** @param {boolean} on */
  running(on) {
    this.cancelButton.disabled = !on;
    this.progress.hidden = !on;
    if (on) this.progress.value = 0;
    this.root.setAttribute('aria-busy', String(on));
  }

  /** @param {unknown} err  null: no error */
  fail(err) {
    this.error.textContent = err ? errorText(err) : '';
    const name = err instanceof FieldProblem || (err && typeof err === 'object' && 'field' in err) ? /** @type {any} */ (err).field : undefined;
    markField(this.root, name);
  }

  /** @returns {BasinViewKind} */
  view() {
    return this.viewButtons?.steps.getAttribute('aria-pressed') === 'true' ? 'steps' : 'minimum';
  }

  /** @param {BasinViewKind} view */
  setView(view) {
    for (const [v, b] of Object.entries(this.viewButtons ?? {})) b.setAttribute('aria-pressed', String(v === view));
    this.layer.setView(view);
    this.fillLegend();
  }

  showKey() {
    const d = this.drawn;
    if (!d) return;
    this.title.textContent = `${d.run.name} lr ${fmt(d.run.lr)} · ${d.n}×${d.n} · ${d.steps} steps · tol ${fmt(d.tol)}`;
    this.key.hidden = false;
    this.stale.hidden = true;
    this.cell.textContent = 'Click a cell to start every run there; on the keyboard, Tab to the map, then arrows and Enter.';
    this.fillLegend();
  }

  /** Each colour and the share of the starts computed so far that it covers. */
  fillLegend() {
    const d = this.drawn;
    if (!d || !this.legend) return;
    const counts = this.layer.counts();
    if (this.view() === 'steps') {
      this.legend.replaceChildren(
        el('li', { class: 'basin-scale' }, [
          el('span', { text: '0' }),
          Object.assign(el('span', { class: 'basin-gradient', 'aria-hidden': 'true' }), { style: `background: ${STEPS_GRADIENT}` }),
          el('span', { text: `${this.layer.maxSteps} steps to within tol of the minimum reached` }),
        ]),
        this.item(NONE_COLOR, 'none reached', -1, counts),
        this.item(DIVERGED_COLOR, 'diverged', -2, counts),
      );
      return;
    }
    const items = d.minima.map((m, k) => this.item(basinColor(k), `(${fmt(m[0])}, ${fmt(m[1])})`, k, counts));
    if (!d.minima.length) items.push(el('li', { class: 'basin-share', text: 'This problem lists no minima: a start either diverges or not.' }));
    this.legend.replaceChildren(...items, this.item(NONE_COLOR, 'none', -1, counts), this.item(DIVERGED_COLOR, 'diverged', -2, counts));
  }

  /**
   * @param {string} color @param {string} text @param {number} k  the cells' `minimum`
   * @param {Map<number, number>} counts  cells by `minimum`, of those computed so far
   */
  item(color, text, k, counts) {
    const count = counts.get(k) ?? 0;
    let done = 0;
    for (const c of counts.values()) done += c;
    const share = done ? `${Math.round((100 * count) / done)}%` : '';
    const li = el('li', { 'data-minimum': String(k), 'data-count': String(count) }, [
      el('span', { class: 'basin-swatch', 'aria-hidden': 'true' }),
      el('span', { text }),
      el('span', { class: 'basin-share', text: share }),
    ]);
    li.style.setProperty('--basin-color', color);
    if (k >= BASIN_COLORS.length) li.title = 'colours repeat after eight minima';
    return li;
  }

  /** @param {number} i @param {number} j */
  describe(i, j) {
    const d = this.drawn;
    if (!d) return;
    const k = this.layer.minimum[i * this.layer.x.length + j];
    const s = this.layer.steps[i * this.layer.x.length + j];
    const where = `(${fmt(this.layer.x[j], 4)}, ${fmt(this.layer.y[i], 4)})`;
    const what =
      k === -3 ? 'not computed yet'
        : k === -2 ? 'diverged'
          : k === -1 ? 'ends near no listed minimum'
            : `reaches (${fmt(d.minima[k][0])}, ${fmt(d.minima[k][1])})${s >= 0 ? ` from step ${s}` : ''}`;
    this.cell.textContent = `Start ${where}: ${what}. Enter starts every run here.`;
  }

  /**
   * A click on the contour: over the map, the runs start from the cell's own start.
   * @param {number} x @param {number} y
   * @returns {boolean} whether the map took the click
   */
  pick(x, y) {
    const at = this.layer.cellAt(x, y);
    if (!at) return false;
    this.startFrom(...at);
    return true;
  }

  /** @param {number} i @param {number} j */
  startFrom(i, j) {
    this.describe(i, j);
    this.host.startAt(this.layer.x[j], this.layer.y[i]);
  }

  hide() {
    this.cancel();
    this.layer.hide();
    this.key.hidden = true;
    this.drawn = null;
  }
}
