// @ts-check
/** The race settings: seed, step limit, start point, and the share button. */

/** @typedef {import('./state.js').AppState} AppState */

/**
 * @typedef {Object} RaceHandlers
 * @property {(seed: number) => void} seed
 * @property {(steps: number) => void} steps
 * @property {(start: [number, number] | null) => void} start  null: the surface's default
 * @property {() => void} copyLink
 */

/** @param {string} id */
function input(id) {
  const node = document.getElementById(id);
  if (!(node instanceof HTMLInputElement)) throw new Error(`#${id} is missing from the page`);
  return node;
}

/** @param {HTMLInputElement} field @returns {number | null} a finite number, or null (marked invalid) */
function readNumber(field, integer = false) {
  const v = field.value.trim() === '' ? Number.NaN : Number(field.value);
  const ok = Number.isFinite(v) && (!integer || (Number.isInteger(v) && v >= 0));
  field.toggleAttribute('aria-invalid', !ok);
  return ok ? v : null;
}

export class RacePanel {
  /** @param {RaceHandlers} on */
  constructor(on) {
    this.seedInput = input('seed');
    this.stepsInput = input('max-steps');
    this.startX = input('start-x');
    this.startY = input('start-y');
    this.seedInput.addEventListener('change', () => {
      const v = readNumber(this.seedInput, true);
      if (v !== null) on.seed(v);
    });
    document.getElementById('new-seed')?.addEventListener('click', () => {
      const seed = Math.floor(Math.random() * 10000);
      this.seedInput.value = String(seed);
      on.seed(seed);
    });
    this.stepsInput.addEventListener('change', () => {
      const v = readNumber(this.stepsInput, true);
      if (v !== null && v >= 1) on.steps(v);
    });
    for (const field of [this.startX, this.startY]) {
      field.addEventListener('change', () => {
        const x = readNumber(this.startX);
        const y = readNumber(this.startY);
        if (x !== null && y !== null) on.start([x, y]);
      });
    }
    document.getElementById('default-start')?.addEventListener('click', () => on.start(null));
    document.getElementById('copy-link')?.addEventListener('click', () => on.copyLink());
  }

  /**
   * @param {AppState} state
   * @param {[number, number]} start  the start in use (the surface default when state.start is null)
   */
  render(state, start) {
    this.seedInput.value = String(state.seed);
    this.stepsInput.value = String(state.steps);
    this.startX.value = String(start[0]);
    this.startY.value = String(start[1]);
    for (const f of [this.seedInput, this.stepsInput, this.startX, this.startY]) {
      f.removeAttribute('aria-invalid');
    }
  }
}
