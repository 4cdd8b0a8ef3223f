// @ts-check
/**
 * The RNN's live gradient clipping: a switch and a threshold on a log slider (0.001 to 1000).
 * A change is handed to `send` (the page sends `{"type": "clip", "max_norm": v | null}`); the
 * server's ack says from which update it applies, and that is what the line under it shows.
 */
import { el, round3 } from './controls.js';

const LOW = -3; // 10^-3
const POSITIONS = 60; // ten a decade, up to 10^3

/** @param {number} pos */
const valueAt = (pos) => round3(10 ** (LOW + pos / 10));
/** @param {number} v */
const positionOf = (v) => Math.max(0, Math.min(POSITIONS, Math.round(10 * (Math.log10(v) - LOW))));

export class ClipControl {
  /**
   * @param {HTMLElement} root
   * @param {(maxNorm: number | null) => void} send
   */
  constructor(root, send) {
    this.send = send;
    this.toggle = /** @type {HTMLInputElement} */ (el('input', { type: 'checkbox', id: 'clip-on' }));
    this.slider = /** @type {HTMLInputElement} */ (
      el('input', { type: 'range', id: 'clip-range', min: '0', max: String(POSITIONS), step: '1', 'aria-describedby': 'clip-out clip-status' })
    );
    this.out = el('output', { id: 'clip-out', for: 'clip-range' });
    this.status = el('span', { class: 'cell-note', id: 'clip-status', role: 'status', 'aria-live': 'polite' });
    this.norms = el('span', { class: 'cell-note clip-norms', id: 'clip-norms', title: 'The norm of the gradient each run\'s latest update used, after clipping' });
    this.slider.value = String(positionOf(1));
    root.replaceChildren(
      el('label', { for: 'clip-on', class: 'clip-switch', title: 'Scale the gradient down to this norm when it is longer (torch.nn.utils.clip_grad_norm_)' }, [this.toggle, ' Clip ‖g‖ at']),
      this.slider,
      this.out,
      this.status,
      this.norms,
    );
    this.toggle.addEventListener('change', () => this.changed());
    this.slider.addEventListener('input', () => this.label());
    this.slider.addEventListener('change', () => {
      if (!this.toggle.checked) this.toggle.checked = true;
      this.changed();
    });
    this.label();
    this.shownNorms = '';
  }

  /** @returns {number | null} the threshold shown; null when off */
  value() {
    return this.toggle.checked ? valueAt(Number(this.slider.value)) : null;
  }

  label() {
    this.out.textContent = String(valueAt(Number(this.slider.value)));
    this.out.classList.toggle('off', !this.toggle.checked);
  }

  changed() {
    this.label();
    this.status.textContent = 'sending…';
    delete this.status.dataset.step;
    this.send(this.value());
  }

  /** @param {number | null} clip  the threshold of the race (its start or a link) */
  set(clip) {
    this.toggle.checked = clip !== null;
    if (clip !== null) this.slider.value = String(positionOf(clip));
    this.label();
    this.status.textContent = clip === null ? 'off' : `‖g‖ ≤ ${clip}`;
    delete this.status.dataset.step;
  }

  /** @param {{max_norm: number | null, step: number}} ack */
  acked(ack) {
    const what = ack.max_norm === null ? 'no clipping' : `‖g‖ ≤ ${ack.max_norm}`;
    this.status.textContent = `${what} from update ${ack.step}`;
    this.status.dataset.step = String(ack.step);
    this.status.dataset.maxNorm = String(ack.max_norm);
  }

  /** @param {{legend: import('./pathview.js').RunLegend, value: number}[]} norms  of the latest updates */
  showNorms(norms) {
    const key = norms.map((n) => `${n.legend.id}${n.value}`).join();
    if (key === this.shownNorms) return;
    this.shownNorms = key;
    this.norms.replaceChildren(
      ...(norms.length ? ['‖g‖ now: '] : []),
      ...norms.flatMap((n, i) => [
        ...(i ? [' · '] : []),
        el('span', { style: `color: ${n.legend.color}`, 'data-run': n.legend.id, text: `${n.legend.name} ${n.value.toPrecision(3)}` }),
      ]),
    );
  }
}
