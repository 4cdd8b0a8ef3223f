"""The FastAPI application: routes, static files, error format and headers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from server import __version__, apischema, heap
from server.errors import FieldError, from_errors
from server.jsonenc import ORJSONResponse
from server.live.broker import Broker, InProcessBroker
from server.live.session import TASK_PREFIX, Session
from server.routes import api, assets, pages, ws
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


class FrameAncestors:
    """Allow embedding per settings with CSP frame-ancestors (never X-Frame-Options)."""

    def __init__(self, app: ASGIApp, value: str) -> None:
        self.app = app
        self.header = (b"content-security-policy", f"frame-ancestors {value}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], self.header]
            await send(message)

        await self.app(scope, receive, with_header)


def make_broker(settings: Settings) -> Broker:
    """Rooms in this process, or across workers through Redis when ``redis_url`` is set."""
    if settings.redis_url is None:
        return InProcessBroker()
    from server.live.broker_redis import RedisBroker

    return RedisBroker(settings.redis_url)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    broker = make_broker(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await broker.start()
        # The first request to a sync route would otherwise import anyio's backend and start
        # its thread pool (15 ms), then pay for collecting every start-up object (heap.py).
        await anyio.to_thread.run_sync(lambda: None)
        heap.settle()
        try:
            yield
        finally:
            await broker.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Gradscape",
        version=__version__,
        summary="Optimizers from scratch, streamed live to a Plotly page.",
        default_response_class=ORJSONResponse,
        docs_url=None,  # served below from local files: no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sessions = set[Session]()
    app.state.broker = broker

    @app.exception_handler(FieldError)
    async def field_error(_: Request, exc: FieldError) -> ORJSONResponse:
        return ORJSONResponse(exc.to_json(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:  # a body that is not UTF-8 text: FastAPI cannot read it
            body = {"message": f"the body cannot be read as JSON: {exc.detail}", "field": "body"}
            return ORJSONResponse(body, status_code=400)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> ORJSONResponse:
        errors = exc.errors()
        body = from_errors(errors).to_json()
        body["detail"] = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": e.get("type")}
            for e in errors
        ]
        return ORJSONResponse(body, status_code=422)

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        """Liveness, with the number of open sessions and of their running tasks."""
        tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith(TASK_PREFIX)]
        return {
            "status": "ok",
            "version": __version__,
            "sessions": len(app.state.sessions),
            "session_tasks": len(tasks),
            "tasks": len(asyncio.all_tasks()),
            "worker": os.getpid(),
            "rooms": "redis" if settings.redis_url else "memory",
        }

    app.include_router(api.router)
    from server.routes import share  # QR codes for the share dialog

    app.include_router(share.router)
    from server.routes import export  # GET /api/export (issue 7, part 4)

    app.include_router(export.router)
    from server.routes import inside  # source, PyTorch code, parity, backprop (issue 13)

    app.include_router(inside.router)
    from server.routes import analysis  # basin maps, lr sweeps, tuning (issue 15)

    app.include_router(analysis.router)
    app.include_router(ws.router)
    app.include_router(pages.router)
    app.include_router(assets.router_for(ROOT / "static"))
    app.mount("/vendor/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Gradscape API",
            swagger_js_url="/vendor/swagger/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger/favicon-32x32.png",
        )

    apischema.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(FrameAncestors, value=settings.frame_ancestors)
    return app


def worker_app() -> FastAPI:
    """The app of one worker of ``gradscape serve --workers N`` (settings from the environment)."""
    from server.__main__ import tune_runtime

    tune_runtime()
    return create_app()


app = create_app()
