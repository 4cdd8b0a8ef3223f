"""Command line: ``gradscape serve`` (also ``python -m server serve``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn
from pydantic import ValidationError

from server.errors import FieldError, from_validation
from server.jsonenc import dumps_text
from server.schemas import TrajectoryRequest
from server.settings import Settings
from server.trajectory import trajectory

# Frames above this are refused by the websocket protocol itself (close code 1009); the session
# answers messages between the app limit (64 KiB) and this one with an error and stays open.
PROTOCOL_MAX_BYTES = 1024 * 1024
# Websocket options of every server we run (the benchmark's bare reference server too).
UVICORN_WS_OPTIONS: dict[str, Any] = {
    "ws": "websockets-sansio",
    "ws_per_message_deflate": False,  # compression cost 7x the CPU per client (GUIDE 3)
    "ws_max_size": PROTOCOL_MAX_BYTES,
    "ws_ping_interval": 20.0,
    "ws_ping_timeout": 20.0,
    "timeout_graceful_shutdown": 3,
}


def uvicorn_config(
    settings: Settings, host: str, port: int, log_level: str = "info"
) -> uvicorn.Config:
    """The uvicorn configuration every entry point uses: websockets without compression."""
    from server.app import create_app

    return uvicorn.Config(
        create_app(settings), host=host, port=port, log_level=log_level, **UVICORN_WS_OPTIONS
    )


def serve(args: argparse.Namespace) -> int:
    # Hand the GIL back to the event loop sooner while a training runs in the worker thread.
    sys.setswitchinterval(0.001)
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


def _value(text: str) -> float | bool:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return float(text)


def export(args: argparse.Namespace) -> int:
    """Print one run's path as JSON (the body of POST /api/trajectory) or CSV."""
    hyper: dict[str, float | bool] = {}
    for item in args.hyper:
        name, _, raw = item.partition("=")
        try:
            hyper[name] = _value(raw)
        except ValueError:
            print(f"--hyper {item}: expected NAME=NUMBER", file=sys.stderr)
            return 2
    try:
        body = TrajectoryRequest(
            surface=None if args.expression else args.surface,
            expression=args.expression,
            optimizer=args.optimizer,
            hyper=hyper,
            start=tuple(args.start) if args.start else None,
            steps=args.steps,
            noise=args.noise,
            seed=args.seed,
        )
        result = trajectory(body, Settings().max_trajectory_steps)
    except ValidationError as exc:
        err = from_validation(exc)
        print(f"error: {err.message}", file=sys.stderr)
        return 2
    except FieldError as exc:
        print(f"error: {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    if args.format == "csv":
        print("step,x,y,loss")
        for k, (x, y, loss) in enumerate(result["points"]):
            print(f"{k},{float(x)!r},{float(y)!r},{float(loss)!r}")
    else:
        print(dumps_text(result))
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
    out = sub.add_parser("export", help="compute one run offline and print its path")
    out.add_argument("--surface", default="rosenbrock")
    out.add_argument("--expression", help="a formula in x and y instead of --surface")
    out.add_argument("--optimizer", default="adam")
    out.add_argument("--hyper", action="append", default=[], metavar="NAME=VALUE")
    out.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"))
    out.add_argument("--steps", type=int, default=500)
    out.add_argument("--noise", type=float, default=0.0)
    out.add_argument("--seed", type=int, default=0)
    out.add_argument("--format", choices=["json", "csv"], default="json")
    out.set_defaults(func=export)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
