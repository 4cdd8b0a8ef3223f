"""``GET /api/export``: the race of a URL-hash state as a downloadable file."""

from __future__ import annotations

import gzip
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from server.export import export_hash
from server.export.files import ExportFile, check_format
from server.settings import Settings

router = APIRouter(prefix="/api")
MAX_STATE_CHARS = 20_000


@router.get("/export")
async def export(
    request: Request,
    state: Annotated[str, Query(max_length=MAX_STATE_CHARS)] = "",
    format: Annotated[str, Query()] = "html",
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
