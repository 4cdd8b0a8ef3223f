"""A network race (an MLP) as a standalone PyTorch script printing its CSV: ``nn.Sequential``
(Linear and the activation, float64) holding the race's initial weights, trained on the same
mini-batches with autograd, ``torch.optim`` and ``torch.optim.lr_scheduler``, as the live torch
twins do (:mod:`server.problems.nn.torch_twin`); the data part is the numpy script's."""

from __future__ import annotations

import itertools

from server.export.network_race import NetworkRace
from server.export.network_scripts import BATCH, about, data_code
from server.export.scripts_numpy import header
from server.export.scripts_torch import LOOP_HELPERS, handwritten, run_parts

TORCH_ACTIVATIONS = {
    "tanh": "torch.nn.Tanh()",
    "relu": "torch.nn.ReLU()",
    "leaky_relu": "torch.nn.LeakyReLU(0.01)",
    "sigmoid": "torch.nn.Sigmoid()",
    "gelu": "torch.nn.GELU()",
}
TORCH_LOSSES = {
    "bce": "torch.nn.BCEWithLogitsLoss()",
    "softmax": "torch.nn.CrossEntropyLoss()",
    "mse": "torch.nn.MSELoss()",
}


TORCH_LOOP = '''
def target(t):
    return torch.from_numpy(t.argmax(axis=1)) if LOSS_NAME == "softmax" else torch.from_numpy(t)


def objective(model, x, t):
    value = LOSS(model(torch.from_numpy(x)), target(t))
    if L2 != 0.0:
        weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
        value = value + 0.5 * L2 * sum((w * w).sum() for w in weights)
    return value


def follow(index, run):
    """The losses of one run, from the initial weights to where it stops."""
    model, optimizer, scheduler = run["make"]()
    params = list(model.parameters())
    rng = np.random.default_rng([SEED, index])  # the live run's noise draws
    lr, schedule, noise = run["lr"], run["schedule"], run["noise"]

    def loss_and_grad(done):
        with torch.no_grad():
            loss = objective(model, X_TRAIN, T_TRAIN).item()
        x, t = batch(done)
        grads = torch.autograd.grad(objective(model, x, t), params)  # autograd
        return loss, torch.cat([g.reshape(-1) for g in grads])

    loss, g = loss_and_grad(0)
    if not math.isfinite(loss + g.norm().item()):
        return []
    losses = [loss]
    for step in range(1, STEPS + 1):
        for change in run["changes"].get(step, []):
            for group in optimizer.param_groups:
                group.update(change.get("torch", {}))
            lr = change.get("lr", lr)
            schedule = change["schedule"] if "schedule" in change else schedule
            noise = change.get("noise", noise)
        if run["rate"] == "closed":
            rate = lr if schedule is None else learning_rate(schedule, lr, step - 1)
            for group in optimizer.param_groups:
                group["lr"] = rate
        grad = g if noise == 0.0 else g + noise * torch.from_numpy(rng.standard_normal(g.numel()))
        at = 0
        for p in params:
            p.grad = grad[at : at + p.numel()].reshape(p.shape).clone()
            at += p.numel()
        before = torch.nn.utils.parameters_to_vector(params).detach().clone()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss, g = loss_and_grad(step)
        gnorm = g.norm().item()
        if not math.isfinite(loss + gnorm):
            break  # diverged
        losses.append(loss)
        now = torch.nn.utils.parameters_to_vector(params).detach()
        moved = (now - before).abs().max().item()
        if gnorm <= CONVERGED_GNORM and moved <= CONVERGED_STEP * (1.0 + now.abs().max().item()):
            break  # converged
    return losses


def main():
    torch.set_num_threads(1)
    print("run,optimizer,step,loss")
    for index, run in enumerate(RUNS):
        for k, loss in enumerate(follow(index, run)):
            print(f"{run['id']},{run['optimizer']},{k},{loss!r}")


if __name__ == "__main__":
    main()
'''


def _model(net: NetworkRace) -> str:
    sizes = net.problem.mlp.sizes
    modules = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        modules.append(f"        torch.nn.Linear({fan_in}, {fan_out}, dtype=torch.float64),")
        if i < len(sizes) - 2:
            modules.append(f"        {TORCH_ACTIVATIONS[net.problem.mlp.activation]},")
    return "\n".join(
        [
            "def network():",
            '    """The MLP in torch, holding INIT (the same flat order as ours)."""',
            "    model = torch.nn.Sequential(",
            *modules,
            "    )",
            "    with torch.no_grad():",
            "        torch.nn.utils.vector_to_parameters(torch.tensor(INIT), model.parameters())",
            "    return model",
        ]
    )


def network_torch_script(net: NetworkRace) -> str:
    names = list(dict.fromkeys(r.optimizer for r in net.runs))
    made, table, closed = run_parts(net.runs, net.state.steps, "network")
    parts = [
        header(
            about(net), "reproduced with PyTorch", "python this_file.py > losses.csv; needs torch"
        ),
        "from __future__ import annotations\n\nimport math\n\nimport numpy as np\nimport torch",
        f"SEED = {net.state.seed}\nSTEPS = {net.state.steps}",
        "# ---- the data and the network " + "-" * 46,
        data_code(net),
        BATCH,
        _model(net),
        f"LOSS_NAME = {net.problem.loss.name!r}\nLOSS = {TORCH_LOSSES[net.problem.loss.name]}",
        *handwritten(names),
        *closed,
        "# ---- the runs: optimizer and scheduler, and their live changes " + "-" * 12,
        *made,
        table,
        "# ---- the loop " + "-" * 62,
        LOOP_HELPERS + TORCH_LOOP,
    ]
    return "\n\n\n".join(x.strip("\n") for x in parts) + "\n"
