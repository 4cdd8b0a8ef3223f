// @ts-check
/** The REST side of the server: specs and grids. Every call is same-origin. */

/**
 * @typedef {Object} ParamSpec  one hyperparameter, surface parameter or schedule parameter
 * @property {string} name
 * @property {number | boolean | string} default
 * @property {number | null} [min]
 * @property {number | null} [max]
 * @property {'linear' | 'log'} [scale]
 * @property {'float' | 'int' | 'bool' | 'choice'} [kind]
 * @property {string} [doc]
 * @property {string[]} [choices]
 */
/**
 * @typedef {Object} SurfaceSpec
 * @property {string} name
 * @property {string} title
 * @property {string} formula
 * @property {[[number, number], [number, number]]} domain
 * @property {[number, number, number][]} minima
 * @property {[number, number]} start
 * @property {Record<string, ParamSpec>} params
 * @property {boolean} [log_color]
 */
/**
 * @typedef {Object} OptimizerSpec
 * @property {string} name
 * @property {string} title
 * @property {string} summary
 * @property {string} rule
 * @property {string} reference
 * @property {string | null} torch
 * @property {boolean} needs_hessian
 * @property {ParamSpec[]} hyper
 */
/**
 * @typedef {Object} ScheduleSpec
 * @property {string} name
 * @property {string} title
 * @property {string} summary
 * @property {string | null} torch
 * @property {ParamSpec[]} params
 */
/** @typedef {{x: number[], y: number[], z: (number | null)[][]}} Grid */
/**
 * @typedef {Grid & {formula: string, domain: [[number, number], [number, number]], start: [number, number]}} ExpressionGrid
 */
/** @typedef {{title: string, expression: string, domain: [[number, number], [number, number]] | null, start: [number, number] | null}} Example */

/** A refused or failed request, in words for the page; `field` and `position` locate the cause. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status  HTTP status, 0 when the server could not be reached
   * @param {string | undefined} [field]
   * @param {number | undefined} [position]
   */
  constructor(message, status, field, position) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field;
    this.position = position;
  }
}

/**
 * @param {string} url
 * @param {RequestInit} [init]
 * @returns {Promise<any>}
 */
async function request(url, init) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: 'application/json' }, ...init });
  } catch {
    throw new ApiError('The server cannot be reached.', 0);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body?.message ?? `The server answered ${response.status}.`;
    throw new ApiError(message, response.status, body?.field, body?.position);
  }
  return body;
}

/** @returns {Promise<SurfaceSpec[]>} */
export const surfaces = () => request('/api/surfaces');

/** @returns {Promise<OptimizerSpec[]>} */
export const optimizers = () => request('/api/optimizers');

/** @returns {Promise<ScheduleSpec[]>} */
export const schedules = () => request('/api/schedules');

/** @returns {Promise<Example[]>} */
export const expressionExamples = () => request('/api/expression/examples');

/**
 * The contour's axes reach this fraction of the domain's span beyond it on each side, so that a
 * start or a path at the domain's edge is not cut by the plot's; a named surface's grid covers
 * the padded range.
 */
export const AXIS_PAD = 0.04;

/**
 * @param {string} name
 * @param {Record<string, number>} params
 * @param {number} n  points per axis
 * @returns {Promise<Grid>}
 */
export function surfaceGrid(name, params, n) {
  const query = new URLSearchParams({ n: String(n), pad: String(AXIS_PAD) });
  for (const [k, v] of Object.entries(params)) query.set(k, String(v));
  return request(`/api/surfaces/${encodeURIComponent(name)}/grid?${query}`);
}

/**
 * @param {string} expression
 * @param {number} n
 * @param {[[number, number], [number, number]] | null} domain
 * @returns {Promise<ExpressionGrid>}
 */
export function expressionGrid(expression, n, domain) {
  return request('/api/expression/grid', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ expression, n, domain }),
  });
}

/**
 * @typedef {Object} RegressionSurface  POST /api/regression: the data and the exact loss over (w, b)
 * @property {'linear' | 'logistic'} model
 * @property {string} title
 * @property {string} formula
 * @property {[[number, number], [number, number]]} domain
 * @property {[number, number, number][]} minima
 * @property {[number, number]} start
 * @property {{x: number[], y: number[]}} data
 * @property {Grid} grid
 */

/**
 * @param {import('./state.js').RegState} regression
 * @param {number} n  grid points per axis
 * @returns {Promise<RegressionSurface>}
 */
export function regression(regression, n) {
  return request('/api/regression', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ regression, n }),
  });
}
