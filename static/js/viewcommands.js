// @ts-check
/**
 * Which parts of the page show: the mode (surface, network or regression, each with its own
 * runs) and the main view (contour or 3D), with the charts that go under it.
 */
import { defaultRuns } from './state.js';
import { optimizersFor, showMode } from './modes.js';
import { plotly, resizePlots } from './plotkit.js';
import { hasWebGL } from './surface3d.js';
import { modelOf } from './deepstate.js';

/** @typedef {import('./state.js').Mode} Mode */
/** @typedef {import('./state.js').RunState} RunState */
/** @typedef {import('./controller.js').Controller} Controller */

export class ViewCommands {
  /** @param {Controller} app */
  constructor(app) {
    this.app = app;
    /** @type {Partial<Record<Mode, RunState[]>>} the runs each mode had, for switching back */
    this.runsByMode = {};
  }

  /**
   * Another mode: its own runs (those it had, or its defaults), a new race.
   * @param {Mode} mode
   */
  pickMode(mode) {
    const app = this.app;
    if (mode === app.state.mode) return;
    this.runsByMode[app.state.mode] = app.raceCmds.shownRuns();
    const runs = this.runsByMode[mode] ?? defaultRuns(mode);
    app.state = { ...app.state, mode, runs, start: null, changes: [] };
    app.url.write('push');
    this.applyMode();
    app.renderPanels();
    this.showView(app.state.view);
    app.surfaceCmds.load().then((ok) => ok && app.raceCmds.startRace());
  }

  /** Show the parts of the page that belong to the current mode. */
  applyMode() {
    const { state, p, panels, specs } = this.app;
    const mode = state.mode;
    showMode(mode);
    p.modes.set(mode);
    panels?.runs.setChoices(optimizersFor(mode, specs.optimizers));
    const network = mode === 'network';
    const regression = mode === 'regression';
    p.loss.visible = !network;
    p.gnorm.visible = !network;
    p.netLoss.visible = network;
    p.netAcc.visible = network;
    p.boundary.visible = network;
    p.deep.setKind(network ? modelOf(state.net.dataset) : 'mlp');
    p.regression.visible = regression;
    p.loss.title = regression ? 'loss L(w, b)' : 'loss f(x, y)';
    p.gnorm.title = regression ? 'gradient norm ‖∇L(w, b)‖' : 'gradient norm ‖∇f‖';
    for (const v of [p.netLoss, p.netAcc, p.loss, p.gnorm]) v.invalidate();
    const note = document.getElementById('torch-note');
    if (note && !network) note.hidden = true;
    if (network) this.app.caption('');
    requestAnimationFrame(resizePlots);
    const [cx, cy] = regression ? ['w', 'b'] : ['x', 'y'];
    document.querySelectorAll('.coord-x').forEach((n) => (n.textContent = cx));
    document.querySelectorAll('.coord-y').forEach((n) => (n.textContent = cy));
  }

  /** @returns {import('./pathview.js').PathView[]} the charts under the figure, in this mode */
  charts() {
    const p = this.app.p;
    return this.app.state.mode === 'network' ? [p.netLoss, p.netAcc] : [p.loss, p.gnorm];
  }

  /** @param {'contour' | 'surface'} view */
  setView(view) {
    const app = this.app;
    if (view === app.state.view) return;
    app.state = { ...app.state, view };
    app.url.write('push');
    this.showView(view);
  }

  /** @param {'contour' | 'surface'} asked  (a network is drawn as a contour only) */
  showView(asked) {
    const p = this.app.p;
    const view = this.app.state.mode === 'network' ? 'contour' : asked;
    const stack = /** @type {HTMLElement} */ (document.getElementById('contour-stack'));
    const note = /** @type {HTMLElement} */ (document.getElementById('view-note'));
    p.toolbar.setView(view);
    stack.hidden = view !== 'contour';
    p.surface3d.gd.hidden = view !== 'surface';
    p.contour.visible = view === 'contour';
    p.surface3d.visible = view === 'surface';
    note.hidden = true;
    if (view === 'surface' && !hasWebGL()) {
      note.textContent = 'The 3D view needs WebGL, which this browser has turned off. The contour view works.';
      note.hidden = false;
    }
    const shown = view === 'contour' ? p.contour : p.surface3d;
    shown.invalidate();
    if (view === 'contour') plotly().Plots.resize(p.contour.background);
  }
}
