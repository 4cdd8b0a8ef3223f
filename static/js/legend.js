// @ts-check
/**
 * The legend of the race, in HTML above the plot: one entry per run in its colour, with its
 * current loss and, once it stopped, why. Outside the plot so it never hides a path.
 */
import { el } from './controls.js';
import { formatValue } from './palette.js';

/** @typedef {import('./pathview.js').RunLegend} RunLegend */
/** @typedef {import('./store.js').RunStore} RunStore */

const REFRESH_MS = 200;

export class Legend {
  /** @param {HTMLElement} root  a <ul> */
  constructor(root) {
    this.root = root;
    /** @type {{value: HTMLElement, badge: HTMLElement}[]} */
    this.entries = [];
    this.shownAt = 0;
  }

  /**
   * One entry per run; when only the words changed (a live change of lr), only the words change.
   * @param {RunLegend[]} legends
   */
  setRuns(legends) {
    const items = [...this.root.children];
    if (items.length === legends.length && this.entries.length === legends.length) {
      legends.forEach((l, i) => {
        const name = /** @type {HTMLElement} */ (items[i].querySelector('.legend-name'));
        name.textContent = l.label;
      });
      return;
    }
    this.entries = [];
    this.root.replaceChildren(
      ...legends.map((l) => {
        const value = el('span', { class: 'legend-value' });
        const badge = el('span', { class: 'legend-badge' });
        this.entries.push({ value, badge });
        const item = el('li', { class: 'legend-item', 'data-run': l.id }, [
          el('span', { class: 'swatch', 'aria-hidden': 'true' }),
          el('span', { class: 'legend-name', text: l.label }),
          value,
          badge,
        ]);
        item.style.setProperty('--run-color', l.color);
        return item;
      }),
    );
  }

  /**
   * @param {number} index
   * @param {string} text  '' clears
   * @param {string} [tone]  'bad' for a failure
   */
  setBadge(index, text, tone = '') {
    const e = this.entries[index];
    if (!e) return;
    e.badge.textContent = text;
    e.badge.dataset.tone = tone;
  }

  clearBadges() {
    this.entries.forEach((_, i) => this.setBadge(i, ''));
  }

  /** Show each run's newest loss, a few times a second. @param {RunStore} store */
  update(store) {
    const now = performance.now();
    if (now - this.shownAt < REFRESH_MS) return;
    this.shownAt = now;
    store.tracks.forEach((t, i) => {
      const e = this.entries[i];
      if (!e) return;
      const loss = t.loss[t.length - 1];
      e.value.textContent = t.length ? `f = ${formatValue(loss, 4)}` : '';
    });
  }
}
