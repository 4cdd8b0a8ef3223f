// @ts-check
/**
 * The surface under the race: fetching and drawing the state's surface (a named one, a formula,
 * or a regression's loss), and the commands that change it or the start every run uses.
 */
import * as api from './api.js';
import { CUSTOM } from './state.js';
import { hasStart } from './modes.js';
import { valueScale } from './palette.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./state.js').RegState} RegState */
/** @typedef {import('./api.js').SurfaceSpec} SurfaceSpec */
/** @typedef {import('./surfaceplot.js').Surface} Surface */
/** @typedef {import('./controller.js').Controller} Controller */
/** @typedef {{surface: Surface, start: [number, number], regression?: api.RegressionSurface}} LoadedSurface */

const GRID_POINTS = 120;

/**
 * @param {number} v
 * @param {number} width  of the domain: keep about a thousandth of it
 */
function roundTo(v, width) {
  const digits = Math.max(0, Math.ceil(-Math.log10(width / 1000)));
  return Number(v.toFixed(digits));
}

/** @param {(number | null)[][]} z */
function hasNegative(z) {
  return z.some((row) => row.some((v) => v !== null && v < 0));
}

export class SurfaceCommands {
  /** @param {Controller} app */
  constructor(app) {
    this.app = app;
    this.request = 0;
    /** why the server refused the last surface asked for */
    this.refusal = '';
  }

  /**
   * Fetch and draw the surface of the current state; resolves false if the formula was refused.
   * @returns {Promise<boolean>}
   */
  async load() {
    const app = this.app;
    const request = ++this.request;
    const s = app.state;
    if (s.mode === 'network') return app.netCmds.clearSurface();
    try {
      const loaded = await surfaceFor(s, app.specs.surfaces);
      if (request !== this.request) return false;
      return await this.show(loaded);
    } catch (err) {
      if (request !== this.request) return false;
      const e = /** @type {api.ApiError} */ (err);
      this.refusal = e.message;
      if (s.surface === CUSTOM && app.panels) app.panels.surface.showFormulaError(e.message, e.position);
      else app.p.notices.say(e.message);
      return false;
    }
  }

  /**
   * The first surface: the one fetched with the page, else the state's. A link whose formula this
   * server refuses shows the first surface instead, with the reason, so a reload is never blank.
   * @param {LoadedSurface | null} first
   * @returns {Promise<boolean>}
   */
  async first(first) {
    if (first) return this.show(first);
    if (await this.load()) return true;
    const app = this.app;
    const s = app.state;
    if (s.mode !== 'surface' || s.surface !== CUSTOM) return false;
    const fallback = app.specs.surfaces[0];
    const shown = s.expr.length > 40 ? `${s.expr.slice(0, 40)}…` : s.expr;
    app.p.notices.say(`The link's formula ${shown} was refused (${this.refusal}); showing ${fallback.title}.`, 10000);
    app.state = { ...s, surface: fallback.name, expr: '', params: {}, domain: null, start: null };
    app.url.write('replace');
    app.renderPanels();
    return this.load();
  }

  /**
   * @param {LoadedSurface} loaded
   * @returns {Promise<boolean>}
   */
  async show(loaded) {
    const { p, panels } = this.app;
    const surface = loaded.surface;
    this.app.surface = surface;
    this.app.defaultStart = loaded.start;
    panels?.surface.showFormulaError('');
    this.app.caption(surface.title);
    if (loaded.regression) {
      p.regression.setData(loaded.regression);
      panels?.regression.setFormula(`L(w, b) = ${loaded.regression.formula}`);
    }
    p.loss.setLogY(!hasNegative(surface.grid.z));
    p.surface3d.setSurface(surface);
    p.contour.setStart(this.app.start());
    await p.contour.setSurface(surface);
    this.app.panels?.race.render(this.app.state, this.app.start());
    return true;
  }

  /** @param {string} name */
  pickSurface(name) {
    const app = this.app;
    if (name === CUSTOM) {
      if (app.state.expr) app.change({ surface: CUSTOM, start: null });
      else {
        app.state = { ...app.state, surface: CUSTOM };
        app.renderPanels();
      }
      return;
    }
    app.change({ surface: name, params: {}, start: null, domain: null });
  }

  /**
   * @param {string} expression
   * @param {import('./api.js').Example | null} example
   */
  drawFormula(expression, example) {
    if (!expression) {
      this.app.panels?.surface.showFormulaError('Type a formula in x and y first.');
      return;
    }
    this.app.change({
      surface: CUSTOM,
      expr: expression,
      domain: example?.domain ?? this.app.state.domain,
      start: example?.start ?? null,
      params: {},
    });
  }

  /** @param {string} name @param {number} value @param {boolean} final */
  surfaceParam(name, value, final) {
    if (!final) return;
    const s = this.app.state;
    this.app.change({ params: { ...s.params, [name]: value }, start: s.start });
  }

  /** @param {RegState} reg */
  changeRegression(reg) {
    this.app.change({ reg, start: null });
    this.app.panels?.regression.render(this.app.state.reg);
  }

  /** A click on the plot: every run starts there. @param {number} x @param {number} y */
  pickStart(x, y) {
    const app = this.app;
    if (!hasStart(app.state.mode)) return;
    const d = app.surface?.domain ?? [[-1, 1], [-1, 1]];
    const start = /** @type {[number, number]} */ ([roundTo(x, d[0][1] - d[0][0]), roundTo(y, d[1][1] - d[1][0])]);
    app.change({ start });
    app.p.notices.say(`Every run now starts at (${start[0]}, ${start[1]}).`, 2500);
  }
}

/**
 * Fetch what the views need to draw the state's surface.
 * @param {AppState} s
 * @param {SurfaceSpec[] | Promise<SurfaceSpec[]>} specs
 * @returns {Promise<LoadedSurface>}
 */
export async function surfaceFor(s, specs) {
  if (s.mode === 'regression') {
    const r = await api.regression(s.reg, GRID_POINTS);
    return {
      surface: {
        key: `regression:${JSON.stringify(s.reg)}`,
        title: `${r.title}: L(w, b) = ${r.formula}`,
        grid: r.grid,
        scale: valueScale(r.grid.z, true, r.minima.map((m) => m[2])),
        domain: r.domain,
        minima: r.minima,
        axes: ['w', 'b'],
      },
      start: r.start,
      regression: r,
    };
  }
  if (s.mode === 'network') throw new api.ApiError('A network has no surface to fetch.', 0);
  if (s.surface === CUSTOM) {
    const g = await api.expressionGrid(s.expr, GRID_POINTS, s.domain);
    return {
      surface: {
        key: `custom:${s.expr}:${JSON.stringify(g.domain)}`,
        title: `f(x, y) = ${g.formula ?? s.expr}`,
        grid: g,
        scale: valueScale(g.z, false),
        domain: g.domain,
        minima: [],
      },
      start: g.start,
    };
  }
  const [list, grid] = await Promise.all([specs, api.surfaceGrid(s.surface, s.params, GRID_POINTS)]);
  const spec = list.find((x) => x.name === s.surface);
  if (!spec) throw new api.ApiError(`Unknown surface "${s.surface}".`, 404, 'surface');
  return {
    surface: {
      key: `${spec.name}:${JSON.stringify(s.params)}`,
      title: `${spec.title}: ${spec.formula}`,
      grid,
      scale: valueScale(
        grid.z,
        spec.log_color,
        spec.minima.map((m) => m[2]),
      ),
      domain: spec.domain,
      minima: spec.minima,
    },
    start: spec.start,
  };
}
