"""Command line: ``gradscape serve`` (also ``python -m server serve``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from server.settings import Settings

# Frames above this are refused by the websocket protocol itself (close code 1009); the session
# answers messages between the app limit (64 KiB) and this one with an error and stays open.
PROTOCOL_MAX_BYTES = 1024 * 1024


def uvicorn_config(
    settings: Settings, host: str, port: int, log_level: str = "info"
) -> uvicorn.Config:
    """The uvicorn configuration every entry point uses: websockets without compression."""
    from server.app import create_app

    return uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level=log_level,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_max_size=PROTOCOL_MAX_BYTES,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        timeout_graceful_shutdown=3,
    )


def serve(args: argparse.Namespace) -> int:
    settings = Settings(host=args.host, port=args.port)
    config = uvicorn_config(settings, args.host, args.port, args.log_level)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    if args.host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    print(
        f"Gradscape {__import__('server').__version__}: open http://{shown}:{args.port}", flush=True
    )
    uvicorn.Server(config).run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gradscape", description="Live gradient-descent visualizer"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="start the web server")
    run.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    run.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    run.set_defaults(func=serve)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
