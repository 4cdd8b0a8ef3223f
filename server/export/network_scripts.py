"""A network race (an MLP) as a standalone numpy script printing its CSV
(``run,optimizer,step,loss``, :mod:`server.export.network_race`).

Both carry the training set as the server generated it (inputs and encoded targets, exact),
the shared initial weights and the mini-batch order (epoch ``e`` visits the training set in the
order ``default_rng((data_seed, e)).permutation(n)``, batches being consecutive slices).
The numpy script holds the project's own layers and loss (``server/problems/nn/layers.py``,
``losses.py``), the MLP's forward and backward over the flat vector as ``mlp.py`` does them,
the optimizers' own code and the engine's loop; it prints the CSV bit for bit. The PyTorch
script (:mod:`server.export.network_torch`) shares the data part.
"""

from __future__ import annotations

from server.export.network_race import NetworkRace
from server.export.pysource import Pieces, array_text, collect, float_text
from server.export.scripts_numpy import (
    IMPORTS,
    STEP_SETTINGS,
    About,
    header,
    optimizer_table,
    runs_literal,
    schedule_parts,
    with_npt,
)
from server.problems.nn.layers import Linear, activation
from server.problems.nn.losses import loss as loss_of

CSV = (
    "one row a step, `run,optimizer,step,loss` (the header first; loss: the training "
    "objective after that many updates, floats as Python's repr): what `gradscape export "
    "--format csv` writes for a network race"
)


def data_code(net: NetworkRace) -> str:
    p = net.problem
    return "\n".join(
        [
            "# The training set as the server generated it: inputs, encoded targets (exact).",
            f"X_TRAIN = {array_text(p.dataset.x_train)}",
            f"T_TRAIN = {array_text(p.train_targets)}",
            f"SIZES = {tuple(p.mlp.sizes)!r}  # inputs, hidden widths, outputs",
            f"BATCH_SIZE = {p.batch_size}  # {p.batch_size} of {p.dataset.x_train.shape[0]}",
            f"DATA_SEED = {p.config.seed}  # the mini-batch order of epoch e: "
            "default_rng((DATA_SEED, e)).permutation",
            f"L2 = {float_text(p.config.l2)}",
            "# The initial weights (torch.nn.Linear's default init from the race's seed), "
            "shared by every run;",
            "# each layer's weight (out, in) row-major, then its bias: torch's parameters() order.",
            f"INIT = {array_text(net.init)}",
        ]
    )


BATCH = '''
def batch(done):
    """Inputs and targets of the mini-batch of update number done + 1."""
    n = X_TRAIN.shape[0]
    if BATCH_SIZE >= n:
        return X_TRAIN, T_TRAIN
    epoch, index = divmod(done, -(-n // BATCH_SIZE))
    order = np.random.default_rng((DATA_SEED, epoch)).permutation(n)
    start = index * BATCH_SIZE
    x, t = X_TRAIN[order], T_TRAIN[order]
    return x[start : start + BATCH_SIZE], t[start : start + BATCH_SIZE]
'''

NUMPY_NET = '''
def layers_of(params):
    """(W (1, out, in), b (1, 1, out)) of each layer, as views of params (1, P)."""
    out, at = [], 0
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        w = params[:, at : at + fan_in * fan_out].reshape(1, fan_out, fan_in)
        at += fan_in * fan_out
        out.append((w, params[:, at : at + fan_out].reshape(1, 1, fan_out)))
        at += fan_out
    return out


def forward(params, x):
    """The outputs (1, B, outputs), and each layer's input, pre- and post-activation."""
    inputs, pre, post = [], [], []
    h = x
    layers = layers_of(params)
    for i, (w, b) in enumerate(layers):
        inputs.append(h)
        z = Linear.forward(h, w, b)
        h = z if i == len(layers) - 1 else ACT.forward(z)
        pre.append(z)
        post.append(h)
    return h, (inputs, pre, post)


def backward(params, cache, d_out):
    """The gradient (1, P) of a loss whose gradient at the outputs is d_out."""
    inputs, pre, post = cache
    grads = np.empty(params.shape)
    layers = layers_of(params)
    offsets = np.cumsum([0] + [o * i + o for i, o in zip(SIZES[:-1], SIZES[1:])])
    dz = d_out
    for i in range(len(layers) - 1, -1, -1):
        w, _ = layers[i]
        dx, dw, db = Linear.backward(inputs[i], w, dz, need_dx=i > 0)
        at, size = offsets[i], w.shape[1] * w.shape[2]
        grads[:, at : at + size] = dw.reshape(1, -1)
        grads[:, at + size : offsets[i + 1]] = db
        if dx is not None:
            dz = ACT.backward(pre[i - 1], post[i - 1], dx)
    return grads


DECAY = np.concatenate([np.r_[np.ones(i * o), np.zeros(o)] for i, o in zip(SIZES[:-1], SIZES[1:])])


def f(params):
    """The training objective: the mean loss over the training set, plus (L2 / 2) sum(W^2)."""
    penalty = np.zeros(1) if L2 == 0.0 else 0.5 * ((params * params) @ (L2 * DECAY))
    return LOSS.value(forward(params, X_TRAIN)[0], T_TRAIN) + penalty


def grad_f(params, done):
    """The gradient on the mini-batch of update number done + 1."""
    x, t = batch(done)
    z, cache = forward(params, x)
    g = backward(params, cache, LOSS.grad(z, t))
    if L2 != 0.0:
        g += params * (L2 * DECAY)
    return g
'''

NUMPY_LOOP = (
    """
CONVERGED_GNORM = 1e-8  # a run stops once its gradient norm and its step are this small
CONVERGED_STEP = 1e-12


def columns(hyper):
    return {name: np.array([[float(value)]]) for name, value in hyper.items()}


def norm(g):
    return np.sqrt(np.einsum("nd,nd->n", g, g)) if g.shape[1] > 4 else np.sqrt((g * g).sum(1))


def follow(index, run):
    \"\"\"The losses of one run, from the initial weights to where it stops.\"\"\"
    init, update = OPTIMIZERS[run["optimizer"]]
    rng = np.random.default_rng([SEED, index])
    hyper, schedule, noise = columns(run["hyper"]), run["schedule"], run["noise"]
    params = INIT[None, :].copy()
    loss, grad = f(params), grad_f(params, 0)
    if not np.isfinite(loss[0] + norm(grad)[0]):
        return []
    losses = [float(loss[0])]
    state = init(params, hyper)
    for step in range(1, STEPS + 1):"""
    + STEP_SETTINGS
    + """        updates, state = update(g, state, params, rates, None)
        params = params + updates
        loss, grad = f(params), grad_f(params, step)
        gnorm = norm(grad)
        if not np.isfinite(loss[0] + gnorm[0]):
            break  # diverged
        losses.append(float(loss[0]))
        steps = np.broadcast_to(updates, params.shape)
        if gnorm[0] <= CONVERGED_GNORM and np.abs(steps).max() <= CONVERGED_STEP * (
            1.0 + np.abs(params).max()
        ):
            break  # converged
    return losses


def main():
    print("run,optimizer,step,loss")
    with np.errstate(all="ignore"):
        for index, run in enumerate(RUNS):
            for k, loss in enumerate(follow(index, run)):
                print(f"{run['id']},{run['optimizer']},{k},{loss!r}")


if __name__ == "__main__":
    main()
"""
)


def about(net: NetworkRace) -> About:
    return About(net.title, net.runs, net.state.seed, net.state.steps, net.hash, CSV)


def network_numpy_script(net: NetworkRace) -> str:
    p = net.problem
    act, loss = activation(p.mlp.activation), loss_of(p.loss.name)
    pieces = collect([Linear, type(act), type(loss)])
    shared = Pieces()
    factories = optimizer_table(list(dict.fromkeys(r.optimizer for r in net.runs)), shared)
    schedules = [r.schedule.name for r in net.runs] + [
        c.schedule.name for r in net.runs for c in r.changes if c.schedule is not None
    ]
    parts = [
        header(about(net), "reproduced with numpy alone", "python this_file.py > losses.csv"),
        IMPORTS,
        f"SEED = {net.state.seed}\nSTEPS = {net.state.steps}",
        "# ---- the data and the network " + "-" * 46,
        data_code(net),
        "# ---- the layers and the loss: the project's own (server/problems/nn/) " + "-" * 6,
        pieces.text(),
        f"ACT = {type(act).__name__}()\nLOSS = {type(loss).__name__}()",
        "# ---- the MLP over its flat weight vector (server/problems/nn/mlp.py) " + "-" * 8,
        BATCH,
        NUMPY_NET,
        "# ---- the optimizers: the project's own code (server/optim/) " + "-" * 20,
        shared.text(),
        *factories,
        *schedule_parts([n for n in dict.fromkeys(schedules) if n != "constant"]),
        "# ---- the race " + "-" * 62,
        runs_literal(net.runs),
        "# ---- the engine's loop for one run " + "-" * 42,
        NUMPY_LOOP,
    ]
    return with_npt("\n\n\n".join(x.strip("\n") for x in parts) + "\n")
