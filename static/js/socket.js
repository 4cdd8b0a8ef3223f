// @ts-check
/**
 * The websocket to /ws: JSON messages both ways, and reconnection with exponential backoff.
 *
 * The connection keeps trying until `close()` is called: after a drop it waits 0.5 s, 1 s, 2 s,
 * ... up to 10 s (each with up to 20% jitter, so a class of laptops does not reconnect in step),
 * and starts again from 0.5 s once a connection has held for 5 s.
 */

/**
 * @typedef {Object} ConnectionHandlers
 * @property {(reconnected: boolean) => void} open  the socket is open; `reconnected` after a drop
 * @property {(message: any) => void} message  one parsed server message
 * @property {(info: {retryIn: number, attempt: number, everOpened: boolean}) => void} drop
 *   the socket closed or could not open; the next attempt starts in `retryIn` ms
 */

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
const STABLE_MS = 5_000;

/** @param {number} attempt  1 for the first retry @returns {number} milliseconds */
export function backoffDelay(attempt) {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(base * (1 + 0.2 * Math.random()));
}

/** @param {string} [path] @returns {string} the ws:// or wss:// address of `path` on this page's server */
export function socketUrl(path = '/ws') {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}${path}`;
}

export class Connection {
  /**
   * @param {string} url
   * @param {ConnectionHandlers} handlers
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.attempt = 0;
    this.everOpened = false;
    this.closed = false;
    /** @type {number | undefined} */
    this.retryTimer = undefined;
    /** @type {number | undefined} */
    this.stableTimer = undefined;
  }

  get isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  connect() {
    this.closed = false;
    window.clearTimeout(this.retryTimer);
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener('open', () => {
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.stableTimer = window.setTimeout(() => (this.attempt = 0), STABLE_MS);
      this.handlers.open(reconnected);
    });
    ws.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(/** @type {string} */ (event.data));
      } catch {
        return;
      }
      this.handlers.message(message);
    });
    ws.addEventListener('close', () => this.onClose(ws));
  }

  /** @param {WebSocket} ws */
  onClose(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    window.clearTimeout(this.stableTimer);
    if (this.closed) return;
    this.attempt += 1;
    const retryIn = backoffDelay(this.attempt);
    this.retryTimer = window.setTimeout(() => this.connect(), retryIn);
    this.handlers.drop({ retryIn, attempt: this.attempt, everOpened: this.everOpened });
  }

  /** Try now instead of waiting for the backoff timer. */
  retryNow() {
    if (this.ws) return;
    this.connect();
  }

  /**
   * @param {Record<string, unknown>} message
   * @returns {boolean} false when the socket is not open (the message is dropped)
   */
  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.closed = true;
    window.clearTimeout(this.retryTimer);
    this.ws?.close();
  }
}
