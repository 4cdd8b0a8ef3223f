// @ts-check
/**
 * The curves of a network race against the step, one colour per run: the training objective
 * (solid) and the held-out one (dotted) on a log axis, with each run's torch twin dashed over its
 * training curve (drawn as a broad pale band then, so the dash is seen to lie on it); or the training (solid) and held-out (dotted) accuracy. New points are appended
 * with one extendTraces call, as for the surface charts.
 */
import { PathView } from './pathview.js';
import { chartLayout, gridAxis } from './figure.js';
import { TWIN_SUFFIX } from './store.js';
import { YRange, hasDiverged, logTicks } from './yrange.js';
import { relayoutRange } from './charts.js';

/** @typedef {import('./store.js').RunStore} RunStore */
/** @typedef {import('./store.js').Track} Track */
/** @typedef {import('./plotkit.js').Extension} Extension */
/** @typedef {import('./theme.js').Theme} Theme */

/** @param {number} from @param {number} to @returns {number[]} */
const steps = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

export class NetCurvesView extends PathView {
  /**
   * @param {HTMLElement} gd
   * @param {'loss' | 'acc'} series
   * @param {Theme} [theme]
   */
  constructor(gd, series, theme) {
    super(gd, ['x', 'y'], [], theme);
    this.series = series;
    /** runs drawn (the twins follow them) */
    this.runs = 0;
    this.classification = true;
    this.what = '';
    this.yrange = new YRange();
  }

  /** @param {RunStore} store  the loss curves, each with whether its run diverged */
  seriesOf(store) {
    return this.tracksOf(store).flatMap((t) => {
      const run = store.get(t.id.endsWith(TWIN_SUFFIX) ? t.id.slice(0, -TWIN_SUFFIX.length) : t.id);
      const diverged = run ? hasDiverged(run) : false;
      return t.id.endsWith(TWIN_SUFFIX) ? [{ key: t.id, diverged }] : [{ key: `${t.id}:train`, diverged }, { key: `${t.id}:test`, diverged }];
    });
  }

  /** @param {Track} t @param {number} from */
  widen(t, from) {
    if (t.id.endsWith(TWIN_SUFFIX)) {
      this.yrange.add(t.id, t.loss, from, true);
      return;
    }
    this.yrange.add(`${t.id}:train`, t.loss, from, true);
    this.yrange.add(`${t.id}:test`, t.extra.test_loss, from, true);
  }

  /** @param {RunStore} store */
  async update(store) {
    await super.update(store);
    if (this.series !== 'loss' || !(/** @type {any} */ (this.gd).layout) || this.busy || !this.visible) return;
    if (this.yrange.next(this.seriesOf(store), true)) await relayoutRange(this, true);
  }

  /** @param {RunStore} store */
  async redraw(store) {
    if (this.series === 'loss') {
      this.yrange.clear();
      for (const t of this.tracksOf(store)) this.widen(t, 0);
      this.yrange.next(this.seriesOf(store), true);
    }
    await super.redraw(store);
  }

  /**
   * @param {boolean} yes  accuracy applies (not for the 1D regression data set)
   * @param {string} [what]  what counts as right, when not the class (the RNN's tolerance)
   */
  setClassification(yes, what = '') {
    if (yes !== this.classification || what !== this.what) this.invalidate();
    this.classification = yes;
    this.what = what;
  }

  /** @param {RunStore} store */
  tracksOf(store) {
    if (this.series !== 'loss') return store.tracks;
    const twins = /** @type {Track[]} */ (store.tracks.map((t) => store.twin(t.id)).filter(Boolean));
    return [...store.tracks, ...twins];
  }

  /** @param {Track} t @returns {[(number | null)[], (number | null)[]]} solid and dotted series */
  values(t) {
    if (this.series === 'loss') return [t.loss, t.extra.test_loss];
    return [t.extra.train_acc, t.extra.test_acc];
  }

  /** @param {string} id */
  legendOf(id) {
    const run = id.endsWith(TWIN_SUFFIX) ? id.slice(0, -TWIN_SUFFIX.length) : id;
    return this.legends.find((l) => l.id === run);
  }

  /** @param {RunStore} store */
  traces(store) {
    const tracks = this.tracksOf(store);
    this.runs = store.tracks.length;
    const out = [];
    for (const t of store.tracks) {
      const l = this.legendOf(t.id);
      const name = l?.name ?? t.id;
      const color = l?.color ?? '#000';
      // with a twin dashed on top, ours is a broad pale band: the dash lies visibly inside it
      const twinned = this.series === 'loss' && tracks.some((x) => x.id === t.id + TWIN_SUFFIX);
      const [solid, dotted] = this.values(t);
      const what = this.series === 'loss' ? ['train loss', 'test loss'] : ['train accuracy', 'test accuracy'];
      const format = this.series === 'loss' ? '.4g' : '.1%';
      out.push(
        {
          type: 'scatter',
          mode: 'lines',
          name: `${name} ${what[0]}`,
          meta: { kind: 'train', run: t.id },
          x: steps(0, t.length),
          y: [...solid],
          line: { color, width: twinned ? 6 : 2.2 },
          opacity: twinned ? 0.38 : 1,
          hovertemplate: `${name}<br>${what[0]}, step %{x}: %{y:${format}}<extra></extra>`,
        },
        {
          type: 'scatter',
          mode: 'lines',
          name: `${name} ${what[1]}`,
          meta: { kind: 'test', run: t.id },
          x: steps(0, t.length),
          y: [...dotted],
          line: { color, width: 1.6, dash: 'dot' },
          opacity: 0.85,
          hovertemplate: `${name}<br>${what[1]}, step %{x}: %{y:${format}}<extra></extra>`,
        },
      );
    }
    for (const t of tracks.slice(store.tracks.length)) {
      const l = this.legendOf(t.id);
      out.push({
        type: 'scatter',
        mode: 'lines',
        name: `${l?.name ?? t.id} PyTorch`,
        meta: { kind: 'torch', run: t.id },
        x: steps(0, t.length),
        y: [...t.loss],
        line: { color: l?.color ?? '#000', width: 2.2, dash: 'dash' },
        hovertemplate: `${l?.name ?? t.id}, torch.optim<br>train loss, step %{x}: %{y:.6g}<extra></extra>`,
      });
    }
    return out;
  }

  /** @param {Extension} ext @param {Track} track @param {number} index @param {number} from */
  extendTrack(ext, track, index, from) {
    const x = steps(from, track.length);
    if (this.series === 'loss') this.widen(track, from);
    if (index < this.runs) {
      const [solid, dotted] = this.values(track);
      ext.add(2 * index, { x, y: solid.slice(from) });
      ext.add(2 * index + 1, { x, y: dotted.slice(from) });
    } else {
      ext.add(2 * this.runs + (index - this.runs), { x, y: track.loss.slice(from) });
    }
  }

  layout() {
    const loss = this.series === 'loss';
    const title = loss
      ? 'loss: train ━  test ┄  PyTorch (torch.optim) ╍'
      : this.classification
        ? `accuracy${this.what ? ` (${this.what})` : ''}: train ━  test ┄`
        : 'accuracy (classification data sets only)';
    const shown = this.yrange.shown;
    return {
      ...chartLayout(this.theme, title),
      yaxis: loss
        ? gridAxis(this.theme, {
            type: 'log',
            exponentformat: 'power',
            ...(shown ? { range: [...shown], autorange: false, dtick: logTicks(shown) } : { autorange: true }),
          })
        : gridAxis(this.theme, { range: [0, 1.02], tickformat: '.0%' }),
      uirevision: this.series,
    };
  }
}
