// @ts-check
/**
 * Keyboard shortcuts: space play/pause, right arrow one step, r reset, f fullscreen, s share,
 * p presenter mode, ? the list of keys, and a presenter's clicker (Page Down / Page Up).
 * They stay out of the way of form fields: typing in a field or pressing space on a button does
 * what it always does. A slider is no field: the race keys work on it, and it keeps the arrow keys
 * only while it is being adjusted (the pointer is down on it, or it was reached with Tab); Escape
 * or a click elsewhere gives them back.
 */

/**
 * @typedef {Object} Actions
 * @property {() => void} togglePlay
 * @property {() => void} step
 * @property {() => void} reset
 * @property {() => void} fullscreen
 * @property {() => void} [share]
 * @property {() => void} [present]
 * @property {() => void} [help]
 * @property {(direction: 'next' | 'previous') => boolean} [clicker]  false: the key keeps its usual job
 */

/** @param {EventTarget | null} target */
function isField(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = /** @type {HTMLInputElement} */ (target).type;
  return !['checkbox', 'radio', 'button', 'range'].includes(type);
}

/** @param {EventTarget | null} target @returns {target is HTMLInputElement} */
function isSlider(target) {
  return target instanceof HTMLInputElement && target.type === 'range';
}

/** Keys a slider uses to move its thumb. */
const SLIDER_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End']);

/**
 * Which slider, if any, is being adjusted: the one under a pressed pointer, or the one reached by
 * keyboard (focus that no pointer gave). A click that ends (pointerup) lets the keys go back.
 */
class Adjusting {
  constructor() {
    /** @type {HTMLInputElement | null} */
    this.slider = null;
    this.pointerDown = false;
    document.addEventListener('pointerdown', (e) => {
      this.pointerDown = true;
      this.slider = isSlider(e.target) ? e.target : null;
    }, true);
    document.addEventListener('pointerup', () => this.release(), true);
    document.addEventListener('pointercancel', () => this.release(), true);
    document.addEventListener('focusin', (e) => {
      if (!this.pointerDown) this.slider = isSlider(e.target) ? e.target : null;
    });
    document.addEventListener('focusout', (e) => {
      if (e.target === this.slider && !this.pointerDown) this.slider = null;
    });
  }

  release() {
    this.pointerDown = false;
    this.slider = null;
  }

  /** @param {KeyboardEvent} e @returns {boolean} whether the slider keeps this key */
  keeps(e) {
    if (!isSlider(e.target) || e.target !== this.slider) return false;
    if (e.key === 'Escape') {
      this.slider = null;
      return false;
    }
    return SLIDER_KEYS.has(e.key) || e.key === 'PageUp' || e.key === 'PageDown';
  }
}

/** @param {EventTarget | null} target */
function isButtonLike(target) {
  return (
    target instanceof HTMLElement &&
    (target.tagName === 'BUTTON' ||
      target.tagName === 'SUMMARY' ||
      target.tagName === 'A' ||
      (target instanceof HTMLInputElement && ['checkbox', 'radio', 'button'].includes(target.type)))
  );
}

/** @param {Actions} actions */
export function bindKeys(actions) {
  const adjusting = new Adjusting();
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || isField(e.target)) return;
    if (adjusting.keeps(e)) return;
    // a slider that is not being adjusted leaves its keys to the page, the arrows included
    if (isSlider(e.target) && SLIDER_KEYS.has(e.key)) e.preventDefault();
    // an open dialog has the keyboard: Esc closes it, the race keys wait
    if (e.target instanceof Element && e.target.closest('dialog[open]')) return;
    switch (e.key) {
      case ' ':
        if (isButtonLike(e.target)) return;
        actions.togglePlay();
        break;
      case 'ArrowRight':
        actions.step();
        break;
      case 'r':
      case 'R':
        actions.reset();
        break;
      case 'f':
      case 'F':
        actions.fullscreen();
        break;
      case 's':
      case 'S':
        if (!actions.share) return;
        actions.share();
        break;
      case 'p':
      case 'P':
        if (!actions.present) return;
        actions.present();
        break;
      case '?':
        if (!actions.help) return;
        actions.help();
        break;
      case 'PageDown':
      case 'PageUp':
        if (!actions.clicker?.(e.key === 'PageDown' ? 'next' : 'previous')) return;
        break;
      default:
        return;
    }
    e.preventDefault();
  });
}

/** @param {HTMLElement} element */
export async function toggleFullscreen(element) {
  try {
    if (document.fullscreenElement) await document.exitFullscreen();
    else await element.requestFullscreen();
  } catch {
    // refused (e.g. inside an iframe without allowfullscreen): nothing else to do
  }
}
