// @ts-check
/**
 * What the page tells people, in plain words: the connection banner (lost, reconnecting, back),
 * short notices, and the sentence beside a run when something happened to it.
 */
import { el } from './controls.js';

/**
 * The sentence beside a run: the server's own words (it knows why), or a plain fallback.
 * @param {string} event  diverged | finished | converged | ...
 * @param {number} step
 * @param {string} message  the server's words, possibly empty
 * @returns {{text: string, tone: 'info' | 'warn' | 'bad'}}
 */
export function eventWords(event, step, message) {
  const tone = event === 'diverged' ? 'bad' : event === 'converged' || event === 'finished' ? 'info' : 'warn';
  if (message) return { text: message, tone };
  const fallback = {
    diverged: `Diverged at step ${step}: the values grew too large to represent.`,
    converged: `Converged at step ${step}: the gradient is practically zero.`,
    finished: `Finished: reached the step limit (${step}).`,
  };
  return { text: fallback[/** @type {keyof typeof fallback} */ (event)] ?? `${event} at step ${step}.`, tone };
}

export class Notices {
  /**
   * @param {HTMLElement} banner  connection state (role="alert")
   * @param {HTMLElement} toast  short notices (role="status")
   * @param {() => void} retryNow
   */
  constructor(banner, toast, retryNow) {
    this.banner = banner;
    this.toast = toast;
    this.retryNow = retryNow;
    /** @type {number | undefined} */
    this.countdown = undefined;
    /** @type {number | undefined} */
    this.toastTimer = undefined;
  }

  /** @param {number} retryIn  ms until the next attempt */
  connectionLost(retryIn) {
    window.clearInterval(this.countdown);
    const until = performance.now() + retryIn;
    const words = el('span');
    const retry = el('button', { type: 'button', class: 'button small', text: 'Retry now' });
    retry.addEventListener('click', () => this.retryNow());
    const tick = () => {
      const s = Math.max(0, Math.ceil((until - performance.now()) / 1000));
      words.textContent = `Connection to the server lost. Reconnecting${s > 0 ? ` in ${s} s` : '…'} `;
    };
    tick();
    this.countdown = window.setInterval(tick, 250);
    this.banner.replaceChildren(words, retry);
    this.banner.dataset.tone = 'bad';
    this.banner.hidden = false;
  }

  connectionBack() {
    window.clearInterval(this.countdown);
    this.banner.hidden = true;
    this.banner.replaceChildren();
    this.say('Reconnected: the race was restored from the link (same seed, same path).');
  }

  /** @param {string} text */
  problem(text) {
    window.clearInterval(this.countdown);
    this.banner.replaceChildren(el('span', { text }));
    this.banner.dataset.tone = 'warn';
    this.banner.hidden = false;
  }

  clearProblem() {
    if (this.banner.dataset.tone === 'warn') this.banner.hidden = true;
  }

  /**
   * @param {string} text
   * @param {number} [ms]
   */
  say(text, ms = 5000) {
    window.clearTimeout(this.toastTimer);
    this.toast.textContent = text;
    this.toast.hidden = false;
    this.toastTimer = window.setTimeout(() => (this.toast.hidden = true), ms);
  }
}
