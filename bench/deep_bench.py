"""Deep networks: one training step of ours (numpy) against torch autograd + torch.optim, and the
time live training takes to reach 97% held-out accuracy on the digits.

1. The digits CNN (conv 8 filters 3x3, padding 1, ReLU, max-pool 2, dense 10; 1,370 weights),
   one mini-batch step of 64 with Adam: ours is ``problem.grad_batch`` plus our Adam update,
   what the engine does per update; torch is zero_grad, forward, CrossEntropyLoss, backward and
   ``torch.optim.Adam.step`` on the same float64 network, same weights, same batches.
2. The RNN (tanh, hidden 32, 50 steps, batch 32, the adding problem) the same way, with MSELoss.
3. Live training: the digits CNN with Adam (lr 0.01, batch 64) through ``NetworkStream``, the
   class the websocket session drives in its worker thread (metrics of every step on the whole
   training and held-out sets included), until the held-out accuracy reaches 97%.

Same process, one thread each (``torch.set_num_threads(1)``; numpy's BLAS is limited to one
thread by the problem), alternating timed blocks, medians. Targets: both ratios (torch time /
ours) >= 1.0; 97% within 30 s. Run: ``python -m bench.deep_bench`` (about a minute).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from server.engine import Race, RunConfig
from server.live.network_stream import NetworkStream
from server.optim.registry import get_optimizer, hyper_rows, validate_hyper
from server.problems.nn.deep import DeepProblem
from server.problems.nn.deep_config import DeepConfig
from server.problems.nn.deep_twin import DeepTwin

BLOCKS = 7
TARGET_ACC = 0.97
TIME_LIMIT = 30.0


def per_step_us(steps: dict[str, Callable[[], None]], per_block: int) -> dict[str, float]:
    for step in steps.values():
        for _ in range(10):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(BLOCKS):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(per_block):
                step()
            times[name].append((time.perf_counter() - start) / per_block * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def race_pair(problem: DeepProblem, per_block: int) -> dict[str, float]:
    hyper = {"lr": 1e-3}
    opt = get_optimizer("adam")
    rows = hyper_rows("adam", [hyper])
    params = [problem.init_params(0)[None]]
    state: list[Any] = [opt.init(params[0], rows)]
    count = [0]

    def ours() -> None:
        g = problem.grad_batch(params[0], count[0])
        updates, state[0] = opt.update(g, state[0], params[0], rows, None)
        params[0] = params[0] + updates
        count[0] += 1

    twin = DeepTwin(problem, "adam", hyper, problem.init_params(0), threads=1)
    return per_step_us({"ours": ours, "torch": twin.update}, per_block)


def report(title: str, times: dict[str, float]) -> float:
    ratio = times["torch"] / times["ours"]
    print(f"{title}")
    print(f"  ours (numpy)         {times['ours']:9.1f} us/step")
    print(f"  torch autograd+optim {times['torch']:9.1f} us/step")
    print(
        f"  ratio torch/ours     {ratio:9.2f}  (target >= 1.0: {'met' if ratio >= 1 else 'NOT met'})"
    )
    return ratio


def live_digits() -> tuple[float | None, int, float]:
    """Seconds of live training until 97% held-out accuracy (None if not within the limit)."""
    problem = DeepProblem(DeepConfig(batch_size=64))
    init = problem.init_params(0)
    config = RunConfig("a", "adam", validate_hyper("adam", {"lr": 0.01}), init)
    start = time.perf_counter()
    race = Race(problem, [config], seed=0, max_steps=100_000)
    stream = NetworkStream(race, problem, torch=False)
    stream.restart()
    best = 0.0
    while time.perf_counter() - start < TIME_LIMIT:
        stream.advance(10)
        frame = stream.take_frame() or {}
        stream.take_messages()
        acc = frame.get("a", {}).get("test_acc")
        if acc is not None and len(acc):
            best = max(best, float(np.max(acc)))
            if best >= TARGET_ACC:
                return time.perf_counter() - start, race.step, best
    return None, race.step, best


def main() -> None:
    cnn = DeepProblem(DeepConfig(batch_size=64))
    rnn = DeepProblem(
        DeepConfig(dataset="adding", model="rnn", n=1000, batch_size=32, hidden=32, steps=50)
    )
    print("deep_bench: one thread each, medians of alternating blocks (machine shared: noisy)")
    r1 = report("digits CNN, batch 64, Adam (1,370 weights)", race_pair(cnn, 100))
    r2 = report("RNN hidden 32, 50 steps, batch 32, Adam (1,185 weights)", race_pair(rnn, 20))
    seconds, steps, best = live_digits()
    print("live training, digits CNN, Adam lr 0.01, batch 64 (NetworkStream, metrics every step)")
    if seconds is None:
        print(
            f"  97% held-out NOT reached within {TIME_LIMIT:.0f} s ({steps} steps, best {best:.4f})"
        )
    else:
        print(
            f"  97% held-out reached after {seconds:.1f} s, {steps} steps (best {best:.4f}); target <= {TIME_LIMIT:.0f} s: met"
        )
    print(
        f"summary: cnn ratio {r1:.2f}, rnn ratio {r2:.2f}, digits 97% in {seconds if seconds is None else round(seconds, 1)} s"
    )


if __name__ == "__main__":
    main()
