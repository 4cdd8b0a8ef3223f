"""Backprop on one training example, every number kept: the graph behind the Backprop view.

For a small MLP (at most ``MAX_HIDDEN_LAYERS`` hidden layers of ``MAX_UNITS`` units) on one
example ``x`` of its data set, the forward pass keeps each layer's pre-activation ``z`` and
output ``a``; the backward pass keeps ``dL/da`` and ``dL/dz`` of every unit and ``dL/dW``,
``dL/db`` of every weight and bias, using the project's own layers and losses
(``server.problems.nn``). Every weight also gets its chain-rule factors:
``dL/dW[i, j] = dL/dz_i · a_j`` with ``dL/dz_i = f'(z_i) · Σ_k W'[k, i] · dL/dz'_k`` (the next
layer's weights and deltas) or, at the output, the loss's gradient. Then one update by the
chosen optimizer (its own numpy ``update``, fresh state) gives the new weights and loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from server.optim.registry import get_optimizer, hyper_rows
from server.problems.base import Array
from server.problems.nn.layers import Linear
from server.problems.nn.problem import NetworkProblem

MAX_HIDDEN_LAYERS = 2
MAX_UNITS = 4
MAX_OUTPUTS = 4


class BackpropError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_small(problem: NetworkProblem) -> None:
    sizes = problem.mlp.sizes
    hidden = sizes[1:-1]
    if len(hidden) > MAX_HIDDEN_LAYERS or max(hidden, default=1) > MAX_UNITS:
        raise BackpropError(
            "network.hidden",
            f"The backprop view draws at most {MAX_HIDDEN_LAYERS} hidden layers of {MAX_UNITS} "
            f"units (got {list(hidden)})",
        )
    if sizes[-1] > MAX_OUTPUTS:
        raise BackpropError("network", f"At most {MAX_OUTPUTS} outputs (got {sizes[-1]})")
    if problem.config.l2 != 0.0:
        raise BackpropError("network.l2", "The backprop view shows the loss without L2 (l2 = 0)")


@dataclass(frozen=True)
class Layer:
    """One Linear (+ activation) layer on the example: ``z = W a_in + b``, ``a = f(z)``."""

    weight: Array  # (out, in)
    bias: Array  # (out,)
    a_in: Array  # (in,)
    z: Array  # (out,)
    a: Array  # (out,): f(z), or z for the last layer
    fprime: Array | None  # f'(z); None for the last layer
    da: Array  # dL/da
    dz: Array  # dL/dz
    dweight: Array  # (out, in)
    dbias: Array  # (out,)


def _fprime(problem: NetworkProblem, z: Array, a: Array) -> Array:
    """The activation's derivative at ``z``, from its own backward with an upstream of ones."""
    out: Array = problem.mlp.act.backward(
        z[None, None, :], a[None, None, :], np.ones((1, 1, len(z)))
    )
    row: Array = out[0, 0]
    return row


def forward_backward(
    problem: NetworkProblem, params: Array, x: Array, t: Array
) -> tuple[float, Array, list[Layer], Array]:
    """Loss, ``dL/dz`` of the output, the layers and ``dL/dx`` for one example ``x`` ``(in,)``."""
    mlp = problem.mlp
    unflat = mlp.unflatten(params[None, :])
    last = len(unflat) - 1
    pre: list[Array] = []
    post: list[Array] = []
    inputs: list[Array] = []
    h = x[None, None, :]
    for i, (w, b) in enumerate(unflat):
        inputs.append(h[0, 0].copy())
        z = Linear.forward(h, w, b)
        h = z if i == last else mlp.act.forward(z)
        pre.append(z[0, 0].copy())
        post.append(h[0, 0].copy())
    loss, d_out = problem.loss.value_and_grad(h, t[None, :])
    layers: list[Layer] = []
    dz = d_out
    da = d_out[0, 0].copy()
    for i in range(last, -1, -1):
        w, b = unflat[i]
        fprime = None if i == last else _fprime(problem, pre[i], post[i])
        if fprime is not None:
            dz = mlp.act.backward(pre[i][None, None, :], post[i][None, None, :], da[None, None, :])
        dx, dw, db = Linear.backward(inputs[i][None, None, :], w, dz)
        assert dx is not None
        layers.append(
            Layer(
                w[0].copy(),
                b[0, 0].copy(),
                inputs[i],
                pre[i],
                post[i],
                fprime,
                da,
                dz[0, 0].copy(),
                dw[0],
                db[0],
            )
        )
        da = dx[0, 0].copy()
    layers.reverse()
    return float(loss[0]), d_out[0, 0], layers, da


def chains(layers: list[Layer], d_out: Array) -> list[dict[str, Any]]:
    """The chain-rule factors of every weight, with the numbers that multiply to its gradient."""
    out = []
    last = len(layers) - 1
    for n, layer in enumerate(layers):
        for i in range(layer.weight.shape[0]):
            if n == last:
                upstream: list[list[float]] = []
                dz_text = float(d_out[i])
            else:
                nxt = layers[n + 1]
                upstream = [
                    [float(nxt.weight[k, i]), float(nxt.dz[k])] for k in range(nxt.weight.shape[0])
                ]
                dz_text = float(layer.dz[i])
            for j in range(layer.weight.shape[1]):
                out.append(
                    {
                        "layer": n,
                        "i": i,
                        "j": j,
                        "weight": float(layer.weight[i, j]),
                        "a_in": float(layer.a_in[j]),
                        "dz": dz_text,
                        "fprime": None if layer.fprime is None else float(layer.fprime[i]),
                        "upstream": upstream,
                        "grad": float(layer.dweight[i, j]),
                    }
                )
    return out


def step(
    problem: NetworkProblem,
    params: Array,
    grad: Array,
    optimizer: str,
    hyper: dict[str, float],
) -> Array:
    """The weights after one update from a fresh optimizer state."""
    opt = get_optimizer(optimizer)
    rows = hyper_rows(optimizer, [hyper])
    p = params[None, :]
    updates, _ = opt.update(grad[None, :], opt.init(p, rows), p, rows, None)
    out: Array = (p + updates)[0]
    return out


def backprop(
    problem: NetworkProblem,
    params: Array,
    sample: int,
    optimizer: str,
    hyper: dict[str, float],
) -> dict[str, Any]:
    """Everything the Backprop view draws, for training example number ``sample``."""
    check_small(problem)
    data = problem.dataset
    if not 0 <= sample < len(data.x_train):
        raise BackpropError(
            "sample", f"sample must be in [0, {len(data.x_train) - 1}], got {sample}"
        )
    x = data.x_train[sample]
    t = problem.train_targets[sample]
    loss, d_out, layers, dx = forward_backward(problem, params, x, t)
    grad = np.concatenate([np.concatenate([lay.dweight.ravel(), lay.dbias]) for lay in layers])
    new = step(problem, params, grad, optimizer, hyper)
    loss_after, *_ = forward_backward(problem, new, x, t)
    return {
        "sizes": list(problem.mlp.sizes),
        "activation": problem.mlp.activation,
        "loss_name": problem.loss.name,
        "sample": {"index": sample, "x": x, "target": t, "y": float(data.y_train[sample])},
        "samples": len(data.x_train),
        "params": params,
        "input": {"a": x, "da": dx},
        "layers": [
            {
                "weight": lay.weight,
                "bias": lay.bias,
                "z": lay.z,
                "a": lay.a,
                "fprime": lay.fprime,
                "da": lay.da,
                "dz": lay.dz,
                "dweight": lay.dweight,
                "dbias": lay.dbias,
            }
            for lay in layers
        ],
        "loss": {"value": loss, "dz": d_out},
        "grad": grad,
        "chains": chains(layers, d_out),
        "update": {"optimizer": optimizer, "hyper": hyper, "params": new, "loss": loss_after},
    }
