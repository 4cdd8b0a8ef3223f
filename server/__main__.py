"""Command line: ``gradscape serve`` (also ``python -m server serve``)."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import uvicorn
from pydantic import ValidationError
from starlette.types import ASGIApp

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


def uvicorn_config(app: ASGIApp, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """The uvicorn configuration every server uses: websockets without compression."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, **UVICORN_WS_OPTIONS)


def run(config: uvicorn.Config) -> None:
    """Run a server the way every server is run here (the benchmarks' bare servers too)."""
    tune_runtime()
    uvicorn.Server(config).run()


def tune_runtime() -> None:
    """Interpreter settings of every server we run."""
    # Hand the GIL back to the event loop sooner while a training runs in the worker thread.
    sys.setswitchinterval(0.001)
    # Hundreds of streaming sessions allocate fast, and every collection of the older
    # generations walks all their objects while every frame waits. Fewer, larger collections:
    # bench/ws_bench.py at 500 sessions went from 88% to 99% of frames delivered (same code,
    # default thresholds (700, 10, 10) against these). Reference cycles are still collected.
    gc.set_threshold(50_000, 20, 100)


def serve(args: argparse.Namespace) -> int:
    from server.app import create_app

    settings = Settings(host=args.host, port=args.port)
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and settings.redis_url is None:
        print(
            "error: --workers needs GRADSCAPE_REDIS_URL (e.g. redis://127.0.0.1:6379/0): "
            "a lecture room's viewers may land on any worker, so rooms go through Redis",
            file=sys.stderr,
        )
        return 2
    shown = f"[{args.host}]" if ":" in args.host else args.host
    if args.host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    print(
        f"Gradscape {__import__('server').__version__}: open http://{shown}:{args.port}", flush=True
    )
    if args.workers > 1:
        # Each worker builds its app from the environment: pass the command line's choices on.
        os.environ["GRADSCAPE_HOST"], os.environ["GRADSCAPE_PORT"] = args.host, str(args.port)
        uvicorn.run(
            "server.app:worker_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            **UVICORN_WS_OPTIONS,
        )
        return 0
    run(uvicorn_config(create_app(settings), args.host, args.port, args.log_level))
    return 0


def _value(text: str) -> float | bool:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return float(text)


class ProgressBar:
    """``[#####.....] 1200/2000 steps`` on one line of a terminal, redrawn in place."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // total if total else self.width
        if filled == self.shown and done < total:
            return
        self.shown = filled
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r[{bar}] {done}/{total} steps{end}")
        self.stream.flush()


def export_from_state(args: argparse.Namespace) -> int:
    """Write the race of a URL-hash state as html, csv, json or gif, or as the code that
    reproduces it (numpy, torch, jax, keras, ipynb), to -o FILE or stdout."""
    from server.export import export_hash

    settings = Settings()
    suffix = Path(args.output or "").suffix.lstrip(".").lower()
    by_suffix = {"html": "html", "csv": "csv", "json": "json", "gif": "gif", "ipynb": "ipynb"}
    fmt = args.format or by_suffix.get(suffix, "numpy" if suffix == "py" else "html")
    progress = ProgressBar(sys.stderr) if sys.stderr.isatty() and not args.quiet else None
    try:
        file = export_hash(
            args.state,
            fmt,
            max_steps=settings.max_trajectory_steps,
            max_runs=settings.max_runs,
            progress=progress,
        )
    except FieldError as exc:
        print(f"error: {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    if args.output in (None, "-"):
        sys.stdout.buffer.write(file.content)
        sys.stdout.flush()
        return 0
    try:
        with open(args.output, "wb") as out:
            out.write(file.content)
    except OSError as exc:
        print(f"error: -o {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({len(file.content):,} bytes)", file=sys.stderr)
    return 0


def export(args: argparse.Namespace) -> int:
    """With --state: the race of a page's link as a file. Without: print one run's path as JSON
    (the body of POST /api/trajectory) or CSV, from --surface, --optimizer and so on."""
    if args.state is not None:
        return export_from_state(args)
    args.format = args.format or "json"
    if args.format not in ("json", "csv") or args.output is not None:
        print(
            "error: --format html|gif|numpy|torch|jax|keras|ipynb and -o need --state '<url hash>'",
            file=sys.stderr,
        )
        return 2
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
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the port (more than 1 needs GRADSCAPE_REDIS_URL)",
    )
    run.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    run.set_defaults(func=serve)
    out = sub.add_parser(
        "export",
        help="export a race (--state '<url hash>') or compute one run offline",
        description="With --state, compute the race of a Gradscape link (the URL, or its hash) "
        "and write it as html, csv, json or gif, or as code that reproduces it: numpy, torch, "
        "jax (optax) or keras (a standalone script printing the csv; jax and keras leave out, "
        "on stderr, the runs their library cannot reproduce) or ipynb (a notebook with the "
        "numpy and torch scripts), to -o FILE "
        "(default stdout; a .py FILE means numpy); a progress bar "
        "goes to stderr when it is a terminal. Without --state, print one run's path as json "
        "or csv from the flags below.",
    )
    out.add_argument("--state", help="the page's URL hash (or the whole URL) to export")
    out.add_argument("-o", "--output", metavar="FILE", help="where to write (with --state)")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    out.add_argument("--surface", default="rosenbrock")
    out.add_argument("--expression", help="a formula in x and y instead of --surface")
    out.add_argument("--optimizer", default="adam")
    out.add_argument("--hyper", action="append", default=[], metavar="NAME=VALUE")
    out.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"))
    out.add_argument("--steps", type=int, default=500)
    out.add_argument("--noise", type=float, default=0.0)
    out.add_argument("--seed", type=int, default=0)
    out.add_argument(
        "--format",
        choices=["json", "csv", "html", "gif", "numpy", "torch", "jax", "keras", "ipynb"],
        help="with --state: default from -o's extension, else html; without: json",
    )
    out.set_defaults(func=export)
    from server.analysis.cli import register  # basin, sweep, tune

    register(sub)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
