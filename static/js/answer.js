// @ts-check
/**
 * A room viewer's answer to the presenter's question (docs/protocol.md, "Questions in a room"):
 * the prompt and a control for its kind (tap the contour, a button per run, yes or no, a
 * learning rate on a log slider). One answer counts, changeable until the question closes. The
 * page names itself with a random token kept for the tab, and keeps its answer per question, so
 * after a reconnect it sends the same answer again and it replaces, rather than adds to, its
 * count. The class's answers appear only when the presenter reveals them.
 */
import { el } from './controls.js';
import { drawBars, tallyBars } from './tally.js';

/** @typedef {import('./tally.js').QuestionKind} QuestionKind */
/** @typedef {import('./pathview.js').RunLegend} RunLegend */
/**
 * @typedef {object} AnswerHost
 * @property {{send: (m: Record<string, unknown>) => boolean}} connection
 * @property {() => RunLegend[]} runs
 * @property {() => [number, number, number][]} minima
 * @property {import('./answerlayer.js').AnswerLayer} layer
 */

/** The server counts 2 answers a second per viewer (burst 5): a tapping hand sends its last. */
const SEND_GAP_MS = 600;
const LR_MIN = -5; // log10 of the slider's ends
const LR_MAX = 1;

/** @returns {string} this tab's name for itself in a room's answers */
export function viewerToken() {
  const key = 'gradscape-viewer';
  let token = sessionStorage.getItem(key);
  if (!token || !/^[A-Za-z0-9_-]{16,64}$/.test(token)) {
    const bytes = crypto.getRandomValues(new Uint8Array(12)); // randomUUID needs https
    token = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    sessionStorage.setItem(key, token);
  }
  return token;
}

/** @param {QuestionKind} kind @param {unknown} value @param {RunLegend[]} runs */
function answerText(kind, value, runs) {
  if (kind === 'point' && Array.isArray(value)) return `(${value.map((v) => Number(v).toPrecision(3)).join(', ')})`;
  if (kind === 'run') return runs.find((r) => r.id === value)?.name ?? String(value);
  if (kind === 'diverge') return value ? 'yes, it diverges' : 'no';
  return `lr = ${Number(value).toPrecision(3)}`;
}

export class AnswerCard {
  /**
   * @param {string} code  the room's
   * @param {AnswerHost} host
   */
  constructor(code, host) {
    this.host = host;
    this.store = `gradscape-answer-${code}`;
    this.token = viewerToken();
    /** @type {{id: number, kind: QuestionKind, open: boolean} | null} */
    this.question = null;
    /** @type {unknown} the answer given to the current question */
    this.value = undefined;
    this.lastSent = -Infinity;
    this.timer = 0;
    this.prompt = el('p', { id: 'answer-prompt', class: 'answer-prompt' });
    this.controls = el('div', { id: 'answer-controls', class: 'answer-controls' });
    this.status = el('p', { id: 'answer-status', class: 'answer-status', role: 'status' });
    this.bars = el('ul', { id: 'answer-tally', class: 'tally', 'aria-label': "The class's answers" });
    this.node = el('section', { id: 'answer-card', class: 'answer-card', 'aria-live': 'polite' }, [this.prompt, this.controls, this.status, this.bars]);
    this.node.hidden = true;
  }

  /**
   * @param {any} msg  a room message; `ask` is this card's
   * @returns {boolean} whether it was
   */
  receive(msg) {
    if (msg?.type !== 'ask') return false;
    if (msg.kind) this.asked(Number(msg.id), msg.kind, String(msg.prompt));
    else if (this.question && Number(msg.id) === this.question.id) {
      this.question.open = false;
      this.showControls();
      if (msg.action === 'reveal') this.revealed(msg);
      else this.status.textContent = this.value === undefined ? 'Answers are closed.' : `Answers are closed. Yours: ${this.mine()}.`;
    }
    return true;
  }

  /** @param {number} id @param {QuestionKind} kind @param {string} prompt */
  asked(id, kind, prompt) {
    const same = this.question?.id === id;
    this.question = { id, kind, open: true };
    this.prompt.textContent = prompt;
    this.bars.replaceChildren();
    this.node.hidden = false;
    const kept = same ? { value: this.value } : this.remembered(id);
    this.value = kept?.value;
    this.showControls();
    this.host.layer.hide();
    if (this.value !== undefined) {
      this.send(); // the room saw this page leave and come back: its answer counts once again
      if (kind === 'point') this.host.layer.show([], /** @type {[number, number]} */ (this.value));
    } else {
      this.status.textContent = kind === 'point' ? 'Tap the contour where you think it ends.' : 'Answer below; you may change it until the presenter closes the question.';
    }
  }

  showControls() {
    const q = this.question;
    if (!q) return;
    const closed = !q.open;
    if (q.kind === 'run') {
      this.controls.replaceChildren(...this.host.runs().map((r) => this.choice(r.name, r.id, r.color)));
    } else if (q.kind === 'diverge') {
      this.controls.replaceChildren(this.choice('Yes, it diverges', true), this.choice('No', false));
    } else if (q.kind === 'lr') {
      this.controls.replaceChildren(...this.slider());
    } else {
      this.controls.replaceChildren();
    }
    for (const b of this.controls.querySelectorAll('button, input')) /** @type {HTMLInputElement} */ (b).disabled = closed;
  }

  /** @param {string} label @param {unknown} value @param {string} [color] */
  choice(label, value, color) {
    const pressed = this.value === value;
    const button = el('button', { type: 'button', class: `button answer-choice${pressed ? ' primary' : ''}`, 'aria-pressed': String(pressed) }, [label]);
    if (color) button.style.borderLeft = `6px solid ${color}`;
    button.addEventListener('click', () => this.answer(value));
    return button;
  }

  slider() {
    const start = typeof this.value === 'number' ? Math.log10(this.value) : -2;
    const range = /** @type {HTMLInputElement} */ (
      el('input', { id: 'answer-lr', type: 'range', min: String(LR_MIN), max: String(LR_MAX), step: '0.05', value: String(start), 'aria-label': 'Learning rate (log scale)' })
    );
    const out = el('output', { for: 'answer-lr', class: 'answer-lr-value' });
    const lr = () => Number((10 ** Number(range.value)).toPrecision(3));
    const show = () => {
      out.textContent = `lr = ${lr()}`;
    };
    range.addEventListener('input', show);
    show();
    const send = el('button', { id: 'answer-lr-send', type: 'button', class: 'button primary' }, ['Send']);
    send.addEventListener('click', () => this.answer(lr()));
    return [range, out, send];
  }

  /** A tap on the contour: the answer to "where will it end?" @param {number} x @param {number} y */
  pick(x, y) {
    if (this.question?.kind !== 'point' || !this.question.open) return;
    this.answer([x, y]);
    this.host.layer.show([], [x, y]);
  }

  /** @param {unknown} value */
  answer(value) {
    const q = this.question;
    if (!q?.open) return;
    this.value = value;
    sessionStorage.setItem(this.store, JSON.stringify({ id: q.id, value }));
    if (q.kind !== 'point') this.showControls();
    this.send();
  }

  send() {
    window.clearTimeout(this.timer);
    const wait = this.lastSent + SEND_GAP_MS - performance.now();
    if (wait > 0) {
      this.timer = window.setTimeout(() => this.send(), wait);
      return;
    }
    if (!this.question?.open || this.value === undefined) return;
    const sent = this.host.connection.send({ type: 'answer', value: this.value, viewer: this.token });
    this.lastSent = performance.now();
    this.status.textContent = sent
      ? `Your answer: ${this.mine()}. You may change it until the question closes.`
      : 'Not connected: your answer is sent when the connection is back.';
  }

  mine() {
    return answerText(/** @type {QuestionKind} */ (this.question?.kind), this.value, this.host.runs());
  }

  /** @param {number} id @returns {{value: unknown} | null} */
  remembered(id) {
    try {
      const kept = JSON.parse(sessionStorage.getItem(this.store) ?? 'null');
      return kept?.id === id ? { value: kept.value } : null;
    } catch {
      return null;
    }
  }

  /** @param {any} msg  the reveal, with the class's tally */
  revealed(msg) {
    const q = /** @type {{kind: QuestionKind}} */ (this.question);
    const yours = this.value === undefined ? '' : ` Yours: ${this.mine()}.`;
    this.status.textContent = `The class answered (${msg.count}).${yours}`;
    drawBars(this.bars, tallyBars(q.kind, msg.summary, this.host.runs(), this.host.minima()));
    if (q.kind === 'point') this.host.layer.show(msg.summary?.values ?? [], /** @type {[number, number] | null} */ (this.value ?? null));
  }
}
