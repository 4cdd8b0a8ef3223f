// @ts-check
/**
 * The race as the server runs it: turns the page's intentions into protocol messages
 * (docs/protocol.md) and the server's messages into the RunStore and a few callbacks. Knows no DOM.
 *
 * Live changes are coalesced per run and sent at most every 100 ms, so dragging a slider does not
 * flood the socket; each `ack` of a `set` becomes a mark on the path at the acked step.
 */
/** @typedef {import('./store.js').RunStore} RunStore */
/** @typedef {'idle' | 'running' | 'paused' | 'done'} Clock */
/**
 * @typedef {Object} RaceHandlers
 * @property {(clock: Clock, step: number) => void} clock
 * @property {(run: string, event: string, step: number, message: string) => void} event
 * @property {(message: string, field: string | undefined, run: string | undefined) => void} error
 * @property {(run: string, step: number, text: string, change: LiveChange | undefined) => void} applied
 *   a live change took effect from update `step` (`change`: what this page sent; undefined for
 *   a change it did not send, e.g. the presenter's in a room)
 * @property {(limits: Record<string, unknown>) => void} hello
 * @property {(ack: Record<string, unknown>) => void} [started]  the start was acked (torch state)
 * @property {(msg: any) => void} [problem]  a network race's dataset, boundary, landscape, view or
 *   the ack of a clip
 */
/** @typedef {{hyper?: Record<string, unknown>, schedule?: unknown, noise?: number}} LiveChange */

const SET_INTERVAL_MS = 100;
/** Messages about the race in progress: between a new `start` and its ack, the old race's. */
const OF_A_RACE = new Set(['frame', 'status', 'event', 'ack', 'internals', 'dataset', 'boundary', 'landscape', 'view']);
/** The most steps one `step` message may ask for. */
const MAX_STEP_N = 10_000;

export class Race {
  /**
   * @param {{send: (m: Record<string, unknown>) => boolean, isOpen: boolean}} connection
   * @param {RunStore} store
   * @param {RaceHandlers} on
   */
  constructor(connection, store, on) {
    this.connection = connection;
    this.store = store;
    this.on = on;
    /** @type {Record<string, unknown> | null} the last `start` sent */
    this.startMessage = null;
    /** @type {Clock} */
    this.clock = 'idle';
    this.playing = false;
    /** @type {Map<string, {change: LiveChange, text: string[]}>} changes waiting to be sent */
    this.pending = new Map();
    /** @type {Map<string, string[][]>} texts of sent changes waiting for their ack, per run */
    this.unacked = new Map();
    /** @type {Map<string, LiveChange[]>} the sent changes themselves, in the same order */
    this.sentChanges = new Map();
    /** @type {number | undefined} */
    this.flushTimer = undefined;
    this.lastSetAt = 0;
    /** @type {number | null} a speed waiting to be sent */
    this.pendingSpeed = null;
    /** @type {string | undefined} the run of the last `set` sent, which an error may be about */
    this.lastSetRun = undefined;
    /** @type {Map<string, string>} runs that stopped, and why */
    this.stopped = new Map();
    this.lastFrameAt = 0;
    /** a `start` was sent and not acked yet */
    this.awaitingStart = false;
  }

  /**
   * Start a new race (replacing any race in progress).
   * @param {Record<string, unknown>} message  a complete `start` message
   */
  start(message) {
    this.startMessage = message;
    const runs = /** @type {{id: string}[]} */ (message.runs);
    this.store.reset(runs.map((r) => r.id));
    this.markTimeline(message);
    this.pending.clear();
    this.unacked.clear();
    this.sentChanges.clear();
    this.stopped.clear();
    this.playing = true;
    this.clock = 'idle';
    this.awaitingStart = true;
    this.connection.send(message);
  }

  /**
   * After a reconnect: the race of the URL state (same seed, same runs) again, fast-forwarded to
   * the step the page had reached, and playing again if it was.
   * @param {Record<string, unknown>} message  the `start` message of the URL state
   */
  restore(message) {
    this.store.applyQueued(true);
    const step = this.store.lastStep();
    const wasPlaying = this.playing && this.clock !== 'done';
    this.start({ ...message, paused: true });
    for (let done = 0; done < step; done += MAX_STEP_N) {
      this.connection.send({ type: 'step', n: Math.min(MAX_STEP_N, step - done) });
    }
    if (wasPlaying) this.resume();
    else this.playing = false;
  }

  pause() {
    this.playing = false;
    this.connection.send({ type: 'pause' });
  }

  resume() {
    this.playing = true;
    this.connection.send({ type: 'resume' });
  }

  /** @param {number} n */
  step(n = 1) {
    this.playing = false;
    this.connection.send({ type: 'step', n });
  }

  /**
   * The live changes a `start` replays get their marks at once; each shows when its step is
   * reached (after a reconnect too).
   * @param {Record<string, unknown>} message
   */
  markTimeline(message) {
    for (const r of /** @type {{id: string, changes?: any[]}[]} */ (message.runs)) {
      for (const c of r.changes ?? []) {
        this.store.mark(r.id, { step: c.step, kind: 'set', text: `${changeWords(c)} from step ${c.step}` });
      }
    }
  }

  /** Every change made on this page that the server has not acked yet, oldest first. */
  unconfirmed() {
    const out = [...this.sentChanges].flatMap(([run, list]) => list.map((change) => ({ run, change })));
    return [...out, ...[...this.pending].map(([run, p]) => ({ run, change: p.change }))];
  }

  reset() {
    this.playing = false;
    this.flush(); // changes not sent yet go first: the server folds them into the reset race
    this.pending.clear();
    this.unacked.clear();
    this.sentChanges.clear();
    this.stopped.clear();
    this.connection.send({ type: 'reset' });
  }

  /**
   * Change the pace; like live changes, sent at most every 100 ms while a slider moves.
   * @param {number} stepsPerSecond
   */
  speed(stepsPerSecond) {
    this.pendingSpeed = stepsPerSecond;
    this.schedule();
  }

  /**
   * A run the page no longer shows: its points are dropped, its changes not sent; the server's
   * race goes on unchanged for the others.
   * @param {string} run
   */
  forget(run) {
    this.pending.delete(run);
    this.unacked.delete(run);
    this.stopped.delete(run);
    this.store.remove(run);
    if (this.startMessage) {
      const runs = /** @type {{id: string}[]} */ (this.startMessage.runs);
      this.startMessage = { ...this.startMessage, runs: runs.filter((r) => r.id !== run) };
    }
  }

  /** Send what is pending now, or as soon as 100 ms have passed since the last sending. */
  schedule() {
    const wait = this.lastSetAt + SET_INTERVAL_MS - performance.now();
    if (wait <= 0) this.flush();
    else if (this.flushTimer === undefined) this.flushTimer = window.setTimeout(() => this.flush(), wait);
  }

  /** Whether a live change still has a race to change: started, and not every run stopped. */
  get live() {
    return this.startMessage !== null && this.clock !== 'done' && this.stopped.size < this.store.tracks.length;
  }

  /**
   * Change one run of the running race; merged with other changes of the same run not yet sent.
   * @param {string} run
   * @param {LiveChange} change
   * @param {string} text  the change in words, for the mark ("lr → 0.05")
   */
  set(run, change, text) {
    const p = this.pending.get(run) ?? { change: {}, text: [] };
    if (change.hyper) p.change.hyper = { ...p.change.hyper, ...change.hyper };
    if ('schedule' in change) p.change.schedule = change.schedule;
    if ('noise' in change) p.change.noise = change.noise;
    p.text = [...p.text.filter((t) => t.split(' ')[0] !== text.split(' ')[0]), text];
    this.pending.set(run, p);
    this.schedule();
  }

  flush() {
    window.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.lastSetAt = performance.now();
    for (const [run, p] of this.pending) {
      if (this.connection.send({ type: 'set', run, ...p.change })) {
        this.unacked.set(run, [...(this.unacked.get(run) ?? []), p.text]);
        this.sentChanges.set(run, [...(this.sentChanges.get(run) ?? []), p.change]);
        this.lastSetRun = run;
      }
    }
    this.pending.clear();
    if (this.pendingSpeed !== null && this.startMessage) {
      this.connection.send({ type: 'speed', steps_per_second: this.pendingSpeed });
    }
    this.pendingSpeed = null;
  }

  /** @param {any} msg  one server message */
  receive(msg) {
    // Until the server acks the new start, what it sends of a race is still the old race's.
    if (this.awaitingStart && OF_A_RACE.has(msg?.type)) {
      if (msg.type !== 'ack' || msg.of !== 'start') return;
      this.awaitingStart = false;
    }
    // Frames wait for the drawing clock (RunStore.queueFrame); anything else may refer to their
    // points, so it finds them applied.
    if (msg?.type !== 'frame') this.store.applyQueued(true);
    switch (msg?.type) {
      case 'hello':
        this.on.hello(msg.limits ?? {});
        break;
      case 'frame':
        this.lastFrameAt = performance.now();
        this.store.queueFrame(msg.runs ?? {});
        break;
      case 'ack':
        this.onAck(msg);
        break;
      case 'status':
        this.setClock(msg.state, Number(msg.step ?? 0));
        break;
      case 'event':
        this.onEvent(msg);
        break;
      case 'error':
        this.onError(msg);
        break;
      case 'dataset':
      case 'boundary':
      case 'landscape':
      case 'view':
        this.on.problem?.(msg);
        break;
      default:
        break;
    }
  }

  /** @param {any} msg */
  onAck(msg) {
    if (msg.of === 'set') {
      const queue = this.unacked.get(msg.run) ?? [];
      const text = (queue.shift() ?? ['settings changed']).join(', ');
      const change = this.sentChanges.get(msg.run)?.shift();
      const step = Number(msg.step);
      this.store.mark(msg.run, { step, kind: 'set', text: `${text} from step ${step}` });
      this.on.applied(msg.run, step, text, change);
    } else if (msg.of === 'reset') {
      this.store.rewind();
      this.stopped.clear();
    } else if (msg.of === 'start') {
      this.setClock('running', 0);
      this.on.started?.(msg);
    } else if (msg.of === 'clip') {
      this.on.problem?.(msg); // the RNN's clipping threshold changed (deepview.js)
    }
  }

  /**
   * A refused `set` names only its field ("hyper.lr"): it is about the last run changed, whose
   * change will get no ack.
   * @param {any} msg
   */
  onError(msg) {
    const field = typeof msg.field === 'string' ? msg.field : undefined;
    let run = msg.run;
    if (!run && field && /^(hyper|schedule|noise)\b/.test(field)) {
      run = this.lastSetRun;
      if (run) this.unacked.get(run)?.shift();
      if (run) this.sentChanges.get(run)?.shift();
    }
    this.on.error(String(msg.message ?? 'The server refused a message.'), field, run);
  }

  /** @param {any} msg */
  onEvent(msg) {
    const step = Number(msg.step ?? 0);
    const kind = String(msg.event);
    const message = String(msg.message ?? '');
    if (!this.store.get(msg.run)) {
      // a torch twin stopped on its own: its run goes on
      this.on.event(msg.run, kind, step, message);
      return;
    }
    if (kind === 'diverged' || kind === 'finished' || kind === 'converged') {
      this.stopped.set(msg.run, kind);
      this.store.mark(msg.run, { step, kind, text: message || `${kind} at step ${step}` });
    }
    this.on.event(msg.run, kind, step, message);
  }

  /** @param {Clock} clock @param {number} step */
  setClock(clock, step) {
    this.clock = clock;
    if (clock === 'done') this.playing = false;
    this.on.clock(clock, step);
  }

  /** @returns {boolean} the race should be moving but no frame came for `ms` */
  stalled(ms = 4000) {
    return (
      this.connection.isOpen &&
      this.clock === 'running' &&
      this.live &&
      performance.now() - this.lastFrameAt > ms
    );
  }
}

/**
 * A timeline change in the words of the path's marks ("lr → 0.05, noise → 0").
 * @param {{hyper?: Record<string, unknown>, schedule?: any, noise?: number}} c
 */
export function changeWords(c) {
  const words = Object.entries(c.hyper ?? {}).map(([k, v]) => `${k} → ${v}`);
  if (c.noise !== undefined) words.push(`noise → ${c.noise}`);
  if (c.schedule !== undefined) words.push(`schedule → ${c.schedule?.name ?? 'none'}`);
  return words.join(', ') || 'settings changed';
}
