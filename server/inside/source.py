"""The project's own code of an optimizer or a layer, read from the code itself.

``inspect.getsource`` on the functions the engine calls (``Optimizer.update`` and ``init``, the
state NamedTuple, the ``server.optim.ops`` helpers the update calls, each layer's ``forward`` and
``backward``), so what the page shows is what ran.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.optim import ops
from server.optim.registry import get_optimizer
from server.problems.nn import conv, layers, recurrent

ROOT = Path(__file__).resolve().parents[2]


def _where(obj: Callable[..., Any] | type) -> tuple[str, int]:
    path = Path(inspect.getsourcefile(obj) or "")
    _, line = inspect.getsourcelines(obj)
    try:
        shown = str(path.relative_to(ROOT))
    except ValueError:
        shown = path.name
    return shown, line


def _code(obj: Callable[..., Any] | type) -> dict[str, Any]:
    file, line = _where(obj)
    return {"source": textwrap.dedent(inspect.getsource(obj)), "file": file, "line": line}


def _helpers(fn: Callable[..., Any]) -> list[dict[str, Any]]:
    """The ``server.optim.ops`` functions that ``fn`` calls (by the names its code uses)."""
    names = set(fn.__code__.co_names)
    out = []
    for name, helper in inspect.getmembers(ops, inspect.isfunction):
        if name in names and helper.__module__ == ops.__name__:
            out.append({"name": name, **_code(helper)})
    return out


def optimizer_source(name: str) -> dict[str, Any]:
    """``update``, ``init`` and the state class of the optimizer ``name`` as the engine runs them.

    Raises ``InvalidHyperparameter("optimizer", ...)`` for an unknown name.
    """
    opt = get_optimizer(name)
    state = inspect.signature(opt.init).return_annotation
    module = inspect.getmodule(opt.init)
    state_cls = getattr(module, state, None) if isinstance(state, str) else state
    return {
        "name": name,
        "title": opt.spec.title,
        "update": _code(opt.update),
        "init": _code(opt.init),
        "state": _code(state_cls) if inspect.isclass(state_cls) else None,
        "helpers": _helpers(opt.update),
    }


# Each layer of server.problems.nn (layers, conv, recurrent) and the torch.nn module it equals.
LAYERS: dict[str, tuple[Any, str]] = {
    "linear": (layers.Linear, "torch.nn.Linear(in_features, out_features, dtype=torch.float64)"),
    "tanh": (layers.Tanh, "torch.nn.Tanh()"),
    "relu": (layers.ReLU, "torch.nn.ReLU()"),
    "leaky_relu": (layers.LeakyReLU, f"torch.nn.LeakyReLU(negative_slope={layers.LEAKY_SLOPE})"),
    "sigmoid": (layers.Sigmoid, "torch.nn.Sigmoid()"),
    "gelu": (layers.GELU, "torch.nn.GELU()  # exact erf form, approximate='none'"),
    "conv2d": (
        conv.Conv2d,
        "torch.nn.Conv2d(channels, filters, kernel, stride, padding, dtype=torch.float64)",
    ),
    "maxpool2d": (conv.MaxPool2d, "torch.nn.MaxPool2d(kernel)"),
    "flatten": (conv.Flatten, "torch.nn.Flatten()"),
    "rnn": (
        recurrent.ElmanRNN,
        "torch.nn.RNN(inputs, hidden, nonlinearity='tanh', batch_first=True, dtype=torch.float64)",
    ),
}


def layer_source(name: str) -> dict[str, Any]:
    """A layer's forward and backward (``KeyError`` for an unknown name)."""
    cls, module = LAYERS[name]
    return {
        "name": name,
        "title": cls.__name__,
        "doc": inspect.getdoc(cls) or "",
        "forward": _code(cls.forward),
        "backward": _code(cls.backward),
        "torch": module,
    }
