// @ts-check
/**
 * The parity card: for each run, a small chart of the largest difference so far between our
 * path and each library's (log y, one line per library, up to the step the race shows), the
 * number in words, and the server's notes on where a library's default or variant differs and
 * what setting makes them agree. Libraries the server cannot run are listed once, with why.
 * It draws what ParityPanel hands it; it asks the server nothing.
 */
import { el } from './controls.js';
import { formatValue } from './palette.js';
import { plotConfig, plotly } from './plotkit.js';
import { baseLayout, drawFigure, gridAxis, axisTitle } from './figure.js';
import { NORMAL_THEME } from './theme.js';
import { differenceSeries, isUnavailable, library, noteParts, stepOfMax } from './paritydata.js';

/** @typedef {import('./theme.js').Theme} Theme */
/** @typedef {import('./paritydata.js').ParityResult} ParityResult */
/** @typedef {import('./paritydata.js').LibraryPath} LibraryPath */
/** @typedef {import('./paritydata.js').LibraryWeights} LibraryWeights */
/** @typedef {'surface' | 'network'} ParityKind */
/**
 * @typedef {Object} RunShown  what the card shows of one run
 * @property {string} id
 * @property {string} label  "a · Adam lr=0.05"
 * @property {string} color
 * @property {ParityResult | null} result
 * @property {number} shown  the race's newest step of this run
 * @property {'computing' | 'updating' | 'error' | 'ready'} phase
 * @property {string} [error]
 * @property {string[]} remarks  the panel's own words about this comparison
 */
/** @typedef {{library: string, reason: string, runs: string[] | null}} Missing  `runs` null: every run */

/** What the card compares, in words, by the kind of race. */
const ABOUT = {
  surface:
    'Each run from step 0 with the settings its card shows, stepped by us and by each library in float64 from the same start, ' +
    'with the same closed-form gradients: the chart is the largest coordinate difference so far, up to the step the race has reached.',
  network:
    "Each run from step 0 with the settings its card shows, its weights stepped by us and by each library's optimizer in float64 from the same initial weights. " +
    "Before each update every library gets our backprop gradient at its own weights, on the same mini-batch (not autograd, unlike the streamed ~torch twin), " +
    'so the chart is the largest weight difference so far made by the optimizers alone, up to the step the race has reached.',
};

/** @param {number} v  a difference; 0 has no place on a log axis, so it leaves a gap */
const onLog = (v) => (v > 0 ? v : null);

/** @param {number} from @param {number} to @returns {number[]} */
const range = (from, to) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/**
 * One run's part of the card: its chart and its libraries' numbers and notes.
 */
class RunBlock {
  /** @param {string} id */
  constructor(id) {
    this.id = id;
    this.title = el('h3', { class: 'parity-run-title' });
    this.chart = el('div', { class: 'parity-chart', role: 'img', id: `parity-chart-${id}` });
    this.libs = el('dl', { class: 'parity-libs' });
    this.remarks = el('p', { class: 'summary parity-remarks' });
    this.root = el('article', { class: 'parity-run', 'data-run': id }, [this.title, this.chart, this.libs, this.remarks]);
    /** @type {ParityResult | null} */
    this.result = null;
    /** @type {{key: string, series: number[]}[]} the libraries drawn, in trace order */
    this.series = [];
    /** @type {Map<string, HTMLElement>} the value line of each library */
    this.values = new Map();
    this.drawnTo = -1; // the last step drawn
    this.decades = ''; // the y range drawn, in whole decades
    this.themeName = '';
    this.busy = false;
  }

  /** @param {ParityResult} result */
  setResult(result) {
    this.result = result;
    this.series = [];
    this.values = new Map();
    this.drawnTo = -1;
    const rows = [];
    for (const [key, lib] of Object.entries(result.libraries)) {
      if (isUnavailable(lib)) continue;
      const path = /** @type {LibraryPath | LibraryWeights} */ (lib);
      this.series.push({ key, series: differenceSeries(result, path) });
      const info = library(key);
      const value = el('dd', { class: 'parity-value' });
      this.values.set(key, value);
      const notes = el('ul', { class: 'parity-notes' });
      for (const note of path.notes) {
        const { text, setting } = noteParts(note);
        const li = el('li', { text });
        if (setting) li.append(' ', el('span', { class: 'parity-setting', text: 'To agree: ' }), el('code', { text: setting }));
        notes.append(li);
      }
      rows.push(
        el('div', { class: 'parity-lib', 'data-library': key, style: `--lib-color: ${info.color}` }, [
          el('dt', {}, [el('span', { class: 'lib-swatch', 'data-dash': info.dash, 'aria-hidden': 'true' }), el('span', { text: info.title })]),
          value,
          el('dd', {}, [notes]),
        ]),
      );
    }
    this.libs.replaceChildren(...rows);
    this.chart.hidden = this.series.length === 0; // no library ran this one
  }

  /** @param {number} shown @returns {number} the last step to draw */
  upTo(shown) {
    const n = Math.max(0, ...this.series.map((s) => s.series.length));
    return Math.min(shown, n - 1);
  }

  /** @param {number} shown  the words: the largest difference up to the step the race shows */
  writeValues(shown) {
    for (const { key, series } of this.series) {
      const node = this.values.get(key);
      if (!node) continue;
      const last = Math.min(shown, series.length - 1);
      if (last < 0) {
        node.textContent = 'no points';
        continue;
      }
      const m = series[last];
      const at = stepOfMax(series, last);
      node.textContent =
        m === 0
          ? `identical so far, bit for bit (steps 0–${last})`
          : `largest difference so far ${formatValue(m, 3)} (first at step ${at}; steps 0–${last})`;
      node.dataset.maxDiff = String(m);
      node.dataset.step = String(last);
    }
  }

  /**
   * The y range in whole decades around the differences up to step `to` (so every tick is a
   * power of ten), or null while every difference is 0.
   * @param {number} to
   * @returns {[number, number] | null}
   */
  decadesUpTo(to) {
    let lo = Infinity;
    let hi = 0;
    for (const { series } of this.series) {
      for (let k = 0; k <= to && k < series.length; k++) {
        const v = series[k];
        if (v > 0 && v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (hi === 0) return null;
    const a = Math.floor(Math.log10(lo));
    return [a, Math.max(a + 1, Math.ceil(Math.log10(hi)))];
  }

  /**
   * Draw up to the step shown: appended when the race went on, in full when the result, the
   * theme or the axis (a first non-zero difference) changed or the race went back.
   * @param {number} shown
   * @param {Theme} theme
   */
  async draw(shown, theme) {
    if (this.busy || !this.result || this.series.length === 0) return;
    const to = this.upTo(shown);
    const decades = this.decadesUpTo(to);
    const full = this.drawnTo < 0 || to < this.drawnTo || JSON.stringify(decades) !== this.decades || theme.name !== this.themeName;
    if (!full && to === this.drawnTo) return;
    this.busy = true;
    try {
      if (full) {
        await drawFigure(this.chart, this.traces(to), this.layout(theme, decades), plotConfig(), theme);
      } else {
        const from = this.drawnTo + 1;
        const x = this.series.map(() => range(from, to + 1));
        const y = this.series.map((s) => s.series.slice(from, to + 1).map(onLog));
        await plotly().extendTraces(this.chart, { x, y }, this.series.map((_, i) => i));
      }
      this.drawnTo = to;
      this.decades = JSON.stringify(decades);
      this.themeName = theme.name;
    } finally {
      this.busy = false;
    }
  }

  /** @param {number} to */
  traces(to) {
    return this.series.map(({ key, series }) => {
      const info = library(key);
      return {
        type: 'scatter',
        mode: 'lines',
        name: info.title,
        meta: { library: key },
        x: range(0, to + 1),
        y: series.slice(0, to + 1).map(onLog),
        line: { color: info.color, width: 2, dash: info.dash },
        hovertemplate: `${info.title}<br>step %{x}: %{y:.3g}<extra></extra>`,
      };
    });
  }

  /** @param {Theme} theme @param {[number, number] | null} decades */
  layout(theme, decades) {
    const size = theme.font.size - 1;
    const range = decades ?? [-18, -14];
    return {
      ...baseLayout(theme, { l: 52, r: 8, t: 6, b: 34 }),
      font: { ...theme.font, size },
      showlegend: this.series.length > 1,
      legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', font: { size: size - 1 } },
      xaxis: gridAxis(theme, { title: axisTitle('step', 2), rangemode: 'tozero' }),
      yaxis: gridAxis(theme, {
        type: 'log', exponentformat: 'power', range: [range[0] - 0.2, range[1] + 0.2], dtick: Math.ceil((range[1] - range[0]) / 5),
      }),
      annotations: decades
        ? []
        : [{
            text: 'no difference yet: the paths are identical',
            xref: 'paper', yref: 'paper', x: 0.5, y: 0.5, showarrow: false,
            font: { size: size * theme.scale.font, color: theme.ink ?? theme.font.color }, // styleLayout leaves arrays alone
          }],
    };
  }
}

export class ParityView {
  /**
   * @param {HTMLElement} card  the result card the view fills
   * @param {{close: () => void}} on
   * @param {Theme} [theme]
   */
  constructor(card, on, theme = NORMAL_THEME) {
    this.card = card;
    this.theme = theme;
    this.heading = el('h2', { id: 'parity-title', tabindex: '-1', text: 'Parity: our numpy beside PyTorch, JAX and Keras' });
    const close = el('button', { type: 'button', id: 'parity-close', class: 'icon-button', 'aria-label': 'Close the parity panel (Esc)', title: 'Close (Esc)', text: '✕' });
    close.addEventListener('click', () => on.close());
    this.about = el('p', { id: 'parity-about', class: 'summary', text: ABOUT.surface });
    this.status = el('p', { id: 'parity-status', class: 'summary', role: 'status', 'aria-live': 'polite' });
    this.missing = el('ul', { id: 'parity-unavailable', class: 'parity-unavailable', 'aria-label': 'Libraries not compared' });
    this.runs = el('div', { id: 'parity-runs', class: 'parity-runs' });
    card.replaceChildren(
      el('div', { class: 'result-head' }, [this.heading, close]),
      this.about,
      this.status,
      this.missing,
      this.runs,
    );
    card.setAttribute('aria-labelledby', 'parity-title');
    card.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        on.close();
      }
    });
    /** @type {Map<string, RunBlock>} */
    this.blocks = new Map();
    this.missingKey = '';
  }

  /** @param {ParityKind} kind  what the runs compared are: paths on a surface, or weights */
  setKind(kind) {
    if (this.about.textContent !== ABOUT[kind]) this.about.textContent = ABOUT[kind];
  }

  /** @param {Theme} theme  the next draw redraws every chart in it */
  setTheme(theme) {
    this.theme = theme;
  }

  /** @param {string} text */
  setStatus(text) {
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  /** @param {Missing[]} missing  each library the server could not run, once */
  showMissing(missing) {
    const key = JSON.stringify(missing);
    if (key === this.missingKey) return;
    this.missingKey = key;
    this.missing.replaceChildren(
      ...missing.map((m) =>
        el('li', { 'data-library': m.library }, [
          el('strong', { text: `${library(m.library).title}: ` }),
          el('span', { class: 'parity-reason', text: m.reason }),
          ...(m.runs ? [el('span', { class: 'parity-for', text: ` (run${m.runs.length > 1 ? 's' : ''} ${m.runs.join(', ')})` })] : []),
        ]),
      ),
    );
  }

  /** @param {RunShown[]} runs */
  showRuns(runs) {
    const ids = runs.map((r) => r.id);
    for (const [id, b] of this.blocks) {
      if (!ids.includes(id)) {
        plotly().purge(b.chart);
        b.root.remove();
        this.blocks.delete(id);
      }
    }
    runs.forEach((r, i) => {
      let b = this.blocks.get(r.id);
      if (!b) {
        b = new RunBlock(r.id);
        this.blocks.set(r.id, b);
      }
      if (this.runs.children[i] !== b.root) this.runs.insertBefore(b.root, this.runs.children[i] ?? null);
      b.root.style.setProperty('--run-color', r.color);
      b.root.dataset.phase = r.phase;
      if (b.title.textContent !== r.label) b.title.textContent = r.label;
      const none = r.result && r.phase !== 'error' && !Object.values(r.result.libraries).some((lib) => !isUnavailable(lib));
      const remarks = [
        r.phase === 'error' ? `Not compared: ${r.error}` : '',
        r.phase === 'computing' ? 'Comparing…' : '',
        none ? 'No library here runs this optimizer (see above).' : '',
        ...r.remarks,
      ]
        .filter(Boolean)
        .join(' ');
      if (b.remarks.textContent !== remarks) b.remarks.textContent = remarks;
      if (r.result && r.result !== b.result) b.setResult(r.result);
      if (!r.result || r.phase === 'error') return;
      b.writeValues(r.shown);
      b.chart.setAttribute('aria-label', `Largest difference so far of run ${r.id}'s path from each library's, against the step`);
      void b.draw(r.shown, this.theme);
    });
  }

  /** Free the charts (the panel closed). */
  clear() {
    for (const b of this.blocks.values()) plotly().purge(b.chart);
    this.blocks.clear();
    this.runs.replaceChildren();
  }

  focus() {
    this.heading.focus({ preventScroll: true });
  }
}
