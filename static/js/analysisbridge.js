// @ts-check
/**
 * The AnalysisHost of the full page: what the analysis views may read of the race and the few
 * things they may ask of it (a live lr, a new start, a tuned race, the tuning's URL state).
 */
import { problemOf } from './modes.js';

/** @typedef {import('./analysishost.js').AnalysisHost} AnalysisHost */
/** @typedef {import('./analysishost.js').RunInfo} RunInfo */
/** @typedef {import('./controller.js').Controller} Controller */

/**
 * @param {Controller} app
 * @returns {AnalysisHost}
 */
export function analysisHost(app) {
  return {
    context() {
      const s = app.state;
      if (s.mode !== 'surface' || !app.surface) return null;
      const legends = app.raceCmds.legends();
      /** @type {RunInfo[]} */
      const runs = app.raceCmds.shownRuns().map((r, i) => {
        const spec = app.specs.optimizers.find((o) => o.name === r.optimizer);
        const lrSpec = spec?.hyper.find((h) => h.name === 'lr');
        return {
          id: legends[i].id,
          optimizer: r.optimizer,
          hyper: r.hyper,
          schedule: r.schedule,
          name: legends[i].name,
          color: legends[i].color,
          lr: Number(r.hyper.lr ?? lrSpec?.default ?? 0.001),
          lrSpec,
        };
      });
      const problem = /** @type {import('./analysisapi.js').Problem} */ (problemOf(s));
      return {
        problem,
        domain: app.surface.domain,
        minima: app.surface.minima,
        start: app.start(),
        steps: s.steps,
        seed: s.seed,
        runs,
      };
    },
    setLr(id, lr) {
      const index = app.raceCmds.runAt(id);
      if (index < 0) return;
      app.raceCmds.runChanged({ index, what: 'hyper', name: 'lr', value: lr, final: true });
      app.panels?.runs.render(app.raceCmds.shownRuns());
    },
    startAt(x, y) {
      app.change({ start: [x, y] });
      app.p.notices.say(`Every run now starts at (${Number(x.toPrecision(6))}, ${Number(y.toPrecision(6))}), the cell’s start.`, 2500);
    },
    applyTuned(tuned, tune) {
      const runs = app.raceCmds.shownRuns().map((r) => (tuned[r.optimizer] ? { ...r, hyper: { ...r.hyper, ...tuned[r.optimizer] } } : r));
      app.change({ runs, changes: [], tune });
      app.panels?.runs.render(app.state.runs);
    },
    saveTune(tune) {
      app.change({ tune }, 'replace');
    },
    tuneState() {
      return app.state.tune ?? null;
    },
  };
}
