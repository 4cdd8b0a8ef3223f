"""The one exception a user's formula can raise."""

from __future__ import annotations


class ExpressionError(ValueError):
    """A formula was refused; ``message`` says why in words a student understands.

    ``position`` is the 0-based character offset in the text the user typed of the token at fault
    (so the page can point at it), or ``None`` when the fault is the formula as a whole.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __repr__(self) -> str:
        return f"ExpressionError({self.message!r}, {self.position!r})"
