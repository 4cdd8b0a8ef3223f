"""``GET /api/export``: the race of a URL-hash state as a downloadable file."""

from __future__ import annotations

import gzip
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from server.export import export_hash
from server.export.files import FORMATS, MEDIA_TYPES, ExportFile, check_format
from server.settings import Settings

router = APIRouter(prefix="/api")
MAX_STATE_CHARS = 5_000
"""Longest state: percent-encoded into a query it stays below the HTTP server's 16 KiB line."""
STATE_CHARACTERS = "[ -~]"
"""A URL hash is printable ASCII (the page percent-encodes everything else)."""


def _file(media_type: str) -> dict[str, Any]:
    kind = media_type.split(";")[0]
    if kind == "application/json" or kind.endswith("+json"):  # the notebook is JSON too
        return {"schema": {"type": "object"} if kind.endswith("+json") else {}}
    return {"schema": {"type": "string", "format": "binary"}}


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment (Content-Disposition names it)",
        "content": {t.split(";")[0]: _file(t) for t in MEDIA_TYPES.values()},
    }
}


@router.get("/export", response_class=Response, responses=RESPONSES)
async def export(
    request: Request,
    state: Annotated[
        str,
        Query(
            max_length=MAX_STATE_CHARS,
            pattern=f"^{STATE_CHARACTERS}*$",
            description="The page's URL hash (with or without '#'), e.g. "
            "`surface=himmelblau&run=adam,lr:0.05`",
        ),
    ] = "",
    format: Annotated[str, Query(json_schema_extra={"enum": list(FORMATS)})] = "html",
) -> Response:
    """The file, as an attachment; 422 ``{message, field}`` naming the bad hash field."""
    settings: Settings = request.app.state.settings
    check_format(format)
    text = state.removeprefix("#")
    link = f"{str(request.base_url).rstrip('/')}/#{text}"
    gzipped = format != "gif" and "gzip" in request.headers.get("accept-encoding", "")

    def make() -> tuple[bytes, ExportFile]:
        file = export_hash(
            text,
            format,
            max_steps=settings.max_trajectory_steps,
            max_runs=settings.max_runs,
            link=link,
        )
        return (gzip.compress(file.content, compresslevel=6) if gzipped else file.content), file

    # Computing, drawing and compressing take up to seconds: in a worker thread, so the event
    # loop keeps the live sessions' pace (the gzip middleware leaves encoded responses alone).
    content, file = await run_in_threadpool(make)
    headers = {"Content-Disposition": f'attachment; filename="{file.filename}"'}
    if gzipped:
        headers |= {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return Response(content, media_type=file.media_type, headers=headers)
