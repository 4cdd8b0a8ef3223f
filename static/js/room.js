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
import { CUSTOM, DEFAULT_NET, DEFAULT_REG, cloneState, currentRuns, diffStates, formatHash, timelineOf } from './state.js';
import { deepFieldsOf } from './deepstate.js';

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
    // One line above the plot, which it must not push off screen; the QR code opens over the page.
    const join = el('p', { class: 'room-title' }, ['Lecture room: join at ']);
    join.append(this.link);
    const qrBox = el('details', { class: 'room-qr-box' }, [el('summary', { class: 'button small' }, ['QR code'])]);
    qrBox.append(this.qr);
    this.panel.replaceChildren(this.codeEl, join, this.count, qrBox, close);
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

  /**
   * The connection is back (after a drop or a server restart): reopen the room under its code,
   * so that its viewers, who keep trying that code, come back into it.
   */
  reconnected() {
    if (this.code && !this.connection.send({ type: 'room', action: 'open', code: this.code })) {
      this.showEnded();
    }
  }

  /** The connection dropped: the room reopens under the same code when it is back. */
  dropped() {
    if (!this.code) return;
    this.count.textContent = '';
    this.count.dataset.viewers = '';
    this.panel.dataset.state = 'waiting';
  }

  /** @param {any} msg  a server message; `room` messages are this view's */
  receive(msg) {
    if (msg?.type === 'error' && msg.field === 'code' && this.code) {
      this.showEnded(`Room ${this.code} could not be reopened: ${msg.message}`);
      return;
    }
    if (msg?.type !== 'room' || msg.role) return;
    this.panel.dataset.state = msg.status === 'reconnecting' ? 'waiting' : 'live';
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
    this.count.textContent = msg.status === 'reconnecting'
      ? String(msg.message ?? 'Reconnecting the room…')
      : `${n} viewer${n === 1 ? '' : 's'}`;
    this.count.dataset.viewers = String(n);
    this.panel.hidden = false;
  }

  /** The room ended. @param {string} [text] */
  showEnded(text = 'Not connected, so the room ended; open a new one.') {
    if (!this.code && text.startsWith('Not connected')) return;
    this.code = null;
    this.panel.dataset.state = 'ended';
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
  if (problem.network?.model === 'cnn' || problem.network?.model === 'rnn') {
    s.mode = 'network';
    s.net = { ...DEFAULT_NET, ...deepFieldsOf(problem.network) };
  } else if (problem.network) {
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
  Object.assign(s, timelineOf(runs, s.runs)); // a fork replays the live changes exactly
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

/** How long a viewer keeps trying a room that is gone (the server restarting, its presenter's
 * page reopening it under the same code) before saying that it ended. */
export const ROOM_GRACE_MS = 60_000;

/**
 * The viewer's page has one status, in its banner: joining, watching, reconnecting, waiting for
 * the presenter to reopen the room, or ended. Nothing else on the page reports the connection.
 */
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
    this.joined = false; // this page has watched the room at least once
    /** @type {number | null} when the room went missing (performance.now()) */
    this.missingSince = null;
    document.body.classList.add('room-viewer');
    const conn = document.getElementById('conn');
    if (conn) conn.hidden = true; // the banner says it all
    this.banner = el('div', { id: 'room-banner', class: 'room-banner', role: 'status' });
    this.words = el('span', { class: 'room-banner-text' });
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
    this.show('joining', `Joining room ${code}…`);
  }

  /**
   * The one status of the page.
   * @param {'joining' | 'live' | 'reconnecting' | 'waiting' | 'ended'} state
   * @param {string} text
   */
  show(state, text) {
    this.banner.dataset.state = state;
    this.banner.dataset.tone = state === 'live' ? '' : state === 'ended' ? 'ended' : 'waiting';
    this.words.textContent = text;
  }

  /** The socket is open (the room's greeting comes next). */
  opened() {
    if (!this.ended && !this.joined) this.show('joining', `Joining room ${this.code}…`);
  }

  /** The socket dropped; the connection tries again by itself. */
  dropped() {
    if (this.ended) return;
    if (this.missingSince !== null) return; // still waiting for the room to come back
    this.show('reconnecting', `Connection to room ${this.code} lost. Reconnecting…`);
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
      this.end(String(msg.message ?? 'The presenter ended the room.'));
      return true;
    }
    if (msg?.type === 'room' && msg.role === 'viewer') {
      this.joined = true;
      this.missingSince = null;
      this.show('live', `Watching room ${this.code} (read-only)`);
      return true;
    }
    if (msg?.type === 'room' && msg.status) {
      if (msg.status === 'reconnecting') this.show('reconnecting', `Room ${this.code}: ${msg.message ?? 'reconnecting…'}`);
      else this.show('live', `Watching room ${this.code} (read-only)`);
      return true;
    }
    if (msg?.type === 'error' && msg.field === 'room') {
      this.missing(String(msg.message));
      return true;
    }
    return msg?.type === 'room';
  }

  /**
   * The server has no such room. A room this page watched may be coming back (its server
   * restarted; the presenter's page reopens it under the same code): keep trying for a while.
   * @param {string} text
   */
  missing(text) {
    if (!this.joined) {
      this.end(text);
      return;
    }
    const now = performance.now();
    this.missingSince ??= now;
    if (now - this.missingSince > ROOM_GRACE_MS) {
      this.end(`Room ${this.code} ended: it did not come back.`);
      return;
    }
    this.show('waiting', `Waiting for the presenter to reopen room ${this.code}…`);
  }

  /** @param {string} text */
  end(text) {
    this.ended = true;
    this.connection.close();
    this.show('ended', text);
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
      race.unacked.set(msg.run, [...(race.unacked.get(msg.run) ?? []), changeText(currentRuns(before)[i], currentRuns(next)[i])]);
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
    if (modeChanged) app.viewCmds.applyMode();
    app.renderPanels();
    app.raceCmds.updateLegends();
    this.fork.disabled = false;
    if (d.surface || (!app.surface && next.mode !== 'network')) {
      app.surfaceCmds.load();
      if (modeChanged) app.viewCmds.showView(next.view);
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
