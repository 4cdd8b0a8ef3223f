"""Sharing helpers: the QR code of a link, drawn as SVG by segno on this server (no internet)."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Query, Request, Response

from server.errors import FieldError

router = APIRouter(prefix="/api")

MAX_QR_TEXT = 2_000
"""Longest text (in characters) a QR code is drawn for: a long race link still fits a phone scan."""

QR_BORDER = 4
"""Quiet zone around the symbol, in modules (the QR standard asks for four)."""


def qr_svg(text: str) -> bytes:
    """The QR code of `text` as an SVG with a viewBox (it scales to its box), black on white.

    Error correction M (15% of the modules may be lost), raised by segno to the highest level
    that fits the same version; byte mode for anything that is not plain digits or upper case.
    """
    try:
        code = segno.make(text, error="m", micro=False)
    except segno.DataOverflowError:
        raise FieldError("text", "text is too long for a QR code") from None
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        border=QR_BORDER,
        xmldecl=False,
        omitsize=True,
        title="QR code",
        dark="#000000",
        light="#ffffff",
        svgclass=None,
        lineclass=None,
    )
    return out.getvalue()


QR_CHARACTERS = "[ -~\u00a0-\u00ff]"
"""Printable Latin-1: one byte each in a QR code, so MAX_QR_TEXT of them always fit."""
_QR_TEXT = re.compile(f"{QR_CHARACTERS}*")

SVG = {"content": {"image/svg+xml": {"schema": {"type": "string"}}}, "description": "The code"}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: SVG,
    304: {"description": "Not modified: the ETag sent in If-None-Match is this text's"},
}


@router.get("/qr", response_class=Response, responses=RESPONSES)
def qr(
    request: Request,
    text: Annotated[
        str,
        Query(
            description="What the code holds: a link (percent-encoded) or other printable "
            "Latin-1 text",
            json_schema_extra={
                "minLength": 1,
                "maxLength": MAX_QR_TEXT,
                "pattern": f"^{QR_CHARACTERS}+$",
            },
        ),
    ],
) -> Response:
    """The QR code of a link (or any text up to MAX_QR_TEXT characters) as image/svg+xml."""
    if not text:
        raise FieldError("text", "text must not be empty")
    if len(text) > MAX_QR_TEXT:
        raise FieldError("text", f"text has {len(text)} characters; the limit is {MAX_QR_TEXT}")
    if not _QR_TEXT.fullmatch(text):
        bad = next(c for c in text if not _QR_TEXT.fullmatch(c))
        raise FieldError(
            "text",
            f"text holds {bad!r}: only printable Latin-1 characters fit (percent-encode a link)",
        )
    etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(qr_svg(text), media_type="image/svg+xml", headers=headers)
