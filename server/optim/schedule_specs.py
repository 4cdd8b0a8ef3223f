"""The schedules' specs: for each, its title, rule, torch class and parameters with their
defaults and bounds (what the page builds its controls from and ``parse_schedule`` checks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.optim.base import HyperSpec

MAX_STEPS = 1_000_000
MAX_LR = 1e3


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    title: str
    summary: str
    rule: str
    torch: str | None
    params: tuple[HyperSpec, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "rule": self.rule,
            "torch": self.torch,
            "params": [p.to_json() for p in self.params],
        }


def _count(name: str, default: int, doc: str, lo: int = 1) -> HyperSpec:
    return HyperSpec(name, default, lo, MAX_STEPS, "log" if lo > 0 else "linear", "int", doc)


_GAMMA_DOC = "multiplicative factor of learning-rate decay (above 1 it grows)"

SCHEDULES: dict[str, ScheduleSpec] = {
    s.name: s
    for s in (
        ScheduleSpec(
            name="constant",
            title="Constant",
            summary="The run's lr at every step.",
            rule="lr_t = lr",
            torch=None,
            params=(),
        ),
        ScheduleSpec(
            name="step",
            title="Step decay",
            summary="Multiply lr by gamma every step_size steps.",
            rule="lr_t = lr * gamma^floor(t / step_size)",
            torch="StepLR",
            params=(
                _count("step_size", 100, "number of steps between decays"),
                HyperSpec("gamma", 0.1, 0.0, 2.0, "linear", "float", _GAMMA_DOC),
            ),
        ),
        ScheduleSpec(
            name="exponential",
            title="Exponential decay",
            summary="Multiply lr by gamma after every step.",
            rule="lr_t = lr * gamma^t",
            torch="ExponentialLR",
            params=(HyperSpec("gamma", 0.999, 0.0, 2.0, "linear", "float", _GAMMA_DOC),),
        ),
        ScheduleSpec(
            name="cosine",
            title="Cosine annealing",
            summary="Cosine from lr down to eta_min over T_max steps, after an optional "
            "linear warm-up (torch SequentialLR of LinearLR then CosineAnnealingLR).",
            rule="lr_t = eta_min + (lr - eta_min) * (1 + cos(pi * (t - warmup) / T_max)) / 2; "
            "for t < warmup: lr * (start_factor + (1 - start_factor) * t / warmup)",
            torch="CosineAnnealingLR",
            params=(
                _count("T_max", 1000, "steps from lr down to eta_min (a half period)"),
                HyperSpec("eta_min", 0.0, 0.0, MAX_LR, "linear", "float", "minimum learning rate"),
                _count("warmup", 0, "steps of linear warm-up before the cosine (0: none)", lo=0),
                HyperSpec(
                    "start_factor",
                    1.0 / 3.0,
                    1e-6,
                    1.0,
                    "log",
                    "float",
                    "warm-up starts at start_factor * lr (torch LinearLR)",
                ),
            ),
        ),
        ScheduleSpec(
            name="cyclical",
            title="Cyclical (CLR)",
            summary="Triangle wave between the run's lr and max_lr (Smith, 2017).",
            rule="lr_t = lr + (max_lr - lr) * triangle(t) * scale(cycle or t)",
            torch="CyclicLR",
            params=(
                HyperSpec("max_lr", 0.1, 1e-6, MAX_LR, "log", "float", "upper end of the cycle"),
                _count("step_size_up", 2000, "steps from lr up to max_lr"),
                _count("step_size_down", 2000, "steps from max_lr down to lr (default: up)"),
                HyperSpec(
                    "mode",
                    "triangular",
                    None,
                    None,
                    "linear",
                    "choice",
                    "amplitude per cycle: constant, halved each cycle, or gamma^t",
                    ("triangular", "triangular2", "exp_range"),
                ),
                HyperSpec(
                    "gamma",
                    1.0,
                    0.0,
                    1.0,
                    "linear",
                    "float",
                    "amplitude factor per step (exp_range)",
                ),
            ),
        ),
        ScheduleSpec(
            name="one_cycle",
            title="One cycle",
            summary="Warm up from lr/div_factor to the run's lr, then anneal far below "
            "(Smith & Topin, 2017); holds its final value after total_steps.",
            rule="lr/div_factor -> lr over pct_start * total_steps, "
            "-> lr/(div_factor * final_div_factor) by total_steps - 1",
            torch="OneCycleLR",
            params=(
                _count("total_steps", 1000, "length of the cycle in steps"),
                HyperSpec(
                    "pct_start", 0.3, 0.0, 1.0, "linear", "float", "fraction of steps spent rising"
                ),
                HyperSpec(
                    "anneal_strategy",
                    "cos",
                    None,
                    None,
                    "linear",
                    "choice",
                    "shape of each phase",
                    ("cos", "linear"),
                ),
                HyperSpec(
                    "div_factor", 25.0, 1.0, 1e6, "log", "float", "initial lr = lr / div_factor"
                ),
                HyperSpec(
                    "final_div_factor",
                    1e4,
                    1.0,
                    1e12,
                    "log",
                    "float",
                    "final lr = initial lr / final_div_factor",
                ),
                HyperSpec(
                    "three_phase",
                    False,
                    None,
                    None,
                    "linear",
                    "bool",
                    "rise, fall back to the initial lr, then anneal (the paper's form)",
                ),
            ),
        ),
    )
}
