// @ts-check
/**
 * The presenter's questions to a room (docs/protocol.md, "Questions in a room"), in the room
 * panel: pick a kind, ask, watch the answers arrive (bars, and the taps' heat on the contour),
 * close the answers, then reveal: the class sees the tally and the race runs.
 */
import { el } from './controls.js';
import { KIND_TITLES, drawBars, tallyBars } from './tally.js';

/** @typedef {import('./tally.js').QuestionKind} QuestionKind */
/** @typedef {import('./pathview.js').RunLegend} RunLegend */
/**
 * @typedef {object} AskHost
 * @property {{send: (m: Record<string, unknown>) => boolean}} connection
 * @property {() => RunLegend[]} runs
 * @property {() => [number, number, number][]} minima
 * @property {() => void} play  run the race (or resume it) for the reveal
 * @property {import('./answerlayer.js').AnswerLayer} layer
 */

/**
 * The prompt a kind gets when the presenter types none, naming the first run.
 * @param {QuestionKind} kind @param {RunLegend[]} runs
 */
export function defaultPrompt(kind, runs) {
  const run = runs[0]?.name.split(' · ')[1] ?? 'it';
  if (kind === 'point') return `Where will ${run} end? Tap the contour.`;
  if (kind === 'diverge') return `Will ${run} diverge?`;
  if (kind === 'lr') return `Which learning rate is best for ${run}?`;
  return KIND_TITLES.run;
}

export class AskPanel {
  /** @param {AskHost} host */
  constructor(host) {
    this.host = host;
    /** @type {{id: number, kind: QuestionKind, open: boolean, prompt: string} | null} */
    this.question = null;
    /** @type {{count: number, summary: any}} the latest tally of the question */
    this.tally = { count: 0, summary: {} };
    this.kind = /** @type {HTMLSelectElement} */ (el('select', { id: 'ask-kind', 'aria-label': 'Question kind' }));
    for (const [value, title] of Object.entries(KIND_TITLES)) this.kind.append(el('option', { value }, [title]));
    this.prompt = /** @type {HTMLInputElement} */ (
      el('input', { id: 'ask-prompt', type: 'text', maxlength: '500', 'aria-label': 'Question to the class' })
    );
    this.kind.addEventListener('change', () => this.suggest());
    this.askButton = el('button', { id: 'ask-send', type: 'button', class: 'button small primary' }, ['Ask']);
    this.askButton.addEventListener('click', () => this.ask());
    this.asked = el('p', { id: 'ask-question', class: 'ask-question' });
    this.status = el('p', { id: 'ask-status', class: 'ask-status', role: 'status' });
    this.bars = el('ul', { id: 'ask-tally', class: 'tally', 'aria-label': 'Answers so far' });
    this.closeButton = /** @type {HTMLButtonElement} */ (el('button', { id: 'ask-close', type: 'button', class: 'button small' }, ['Close answers']));
    this.closeButton.addEventListener('click', () => this.host.connection.send({ type: 'ask', action: 'close' }));
    this.revealButton = /** @type {HTMLButtonElement} */ (
      el('button', { id: 'ask-reveal', type: 'button', class: 'button small primary', title: 'Show the class the answers and run the race' }, ['Reveal & run'])
    );
    this.revealButton.addEventListener('click', () => this.reveal());
    const form = el('div', { class: 'ask-form' }, [this.kind, this.prompt, this.askButton]);
    const live = el('div', { class: 'ask-live' }, [this.asked, this.status, this.closeButton, this.revealButton]);
    // folded until wanted: open, it must not push the plot off a small screen
    this.summary = el('summary', { class: 'button small', id: 'ask-open' }, ['Ask the class']);
    const body = el('div', { class: 'ask-body' }, [form, live, this.bars]);
    this.node = el('details', { id: 'ask', class: 'ask' }, [this.summary, body]);
    this.showButtons();
    this.suggest();
  }

  suggest() {
    this.prompt.placeholder = defaultPrompt(/** @type {QuestionKind} */ (this.kind.value), this.host.runs());
  }

  ask() {
    const kind = /** @type {QuestionKind} */ (this.kind.value);
    const prompt = this.prompt.value.trim() || defaultPrompt(kind, this.host.runs());
    if (!this.host.connection.send({ type: 'ask', kind, prompt })) this.status.textContent = 'Not connected: ask again once the connection is back.';
  }

  reveal() {
    this.host.connection.send({ type: 'ask', action: 'reveal' });
    this.host.play();
  }

  showButtons() {
    const q = this.question;
    this.closeButton.disabled = !q?.open;
    this.revealButton.disabled = !q;
  }

  /**
   * @param {any} msg  a server message; `ask` and `answers` are this panel's
   * @returns {boolean} whether it was
   */
  receive(msg) {
    if (msg?.type === 'room' && msg.closed) this.forget();
    if (msg?.type === 'ask' && msg.kind) {
      this.question = { id: Number(msg.id), kind: msg.kind, open: true, prompt: String(msg.prompt) };
      this.asked.textContent = `Q${msg.id}: ${msg.prompt}`;
      this.status.textContent = '0 answers';
      this.status.dataset.count = '0';
      this.draw({ count: 0, summary: msg.kind === 'point' || msg.kind === 'lr' ? { values: [] } : {} });
    } else if (msg?.type === 'ask' && this.question && Number(msg.id) === this.question.id) {
      this.question.open = false;
      if (msg.action === 'close') {
        this.status.textContent = `${this.status.dataset.count} answers · closed`;
      } else {
        this.draw(msg);
        this.status.textContent = `${msg.count} answers · revealed`;
      }
    } else if (msg?.type === 'answers' && this.question && Number(msg.id) === this.question.id) {
      this.draw(msg);
      this.status.textContent = `${msg.count} answer${msg.count === 1 ? '' : 's'}${this.question.open ? '' : ' · closed'}`;
    } else {
      return false;
    }
    this.showButtons();
    return true;
  }

  /** @param {{count: number, summary: any}} tally */
  draw(tally) {
    const q = /** @type {{id: number, kind: QuestionKind}} */ (this.question);
    this.tally = tally;
    this.status.dataset.count = String(tally.count);
    this.summary.textContent = `Q${q.id} · ${tally.count} answer${tally.count === 1 ? '' : 's'}`;
    drawBars(this.bars, this.currentBars());
    if (q.kind === 'point') this.host.layer.show(tally.summary?.values ?? []);
    else this.host.layer.hide();
  }

  currentBars() {
    const q = /** @type {{kind: QuestionKind}} */ (this.question);
    return tallyBars(q.kind, this.tally.summary, this.host.runs(), this.host.minima());
  }

  /** @returns {import('./answersexport.js').ExportedAnswers | null} the question for an export */
  exported() {
    const q = this.question;
    if (!q) return null;
    const points = q.kind === 'point' ? this.tally.summary?.values ?? [] : [];
    return { prompt: q.prompt, kind: q.kind, count: this.tally.count, bars: this.currentBars(), points };
  }

  /** The room closed: its question with it. */
  forget() {
    this.question = null;
    this.summary.textContent = 'Ask the class';
    this.asked.textContent = '';
    this.status.textContent = '';
    this.bars.replaceChildren();
    this.host.layer.hide();
    this.showButtons();
  }
}
