"""The 2D loss surfaces: specs in display order, and a checked lookup that binds parameters."""

from __future__ import annotations

from collections.abc import Mapping

from server.problems.surfaces.canonical import MONKEY_SADDLE, QUADRATIC, SADDLE
from server.problems.surfaces.classic import (
    BEALE,
    BOOTH,
    GOLDSTEIN_PRICE,
    HIMMELBLAU,
    MATYAS,
    MCCORMICK,
    ROSENBROCK,
    SIX_HUMP_CAMEL,
    STYBLINSKI_TANG,
    THREE_HUMP_CAMEL,
)
from server.problems.surfaces.multimodal import ACKLEY, EASOM, LEVI13, RASTRIGIN
from server.problems.surfaces.spec import ParamSpec, Surface, SurfaceError, SurfaceSpec

SURFACES: dict[str, SurfaceSpec] = {
    spec.name: spec
    for spec in (
        ROSENBROCK,
        HIMMELBLAU,
        BEALE,
        BOOTH,
        MATYAS,
        RASTRIGIN,
        ACKLEY,
        GOLDSTEIN_PRICE,
        SIX_HUMP_CAMEL,
        THREE_HUMP_CAMEL,
        STYBLINSKI_TANG,
        LEVI13,
        EASOM,
        MCCORMICK,
        QUADRATIC,
        SADDLE,
        MONKEY_SADDLE,
    )
}


def get_surface(name: str, params: Mapping[str, float] | None = None) -> Surface:
    """The surface ``name`` bound to ``params``; :class:`SurfaceError` (a ValueError) if either is bad."""
    spec = SURFACES.get(name) if isinstance(name, str) else None
    if spec is None:
        raise SurfaceError(
            "surface", f"unknown surface {name!r} (expected one of: {', '.join(SURFACES)})"
        )
    return spec.bind(params)


__all__ = ["SURFACES", "ParamSpec", "Surface", "SurfaceError", "SurfaceSpec", "get_surface"]
