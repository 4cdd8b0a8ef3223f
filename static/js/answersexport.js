// @ts-check
/**
 * The standalone HTML export with a room question in it: the server's file for the race, with the
 * question, its tally and the class's taps written into the file's answers slot, which the file
 * draws under the paths (templates/export.html).
 */

export const ANSWERS_SLOT = '<script type="application/json" id="class-answers">null</script>';

/**
 * @typedef {object} ExportedAnswers
 * @property {string} prompt
 * @property {string} kind
 * @property {number} count
 * @property {{label: string, count: number}[]} bars
 * @property {[number, number][]} points  the taps, for "where will it end?"
 */

/**
 * @param {string} html  the server's HTML export
 * @param {ExportedAnswers} answers
 * @returns {string}
 */
export function withAnswers(html, answers) {
  if (!html.includes(ANSWERS_SLOT)) throw new Error("this server's HTML export has no place for answers");
  const json = JSON.stringify(answers).replace(/</g, '\\u003c'); // nothing in it can end the <script>
  return html.replace(ANSWERS_SLOT, () => ANSWERS_SLOT.replace('null', json));
}

/**
 * @param {string} url  the race's HTML export
 * @param {ExportedAnswers} answers
 * @param {string} filename
 */
export async function downloadWithAnswers(url, answers, filename) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the export failed (HTTP ${response.status})`);
  const text = withAnswers(await response.text(), answers);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([text], { type: 'text/html' }));
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}
