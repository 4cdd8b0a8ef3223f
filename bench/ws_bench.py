"""Live streaming under load: N concurrent race sessions vs a bare websocket server, same run.

For each N (default 50, 200, 1000) two phases run one after the other, each against its own
server process on 127.0.0.1:

- ``ours``: ``python -m server serve`` (``server.__main__.uvicorn_config``: websockets-sansio,
  permessage-deflate off) with ``GRADSCAPE_MAX_SESSIONS`` raised so every session fits. Each client
  sends a ``start`` with 4 runs on rosenbrock (adam, momentum, rmsprop, nesterov) at
  ``steps_per_second`` 60, so each 1/30 s frame carries about 2 new points per run, and
  ``max_steps`` 100,000 so no race ends during the phase.
- ``bare``: ``bench/bare_ws_server.py``, FastAPI + uvicorn with the same websocket options and
  interpreter settings (``server.__main__.tune_runtime``), sending each connection a pre-encoded
  frame of the byte size measured on ours at the start of the run, 30 times a second, and acking
  every ``set`` at once.

Besides the N streaming clients, ``--probes`` more sessions (also streaming and counted) send a
``set`` (adam's lr) every ~0.25 s during the window and time it to the matching ``ack``
(``bench/ws_load.py``). After all sessions stream, a warm-up, then a measurement window
(``bench/ws_phase.py``): delivered frames / (sessions x window x 30), the p99 of the intervals
between consecutive frames of a session, the ``set`` -> ``ack`` p50/p99 (a probe that waits more
than 2 s counts as infinitely late), and the server's CPU from /proc/<pid>/stat.

Targets (issue #16, ``bench/ws_report.py``): at 1,000 sessions >= 99% of frames delivered and a
p99 interval <= 50 ms; server CPU per delivered frame <= 1.5x the bare server's in the same run.
Server CPU per delivered frame is the figure least disturbed by other load, and the one the
CPU target is judged on (a server that drops frames spends less per session only by doing less).

The load generator (``--procs`` processes) runs on the same cores as the server; its CPU and the
rest of the machine's are printed, since they are not free. ``--pin`` puts the server on the last
core and the load generator on the others; on a shared machine ``--quiet-wait 60`` waits (up to
60 s before each phase) for other jobs to go quiet.

Run from the repository root: ``python -m bench.ws_bench [--clients 50,200,1000] [--seconds 10]``
(about 3-4 minutes with the defaults; every wait has a timeout, a watchdog ends the run, and the
server processes are killed on exit).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from bench.procs import (
    ServerProcess,
    code_version,
    free_port,
    launch,
    raise_fd_limit,
    stop,
    wait_for_quiet,
)
from bench.ws_load import FPS, PROBE_EVERY, READY_TIMEOUT, STEPS_PER_SECOND
from bench.ws_phase import Phase, measure_frame_bytes, run_phase
from bench.ws_report import QUIET_CORES, print_contention, print_table, print_targets


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="50,200,1000", help="streaming sessions per phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=3.0, help="after every session streams")
    parser.add_argument("--probes", type=int, default=10, help="extra sessions that send set")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument(
        "--pin", action="store_true", help="server on the last core, load on the rest"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="before each phase, wait up to this many seconds for other jobs to go quiet",
    )
    args = parser.parse_args(argv)
    args.ns = [int(v) for v in args.clients.split(",") if v.strip()]
    if not args.ns or min(args.ns) < 1 or args.seconds <= 0 or args.procs < 1 or args.probes < 0:
        parser.error("need --clients >= 1, --seconds > 0, --procs >= 1, --probes >= 0")
    return args


def on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def run_all(
    args: argparse.Namespace,
    started: list[ServerProcess],
    server_cpus: set[int],
    load_cpus: frozenset[int],
) -> list[tuple[Phase, Phase]]:
    """Start both servers (recorded in ``started`` for the caller to stop) and run every phase."""
    port = free_port()
    env = {"GRADSCAPE_MAX_SESSIONS": str(max(args.ns) + args.probes + 16)}
    serve = ["-m", "server", "serve", "--port", str(port), "--log-level", "warning"]
    ours = launch("ours", serve, port, env, server_cpus)
    started.append(ours)
    frame_bytes = asyncio.run(measure_frame_bytes(ours))
    port = free_port()
    bare_args = [
        "-m",
        "bench.bare_ws_server",
        "--port",
        str(port),
        "--frame-bytes",
        str(frame_bytes),
    ]
    bare = launch("bare", bare_args, port, {}, server_cpus)
    started.append(bare)
    print(f"our frames: {frame_bytes} bytes (median); the bare server sends that size\n")
    rows: list[tuple[Phase, Phase]] = []
    for n in args.ns:
        pair: list[Phase] = []
        for server in (bare, ours):
            if args.quiet_wait > 0:
                wait_for_quiet(QUIET_CORES, args.quiet_wait)
            print(f"  {server.name}: {n}+{args.probes} sessions ...", file=sys.stderr, flush=True)
            pair.append(
                run_phase(server, n, args.probes, args.procs, args.warmup, args.seconds, load_cpus)
            )
            time.sleep(1.5)  # let the server drop the closed sessions
        rows.append((pair[0], pair[1]))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    phase = args.warmup + args.seconds + READY_TIMEOUT + args.quiet_wait + 1
    budget = 60 + len(args.ns) * 2 * phase
    signal.alarm(int(budget))  # the watchdog: a stuck phase cannot keep the servers alive
    fds = raise_fd_limit(2 * (max(args.ns) + args.probes) + 256)
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = {cpus[-1]} if args.pin and len(cpus) > 1 else set()
    load_cpus = frozenset(cpus[:-1]) if server_cpus else frozenset()
    pinning = f"pinned: server on core {cpus[-1]}" if server_cpus else "not pinned"
    print(
        f"ws_bench: {len(cpus)} cores, {pinning}; open-file limit {fds}; "
        f"load average before {os.getloadavg()[0]:.2f}; code {code_version()}"
    )
    print(
        f"each session: rosenbrock, 4 runs (adam, momentum, rmsprop, nesterov), "
        f"{STEPS_PER_SECOND} steps/s, {FPS:.0f} frames/s; {args.probes} extra sessions send set "
        f"every ~{PROBE_EVERY} s; warm-up {args.warmup:g} s, window {args.seconds:g} s"
    )
    started: list[ServerProcess] = []
    try:
        rows = run_all(args, started, server_cpus, load_cpus)
    finally:
        for server in started:
            stop(server)
        signal.alarm(0)
    print(
        "frames: delivered / (sessions x window x 30); worst: the worst session; gap: "
        "interval between a session's frames; ack: set -> ack (ms);\nsrv CPU: server "
        "process, 100% = one core; ms/s/ses: server CPU ms per second per session; "
        "us/frame: server CPU per delivered frame;\nloadgen: the load generator's CPU "
        "(same machine); others: the rest of the machine (other jobs), both in % of one core\n"
    )
    print_table(rows)
    print_targets(rows, args.probes)
    print_contention(rows)
    print(
        f"\nnote: the load generator shares the {len(cpus)} cores with the server; the "
        "intervals and latencies it measures include its own scheduling delays. "
        f"load average after {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
