// @ts-check
/**
 * The analysis side of the server (docs/rest.md, Analysis): basin maps streamed as NDJSON row
 * blocks, learning-rate sweeps and fair tuning. Each call takes an AbortSignal; aborting the
 * basin stream closes the connection, and the server stops computing the map.
 */
import { ApiError } from './api.js';

/** @typedef {import('./state.js').Scalar} Scalar */
/** @typedef {import('./state.js').Schedule} Schedule */

/**
 * @typedef {Object} Problem  the problem fields every analysis request starts with
 * @property {string} [surface]
 * @property {Record<string, number>} [params]
 * @property {string} [expression]
 */
/**
 * @typedef {Object} BasinHead  the first line of the stream
 * @property {number[]} x
 * @property {number[]} y
 * @property {[number, number, number][]} minima
 * @property {number} rows
 */
/**
 * @typedef {Object} BasinBlock  then whole grid rows from `row` on
 * @property {number} row
 * @property {number[][]} minimum  the listed minimum's index, -1 none, -2 diverged
 * @property {(number | null)[][]} steps  first step from which the run stayed within tol of it
 * @property {number} done  fraction of the rows sent so far
 */
/**
 * @typedef {Object} SweepResult  POST /api/sweep
 * @property {number[]} lr
 * @property {number[]} final_loss
 * @property {boolean[]} diverged
 * @property {(number | null)[]} steps_to_tol
 * @property {(number | null)[]} diverged_at
 * @property {number | null} edge  the smallest swept lr that diverged or ended above its start
 * @property {{lr: number, lambda_max: number, formula: string} | null} predicted_edge
 */
/**
 * @typedef {Object} TuneRow  one optimizer's line of the leaderboard
 * @property {string} optimizer
 * @property {Record<string, number>} hyper  the tuned values
 * @property {number} score
 * @property {(number | null)[]} steps_to_tol  per start
 * @property {number} reached  starts that got within tol of f*
 * @property {number} final_loss  mean over the starts
 * @property {number | null} distance  mean distance of the last points to the nearest minimum
 * @property {boolean} diverged  the tuned setting diverged from some start
 * @property {number} diverged_trials
 * @property {number} trials
 * @property {number} rank
 */
/**
 * @typedef {Object} TuneResult  POST /api/tune
 * @property {'steps' | 'final_loss'} criterion
 * @property {number} tol
 * @property {{trials: number, steps: number, starts: number, runs: number, updates: number}} budget
 * @property {[number, number][]} starts
 * @property {Record<string, Record<string, number>>} tuned
 * @property {TuneRow[]} leaderboard
 */

/** @param {Response} response @returns {Promise<ApiError>} */
async function refusal(response) {
  const body = await response.json().catch(() => null);
  const message = body?.message ?? `The server answered ${response.status}.`;
  return new ApiError(message, response.status, body?.field, body?.position);
}

/**
 * @param {string} url
 * @param {object} body
 * @param {AbortSignal} [signal]
 * @returns {Promise<Response>}
 */
async function post(url, body, signal) {
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError('The server cannot be reached.', 0);
  }
  if (!response.ok) throw await refusal(response);
  return response;
}

/** @param {unknown} err @returns {boolean} the request was cancelled by its caller */
export function isAbort(err) {
  return err instanceof DOMException && err.name === 'AbortError';
}

/**
 * @param {object} body  a BasinRequest
 * @param {{head: (h: BasinHead) => void, block: (b: BasinBlock) => void}} on
 * @param {AbortSignal} signal
 * @returns {Promise<void>} when the last block is in
 */
export async function basinStream(body, on, signal) {
  const response = await post('/api/basin/stream', body, signal);
  if (!response.body) throw new ApiError('The browser cannot read a streamed answer.', 0);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let first = true;
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffer += value;
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) {
        const item = JSON.parse(line);
        if (first) on.head(item);
        else on.block(item);
        first = false;
      }
      nl = buffer.indexOf('\n');
    }
    if (done) break;
  }
  if (first) throw new ApiError('The server ended the basin map before it began.', 0);
}

/**
 * @param {object} body  a SweepRequest
 * @param {AbortSignal} [signal]
 * @returns {Promise<SweepResult>}
 */
export async function sweep(body, signal) {
  return (await post('/api/sweep', body, signal)).json();
}

/**
 * @param {object} body  a TuneRequest
 * @param {AbortSignal} [signal]
 * @returns {Promise<TuneResult>}
 */
export async function tune(body, signal) {
  return (await post('/api/tune', body, signal)).json();
}

/**
 * An error in words that name the field, as the panels show it.
 * @param {unknown} err
 * @returns {string}
 */
export function errorText(err) {
  if (err instanceof ApiError) {
    const field = err.field ? `${err.field}: ` : '';
    return err.message.startsWith(field) ? err.message : `${field}${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
