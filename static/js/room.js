// @ts-check
/**
 * Lecture rooms on the page (docs/protocol.md, "Lecture rooms").
 *
 * Presenter: the room button asks the server for a room; the room panel shows its code in large
 * letters, its address, a QR code of the address and the live number of viewers.
 * Viewer: a page opened as `/?room=CODE` connects to `/ws/room/CODE`, turns each `race` message
 * into the page's state (so the usual views draw the contour, the paths and the legend), keeps
 * every steering control out of reach, and offers "Fork": the race as the viewer's own session.
 */
import { el } from './controls.js';
import { CUSTOM, DEFAULT_NET, DEFAULT_REG, cloneState, diffStates, formatHash } from './state.js';

/** @typedef {import('./controller.js').Controller} Controller */
/** @typedef {import('./state.js').AppState} AppState */

/** @returns {string | null} the room code of this page's address (`?room=CODE`), if any */
export function roomCode() {
  const code = new URLSearchParams(location.search).get('room');
  return code && /^[A-Za-z0-9]{1,16}$/.test(code) ? code.toUpperCase() : null;
}


export class RoomPresenter {
  /**
   * @param {HTMLButtonElement} button  `#room-button`
   * @param {HTMLElement} panel  `#room-panel`
   * @param {{send: (m: Record<string, unknown>) => boolean}} connection
   */
  constructor(button, panel, connection) {
    this.button = button;
    this.panel = panel;
    this.connection = connection;
    /** @type {string | null} */
    this.code = null;
    this.codeEl = el('p', { class: 'room-code', id: 'room-code' });
    this.link = /** @type {HTMLAnchorElement} */ (el('a', { id: 'room-url', target: '_blank', rel: 'noopener' }));
    this.qr = /** @type {HTMLImageElement} */ (el('img', { id: 'room-qr', class: 'room-qr', alt: 'QR code of the room address', width: '180', height: '180' }));
    this.count = el('p', { id: 'room-viewers', class: 'room-viewers', role: 'status' });
    const close = el('button', { id: 'room-close', type: 'button', class: 'button small' }, ['Close room']);
    close.addEventListener('click', () => this.connection.send({ type: 'room', action: 'close' }));
    const words = el('div', { class: 'room-words' });
    words.append(el('p', { class: 'room-title' }, ['Lecture room: join at']), this.link, this.codeEl, this.count, close);
    this.panel.replaceChildren(words, this.qr);
    button.addEventListener('click', () => this.open());
  }

  open() {
    if (this.code) {
      this.panel.hidden = !this.panel.hidden;
      return;
    }
    if (!this.connection.send({ type: 'room', action: 'open' })) {
      this.showEnded('Not connected: the room opens once the connection is back.');
    }
  }

  /** @param {any} msg  a server message; `room` messages are this view's */
  receive(msg) {
    if (msg?.type !== 'room' || msg.role) return;
    if (msg.closed) {
      this.code = null;
      this.panel.hidden = true;
      this.button.textContent = 'Open room';
      return;
    }
    if (msg.code !== this.code) {
      this.code = String(msg.code);
      this.codeEl.textContent = this.code;
      this.link.href = String(msg.url);
      this.link.textContent = String(msg.url);
      this.qr.src = `/api/qr?text=${encodeURIComponent(String(msg.url))}`;
      this.button.textContent = `Room ${this.code}`;
    }
    const n = Number(msg.viewers ?? 0);
    this.count.textContent = `${n} viewer${n === 1 ? '' : 's'}`;
    this.count.dataset.viewers = String(n);
    this.panel.hidden = false;
  }

  /** The connection dropped: the server ended the room with the session. @param {string} [text] */
  showEnded(text = 'The connection dropped, which ended the room; open a new one.') {
    if (!this.code && text.startsWith('The connection')) return;
    this.code = null;
    this.button.textContent = 'Open room';
    this.count.textContent = text;
  }
}

/**
 * The page's state for a `race` message; what the message does not say is kept from `base`.
 * @param {any} msg
 * @param {AppState} base
 * @returns {AppState}
 */
export function stateFromRace(msg, base) {
  const s = cloneState(base);
  const problem = msg.problem ?? {};
  if (problem.network) {
    const n = problem.network;
    s.mode = 'network';
    s.net = {
      ...DEFAULT_NET,
      ...Object.fromEntries(
        ['dataset', 'n', 'noise', 'hidden', 'activation', 'arms', 'classes', 'torch']
          .filter((k) => n[k] !== undefined)
          .map((k) => [k, n[k]]),
      ),
      batch: n.batch_size ?? null,
    };
  } else if (problem.regression) {
    s.mode = 'regression';
    s.reg = { ...DEFAULT_REG, ...problem.regression };
  } else if (problem.expression) {
    s.mode = 'surface';
    s.surface = CUSTOM;
    s.expr = String(problem.expression);
    s.params = {};
  } else {
    s.mode = 'surface';
    s.surface = String(problem.surface);
    s.params = { ...(problem.params ?? {}) };
    s.expr = '';
  }
  const runs = /** @type {any[]} */ (msg.runs ?? []);
  s.runs = runs.map((r) => ({
    ...(typeof r.id === 'string' ? { id: r.id } : {}),
    optimizer: String(r.optimizer),
    hyper: { ...(r.hyper ?? {}) },
    schedule: r.schedule ?? null,
    noise: Number(r.noise ?? 0),
  }));
  s.start = runs[0]?.start ?? null;
  s.seed = Number(msg.seed ?? 0);
  s.steps = Number(msg.max_steps ?? s.steps);
  s.speed = Number(msg.steps_per_second ?? s.speed);
  return s;
}

/**
 * What a `set` changed in one run, in the words of the path's marks ("lr → 0.05").
 * @param {import('./state.js').RunState | undefined} before
 * @param {import('./state.js').RunState | undefined} after
 */
function changeText(before, after) {
  if (!before || !after) return ['settings changed'];
  const words = [];
  for (const [k, v] of Object.entries(after.hyper)) if (before.hyper[k] !== v) words.push(`${k} → ${v}`);
  if (before.noise !== after.noise) words.push(`noise → ${after.noise}`);
  if (JSON.stringify(before.schedule) !== JSON.stringify(after.schedule)) {
    words.push(`schedule → ${after.schedule?.name ?? 'none'}`);
  }
  return words.length ? words : ['settings changed'];
}

export class RoomViewer {
  /**
   * @param {string} code
   * @param {{close: () => void}} connection
   */
  constructor(code, connection) {
    this.code = code;
    this.connection = connection;
    /** @type {Controller | null} set once the page is built */
    this.app = null;
    /** @type {any[]} race messages that came before the page was built */
    this.early = [];
    this.ended = false;
    document.body.classList.add('room-viewer');
    this.banner = el('div', { id: 'room-banner', class: 'room-banner', role: 'status' });
    this.words = el('span', { class: 'room-banner-text' }, [`Watching room ${code} (read-only)`]);
    this.fork = /** @type {HTMLButtonElement} */ (
      el('button', { id: 'room-fork', type: 'button', class: 'button small primary', title: 'Run this race yourself, with its current settings' }, ['Fork'])
    );
    this.fork.disabled = true;
    this.fork.addEventListener('click', () => this.forkRace());
    this.banner.append(this.words, this.fork);
    document.querySelector('header')?.after(this.banner);
    for (const id of ['play', 'step', 'reset', 'speed']) {
      const node = /** @type {HTMLButtonElement | null} */ (document.getElementById(id));
      if (node) node.disabled = true;
    }
  }

  /** @param {Controller} app */
  attach(app) {
    this.app = app;
    for (const msg of this.early.splice(0)) this.showRace(msg);
  }

  /**
   * @param {any} msg  a server message
   * @returns {boolean} whether the message was this view's alone
   */
  receive(msg) {
    if (msg?.type === 'race') {
      if (this.app) this.showRace(msg);
      else this.early.push(msg);
      return false; // the Race sees it too (it ignores it)
    }
    if (msg?.type === 'room' && msg.closed) {
      this.end('The presenter ended the room.');
      return true;
    }
    if (msg?.type === 'error' && msg.field === 'room') {
      this.end(String(msg.message));
      return true;
    }
    return msg?.type === 'room';
  }

  /** @param {string} text */
  end(text) {
    this.ended = true;
    this.connection.close();
    this.words.textContent = text;
    this.banner.dataset.tone = 'ended';
  }

  /** @param {any} msg  a `race` message */
  showRace(msg) {
    const app = /** @type {Controller} */ (this.app);
    const before = app.state;
    const next = stateFromRace(msg, before);
    const d = diffStates(before, next);
    const modeChanged = before.mode !== next.mode;
    const race = app.p.race;
    if (msg.of === 'set' && typeof msg.run === 'string') {
      const i = next.runs.findIndex((_, k) => (msg.runs[k]?.id ?? '') === msg.run);
      race.unacked.set(msg.run, [...(race.unacked.get(msg.run) ?? []), changeText(before.runs[i], next.runs[i])]);
    } else if (msg.of !== 'speed') {
      const ids = /** @type {any[]} */ (msg.runs).map((r) => String(r.id));
      app.p.store.reset(ids);
      race.startMessage = { ...msg, type: 'start' };
      race.stopped.clear();
      race.unacked.clear();
      race.playing = true;
      app.p.legend.clearBadges();
    }
    app.state = next;
    if (modeChanged) app.applyMode();
    app.renderPanels();
    app.updateLegends();
    this.fork.disabled = false;
    if (d.surface || (!app.surface && next.mode !== 'network')) {
      app.loadSurface();
      if (modeChanged) app.showView(next.view);
    } else if (next.mode !== 'network') {
      app.p.contour.setStart(app.start());
    }
  }

  /** The presenter's race, with its current settings, as this page's own session. */
  forkRace() {
    if (!this.app) return;
    location.assign(`/${formatHash(this.app.state)}`);
  }
}
