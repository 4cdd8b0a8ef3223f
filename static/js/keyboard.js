// @ts-check
/**
 * Keyboard shortcuts: space play/pause, right arrow one step, r reset, f fullscreen, s share,
 * p presenter mode, ? the list of keys, and a presenter's clicker (Page Down / Page Up).
 * They stay out of the way of form fields: typing in a field, moving a slider with the arrows or
 * pressing space on a button does what it always does.
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
  return type !== 'checkbox' && type !== 'radio' && type !== 'button';
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
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || isField(e.target)) return;
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
