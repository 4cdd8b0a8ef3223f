// @ts-check
/**
 * "Tune all": every optimizer of the race gets the same budget (trials x starts x steps, shown
 * before it runs), tunes its lr (and, if asked, its main other hyperparameter) by one stated
 * criterion; the race restarts with the tuned values and a leaderboard shows, per optimizer, the
 * tuned values, steps to tolerance, final loss, distance to the nearest minimum and the trials
 * that diverged. The settings live in the URL, so a shared link reproduces the tuning.
 */
import { el } from './controls.js';
import { errorText, isAbort, tune } from './analysisapi.js';
import { FieldProblem, field, fmt, markField, numberInput, readField, select } from './analysishost.js';
import { DEFAULT_TUNE, TUNE_LIMITS, tuneRequest } from './tunestate.js';

/** @typedef {import('./analysishost.js').AnalysisHost} AnalysisHost */
/** @typedef {import('./analysisapi.js').TuneResult} TuneResult */
/** @typedef {import('./tunestate.js').TuneState} TuneState */

const CRITERIA = /** @type {[TuneState['criterion'], string][]} */ ([
  ['steps', 'Steps to reach f* + tol'],
  ['final_loss', 'Final loss'],
]);

export class TunePanel {
  /**
   * @param {HTMLElement} root  the controls, in the settings panel
   * @param {HTMLElement} card  the leaderboard's card
   * @param {AnalysisHost} host
   */
  constructor(root, card, host) {
    this.root = root;
    this.card = card;
    this.host = host;
    /** @type {AbortController | null} */
    this.abort = null;
    const t = host.tuneState() ?? DEFAULT_TUNE;
    this.trials = numberInput({ min: '1', max: String(TUNE_LIMITS.trials), step: '1', value: String(t.trials), 'data-field': 'trials' });
    this.steps = numberInput({ min: '1', max: String(TUNE_LIMITS.steps), step: '1', value: String(t.steps), 'data-field': 'steps' });
    this.criterion = select(CRITERIA, t.criterion);
    this.criterion.dataset.field = 'criterion';
    this.tol = numberInput({ min: '0', step: 'any', value: String(t.tol), 'data-field': 'tol' });
    this.starts = select([['current', 'The race’s start'], ['random', 'Random starts']], t.starts);
    this.starts.dataset.field = 'starts';
    this.nStarts = numberInput({ min: '1', max: String(TUNE_LIMITS.nStarts), step: '1', value: String(t.nStarts), 'data-field': 'n_starts' });
    this.lrMin = numberInput({ min: '0', step: 'any', value: String(t.lrMin), 'data-field': 'lr_min' });
    this.lrMax = numberInput({ min: '0', step: 'any', value: String(t.lrMax), 'data-field': 'lr_max' });
    this.second = /** @type {HTMLInputElement} */ (el('input', { type: 'checkbox', id: 'tune-second' }));
    this.second.checked = t.second;
    this.budget = el('p', { id: 'tune-budget', class: 'tune-budget', 'aria-live': 'polite' });
    this.button = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'button small primary', id: 'tune-all', text: 'Tune all' }));
    this.cancelButton = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'button small', id: 'tune-cancel', text: 'Cancel' }));
    this.cancelButton.disabled = true;
    this.status = el('p', { id: 'tune-status', class: 'summary', role: 'status' });
    this.error = el('p', { id: 'tune-error', class: 'field-error', role: 'alert' });
    this.startsRow = field('tune-n-starts', 'Random starts', this.nStarts);
    root.replaceChildren(
      el('p', { class: 'summary', text: 'Every optimizer of the race gets the same budget; the best trial by the criterion is its tuned setting.' }),
      field('tune-trials', 'Trials', this.trials),
      field('tune-steps', 'Steps each', this.steps),
      field('tune-criterion', 'Criterion', this.criterion),
      field('tune-tol', 'Tolerance', this.tol),
      field('tune-starts', 'From', this.starts),
      this.startsRow,
      field('tune-lr-min', 'lr from', this.lrMin),
      field('tune-lr-max', 'lr to', this.lrMax),
      el('div', { class: 'check' }, [this.second, el('label', { for: 'tune-second', text: ' Also tune the main other hyperparameter (momentum, β1, α or ρ: 3 values)' })]),
      this.budget,
      el('div', { class: 'inline analysis-actions' }, [this.button, this.cancelButton]),
      this.status,
      this.error,
    );
    root.addEventListener('input', () => this.showBudget());
    root.addEventListener('change', () => this.save());
    this.button.addEventListener('click', () => this.run(true));
    this.cancelButton.addEventListener('click', () => this.abort?.abort());
    this.table = el('table', { id: 'leaderboard', class: 'leaderboard' });
    this.caption = el('p', { id: 'leaderboard-note', class: 'summary' });
    card.replaceChildren(el('div', { class: 'result-head' }, [el('h2', { text: 'Leaderboard: every optimizer tuned with the same budget' })]), this.table, this.caption);
    card.hidden = true;
    this.showBudget();
  }

  /** @returns {TuneState} the settings the controls hold (a FieldProblem names a bad one) */
  read() {
    const lrMin = readField(this.lrMin, 'lr_min', { min: Number.MIN_VALUE });
    const lrMax = readField(this.lrMax, 'lr_max', { min: Number.MIN_VALUE });
    if (!(lrMin < lrMax)) throw new FieldProblem('lr_max', 'lr_max: must be above lr_min');
    return {
      trials: readField(this.trials, 'trials', { min: 1, max: TUNE_LIMITS.trials, int: true }),
      steps: readField(this.steps, 'steps', { min: 1, max: TUNE_LIMITS.steps, int: true }),
      criterion: /** @type {TuneState['criterion']} */ (this.criterion.value),
      tol: readField(this.tol, 'tol', { min: Number.MIN_VALUE }),
      starts: /** @type {TuneState['starts']} */ (this.starts.value),
      nStarts: readField(this.nStarts, 'n_starts', { min: 1, max: TUNE_LIMITS.nStarts, int: true }),
      second: this.second.checked,
      lrMin,
      lrMax,
    };
  }

  /** The budget in words, before anything runs: the same for every optimizer. */
  showBudget() {
    this.startsRow.hidden = this.starts.value !== 'random';
    let t;
    try {
      t = this.read();
      this.fail(null);
    } catch (err) {
      this.budget.textContent = '';
      this.fail(err);
      return null;
    }
    const ctx = this.host.context();
    const optimizers = new Set(ctx?.runs.map((r) => r.optimizer) ?? []).size;
    const starts = t.starts === 'random' ? t.nStarts : 1;
    const updates = t.trials * starts * t.steps;
    this.budget.textContent =
      `Budget per optimizer: ${t.trials} trials × ${starts} start${starts > 1 ? 's' : ''} × ${t.steps} steps = ${updates.toLocaleString('en')} updates` +
      (optimizers ? ` (${optimizers} optimizer${optimizers > 1 ? 's' : ''}).` : '.');
    return t;
  }

  save() {
    const t = this.showBudget();
    if (t) this.host.saveTune(t);
  }

  /** @param {boolean} restart  restart the race with the tuned values (a link only shows them) */
  async run(restart) {
    const t = this.showBudget();
    const ctx = this.host.context();
    if (!t || !ctx) return;
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    this.button.disabled = true;
    this.cancelButton.disabled = false;
    this.root.setAttribute('aria-busy', 'true');
    const body = tuneRequest(ctx, t);
    this.status.textContent = `Tuning ${body.optimizers.length} optimizer${body.optimizers.length > 1 ? 's' : ''}…`;
    try {
      const result = await tune(body, abort.signal);
      if (this.abort !== abort) return;
      this.show(result, t);
      if (restart) this.host.applyTuned(result.tuned, t);
      else this.host.saveTune(t);
      this.status.textContent = restart ? 'Tuned: the race restarted with the tuned values.' : 'The tuning of this link, recomputed.';
    } catch (err) {
      if (isAbort(err)) {
        if (this.abort === abort) this.status.textContent = 'Tuning cancelled.';
        return;
      }
      this.status.textContent = '';
      this.fail(err);
    } finally {
      if (this.abort === abort) {
        this.abort = null;
        this.button.disabled = false;
        this.cancelButton.disabled = true;
        this.root.setAttribute('aria-busy', 'false');
      }
    }
  }

  /** @param {unknown} err  null: no error */
  fail(err) {
    this.error.textContent = err ? errorText(err) : '';
    const name = err && typeof err === 'object' && 'field' in err ? String(/** @type {any} */ (err).field) : undefined;
    markField(this.root, name);
  }

  /** @param {TuneResult} r @param {TuneState} t */
  show(r, t) {
    const ctx = this.host.context();
    const runsOf = (/** @type {string} */ opt) => (ctx?.runs ?? []).filter((x) => x.optimizer === opt).map((x) => x.id).join(', ');
    const head = ['#', 'Optimizer', 'Tuned', 'Steps to tol', 'Final loss', 'Distance to nearest minimum', 'Diverged trials'];
    const rows = r.leaderboard.map((row) => {
      const reached = row.steps_to_tol.filter((s) => s !== null);
      const steps = reached.length
        ? `${fmt(reached.reduce((a, b) => a + /** @type {number} */ (b), 0) / reached.length)}${row.steps_to_tol.length > 1 ? ` (${row.reached} of ${row.steps_to_tol.length} starts)` : ''}`
        : 'not reached';
      const tuned = Object.entries(row.hyper).map(([k, v]) => `${k} ${fmt(v, 4)}`).join(', ');
      const runs = runsOf(row.optimizer);
      /** @type {[string, unknown][]} text, and the number behind it (data-value) */
      const cells = [
        [String(row.rank), row.rank],
        [`${row.optimizer}${runs ? ` (run ${runs})` : ''}`, row.optimizer],
        [tuned, row.hyper],
        [steps, row.steps_to_tol],
        [fmt(row.final_loss, 4), row.final_loss],
        [row.distance === null ? '—' : fmt(row.distance, 3), row.distance],
        [`${row.diverged_trials} of ${row.trials}${row.diverged ? ' (the tuned one too)' : ''}`, row.diverged_trials],
      ];
      return el(
        'tr',
        { 'data-optimizer': row.optimizer },
        cells.map(([text, value], i) => el(i === 1 ? 'th' : 'td', { text, 'data-value': JSON.stringify(value), ...(i === 1 ? { scope: 'row' } : {}) })),
      );
    });
    this.table.replaceChildren(
      el('thead', {}, [el('tr', {}, head.map((h) => el('th', { scope: 'col', text: h })))]),
      el('tbody', {}, rows),
    );
    const b = r.budget;
    const crit = r.criterion === 'steps' ? `fewest steps to reach f* + ${fmt(r.tol)} (mean over the starts; never reached counts ${b.steps + 1})` : 'lowest final loss (mean over the starts)';
    const where = t.starts === 'random' ? `${b.starts} random starts (seed ${ctx?.seed ?? 0})` : 'the race’s start';
    this.caption.textContent =
      `Each optimizer: ${b.trials} trials × ${b.starts} start${b.starts > 1 ? 's' : ''} × ${b.steps} steps = ${b.updates.toLocaleString('en')} updates, ` +
      `lr on a log grid from ${fmt(t.lrMin)} to ${fmt(t.lrMax)}${t.second ? ' (× 3 values of the second hyperparameter)' : ''}, from ${where}. ` +
      `Criterion: ${crit}. Steps to tol and final loss are the tuned setting’s; the schedules and noise of the runs are not part of the tuning.`;
    this.card.hidden = false;
    this.card.scrollIntoView({ block: 'nearest' });
  }
}
