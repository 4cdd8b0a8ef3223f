"""compose.yaml: Redis and the workers behind one port, wired to each other (no Docker here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from server.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_workers_on_one_port_against_its_redis() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "gradscape"}
    redis, app = services["redis"], services["gradscape"]
    assert redis["image"].startswith("redis:")
    assert "--save" in redis["command"] and "ports" not in redis  # not published outside
    command = app["command"]
    assert command[:2] == ["gradscape", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert int(command[command.index("--workers") + 1]) > 1
    assert app["ports"] == [f"{port}:{port}"]
    assert app["environment"]["GRADSCAPE_REDIS_URL"].startswith("redis://redis:6379/")
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert (ROOT / app["build"] / "Dockerfile").exists()
    assert '".[redis]"' in (ROOT / "Dockerfile").read_text()  # the image has the client


def test_workers_without_redis_are_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRADSCAPE_REDIS_URL", raising=False)
    assert main(["serve", "--workers", "2", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "GRADSCAPE_REDIS_URL" in err
