// @ts-check
/**
 * A network's race: its settings, what a new race clears, and the server's messages that only a
 * network race sends (whether torch twins run, the dataset, boundaries and the loss landscape).
 * A new network view (another model's layers, say) takes its messages in `problemMessage`: the
 * CNN's and RNN's (deepview.js) do, and their live clipping threshold is changed here.
 */
import { TORCH_MISSING_NOTE } from './networkpanel.js';
import { describeNetwork } from './networkview.js';
import { modelOf } from './deepstate.js';

/** @typedef {import('./state.js').NetState} NetState */
/** @typedef {import('./controller.js').Controller} Controller */

export class NetworkCommands {
  /** @param {Controller} app */
  constructor(app) {
    this.app = app;
  }

  /** @param {NetState} net */
  changeNetwork(net) {
    this.app.change({ net });
    this.app.panels?.network.render(this.app.state.net);
  }

  /**
   * A network has no surface to fetch: its landscape comes with its race.
   * @returns {true}
   */
  clearSurface() {
    const { p, state } = this.app;
    this.app.surface = null;
    p.network.clear();
    p.deep.setKind(modelOf(state.net.dataset));
    p.deep.setClip(state.net.clip);
    this.app.panels?.race.render(this.app.state, [0, 0]);
    return true;
  }

  /** A new network race: nothing of the last one stays drawn. */
  clearRace() {
    this.app.p.network.clear();
    this.app.p.deep.clear();
    this.app.panels?.network.setTorchNote('');
  }

  /** @param {Record<string, unknown>} ack  of the start: says whether torch twins run */
  started(ack) {
    if (this.app.state.mode !== 'network') return;
    const torch = typeof ack.torch === 'string' ? ack.torch : '';
    const missing = torch.startsWith('unavailable');
    this.app.panels?.network.setTorchNote(missing ? TORCH_MISSING_NOTE : '');
    const note = document.getElementById('torch-note');
    if (note) {
      note.textContent = TORCH_MISSING_NOTE;
      note.hidden = !missing;
    }
  }

  /** @param {any} msg  a network race's dataset, boundary, landscape, view or clip ack */
  problemMessage(msg) {
    const { state, p, panels } = this.app;
    if (state.mode !== 'network') return;
    if (p.deep.receive(msg)) {
      if (msg.type !== 'dataset') return;
      panels?.network.setInfo(msg.architecture);
      p.netAcc.setClassification(true, msg.model === 'rnn' ? `outputs within ±${msg.tolerance} of the target` : '');
      return;
    }
    p.network.receive(msg);
    if (msg.type === 'dataset') {
      panels?.network.setInfo(describeNetwork(msg));
      p.netAcc.setClassification(msg.task !== 'regression');
    }
  }

  /**
   * The RNN's clipping threshold, live: sent to the server (acked with the first update it
   * applies to) and kept in the URL, from which a link or a reset restarts with it.
   * @param {number | null} clip
   */
  changeClip(clip) {
    const app = this.app;
    app.state = { ...app.state, net: { ...app.state.net, clip } };
    app.url.write('replace');
    if (app.p.race.startMessage) app.p.connection.send({ type: 'clip', max_norm: clip });
  }
}
