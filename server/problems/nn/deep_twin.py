"""The CNN or RNN of a ``DeepProblem`` in PyTorch, trained by autograd + torch.optim beside ours.

Same float64 weights (loaded from our flat vector: see ``cnn`` and ``rnn`` for the layout), same
data and mini-batch order (``problem.batch(step)``), torch's loss (CrossEntropyLoss or MSELoss,
mean) plus ``(l2 / 2) * sum(W^2)``, ``torch.nn.utils.clip_grad_norm_`` with the threshold the
problem holds for each update, and the torch.optim optimizer matching our name. The interface
is ``torch_twin.TorchTwin``'s (``update``, ``step``, ``loss``, ``params``, ``count``), so the
network stream drives either.

torch is imported only when a twin is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from server.problems.base import Array
from server.problems.nn.cnn import CNN
from server.problems.nn.deep import DeepProblem
from server.problems.nn.rnn import RNNModel
from server.problems.nn.torch_twin import torch_optimizer


def build_deep_model(problem: DeepProblem, params: Array) -> Any:
    """The torch module (float64) holding the flat vector ``params`` ``(P,)``."""
    import torch
    from torch import nn

    m = problem.model
    if isinstance(m, CNN):
        layers: list[Any] = [
            nn.Conv2d(m.channels, m.filters, m.kernel, m.stride, m.padding, dtype=torch.float64),
            nn.ReLU(),
        ]
        if m.pool > 1:
            layers.append(nn.MaxPool2d(m.pool))
        layers += [nn.Flatten(), nn.Linear(m.features, m.classes, dtype=torch.float64)]
        model: Any = nn.Sequential(*layers)
    else:
        rnn: RNNModel = m
        last = rnn.readout == "last"

        class Recurrent(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = nn.RNN(rnn.inputs, rnn.hidden, batch_first=True, dtype=torch.float64)
                self.out = nn.Linear(rnn.hidden, 1, dtype=torch.float64)

            def forward(self, x: Any) -> Any:
                h, _ = self.rnn(x)
                return self.out(h[:, -1]) if last else self.out(h)[..., 0]

        model = Recurrent()
    flat = torch.tensor(np.asarray(params, dtype=np.float64).reshape(problem.dim))
    with torch.no_grad():
        nn.utils.vector_to_parameters(flat, model.parameters())
    return model


def weight_tensors(model: Any) -> list[Any]:
    """The parameters the L2 penalty covers (weights, not biases)."""
    return [p for name, p in model.named_parameters() if "bias" not in name]


class DeepTwin:
    """Trains ``problem``'s network from ``init_params`` with torch, one update per ``step``."""

    def __init__(
        self,
        problem: DeepProblem,
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
        self.model = build_deep_model(problem, init_params)
        cls, kwargs = torch_optimizer(optimizer_name, hyper)
        self.optimizer = cls(self.model.parameters(), **kwargs)
        self.base_lr = float(kwargs.get("lr", self.optimizer.defaults["lr"]))
        self.schedule = schedule
        self.count = 0
        self._weights = weight_tensors(self.model)
        self._cnn = isinstance(problem.model, CNN)
        self._loss = torch.nn.CrossEntropyLoss() if self._cnn else torch.nn.MSELoss()
        self._x = self.inputs(problem.data.x_train)
        self._t = self.targets(problem.train_targets)

    def inputs(self, x: Array) -> Any:
        tensor = self._torch.from_numpy(np.ascontiguousarray(x))
        return tensor.permute(0, 3, 1, 2) if self._cnn else tensor

    def targets(self, t: Array) -> Any:
        tensor = self._torch.from_numpy(np.ascontiguousarray(t))
        return tensor.argmax(dim=1) if self._cnn else tensor

    def objective(self, x: Any, t: Any) -> Any:
        value = self._loss(self.model(x), t)
        l2 = self.problem.config.l2
        if l2 != 0.0:
            value = value + 0.5 * l2 * sum((w * w).sum() for w in self._weights)
        return value

    def update(self) -> None:
        """Update number ``count + 1`` on its mini-batch."""
        x, t = self.problem.batch(self.count)
        if self.schedule is not None:
            from server.optim.schedules import learning_rate

            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(self.schedule, self.base_lr, self.count)
        self.optimizer.zero_grad()
        self.objective(self.inputs(x), self.targets(t)).backward()
        clip = self.problem.clip_for(self.count + 1)
        if clip is not None:
            self._torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        self.optimizer.step()
        self.count += 1

    def loss(self) -> float:
        with self._torch.no_grad():
            return float(self.objective(self._x, self._t))

    def step(self) -> float:
        self.update()
        return self.loss()

    def params(self) -> Array:
        flat = self._torch.nn.utils.parameters_to_vector(self.model.parameters())
        return np.asarray(flat.detach().numpy(), dtype=np.float64).copy()
