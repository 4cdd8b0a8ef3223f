// @ts-check
/**
 * The drawing clock. At every animation frame it applies the oldest server frame waiting in the
 * store (so two that arrive close together show one after the other), and the main view (contour
 * or 3D) appends the points since its last update, with one extendTraces call. The two charts
 * take turns, each at most ten times a second, so the paths keep the frame rate: server frames
 * come slower than the screen's, and a chart waits for a screen frame without new points, where
 * it does not delay the paths (at most a fifth of a second, on a machine too busy to have such
 * frames). A view that is still busy skips
 * the frame and catches up at the next with everything since: a slow machine shows fewer, fuller
 * updates instead of falling behind. Which charts, and what else moves (a network's boundary,
 * a regression's fitted lines), depend on the mode.
 */

const CHART_INTERVAL_MS = 100;
/** A chart due this long waits no more for a frame without new points. */
const CHART_OVERDUE_MS = 200;
/** How often a network's landscape plot checks that every path is still inside it. */
const FOLLOW_INTERVAL_MS = 500;

/** @typedef {import('./controller.js').Controller} Controller */

/** @param {Controller} app */
export function startRenderLoop(app) {
  const { store, contour, surface3d, toolbar, legend, race, notices, boundary, regression, network, deep } = app.p;
  let lastStep = -1;
  let stalledShown = false;

  const chartShownAt = [0, 0];
  let turn = 0;
  let followedAt = 0;

  /** @param {number} now */
  const frame = (now) => {
    const mode = app.state.mode;
    const main = app.state.view === 'surface' && mode !== 'network' ? surface3d : contour;
    const fresh = store.applyQueued();
    main.update(store);
    const charts = app.viewCmds.charts();
    const i = turn % charts.length;
    const since = now - chartShownAt[i];
    if (since >= CHART_OVERDUE_MS || (since >= CHART_INTERVAL_MS && !fresh)) {
      charts[i].update(store);
      chartShownAt[i] = now;
      turn += 1;
    }
    if (mode === 'network') {
      boundary.update();
      if (now - followedAt >= FOLLOW_INTERVAL_MS) {
        network.follow(store);
        deep.follow(store);
        followedAt = now;
      }
    } else if (mode === 'regression') {
      regression.update(store);
    }
    legend.update(store);
    const step = store.lastStep();
    if (step !== lastStep) {
      lastStep = step;
      toolbar.setStep(step, app.state.steps);
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);

  window.setInterval(() => {
    const stalled = race.stalled();
    if (stalled && !stalledShown) {
      notices.problem('No new points from the server for a few seconds; it may be busy. The race goes on when it answers.');
    } else if (!stalled && stalledShown) {
      notices.clearProblem();
    }
    stalledShown = stalled;
  }, 1000);
}
