"""gradscape.embed: a real local server in a thread, serving the live page of the race."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

import gradscape
from gradscape import Run
from server.export.state import parse_hash


@pytest.fixture
def stopped() -> Iterator[None]:
    yield
    gradscape.stop()


def test_embed_serves_the_page_of_the_race_and_reuses_its_server(stopped: None) -> None:
    result = gradscape.race("booth", runs=[Run("adam", lr=0.2)], steps=50, start=(1, 2))
    shown = gradscape.embed(result, controls="play", height=400)
    url = urlsplit(shown.url)
    assert url.hostname == "127.0.0.1" and url.path == "/embed"
    state, _, controls = url.fragment.rpartition("&")
    assert controls == "controls=play" and parse_hash(state) == result.state
    page = httpx.get(f"{url.scheme}://{url.netloc}/embed", timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert "frame-ancestors" in page.headers["content-security-policy"]
    html = shown._repr_html_()
    assert html.startswith("<iframe") and 'height="400"' in html
    again = gradscape.embed(surface="rosenbrock", runs=[Run("sgd", lr=0.001)], steps=10)
    assert urlsplit(again.url).netloc == url.netloc  # the same server
    with pytest.raises(ValueError, match="controls"):
        gradscape.embed(result, controls="some")
    gradscape.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url.scheme}://{url.netloc}/healthz", timeout=2)
