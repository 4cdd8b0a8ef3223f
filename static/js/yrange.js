// @ts-check
/**
 * The y range of a chart of runs, chosen by the page rather than by Plotly's autorange, so that a
 * run that blows up does not flatten the others: the range covers the runs that stay tame (a run
 * that diverged, or rose more than six decades above where it began, leaves the plot at the top,
 * its mark pinned to the edge). When no run is tame, each is followed up to six decades above
 * its start. Ranges only widen while the values
 * stay inside them, so a falling loss costs a relayout now and then, not one per frame.
 */

/** @typedef {import('./store.js').Track} Track */
/** @typedef {[number, number]} Range  in axis units: log10 of the value on a log axis */

/** How far above its first value a diverged run is still followed, when no run is left. */
const DIVERGED_DECADES = 6;
/** The least span of a log axis, in decades: flatter curves are centred in it. */
const MIN_LOG_SPAN = 0.02;
/** The margin added on each side, as a part of the span. */
const MARGIN = 0.06;
/** A shown range wider than this many times what is needed shrinks to fit. */
const SLACK = 3;

class Extent {
  constructor() {
    this.lo = Infinity;
    this.hi = -Infinity;
    /** the same over the values within DIVERGED_DECADES of the first */
    this.calmLo = Infinity;
    this.calmHi = -Infinity;
    /** @type {number | null} */
    this.first = null;
  }
}

/** @param {Track} t */
export function hasDiverged(t) {
  return t.marks.some((m) => m.kind === 'diverged');
}

export class YRange {
  constructor() {
    /** @type {Map<string, Extent>} keyed by track id and series */
    this.extents = new Map();
    /** @type {Range | null} the range the chart shows */
    this.shown = null;
  }

  clear() {
    this.extents.clear();
    this.shown = null;
  }

  /**
   * Take in a track's values (those from index `from` on, the earlier ones were seen).
   * @param {string} key
   * @param {(number | null)[]} values
   * @param {number} from
   * @param {boolean} log
   */
  add(key, values, from, log) {
    let e = this.extents.get(key);
    if (!e) {
      e = new Extent();
      this.extents.set(key, e);
    }
    for (let i = from; i < values.length; i++) {
      const raw = values[i];
      if (raw === null || raw === undefined || !Number.isFinite(raw) || (log && !(raw > 0))) continue;
      const v = log ? Math.log10(raw) : raw;
      if (e.first === null) e.first = v;
      if (v < e.lo) e.lo = v;
      if (v > e.hi) e.hi = v;
      const calm = log ? v - e.first <= DIVERGED_DECADES : Math.abs(v - e.first) <= 1e3 * (Math.abs(e.first) + 1);
      if (calm) {
        if (v < e.calmLo) e.calmLo = v;
        if (v > e.calmHi) e.calmHi = v;
      }
    }
  }

  /**
   * The range the values need, padded; null when there is nothing to show.
   * @param {{key: string, diverged: boolean}[]} series
   * @param {boolean} log
   * @returns {Range | null}
   */
  wanted(series, log) {
    const going = series.filter((s) => {
      const e = this.extents.get(s.key);
      return !s.diverged && !(e && (e.hi > e.calmHi || e.lo < e.calmLo));
    });
    const calm = going.length === 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of calm ? series : going) {
      const e = this.extents.get(s.key);
      if (!e) continue;
      lo = Math.min(lo, calm ? e.calmLo : e.lo);
      hi = Math.max(hi, calm ? e.calmHi : e.hi);
    }
    if (!(hi >= lo)) return null;
    const least = log ? MIN_LOG_SPAN : Math.max(Math.abs(hi), Math.abs(lo), 1e-12) * 0.02;
    if (hi - lo < least) {
      const mid = (hi + lo) / 2;
      lo = mid - least / 2;
      hi = mid + least / 2;
    }
    const pad = (hi - lo) * MARGIN;
    return [lo - pad, hi + pad];
  }

  /**
   * The range to show now, or null if the one shown still fits.
   * @param {{key: string, diverged: boolean}[]} series
   * @param {boolean} log
   * @returns {Range | null}
   */
  next(series, log) {
    const want = this.wanted(series, log);
    if (!want) return null;
    const s = this.shown;
    const fits = s && s[0] <= want[0] && s[1] >= want[1] && s[1] - s[0] <= SLACK * (want[1] - want[0]);
    if (fits) return null;
    // widen a little more than needed in the direction the values are going
    const span = want[1] - want[0];
    const grow = s ? span * MARGIN * 2 : 0;
    this.shown = [want[0] - (s && want[0] < s[0] ? grow : 0), want[1] + (s && want[1] > s[1] ? grow : 0)];
    return this.shown;
  }

  /**
   * A value kept inside the shown range (for markers: SVG refuses huge coordinates).
   * @param {number} v
   * @param {boolean} log
   */
  pin(v, log) {
    if (!this.shown) return v;
    const [lo, hi] = log ? this.shown.map((r) => 10 ** r) : this.shown;
    return Math.min(hi, Math.max(lo, v));
  }
}

/**
 * Log ticks for a span of `decades`: Plotly's own below one decade (values written out, 10.12,
 * 10.14...), 1-2-5 within one or two, else every few decades so labels never crowd.
 * @param {Range | null} range
 * @returns {number | string | undefined}
 */
export function logTicks(range) {
  if (!range) return undefined;
  const decades = range[1] - range[0];
  if (decades < 1) return undefined;
  if (decades < 1.5) return 'D2';
  return Math.max(1, Math.ceil(decades / 7));
}
