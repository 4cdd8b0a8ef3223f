"""One error type for bad input, carrying the path of the offending field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError


class FieldError(ValueError):
    """Bad input. ``field`` is a path like ``runs[0].hyper.lr``; ``position`` a character offset."""

    def __init__(self, field: str, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.position = position

    def __reduce__(self) -> tuple[type[FieldError], tuple[str, str, int | None]]:
        """Pickled with its field (the analysis's worker process raises these)."""
        return (FieldError, (self.field, self.message, self.position))

    def within(self, prefix: str) -> FieldError:
        """The same error with its field nested under ``prefix``."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return FieldError(field, self.message, self.position)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"message": self.message, "field": self.field}
        if self.position is not None:
            out["position"] = self.position
        return out


def field_path(loc: Sequence[int | str]) -> str:
    """``("runs", 0, "hyper", "lr")`` -> ``"runs[0].hyper.lr"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


_TYPE_TAGS = {"bool", "float", "int", "str", "dict", "list", "tuple", "none", "literal"}


def _readable(loc: Sequence[int | str]) -> str:
    """The field path without request sections and pydantic's union-member tags."""
    parts = [p for p in loc if p not in ("body", "query", "path")]
    parts = [p for p in parts if not (isinstance(p, str) and (p in _TYPE_TAGS or "[" in p))]
    return field_path(parts)


def from_errors(
    errors: Sequence[Mapping[str, Any]], prefix: Sequence[int | str] = ()
) -> FieldError:
    """A FieldError for the most telling of pydantic's errors (a non-finite number first)."""
    if not errors:
        return FieldError("", "invalid request")
    err = next((e for e in errors if e.get("type") == "finite_number"), errors[0])
    if err.get("type") == "json_invalid":  # loc is ("body", character offset)
        at = next((p for p in err.get("loc", ()) if isinstance(p, int)), None)
        where = f" (at character {at})" if at is not None else ""
        return FieldError("body", f"the body is not valid JSON{where}", at)
    field = _readable([*prefix, *err.get("loc", ())])
    msg = str(err.get("msg", "invalid value"))
    if err.get("type") == "finite_number":
        msg = "must be a finite number (NaN and Infinity are not allowed)"
    return FieldError(field, f"{field}: {msg}" if field else msg)


def from_validation(exc: ValidationError, prefix: Sequence[int | str] = ()) -> FieldError:
    return from_errors(exc.errors(include_url=False), prefix)
