"""Lion and damped Newton (no torch counterpart) against steps worked out by hand."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from server.optim.base import Array, Optimizer
from server.optim.registry import OPTIMIZERS, hyper_rows

LION = OPTIMIZERS["lion"]
NEWTON = OPTIMIZERS["newton"]


def rows(name: str, *values: Mapping[str, float]) -> dict[str, Array]:
    return hyper_rows(name, list(values))


def newton_step(
    grads: list[list[float]], hessians: list[list[list[float]]], **hyper: float
) -> Array:
    g = np.array(grads)
    hyper_cols = rows("newton", *[hyper] * len(g))
    state = NEWTON.init(np.zeros_like(g), hyper_cols)
    updates, _ = NEWTON.update(g, state, np.zeros_like(g), hyper_cols, np.array(hessians))
    return updates


def run(opt: Optimizer, hyper: dict[str, Array], params: Array, grads: list[Array]) -> list[Array]:
    """The updates of consecutive steps fed the given gradients."""
    state = opt.init(params, hyper)
    out = []
    for g in grads:
        updates, state = opt.update(g, state, params, hyper, None)
        params = params + updates
        out.append(updates)
    return out


# Lion, lr 0.1, beta1 0.9, beta2 0.99, from m = 0:
#   g1 = ( 0.5, -2): c = 0.1 g1 = (0.05, -0.2)            -> sign ( 1, -1) -> update (-0.1,  0.1)
#                    m1 = 0.01 g1 = (0.005, -0.02)
#   g2 = (-0.1, -1): c = 0.9 m1 + 0.1 g2 = (-0.0055, -0.118) -> sign (-1, -1) -> update ( 0.1,  0.1)
#                    m2 = 0.99 m1 + 0.01 g2 = (0.00395, -0.0298)
G1 = np.array([[0.5, -2.0]])
G2 = np.array([[-0.1, -1.0]])


def test_lion_two_steps_by_hand() -> None:
    hyper = rows("lion", {"lr": 0.1})
    params = np.array([[1.0, 1.0]])
    state = LION.init(params, hyper)
    first, state = LION.update(G1, state, params, hyper, None)
    np.testing.assert_allclose(first, [[-0.1, 0.1]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(state.mu, [[0.005, -0.02]], rtol=0, atol=1e-15)
    second, state = LION.update(G2, state, params + first, hyper, None)
    # The current gradient outweighs the momentum in coordinate 0 and flips the sign.
    np.testing.assert_allclose(second, [[0.1, 0.1]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(state.mu, [[0.00395, -0.0298]], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(state.count, [[2.0]])


def test_lion_decoupled_weight_decay_by_hand() -> None:
    # update = -lr (sign(c) + wd theta) = -0.1 ((1, -1) + 0.5 (1, 1)) = (-0.15, 0.05)
    hyper = rows("lion", {"lr": 0.1, "weight_decay": 0.5})
    (update,) = run(LION, hyper, np.array([[1.0, 1.0]]), [G1])
    np.testing.assert_allclose(update, [[-0.15, 0.05]], rtol=0, atol=1e-15)


def test_lion_rows_use_their_own_hyperparameters() -> None:
    # Row 1: beta1 0 makes c = g; beta2 0.5 gives m1 = 0.5 g1 = (0.25, -1); lr 0.2.
    #   step 1: sign(g1) = (1, -1) -> (-0.2, 0.2); step 2: sign(g2) = (-1, -1) -> (0.2, 0.2)
    hyper = rows("lion", {"lr": 0.1}, {"lr": 0.2, "beta1": 0.0, "beta2": 0.5})
    params = np.array([[1.0, 1.0], [1.0, 1.0]])
    first, second = run(LION, hyper, params, [np.repeat(G1, 2, 0), np.repeat(G2, 2, 0)])
    np.testing.assert_allclose(first, [[-0.1, 0.1], [-0.2, 0.2]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(second, [[0.1, 0.1], [0.2, 0.2]], rtol=0, atol=1e-15)


def test_lion_zero_blend_does_not_move() -> None:
    (update,) = run(LION, rows("lion", {"lr": 0.1}), np.array([[1.0, -1.0]]), [np.zeros((1, 2))])
    np.testing.assert_array_equal(update, [[0.0, 0.0]])


def test_newton_solves_a_convex_quadratic_in_one_step() -> None:
    # f = 1/2 x^T A x - b^T x, minimiser A^-1 b = [[2, -1], [-1, 3]] / 5 @ (1, -1) = (0.6, -0.8)
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    start = np.array([[2.0, 2.0]])
    hyper = rows("newton", {"lr": 1.0})
    state = NEWTON.init(start, hyper)
    updates, _ = NEWTON.update(start @ a - b, state, start, hyper, a[None])
    np.testing.assert_allclose(start + updates, [[0.6, -0.8]], rtol=0, atol=1e-12)


def test_newton_damped_step_by_hand() -> None:
    # H = [[2, 1], [1, 2]] has eigenvalue 3 along (1, 1): H^-1 (1, 1) = (1/3, 1/3); lr 0.5 halves it.
    step = newton_step([[1.0, 1.0]], [[[2.0, 1.0], [1.0, 2.0]]], lr=0.5)
    np.testing.assert_allclose(step, [[-1 / 6, -1 / 6]], rtol=1e-14)


def test_newton_at_a_saddle_goes_downhill_not_to_the_saddle() -> None:
    # f = x^2 - 2 y^2 at (1, -1): g = (2, 4), H = diag(2, -4). Plain Newton would jump to the
    # saddle (0, 0) (f rises from -1 to 0); with |lambda| the step is (-2/2, -4/4) = (-1, -1),
    # reaching (0, -2) where f = -8.
    step = newton_step([[2.0, 4.0]], [[[2.0, 0.0], [0.0, -4.0]]])
    np.testing.assert_allclose(step, [[-1.0, -1.0]], rtol=1e-14)
    x, y = np.array([1.0, -1.0]) + step[0]
    assert x**2 - 2 * y**2 == pytest.approx(-8.0)


def test_newton_indefinite_off_diagonal_hessian() -> None:
    # H = [[0, 2], [2, 0]] has eigenvalues +-2, so |H| = 2 I and the step is -g / 2.
    step = newton_step([[1.0, 0.0]], [[[0.0, 2.0], [2.0, 0.0]]])
    np.testing.assert_allclose(step, [[-0.5, 0.0]], atol=1e-15)
    assert float(step[0] @ np.array([1.0, 0.0])) < 0.0


def test_newton_floors_flat_curvature_at_min_curvature() -> None:
    # H = diag(1, 0): the flat direction uses delta instead of 0: -0.02 / 0.01 = -2, -0.02 / 0.1.
    flat = [[[1.0, 0.0], [0.0, 0.0]]] * 2
    step = newton_step([[1.0, 0.02]] * 2, flat, min_curvature=0.01)
    np.testing.assert_allclose(step, [[-1.0, -2.0]] * 2, rtol=1e-14)
    step = newton_step([[1.0, 0.02]], flat[:1], min_curvature=0.1)
    np.testing.assert_allclose(step, [[-1.0, -0.2]], rtol=1e-14)


def test_newton_rows_are_independent() -> None:
    g = np.array([[2.0, 4.0], [1.0, 1.0], [1.0, 0.02]])
    h = np.array([np.diag([2.0, -4.0]), [[2.0, 1.0], [1.0, 2.0]], np.diag([1.0, 0.0])])
    hyper = rows("newton", {}, {"lr": 0.5}, {"min_curvature": 0.1})
    updates, state = NEWTON.update(g, NEWTON.init(g, hyper), g, hyper, h)
    np.testing.assert_allclose(updates, [[-1.0, -1.0], [-1 / 6, -1 / 6], [-1.0, -0.2]], rtol=1e-14)
    np.testing.assert_array_equal(state.count, [[1.0]] * 3)


def test_newton_non_finite_hessian_gives_nan_for_that_row_only() -> None:
    g = np.array([[1.0, 1.0], [1.0, 1.0]])
    h = np.array([[[np.nan, 0.0], [0.0, 1.0]], [[2.0, 1.0], [1.0, 2.0]]])
    hyper = rows("newton", {}, {})
    updates, _ = NEWTON.update(g, NEWTON.init(g, hyper), g, hyper, h)
    assert np.isnan(updates[0]).all()
    np.testing.assert_allclose(updates[1], [-1 / 3, -1 / 3], rtol=1e-14)


def test_newton_requires_the_hessian() -> None:
    assert NEWTON.spec.needs_hessian
    assert not any(opt.spec.needs_hessian for name, opt in OPTIMIZERS.items() if name != "newton")
    hyper = rows("newton", {})
    g = np.ones((1, 2))
    with pytest.raises(ValueError, match="Hessian"):
        NEWTON.update(g, NEWTON.init(g, hyper), g, hyper, None)
