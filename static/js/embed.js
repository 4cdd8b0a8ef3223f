// @ts-check
/**
 * The embedded page (/embed#<state>, in an iframe): one plot filling the frame, the controls the
 * hash asks for (`controls=none|play|all`, see app.css), a link to the full page with the same
 * race, and with no controls at all, the race starts over a few seconds after it ends, so a
 * slide keeps showing it.
 */
import { formatHash } from './state.js';
import { sharedState } from './share.js';

/** @typedef {import('./controller.js').Controller} Controller */

/** Seconds the end of a race stays on screen before an embed without controls plays it again. */
const REPLAY_AFTER_S = 4;

/** @returns {boolean} whether this page is the embedded one */
export function isEmbedded() {
  return document.body.classList.contains('embed');
}

/** @param {Controller} app */
export function setupEmbed(app) {
  if (!isEmbedded()) return;
  const body = document.body;
  const show = () => {
    body.dataset.controls = app.state.controls;
  };
  show();
  window.addEventListener('popstate', show);
  window.addEventListener('hashchange', show);

  // one visualization: the charts under the plot are not drawn at all
  for (const chart of [app.p.loss, app.p.gnorm, app.p.netLoss, app.p.netAcc]) chart.visible = false;

  const full = /** @type {HTMLAnchorElement | null} */ (document.getElementById('open-full'));
  if (full) {
    const point = () => {
      full.href = new URL(`/${formatHash(sharedState(app.state))}`, location.href).href;
    };
    point();
    for (const event of ['pointerdown', 'focus', 'contextmenu', 'click']) full.addEventListener(event, point);
  }

  let doneFor = 0;
  window.setInterval(() => {
    const over = app.state.controls === 'none' && app.p.race.clock === 'done';
    doneFor = over ? doneFor + 1 : 0;
    if (doneFor >= REPLAY_AFTER_S) {
      doneFor = 0;
      app.raceCmds.startRace();
    }
  }, 1000);
}
