// @ts-check
/**
 * The computation graph of the Backprop view, drawn as SVG: one column of units per layer, the
 * loss at the end, every weight an edge. What is shown depends on the phase: forward values
 * appear layer by layer, then gradients from the loss backwards, then the updated weights.
 */

const SVG = 'http://www.w3.org/2000/svg';

/**
 * @typedef {Object} LayerData
 * @property {number[][]} weight  (out, in)
 * @property {number[]} bias
 * @property {number[]} z
 * @property {number[]} a
 * @property {number[] | null} fprime
 * @property {number[]} da
 * @property {number[]} dz
 * @property {number[][]} dweight
 * @property {number[]} dbias
 */
/**
 * @typedef {Object} Graph  the POST /api/backprop answer
 * @property {number[]} sizes
 * @property {string} activation
 * @property {string} loss_name
 * @property {{index: number, x: number[], target: number[], y: number}} sample
 * @property {number} samples
 * @property {number[]} params
 * @property {{a: number[], da: number[]}} input
 * @property {LayerData[]} layers
 * @property {{value: number, dz: number[]}} loss
 * @property {{layer: number, i: number, j: number, weight: number, a_in: number, dz: number,
 *   fprime: number | null, upstream: [number, number][], grad: number}[]} chains
 * @property {{optimizer: string, hyper: Record<string, number>, params: number[], loss: number}} update
 */

/** @param {number} v */
export function num(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : v.toPrecision(3).replace(/\.?0+$/, (m) => (m.includes('.') ? '' : m));
}

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {string} [text]
 */
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * What a phase shows. Phases: 0 the inputs; 1..L forward through layer l; L+1 the loss;
 * L+2..2L+1 backward through layers L..1; 2L+2 the update.
 * @param {number} phase
 * @param {number} layers  L
 */
export function phaseView(phase, layers) {
  const L = layers;
  return {
    /** @param {number} l  0-based linear layer */
    forward: (l) => phase >= l + 1,
    loss: phase >= L + 1,
    /** @param {number} l */
    backward: (l) => phase >= L + 2 + (L - 1 - l),
    inputGrad: phase >= 2 * L + 1,
    update: phase >= 2 * L + 2,
  };
}

/**
 * @param {number} phase
 * @param {number} L
 * @param {string} activation
 */
export function phaseName(phase, L, activation) {
  if (phase === 0) return 'The example enters the network';
  if (phase <= L) return phase === L ? `Forward: output layer (z = W a + b)` : `Forward: layer ${phase} (z = W a + b, a = ${activation}(z))`;
  if (phase === L + 1) return 'The loss of this example';
  if (phase <= 2 * L + 1) {
    const l = L - (phase - L - 2);
    return l === L ? 'Backward: ∂L/∂z at the output, then ∂L/∂W = ∂L/∂z · aᵀ' : `Backward: layer ${l} (∂L/∂z = f′(z) · Wᵀ ∂L/∂z of the next layer)`;
  }
  return 'The update: W ← W − lr · ∂L/∂W';
}

/**
 * @param {SVGSVGElement} root
 * @param {Graph} g
 * @param {number} phase
 * @param {{layer: number, i: number, j: number} | null} selected
 * @param {(w: {layer: number, i: number, j: number}) => void} select
 */
export function drawGraph(root, g, phase, selected, select) {
  root.replaceChildren();
  const L = g.layers.length;
  const view = phaseView(phase, L);
  const cols = g.sizes.length + 1; // + the loss
  const width = 980;
  const height = Math.max(360, 135 * Math.max(...g.sizes));
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const colX = (c) => 70 + (c * (width - 160)) / (cols - 1);
  const rowY = (n, i) => ((i + 1) * height) / (n + 1);
  const newParams = g.update.params;
  let offset = 0;
  const edges = svg('g', { class: 'bp-edges' });
  const nodes = svg('g', { class: 'bp-nodes' });
  root.append(edges, nodes);
  g.layers.forEach((layer, l) => {
    const nin = g.sizes[l];
    const nout = g.sizes[l + 1];
    layer.weight.forEach((row, i) =>
      row.forEach((w, j) => {
        const x1 = colX(l) + 26;
        const y1 = rowY(nin, j);
        const x2 = colX(l + 1) - 26;
        const y2 = rowY(nout, i);
        const isSel = selected && selected.layer === l && selected.i === i && selected.j === j;
        const line = svg('line', {
          x1, y1, x2, y2,
          class: `bp-edge ${w >= 0 ? 'pos' : 'neg'}${isSel ? ' selected' : ''}`,
          'stroke-width': 1 + Math.min(5, Math.abs(w) * 3),
          'data-w': `${l}-${i}-${j}`,
        });
        const hit = svg('line', { x1, y1, x2, y2, class: 'bp-hit', 'data-w': `${l}-${i}-${j}`, tabindex: 0, role: 'button',
          'aria-label': `weight W${l + 1}[${i + 1},${j + 1}] = ${num(w)}` });
        hit.addEventListener('click', () => select({ layer: l, i, j }));
        hit.addEventListener('keydown', (e) => {
          if (/** @type {KeyboardEvent} */ (e).key === 'Enter') select({ layer: l, i, j });
        });
        edges.append(line, hit);
        const t = 0.22 + (0.5 * i) / Math.max(1, nout - 1); // edges of one source: labels apart
        const label = [`w ${num(w)}`];
        if (view.backward(l)) label.push(`∂ ${num(layer.dweight[i][j])}`);
        if (view.update) label.push(`→ ${num(newParams[offset + i * nin + j])}`);
        const tx = x1 + (x2 - x1) * t;
        const ty = y1 + (y2 - y1) * t;
        edges.append(svg('text', { x: tx, y: ty - 4, class: `bp-wlabel${isSel ? ' selected' : ''}`, 'text-anchor': 'middle' }, label.join('  ')));
      }),
    );
    offset += nin * nout + nout;
  });
  // units
  /** @type {(c: number, i: number, n: number, lines: string[], kind: string, title: string) => void} */
  const unit = (c, i, n, lines, kind, title) => {
    const x = colX(c);
    const y = rowY(n, i);
    const group = svg('g', { class: `bp-unit ${kind}`, 'data-unit': `${c}-${i}` });
    group.append(svg('title', {}, title));
    group.append(svg('circle', { cx: x, cy: y, r: 24 }));
    lines.forEach((text, k) => {
      group.append(svg('text', { x, y: y - 30 - (lines.length - 1 - k) * 14, 'text-anchor': 'middle', class: k === 0 ? 'bp-fwd' : 'bp-grad' }, text));
    });
    nodes.append(group);
  };
  g.input.a.forEach((v, i) => {
    const lines = [`x${i + 1} = ${num(v)}`];
    if (view.inputGrad) lines.push(`∂L/∂x ${num(g.input.da[i])}`);
    unit(0, i, g.sizes[0], lines, 'input', `input x${i + 1}`);
  });
  g.layers.forEach((layer, l) => {
    const last = l === L - 1;
    layer.z.forEach((z, i) => {
      const lines = [];
      if (view.forward(l)) lines.push(last ? `z = ${num(z)}` : `z ${num(z)} a ${num(layer.a[i])}`);
      else lines.push('?');
      if (view.backward(l)) lines.push(`∂L/∂z ${num(layer.dz[i])}`);
      unit(l + 1, i, g.sizes[l + 1], lines, last ? 'output' : 'hidden', `${last ? 'output' : `layer ${l + 1}`} unit ${i + 1}`);
    });
  });
  const lossLines = view.loss ? [`L = ${num(g.loss.value)}`] : ['L = ?'];
  if (view.update) lossLines.push(`after: ${num(g.update.loss)}`);
  unit(cols - 1, 0, 1, lossLines, 'loss', `${g.loss_name} loss`);
  // edges from the outputs to the loss
  const lossX = colX(cols - 1) - 26;
  g.sizes.slice(-1).forEach((n) => {
    for (let i = 0; i < n; i++) {
      edges.prepend(svg('line', { x1: colX(cols - 2) + 26, y1: rowY(n, i), x2: lossX, y2: rowY(1, 0), class: 'bp-edge loss-edge' }));
    }
  });
}
