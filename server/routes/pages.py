"""The page, its embeddable variant, and plotly.js served from the plotly wheel."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import plotly
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from server import __version__

ROOT = Path(__file__).resolve().parents[2]
templates = Jinja2Templates(directory=str(ROOT / "templates"))
router = APIRouter()
PLOTLY_PATH = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@dataclass(frozen=True)
class Asset:
    raw: bytes
    gzipped: bytes
    etag: str


@cache
def plotly_asset() -> Asset:
    raw = PLOTLY_PATH.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return Asset(raw, gzip.compress(raw, compresslevel=9, mtime=0), f'"{digest}"')


def plotly_url() -> str:
    return f"/vendor/plotly.min.js?v={plotly_asset().etag.strip(chr(34))}"


def _page(request: Request, name: str) -> HTMLResponse:
    context = {"plotly_url": plotly_url(), "version": __version__}
    return templates.TemplateResponse(request, name, context)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> HTMLResponse:
    return _page(request, "index.html")


@router.get("/embed", response_class=HTMLResponse, include_in_schema=False)
def embed(request: Request) -> HTMLResponse:
    name = "embed.html" if (ROOT / "templates" / "embed.html").exists() else "index.html"
    return _page(request, name)


@router.get("/vendor/plotly.min.js", include_in_schema=False)
def plotly_js(request: Request) -> Response:
    asset = plotly_asset()
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "public, max-age=31536000, immutable",
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type="text/javascript", headers=headers)
    return Response(asset.raw, media_type="text/javascript", headers=headers)
