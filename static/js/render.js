// @ts-check
/**
 * The drawing clock. At every animation frame the main view (contour or 3D) appends the points
 * that arrived since its last update, with one extendTraces call; the two charts take turns, each
 * at most ten times a second, so the paths keep the frame rate. A view that is still busy skips
 * the frame and catches up at the next with everything since: a slow machine shows fewer, fuller
 * updates instead of falling behind.
 */

const CHART_INTERVAL_MS = 100;

/** @typedef {import('./controller.js').Controller} Controller */

/** @param {Controller} app */
export function startRenderLoop(app) {
  const { store, contour, surface3d, loss, gnorm, toolbar, legend, race, notices } = app.p;
  let lastStep = -1;
  let stalledShown = false;

  const charts = [loss, gnorm];
  const chartShownAt = [0, 0];
  let turn = 0;

  /** @param {number} now */
  const frame = (now) => {
    const main = app.state.view === 'surface' ? surface3d : contour;
    main.update(store);
    const i = turn % charts.length;
    if (now - chartShownAt[i] >= CHART_INTERVAL_MS) {
      charts[i].update(store);
      chartShownAt[i] = now;
      turn += 1;
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
