"""Response shapes: the error every route answers, and the bodies of the JSON routes."""

from __future__ import annotations

from typing import Any

from server.apischema.analysis import BASIN, SWEEP, TUNE
from server.apischema.backprop import BACKPROP
from server.apischema.parity import NETWORK_PARITY, PARITY

JsonSchema = dict[str, Any]

ERROR: JsonSchema = {
    "title": "Error",
    "type": "object",
    "description": "Bad input: `message` says what is wrong, `field` names it "
    "(`runs[0].hyper.lr`, `expression`; empty when the request as a whole is wrong).",
    "properties": {
        "message": {"type": "string"},
        "field": {"type": "string"},
        "position": {
            "type": "integer",
            "description": "Character offset in a formula, where the problem is.",
        },
        "detail": {
            "type": "array",
            "description": "Every error found in the request, as pydantic reports them.",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
                "required": ["loc", "msg", "type"],
            },
        },
    },
    "required": ["message", "field"],
}
ERROR_REF: JsonSchema = {"$ref": "#/components/schemas/Error"}


def error_response(description: str) -> JsonSchema:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


UNPROCESSABLE = error_response("The request is well-formed but a value is wrong.")
BAD_BODY = error_response("The body is not text in UTF-8 (it cannot be read as JSON at all).")

_NUMBERS: JsonSchema = {"type": "array", "items": {"type": "number"}}
_NULLABLE_ROWS: JsonSchema = {
    "type": "array",
    "items": {"type": "array", "items": {"type": ["number", "null"]}},
    "description": "z[i][j] = f(x[j], y[i]); null where the value is not finite.",
}
GRID: JsonSchema = {
    "type": "object",
    "properties": {"x": _NUMBERS, "y": _NUMBERS, "z": _NULLABLE_ROWS},
    "required": ["x", "y", "z"],
}
TRAJECTORY: JsonSchema = {
    "type": "object",
    "properties": {
        "points": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
            "description": "[x, y, loss] per step; points[0] is the start.",
        },
        "status": {"enum": ["finished", "converged", "diverged"]},
        "steps": {"type": "integer", "minimum": 0},
    },
    "required": ["points", "status", "steps"],
}
_DOMAIN: JsonSchema = {
    "type": "array",
    "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    "minItems": 2,
    "maxItems": 2,
}
SURFACES: JsonSchema = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "title": {"type": "string"},
            "formula": {"type": "string"},
            "domain": _DOMAIN,
            "minima": {"type": "array", "items": _NUMBERS},
            "start": _NUMBERS,
            "params": {"type": "object"},
        },
        "required": ["name", "title", "formula", "domain", "minima", "start", "params"],
    },
}
SPECS: JsonSchema = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "title": {"type": "string"}},
        "required": ["name", "title"],
    },
}
EXPRESSION_GRID: JsonSchema = {
    **GRID,
    "properties": {**GRID["properties"], "domain": _DOMAIN},
    "required": ["x", "y", "z", "domain"],
}

JSON_BODIES: dict[tuple[str, str], JsonSchema] = {
    ("get", "/api/surfaces"): SURFACES,
    ("get", "/api/surfaces/{name}/grid"): GRID,
    ("get", "/api/optimizers"): SPECS,
    ("get", "/api/schedules"): SPECS,
    ("post", "/api/trajectory"): TRAJECTORY,
    ("post", "/api/expression/grid"): EXPRESSION_GRID,
    ("get", "/api/expression/examples"): {"type": "array"},
    ("post", "/api/basin"): BASIN,
    ("post", "/api/sweep"): SWEEP,
    ("post", "/api/tune"): TUNE,
    ("post", "/api/backprop"): BACKPROP,
    ("post", "/api/parity"): PARITY,
    ("post", "/api/parity/network"): NETWORK_PARITY,
}
"""The 200 body of each JSON route this package describes (others keep their own models)."""
