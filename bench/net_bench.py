"""Per-step cost of training a small network: our numpy MLP + Adam vs torch autograd + Adam.

The net is 2-16-16-1 tanh with binary cross-entropy on 500 training points, full batch, one run
(N = 1). One step is the gradient on the batch plus the Adam update, exactly what the engine
does per update; torch does zero_grad, forward, loss, backward and ``torch.optim.Adam.step`` on
the same float64 network with the same weights, in the same process, with one thread.
Each figure is the median over several timed blocks. Target: ours >= 2.5x faster than torch.

Run from the repository root: ``python -m bench.net_bench`` (a few seconds).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from server.optim.registry import get_optimizer, hyper_rows, validate_hyper
from server.problems.nn.problem import NetworkConfig, NetworkProblem
from server.problems.nn.torch_twin import TorchTwin, torch_available

TARGET = 2.5
BLOCKS = 7
STEPS_PER_BLOCK = 200


def per_step_us(steps: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Median over ``BLOCKS`` blocks of the mean time of one call, in microseconds.

    The contestants' blocks alternate, so a busy machine slows both alike.
    """
    for step in steps.values():
        for _ in range(50):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(BLOCKS):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(STEPS_PER_BLOCK):
                step()
            times[name].append((time.perf_counter() - start) / STEPS_PER_BLOCK * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    config = NetworkConfig(
        dataset="moons", n=625, test_fraction=0.2, hidden=(16, 16), activation="tanh"
    )
    problem = NetworkProblem(config)
    start = problem.init_params(0)
    hyper_values = {"lr": 1e-3}
    opt = get_optimizer("adam")
    hyper = hyper_rows("adam", [hyper_values])
    params = start[None].copy()
    state = opt.init(params, hyper)
    count = [0]

    def ours() -> None:
        nonlocal params, state
        grads = problem.grad_batch(params, count[0])
        updates, state = opt.update(grads, state, params, hyper, None)
        params = params + updates
        count[0] += 1

    n_train = problem.dataset.x_train.shape[0]
    sizes = "-".join(map(str, problem.mlp.sizes))
    print(
        f"net {sizes} {config.activation}, {n_train} points, full batch, Adam, N=1, P={problem.dim}"
    )
    if not torch_available():
        ours_us = per_step_us({"ours": ours})["ours"]
        print(f"ours  (numpy backprop + our Adam):       {ours_us:8.1f} us/step")
        print("torch is not installed: no reference measured, no ratio")
        return
    import torch

    torch.set_num_threads(1)
    twin = TorchTwin(problem, "adam", validate_hyper("adam", hyper_values), start)
    result = per_step_us({"ours": ours, "torch": twin.update})
    ours_us, torch_us = result["ours"], result["torch"]
    ratio = torch_us / ours_us
    print(f"ours  (numpy backprop + our Adam):       {ours_us:8.1f} us/step")
    print(f"torch (autograd + torch.optim.Adam):     {torch_us:8.1f} us/step")
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"ratio torch/ours: {ratio:.2f}x ({verdict} the target >= {TARGET}x)")
    drift = float(np.abs(twin.params() - params[0]).max())
    print(f"after {count[0]} steps each: max |ours - torch| over the weights = {drift:.1e}")


if __name__ == "__main__":
    main()
