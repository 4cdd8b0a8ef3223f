"""GET /api/export: files with their type and name, and 422 errors naming the field."""

from __future__ import annotations

import io
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from server.app import create_app
from server.settings import Settings

STATE = "#surface=booth&seed=2&steps=60&run=adam,lr:0.3&run=sgd,lr:0.05"


@pytest.fixture
def api() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(max_trajectory_steps=5000, max_runs=3))) as c:
        yield c


@pytest.mark.parametrize(
    ("fmt", "media"),
    [
        ("html", "text/html"),
        ("csv", "text/csv"),
        ("json", "application/json"),
        ("gif", "image/gif"),
    ],
)
def test_each_format_is_an_attachment(api: TestClient, fmt: str, media: str) -> None:
    r = api.get("/api/export", params={"state": STATE, "format": fmt})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(media)
    assert r.headers["content-disposition"] == f'attachment; filename="gradscape-booth.{fmt}"'
    if fmt == "json":
        assert [run["steps"] for run in orjson.loads(r.content)["runs"]] == [60, 60]
    if fmt == "gif":
        assert Image.open(io.BytesIO(r.content)).n_frames == 61
    if fmt == "html":
        assert "http://testserver/#surface=booth&amp;seed=2" in r.text  # the link back


def test_without_the_hash_sign_and_gzipped(api: TestClient) -> None:
    r = api.get(
        "/api/export",
        params={"state": STATE[1:], "format": "csv"},
        headers={"accept-encoding": "gzip"},
    )
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.text.splitlines()[0] == "run,optimizer,step,x,y,loss"
    assert len(r.text.splitlines()) == 1 + 2 * 61


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": STATE, "format": "pdf"}, "format"),
        ({"state": "surface=booth&steps=6000"}, "steps"),
        ({"state": "run=sgd&run=sgd&run=sgd&run=sgd"}, "run"),
        ({"state": "seed=x"}, "seed"),
        ({"state": "mode=network"}, "mode"),
        ({"state": "run=adam,lr:-1"}, "run[0].hyper.lr"),
        ({"state": "surface=custom&expr=x%2B"}, "expr"),
    ],
)
def test_errors_are_422_naming_the_field(
    api: TestClient, params: dict[str, str], field: str
) -> None:
    r = api.get("/api/export", params=params)
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == field and body["message"]
