"""Example formulas for the page: each parses, and its start is inside its domain."""

from __future__ import annotations

from typing import Any

EXAMPLES: list[dict[str, Any]] = [
    {
        "title": "Egg crate",
        "expression": "sin(x)*cos(y) + 0.1*(x^2 + y^2)",
        "domain": [[-5, 5], [-5, 5]],
        "start": [3.5, 2.5],
    },
    {
        "title": "Banana valley",
        "expression": "(1 - x)^2 + 100*(y - x^2)^2",
        "domain": [[-2, 2], [-1, 3]],
        "start": [-1.5, 2.0],
    },
    {
        "title": "Double well (a local and a global minimum)",
        "expression": "(x^2 - 1)^2 + y^2 + 0.3*x",
        "domain": [[-2, 2], [-2, 2]],
        "start": [1.8, 1.5],
    },
    {
        "title": "Cone (a kink at the bottom)",
        "expression": "hypot(x, 3*y)",
        "domain": [[-3, 3], [-3, 3]],
        "start": [2.5, 0.8],
    },
    {
        "title": "Log barrier (undefined outside the circle)",
        "expression": "x^2 + y^2 - log(4 - x^2 - y^2)",
        "domain": [[-2.2, 2.2], [-2.2, 2.2]],
        "start": [1.2, 1.0],
    },
    {
        "title": "Ripples in a bowl",
        "expression": "0.5*(x^2 + y^2) - cos(3*x)*cos(3*y)",
        "domain": [[-3, 3], [-3, 3]],
        "start": [2.4, -1.7],
    },
    {
        "title": "Soft hinge",
        "expression": "softplus(4*(x - y)) + 0.2*(x + y)^2",
        "domain": [[-3, 3], [-3, 3]],
        "start": [2.5, -2.0],
    },
]
