"""Room links point where the students' phones can go."""

from __future__ import annotations

import pytest

from server.live import public_url
from server.live.public_url import public_base
from server.settings import Settings


@pytest.fixture
def lan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_url, "lan_address", lambda: "192.168.1.20")


@pytest.mark.usefixtures("lan")
def test_loopback_on_a_server_listening_everywhere_becomes_the_network_address() -> None:
    everywhere = Settings(host="0.0.0.0")
    assert public_base("127.0.0.1:8000", False, everywhere) == "http://192.168.1.20:8000"
    assert public_base("localhost:8000", True, everywhere) == "https://192.168.1.20:8000"
    assert public_base("[::1]:8080", False, everywhere) == "http://192.168.1.20:8080"


@pytest.mark.usefixtures("lan")
def test_other_hosts_and_loopback_only_servers_keep_the_host_header() -> None:
    assert public_base("127.0.0.1:8000", False, Settings()) == "http://127.0.0.1:8000"
    everywhere = Settings(host="0.0.0.0")
    assert public_base("10.0.0.5:8000", False, everywhere) == "http://10.0.0.5:8000"
    assert public_base("gradscape.example.org", True, everywhere) == "https://gradscape.example.org"


@pytest.mark.usefixtures("lan")
def test_a_configured_public_url_wins() -> None:
    settings = Settings(host="0.0.0.0", public_url="https://class.example.org/")
    assert public_base("127.0.0.1:8000", False, settings) == "https://class.example.org"


def test_no_network_keeps_the_host_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_url, "lan_address", lambda: None)
    assert public_base("127.0.0.1:8000", False, Settings(host="0.0.0.0")) == "http://127.0.0.1:8000"


class Probe:
    """A stand-in UDP socket whose route leads to ``address`` (or nowhere)."""

    address: str | None = None

    def __init__(self, *args: object) -> None:
        pass

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *args: object) -> None:
        pass

    def connect(self, target: tuple[str, int]) -> None:
        if self.address is None:
            raise OSError("Network is unreachable")

    def getsockname(self) -> tuple[str, int]:
        assert self.address is not None
        return self.address, 40000


@pytest.mark.parametrize(
    ("route", "expected"),
    [("192.168.1.20", "192.168.1.20"), ("127.0.1.1", None), ("0.0.0.0", None), (None, None)],
)
def test_the_network_address_is_the_routed_one_never_loopback(
    monkeypatch: pytest.MonkeyPatch, route: str | None, expected: str | None
) -> None:
    monkeypatch.setattr(Probe, "address", route)
    monkeypatch.setattr(public_url.socket, "socket", Probe)
    assert public_url.lan_address() == expected
