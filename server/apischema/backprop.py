"""Response shape of ``POST /api/backprop`` (``server/inside/backprop.py``)."""

from __future__ import annotations

from typing import Any

JsonSchema = dict[str, Any]

_VALUE: JsonSchema = {"type": ["number", "null"]}
_VECTOR: JsonSchema = {"type": "array", "items": _VALUE}
_MATRIX: JsonSchema = {"type": "array", "items": _VECTOR}


def _object(props: JsonSchema) -> JsonSchema:
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


_LAYER = _object(
    {
        "weight": {**_MATRIX, "description": "W, (out, in)"},
        "bias": _VECTOR,
        "z": {**_VECTOR, "description": "W a_in + b"},
        "a": {**_VECTOR, "description": "f(z) (z for the last layer)"},
        "fprime": {"anyOf": [_VECTOR, {"type": "null"}], "description": "f'(z); null last"},
        "da": {**_VECTOR, "description": "dL/da"},
        "dz": {**_VECTOR, "description": "dL/dz"},
        "dweight": {**_MATRIX, "description": "dL/dW"},
        "dbias": {**_VECTOR, "description": "dL/db"},
    }
)
_CHAIN = _object(
    {
        "layer": {"type": "integer", "minimum": 0},
        "i": {"type": "integer", "minimum": 0},
        "j": {"type": "integer", "minimum": 0},
        "weight": _VALUE,
        "a_in": _VALUE,
        "dz": _VALUE,
        "fprime": _VALUE,
        "upstream": {
            **_MATRIX,
            "description": "[W'[k, i], dL/dz'_k] of the next layer (empty at the output)",
        },
        "grad": {**_VALUE, "description": "dL/dW[i, j] = dL/dz_i · a_j"},
    }
)
BACKPROP: JsonSchema = _object(
    {
        "sizes": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "activation": {"type": "string"},
        "loss_name": {"type": "string"},
        "sample": _object(
            {
                "index": {"type": "integer", "minimum": 0},
                "x": _VECTOR,
                "target": _VECTOR,
                "y": _VALUE,
            }
        ),
        "samples": {"type": "integer", "minimum": 2},
        "params": _VECTOR,
        "input": _object({"a": _VECTOR, "da": _VECTOR}),
        "layers": {"type": "array", "items": _LAYER},
        "loss": _object({"value": _VALUE, "dz": _VECTOR}),
        "grad": _VECTOR,
        "chains": {"type": "array", "items": _CHAIN},
        "update": _object(
            {
                "optimizer": {"type": "string"},
                "hyper": {"type": "object", "additionalProperties": {"type": "number"}},
                "params": _VECTOR,
                "loss": _VALUE,
            }
        ),
    }
)
