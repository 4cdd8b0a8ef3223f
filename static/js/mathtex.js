// @ts-check
/**
 * KaTeX, vendored under /static/vendor/katex/ (see its README there), loaded the first time a
 * formula is drawn so that the first contour never waits for it.
 */

/** @type {Promise<any> | null} */
let loading = null;

/** @returns {Promise<any>} window.katex */
export function katex() {
  if (loading) return loading;
  loading = new Promise((resolve, reject) => {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = '/static/vendor/katex/katex.min.css';
    document.head.append(css);
    const script = document.createElement('script');
    script.src = '/static/vendor/katex/katex.min.js';
    script.onload = () => resolve(/** @type {any} */ (window).katex);
    script.onerror = () => {
      loading = null;
      reject(new Error('KaTeX could not be loaded from this server'));
    };
    document.head.append(script);
  });
  return loading;
}

/**
 * Typeset `tex` into `node` (display style); on failure the TeX source is shown as text.
 * @param {HTMLElement} node
 * @param {string} tex
 */
export async function typeset(node, tex) {
  try {
    (await katex()).render(tex, node, { displayMode: true, throwOnError: false, output: 'htmlAndMathml' });
  } catch {
    node.textContent = tex;
  }
}
