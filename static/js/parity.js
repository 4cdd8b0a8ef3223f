// @ts-check
/**
 * The parity panel (the toolbar's Parity button, off by default): each run of a surface or
 * formula race stepped by us and by torch.optim, optax and Keras (`POST /api/parity`), or each run
 * of a network race, its weights stepped by each library's optimizer fed our backprop gradient
 * (`POST /api/parity/network`), drawn by ParityView. It follows the live race by looking at it a few times a second while it is open:
 * a run whose settings changed (a slider, a live set, a new start, seed or surface) is compared
 * again once they stop changing for DEBOUNCE_MS; a run that plays on past the steps compared is
 * compared again over twice as many (so a whole race costs at most twice its length), up to the
 * server's cap; a restart with the same settings shows the same numbers again from step 0. One
 * request is in flight at a time (two cores serve every client), and a request whose settings
 * went stale is aborted. Nothing of it is in the URL: like the code panel and the internals
 * overlay, it is a view of the race, not part of it.
 */
import { NETWORK_PARITY_MAX_STEPS, PARITY_MAX_STEPS, isComplete, isUnavailable, networkParityBody, parityBody, stepsToAsk } from './paritydata.js';
import { ParityView } from './parityview.js';

/** @typedef {import('./paritydata.js').ParityResult} ParityResult */
/** @typedef {import('./parityview.js').RunShown} RunShown */
/** @typedef {import('./parityview.js').Missing} Missing */
/** @typedef {import('./theme.js').Theme} Theme */
/** @typedef {import('./controller.js').Controller} Controller */

const TICK_MS = 250;
/** Settings that keep changing (a slider dragged) are compared once they rest this long. */
export const DEBOUNCE_MS = 400;
/** Ask for more steps this far ahead of the race, so the chart keeps up while the server works. */
const LOOKAHEAD = 64;

/**
 * @typedef {Object} ParityRun  one run as the panel reads it
 * @property {string} id
 * @property {string} label
 * @property {string} color
 * @property {number} index  its place in the race (its noise generator's number)
 * @property {string} url  POST /api/parity, or /api/parity/network for a network race's run
 * @property {Record<string, unknown>} body  its body, without `steps`
 * @property {number} noise
 * @property {boolean} changed  it has live changes in this race's timeline
 * @property {number} shown  the newest step the race has of it
 */
/**
 * @typedef {Object} ParityHost  all the panel reads of the page
 * @property {() => {kind: import('./parityview.js').ParityKind, runs: ParityRun[], steps: number} | null} context
 *   null outside a surface or network race
 */
/**
 * @typedef {Object} Entry  one run's comparison
 * @property {string} key  the body of the result held
 * @property {string} wanted  the body of the run's settings now
 * @property {number} since  when `wanted` last changed
 * @property {ParityResult | null} result
 * @property {number} asked  the steps its request asked for
 * @property {string | null} error
 */

/**
 * @param {string} url
 * @param {Record<string, unknown>} body
 * @param {AbortSignal} signal
 * @returns {Promise<ParityResult>}
 */
async function fetchParity(url, body, signal) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  const answer = await r.json().catch(() => null);
  if (!r.ok) throw new Error(answer?.message ?? `The server answered ${r.status}.`);
  return answer;
}

/**
 * What the panel reads of the full page: the runs of a surface or network race as their cards
 * show them.
 * @param {Controller} app
 * @returns {ParityHost}
 */
export function parityHost(app) {
  return {
    context() {
      const s = app.state;
      const network = s.mode === 'network';
      if (!network && (s.mode !== 'surface' || !app.surface)) return null;
      const legends = app.raceCmds.legends();
      const start = network ? null : app.start();
      const runs = app.raceCmds.shownRuns().map((run, index) => {
        const l = legends[index];
        const track = app.p.store.get(l.id);
        return {
          id: l.id,
          label: l.label,
          color: l.color,
          index,
          url: start ? '/api/parity' : '/api/parity/network',
          body: start ? parityBody(s, run, start) : networkParityBody(s, run),
          noise: run.noise,
          changed: s.changes.some((c) => c.run === l.id),
          shown: track ? Math.max(0, track.length - 1) : 0,
        };
      });
      return { kind: network ? 'network' : 'surface', runs, steps: s.steps };
    },
  };
}

export class ParityPanel {
  /**
   * @param {HTMLButtonElement} button  the toggle
   * @param {HTMLElement} card  where the view draws
   * @param {ParityHost} host
   * @param {Theme} theme
   */
  constructor(button, card, host, theme) {
    this.button = button;
    this.card = card;
    this.host = host;
    this.view = new ParityView(card, { close: () => this.close(true) }, theme);
    this.on = false;
    this.timer = 0;
    /** @type {Map<string, Entry>} by run id */
    this.entries = new Map();
    /** @type {{id: string, key: string, steps: number, abort: AbortController} | null} */
    this.flight = null;
    button.setAttribute('aria-controls', card.id);
    button.addEventListener('click', () => (this.on ? this.close(false) : this.open()));
  }

  /** @param {Theme} theme */
  setTheme(theme) {
    this.view.setTheme(theme);
    if (this.on) this.tick();
  }

  open() {
    this.on = true;
    this.button.setAttribute('aria-pressed', 'true');
    this.card.hidden = false;
    for (const e of this.entries.values()) if (e.error) e.key = ''; // ask again
    this.tick();
    this.timer = window.setInterval(() => this.tick(), TICK_MS);
    this.card.scrollIntoView({ block: 'nearest' });
    this.view.focus();
  }

  /** @param {boolean} refocus  give the focus back to the toggle (closed from inside the card) */
  close(refocus) {
    this.on = false;
    this.button.setAttribute('aria-pressed', 'false');
    this.card.hidden = true;
    clearInterval(this.timer);
    this.flight?.abort.abort();
    this.flight = null;
    this.view.clear();
    if (refocus) this.button.focus();
  }

  tick() {
    if (!this.on) return;
    const ctx = this.host.context();
    if (!ctx) {
      this.view.setStatus('Parity compares the runs of a surface, formula or network race.');
      return;
    }
    this.view.setKind(ctx.kind);
    const limit = Math.min(ctx.steps, ctx.kind === 'network' ? NETWORK_PARITY_MAX_STEPS : PARITY_MAX_STEPS);
    const now = performance.now();
    const ids = new Set(ctx.runs.map((r) => r.id));
    for (const id of this.entries.keys()) if (!ids.has(id)) this.entries.delete(id);
    for (const r of ctx.runs) {
      const wanted = JSON.stringify(r.body);
      const e = this.entries.get(r.id);
      if (!e) this.entries.set(r.id, { key: '', wanted, since: -Infinity, result: null, asked: 0, error: null });
      else if (e.wanted !== wanted) {
        e.wanted = wanted;
        e.since = now;
      }
    }
    if (this.flight && this.entries.get(this.flight.id)?.wanted !== this.flight.key) {
      this.flight.abort.abort();
      this.flight = null;
    }
    if (!this.flight) {
      const next = this.nextRequest(ctx.runs, limit, now);
      if (next) void this.request(next.run, next.steps);
    }
    this.show(ctx.runs, limit);
  }

  /**
   * The run to compare next: first one whose settings changed (and rest), then one the race
   * has nearly outrun.
   * @param {ParityRun[]} runs @param {number} limit @param {number} now
   * @returns {{run: ParityRun, steps: number} | null}
   */
  nextRequest(runs, limit, now) {
    const ask = (/** @type {ParityRun} */ r) => stepsToAsk(r.shown + LOOKAHEAD, limit);
    for (const r of runs) {
      const e = /** @type {Entry} */ (this.entries.get(r.id));
      if (e.wanted !== e.key && now - e.since >= DEBOUNCE_MS) return { run: r, steps: ask(r) };
    }
    for (const r of runs) {
      const e = /** @type {Entry} */ (this.entries.get(r.id));
      if (e.wanted !== e.key || e.error || !e.result || isComplete(e.result, e.asked, limit)) continue;
      if (r.shown + LOOKAHEAD > e.asked && ask(r) > e.asked) return { run: r, steps: ask(r) };
    }
    return null;
  }

  /** @param {ParityRun} run @param {number} steps */
  async request(run, steps) {
    const key = JSON.stringify(run.body);
    const abort = new AbortController();
    this.flight = { id: run.id, key, steps, abort };
    /** @type {ParityResult | null} */
    let result = null;
    /** @type {string | null} */
    let error = null;
    try {
      result = await fetchParity(run.url, { ...run.body, steps }, abort.signal);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    if (this.flight?.abort === abort) this.flight = null;
    const e = this.entries.get(run.id);
    if (abort.signal.aborted || !e || e.wanted !== key) return;
    Object.assign(e, { key, result, asked: steps, error });
    this.tick();
  }

  /** @param {ParityRun[]} runs @param {number} limit */
  show(runs, limit) {
    /** @type {RunShown[]} */
    const shown = runs.map((r) => {
      const e = /** @type {Entry} */ (this.entries.get(r.id));
      const stale = e.wanted !== e.key;
      const remarks = [];
      if (stale && e.result) remarks.push('Its settings changed: comparing again…');
      if (r.changed) remarks.push('Both paths use its current settings from step 0: the live changes of this race are not replayed.');
      if (r.noise > 0 && r.index > 0) {
        remarks.push("With gradient noise, both paths draw the first run's noise (default_rng([seed, 0])), so they are not this run's path on the contour.");
      }
      if (r.shown > limit) remarks.push(`Compared over its first ${limit} steps (the server's limit).`);
      /** @type {RunShown['phase']} */
      const phase = e.error && !stale ? 'error' : !e.result ? 'computing' : stale ? 'updating' : 'ready';
      return { id: r.id, label: r.label, color: r.color, result: e.result, shown: r.shown, phase, error: e.error ?? undefined, remarks };
    });
    this.view.showRuns(shown);
    this.view.showMissing(this.missing(runs));
    const busy = this.flight !== null || shown.some((r) => r.phase === 'computing' || r.phase === 'updating');
    this.card.dataset.state = busy ? 'busy' : 'idle';
    const f = this.flight;
    this.view.setStatus(f ? `Comparing run ${f.id} over ${f.steps} steps…` : busy ? 'Waiting for the settings to rest…' : 'Every run is compared up to the step the race shows.');
  }

  /**
   * Each library the server could not run, once: with the runs it concerns when not all.
   * @param {ParityRun[]} runs
   * @returns {Missing[]}
   */
  missing(runs) {
    /** @type {Map<string, {library: string, reason: string, runs: string[]}>} */
    const found = new Map();
    let compared = 0;
    for (const r of runs) {
      const result = this.entries.get(r.id)?.result;
      if (!result) continue;
      compared += 1;
      for (const [library, lib] of Object.entries(result.libraries)) {
        if (!isUnavailable(lib)) continue;
        const reason = /** @type {{unavailable: string}} */ (lib).unavailable;
        const k = JSON.stringify([library, reason]);
        const m = found.get(k) ?? { library, reason, runs: [] };
        m.runs.push(r.id);
        found.set(k, m);
      }
    }
    return [...found.values()].map((m) => ({ ...m, runs: m.runs.length === compared && compared === runs.length ? null : m.runs }));
  }
}
