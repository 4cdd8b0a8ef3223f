// @ts-check
/**
 * Presenter mode, for a lecture hall: large type, thick lines and big markers in every plot
 * (theme.js), a light high-contrast page (black on white holds up on a washed-out projector,
 * where a dark theme turns grey), each run's step and loss as large text instead of on hover,
 * and keys for a presenter's clicker: Page Down steps forward, Page Up plays or pauses (the
 * protocol has no step back). Kept in the URL hash as `present=1`.
 */
import { ModalDialog } from './dialog.js';
import { formatValue } from './palette.js';
import { resizePlots } from './plotkit.js';
import { themeFor } from './theme.js';

/** @typedef {import('./controller.js').Controller} Controller */
/** @typedef {import('./store.js').RunStore} RunStore */
/** @typedef {import('./pathview.js').RunLegend} RunLegend */
/** @typedef {{setTheme: (theme: import('./theme.js').Theme) => unknown}} Themed  a view that takes a theme */

/** Steps taken by one press of Page Down (a clicker's "next"). */
export const SLIDE_STEP = 10;
const READOUT_MS = 150;

/** @param {string} id */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
}

/** Each run's name, step and loss as text, large enough to read from the back of the hall. */
export class Readout {
  /**
   * @param {HTMLElement} root  an <ol>
   * @param {HTMLElement} legend  the legend, whose badges say why a run stopped
   */
  constructor(root, legend) {
    this.root = root;
    this.legend = legend;
    /** @type {{name: HTMLElement, step: HTMLElement, loss: HTMLElement, badge: HTMLElement}[]} */
    this.rows = [];
  }

  /** @param {number} n */
  build(n) {
    this.rows = [];
    const items = Array.from({ length: n }, () => {
      const li = document.createElement('li');
      li.className = 'readout-item';
      const [swatch, name, step, loss, badge] = ['swatch', 'readout-name', 'readout-step', 'readout-loss', 'legend-badge'].map(
        (cls) => {
          const span = document.createElement('span');
          span.className = cls;
          return span;
        },
      );
      swatch.setAttribute('aria-hidden', 'true');
      li.append(swatch, name, step, loss, badge);
      this.rows.push({ name, step, loss, badge });
      return li;
    });
    this.root.replaceChildren(...items);
  }

  /**
   * @param {RunStore} store
   * @param {RunLegend[]} legends
   * @param {string} lossName  "f", "L" or "loss"
   */
  update(store, legends, lossName) {
    if (this.rows.length !== legends.length) this.build(legends.length);
    legends.forEach((l, i) => {
      const row = this.rows[i];
      const item = /** @type {HTMLElement} */ (this.root.children[i]);
      item.style.setProperty('--run-color', l.color);
      item.dataset.run = l.id;
      const t = store.tracks[i];
      const n = t ? t.length : 0;
      row.name.textContent = l.label;
      row.step.textContent = n ? `step ${n - 1}` : 'step —';
      row.loss.textContent = n ? `${lossName} = ${formatValue(t.loss[n - 1], 4)}` : '';
      const badge = this.legend.children[i]?.querySelector('.legend-badge');
      row.badge.textContent = badge?.textContent ?? '';
      row.badge.dataset.tone = /** @type {HTMLElement | null | undefined} */ (badge)?.dataset.tone ?? '';
    });
  }
}

export class Presenter {
  /**
   * @param {Controller} app
   * @param {Themed[]} views  every plot that presenter mode restyles
   */
  constructor(app, views) {
    this.app = app;
    this.views = views;
    this.on = false;
    this.button = byId('present-button');
    this.readout = new Readout(byId('readout'), byId('legend'));
    this.help = new ModalDialog(byId('keys-dialog'));
    this.button.addEventListener('click', () => this.toggle());
    byId('keys-button').addEventListener('click', () => this.help.open());
    // back, forward or a hash typed by hand (the controller has followed it already)
    const follow = () => {
      if (app.state.present !== this.on) this.set(app.state.present, false);
    };
    window.addEventListener('popstate', follow);
    window.addEventListener('hashchange', follow);
    window.setInterval(() => this.showValues(), READOUT_MS);
  }

  toggle() {
    this.set(!this.on, true);
  }

  /**
   * @param {boolean} on
   * @param {boolean} write  record it in the URL hash
   */
  set(on, write) {
    this.on = on;
    document.body.classList.toggle('presenting', on);
    this.button.setAttribute('aria-pressed', String(on));
    /** @type {HTMLElement} */ (this.readout.root).hidden = !on;
    if (write) {
      this.app.state = { ...this.app.state, present: on };
      this.app.url.write('replace');
    }
    this.showValues();
    this.restyle();
  }

  /** Every plot again, in the theme of the mode, at the size its box now has. */
  async restyle() {
    const theme = themeFor(this.on);
    await Promise.all(this.views.map((v) => v.setTheme(theme)));
    // the page's type changed size, and the plots' boxes with it
    requestAnimationFrame(() => requestAnimationFrame(resizePlots));
  }

  showValues() {
    if (!this.on) return;
    const mode = this.app.state.mode;
    const lossName = mode === 'surface' ? 'f' : mode === 'regression' ? 'L' : 'loss';
    this.readout.update(this.app.p.store, this.app.raceCmds.legends(), lossName);
  }

  /**
   * A clicker's buttons, in presenter mode only (elsewhere Page Up/Down scroll the page).
   * @param {'next' | 'previous'} direction
   * @returns {boolean} whether the key was used
   */
  clicker(direction) {
    if (!this.on) return false;
    if (direction === 'next') this.app.raceCmds.stepOnce(SLIDE_STEP);
    else this.app.raceCmds.togglePlay();
    return true;
  }

  showHelp() {
    this.help.open();
  }
}
