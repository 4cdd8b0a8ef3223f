// @ts-check
/**
 * The page's state and the one place a change of it is decided: redraw the surface, restart the
 * race, or only record it in the URL. The jobs live in their own modules, each built here on this
 * shared state: the URL (urlsync.js), the surface and the start (surfacecommands.js), the race and
 * its runs (racecommands.js), a network's race (networkcommands.js), the mode and the main view
 * (viewcommands.js). Views draw; Race talks to the server; these decide.
 */
import { diffStates } from './state.js';
import { hasStart } from './modes.js';
import { UrlSync } from './urlsync.js';
import { SurfaceCommands } from './surfacecommands.js';
import { RaceCommands } from './racecommands.js';
import { NetworkCommands } from './networkcommands.js';
import { ViewCommands } from './viewcommands.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./state.js').Mode} Mode */
/** @typedef {import('./state.js').RunState} RunState */
/** @typedef {import('./api.js').SurfaceSpec} SurfaceSpec */
/** @typedef {import('./api.js').OptimizerSpec} OptimizerSpec */
/** @typedef {import('./api.js').ScheduleSpec} ScheduleSpec */
/** @typedef {import('./surfaceplot.js').Surface} Surface */
/** @typedef {{surfaces: SurfaceSpec[], optimizers: OptimizerSpec[], schedules: ScheduleSpec[]}} Specs */

/**
 * @typedef {Object} Parts  what the commands drive; app.js builds them
 * @property {import('./store.js').RunStore} store
 * @property {import('./race.js').Race} race
 * @property {import('./socket.js').Connection} connection
 * @property {import('./contour.js').ContourView} contour
 * @property {import('./surface3d.js').SurfaceView} surface3d
 * @property {import('./charts.js').SeriesView} loss
 * @property {import('./charts.js').SeriesView} gnorm
 * @property {import('./toolbar.js').Toolbar} toolbar
 * @property {import('./legend.js').Legend} legend
 * @property {import('./events.js').Notices} notices
 * @property {import('./networkview.js').NetworkView} network  boundary and landscape of a network race
 * @property {import('./boundaryview.js').BoundaryView} boundary
 * @property {import('./netcharts.js').NetCurvesView} netLoss
 * @property {import('./netcharts.js').NetCurvesView} netAcc
 * @property {import('./regressionview.js').RegressionView} regression  data and fitted lines
 * @property {import('./deepview.js').DeepView} deep  the figure of a CNN or RNN race
 * @property {import('./modeswitch.js').ModeSwitch} modes
 * @property {import('./analysis.js').Analysis | null} [analysis]  basin map, sweep, tuning (full page)
 */

/**
 * @typedef {Object} Panels  the settings views, built once the specs are in
 * @property {import('./surfacepanel.js').SurfacePanel} surface
 * @property {import('./runcards.js').RunCards} runs
 * @property {import('./racepanel.js').RacePanel} race
 * @property {import('./networkpanel.js').NetworkPanel} network
 * @property {import('./regressionpanel.js').RegressionPanel} regression
 */

export class Controller {
  /**
   * @param {AppState} state
   * @param {Specs} specs
   * @param {Parts} parts
   */
  constructor(state, specs, parts) {
    this.state = state;
    this.specs = specs;
    this.p = parts;
    /** @type {Panels | null} */
    this.panels = null;
    /** @type {Surface | null} the surface drawn (null in a network race until its landscape) */
    this.surface = null;
    /** @type {[number, number]} the surface's own start */
    this.defaultStart = [0, 0];
    this.url = new UrlSync(this);
    this.surfaceCmds = new SurfaceCommands(this);
    this.raceCmds = new RaceCommands(this);
    this.netCmds = new NetworkCommands(this);
    this.viewCmds = new ViewCommands(this);
  }

  /** @param {Panels} panels */
  attach(panels) {
    this.panels = panels;
    this.viewCmds.applyMode();
    this.renderPanels();
    this.url.listen();
  }

  /** @returns {[number, number]} the start every run uses */
  start() {
    return this.state.start ?? this.defaultStart;
  }

  /** @param {string} text  the line under the title: what is being minimized */
  caption(text) {
    const caption = document.getElementById('surface-caption');
    if (caption) caption.textContent = text;
  }

  /**
   * Change the state; a new surface, or a new race, follows if the change asks for one.
   * @param {Partial<AppState>} patch
   * @param {'push' | 'replace'} how
   */
  change(patch, how = 'push') {
    const before = this.state;
    const next = { ...this.state, ...patch };
    const d = diffStates(this.state, next);
    this.state = next;
    if (d.surface) {
      // only a surface the server accepted enters the URL; a refused one leaves the race as it was
      this.renderPanels();
      this.surfaceCmds.load().then((ok) => {
        if (ok) {
          this.url.write(how);
          this.raceCmds.startRace();
        } else if (this.state === next) {
          this.state = before;
        }
      });
      return;
    }
    this.url.write(how);
    if (d.race) {
      this.panels?.race.render(this.state, this.start());
      this.raceCmds.startRace();
    }
  }

  /** Every settings panel (and the toolbar) shows the current state. */
  renderPanels() {
    if (!this.panels) return;
    this.panels.surface.render(this.state);
    this.panels.network.render(this.state.net);
    this.panels.regression.render(this.state.reg);
    this.panels.runs.render(this.raceCmds.shownRuns());
    this.panels.race.render(this.state, hasStart(this.state.mode) ? this.start() : [0, 0]);
    this.p.toolbar.setSpeed(this.state.speed);
    this.p.toolbar.setView(this.state.view);
  }
}
