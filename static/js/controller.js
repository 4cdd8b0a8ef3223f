// @ts-check
/**
 * The page's decisions: what a change of state means (redraw the surface, restart the race, or
 * send a live `set`), keeping the URL hash as the one record of the state, and following back and
 * forward. Views draw; Race talks to the server; this decides.
 */
import * as api from './api.js';
import { CUSTOM, cloneState, currentRuns, defaultRuns, diffStates, formatHash, parseHash, runChanges, runId, runIndex, withIds, MAX_RUNS } from './state.js';
import { hasStart, optimizersFor, problemOf, showMode } from './modes.js';
import { TORCH_MISSING_NOTE } from './networkpanel.js';
import { describeNetwork } from './networkview.js';
import { runColor, valueScale } from './palette.js';
import { applyRunChange, runNames } from './runcards.js';
import { eventWords } from './events.js';
import { plotly } from './plotkit.js';
import { hasWebGL } from './surface3d.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./state.js').RunState} RunState */
/** @typedef {import('./api.js').SurfaceSpec} SurfaceSpec */
/** @typedef {import('./api.js').OptimizerSpec} OptimizerSpec */
/** @typedef {import('./api.js').ScheduleSpec} ScheduleSpec */
/** @typedef {import('./contour.js').Surface} Surface */
/** @typedef {import('./runcards.js').RunChange} RunChange */
/** @typedef {import('./state.js').Mode} Mode */
/** @typedef {import('./state.js').NetState} NetState */
/** @typedef {import('./state.js').RegState} RegState */

const GRID_POINTS = 120;

/**
 * @typedef {Object} Parts  what the controller drives; app.js builds them
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
 * @property {import('./modeswitch.js').ModeSwitch} modes
 */

/**
 * @typedef {Object} Panels  the settings views, built once the specs are in
 * @property {import('./surfacepanel.js').SurfacePanel} surface
 * @property {import('./runcards.js').RunCards} runs
 * @property {import('./racepanel.js').RacePanel} race
 * @property {import('./networkpanel.js').NetworkPanel} network
 * @property {import('./regressionpanel.js').RegressionPanel} regression
 */

/**
 * @param {number} v
 * @param {number} width  of the domain: keep about a thousandth of it
 */
function roundTo(v, width) {
  const digits = Math.max(0, Math.ceil(-Math.log10(width / 1000)));
  return Number(v.toFixed(digits));
}

export class Controller {
  /**
   * @param {AppState} state
   * @param {{surfaces: SurfaceSpec[], optimizers: OptimizerSpec[], schedules: ScheduleSpec[]}} specs
   * @param {Parts} parts
   */
  constructor(state, specs, parts) {
    this.state = state;
    this.specs = specs;
    this.p = parts;
    /** @type {Panels | null} */
    this.panels = null;
    /** @type {Surface | null} */
    this.surface = null;
    /** @type {[number, number]} the surface's own start */
    this.defaultStart = [0, 0];
    this.writtenHash = '';
    this.surfaceRequest = 0;
    this.maxRuns = MAX_RUNS;
    this.wantRace = false;
    /** why the server refused the last surface asked for */
    this.refusal = '';
    /** @type {Partial<Record<Mode, RunState[]>>} the runs each mode had, for switching back */
    this.runsByMode = {};
  }

  /** @param {Panels} panels */
  attach(panels) {
    this.panels = panels;
    this.applyMode();
    this.renderPanels();
    window.addEventListener('popstate', () => this.followUrl());
    window.addEventListener('hashchange', () => this.followUrl());
  }

  // --- the URL ---------------------------------------------------------------------------

  /** @param {'push' | 'replace'} how */
  writeHash(how) {
    const hash = formatHash(this.state);
    if (hash === this.writtenHash && hash === location.hash) return;
    this.writtenHash = hash;
    if (how === 'push' && location.hash && location.hash !== hash) history.pushState(null, '', hash);
    else history.replaceState(null, '', hash);
  }

  /** Back, forward, or a hash typed by hand: make the page match it. */
  followUrl() {
    if (location.hash === this.writtenHash) return;
    const next = this.checked(parseHash(location.hash));
    this.writtenHash = location.hash;
    const d = diffStates(this.state, next);
    const modeChanged = this.state.mode !== next.mode;
    this.state = next;
    if (modeChanged) this.applyMode();
    this.renderPanels();
    if (d.view || modeChanged) this.showView(next.view);
    if (d.speed) {
      this.p.toolbar.setSpeed(next.speed);
      this.p.race.speed(next.speed);
    }
    if (d.surface) this.loadSurface().then((ok) => ok && this.startRace());
    else if (d.race) this.startRace();
  }

  /**
   * Names the server does not know are replaced, with a word, rather than failing the race.
   * @param {AppState} state
   */
  checked(state) {
    const s = cloneState(state);
    if (s.surface !== CUSTOM && !this.specs.surfaces.some((x) => x.name === s.surface)) {
      this.p.notices.say(`This server has no surface "${s.surface}"; showing ${this.specs.surfaces[0].title}.`);
      s.surface = this.specs.surfaces[0].name;
      s.params = {};
    }
    if (s.surface === CUSTOM && !s.expr) s.surface = this.specs.surfaces[0].name;
    const offered = optimizersFor(s.mode, this.specs.optimizers);
    for (const r of s.runs) {
      if (!this.specs.optimizers.some((o) => o.name === r.optimizer)) {
        this.p.notices.say(`This server has no optimizer "${r.optimizer}"; using ${offered[0].title}.`);
        r.optimizer = offered[0].name;
        r.hyper = {};
      } else if (!offered.some((o) => o.name === r.optimizer)) {
        this.p.notices.say(`Networks have no Hessian here, so ${r.optimizer} cannot train one; using ${offered[0].title}.`);
        r.optimizer = offered[0].name;
        r.hyper = {};
      }
    }
    return s;
  }

  // --- the surface -----------------------------------------------------------------------

  /**
   * Fetch and draw the surface of the current state; resolves false if the formula was refused.
   * @returns {Promise<boolean>}
   */
  async loadSurface() {
    const request = ++this.surfaceRequest;
    const s = this.state;
    if (s.mode === 'network') {
      // a network's landscape comes with its race
      this.surface = null;
      this.p.network.clear();
      this.panels?.race.render(this.state, [0, 0]);
      return true;
    }
    try {
      const loaded = await surfaceFor(s, this.specs.surfaces);
      if (request !== this.surfaceRequest) return false;
      return await this.showSurface(loaded);
    } catch (err) {
      if (request !== this.surfaceRequest) return false;
      const e = /** @type {api.ApiError} */ (err);
      this.refusal = e.message;
      if (s.surface === CUSTOM && this.panels) this.panels.surface.showFormulaError(e.message, e.position);
      else this.p.notices.say(e.message);
      return false;
    }
  }

  /**
   * The first surface: the one fetched with the page, else the state's. A link whose formula this
   * server refuses shows the first surface instead, with the reason, so a reload is never blank.
   * @param {{surface: Surface, start: [number, number], regression?: api.RegressionSurface} | null} first
   * @returns {Promise<boolean>}
   */
  async firstSurface(first) {
    if (first) return this.showSurface(first);
    if (await this.loadSurface()) return true;
    const s = this.state;
    if (s.mode !== 'surface' || s.surface !== CUSTOM) return false;
    const fallback = this.specs.surfaces[0];
    const shown = s.expr.length > 40 ? `${s.expr.slice(0, 40)}…` : s.expr;
    this.p.notices.say(`The link's formula ${shown} was refused (${this.refusal}); showing ${fallback.title}.`, 10000);
    this.state = { ...s, surface: fallback.name, expr: '', params: {}, domain: null, start: null };
    this.writeHash('replace');
    this.renderPanels();
    return this.loadSurface();
  }

  /**
   * @param {{surface: Surface, start: [number, number], regression?: api.RegressionSurface}} loaded
   * @returns {Promise<boolean>}
   */
  async showSurface(loaded) {
    const surface = loaded.surface;
    this.surface = surface;
    this.defaultStart = loaded.start;
    this.panels?.surface.showFormulaError('');
    this.caption(surface.title);
    if (loaded.regression) {
      this.p.regression.setData(loaded.regression);
      this.panels?.regression.setFormula(`L(w, b) = ${loaded.regression.formula}`);
    }
    this.p.loss.setLogY(!hasNegative(surface.grid.z));
    this.p.surface3d.setSurface(surface);
    this.p.contour.setStart(this.start());
    await this.p.contour.setSurface(surface);
    this.panels?.race.render(this.state, this.start());
    return true;
  }

  /** @param {string} text  the line under the title: what is being minimized */
  caption(text) {
    const caption = document.getElementById('surface-caption');
    if (caption) caption.textContent = text;
  }

  /** @returns {[number, number]} the start every run uses */
  start() {
    return this.state.start ?? this.defaultStart;
  }

  // --- the race --------------------------------------------------------------------------

  /** @returns {Record<string, unknown>} the `start` message for the current state */
  startMessage() {
    const s = this.state;
    const start = this.start();
    return {
      type: 'start',
      problem: problemOf(s),
      runs: s.runs.map((r, i) => ({
        id: r.id ?? runId(i),
        optimizer: r.optimizer,
        hyper: r.hyper,
        ...(hasStart(s.mode) ? { start: [...start] } : {}),
        schedule: r.schedule,
        noise: r.noise,
        ...(s.changes.length ? { changes: runChanges(s, i) } : {}),
      })),
      seed: s.seed,
      max_steps: s.steps,
      steps_per_second: s.speed,
    };
  }

  /**
   * The runs as their cards show them: the start settings, every live change acked (the
   * timeline) and those still on their way to the server.
   * @returns {RunState[]}
   */
  shownRuns() {
    const runs = currentRuns(this.state);
    for (const { run, change } of this.p.race.unconfirmed()) {
      const r = runs[this.runAt(run)];
      if (!r) continue;
      if (change.hyper) r.hyper = { ...r.hyper, .../** @type {RunState['hyper']} */ (change.hyper) };
      if ('schedule' in change) r.schedule = /** @type {RunState['schedule']} */ (change.schedule);
      if (change.noise !== undefined) r.noise = change.noise;
    }
    return runs;
  }

  legends() {
    return this.shownRuns().map((r, i) => {
      const spec = this.specs.optimizers.find((o) => o.name === r.optimizer) ?? this.specs.optimizers[0];
      const id = r.id ?? runId(i);
      return { id, ...runNames(r, spec, id), color: runColor(runIndex(id)) };
    });
  }

  /** @param {string} id @returns {number} the run's place in the state's runs, -1 if it has none */
  runAt(id) {
    return this.state.runs.findIndex((r, i) => (r.id ?? runId(i)) === id);
  }

  updateLegends() {
    const legends = this.legends();
    const views = [this.p.contour, this.p.surface3d, this.p.loss, this.p.gnorm, this.p.netLoss, this.p.netAcc];
    for (const v of views) v.setLegends(legends);
    this.p.boundary.setLegends(legends);
    this.p.regression.setLegends(legends);
    this.p.legend.setRuns(legends);
  }

  /** A new race from the current state; waits for the connection if it is not open. */
  startRace() {
    const network = this.state.mode === 'network';
    if (!this.surface && !network) return;
    this.wantRace = true;
    this.updateLegends();
    if (network) {
      this.p.network.clear();
      this.panels?.network.setTorchNote('');
    } else {
      this.p.contour.setStart(this.start());
    }
    this.panels?.runs.clearStatus();
    this.p.legend.clearBadges();
    this.p.toolbar.setPlaying(true);
    if (this.p.connection.isOpen) this.p.race.start(this.startMessage());
  }

  /** @param {boolean} reconnected */
  connected(reconnected) {
    if (!this.wantRace) return;
    if (reconnected && this.p.race.startMessage && this.p.race.unconfirmed().length) {
      // a change never reached the server: no replay can know its step, so start fresh
      this.state = { ...this.state, runs: this.shownRuns(), changes: [] };
      this.writeHash('replace');
      this.startRace();
      this.p.notices.say(
        'Reconnected. Your last change had not reached the server, so the race starts fresh from step 0 with the current settings.',
        6000,
      );
    } else if (reconnected && this.p.race.startMessage) {
      this.p.race.restore(this.startMessage());
      this.p.notices.connectionBack();
    } else {
      this.p.race.start(this.startMessage());
    }
  }

  togglePlay() {
    const race = this.p.race;
    if (race.clock === 'done' || !race.startMessage) {
      this.startRace();
    } else if (race.playing) {
      race.pause();
      this.p.toolbar.setPlaying(false);
    } else {
      race.resume();
      this.p.toolbar.setPlaying(true);
    }
  }

  /** @param {number} [n]  steps: 1 from the step button, more from a presenter's clicker */
  stepOnce(n = 1) {
    if (this.p.race.clock === 'done') return;
    this.p.race.step(n);
    this.p.toolbar.setPlaying(false);
  }

  reset() {
    // the server restarts the race from the settings the cards show: the timeline is folded in
    this.state = { ...this.state, runs: this.shownRuns(), changes: [] };
    this.writeHash('replace');
    this.p.race.reset();
    this.p.toolbar.setPlaying(false);
    this.panels?.runs.clearStatus();
    this.p.legend.clearBadges();
  }

  // --- changes from the panels -----------------------------------------------------------

  /**
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
      this.loadSurface().then((ok) => {
        if (ok) {
          this.writeHash(how);
          this.startRace();
        } else if (this.state === next) {
          this.state = before;
        }
      });
      return;
    }
    this.writeHash(how);
    if (d.race) {
      this.panels?.race.render(this.state, this.start());
      this.startRace();
    }
  }

  /** @param {RunChange} c */
  runChanged(c) {
    const shown = this.shownRuns();
    const old = shown[c.index];
    const run = applyRunChange(old, c);
    if (JSON.stringify(run) === JSON.stringify(old)) {
      if (c.final) this.writeHash('push');
      return;
    }
    const runs = shown.map((r, i) => (i === c.index ? run : r));
    const structural = c.what === 'optimizer' || c.what === 'schedule';
    const race = this.p.race;
    const id = old.id ?? runId(c.index);
    if (c.what !== 'optimizer' && race.live && !race.stopped.has(id)) {
      race.set(id, liveChange(run, c), changeWords(c)); // enters the timeline when acked
      this.updateLegends();
      if (structural) this.panels?.runs.render(this.shownRuns());
      return;
    }
    if (!c.final) return;
    this.change({ runs, changes: [] }); // a new race from step 0 with the current settings
    if (structural) this.panels?.runs.render(this.state.runs);
  }

  addRun() {
    if (this.state.runs.length >= this.maxRuns) return;
    const used = new Set(this.shownRuns().map((r) => r.optimizer));
    const offered = optimizersFor(this.state.mode, this.specs.optimizers);
    const next = offered.find((o) => !used.has(o.name)) ?? offered[0];
    /** @type {RunState} */
    const run = { optimizer: next.name, hyper: {}, schedule: null, noise: 0 };
    this.change({ runs: withIds([...this.shownRuns(), run]), changes: [] });
    this.panels?.runs.render(this.state.runs);
  }

  /**
   * Take one run off the page; the others go on as they were (same ids, colours and paths). The
   * server's race keeps its points, unseen, until the next start.
   * @param {number} index
   */
  removeRun(index) {
    if (this.state.runs.length <= 1) return;
    const gone = this.state.runs[index];
    const id = gone.id ?? runId(index);
    const runs = this.state.runs.filter((_, i) => i !== index);
    if (!this.p.race.startMessage || !this.p.store.get(id)) {
      this.change({ runs });
      this.panels?.runs.render(this.state.runs);
      return;
    }
    this.state = { ...this.state, runs };
    this.writeHash('push');
    this.p.race.forget(id);
    this.updateLegends();
    this.panels?.runs.render(this.state.runs);
  }

  /** @param {number} x @param {number} y */
  pickStart(x, y) {
    if (!hasStart(this.state.mode)) return;
    const d = this.surface?.domain ?? [[-1, 1], [-1, 1]];
    const start = /** @type {[number, number]} */ ([
      roundTo(x, d[0][1] - d[0][0]),
      roundTo(y, d[1][1] - d[1][0]),
    ]);
    this.change({ start });
    this.p.notices.say(`Every run now starts at (${start[0]}, ${start[1]}).`, 2500);
  }

  /**
   * Another mode: its own runs (those it had, or its defaults), a new race.
   * @param {Mode} mode
   */
  pickMode(mode) {
    if (mode === this.state.mode) return;
    this.runsByMode[this.state.mode] = this.shownRuns();
    const runs = this.runsByMode[mode] ?? defaultRuns(mode);
    this.state = { ...this.state, mode, runs, start: null, changes: [] };
    this.writeHash('push');
    this.applyMode();
    this.renderPanels();
    this.showView(this.state.view);
    this.loadSurface().then((ok) => ok && this.startRace());
  }

  /** Show the parts of the page that belong to the current mode. */
  applyMode() {
    const mode = this.state.mode;
    showMode(mode);
    this.p.modes.set(mode);
    this.panels?.runs.setChoices(optimizersFor(mode, this.specs.optimizers));
    const network = mode === 'network';
    this.p.loss.visible = !network;
    this.p.gnorm.visible = !network;
    this.p.netLoss.visible = network;
    this.p.netAcc.visible = network;
    this.p.boundary.visible = network;
    this.p.regression.visible = mode === 'regression';
    const regression = mode === 'regression';
    this.p.loss.title = regression ? 'loss L(w, b)' : 'loss f(x, y)';
    this.p.gnorm.title = regression ? 'gradient norm ‖∇L(w, b)‖' : 'gradient norm ‖∇f‖';
    for (const v of [this.p.netLoss, this.p.netAcc, this.p.loss, this.p.gnorm]) v.invalidate();
    const note = document.getElementById('torch-note');
    if (note && !network) note.hidden = true;
    if (network) this.caption('');
    // plots that were hidden keep the size they had: fit them to their boxes in this layout
    requestAnimationFrame(() => {
      for (const gd of document.querySelectorAll('.js-plotly-plot')) {
        if (/** @type {HTMLElement} */ (gd).offsetParent) plotly().Plots.resize(gd);
      }
    });
    const [cx, cy] = mode === 'regression' ? ['w', 'b'] : ['x', 'y'];
    document.querySelectorAll('.coord-x').forEach((n) => (n.textContent = cx));
    document.querySelectorAll('.coord-y').forEach((n) => (n.textContent = cy));
  }

  /** @returns {import('./pathview.js').PathView[]} the charts under the figure, in this mode */
  charts() {
    return this.state.mode === 'network' ? [this.p.netLoss, this.p.netAcc] : [this.p.loss, this.p.gnorm];
  }

  /** @param {NetState} net */
  changeNetwork(net) {
    this.change({ net });
    this.panels?.network.render(this.state.net);
  }

  /** @param {RegState} reg */
  changeRegression(reg) {
    this.change({ reg, start: null });
    this.panels?.regression.render(this.state.reg);
  }

  /** @param {string} name */
  pickSurface(name) {
    if (name === CUSTOM) {
      const expr = this.state.expr;
      if (expr) this.change({ surface: CUSTOM, start: null });
      else {
        this.state = { ...this.state, surface: CUSTOM };
        this.renderPanels();
      }
      return;
    }
    this.change({ surface: name, params: {}, start: null, domain: null });
  }

  /**
   * @param {string} expression
   * @param {import('./api.js').Example | null} example
   */
  drawFormula(expression, example) {
    if (!expression) {
      this.panels?.surface.showFormulaError('Type a formula in x and y first.');
      return;
    }
    this.change({
      surface: CUSTOM,
      expr: expression,
      domain: example?.domain ?? this.state.domain,
      start: example?.start ?? null,
      params: {},
    });
  }

  /** @param {string} name @param {number} value @param {boolean} final */
  surfaceParam(name, value, final) {
    if (!final) return;
    this.change({ params: { ...this.state.params, [name]: value }, start: this.state.start });
  }

  /** @param {number} v @param {boolean} final */
  setSpeed(v, final) {
    this.state = { ...this.state, speed: v };
    this.p.race.speed(v);
    if (final) this.writeHash('replace');
  }

  /** @param {'contour' | 'surface'} view */
  setView(view) {
    if (view === this.state.view) return;
    this.state = { ...this.state, view };
    this.writeHash('push');
    this.showView(view);
  }

  /** @param {'contour' | 'surface'} asked  (a network is drawn as a contour only) */
  showView(asked) {
    const view = this.state.mode === 'network' ? 'contour' : asked;
    const stack = /** @type {HTMLElement} */ (document.getElementById('contour-stack'));
    const gd3 = this.p.surface3d.gd;
    const note = /** @type {HTMLElement} */ (document.getElementById('view-note'));
    this.p.toolbar.setView(view);
    stack.hidden = view !== 'contour';
    gd3.hidden = view !== 'surface';
    this.p.contour.visible = view === 'contour';
    this.p.surface3d.visible = view === 'surface';
    note.hidden = true;
    if (view === 'surface' && !hasWebGL()) {
      note.textContent = 'The 3D view needs WebGL, which this browser has turned off. The contour view works.';
      note.hidden = false;
    }
    const shown = view === 'contour' ? this.p.contour : this.p.surface3d;
    shown.invalidate();
    if (view === 'contour') {
      plotly().Plots.resize(this.p.contour.background);
    }
  }

  copyLink() {
    const url = location.href;
    const done = () => this.p.notices.say('Link copied: it reproduces this race exactly.');
    if (navigator.clipboard) navigator.clipboard.writeText(url).then(done, () => this.p.notices.say(url, 10000));
    else this.p.notices.say(url, 10000);
  }

  // --- what the server says --------------------------------------------------------------

  /** @param {Record<string, unknown>} ack  of the start: says whether torch twins run */
  started(ack) {
    if (this.state.mode !== 'network') return;
    const torch = typeof ack.torch === 'string' ? ack.torch : '';
    const missing = torch.startsWith('unavailable');
    this.panels?.network.setTorchNote(missing ? TORCH_MISSING_NOTE : '');
    const note = document.getElementById('torch-note');
    if (note) {
      note.textContent = TORCH_MISSING_NOTE;
      note.hidden = !missing;
    }
  }

  /** @param {any} msg  a network race's dataset, boundary or landscape */
  problemMessage(msg) {
    if (this.state.mode !== 'network') return;
    this.p.network.receive(msg);
    if (msg.type === 'dataset') {
      this.panels?.network.setInfo(describeNetwork(msg));
      this.p.netAcc.setClassification(msg.task !== 'regression');
    }
  }

  /** @param {string} run @param {string} event @param {number} step @param {string} message */
  runEvent(run, event, step, message) {
    const index = this.runAt(run);
    if (index < 0) return;
    const w = eventWords(event, step, message);
    this.panels?.runs.setStatus(index, w.text, w.tone);
    this.p.legend.setBadge(index, event, w.tone);
  }

  /**
   * A live change took effect from update `step`: it joins the timeline of the URL state.
   * @param {string} run @param {number} step @param {string} text
   * @param {import('./race.js').LiveChange} [change]  undefined for a change this page did not send
   */
  applied(run, step, text, change) {
    if (change && this.runAt(run) >= 0) {
      const entry = /** @type {import('./state.js').Change} */ ({ run, step, ...change });
      this.state = { ...this.state, changes: [...this.state.changes, entry] };
      this.writeHash('push');
    }
    const index = this.runAt(run);
    if (index >= 0) this.panels?.runs.setStatus(index, `${text} from step ${step}.`, 'info');
  }

  /**
   * @param {string} message
   * @param {string | undefined} field  e.g. "runs[0].hyper.lr"
   * @param {string | undefined} run
   */
  serverError(message, field, run) {
    const m = /^runs\[(\d+)\]\.(.+)$/.exec(field ?? '');
    const index = m ? Number(m[1]) : run ? this.runAt(run) : -1;
    const path = m ? m[2] : (field ?? '');
    const shown = index >= 0 && this.panels?.runs.showFieldError(index, path, message);
    if (index >= 0) this.panels?.runs.setStatus(index, message, 'bad');
    if (field?.startsWith('problem') && this.state.mode === 'surface' && this.state.surface === CUSTOM) {
      this.panels?.surface.showFormulaError(message);
    }
    const onNetwork = field?.startsWith('problem.network') && this.panels?.network.showError(field, message);
    if (!shown && !onNetwork) this.p.notices.say(message, 8000);
  }

  /** @param {Record<string, unknown>} limits */
  hello(limits) {
    const maxRuns = Number(limits.max_runs ?? limits.runs ?? MAX_RUNS);
    this.maxRuns = Number.isFinite(maxRuns) ? Math.min(MAX_RUNS, maxRuns) : MAX_RUNS;
  }

  renderPanels() {
    if (!this.panels) return;
    this.panels.surface.render(this.state);
    this.panels.network.render(this.state.net);
    this.panels.regression.render(this.state.reg);
    this.panels.runs.render(this.shownRuns());
    this.panels.race.render(this.state, hasStart(this.state.mode) ? this.start() : [0, 0]);
    this.p.toolbar.setSpeed(this.state.speed);
    this.p.toolbar.setView(this.state.view);
  }
}

/** @param {RunState} run @param {RunChange} c */
function liveChange(run, c) {
  if (c.what === 'hyper') return { hyper: { [c.name ?? '']: run.hyper[c.name ?? ''] } };
  if (c.what === 'noise') return { noise: run.noise };
  return { schedule: run.schedule };
}

/** @param {RunChange} c */
function changeWords(c) {
  if (c.what === 'hyper' || c.what === 'scheduleParam') return `${c.name} → ${c.value}`;
  if (c.what === 'noise') return `noise → ${c.value}`;
  if (c.what === 'schedule') return `schedule → ${c.value ?? 'none'}`;
  return `${c.what} → ${c.value}`;
}

/** @param {(number | null)[][]} z */
function hasNegative(z) {
  return z.some((row) => row.some((v) => v !== null && v < 0));
}

/**
 * Fetch what the views need to draw the state's surface.
 * @param {AppState} s
 * @param {SurfaceSpec[] | Promise<SurfaceSpec[]>} specs
 * @returns {Promise<{surface: Surface, start: [number, number], regression?: api.RegressionSurface}>}
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
