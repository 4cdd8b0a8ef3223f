"""Fault cases against a real uvicorn on 127.0.0.1, driven by the `websockets` client.

After every case the server must be left with no session and no session task running.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .conftest import LiveServer, run_async

Msg = dict[str, Any]
RACE: Msg = {
    "type": "start",
    "problem": {"surface": "rosenbrock"},
    "runs": [
        {"id": f"r{i}", "optimizer": name, "hyper": {"lr": 1e-4}, "start": [-1.5, 2.0]}
        for i, name in enumerate(
            ["adam", "momentum", "rmsprop", "nesterov", "sgd", "adagrad", "nadam", "radam"]
        )
    ],
    "max_steps": 100_000,
    "steps_per_second": 2000,
}


async def expect(ws: ClientConnection, done: Callable[[Msg], bool], limit: int = 10_000) -> Msg:
    for _ in range(limit):
        msg: Msg = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        if done(msg):
            return msg
    raise AssertionError("message never came")


def assert_clean(server: LiveServer) -> None:
    health = server.wait_idle()
    assert health["sessions"] == 0 and health["session_tasks"] == 0, health


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example.com",
        "http://127.0.0.1.evil.com",
        "null",
        None,
        "http://127.0.0.1:1",  # right host, wrong port
        "https://127.0.0.1:{port}",  # wrong scheme
        "http://127.0.0.1:{port}@evil.com",
    ],
)
def test_foreign_origins_are_refused_before_accept(
    live_server: Callable[..., LiveServer], origin: str | None
) -> None:
    server = live_server()

    async def go() -> None:
        headers = {} if origin is None else {"Origin": origin.format(port=server.port)}
        with pytest.raises(InvalidStatus) as info:
            async with connect(server.ws_url, additional_headers=headers, origin=None):
                pass
        assert info.value.response.status_code == 403

    run_async(go)
    assert_clean(server)


def test_own_origin_and_allow_list_are_accepted(live_server: Callable[..., LiveServer]) -> None:
    server = live_server(allowed_origins=["https://slides.example.org"])

    async def go() -> None:
        for url, origin in [
            (server.ws_url, server.url),
            (f"ws://localhost:{server.port}/ws", f"http://localhost:{server.port}"),
            (server.ws_url, "https://slides.example.org"),
        ]:
            async with connect(url, additional_headers={"Origin": origin}) as ws:
                assert (await expect(ws, lambda m: True))["type"] == "hello"

    run_async(go)
    assert_clean(server)


def test_foreign_host_name_is_refused_on_a_loopback_server(
    live_server: Callable[..., LiveServer],
) -> None:
    """DNS rebinding: evil.com resolving to 127.0.0.1 sends a matching Host and Origin."""
    server = live_server()

    async def go() -> None:
        sock = socket.create_connection(("127.0.0.1", server.port))
        url = f"ws://evil.com:{server.port}/ws"
        with pytest.raises(InvalidStatus) as info:
            async with connect(
                url, sock=sock, additional_headers={"Origin": f"http://evil.com:{server.port}"}
            ):
                pass
        assert info.value.response.status_code == 403

    run_async(go)
    assert_clean(server)


def own(server: LiveServer) -> dict[str, str]:
    return {"Origin": server.url}


def test_bad_messages_get_errors_and_the_session_keeps_working(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()
    bad = [
        b'{"type": "start", "runs": [{"id": "a", "optimizer": "sgd", "hyper": {"lr": NaN}}]}',
        b'{"type": "start", "runs": [{"id": "a", "optimizer": "sgd", "start": [1e400, 1]}]}',
        b'{"type": "start", "problem": {"surface": "rosenbrock"}, "runs": [{"id": "a", "optimizer": "adamq"}]}',
        b'{"type": "start", "problem": {"surface": "rosenbrock"}, "runs": [{"id": "a", "optimizer": "sgd", "hyper": {"lr": -1}}]}',
        b"\xff\xfe garbage",
        b"x" * (70 * 1024),
    ]

    async def go() -> None:
        async with connect(server.ws_url, additional_headers=own(server), max_size=None) as ws:
            await expect(ws, lambda m: m["type"] == "hello")
            fields = []
            for raw in bad:
                await ws.send(raw.decode("latin-1"))
                fields.append((await expect(ws, lambda m: m["type"] == "error"))["field"])
            assert fields == ["", "", "runs[0].optimizer", "runs[0].hyper.lr", "", ""]
            await ws.send(orjson.dumps({**RACE, "max_steps": 50}).decode())
            await expect(ws, lambda m: m.get("state") == "done")

    run_async(go)
    assert_clean(server)


def test_a_message_beyond_the_protocol_limit_closes_only_that_connection(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()

    async def go() -> None:
        async with connect(server.ws_url, additional_headers=own(server)) as other:
            await expect(other, lambda m: m["type"] == "hello")
            async with connect(server.ws_url, additional_headers=own(server), max_size=None) as ws:
                await expect(ws, lambda m: m["type"] == "hello")
                with pytest.raises(ConnectionClosed) as info:  # while sending or after
                    await ws.send("y" * (2 * 1024 * 1024))
                    await expect(ws, lambda m: False)
                # 1009, unless the server dropped the socket while the client was still writing
                assert info.value.rcvd is None or info.value.rcvd.code == 1009
            await other.send(orjson.dumps({**RACE, "max_steps": 20}).decode())
            await expect(other, lambda m: m.get("state") == "done")

    run_async(go)
    assert_clean(server)


def test_a_flood_is_refused_then_closed(live_server: Callable[..., LiveServer]) -> None:
    server = live_server()

    async def go() -> None:
        async with connect(server.ws_url, additional_headers=own(server)) as ws:
            await expect(ws, lambda m: m["type"] == "hello")
            for _ in range(2000):
                await ws.send('{"type": "pause"}')
            errors = 0
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    msg = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                    errors += msg["type"] == "error" and "Too many" in msg["message"]
            assert 1 <= errors <= 5  # one notice per burst, not one per message
            assert info.value.rcvd is not None and info.value.rcvd.code == 1008

    run_async(go)
    assert_clean(server)


def test_session_cap_refuses_with_1013(live_server: Callable[..., LiveServer]) -> None:
    server = live_server(max_sessions=200)

    async def one() -> tuple[str, ClientConnection | None]:
        ws = await connect(server.ws_url, additional_headers=own(server), open_timeout=30)
        try:
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
            return msg["type"], ws
        except ConnectionClosed as exc:
            assert exc.rcvd is not None
            return f"closed {exc.rcvd.code} {exc.rcvd.reason}", None

    async def go() -> None:
        results = []
        for _ in range(300):  # one at a time so the first 200 are the ones admitted
            results.append(await one())
        kinds = [k for k, _ in results]
        assert kinds[:200] == ["hello"] * 200
        assert all(k.startswith("closed 1013") and "full" in k for k in kinds[200:])
        assert server.health()["sessions"] == 200
        for _, ws in results:
            if ws is not None:
                await ws.close()

    run_async(go)
    assert_clean(server)


def test_a_client_that_never_reads_is_closed(live_server: Callable[..., LiveServer]) -> None:
    server = live_server(send_timeout=1.0)

    async def go() -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        ws = await connect(server.ws_url, sock=sock, additional_headers=own(server), max_queue=1)
        await ws.send(orjson.dumps(RACE).decode())
        # never read: the server's sends block, time out, and the session goes away
        for _ in range(300):
            await asyncio.sleep(0.1)
            if server.health()["sessions"] == 0:
                break
        assert server.health()["sessions"] == 0
        ws.transport.abort()

    run_async(go)
    assert_clean(server)


def test_a_client_that_vanishes_mid_stream_leaves_nothing(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()

    async def go() -> None:
        ws = await connect(server.ws_url, additional_headers=own(server))
        await ws.send(orjson.dumps(RACE).decode())
        await expect(ws, lambda m: m["type"] == "frame")
        assert server.health()["sessions"] == 1
        ws.transport.abort()  # no close frame: the TCP connection just dies

    run_async(go)
    assert_clean(server)
