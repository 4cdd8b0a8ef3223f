"""The page's files served from memory: types, gzip, ETags, edits on disk, nothing outside."""

from __future__ import annotations

import gzip
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.app import create_app
from server.routes.assets import router_for

MODULE = "export const answer = 42;\n" * 100  # above the gzip minimum


def client_for(directory: Path) -> TestClient:
    app = FastAPI()
    app.include_router(router_for(directory))
    return TestClient(app)


def test_the_page_modules_come_gzipped_with_their_type_and_etag() -> None:
    with TestClient(create_app()) as client:
        r = client.get("/static/js/app.js", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/javascript")
        assert r.headers["content-encoding"] == "gzip"
        assert r.headers["cache-control"] == "no-cache"
        assert "import" in r.text  # httpx decoded it
        css = client.get("/static/css/app.css")
        assert css.headers["content-type"].startswith("text/css")
        again = client.get("/static/js/app.js", headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def test_a_file_edited_on_disk_is_served_anew(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    module = tmp_path / "js" / "m.js"
    module.write_text(MODULE)
    client = client_for(tmp_path)
    first = client.get("/static/js/m.js", headers={"Accept-Encoding": "gzip"})
    assert first.text == MODULE
    module.write_text(MODULE + "export const more = 1;\n")
    second = client.get("/static/js/m.js", headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200
    assert second.text.endswith("export const more = 1;\n")
    assert second.headers["etag"] != first.headers["etag"]


def test_small_files_go_as_they_are_and_head_gives_the_length(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("body{}")
    client = client_for(tmp_path)
    r = client.get("/static/a.css", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in r.headers and r.text == "body{}"
    (tmp_path / "b.js").write_text(MODULE)
    head = client.head("/static/b.js", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.content == b""
    body = gzip.compress(MODULE.encode(), compresslevel=9, mtime=0)
    assert head.headers["content-length"] == str(len(body))


def test_nothing_outside_the_directory_and_no_directories(tmp_path: Path) -> None:
    (tmp_path / "inside").mkdir()
    (tmp_path / "secret.txt").write_text("no")
    client = client_for(tmp_path / "inside")
    for path in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/", "/static/x.js"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.text != "no"
