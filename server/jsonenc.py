"""JSON out through orjson: numpy arrays natively, NaN and Infinity never (they become null)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(obj: Any) -> bytes:
    """Encode; non-finite floats (including inside numpy arrays) are written as null."""
    return orjson.dumps(obj, option=_OPTIONS)


def dumps_text(obj: Any) -> str:
    return orjson.dumps(obj, option=_OPTIONS).decode()


class ORJSONResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
