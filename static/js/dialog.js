// @ts-check
/**
 * A modal <dialog>: shown with showModal, so the page behind is inert (Tab stays inside) and Esc
 * closes it; a click on the backdrop closes it too, and focus goes back where it was.
 */

export class ModalDialog {
  /** @param {HTMLElement} dialog  a <dialog> */
  constructor(dialog) {
    this.dialog = /** @type {HTMLDialogElement} */ (dialog);
    /** @type {Element | null} */
    this.returnTo = null;
    this.dialog.addEventListener('click', (e) => {
      if (e.target !== this.dialog) return;
      const r = this.dialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) this.dialog.close();
    });
    this.dialog.addEventListener('close', () => {
      const back = this.returnTo;
      this.returnTo = null;
      if (back instanceof HTMLElement && back.isConnected) back.focus();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  open() {
    if (this.dialog.open) return;
    this.returnTo = document.activeElement;
    this.dialog.showModal();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }
}
