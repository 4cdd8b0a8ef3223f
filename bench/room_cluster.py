"""Rooms across workers for ``bench/room_bench.py --redis``: a redis-server and a multi-worker server.

The bench starts Debian's ``redis-server`` on a free loopback port (no persistence, as the tests
do) and ``gradscape serve --workers N`` with ``GRADSCAPE_REDIS_URL`` pointing at it: one port,
the kernel handing each new connection to one of the workers. The server's CPU is that of its
whole process tree; how the connections spread over the workers is read from each worker's
sockets and /proc/net/tcp.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.procs import ServerProcess, cpu_seconds, die_with_parent, free_port, launch, stop

REDIS_START_TIMEOUT = 10.0
WORKERS_UP_TIMEOUT = 60.0


@dataclass
class RedisProcess:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis() -> RedisProcess:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("--redis needs redis-server (Debian: apt-get install redis-server)")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent
    )
    redis = RedisProcess(port, proc)
    deadline = time.monotonic() + REDIS_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return redis
        time.sleep(0.05)
    stop_redis(redis)
    raise RuntimeError(f"redis-server did not answer on port {port} within {REDIS_START_TIMEOUT} s")


def stop_redis(redis: RedisProcess) -> None:
    if redis.proc.poll() is None:
        redis.proc.terminate()
        try:
            redis.proc.wait(5.0)
        except subprocess.TimeoutExpired:
            redis.proc.kill()
            redis.proc.wait(5.0)


def launch_workers(redis: RedisProcess, workers: int, env: dict[str, str]) -> ServerProcess:
    """``python -m server serve --workers N`` on a free port, once every worker answers."""
    port = free_port()
    args = ["-m", "server", "serve", "--port", str(port), "--workers", str(workers)]
    server = launch(
        "ours",
        [*args, "--log-level", "warning"],
        port,
        {**env, "GRADSCAPE_REDIS_URL": redis.url},
        set(),
    )
    seen: set[int] = set()
    deadline = time.monotonic() + WORKERS_UP_TIMEOUT
    while len(seen) < workers and time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):  # a new connection each time: any worker
            seen.add(
                int(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2.0).json()["worker"])
            )
        time.sleep(0.05)
    if len(seen) < workers:
        raise RuntimeError(f"only {len(seen)} of {workers} workers answered /healthz")
    return server


def children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(v) for v in text.split()]
    return []


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its descendants (a multi-worker server's workers)."""
    total = cpu_seconds(pid)
    for child in children(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += tree_cpu_seconds(child)
    return total


def socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = str(fd.readlink())
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def established() -> dict[int, tuple[int, int]]:
    """Inode -> (local port, remote port) of every established TCP connection (/proc/net)."""
    out: dict[int, tuple[int, int]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[3] == "01":  # ESTABLISHED
                    local, remote = cols[1].rsplit(":", 1)[1], cols[2].rsplit(":", 1)[1]
                    out[int(cols[9])] = (int(local, 16), int(remote, 16))
    return out


def spread(server: ServerProcess, redis: RedisProcess) -> list[tuple[int, int]]:
    """Per worker: its websocket connections (viewers, the presenter) and its links to Redis."""
    conns = established()
    out = []
    for pid in children(server.proc.pid):
        ports = [conns[i] for i in socket_inodes(pid) if i in conns]
        clients = sum(local == server.port for local, _ in ports)
        links = sum(remote == redis.port for _, remote in ports)
        if clients or links:
            out.append((clients, links))
    return out


def stop_workers(server: ServerProcess) -> None:
    """Stop the server; then kill any worker its parent left behind."""
    workers = children(server.proc.pid)
    stop(server)
    for pid in workers:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
