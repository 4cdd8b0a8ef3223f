"""Conv2d, MaxPool2d, Flatten, ReLU, softmax cross-entropy, the Elman RNN and clipping:
gradients against torch autograd (1e-10, float64) and against central finite differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from server.problems.base import Array
from server.problems.nn.conv import Conv2d, Flatten, MaxPool2d, out_size
from server.problems.nn.layers import ReLU
from server.problems.nn.losses import SoftmaxCrossEntropy
from server.problems.nn.recurrent import ElmanRNN, clip_by_norm

torch = pytest.importorskip("torch")
F = torch.nn.functional
TOL = 1e-10
H = 1e-6


def _t(a: Array) -> Any:
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def _nchw(x: Array) -> Array:  # (B, H, W, C) -> (B, C, H, W)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _numeric(
    f: Callable[[Array], float], x: Array, probes: int, rng: np.random.Generator
) -> tuple[list[tuple[int, ...]], list[float]]:
    """Central differences of ``f`` at a few random entries of ``x``."""
    where = [tuple(int(rng.integers(n)) for n in x.shape) for _ in range(probes)]
    out = []
    for idx in where:
        old = x[idx]
        x[idx] = old + H
        up = f(x)
        x[idx] = old - H
        down = f(x)
        x[idx] = old
        out.append((up - down) / (2 * H))
    return where, out


CONV_CASES = [
    # (runs, batch, height, width, channels, filters, kernel, stride, padding)
    (1, 2, 5, 5, 1, 3, 3, 1, 0),
    (2, 3, 6, 7, 2, 4, 3, 1, 1),
    (3, 2, 8, 8, 3, 2, 3, 2, 1),
    (2, 1, 7, 6, 2, 3, 2, 2, 0),
    (1, 2, 6, 6, 1, 2, 5, 1, 2),
    (2, 2, 9, 5, 2, 2, 1, 3, 0),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_torch_autograd(case: tuple[int, ...]) -> None:
    runs, batch, h, w, c, o, k, s, p = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((runs, batch, h, w, c))
    weight = rng.standard_normal((runs, o, c, k, k))
    bias = rng.standard_normal((runs, o))
    conv = Conv2d(k, s, p)
    y, cache = conv.forward(x, weight, bias)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = conv.backward(cache, weight, dy)
    assert dx is not None
    for r in range(runs):
        tx, tw, tb = _t(_nchw(x[r])), _t(weight[r]), _t(bias[r])
        ty = F.conv2d(tx, tw, tb, stride=s, padding=p)
        assert ty.shape[2:] == (out_size(h, k, s, p), out_size(w, k, s, p))
        np.testing.assert_allclose(_nchw(y[r]), ty.detach().numpy(), rtol=0, atol=TOL)
        ty.backward(torch.tensor(_nchw(dy[r])))
        np.testing.assert_allclose(_nchw(dx[r]), tx.grad.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(dw[r], tw.grad.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(db[r], tb.grad.numpy(), rtol=0, atol=TOL)


def test_conv2d_shared_input_broadcasts_over_runs() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 4, 6, 6, 2))
    weight = rng.standard_normal((3, 5, 2, 3, 3))
    bias = rng.standard_normal((3, 5))
    conv = Conv2d(3, 1, 1)
    y, cache = conv.forward(x, weight, bias)
    dy = rng.standard_normal(y.shape)
    _, dw, db = conv.backward(cache, weight, dy, need_dx=False)
    for r in range(3):
        y_r, cache_r = conv.forward(x, weight[r : r + 1], bias[r : r + 1])
        np.testing.assert_allclose(y[r], y_r[0], atol=1e-13)
        _, dw_r, db_r = conv.backward(cache_r, weight[r : r + 1], dy[r : r + 1])
        np.testing.assert_allclose(dw[r], dw_r[0], atol=1e-12)
        np.testing.assert_allclose(db[r], db_r[0], atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES[:3])
def test_conv2d_matches_finite_differences(case: tuple[int, ...]) -> None:
    runs, batch, h, w, c, o, k, s, p = case
    rng = np.random.default_rng(10 + sum(case))
    x = rng.standard_normal((runs, batch, h, w, c))
    weight = rng.standard_normal((runs, o, c, k, k))
    bias = rng.standard_normal((runs, o))
    conv = Conv2d(k, s, p)
    y, cache = conv.forward(x, weight, bias)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = conv.backward(cache, weight, dy)
    assert dx is not None
    for array, grad in ((x, dx), (weight, dw), (bias, db)):
        where, numeric = _numeric(
            lambda _: float((conv.forward(x, weight, bias)[0] * dy).sum()), array, 6, rng
        )
        for idx, value in zip(where, numeric, strict=True):
            assert grad[idx] == pytest.approx(value, rel=1e-6, abs=1e-7)


POOL_CASES = [
    # (runs, batch, height, width, channels, kernel, stride)
    (1, 2, 4, 4, 3, 2, None),
    (2, 3, 8, 6, 2, 2, None),
    (2, 2, 7, 7, 2, 3, 2),
    (1, 2, 5, 6, 1, 2, 1),
    (2, 1, 7, 5, 3, 2, 2),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool2d_matches_torch_autograd(case: tuple[Any, ...]) -> None:
    runs, batch, h, w, c, k, s = case
    rng = np.random.default_rng(h * w + k)
    x = rng.standard_normal((runs, batch, h, w, c))
    pool = MaxPool2d(k, s)
    y, cache = pool.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = pool.backward(cache, dy)
    for r in range(runs):
        tx = _t(_nchw(x[r]))
        ty = F.max_pool2d(tx, k, stride=s)
        np.testing.assert_allclose(_nchw(y[r]), ty.detach().numpy(), rtol=0, atol=TOL)
        ty.backward(torch.tensor(_nchw(dy[r])))
        np.testing.assert_allclose(_nchw(dx[r]), tx.grad.numpy(), rtol=0, atol=TOL)


def test_maxpool2d_matches_finite_differences() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 6, 6, 2))
    pool = MaxPool2d(3, 2)
    y, cache = pool.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = pool.backward(cache, dy)
    where, numeric = _numeric(lambda a: float((pool.forward(a)[0] * dy).sum()), x, 10, rng)
    for idx, value in zip(where, numeric, strict=True):
        assert dx[idx] == pytest.approx(value, rel=1e-6, abs=1e-7)


def test_maxpool2d_ties_go_to_the_first_maximum_like_torch() -> None:
    x = np.zeros((1, 1, 4, 4, 1))
    pool = MaxPool2d(2)
    _, cache = pool.forward(x)
    dx = pool.backward(cache, np.ones((1, 1, 2, 2, 1)))
    tx = _t(_nchw(x[0]))
    F.max_pool2d(tx, 2).backward(torch.ones(1, 1, 2, 2, dtype=torch.float64))
    np.testing.assert_array_equal(_nchw(dx[0]), tx.grad.numpy())


def test_flatten_round_trips_and_matches_torch_order() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4, 5, 2))
    y = Flatten.forward(x)
    assert y.shape == (2, 3, 40)
    np.testing.assert_array_equal(y[1, 2], torch.flatten(torch.tensor(x[1, 2])).numpy())
    dy = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(Flatten.backward(x.shape, dy).reshape(dy.shape), dy)


def test_relu_and_softmax_cross_entropy_match_torch() -> None:
    rng = np.random.default_rng(7)
    z = rng.standard_normal((3, 6, 10)) * 3
    labels = rng.integers(0, 10, size=6)
    onehot = np.eye(10)[labels]
    relu = ReLU()
    a = relu.forward(z)
    loss, dlogits = SoftmaxCrossEntropy().value_and_grad(a, onehot)
    for r in range(3):
        tz = _t(z[r])
        tl = F.cross_entropy(torch.relu(tz), torch.tensor(labels))
        tl.backward()
        assert loss[r] == pytest.approx(float(tl.detach()), abs=TOL)
        dz = relu.backward(z[r], a[r], dlogits[r])
        np.testing.assert_allclose(dz, tz.grad.numpy(), rtol=0, atol=TOL)


RNN_CASES = [
    # (runs, batch, steps, inputs, hidden)
    (1, 2, 1, 1, 3),
    (2, 3, 5, 2, 4),
    (3, 2, 9, 1, 6),
    (1, 4, 12, 3, 5),
]


def _rnn_weights(
    rng: np.random.Generator, runs: int, i: int, h: int, scale: float = 0.5
) -> list[Array]:
    return [
        scale * rng.standard_normal((runs, h, i)),
        scale * rng.standard_normal((runs, h, h)),
        scale * rng.standard_normal((runs, h)),
        scale * rng.standard_normal((runs, h)),
    ]


@pytest.mark.parametrize("case", RNN_CASES)
def test_elman_rnn_bptt_matches_torch_autograd(case: tuple[int, ...]) -> None:
    runs, batch, steps, inputs, hidden = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((runs, batch, steps, inputs))
    w_ih, w_hh, b_ih, b_hh = _rnn_weights(rng, runs, inputs, hidden)
    h, cache = ElmanRNN.forward(x, w_ih, w_hh, b_ih, b_hh)
    dh = rng.standard_normal(h.shape)
    g = ElmanRNN.backward(cache, w_ih, w_hh, dh, need_dx=True)
    assert g.dx is not None
    for r in range(runs):
        rnn = torch.nn.RNN(inputs, hidden, batch_first=True, dtype=torch.float64)
        with torch.no_grad():
            for name, value in zip(
                ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
                (w_ih[r], w_hh[r], b_ih[r], b_hh[r]),
                strict=True,
            ):
                getattr(rnn, name).copy_(torch.tensor(value))
        tx = _t(x[r])
        th, _ = rnn(tx)
        th.retain_grad()
        np.testing.assert_allclose(h[r], th.detach().numpy(), rtol=0, atol=TOL)
        th.backward(torch.tensor(dh[r]))
        np.testing.assert_allclose(g.dx[r], tx.grad.numpy(), rtol=0, atol=TOL)
        for ours, name in (
            (g.w_ih, "weight_ih_l0"),
            (g.w_hh, "weight_hh_l0"),
            (g.b_ih, "bias_ih_l0"),
            (g.b_hh, "bias_hh_l0"),
        ):
            np.testing.assert_allclose(ours[r], getattr(rnn, name).grad.numpy(), rtol=0, atol=TOL)


def test_elman_rnn_gradient_per_step_norms_match_torch() -> None:
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 3, 6, 2))
    weights = _rnn_weights(rng, 1, 2, 4)
    h, cache = ElmanRNN.forward(x, *weights)
    dh = np.zeros_like(h)
    dh[:, :, -1] = rng.standard_normal((1, 3, 4))  # a loss on the last state only
    norms = ElmanRNN.backward(cache, weights[0], weights[1], dh).h_norms[0]
    # torch: dL/dh_t of h_t = cell(x_t, h_{t-1}) unrolled by hand
    hs = []
    state = torch.zeros(3, 4, dtype=torch.float64)
    w_ih, w_hh, b_ih, b_hh = (_t(w[0]) for w in weights)
    for t in range(6):
        state = torch.tanh(torch.tensor(x[0, :, t]) @ w_ih.T + b_ih + state @ w_hh.T + b_hh)
        state.retain_grad()
        hs.append(state)
    (state * torch.tensor(dh[0, :, -1])).sum().backward()
    expected = [float(s.grad.norm()) for s in hs]
    np.testing.assert_allclose(norms, expected, rtol=1e-12, atol=TOL)


def test_elman_rnn_matches_finite_differences() -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 2, 7, 2))
    weights = _rnn_weights(rng, 2, 2, 3)
    h, cache = ElmanRNN.forward(x, *weights)
    dh = rng.standard_normal(h.shape)
    g = ElmanRNN.backward(cache, weights[0], weights[1], dh, need_dx=True)

    def f(_: Array) -> float:
        return float((ElmanRNN.forward(x, *weights)[0] * dh).sum())

    grads = [g.w_ih, g.w_hh, g.b_ih, g.b_hh]
    for array, grad in [(x, g.dx), *zip(weights, grads, strict=True)]:
        assert grad is not None
        where, numeric = _numeric(f, array, 5, rng)
        for idx, value in zip(where, numeric, strict=True):
            assert grad[idx] == pytest.approx(value, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("max_norm", [0.01, 0.5, 3.0, 1e6])
def test_clip_by_norm_matches_torch_clip_grad_norm(max_norm: float) -> None:
    rng = np.random.default_rng(int(max_norm * 100) % 97)
    grads = rng.standard_normal((3, 11))
    ours = clip_by_norm(grads, max_norm)
    for r in range(3):
        p = torch.zeros(11, dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(grads[r])
        torch.nn.utils.clip_grad_norm_([p], max_norm)
        np.testing.assert_allclose(ours[r], p.grad.numpy(), rtol=0, atol=1e-15)
    assert clip_by_norm(grads, None) is grads
