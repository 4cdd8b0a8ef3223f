"""torch.optim stepping a float64 tensor whose ``.grad`` is our problem's closed-form gradient.

The class and keywords are ``torch_twin.torch_optimizer``'s (the mapping the twins and the
conformance tests use); a schedule sets ``param_groups[0]["lr"]`` before each update, as
``TorchTwin`` does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import numpy as np

from server.libraries.follow import StepFn
from server.optim.base import Array
from server.problems.nn.torch_twin import torch_optimizer

_LOCK = threading.Lock()
INSTALL = "torch is not installed on this server (pip install torch)."


def stepper(name: str, hyper: Mapping[str, float], start: Array, lrs: list[float] | None) -> StepFn:
    """A ``follow`` step function: ``torch.optim`` for our ``name`` from ``start``; ``lrs[k]``
    is the rate of update ``k + 1`` (None: the constant ``lr``)."""
    import torch

    p = torch.tensor(np.asarray(start, dtype=np.float64), dtype=torch.float64, requires_grad=True)
    cls, kwargs = torch_optimizer(name, hyper)
    opt = cls([p], **kwargs)

    def step(k: int, point: Array, grad: Array) -> Array:
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[k]
        p.grad = torch.from_numpy(grad)
        if k == 0:
            # The state is made at the first step, its scalars (NAdam's mu_product) in torch's
            # default dtype: float32 unless it is float64 then (1.5e-8 off in one NAdam step).
            with _LOCK:
                before = torch.get_default_dtype()
                torch.set_default_dtype(torch.float64)
                try:
                    opt.step()
                finally:
                    torch.set_default_dtype(before)
        else:
            opt.step()
        return np.asarray(p.detach().numpy(), dtype=np.float64).copy()

    return step


def describe(name: str, hyper: Mapping[str, float]) -> str:
    """``torch.optim.Adam(lr=0.01, ...)`` for our ``name`` and ``hyper``."""
    cls, kwargs = torch_optimizer(name, hyper)
    return f"torch.optim.{cls.__name__}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
