"""The OpenAPI document against the registries and the server's own answers.

The fuzzing run (tests/api/test_openapi_fuzz.py) finds disagreements by chance; these pin the parts a
client generator depends on: the enums are the registries, every input route declares its
errors with their shape, and non-JSON answers declare their real media types.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.export.files import MEDIA_TYPES
from server.optim.registry import OPTIMIZERS
from server.optim.schedules import SCHEDULES
from server.problems.surfaces import SURFACES
from server.settings import Settings


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    from server.app import create_app

    return create_app(Settings(max_grid=123, max_trajectory_steps=4567)).openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "delete", "patch"}
    ]


def trajectory_body(doc: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = doc["components"]["schemas"]["TrajectoryRequest"]
    return body


def test_names_are_enums_of_the_registries(doc: dict[str, Any]) -> None:
    body = trajectory_body(doc)
    assert body["properties"]["optimizer"]["enum"] == list(OPTIMIZERS)
    assert body["properties"]["surface"]["anyOf"][0]["enum"] == list(SURFACES)
    problem, optimizer = body["allOf"]
    assert [v["properties"]["optimizer"]["const"] for v in optimizer["oneOf"]] == list(OPTIMIZERS)
    schedules = body["properties"]["schedule"]["anyOf"][1]["oneOf"]
    assert [s["properties"]["name"]["const"] for s in schedules] == list(SCHEDULES)
    named = {v["properties"]["surface"].get("const") for v in problem["oneOf"][1:-1]}
    plain = set(problem["oneOf"][0]["properties"]["surface"]["enum"])
    assert plain | named == set(SURFACES) and not plain & named
    assert problem["oneOf"][-1]["required"] == ["expression"]


def test_each_optimizer_lists_exactly_its_hyperparameters_with_domains(
    doc: dict[str, Any],
) -> None:
    variants = {
        v["properties"]["optimizer"]["const"]: v for v in trajectory_body(doc)["allOf"][1]["oneOf"]
    }
    for name, opt in OPTIMIZERS.items():
        hyper = variants[name]["properties"]["hyper"]
        assert hyper["additionalProperties"] is False
        assert list(hyper["properties"]) == [h.name for h in opt.spec.hyper]
    adam = variants["adam"]["properties"]["hyper"]["properties"]
    assert adam["lr"]["minimum"] == 0.0 and adam["beta1"]["exclusiveMaximum"] == 1.0
    assert variants["sgd"].get("required") is None  # sgd is the default optimizer


def test_limits_come_from_the_settings(doc: dict[str, Any]) -> None:
    assert trajectory_body(doc)["properties"]["steps"]["maximum"] == 4567
    grid = doc["paths"]["/api/surfaces/{name}/grid"]["get"]["parameters"]
    assert next(p for p in grid if p["name"] == "n")["schema"]["maximum"] == 123


def test_surfaces_with_parameters_have_their_own_grid_operation(doc: dict[str, Any]) -> None:
    for name, spec in SURFACES.items():
        path = f"/api/surfaces/{name}/grid"
        if not spec.params:
            assert path not in doc["paths"]
            continue
        params = {p["name"]: p["schema"] for p in doc["paths"][path]["get"]["parameters"]}
        for p in spec.params:
            assert (params[p.name]["minimum"], params[p.name]["maximum"]) == (p.min, p.max)


def test_every_input_route_declares_its_errors(doc: dict[str, Any]) -> None:
    assert doc["components"]["schemas"]["Error"]["required"] == ["message", "field"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for _, path, op in operations(doc):
        if op.get("parameters") or "requestBody" in op:
            ref = op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/Error", path
        if "requestBody" in op:
            assert "400" in op["responses"], path


def test_export_declares_the_media_type_of_every_format(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/api/export"]["get"]
    declared = set(op["responses"]["200"]["content"])
    assert declared == {t.split(";")[0] for t in MEDIA_TYPES.values()}
    formats = next(p for p in op["parameters"] if p["name"] == "format")["schema"]["enum"]
    assert formats == list(MEDIA_TYPES)


def test_an_unreadable_body_is_a_400_in_the_error_shape(client: TestClient) -> None:
    json = {"content-type": "application/json"}
    r = client.post("/api/trajectory", content=b"\xff", headers=json)
    assert r.status_code == 400
    assert r.json()["field"] == "body" and "cannot be read" in r.json()["message"]
    r = client.post("/api/trajectory", content=b'{"steps": ', headers=json)
    assert r.status_code == 422
    assert r.json()["field"] == "body" and "not valid JSON" in r.json()["message"]


def test_whole_floats_are_integers_as_the_schema_says(client: TestClient) -> None:
    body = {"surface": "booth", "optimizer": "adam", "steps": 5.0, "seed": 3.0}
    r = client.post("/api/trajectory", json=body)
    assert r.status_code == 200 and r.json()["steps"] == 5
    r = client.post("/api/trajectory", json={**body, "steps": 5.5})
    assert r.status_code == 422 and r.json()["field"] == "steps"


def test_a_point_that_overflows_ends_the_path_as_diverged(client: TestClient) -> None:
    """Found by the fuzzer: a constant formula under huge weight decay sent null coordinates."""
    body = {
        "expression": "--pi",
        "optimizer": "sgd",
        "hyper": {"lr": 9e5, "weight_decay": 9e5},
        "start": [2.25, 1.8],
        "steps": 200,
    }
    r = client.post("/api/trajectory", json=body)
    assert r.status_code == 200
    out = r.json()
    assert out["status"] == "diverged"
    assert all(v is not None for point in out["points"] for v in point)
    assert out["steps"] == len(out["points"]) - 1


def test_a_route_with_the_optimizer_in_its_path_has_one_operation_per_optimizer(
    doc: dict[str, Any],
) -> None:
    assert "/api/optimizers/{name}/torch" not in doc["paths"]
    for name, opt in OPTIMIZERS.items():
        op = doc["paths"][f"/api/optimizers/{name}/torch"]["post"]
        hyper = op["requestBody"]["content"]["application/json"]["schema"]["properties"]["hyper"]
        assert list(hyper["properties"]) == [h.name for h in opt.spec.hyper]
        assert not [p for p in op.get("parameters", []) if p["name"] == "name"]
