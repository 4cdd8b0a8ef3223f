"""The same network trained by torch autograd + torch.optim, to stream beside ours.

A ``TorchTwin`` copies a ``NetworkProblem``: an ``nn.Sequential`` of ``nn.Linear`` and the
activation in float64, loaded from the same flat vector (see ``mlp``), the same data and the
same mini-batch order (``problem.batch(step)``), torch's loss (BCEWithLogitsLoss,
CrossEntropyLoss or MSELoss, mean) plus ``(l2 / 2) * sum(W^2)`` over the weights, and the
torch.optim optimizer matching our name. ``step()`` does update number k and returns the
objective on the whole training set at the new point, which is what the engine reports for
our runs after update k (``problem.value(params)``).

torch is imported only when a twin is built: this module imports without it.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

from server.problems.base import Array
from server.problems.nn.layers import LEAKY_SLOPE
from server.problems.nn.problem import NetworkProblem

# Our optimizer name -> (torch.optim class, the settings its name defaults to).
TORCH_OPTIMIZERS: dict[str, tuple[str, dict[str, float]]] = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {}),
    "nesterov": ("SGD", {"nesterov": 1.0}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adadelta": ("Adadelta", {}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
    "amsgrad": ("Adam", {"amsgrad": 1.0}),
    "adamax": ("Adamax", {}),
    "nadam": ("NAdam", {}),
    "radam": ("RAdam", {}),
    "rprop": ("Rprop", {}),
}
_DEFAULTS: dict[str, dict[str, float]] = {
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9},
}
_TUPLES: dict[str, tuple[str, str]] = {
    "betas": ("beta1", "beta2"),
    "etas": ("eta_minus", "eta_plus"),
    "step_sizes": ("step_size_min", "step_size_max"),
}


def torch_available() -> bool:
    """Whether torch can be imported (checked without importing it)."""
    return importlib.util.find_spec("torch") is not None


def torch_optimizer(name: str, hyper: Mapping[str, float]) -> tuple[Any, dict[str, Any]]:
    """The torch.optim class for our optimizer ``name`` and its keyword arguments.

    ``hyper`` uses our names (split tuples, booleans as 0.0/1.0); missing ones take the
    defaults of our ``name`` (``momentum`` 0.9 for momentum/nesterov), then torch's.
    """
    import torch

    if name not in TORCH_OPTIMIZERS:
        raise ValueError(f"{name!r} has no torch.optim counterpart")
    class_name, forced = TORCH_OPTIMIZERS[name]
    cls = getattr(torch.optim, class_name)
    values = {**_DEFAULTS.get(name, {}), **forced, **hyper}  # a flag given wins
    signature = inspect.signature(cls.__init__).parameters
    kwargs: dict[str, Any] = {}
    for key, (first, second) in _TUPLES.items():
        if key in signature and (first in values or second in values):
            default = signature[key].default
            kwargs[key] = (
                float(values.get(first, default[0])),
                float(values.get(second, default[1])),
            )
    for key, value in values.items():
        if key in signature and key != "params":
            is_flag = isinstance(signature[key].default, bool)
            kwargs[key] = bool(value) if is_flag else float(value)
    return cls, kwargs


def _activation_module(name: str) -> Any:
    from torch import nn

    table: dict[str, Any] = {
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE),
        "sigmoid": nn.Sigmoid,
        "gelu": nn.GELU,
    }
    return table[name]()


def build_model(problem: NetworkProblem, params: Array) -> Any:
    """``nn.Sequential`` in float64 holding the flat vector ``params`` ``(P,)``."""
    import torch
    from torch import nn

    sizes = problem.mlp.sizes
    modules: list[Any] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        modules.append(nn.Linear(fan_in, fan_out, dtype=torch.float64))
        if i < len(sizes) - 2:
            modules.append(_activation_module(problem.mlp.activation))
    model = nn.Sequential(*modules)
    flat = torch.tensor(np.asarray(params, dtype=np.float64).reshape(problem.dim))
    with torch.no_grad():
        nn.utils.vector_to_parameters(flat, model.parameters())
    return model


class TorchTwin:
    """Trains ``problem``'s network from ``init_params`` with torch, one update per ``step``.

    ``schedule`` (a ``server.optim.schedules.Schedule``) sets the rate of update k to
    ``learning_rate(schedule, lr, k - 1)``, as the engine does for our runs. ``threads`` sets
    torch's (process-wide) intra-op thread count: on small nets and a busy 2-core machine
    torch's default thread pool made a step 40x slower than one thread; None leaves it alone.
    """

    def __init__(
        self,
        problem: NetworkProblem,
        optimizer_name: str,
        hyper: Mapping[str, float],
        init_params: Array,
        schedule: Any = None,
        threads: int | None = 1,
    ) -> None:
        import torch

        if threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.problem = problem
        self.model = build_model(problem, init_params)
        cls, kwargs = torch_optimizer(optimizer_name, hyper)
        self.optimizer = cls(self.model.parameters(), **kwargs)
        self.base_lr = float(kwargs.get("lr", self.optimizer.defaults["lr"]))
        self.schedule = schedule
        self.count = 0
        self._weights = [m.weight for m in self.model if isinstance(m, torch.nn.Linear)]
        self._loss = {
            "bce": torch.nn.BCEWithLogitsLoss(),
            "softmax": torch.nn.CrossEntropyLoss(),
            "mse": torch.nn.MSELoss(),
        }[problem.loss.name]
        self._x = torch.from_numpy(problem.dataset.x_train)
        self._t = self._target(problem.train_targets)

    def _target(self, t: Array) -> Any:
        tensor = self._torch.from_numpy(np.ascontiguousarray(t))
        return tensor.argmax(dim=1) if self.problem.loss.name == "softmax" else tensor

    def _objective(self, x: Any, t: Any) -> Any:
        value = self._loss(self.model(x), t)
        l2 = self.problem.config.l2
        if l2 != 0.0:
            value = value + 0.5 * l2 * sum((w * w).sum() for w in self._weights)
        return value

    def update(self) -> None:
        """Update number ``count + 1`` on its mini-batch (no evaluation afterwards)."""
        x, t = self.problem.batch(self.count)
        if self.schedule is not None:
            from server.optim.schedules import learning_rate

            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(self.schedule, self.base_lr, self.count)
        self.optimizer.zero_grad()
        self._objective(self._torch.from_numpy(x), self._target(t)).backward()
        self.optimizer.step()
        self.count += 1

    def loss(self) -> float:
        """The objective on the whole training set at the current weights."""
        with self._torch.no_grad():
            return float(self._objective(self._x, self._t))

    def step(self) -> float:
        """Do the next update and return the training objective at the new point."""
        self.update()
        return self.loss()

    def params(self) -> Array:
        """The current weights as our flat vector ``(P,)``."""
        flat = self._torch.nn.utils.parameters_to_vector(self.model.parameters())
        return np.asarray(flat.detach().numpy(), dtype=np.float64).copy()
