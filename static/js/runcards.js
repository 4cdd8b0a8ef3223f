// @ts-check
/**
 * One card per run: its colour, optimizer, hyperparameters, schedule and noise, all built from the
 * /api/optimizers and /api/schedules specs, and a line of plain words for what happened to it.
 */
import { el, paramControl, selectField } from './controls.js';
import { MAX_RUNS, runId, runIndex } from './state.js';
import { runColor } from './palette.js';

/** @typedef {import('./api.js').OptimizerSpec} OptimizerSpec */
/** @typedef {import('./api.js').ScheduleSpec} ScheduleSpec */
/** @typedef {import('./api.js').ParamSpec} ParamSpec */
/** @typedef {import('./state.js').RunState} RunState */
/** @typedef {import('./controls.js').ParamControl} ParamControl */

/**
 * A change to one run, as the user made it. Every kind but `optimizer` can be sent to a running
 * race as a `set`; a new optimizer needs a new race.
 * @typedef {Object} RunChange
 * @property {number} index
 * @property {'optimizer' | 'hyper' | 'schedule' | 'scheduleParam' | 'noise'} what
 * @property {string} [name]  the hyperparameter or schedule parameter
 * @property {import('./state.js').Scalar | null} value  for `schedule`: a schedule name or null
 * @property {boolean} final  the user let go of the control
 */

/**
 * @param {RunState} run
 * @param {RunChange} c
 * @returns {RunState} a new run with the change made
 */
export function applyRunChange(run, c) {
  const name = c.name ?? '';
  switch (c.what) {
    case 'optimizer':
      return { ...run, optimizer: String(c.value), hyper: {} };
    case 'hyper':
      return { ...run, hyper: { ...run.hyper, [name]: /** @type {any} */ (c.value) } };
    case 'schedule':
      return { ...run, schedule: c.value ? { name: String(c.value) } : null };
    case 'scheduleParam':
      if (!run.schedule) return run;
      return { ...run, schedule: { ...run.schedule, [name]: /** @type {any} */ (c.value) } };
    case 'noise':
      return { ...run, noise: Number(c.value) };
  }
}

/** The noise control's spec: not an optimizer setting, so not in any server spec. */
const NOISE_SPEC = /** @type {ParamSpec} */ ({
  name: 'noise',
  default: 0,
  min: 0,
  max: 10,
  scale: 'log',
  kind: 'float',
  doc: 'Standard deviation of Gaussian noise added to each gradient component (stochastic gradients).',
});

/**
 * @typedef {(what: RunChange['what'], name: string | undefined, value: RunChange['value'],
 *   final: boolean) => void} Change
 */

/**
 * @param {RunState} run
 * @param {OptimizerSpec} spec
 * @param {string} id
 * @returns {{name: string, label: string}} "a · Adam" and "a · Adam lr=0.05"
 */
export function runNames(run, spec, id) {
  const lr = run.hyper.lr ?? spec.hyper.find((h) => h.name === 'lr')?.default;
  const name = `${id} · ${spec.title}`;
  const shown = typeof lr === 'number' ? Number(lr.toPrecision(4)) : lr; // a tuned lr has 16 digits
  return { name, label: lr === undefined ? name : `${name} lr=${shown}` };
}

export class RunCards {
  /**
   * @param {HTMLElement} container
   * @param {HTMLButtonElement} addButton
   * @param {{optimizers: OptimizerSpec[], schedules: ScheduleSpec[]}} specs
   * @param {{change: (c: RunChange) => void, remove: (index: number) => void, add: () => void,
   *   code?: (index: number) => void}} on  `code` opens the run's rule-and-code panel
   */
  constructor(container, addButton, specs, on) {
    this.container = container;
    this.addButton = addButton;
    this.specs = specs;
    this.on = on;
    /** @type {{card: HTMLElement, status: HTMLElement, controls: Map<string, ParamControl>}[]} */
    this.cards = [];
    /** @type {OptimizerSpec[]} the optimizers offered (networks leave Newton out) */
    this.choices = specs.optimizers;
    addButton.addEventListener('click', () => on.add());
  }

  /** @param {OptimizerSpec[]} optimizers  offered from the next render on */
  setChoices(optimizers) {
    this.choices = optimizers;
  }

  /** @param {string} name */
  optimizer(name) {
    return this.specs.optimizers.find((o) => o.name === name) ?? this.specs.optimizers[0];
  }

  /** @param {RunState[]} runs */
  render(runs) {
    const focused = document.activeElement?.id;
    this.container.replaceChildren();
    this.cards = runs.map((run, i) => this.card(run, i, runs.length));
    for (const c of this.cards) this.container.append(c.card);
    this.addButton.disabled = runs.length >= MAX_RUNS;
    this.addButton.title = runs.length >= MAX_RUNS ? `At most ${MAX_RUNS} runs` : '';
    if (focused) document.getElementById(focused)?.focus();
  }

  /**
   * @param {RunState} run
   * @param {number} i
   * @param {number} count
   */
  card(run, i, count) {
    const id = run.id ?? runId(i);
    const spec = this.optimizer(run.optimizer);
    /** @type {Map<string, ParamControl>} */
    const controls = new Map();
    const prefix = `run-${id}`;
    const context = `run ${id}`;
    /** @type {Change} */
    const change = (what, name, value, final) => this.on.change({ index: i, what, name, value, final });

    const title = el('h3', { id: `${prefix}-title`, text: `Run ${id}` });
    const optimizerField = selectField(
      `${prefix}-optimizer`,
      'Optimizer',
      this.choices.map((o) => ({ value: o.name, text: o.title })),
      spec.name,
      (name) => change('optimizer', undefined, name, true),
      `Optimizer of run ${id}`,
    );
    const remove = el('button', {
      type: 'button',
      class: 'icon-button remove-run',
      'aria-label': `Remove run ${id}`,
      title: `Remove run ${id}`,
      text: '✕',
    });
    remove.toggleAttribute('disabled', count <= 1);
    remove.addEventListener('click', () => this.on.remove(i));
    const code = this.on.code ? codeButton(id, () => this.on.code?.(i)) : null;

    const summary = el('p', { class: 'summary', text: spec.summary, title: spec.rule });
    const status = el('p', { class: 'run-status', id: `${prefix}-status`, role: 'status' });

    /** @param {ParamSpec} h */
    const hyperControl = (h) => {
      const value = run.hyper[h.name] ?? h.default;
      const c = paramControl(h, value, {
        id: `${prefix}-${h.name}`,
        context,
        change: (v, final) => change('hyper', h.name, v, final),
      });
      controls.set(`hyper.${h.name}`, c);
      return c.element;
    };
    const [first, ...rest] = spec.hyper;
    const main = el('div', { class: 'params' }, first ? [hyperControl(first)] : []);

    const more = el('div', { class: 'params' }, rest.map(hyperControl));
    more.append(...this.scheduleControls(run, prefix, context, controls, change));
    const noise = paramControl(NOISE_SPEC, run.noise, {
      id: `${prefix}-noise`,
      context,
      label: 'gradient noise σ',
      change: (v, final) => change('noise', undefined, v, final),
    });
    controls.set('noise', noise);
    more.append(noise.element);

    const details = el('details', { class: 'more' }, [
      el('summary', { text: `All settings of run ${id}` }),
      more,
    ]);
    const nonDefault = rest.some((h) => h.name in run.hyper) || run.schedule || run.noise;
    if (nonDefault) details.setAttribute('open', '');

    const card = el(
      'section',
      { class: 'run-card', 'aria-labelledby': title.id, 'data-run': id },
      [
        el('header', { class: 'run-head' }, [
          el('span', { class: 'swatch', 'aria-hidden': 'true' }),
          title,
          optimizerField.row,
          ...(code ? [code] : []),
          remove,
        ]),
        summary,
        status,
        main,
        details,
      ],
    );
    card.style.setProperty('--run-color', runColor(runIndex(id)));
    return { card, status, controls };
  }

  /**
   * @param {RunState} run
   * @param {string} prefix
   * @param {string} context
   * @param {Map<string, ParamControl>} controls
   * @param {Change} change
   * @returns {HTMLElement[]}
   */
  scheduleControls(run, prefix, context, controls, change) {
    const schedules = this.specs.schedules.filter((s) => s.name !== 'constant' || s.params.length);
    const current = this.specs.schedules.find((s) => s.name === run.schedule?.name);
    const field = selectField(
      `${prefix}-schedule`,
      'lr schedule',
      [{ value: '', text: 'none (constant lr)' }, ...schedules.map((s) => ({ value: s.name, text: s.title }))],
      current?.name ?? '',
      (name) => change('schedule', undefined, name || null, true),
      `Learning-rate schedule of run ${id(prefix)}`,
    );
    const out = [field.row];
    if (current) {
      if (current.summary) out.push(el('p', { class: 'summary', text: current.summary }));
      for (const p of current.params) {
        const c = paramControl(p, run.schedule?.[p.name] ?? p.default, {
          id: `${prefix}-sched-${p.name}`,
          context,
          change: (v, final) => change('scheduleParam', p.name, v, final),
        });
        controls.set(`schedule.${p.name}`, c);
        out.push(c.element);
      }
    }
    return out;
  }

  /**
   * Plain words beside a run: what happened to it.
   * @param {number} index
   * @param {string} text
   * @param {'info' | 'warn' | 'bad' | ''} tone
   */
  setStatus(index, text, tone) {
    const c = this.cards[index];
    if (!c) return;
    c.status.textContent = text;
    c.status.dataset.tone = tone;
  }

  /** Clear every run's words. */
  clearStatus() {
    this.cards.forEach((_, i) => this.setStatus(i, '', ''));
  }

  /**
   * Point at the control a server error names ("hyper.lr" within run `index`).
   * @param {number} index
   * @param {string} path
   * @param {string} message
   * @returns {boolean} whether a control was found
   */
  showFieldError(index, path, message) {
    const c = this.cards[index]?.controls.get(path);
    if (!c) return false;
    c.invalid(message);
    const details = c.element.closest('details');
    if (details) details.open = true;
    return true;
  }
}

/** @param {string} id @param {() => void} open */
function codeButton(id, open) {
  const button = el('button', {
    type: 'button',
    class: 'button small code-button',
    id: `run-${id}-code`,
    'aria-label': `Update rule and code of run ${id}`,
    title: `The update rule, our numpy code and the PyTorch code of run ${id}`,
    text: '</>',
  });
  button.addEventListener('click', open);
  return button;
}

/** @param {string} prefix  "run-a" */
function id(prefix) {
  return prefix.slice(prefix.lastIndexOf('-') + 1);
}
