// @ts-check
/**
 * A room question's tally as bars (docs/protocol.md, "Questions in a room"): one bar per run for
 * "which wins", yes and no for "will it diverge", a histogram on a log scale for "pick the
 * learning rate", and for "where will it end" the taps counted by the listed minimum nearest
 * to them (the heat of the taps themselves is drawn on the contour: answerlayer.js).
 */
import { el } from './controls.js';

/** @typedef {'point' | 'run' | 'diverge' | 'lr'} QuestionKind */
/** @typedef {{label: string, count: number, color?: string}} Bar */
/** @typedef {import('./pathview.js').RunLegend} RunLegend */

/** The prompts a presenter gets when they type none. */
export const KIND_TITLES = {
  point: 'Where will it end? (tap the contour)',
  run: 'Which run wins?',
  diverge: 'Will it diverge?',
  lr: 'Which learning rate is best?',
};

/** @param {number} v */
const short = (v) => Number(v.toPrecision(3)).toString();

/**
 * Taps counted by their nearest listed minimum.
 * @param {[number, number][]} points
 * @param {[number, number, number][]} minima  [x, y, f]
 * @returns {Bar[]}
 */
export function nearestMinimumBars(points, minima) {
  if (!minima.length) return [{ label: 'taps', count: points.length }];
  const counts = minima.map(() => 0);
  for (const [x, y] of points) {
    let best = 0;
    let bestDistance = Infinity;
    minima.forEach(([mx, my], k) => {
      const d = (x - mx) ** 2 + (y - my) ** 2;
      if (d < bestDistance) [best, bestDistance] = [k, d];
    });
    counts[best] += 1;
  }
  return minima.map(([mx, my], k) => ({ label: `near (${short(mx)}, ${short(my)})`, count: counts[k] }));
}

/**
 * Learning rates in bins of half a decade, from the smallest answer's bin to the largest's.
 * @param {number[]} values  positive
 * @returns {Bar[]}
 */
export function learningRateBars(values) {
  if (!values.length) return [];
  const bin = (/** @type {number} */ v) => Math.floor(Math.log10(v) * 2 + 1e-9);
  const bins = values.map(bin);
  const lo = Math.min(...bins);
  const hi = Math.min(Math.max(...bins), lo + 15); // at most 16 bars; the rest in the last one
  const counts = new Array(hi - lo + 1).fill(0);
  for (const b of bins) counts[Math.min(b, hi) - lo] += 1;
  return counts.map((count, i) => ({ label: `${short(10 ** ((lo + i) / 2))}–${short(10 ** ((lo + i + 1) / 2))}`, count }));
}

/**
 * @param {QuestionKind} kind
 * @param {any} summary  the server's `summary`
 * @param {RunLegend[]} runs
 * @param {[number, number, number][]} minima
 * @returns {Bar[]}
 */
export function tallyBars(kind, summary, runs, minima) {
  if (kind === 'run') {
    const counts = /** @type {Record<string, number>} */ (summary ?? {});
    const listed = runs.map((r) => ({ label: r.name, count: counts[r.id] ?? 0, color: r.color }));
    const others = Object.entries(counts).filter(([id]) => !runs.some((r) => r.id === id));
    return [...listed, ...others.map(([id, count]) => ({ label: id, count }))];
  }
  if (kind === 'diverge') {
    return [
      { label: 'Yes, it diverges', count: Number(summary?.true ?? 0) },
      { label: 'No', count: Number(summary?.false ?? 0) },
    ];
  }
  const values = /** @type {any[]} */ (summary?.values ?? []);
  return kind === 'lr' ? learningRateBars(values) : nearestMinimumBars(values, minima);
}

/**
 * Draw bars into a list: each bar's length is its share of the largest.
 * @param {HTMLElement} list  a `<ul>`
 * @param {Bar[]} bars
 */
export function drawBars(list, bars) {
  const most = Math.max(1, ...bars.map((b) => b.count));
  list.replaceChildren(
    ...bars.map((b) => {
      const bar = el('span', { class: 'tally-bar', 'aria-hidden': 'true' });
      bar.style.width = `${(100 * b.count) / most}%`;
      if (b.color) bar.style.background = b.color;
      const track = el('span', { class: 'tally-track' }, [bar]);
      return el('li', { class: 'tally-row', 'data-count': String(b.count) }, [
        el('span', { class: 'tally-label' }, [b.label]),
        track,
        el('span', { class: 'tally-count' }, [String(b.count)]),
      ]);
    }),
  );
}
