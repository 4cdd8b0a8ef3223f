"""Response shape of ``POST /api/parity`` (``server/inside/parity.py``, ``server/libraries``)."""

from __future__ import annotations

from typing import Any

JsonSchema = dict[str, Any]

_POINTS: JsonSchema = {
    "type": "array",
    "items": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
    "description": "[x, y, loss] per step; points[0] is the start.",
}
_PATH: JsonSchema = {
    "type": "object",
    "properties": {
        "points": _POINTS,
        "max_diff": {
            "type": "number",
            "minimum": 0,
            "description": "Largest |x - x_ours| or |y - y_ours| over the steps both paths have.",
        },
        "notes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The library call, and where its defaults or variants differ from "
            "ours with the difference they make (measured).",
        },
    },
    "required": ["points", "max_diff", "notes"],
    "additionalProperties": False,
}
_UNAVAILABLE: JsonSchema = {
    "type": "object",
    "properties": {
        "unavailable": {
            "type": "string",
            "description": "Why there is no path: not installed, no exact counterpart, or failed.",
        }
    },
    "required": ["unavailable"],
    "additionalProperties": False,
}
_LIBRARY: JsonSchema = {"oneOf": [_PATH, _UNAVAILABLE]}
PARITY: JsonSchema = {
    "type": "object",
    "properties": {
        "ours": {
            "type": "object",
            "properties": {
                "points": _POINTS,
                "status": {"enum": ["finished", "converged", "diverged"]},
                "steps": {"type": "integer", "minimum": 0},
            },
            "required": ["points", "status", "steps"],
        },
        "libraries": {
            "type": "object",
            "properties": {"torch": _LIBRARY, "optax": _LIBRARY, "keras": _LIBRARY},
            "required": ["torch", "optax", "keras"],
            "additionalProperties": False,
        },
    },
    "required": ["ours", "libraries"],
}
