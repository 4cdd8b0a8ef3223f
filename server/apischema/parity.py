"""Response shapes of ``POST /api/parity`` (``server/inside/parity.py``, ``server/libraries``) and
of ``POST /api/parity/network``."""

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

_SERIES: JsonSchema = {"type": "array", "items": {"type": ["number", "null"]}}
_NETWORK_PATH: JsonSchema = {
    "type": "object",
    "properties": {
        "diff": {
            **_SERIES,
            "description": "Per step both have, the largest |w - w_ours| over the weights.",
        },
        "max_diff": {"type": "number", "minimum": 0, "description": "The largest of `diff`."},
        "loss": {**_SERIES, "description": "The training objective at the library's weights."},
        "notes": _PATH["properties"]["notes"],
    },
    "required": ["diff", "max_diff", "loss", "notes"],
    "additionalProperties": False,
}
_NETWORK_LIBRARY: JsonSchema = {"oneOf": [_NETWORK_PATH, _UNAVAILABLE]}
NETWORK_PARITY: JsonSchema = {
    "type": "object",
    "properties": {
        "ours": {
            "type": "object",
            "properties": {
                "loss": {**_SERIES, "description": "Our training objective per step."},
                "status": {"enum": ["finished", "diverged"]},
                "steps": {"type": "integer", "minimum": 0},
                "weights": {"type": "integer", "minimum": 1, "description": "The network's."},
            },
            "required": ["loss", "status", "steps", "weights"],
        },
        "libraries": {
            "type": "object",
            "properties": {name: _NETWORK_LIBRARY for name in ("torch", "optax", "keras")},
            "required": ["torch", "optax", "keras"],
            "additionalProperties": False,
        },
    },
    "required": ["ours", "libraries"],
}
"""``POST /api/parity/network`` (``server/inside/network_parity.py``)."""
