"""The page's own files (``static/``) served from memory, each read and gzipped once.

The page loads about ninety small ES modules on its first visit. Served by ``StaticFiles``, each
cost a file read in a worker thread and a compression per request, and their turns on the event
loop held back plotly.js, which the first contour waits for (``bench/page_bench.py``). Here a
request costs a ``stat`` (a file edited on disk is read again) and a dictionary lookup. Every
response carries an ETag and ``Cache-Control: no-cache``: a browser revalidates (a 304) and so
never runs a stale module after an upgrade.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response

MIN_GZIP = 1024  # smaller files go as they are (as GZipMiddleware's minimum_size)
TYPES = {".js": "text/javascript", ".css": "text/css", ".woff2": "font/woff2", ".md": "text/plain"}


@dataclass(frozen=True)
class _File:
    stamp: tuple[int, int]  # mtime_ns, size
    raw: bytes
    gzipped: bytes | None
    etag: str
    media_type: str


class Assets:
    """The files under ``directory``, cached by path."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self._files: dict[str, _File] = {}

    def get(self, path: str) -> _File | None:
        """The file at ``path`` (relative, ``/``-separated), or None if there is none there."""
        target = (self.directory / path).resolve()
        if not target.is_relative_to(self.directory):
            return None
        try:
            info = target.stat()
        except OSError:
            return None
        if not target.is_file():
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        cached = self._files.get(path)
        if cached is None or cached.stamp != stamp:
            cached = self._files[path] = _read(target, stamp)
        return cached

    def response(self, request: Request, path: str) -> Response:
        file = self.get(path)
        if file is None:
            raise HTTPException(404, f"No file /static/{path}.")
        headers = {"ETag": file.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == file.etag:
            return Response(status_code=304, headers=headers)
        body = file.raw
        if file.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            body = file.gzipped
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=200, headers=headers, media_type=file.media_type)
        return Response(body, headers=headers, media_type=file.media_type)


def _read(target: Path, stamp: tuple[int, int]) -> _File:
    raw = target.read_bytes()
    gzipped = gzip.compress(raw, compresslevel=9, mtime=0) if len(raw) >= MIN_GZIP else None
    media_type = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
    etag = f'"{hashlib.sha256(raw).hexdigest()[:16]}"'
    return _File(stamp, raw, gzipped, etag, media_type or "application/octet-stream")


def router_for(directory: Path) -> APIRouter:
    assets = Assets(directory)
    router = APIRouter()

    @router.api_route("/static/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def static_file(request: Request, path: str) -> Response:
        return assets.response(request, path)

    return router
