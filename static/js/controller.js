// @ts-check
/**
 * The page's decisions: what a change of state means (redraw the surface, restart the race, or
 * send a live `set`), keeping the URL hash as the one record of the state, and following back and
 * forward. Views draw; Race talks to the server; this decides.
 */
import * as api from './api.js';
import { CUSTOM, cloneState, diffStates, formatHash, parseHash, runId, runIndex, MAX_RUNS } from './state.js';
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
 */

/**
 * @typedef {Object} Panels  the settings views, built once the specs are in
 * @property {import('./surfacepanel.js').SurfacePanel} surface
 * @property {import('./runcards.js').RunCards} runs
 * @property {import('./racepanel.js').RacePanel} race
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
  }

  /** @param {Panels} panels */
  attach(panels) {
    this.panels = panels;
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
    this.state = next;
    this.renderPanels();
    if (d.view) this.showView(next.view);
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
    for (const r of s.runs) {
      if (!this.specs.optimizers.some((o) => o.name === r.optimizer)) {
        this.p.notices.say(`This server has no optimizer "${r.optimizer}"; using ${this.specs.optimizers[0].title}.`);
        r.optimizer = this.specs.optimizers[0].name;
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
    try {
      const loaded = await surfaceFor(s, this.specs.surfaces);
      if (request !== this.surfaceRequest) return false;
      return await this.showSurface(loaded);
    } catch (err) {
      if (request !== this.surfaceRequest) return false;
      const e = /** @type {api.ApiError} */ (err);
      if (s.surface === CUSTOM && this.panels) this.panels.surface.showFormulaError(e.message, e.position);
      else this.p.notices.say(e.message);
      return false;
    }
  }

  /**
   * @param {{surface: Surface, start: [number, number]}} loaded
   * @returns {Promise<boolean>}
   */
  async showSurface(loaded) {
    const surface = loaded.surface;
    this.surface = surface;
    this.defaultStart = loaded.start;
    this.panels?.surface.showFormulaError('');
    const caption = document.getElementById('surface-caption');
    if (caption) caption.textContent = surface.title;
    this.p.loss.setLogY(!hasNegative(surface.grid.z));
    this.p.surface3d.setSurface(surface);
    this.p.contour.setStart(this.start());
    await this.p.contour.setSurface(surface);
    this.panels?.race.render(this.state, this.start());
    return true;
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
      problem: s.surface === CUSTOM ? { expression: s.expr } : { surface: s.surface, params: s.params },
      runs: s.runs.map((r, i) => ({
        id: runId(i),
        optimizer: r.optimizer,
        hyper: r.hyper,
        start: [...start],
        schedule: r.schedule,
        noise: r.noise,
      })),
      seed: s.seed,
      max_steps: s.steps,
      steps_per_second: s.speed,
    };
  }

  legends() {
    return this.state.runs.map((r, i) => {
      const spec = this.specs.optimizers.find((o) => o.name === r.optimizer) ?? this.specs.optimizers[0];
      return { id: runId(i), ...runNames(r, spec, i), color: runColor(i) };
    });
  }

  updateLegends() {
    const legends = this.legends();
    for (const v of [this.p.contour, this.p.surface3d, this.p.loss, this.p.gnorm]) v.setLegends(legends);
    this.p.legend.setRuns(legends);
  }

  /** A new race from the current state; waits for the connection if it is not open. */
  startRace() {
    if (!this.surface) return;
    this.wantRace = true;
    this.updateLegends();
    this.p.contour.setStart(this.start());
    this.panels?.runs.clearStatus();
    this.p.legend.clearBadges();
    this.p.toolbar.setPlaying(true);
    if (this.p.connection.isOpen) this.p.race.start(this.startMessage());
  }

  /** @param {boolean} reconnected */
  connected(reconnected) {
    if (!this.wantRace) return;
    if (reconnected && this.p.race.startMessage) {
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

  stepOnce() {
    if (this.p.race.clock === 'done') return;
    this.p.race.step(1);
    this.p.toolbar.setPlaying(false);
  }

  reset() {
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
    const next = { ...this.state, ...patch };
    const d = diffStates(this.state, next);
    this.state = next;
    this.writeHash(how);
    if (d.surface) {
      this.renderPanels();
      this.loadSurface().then((ok) => ok && this.startRace());
    } else if (d.race) {
      this.panels?.race.render(this.state, this.start());
      this.startRace();
    }
  }

  /** @param {RunChange} c */
  runChanged(c) {
    const old = this.state.runs[c.index];
    const run = applyRunChange(old, c);
    if (JSON.stringify(run) === JSON.stringify(old)) {
      if (c.final) this.writeHash('push');
      return;
    }
    const runs = this.state.runs.map((r, i) => (i === c.index ? run : r));
    const structural = c.what === 'optimizer' || c.what === 'schedule';
    const race = this.p.race;
    if (c.what !== 'optimizer' && race.live && !race.stopped.has(runId(c.index))) {
      this.state = { ...this.state, runs };
      this.writeHash(c.final ? 'push' : 'replace');
      race.set(runId(c.index), liveChange(run, c), changeWords(c));
      this.updateLegends();
      if (structural) this.panels?.runs.render(this.state.runs);
      return;
    }
    if (!c.final) return;
    this.change({ runs });
    if (structural) this.panels?.runs.render(this.state.runs);
  }

  addRun() {
    if (this.state.runs.length >= this.maxRuns) return;
    const used = new Set(this.state.runs.map((r) => r.optimizer));
    const next = this.specs.optimizers.find((o) => !used.has(o.name)) ?? this.specs.optimizers[0];
    /** @type {RunState} */
    const run = { optimizer: next.name, hyper: {}, schedule: null, noise: 0 };
    this.change({ runs: [...this.state.runs, run] });
    this.panels?.runs.render(this.state.runs);
  }

  /** @param {number} index */
  removeRun(index) {
    if (this.state.runs.length <= 1) return;
    this.change({ runs: this.state.runs.filter((_, i) => i !== index) });
    this.panels?.runs.render(this.state.runs);
  }

  /** @param {number} x @param {number} y */
  pickStart(x, y) {
    const d = this.surface?.domain ?? [[-1, 1], [-1, 1]];
    const start = /** @type {[number, number]} */ ([
      roundTo(x, d[0][1] - d[0][0]),
      roundTo(y, d[1][1] - d[1][0]),
    ]);
    this.change({ start });
    this.p.notices.say(`Every run now starts at (${start[0]}, ${start[1]}).`, 2500);
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

  /** @param {'contour' | 'surface'} view */
  showView(view) {
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

  /** @param {string} run @param {string} event @param {number} step @param {string} message */
  runEvent(run, event, step, message) {
    const w = eventWords(event, step, message);
    this.panels?.runs.setStatus(runIndex(run), w.text, w.tone);
    this.p.legend.setBadge(runIndex(run), event, w.tone);
  }

  /** @param {string} run @param {number} step @param {string} text */
  applied(run, step, text) {
    this.panels?.runs.setStatus(runIndex(run), `${text} from step ${step}.`, 'info');
  }

  /**
   * @param {string} message
   * @param {string | undefined} field  e.g. "runs[0].hyper.lr"
   * @param {string | undefined} run
   */
  serverError(message, field, run) {
    const m = /^runs\[(\d+)\]\.(.+)$/.exec(field ?? '');
    const index = m ? Number(m[1]) : run ? runIndex(run) : -1;
    const path = m ? m[2] : (field ?? '');
    const shown = index >= 0 && this.panels?.runs.showFieldError(index, path, message);
    if (index >= 0) this.panels?.runs.setStatus(index, message, 'bad');
    if (field?.startsWith('problem') && this.state.surface === CUSTOM) {
      this.panels?.surface.showFormulaError(message);
    }
    if (!shown) this.p.notices.say(message, 8000);
  }

  /** @param {Record<string, unknown>} limits */
  hello(limits) {
    const maxRuns = Number(limits.max_runs ?? limits.runs ?? MAX_RUNS);
    this.maxRuns = Number.isFinite(maxRuns) ? Math.min(MAX_RUNS, maxRuns) : MAX_RUNS;
  }

  renderPanels() {
    if (!this.panels) return;
    this.panels.surface.render(this.state);
    this.panels.runs.render(this.state.runs);
    this.panels.race.render(this.state, this.start());
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
 * @returns {Promise<{surface: Surface, start: [number, number]}>}
 */
export async function surfaceFor(s, specs) {
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
