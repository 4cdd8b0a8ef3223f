// @ts-check
/** Colours, the surface colour transform and number formatting shared by every view. */

/** One colour per run, the same in every chart, the legend and the run's card. */
export const RUN_COLORS = [
  '#d62728',
  '#1f4fd1',
  '#17853a',
  '#8e3fb8',
  '#d97000',
  '#00838f',
  '#8b4513',
  '#222222',
];

/** @param {number} index */
export function runColor(index) {
  return RUN_COLORS[index % RUN_COLORS.length];
}

/**
 * Viridis mixed 60% with white and reversed: low values light yellow, high values greyish violet.
 * Distinct hues survive a washed-out projector, and the saturated run colours stay on top.
 */
export const SURFACE_COLORSCALE = [
  [0, '#fef5a8'],
  [0.25, '#bfe9c0'],
  [0.5, '#a6d3d1'],
  [0.75, '#b1bad1'],
  [1, '#b499bb'],
];

/**
 * How surface values map to colour (and to height in the 3D view).
 * @typedef {Object} ValueScale
 * @property {(v: number | null) => number | null} apply
 * @property {boolean} log
 * @property {number[]} [tickvals]  colour-bar ticks (in transformed units) and their labels
 * @property {string[]} [ticktext]
 * @property {string} label
 */

/**
 * Log colouring where the surface spec asks for it (values spanning many decades):
 * v -> log10(v - floor + delta), with delta a millionth of the range, so the valley floor and the
 * walls both get contours. Otherwise values are used as they are.
 * @param {(number | null)[][]} z
 * @param {boolean | undefined} logColor
 * @param {number[]} [knownMinima]  f values of the known minima, which may lie between grid points
 * @returns {ValueScale}
 */
export function valueScale(z, logColor, knownMinima = []) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of z) {
    for (const v of row) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  for (const f of knownMinima) if (Number.isFinite(f) && f < lo) lo = f;
  const range = hi - lo;
  if (!logColor || !Number.isFinite(range) || range <= 0) {
    return { apply: (v) => v, log: false, label: 'f(x, y)' };
  }
  const delta = range * 1e-6;
  const apply = (/** @type {number | null} */ v) =>
    v === null || !Number.isFinite(v) ? null : Math.log10(Math.max(v - lo, 0) + delta);
  const tickvals = [];
  const ticktext = [];
  for (let k = Math.ceil(Math.log10(delta)); k <= Math.floor(Math.log10(range + delta)); k++) {
    tickvals.push(k);
    ticktext.push(formatValue(lo + 10 ** k));
  }
  return { apply, log: true, tickvals, ticktext, label: 'f(x, y), log colour' };
}

/**
 * Short human number: 3 significant digits, exponent form outside 1e-3 .. 1e5.
 * @param {number | null | undefined} v
 * @param {number} [digits]
 */
export function formatValue(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) return v.toExponential(digits - 1).replace('e+', 'e');
  return String(Number(v.toPrecision(digits)));
}
