"""Custom surfaces typed by users: a safe parser and exact derivatives for formulas in x and y.

``parse_expression("sin(x)*cos(y) + 0.1*(x^2 + y^2)")`` gives an ``Expression`` (a ``Problem``)
or raises ``ExpressionError(message, position)``. Parsing goes through ``ast`` under an allow-list
with caps on length, node count and depth (``parse``); nothing is ever passed to ``eval``.
Derivatives are forward-mode second-order dual numbers over the same tree (``evaluate``).
"""

from server.problems.expression.errors import ExpressionError
from server.problems.expression.examples import EXAMPLES
from server.problems.expression.expression import (
    DEFAULT_DOMAIN,
    MAX_GRID_N,
    Domain,
    Expression,
    check_domain,
    parse_expression,
)
from server.problems.expression.functions import ALIASES, CONSTANTS, FUNCTION_NAMES
from server.problems.expression.parse import MAX_DEPTH, MAX_LENGTH, MAX_NODES

__all__ = [
    "ALIASES",
    "CONSTANTS",
    "DEFAULT_DOMAIN",
    "EXAMPLES",
    "FUNCTION_NAMES",
    "MAX_DEPTH",
    "MAX_GRID_N",
    "MAX_LENGTH",
    "MAX_NODES",
    "Domain",
    "Expression",
    "ExpressionError",
    "check_domain",
    "parse_expression",
]
