// @ts-check
/**
 * The share dialog: the link to this exact race with its QR code (drawn by the server, no
 * internet needed), an iframe snippet for slides with a choice of controls and size, and the
 * exports: the server's files (standalone HTML, CSV, JSON, GIF; the numpy and PyTorch scripts and
 * the notebook that reproduce the race) and each plot as PNG or SVG,
 * drawn by Plotly itself.
 */
import { ModalDialog } from './dialog.js';
import { plotly } from './plotkit.js';
import { DATASETS } from './hashcodecs.js';
import { formatHash } from './state.js';
import { downloadWithAnswers } from './answersexport.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./state.js').Controls} Controls */
/** @typedef {import('./controller.js').Controller} Controller */
/** @typedef {import('./answersexport.js').ExportedAnswers} ExportedAnswers */
/** @typedef {HTMLElement | {data: object[], layout: object}} Figure  what Plotly.downloadImage takes */
/** @typedef {{name: string, label: string, figure: () => Figure, box: HTMLElement}} PlotImage */

/** Longest link the server draws a QR code for (server/routes/share.py, MAX_QR_TEXT). */
export const QR_MAX = 2000;
export const EXPORT_FORMATS = ['html', 'csv', 'json', 'gif', 'numpy', 'torch', 'jax', 'keras', 'ipynb'];
/** What a network race exports: its losses per step, and the code that trains it. */
export const NETWORK_FORMATS = ['csv', 'numpy', 'torch', 'ipynb'];
const NETWORK_NOTE = 'A network exports its loss per step (CSV) and the code that trains it; its plots export as images below.';
const OTHER_NOTE = 'Files cover surface races; the plots of this mode export as images below.';
/** @type {Record<string, string>} The file name's ending per format (the scripts are Python files). */
export const EXPORT_SUFFIXES = { numpy: '-numpy.py', torch: '-torch.py', jax: '-jax.py', keras: '-keras.py', ipynb: '.ipynb' };
const LOCAL_HOSTS = ['127.0.0.1', 'localhost', '[::1]', '::1'];
const TITLE = 'Gradscape: gradient descent, live';

/**
 * The state as a link gives it to someone else: no presenter mode, no embed controls.
 * @param {AppState} state
 * @returns {AppState}
 */
export function sharedState(state) {
  return { ...state, controls: 'play', present: false };
}

/**
 * @param {AppState} state
 * @param {string} origin  e.g. "http://192.168.1.20:8000"
 */
export function raceLink(state, origin) {
  return `${origin}/${formatHash(sharedState(state))}`;
}

/**
 * @param {AppState} state
 * @param {string} origin
 * @param {Controls} controls
 * @param {boolean} present
 */
export function embedLink(state, origin, controls, present) {
  return `${origin}/embed${formatHash({ ...sharedState(state), controls, present })}`;
}

/** @param {AppState} state @param {string} format  html | csv | json | gif | numpy | torch | jax | keras | ipynb */
export function exportLink(state, format) {
  const hash = formatHash(sharedState(state)).slice(1);
  return `/api/export?state=${encodeURIComponent(hash)}&format=${format}`;
}

/** @param {string} s */
function attr(s) {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * The HTML to paste into a slide or a page.
 * @param {string} src
 * @param {string} size  "WIDTHxHEIGHT" or "responsive"
 */
export function iframeSnippet(src, size) {
  const common = `src="${attr(src)}" title="${TITLE}" loading="lazy" allow="fullscreen" allowfullscreen`;
  if (size === 'responsive') {
    return `<iframe ${common}\n  style="width: 100%; aspect-ratio: 16 / 10; border: 0;"></iframe>`;
  }
  const [w, h] = size.split('x');
  return `<iframe ${common}\n  width="${w}" height="${h}" style="border: 0;"></iframe>`;
}

/**
 * Copy a field's text: the clipboard if the browser allows it, else the text is selected so
 * that Ctrl+C copies it.
 * @param {HTMLInputElement | HTMLTextAreaElement} field
 * @returns {Promise<'copied' | 'selected'>}
 */
export async function copyField(field) {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(field.value);
      return 'copied';
    } catch {
      // refused (no permission, not a secure context): select instead
    }
  }
  field.focus();
  field.select();
  return 'selected';
}

/** @param {string} id */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
}

/**
 * The contour is two stacked plots (the surface under the paths): one figure of both, so the
 * image shows what the screen shows.
 * @param {any} background
 * @param {any} overlay
 * @returns {Figure}
 */
function stackedFigure(background, overlay) {
  const bg = background.layout ?? {};
  const fg = overlay.layout ?? {};
  const layout = {
    ...bg,
    xaxis: { ...bg.xaxis, ...(fg.xaxis?.range ? { range: [...fg.xaxis.range] } : {}) },
    yaxis: { ...bg.yaxis, ...(fg.yaxis?.range ? { range: [...fg.yaxis.range] } : {}) },
  };
  return { data: [...(background.data ?? []), ...(overlay.data ?? [])], layout };
}

export class ShareDialog {
  /**
   * @param {HTMLElement} dialog
   * @param {Controller} app
   */
  constructor(dialog, app) {
    this.app = app;
    this.modal = new ModalDialog(dialog);
    this.link = /** @type {HTMLInputElement} */ (byId('share-link'));
    this.snippet = /** @type {HTMLTextAreaElement} */ (byId('share-snippet'));
    this.qr = /** @type {HTMLImageElement} */ (byId('share-qr'));
    this.qrNote = byId('share-qr-note');
    this.size = /** @type {HTMLSelectElement} */ (byId('embed-size'));
    this.present = /** @type {HTMLInputElement} */ (byId('embed-present'));
    this.preview = /** @type {HTMLAnchorElement} */ (byId('embed-preview'));
    this.images = byId('export-images');
    this.status = byId('share-status');
    /** @type {() => ExportedAnswers | null} the room question to write into the HTML export, if any */
    this.answers = () => null;
    this.withAnswers = /** @type {HTMLButtonElement} */ (byId('export-html-answers'));
    this.withAnswers.addEventListener('click', () => this.downloadAnswers());
    for (const button of dialog.querySelectorAll('[data-copy]')) {
      const field = /** @type {HTMLInputElement} */ (byId(/** @type {HTMLElement} */ (button).dataset.copy ?? ''));
      button.addEventListener('click', () => this.copy(field));
    }
    dialog.querySelectorAll('input[name="embed-controls"]').forEach((r) => r.addEventListener('change', () => this.fillEmbed()));
    this.size.addEventListener('change', () => this.fillEmbed());
    this.present.addEventListener('change', () => this.fillEmbed());
    this.qr.addEventListener('error', () => {
      this.qr.hidden = true;
      this.qrNote.textContent = 'The QR code could not be drawn.';
    });
  }

  get isOpen() {
    return this.modal.isOpen;
  }

  open() {
    this.status.textContent = '';
    this.fill();
    this.modal.open();
    this.link.focus();
    this.link.select();
  }

  close() {
    this.modal.close();
  }

  /** @returns {Controls} */
  controls() {
    const checked = /** @type {HTMLInputElement | null} */ (
      this.modal.dialog.querySelector('input[name="embed-controls"]:checked')
    );
    return /** @type {Controls} */ (checked?.value ?? 'play');
  }

  fill() {
    const state = this.app.state;
    const link = raceLink(state, location.origin);
    this.link.value = link;
    if (link.length > QR_MAX) {
      this.qr.hidden = true;
      this.qrNote.textContent = `This link is too long for a QR code (${link.length} characters; at most ${QR_MAX}).`;
    } else {
      const src = `/api/qr?text=${encodeURIComponent(link)}`;
      if (this.qr.getAttribute('src') !== src) this.qr.src = src;
      this.qr.hidden = false;
      this.qrNote.textContent = LOCAL_HOSTS.includes(location.hostname)
        ? 'This address is this computer only: for phones in the room, start Gradscape with --host 0.0.0.0 and open the page by its network address.'
        : 'Scan it to open this race on a phone.';
    }
    this.fillEmbed();
    const surfaces = state.mode === 'surface';
    const network = state.mode === 'network' && DATASETS.includes(state.net.dataset); // an MLP
    byId('export-links').hidden = !surfaces && !network;
    const note = byId('export-note');
    note.hidden = surfaces;
    note.textContent = network ? NETWORK_NOTE : OTHER_NOTE;
    for (const a of this.modal.dialog.querySelectorAll('a[data-format]')) {
      const link = /** @type {HTMLAnchorElement} */ (a);
      const format = link.dataset.format ?? 'json';
      link.hidden = network && !NETWORK_FORMATS.includes(format);
      link.href = exportLink(state, format);
      link.download = `gradscape-race${EXPORT_SUFFIXES[format] ?? `.${format}`}`;
    }
    this.withAnswers.hidden = !surfaces || !this.answers();
    this.fillImages();
  }

  /** The standalone HTML of the race with the room question's answers drawn in it. */
  downloadAnswers() {
    const answers = this.answers();
    if (!answers) return;
    downloadWithAnswers(exportLink(this.app.state, 'html'), answers, 'gradscape-race-answers.html').then(
      () => this.say("Downloaded the race with the class's answers."),
      (err) => this.say(`The download failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  fillEmbed() {
    const src = embedLink(this.app.state, location.origin, this.controls(), this.present.checked);
    this.snippet.value = iframeSnippet(src, this.size.value);
    this.preview.href = src;
  }

  /** @returns {PlotImage[]} the plots on screen now, in this mode and view */
  plots() {
    const p = this.app.p;
    const main =
      p.contour.visible && p.contour.surface
        ? { name: 'contour', label: p.contour.surface.axes ? 'Loss contour' : 'Contour', box: p.contour.gd,
            figure: () => stackedFigure(p.contour.background, p.contour.gd) }
        : { name: '3d', label: '3D surface', box: p.surface3d.gd, figure: () => p.surface3d.gd };
    const charts = [
      ['boundary', 'Decision boundary', p.boundary.gd],
      ['regression', 'Data and fits', p.regression.gd],
      ['loss', 'Loss chart', p.loss.gd],
      ['gnorm', 'Gradient norm chart', p.gnorm.gd],
      ['net-loss', 'Loss chart', p.netLoss.gd],
      ['accuracy', 'Accuracy chart', p.netAcc.gd],
      ['prediction', 'Prediction and target', p.deep.sequences.predictionPlot],
      ['time-steps', 'Gradient per time step', p.deep.sequences.gradPlot],
    ].map(([name, label, gd]) => ({ name: String(name), label: String(label), box: /** @type {HTMLElement} */ (gd), figure: () => /** @type {HTMLElement} */ (gd) }));
    return [main, ...charts].filter((x) => x.box.offsetParent !== null && /** @type {any} */ (x.box).data);
  }

  fillImages() {
    const rows = this.plots().map((plot) => {
      const row = document.createElement('div');
      row.className = 'image-row';
      const name = document.createElement('span');
      name.textContent = plot.label;
      row.append(name);
      for (const format of /** @type {const} */ (['png', 'svg'])) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'button small';
        b.textContent = format.toUpperCase();
        b.setAttribute('aria-label', `${plot.label} as ${format.toUpperCase()}`);
        b.dataset.plot = plot.name;
        b.dataset.format = format;
        b.addEventListener('click', () => this.downloadImage(plot, format));
        row.append(b);
      }
      return row;
    });
    this.images.replaceChildren(...rows);
  }

  /** @param {PlotImage} plot @param {'png' | 'svg'} format */
  async downloadImage(plot, format) {
    const width = Math.max(480, Math.round(plot.box.clientWidth));
    const height = Math.max(360, Math.round(plot.box.clientHeight));
    try {
      await plotly().downloadImage(plot.figure(), {
        format,
        filename: `gradscape-${plot.name}`,
        width,
        height,
        scale: format === 'png' ? 2 : 1,
      });
      this.say(`${plot.label} saved as ${format.toUpperCase()}.`);
    } catch (err) {
      this.say(`The image could not be made: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** @param {HTMLInputElement | HTMLTextAreaElement} field */
  async copy(field) {
    const how = await copyField(field);
    this.say(how === 'copied' ? 'Copied.' : 'Selected: press Ctrl+C (⌘C on a Mac) to copy.');
  }

  /** @param {string} text */
  say(text) {
    this.status.textContent = text;
  }
}
