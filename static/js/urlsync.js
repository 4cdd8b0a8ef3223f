// @ts-check
/**
 * The URL hash as the one record of the page's state: written after every change (pushed, so
 * Back undoes it, or replaced), followed on Back, Forward or a hash typed by hand, and checked
 * against what this server offers when it is read from a link.
 */
import { CUSTOM, cloneState, diffStates, formatHash, parseHash } from './state.js';
import { optimizersFor } from './modes.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./controller.js').Controller} Controller */

export class UrlSync {
  /** @param {Controller} app */
  constructor(app) {
    this.app = app;
    this.written = '';
  }

  /** Follow the address bar from now on. */
  listen() {
    window.addEventListener('popstate', () => this.follow());
    window.addEventListener('hashchange', () => this.follow());
  }

  /** @param {'push' | 'replace'} how */
  write(how) {
    const hash = formatHash(this.app.state);
    if (hash === this.written && hash === location.hash) return;
    this.written = hash;
    if (how === 'push' && location.hash && location.hash !== hash) history.pushState(null, '', hash);
    else history.replaceState(null, '', hash);
  }

  /** Back, forward, or a hash typed by hand: make the page match it. */
  follow() {
    if (location.hash === this.written) return;
    const app = this.app;
    const next = this.checked(parseHash(location.hash));
    this.written = location.hash;
    const d = diffStates(app.state, next);
    const modeChanged = app.state.mode !== next.mode;
    app.state = next;
    if (modeChanged) app.viewCmds.applyMode();
    app.renderPanels();
    if (d.view || modeChanged) app.viewCmds.showView(next.view);
    if (d.speed) {
      app.p.toolbar.setSpeed(next.speed);
      app.p.race.speed(next.speed);
    }
    if (d.surface) app.surfaceCmds.load().then((ok) => ok && app.raceCmds.startRace());
    else if (d.race) app.raceCmds.startRace();
  }

  /**
   * Names the server does not know are replaced, with a word, rather than failing the race.
   * @param {AppState} state
   */
  checked(state) {
    const { specs, p } = this.app;
    const s = cloneState(state);
    if (s.surface !== CUSTOM && !specs.surfaces.some((x) => x.name === s.surface)) {
      p.notices.say(`This server has no surface "${s.surface}"; showing ${specs.surfaces[0].title}.`);
      s.surface = specs.surfaces[0].name;
      s.params = {};
    }
    if (s.surface === CUSTOM && !s.expr) s.surface = specs.surfaces[0].name;
    const offered = optimizersFor(s.mode, specs.optimizers);
    for (const r of s.runs) {
      if (!specs.optimizers.some((o) => o.name === r.optimizer)) {
        p.notices.say(`This server has no optimizer "${r.optimizer}"; using ${offered[0].title}.`);
        r.optimizer = offered[0].name;
        r.hyper = {};
      } else if (!offered.some((o) => o.name === r.optimizer)) {
        p.notices.say(`Networks have no Hessian here, so ${r.optimizer} cannot train one; using ${offered[0].title}.`);
        r.optimizer = offered[0].name;
        r.hyper = {};
      }
    }
    return s;
  }

  copyLink() {
    const url = location.href;
    const notices = this.app.p.notices;
    const done = () => notices.say('Link copied: it reproduces this race exactly.');
    if (navigator.clipboard) navigator.clipboard.writeText(url).then(done, () => notices.say(url, 10000));
    else notices.say(url, 10000);
  }
}
