"""Response shapes of the analysis routes (``server/analysis``): basin maps, sweeps, tuning."""

from __future__ import annotations

from typing import Any

JsonSchema = dict[str, Any]

_NUMBERS: JsonSchema = {"type": "array", "items": {"type": "number"}}
_MAYBE_NUMBER: JsonSchema = {"type": ["number", "null"]}
_MAYBE_STEP: JsonSchema = {"type": ["integer", "null"], "minimum": 0}
_MINIMA: JsonSchema = {
    "type": "array",
    "items": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
    "description": "The problem's listed minima, [x, y, f] each (none for a formula).",
}
_MINIMUM_ROWS: JsonSchema = {
    "type": "array",
    "items": {"type": "array", "items": {"type": "integer", "minimum": -2}},
    "description": "minimum[i][j], for the run from (x[j], y[i]): the index in `minima` of the "
    "minimum within tol of its last point, -1 for none, -2 if it diverged.",
}
_STEP_ROWS: JsonSchema = {
    "type": "array",
    "items": {"type": "array", "items": _MAYBE_STEP},
    "description": "steps[i][j]: the first step from which that run stayed within tol of its "
    "minimum (null where minimum is -1 or -2).",
}

BASIN: JsonSchema = {
    "type": "object",
    "properties": {
        "x": _NUMBERS,
        "y": _NUMBERS,
        "minimum": _MINIMUM_ROWS,
        "steps": _STEP_ROWS,
        "minima": _MINIMA,
    },
    "required": ["x", "y", "minimum", "steps", "minima"],
    "additionalProperties": False,
}

BASIN_LINE: JsonSchema = {
    "description": "One JSON object a line: first the head (`x`, `y`, `minima`, `rows`), then "
    "blocks of whole grid rows from row `row` on, with `done` the fraction of rows sent.",
    "oneOf": [
        {
            "title": "head",
            "type": "object",
            "properties": {
                "x": _NUMBERS,
                "y": _NUMBERS,
                "minima": _MINIMA,
                "rows": {"type": "integer", "minimum": 2},
            },
            "required": ["x", "y", "minima", "rows"],
            "additionalProperties": False,
        },
        {
            "title": "block",
            "type": "object",
            "properties": {
                "row": {"type": "integer", "minimum": 0},
                "minimum": _MINIMUM_ROWS,
                "steps": _STEP_ROWS,
                "done": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            },
            "required": ["row", "minimum", "steps", "done"],
            "additionalProperties": False,
        },
    ],
}
BASIN_STREAM: JsonSchema = {
    "description": "The map as NDJSON, computed block by block (stops when the client leaves).",
    "content": {"application/x-ndjson": {"schema": BASIN_LINE}},
}

SWEEP: JsonSchema = {
    "type": "object",
    "properties": {
        "lr": _NUMBERS,
        "final_loss": {
            "type": "array",
            "items": _MAYBE_NUMBER,
            "description": "The loss of each run's last finite point (null if the start's "
            "loss is not finite).",
        },
        "diverged": {"type": "array", "items": {"type": "boolean"}},
        "steps_to_tol": {
            "type": "array",
            "items": _MAYBE_STEP,
            "description": "The first step from which the loss stayed within tol of the lowest "
            "listed minimum (null: never, or no minimum listed).",
        },
        "diverged_at": {"type": "array", "items": _MAYBE_STEP},
        "edge": {
            **_MAYBE_NUMBER,
            "description": "The smallest swept lr whose run diverged or ended above its "
            "starting loss (null: none did).",
        },
        "predicted_edge": {
            "description": "The local stability limit at the start, where the optimizer has one.",
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {
                        "lr": {"type": "number", "exclusiveMinimum": 0},
                        "lambda_max": {"type": "number"},
                        "formula": {"type": "string"},
                    },
                    "required": ["lr", "lambda_max", "formula"],
                    "additionalProperties": False,
                },
            ],
        },
    },
    "required": [
        "lr",
        "final_loss",
        "diverged",
        "steps_to_tol",
        "diverged_at",
        "edge",
        "predicted_edge",
    ],
    "additionalProperties": False,
}

_ROW: JsonSchema = {
    "type": "object",
    "properties": {
        "optimizer": {"type": "string"},
        "hyper": {
            "type": "object",
            "additionalProperties": {"type": "number"},
            "description": "The tuned values: lr, and with second the main other one.",
        },
        "score": {
            **_MAYBE_NUMBER,
            "description": "The criterion's value of the best trial (mean over the starts; "
            "null if every trial diverged under final_loss).",
        },
        "steps_to_tol": {"type": "array", "items": _MAYBE_STEP},
        "reached": {"type": "integer", "minimum": 0},
        "final_loss": _MAYBE_NUMBER,
        "loss_gap": _MAYBE_NUMBER,
        "distance": _MAYBE_NUMBER,
        "diverged": {"type": "boolean"},
        "diverged_trials": {"type": "integer", "minimum": 0},
        "trials": {"type": "integer", "minimum": 1},
        "rank": {"type": "integer", "minimum": 1},
    },
    "required": [
        "optimizer",
        "hyper",
        "score",
        "steps_to_tol",
        "reached",
        "final_loss",
        "loss_gap",
        "distance",
        "diverged",
        "diverged_trials",
        "trials",
        "rank",
    ],
    "additionalProperties": False,
}
_COUNT: JsonSchema = {"type": "integer", "minimum": 1}
TUNE: JsonSchema = {
    "type": "object",
    "properties": {
        "criterion": {"enum": ["steps", "final_loss"]},
        "tol": {"type": "number"},
        "budget": {
            "type": "object",
            "properties": {
                "trials": _COUNT,
                "steps": _COUNT,
                "starts": _COUNT,
                "runs": _COUNT,
                "updates": _COUNT,
            },
            "required": ["trials", "steps", "starts", "runs", "updates"],
            "additionalProperties": False,
            "description": "What each optimizer got: trials x starts runs of steps updates.",
        },
        "starts": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        },
        "tuned": {"type": "object", "additionalProperties": {"type": "object"}},
        "leaderboard": {"type": "array", "items": _ROW, "minItems": 1},
    },
    "required": ["criterion", "tol", "budget", "starts", "tuned", "leaderboard"],
    "additionalProperties": False,
}
