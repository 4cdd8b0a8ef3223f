// @ts-check
/**
 * What every chart of the runs shares: it follows a RunStore, appending only new points with one
 * Plotly.extendTraces call per update, and redraws in full (Plotly.react, which keeps the user's
 * zoom and camera through `uirevision`) only when points were taken back or the runs changed.
 */
import { Extension, plotConfig } from './plotkit.js';
import { drawFigure, restyleTrace } from './figure.js';
import { NORMAL_THEME } from './theme.js';

/** @typedef {import('./store.js').RunStore} RunStore */
/** @typedef {import('./store.js').Track} Track */
/** @typedef {import('./theme.js').Theme} Theme */
/**
 * How a run is named and coloured: `name` ("a · Adam") in the plots' hover text, `label` (with
 * the learning rate, which may change live) in the HTML legend.
 * @typedef {{id: string, name: string, label: string, color: string}} RunLegend
 */

export class PathView {
  /**
   * @param {HTMLElement} gd  the plot's div
   * @param {string[]} keys  the attributes extended per point ("x", "y", ...)
   * @param {string[]} [buttons]  modebar buttons
   * @param {Theme} [theme]
   */
  constructor(gd, keys, buttons = [], theme = NORMAL_THEME) {
    this.gd = gd;
    this.theme = theme;
    this.keys = keys;
    this.config = plotConfig(buttons);
    /** @type {RunLegend[]} */
    this.legends = [];
    /** points drawn per track, and the track versions they came from */
    /** @type {number[]} */
    this.drawn = [];
    /** @type {number[]} */
    this.versions = [];
    this.storeVersion = -1;
    this.marksVersion = -1;
    this.dirty = true;
    this.busy = false;
    this.visible = true;
  }

  /** @param {RunLegend[]} legends  a redraw follows only if names or colours changed */
  setLegends(legends) {
    const key = (/** @type {RunLegend[]} */ l) => JSON.stringify(l.map((x) => [x.name, x.color]));
    if (key(legends) !== key(this.legends)) this.dirty = true;
    this.legends = legends;
  }

  /** @param {Theme} theme  the next update redraws the figure in it */
  setTheme(theme) {
    this.theme = theme;
    this.invalidate();
  }

  /** The figure needs a full redraw at the next update. */
  invalidate() {
    this.dirty = true;
  }

  /** @param {RunStore} store */
  needsRedraw(store) {
    const tracks = this.tracksOf(store);
    return (
      this.dirty ||
      store.version !== this.storeVersion ||
      tracks.length !== this.drawn.length ||
      tracks.some((t, i) => t.version !== this.versions[i] || t.length < this.drawn[i])
    );
  }

  /**
   * Bring the figure up to the store; resolves when Plotly is done. Calls that arrive while one is
   * under way are skipped: the next one picks up every point since.
   * @param {RunStore} store
   * @returns {Promise<void>}
   */
  async update(store) {
    if (this.busy || !this.visible || !this.ready()) return;
    this.busy = true;
    try {
      if (this.needsRedraw(store)) {
        await this.redraw(store);
      } else {
        if (store.marksVersion !== this.marksVersion) await this.redrawMarks(store);
        const ext = new Extension(this.keys);
        this.tracksOf(store).forEach((t, i) => {
          if (t.length > this.drawn[i]) this.extendTrack(ext, t, i, this.drawn[i]);
        });
        if (!ext.empty) {
          this.extendExtras(ext, store);
          await ext.apply(this.gd);
        }
      }
      this.drawn = this.tracksOf(store).map((t) => t.length);
    } finally {
      this.busy = false;
    }
  }

  /**
   * New marks (a live change acked, a run stopped): restyle the one trace that holds them.
   * @param {RunStore} store
   */
  async redrawMarks(store) {
    this.marksVersion = store.marksVersion;
    const marks = this.marks(store);
    if (!marks) return;
    await restyleTrace(this.gd, marks.index, marks.trace, this.theme);
  }

  /** @param {RunStore} store */
  async redraw(store) {
    this.storeVersion = store.version;
    this.marksVersion = store.marksVersion;
    this.versions = this.tracksOf(store).map((t) => t.version);
    this.dirty = false;
    await drawFigure(this.gd, this.traces(store), this.layout(), this.config, this.theme);
  }

  // --- for subclasses -------------------------------------------------------------------

  /**
   * The tracks this view draws, in trace order (the runs; a view may add the torch twins).
   * @param {RunStore} store
   * @returns {Track[]}
   */
  tracksOf(store) {
    return store.tracks;
  }

  /** @returns {boolean} false until the figure can be drawn (e.g. the surface is not loaded) */
  ready() {
    return true;
  }

  /** @param {RunStore} _store @returns {object[]} */
  traces(_store) {
    return [];
  }

  /**
   * The trace of marks and its index, for views that show marks.
   * @param {RunStore} _store
   * @returns {{index: number, trace: Record<string, unknown>} | null}
   */
  marks(_store) {
    return null;
  }

  /** @returns {Record<string, any>} */
  layout() {
    return {};
  }

  /**
   * Add the points of `track` from index `from` on.
   * @param {Extension} _ext
   * @param {Track} _track
   * @param {number} _index
   * @param {number} _from
   */
  extendTrack(_ext, _track, _index, _from) {}

  /**
   * Anything besides the paths that moves with them (the heads).
   * @param {Extension} _ext
   * @param {RunStore} _store
   */
  extendExtras(_ext, _store) {}
}
