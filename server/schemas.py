"""Shapes of what clients send, shared by the REST routes and the websocket.

Pydantic checks types and refuses NaN and Infinity; the meaning of the values (a known optimizer,
a learning rate in its domain, a parsable formula) is checked where the value is used.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)

Number = StrictFloat
"""A JSON number (integers included), never a boolean or a string."""


def _whole(value: object) -> object:
    """JSON does not tell 3 from 3.0: a whole float is that integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeNumber = Annotated[StrictInt, BeforeValidator(_whole)]
"""A JSON integer: ``3`` or ``3.0``, never ``3.5``, a boolean or a string."""
HyperValue = StrictBool | StrictFloat | StrictInt
Point = tuple[Number, Number]
RunId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
MAX_PARAMS = 16
MAX_COORDINATE = 1e6
"""Largest magnitude of a grid's domain bound."""
Coordinate = Annotated[Number, Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)]
Bounded = tuple[Coordinate, Coordinate]


def settings_maximum(setting: str) -> dict[str, JsonValue]:
    """Schema extra bounding a field by a setting (filled in by ``server.apischema``)."""
    return {"x-settings-maximum": setting}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ProblemSpec(Strict):
    """One of: a named surface (with its params), a typed formula, or a network."""

    surface: str | None = Field(default=None, max_length=64)
    params: dict[str, Number] = Field(default_factory=dict, max_length=MAX_PARAMS)
    expression: str | None = Field(default=None, max_length=100_000)
    network: dict[str, Any] | None = None
    regression: dict[str, Any] | None = None

    @model_validator(mode="after")
    def one_kind(self) -> ProblemSpec:
        kinds = ("surface", "expression", "network", "regression")
        if sum(getattr(self, k) is not None for k in kinds) != 1:
            raise ValueError("give exactly one of surface, expression, network or regression")
        return self


class ChangeSpec(Strict):
    """A live change of a run, replayed: update number ``step`` is the first computed with it
    (the ``step`` of the ``set``'s ack)."""

    step: StrictInt = Field(ge=1)
    hyper: dict[str, HyperValue] = Field(default_factory=dict, max_length=MAX_PARAMS)
    schedule: dict[str, Any] | None = None  # given as null: back to a constant rate
    noise: Number | None = Field(default=None, ge=0.0, le=1e3)


MAX_CHANGES = 256


class RunSpec(Strict):
    id: RunId
    optimizer: str = Field(max_length=32)
    hyper: dict[str, HyperValue] = Field(default_factory=dict, max_length=MAX_PARAMS)
    start: Point | None = None
    schedule: dict[str, Any] | None = None
    noise: Number = Field(default=0.0, ge=0.0, le=1e3)
    changes: list[ChangeSpec] = Field(default_factory=list, max_length=MAX_CHANGES)


class TrajectoryRequest(Strict):
    surface: str | None = Field(default=None, max_length=64)
    surface_params: dict[str, Number] = Field(default_factory=dict, max_length=MAX_PARAMS)
    expression: str | None = Field(default=None, max_length=100_000)
    optimizer: str = Field(default="sgd", max_length=32)
    hyper: dict[str, HyperValue] = Field(default_factory=dict, max_length=MAX_PARAMS)
    schedule: dict[str, Any] | None = None
    start: Point | None = None
    steps: WholeNumber = Field(
        default=500, ge=0, json_schema_extra=settings_maximum("max_trajectory_steps")
    )
    noise: Number = Field(default=0.0, ge=0.0, le=1e3)
    seed: WholeNumber = Field(default=0, ge=0, le=2**32 - 1)
    until: Literal["converged", "max_steps"] = Field(
        default="converged",
        description=(
            "converged: the run stops at the first step whose gradient norm is at most 1e-8 "
            "and whose step is negligible next to the point (status converged); max_steps: "
            "it goes on to `steps` regardless (status finished). Either way it stops at the "
            "first non-finite value (status diverged)."
        ),
    )


class ExpressionGridRequest(Strict):
    expression: str = Field(max_length=100_000)
    n: WholeNumber = Field(default=120, ge=2, json_schema_extra=settings_maximum("max_grid"))
    domain: tuple[Bounded, Bounded] | None = Field(
        default=None,
        description="[[x0, x1], [y0, y1]] with x0 < x1 and y0 < y1 (default: the formula's own)",
        json_schema_extra={"x-gradscape-rules": ["x0 < x1", "y0 < y1"]},
    )


class RegressionRequest(Strict):
    regression: dict[str, Any] = Field(default_factory=dict)
    n: WholeNumber = Field(default=80, ge=2, json_schema_extra=settings_maximum("max_grid"))
