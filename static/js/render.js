// @ts-check
/**
 * The drawing clock. At every animation frame the main view (contour or 3D) appends the points
 * that arrived since its last update, with one extendTraces call; the two charts take turns, each
 * at most ten times a second, so the paths keep the frame rate. A view that is still busy skips
 * the frame and catches up at the next with everything since: a slow machine shows fewer, fuller
 * updates instead of falling behind. Which charts, and what else moves (a network's boundary,
 * a regression's fitted lines), depend on the mode.
 */

const CHART_INTERVAL_MS = 100;
/** How often a network's landscape plot checks that every path is still inside it. */
const FOLLOW_INTERVAL_MS = 500;

/** @typedef {import('./controller.js').Controller} Controller */

/** @param {Controller} app */
export function startRenderLoop(app) {
  const { store, contour, surface3d, toolbar, legend, race, notices, boundary, regression, network } = app.p;
  let lastStep = -1;
  let stalledShown = false;

  const chartShownAt = [0, 0];
  let turn = 0;
  let followedAt = 0;

  /** @param {number} now */
  const frame = (now) => {
    const mode = app.state.mode;
    const main = app.state.view === 'surface' && mode !== 'network' ? surface3d : contour;
    main.update(store);
    const charts = app.charts();
    const i = turn % charts.length;
    if (now - chartShownAt[i] >= CHART_INTERVAL_MS) {
      charts[i].update(store);
      chartShownAt[i] = now;
      turn += 1;
    }
    if (mode === 'network') {
      boundary.update();
      if (now - followedAt >= FOLLOW_INTERVAL_MS) {
        network.follow(store);
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
