// @ts-check
/**
 * Entry point: reads the state from the URL, asks for the specs and the surface at once, draws the
 * contour as soon as it can, then builds the panels and connects. Only wiring lives here.
 *
 * Where a new view hooks in: build it here and add it to `parts` (its type to `Parts` in
 * controller.js); feed it from the command module of its job: a network race's messages in
 * networkcommands.js (`problemMessage`, `clearRace`), the runs' names and colours in
 * racecommands.js (`updateLegends`), its visibility per mode in viewcommands.js (`applyMode`);
 * draw it each frame in render.js. A plot takes the theme (theme.js: `theme` below) when it is
 * built and joins the Presenter's list, which calls its `setTheme` when presenter mode changes;
 * its layout starts from figure.js's and it draws with `drawFigure`.
 */
import * as api from './api.js';
import { parseHash } from './state.js';
import { RunStore } from './store.js';
import { Connection, socketUrl } from './socket.js';
import { Race } from './race.js';
import { ContourView } from './contour.js';
import { SurfaceView } from './surface3d.js';
import { SeriesView } from './charts.js';
import { Toolbar } from './toolbar.js';
import { Legend } from './legend.js';
import { Notices } from './events.js';
import { afterPaint } from './plotkit.js';
import { bindKeys, toggleFullscreen } from './keyboard.js';
import { SurfacePanel } from './surfacepanel.js';
import { RunCards } from './runcards.js';
import { RacePanel } from './racepanel.js';
import { Controller } from './controller.js';
import { surfaceFor } from './surfacecommands.js';
import { startRenderLoop } from './render.js';
import { BoundaryView } from './boundaryview.js';
import { NetCurvesView } from './netcharts.js';
import { NetworkView } from './networkview.js';
import { DeepView } from './deepview.js';
import { RegressionView } from './regressionview.js';
import { NetworkPanel } from './networkpanel.js';
import { RegressionPanel } from './regressionpanel.js';
import { ModeSwitch } from './modeswitch.js';
import { showMode } from './modes.js';
import { RoomPresenter, RoomViewer, roomCode } from './room.js';
import { AskPanel } from './ask.js';
import { AnswerCard } from './answer.js';
import { AnswerLayer } from './answerlayer.js';
import { ShareDialog } from './share.js';
import { Presenter } from './presenter.js';
import { isEmbedded, setupEmbed } from './embed.js';
import { CodePanel } from './codepanel.js';
import { BackpropView } from './backprop.js';
import { InternalsOverlay } from './overlay.js';
import { ParityPanel, parityHost } from './parity.js';
import { Analysis } from './analysis.js';
import { analysisHost } from './analysisbridge.js';
import { keepFigureOnScreen, plotsFollowTheirBoxes } from './fit.js';
import { themeFor } from './theme.js';

/** @param {string} id @returns {HTMLElement} */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
}

/**
 * This module is async: it may run before the document is parsed and before plotly.js, a deferred
 * classic script, has run. Deferred scripts run once the document is parsed, so when plotly.js is
 * there, so is the page.
 * @returns {Promise<void>}
 */
function plotlyAndPage() {
  const failed = () => new Error('plotly.js could not be loaded from this server');
  if (/** @type {any} */ (window).Plotly) return Promise.resolve();
  if (document.readyState === 'complete') return Promise.reject(failed());
  return new Promise((resolve, reject) => {
    const settle = () => ((/** @type {any} */ (window).Plotly ? resolve() : reject(failed())));
    document.querySelector('script[src*="plotly"]')?.addEventListener('load', settle, { once: true });
    window.addEventListener('load', settle, { once: true });
  });
}

async function main() {
  let state = parseHash(location.hash);
  const room = roomCode(); // a viewer of a lecture room: read-only
  // Ask for everything at once, while plotly.js loads; the first contour waits for nothing else.
  const surfaces = api.surfaces();
  const optimizers = api.optimizers();
  const schedules = api.schedules();
  const firstSurface = state.mode === 'network' ? Promise.resolve(null) : surfaceFor(state, surfaces).catch(() => null);

  await plotlyAndPage();
  showMode(state.mode);
  if (new URLSearchParams(location.search).get('embed') === '1') document.body.classList.add('embed');
  keepFigureOnScreen(byId('stage'), byId('figure'), ['topbar', 'banner', 'stage-top', 'legend-row'].map(byId));
  const store = new RunStore();
  const notices = new Notices(byId('banner'), byId('toast'), () => connection.retryNow());
  /** @type {Controller} */
  let app;
  /** @type {AskPanel | AnswerCard | null} the room's questions: asked here, or answered here */
  let questions = null;
  const theme = themeFor(state.present);
  const contour = new ContourView(
    byId('contour-bg'),
    byId('contour'),
    (x, y) => {
      if (questions instanceof AnswerCard) questions.pick(x, y);
      else if (!room && !app.p.analysis?.pick(x, y)) app.surfaceCmds.pickStart(x, y);
    },
    theme,
  );
  const first = await firstSurface;
  if (first) {
    await contour.setSurface(first.surface);
    await afterPaint(); // the contour on screen before the rest of the page is built
    performance.mark('gradscape:first-contour');
  }
  plotsFollowTheirBoxes();

  const connection = new Connection(socketUrl(room ? `/ws/room/${encodeURIComponent(room)}` : '/ws'), {
    open: (reconnected) => {
      setConnection('open', 'Connected');
      viewer?.opened();
      app.raceCmds.connected(reconnected);
      if (reconnected) roomPanel?.reconnected();
      overlay?.connected();
    },
    message: (m) => {
      if (questions?.receive(m)) return;
      if (viewer?.receive(m)) return;
      if (overlay?.receive(m)) return;
      roomPanel?.receive(m);
      race.receive(m);
    },
    drop: ({ retryIn }) => {
      setConnection('lost', 'Reconnecting…');
      if (viewer) {
        viewer.dropped(); // a viewer's page has one status: the room banner
        return;
      }
      notices.connectionLost(retryIn);
      roomPanel?.dropped();
    },
  });
  const viewer = room ? new RoomViewer(room, connection) : null;
  byId('internals-button').hidden = !!room; // a room's viewers watch; the presenter's session has them
  const overlay = room
    ? null
    : new InternalsOverlay(byId('contour'), /** @type {HTMLButtonElement} */ (byId('internals-button')),
      byId('internals-readout'), connection);
  const roomButton = document.getElementById('room-button');
  const roomPanel =
    room || !roomButton ? null : new RoomPresenter(/** @type {HTMLButtonElement} */ (roomButton), byId('room-panel'), connection);
  const race = new Race(connection, store, {
    clock: (clock, step) => app.p.toolbar.setPlaying(clock === 'running' && race.playing),
    event: (run, event, step, message) => app.raceCmds.runEvent(run, event, step, message),
    error: (message, field, run) => app.raceCmds.serverError(message, field, run),
    applied: (run, step, text, change) => app.raceCmds.applied(run, step, text, change),
    hello: (limits) => app.raceCmds.hello(limits),
    started: (ack) => app.netCmds.started(ack),
    problem: (msg) => app.netCmds.problemMessage(msg),
  });
  const toolbar = new Toolbar({
    togglePlay: () => app.raceCmds.togglePlay(),
    step: () => app.raceCmds.stepOnce(),
    reset: () => app.raceCmds.reset(),
    speed: (v, final) => app.raceCmds.setSpeed(v, final),
    view: (v) => app.viewCmds.setView(v),
    fullscreen: () => toggleFullscreen(byId('stage')),
  });
  const boundary = new BoundaryView(
    byId('boundary'),
    /** @type {HTMLSelectElement} */ (byId('boundary-run')),
    byId('boundary-step'),
    theme,
  );
  const parts = {
    store,
    race,
    connection,
    contour,
    surface3d: new SurfaceView(byId('surface3d'), theme),
    loss: new SeriesView(byId('loss-chart'), 'loss', 'loss f(x, y)', theme),
    gnorm: new SeriesView(byId('gnorm-chart'), 'gnorm', 'gradient norm ‖∇f‖', theme),
    toolbar,
    legend: new Legend(byId('legend')),
    notices,
    network: new NetworkView(boundary, contour, (text) => app.caption(text)),
    boundary,
    netLoss: new NetCurvesView(byId('net-loss-chart'), 'loss', theme),
    netAcc: new NetCurvesView(byId('acc-chart'), 'acc', theme),
    regression: new RegressionView(byId('regression-data'), theme),
    deep: new DeepView(byId('deep-figure'), byId('figure'), { clip: (v) => app.netCmds.changeClip(v) }, theme),
    modes: new ModeSwitch(byId('mode-switch'), (mode) => app.viewCmds.pickMode(mode)),
  };

  /** @type {{surfaces: api.SurfaceSpec[], optimizers: api.OptimizerSpec[], schedules: api.ScheduleSpec[]}} */
  let specs;
  try {
    specs = {
      surfaces: await surfaces,
      optimizers: await optimizers,
      schedules: await schedules.catch(() => /** @type {api.ScheduleSpec[]} */ ([])),
    };
  } catch (err) {
    notices.problem(`The server did not send its lists of surfaces and optimizers: ${/** @type {Error} */ (err).message}`);
    return;
  }
  app = new Controller(state, specs, parts);
  const asking = {
    connection,
    runs: () => app.raceCmds.legends(),
    minima: () => app.surface?.minima ?? [],
    layer: new AnswerLayer(byId('contour')),
  };
  if (room) {
    questions = new AnswerCard(room, asking);
    byId('stage-top').append(questions.node);
  } else if (roomPanel) {
    questions = new AskPanel({ ...asking, play: () => race.playing || app.raceCmds.togglePlay() });
    roomPanel.panel.append(questions.node);
  }
  const codePanel = new CodePanel(app, specs);
  byId('run-cards').addEventListener('input', () => codePanel.refresh());
  byId('run-cards').addEventListener('change', () => codePanel.refresh());
  const backprop = new BackpropView(app);
  byId('backprop-button').addEventListener('click', () => backprop.open());
  state = app.url.checked(state);
  app.state = state;
  app.url.write('replace');
  app.attach({
    surface: new SurfacePanel(byId('surface-panel'), specs.surfaces, {
      surface: (name) => app.surfaceCmds.pickSurface(name),
      param: (name, value, final) => app.surfaceCmds.surfaceParam(name, value, final),
      expression: (text, example) => app.surfaceCmds.drawFormula(text, example),
      examples: () => api.expressionExamples(),
    }),
    runs: new RunCards(byId('run-cards'), /** @type {HTMLButtonElement} */ (byId('add-run')), specs, {
      change: (c) => app.raceCmds.runChanged(c),
      remove: (i) => app.raceCmds.removeRun(i),
      add: () => app.raceCmds.addRun(),
      code: (i) => codePanel.open(i),
    }),
    race: new RacePanel({
      seed: (seed) => app.change({ seed }),
      steps: (steps) => app.change({ steps }),
      start: (start) => app.change({ start }),
      copyLink: () => app.url.copyLink(),
    }),
    network: new NetworkPanel(byId('network-panel'), { change: (net) => app.netCmds.changeNetwork(net) }),
    regression: new RegressionPanel(byId('regression-panel'), { change: (reg) => app.surfaceCmds.changeRegression(reg) }),
  });
  app.viewCmds.showView(state.view);
  if (!room && !isEmbedded()) app.p.analysis = new Analysis(byId('contour'), analysisHost(app), theme);
  const parityButton = /** @type {HTMLButtonElement} */ (byId('parity-button'));
  const parity = room || isEmbedded() ? null : new ParityPanel(parityButton, byId('parity-card'), parityHost(app), theme);
  parityButton.hidden = !parity;
  const p = app.p;
  const themed = [p.contour, p.surface3d, p.loss, p.gnorm, p.netLoss, p.netAcc, p.boundary, p.regression, p.deep];
  const presenter = new Presenter(app, [...themed, ...(p.analysis ? [p.analysis.sweep] : []), ...(parity ? [parity] : [])]);
  const share = isEmbedded() ? null : new ShareDialog(byId('share-dialog'), app);
  if (share && questions instanceof AskPanel) share.answers = () => /** @type {AskPanel} */ (questions).exported();
  byId('share-button').addEventListener('click', () => share?.open());
  setupEmbed(app);
  if (state.present) presenter.set(true, false);
  if (!room) bindKeys({
    togglePlay: () => app.raceCmds.togglePlay(),
    step: () => app.raceCmds.stepOnce(),
    reset: () => app.raceCmds.reset(),
    fullscreen: () => toggleFullscreen(byId('stage')),
    share: share ? () => share.open() : undefined,
    present: isEmbedded() ? undefined : () => presenter.toggle(),
    help: () => presenter.showHelp(),
    clicker: (direction) => presenter.clicker(direction),
  });
  startRenderLoop(app);

  const ok = await app.surfaceCmds.first(first);
  app.p.analysis?.ready();
  if (ok && !room) app.raceCmds.startRace();
  viewer?.attach(app);
  connection.connect();

  /** @param {string} stateName @param {string} text */
  function setConnection(stateName, text) {
    const conn = byId('conn');
    conn.dataset.state = stateName;
    conn.textContent = text;
  }
}

main().catch((err) => {
  const banner = document.getElementById('banner');
  if (banner) {
    banner.textContent = `The page could not start: ${err instanceof Error ? err.message : String(err)}`;
    banner.hidden = false;
  }
  console.error(err);
});
