// @ts-check
/** The toolbar above the plot: play/pause, step, reset, speed, step counter, view, fullscreen. */
import { sliderScale } from './controls.js';

/**
 * @typedef {Object} ToolbarHandlers
 * @property {() => void} togglePlay
 * @property {() => void} step
 * @property {() => void} reset
 * @property {(stepsPerSecond: number, final: boolean) => void} speed
 * @property {(view: 'contour' | 'surface') => void} view
 * @property {() => void} fullscreen
 */

/** Steps per second: 1 to 1000 on a log slider. */
const SPEED = sliderScale({ name: 'speed', default: 60, min: 1, max: 1000, scale: 'log', kind: 'int' });

/** @param {string} id */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
}

export class Toolbar {
  /** @param {ToolbarHandlers} on */
  constructor(on) {
    this.play = byId('play');
    this.speedInput = /** @type {HTMLInputElement} */ (byId('speed'));
    this.speedOut = byId('speed-out');
    this.stepCount = byId('stepcount');
    this.viewButtons = {
      contour: byId('view-contour'),
      surface: byId('view-surface'),
    };
    this.play.addEventListener('click', () => on.togglePlay());
    byId('step').addEventListener('click', () => on.step());
    byId('reset').addEventListener('click', () => on.reset());
    byId('fullscreen').addEventListener('click', () => on.fullscreen());
    this.viewButtons.contour.addEventListener('click', () => on.view('contour'));
    this.viewButtons.surface.addEventListener('click', () => on.view('surface'));
    for (const final of [false, true]) {
      this.speedInput.addEventListener(final ? 'change' : 'input', () => {
        const v = SPEED.toValue(Number(this.speedInput.value));
        this.showSpeed(v);
        on.speed(v, final);
      });
    }
  }

  /** @param {boolean} playing */
  setPlaying(playing) {
    this.play.dataset.playing = String(playing);
    /** @type {HTMLElement} */ (this.play.querySelector('.label')).textContent = playing ? 'Pause' : 'Play';
    this.play.title = playing ? 'Pause (Space)' : 'Play (Space)';
  }

  /** @param {number} step @param {number} max */
  setStep(step, max) {
    this.stepCount.textContent = `step ${step} / ${max}`;
  }

  /** @param {number} v */
  showSpeed(v) {
    this.speedOut.textContent = `${v} steps/s`;
    this.speedInput.setAttribute('aria-valuetext', `${v} steps per second`);
  }

  /** @param {number} v */
  setSpeed(v) {
    this.speedInput.value = String(SPEED.toPos(v));
    this.showSpeed(v);
  }

  /** @param {'contour' | 'surface'} view */
  setView(view) {
    for (const [name, button] of Object.entries(this.viewButtons)) {
      button.setAttribute('aria-pressed', String(name === view));
    }
  }
}
