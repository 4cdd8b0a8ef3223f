// @ts-check
/**
 * The "Compare fairly" views, wired together: the basin map (panel, key, layer on the contour),
 * the learning-rate sweep and "Tune all". app.js builds one Analysis with the page's elements
 * and an AnalysisHost; the controller only tells it when the race changed.
 */
import { BasinLayer } from './basinlayer.js';
import { BasinPanel } from './basinview.js';
import { BasinGallery } from './basingallery.js';
import { SweepPanel } from './sweepview.js';
import { TunePanel } from './tunepanel.js';

/** @typedef {import('./analysishost.js').AnalysisHost} AnalysisHost */
/** @typedef {import('./theme.js').Theme} Theme */

/** @param {string} id @returns {HTMLElement} */
function part(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
}

export class Analysis {
  /**
   * @param {HTMLElement} contour  the Plotly div of the paths (#contour)
   * @param {AnalysisHost} host
   * @param {Theme} theme  of the sweep's chart
   */
  constructor(contour, host, theme) {
    this.layer = new BasinLayer(contour);
    const gallery = new BasinGallery(part('basin-card'), host);
    this.basin = new BasinPanel(part('basin-panel'), part('basin-key'), this.layer, host, gallery);
    this.sweep = new SweepPanel(part('sweep-panel'), part('sweep-card'), host, theme);
    this.tune = new TunePanel(part('tune-panel'), part('tune-card'), host);
    this.hadTune = host.tuneState() !== null;
  }

  /** The race or its surface changed: run lists, staleness, the budget's words. */
  refresh() {
    this.basin.refresh();
    this.tune.showBudget();
  }

  /** The first surface is drawn: a link that holds a tuning shows its leaderboard again. */
  ready() {
    this.refresh();
    if (this.hadTune) this.tune.run(false);
    this.hadTune = false;
  }

  /**
   * A click on the contour.
   * @param {number} x @param {number} y
   * @returns {boolean} whether the basin map took it
   */
  pick(x, y) {
    return this.basin.pick(x, y);
  }
}
