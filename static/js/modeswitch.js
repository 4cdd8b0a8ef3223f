// @ts-check
/** The mode switch in the top bar: Surfaces | Networks | Regression. */

/** @typedef {import('./state.js').Mode} Mode */

export class ModeSwitch {
  /**
   * @param {HTMLElement} root  holds one button per mode, each with `data-mode`
   * @param {(mode: Mode) => void} pick
   */
  constructor(root, pick) {
    this.buttons = /** @type {HTMLButtonElement[]} */ ([...root.querySelectorAll('button[data-mode]')]);
    for (const b of this.buttons) b.addEventListener('click', () => pick(/** @type {Mode} */ (b.dataset.mode)));
  }

  /** @param {Mode} mode */
  set(mode) {
    for (const b of this.buttons) b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
  }
}
