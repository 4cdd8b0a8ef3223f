// @ts-check
/**
 * A click or tap on a plot's area, in data coordinates: a press and release within a few pixels
 * and under a second is a pick; a drag, a long press, or a press on the legend or the buttons
 * is not.
 */

const MOVE_PX = 8;
const QUICK_MS = 800;

/**
 * @param {HTMLElement} gd  a Plotly plot with a 2D x and y axis
 * @param {(x: number, y: number) => void} onPick
 */
export function listenForPicks(gd, onPick) {
  /** @type {{x: number, y: number, id: number, t: number} | null} */
  let down = null;
  gd.addEventListener(
    'pointerdown',
    (e) => {
      const target = /** @type {Element} */ (e.target);
      down = target.classList?.contains('nsewdrag') ? { x: e.clientX, y: e.clientY, id: e.pointerId, t: e.timeStamp } : null;
    },
    { capture: true },
  );
  window.addEventListener('pointerup', (e) => {
    if (!down || e.pointerId !== down.id) return;
    const moved = Math.hypot(e.clientX - down.x, e.clientY - down.y);
    const quick = e.timeStamp - down.t < QUICK_MS;
    down = null;
    if (moved > MOVE_PX || !quick) return;
    const p = toData(gd, e.clientX, e.clientY);
    if (p) onPick(p[0], p[1]);
  });
}

/**
 * @param {HTMLElement} gd
 * @param {number} clientX
 * @param {number} clientY
 * @returns {[number, number] | null} data coordinates, or null outside the plot area
 */
export function toData(gd, clientX, clientY) {
  const full = /** @type {any} */ (gd)._fullLayout;
  const xa = full?.xaxis;
  const ya = full?.yaxis;
  if (!xa?.p2d || !ya?.p2d) return null;
  const box = gd.getBoundingClientRect();
  const px = clientX - box.left - xa._offset;
  const py = clientY - box.top - ya._offset;
  if (px < 0 || py < 0 || px > xa._length || py > ya._length) return null;
  return [xa.p2d(px), ya.p2d(py)];
}
