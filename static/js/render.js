// @ts-check
/**
 * The drawing clock: once per animation frame, each visible view appends the points that arrived
 * since its last update (one extendTraces call each). Views that are still busy skip the frame and
 * catch up at the next one with everything since, so a slow machine shows fewer, fuller updates
 * instead of falling behind.
 */

/** @typedef {import('./controller.js').Controller} Controller */

/** @param {Controller} app */
export function startRenderLoop(app) {
  const { store, contour, surface3d, loss, gnorm, toolbar, legend, race, notices } = app.p;
  let lastStep = -1;
  let stalledShown = false;

  const frame = () => {
    const main = app.state.view === 'surface' ? surface3d : contour;
    main.update(store);
    loss.update(store);
    gnorm.update(store);
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
