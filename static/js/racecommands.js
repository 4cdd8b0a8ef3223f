// @ts-check
/**
 * The race and its runs: starting one from the state (or once the connection opens), play,
 * pause, step and reset, a run's setting changed (a live `set` while the race runs, else a new
 * race), runs added and removed, and what the server says about them (events, acks, errors).
 */
import { CUSTOM, MAX_RUNS, currentRuns, runChanges, runId, runIndex, withIds } from './state.js';
import { hasStart, optimizersFor, problemOf } from './modes.js';
import { runColor } from './palette.js';
import { applyRunChange, runNames } from './runcards.js';
import { eventWords } from './events.js';

/** @typedef {import('./state.js').RunState} RunState */
/** @typedef {import('./runcards.js').RunChange} RunChange */
/** @typedef {import('./pathview.js').RunLegend} RunLegend */
/** @typedef {import('./controller.js').Controller} Controller */

/** @param {RunState} run @param {RunChange} c  the part of the run a live `set` sends */
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

export class RaceCommands {
  /** @param {Controller} app */
  constructor(app) {
    this.app = app;
    this.maxRuns = MAX_RUNS;
    /** a race is wanted: the connection starts (or restores) one when it opens */
    this.wantRace = false;
  }

  /** @returns {Record<string, unknown>} the `start` message for the current state */
  startMessage() {
    const s = this.app.state;
    const start = this.app.start();
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
    const runs = currentRuns(this.app.state);
    for (const { run, change } of this.app.p.race.unconfirmed()) {
      const r = runs[this.runAt(run)];
      if (!r) continue;
      if (change.hyper) r.hyper = { ...r.hyper, .../** @type {RunState['hyper']} */ (change.hyper) };
      if ('schedule' in change) r.schedule = /** @type {RunState['schedule']} */ (change.schedule);
      if (change.noise !== undefined) r.noise = change.noise;
    }
    return runs;
  }

  /** @returns {RunLegend[]} */
  legends() {
    const optimizers = this.app.specs.optimizers;
    return this.shownRuns().map((r, i) => {
      const spec = optimizers.find((o) => o.name === r.optimizer) ?? optimizers[0];
      const id = r.id ?? runId(i);
      return { id, ...runNames(r, spec, id), color: runColor(runIndex(id)) };
    });
  }

  /** @param {string} id @returns {number} the run's place in the state's runs, -1 if it has none */
  runAt(id) {
    return this.app.state.runs.findIndex((r, i) => (r.id ?? runId(i)) === id);
  }

  updateLegends() {
    const p = this.app.p;
    const legends = this.legends();
    for (const v of [p.contour, p.surface3d, p.loss, p.gnorm, p.netLoss, p.netAcc]) v.setLegends(legends);
    p.boundary.setLegends(legends);
    p.deep.setLegends(legends);
    p.regression.setLegends(legends);
    p.legend.setRuns(legends);
    p.analysis?.refresh();
  }

  /** A new race from the current state; waits for the connection if it is not open. */
  startRace() {
    const { state, p, panels } = this.app;
    const network = state.mode === 'network';
    if (!this.app.surface && !network) return;
    this.wantRace = true;
    this.updateLegends();
    if (network) this.app.netCmds.clearRace();
    else p.contour.setStart(this.app.start());
    panels?.runs.clearStatus();
    p.legend.clearBadges();
    p.toolbar.setPlaying(true);
    if (p.connection.isOpen) p.race.start(this.startMessage());
  }

  /** @param {boolean} reconnected */
  connected(reconnected) {
    if (!this.wantRace) return;
    const app = this.app;
    const race = app.p.race;
    if (reconnected && race.startMessage && race.unconfirmed().length) {
      // a change never reached the server: no replay can know its step, so start fresh
      app.state = { ...app.state, runs: this.shownRuns(), changes: [] };
      app.url.write('replace');
      this.startRace();
      app.p.notices.say(
        'Reconnected. Your last change had not reached the server, so the race starts fresh from step 0 with the current settings.',
        6000,
      );
    } else if (reconnected && race.startMessage) {
      race.restore(this.startMessage());
      app.p.notices.connectionBack();
    } else {
      race.start(this.startMessage());
    }
  }

  togglePlay() {
    const { race, toolbar } = this.app.p;
    if (race.clock === 'done' || !race.startMessage) {
      this.startRace();
    } else if (race.playing) {
      race.pause();
      toolbar.setPlaying(false);
    } else {
      race.resume();
      toolbar.setPlaying(true);
    }
  }

  /** @param {number} [n]  steps: 1 from the step button, more from a presenter's clicker */
  stepOnce(n = 1) {
    const { race, toolbar } = this.app.p;
    if (race.clock === 'done') return;
    race.step(n);
    toolbar.setPlaying(false);
  }

  reset() {
    const app = this.app;
    // the server restarts the race from the settings the cards show: the timeline is folded in
    app.state = { ...app.state, runs: this.shownRuns(), changes: [] };
    app.url.write('replace');
    app.p.race.reset();
    app.p.toolbar.setPlaying(false);
    app.panels?.runs.clearStatus();
    app.p.legend.clearBadges();
  }

  /** @param {number} v @param {boolean} final */
  setSpeed(v, final) {
    this.app.state = { ...this.app.state, speed: v };
    this.app.p.race.speed(v);
    if (final) this.app.url.write('replace');
  }

  /** @param {RunChange} c */
  runChanged(c) {
    const app = this.app;
    const shown = this.shownRuns();
    const old = shown[c.index];
    const run = applyRunChange(old, c);
    if (JSON.stringify(run) === JSON.stringify(old)) {
      if (c.final) app.url.write('push');
      return;
    }
    const runs = shown.map((r, i) => (i === c.index ? run : r));
    const structural = c.what === 'optimizer' || c.what === 'schedule';
    const race = app.p.race;
    const id = old.id ?? runId(c.index);
    if (c.what !== 'optimizer' && race.live && !race.stopped.has(id)) {
      race.set(id, liveChange(run, c), changeWords(c)); // enters the timeline when acked
      this.updateLegends();
      if (structural) app.panels?.runs.render(this.shownRuns());
      return;
    }
    if (!c.final) return;
    app.change({ runs, changes: [] }); // a new race from step 0 with the current settings
    if (structural) app.panels?.runs.render(app.state.runs);
  }

  addRun() {
    const app = this.app;
    if (app.state.runs.length >= this.maxRuns) return;
    const used = new Set(this.shownRuns().map((r) => r.optimizer));
    const offered = optimizersFor(app.state.mode, app.specs.optimizers);
    const next = offered.find((o) => !used.has(o.name)) ?? offered[0];
    /** @type {RunState} */
    const run = { optimizer: next.name, hyper: {}, schedule: null, noise: 0 };
    app.change({ runs: withIds([...this.shownRuns(), run]), changes: [] });
    app.panels?.runs.render(app.state.runs);
  }

  /**
   * Take one run off the page; the others go on as they were (same ids, colours and paths). The
   * server's race keeps its points, unseen, until the next start.
   * @param {number} index
   */
  removeRun(index) {
    const app = this.app;
    if (app.state.runs.length <= 1) return;
    const gone = app.state.runs[index];
    const id = gone.id ?? runId(index);
    const runs = app.state.runs.filter((_, i) => i !== index);
    if (!app.p.race.startMessage || !app.p.store.get(id)) {
      app.change({ runs });
      app.panels?.runs.render(app.state.runs);
      return;
    }
    app.state = { ...app.state, runs };
    app.url.write('push');
    app.p.race.forget(id);
    this.updateLegends();
    app.panels?.runs.render(app.state.runs);
  }

  // --- what the server says about the runs -----------------------------------------------

  /** @param {Record<string, unknown>} limits */
  hello(limits) {
    const maxRuns = Number(limits.max_runs ?? limits.runs ?? MAX_RUNS);
    this.maxRuns = Number.isFinite(maxRuns) ? Math.min(MAX_RUNS, maxRuns) : MAX_RUNS;
  }

  /** @param {string} run @param {string} event @param {number} step @param {string} message */
  runEvent(run, event, step, message) {
    const index = this.runAt(run);
    if (index < 0) return;
    const w = eventWords(event, step, message);
    this.app.panels?.runs.setStatus(index, w.text, w.tone);
    this.app.p.legend.setBadge(index, event, w.tone);
  }

  /**
   * A live change took effect from update `step`: it joins the timeline of the URL state.
   * @param {string} run @param {number} step @param {string} text
   * @param {import('./race.js').LiveChange} [change]  undefined for a change this page did not send
   */
  applied(run, step, text, change) {
    const app = this.app;
    if (change && this.runAt(run) >= 0) {
      const entry = /** @type {import('./state.js').Change} */ ({ run, step, ...change });
      app.state = { ...app.state, changes: [...app.state.changes, entry] };
      app.url.write('push');
    }
    const index = this.runAt(run);
    if (index >= 0) app.panels?.runs.setStatus(index, `${text} from step ${step}.`, 'info');
  }

  /**
   * An error the server sent, shown beside the field it names when a panel has it.
   * @param {string} message
   * @param {string | undefined} field  e.g. "runs[0].hyper.lr"
   * @param {string | undefined} run
   */
  serverError(message, field, run) {
    const { state, panels, p } = this.app;
    const m = /^runs\[(\d+)\]\.(.+)$/.exec(field ?? '');
    const index = m ? Number(m[1]) : run ? this.runAt(run) : -1;
    const path = m ? m[2] : (field ?? '');
    const shown = index >= 0 && panels?.runs.showFieldError(index, path, message);
    if (index >= 0) panels?.runs.setStatus(index, message, 'bad');
    if (field?.startsWith('problem') && state.mode === 'surface' && state.surface === CUSTOM) {
      panels?.surface.showFormulaError(message);
    }
    const onNetwork = field?.startsWith('problem.network') && panels?.network.showError(field, message);
    if (!shown && !onNetwork) p.notices.say(message, 8000);
  }
}
