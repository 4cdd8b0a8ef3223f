"""REST routes through TestClient: shapes, semantics and refusals."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from server.optim.registry import OPTIMIZERS
from server.problems.surfaces import SURFACES, get_surface


def post_raw(client: TestClient, url: str, body: bytes) -> tuple[int, dict[str, object]]:
    r = client.post(url, content=body, headers={"content-type": "application/json"})
    return r.status_code, r.json()


def test_surfaces_list_every_required_surface(client: TestClient) -> None:
    body = client.get("/api/surfaces").json()
    names = [s["name"] for s in body]
    assert names == list(SURFACES)
    for required in ("rosenbrock", "himmelblau", "quadratic", "saddle", "monkey_saddle", "easom"):
        assert required in names
    quadratic = next(s for s in body if s["name"] == "quadratic")
    assert set(quadratic["params"]) == {"kappa", "angle"}
    for s in body:
        assert {"name", "title", "formula", "domain", "minima", "start", "params"} <= set(s)


def test_grid_orientation_is_z_i_j_equals_f_of_x_j_y_i(client: TestClient) -> None:
    body = client.get("/api/surfaces/beale/grid?n=7").json()
    x, y, z = np.array(body["x"]), np.array(body["y"]), np.array(body["z"])
    assert z.shape == (7, 7)
    surface = get_surface("beale")
    for i, j in [(0, 6), (2, 3), (6, 1)]:
        assert z[i, j] == pytest.approx(float(surface.value(np.array([x[j], y[i]]))), rel=1e-12)
    kappa = client.get("/api/surfaces/quadratic/grid?n=5&kappa=50&angle=30").json()
    assert np.array(kappa["z"]).shape == (5, 5)


def test_optimizers_carry_specs_and_torch_names(client: TestClient) -> None:
    body = client.get("/api/optimizers").json()
    assert [o["name"] for o in body] == list(OPTIMIZERS)
    torch_names = {o["name"]: o["torch"] for o in body}
    assert torch_names["adam"] == "Adam" and torch_names["lion"] is None
    adam = next(o for o in body if o["name"] == "adam")
    lr = next(h for h in adam["hyper"] if h["name"] == "lr")
    assert lr["default"] == 0.001 and lr["scale"] == "log" and lr["kind"] == "float"
    assert {h["name"] for h in adam["hyper"]} >= {
        "beta1",
        "beta2",
        "eps",
        "weight_decay",
        "amsgrad",
    }


def test_trajectory_points_start_at_the_start_and_count_updates(client: TestClient) -> None:
    r = client.post(
        "/api/trajectory",
        json={
            "surface": "himmelblau",
            "optimizer": "momentum",
            "hyper": {"lr": 0.001},
            "start": [0.5, -0.5],
            "steps": 40,
        },
    )
    body = r.json()
    assert r.status_code == 200 and body["status"] == "finished" and body["steps"] == 40
    points = np.array(body["points"])
    assert points.shape == (41, 3)
    np.testing.assert_array_equal(points[0, :2], [0.5, -0.5])
    surface = get_surface("himmelblau")
    np.testing.assert_allclose(points[:, 2], surface.value(points[:, :2]), rtol=1e-12)


def test_trajectory_with_an_expression_and_divergence(client: TestClient) -> None:
    ok = client.post(
        "/api/trajectory",
        json={
            "expression": "sin(x)*cos(y) + 0.1*(x^2+y^2)",
            "optimizer": "adam",
            "hyper": {"lr": 0.05},
            "start": [2.0, 1.0],
            "steps": 100,
        },
    ).json()
    assert ok["status"] == "finished" and len(ok["points"]) == 101
    bad = client.post(
        "/api/trajectory",
        json={
            "surface": "quadratic",
            "surface_params": {"kappa": 10},
            "optimizer": "sgd",
            "hyper": {"lr": 0.3},
            "start": [1, 1],
            "steps": 5000,
        },
    ).json()
    assert bad["status"] == "diverged" and bad["steps"] == len(bad["points"]) - 1 < 5000
    assert np.isfinite(np.array(bad["points"], dtype=float)).all()
    undefined = client.post(
        "/api/trajectory",
        json={
            "expression": "log(x) + y^2",
            "optimizer": "sgd",
            "hyper": {"lr": 1.0},
            "start": [0.5, 1],
            "steps": 50,
        },
    ).json()
    assert undefined["status"] == "diverged"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            b'{"surface": "rosenbrock", "optimizer": "adam", "hyper": {"lr": -1.0}}',
            "hyper.lr",
            "Invalid learning rate: -1.0",
        ),
        (b'{"surface": "rosenbrock", "optimizer": "adamz"}', "optimizer", "Unknown optimizer"),
        (b'{"surface": "rosenbrock", "hyper": {"lr": NaN}}', "hyper.lr", "finite"),
        (b'{"surface": "rosenbrock", "start": [1e400, 0]}', "start[0]", "finite"),
        (b'{"surface": "rosenbrock", "start": [Infinity, 0]}', "start[0]", "finite"),
        (b'{"surface": "rosenbrock", "steps": 100000000}', "steps", "limit"),
        (b'{"surface": "rosenbrock", "hyper": {"lrr": 0.1}}', "hyper.lrr", "lrr"),
        (b'{"surface": "nowhere"}', "surface", "unknown surface"),
        (
            b'{"surface": "quadratic", "surface_params": {"kappa": -3}}',
            "surface_params.kappa",
            "kappa",
        ),
        (b'{"expression": "__import__(\'os\')"}', "expression", ""),
        (b'{"surface": "rosenbrock", "schedule": {"name": "warp"}}', "schedule.name", "warp"),
        (b'{"surface": "rosenbrock", "seed": -1}', "seed", ""),
        (b'{"surface": "rosenbrock", "noise": "lots"}', "noise", ""),
    ],
)
def test_trajectory_refusals_name_the_field(
    client: TestClient, body: bytes, field: str, words: str
) -> None:
    status, out = post_raw(client, "/api/trajectory", body)
    assert status == 422
    assert out["field"] == field, out
    assert words in str(out["message"]), out


def test_grid_pad_widens_the_domain_on_every_side(client: TestClient) -> None:
    """The page pads its axes so that starts and paths are never at the plot's edge."""
    body = client.get("/api/surfaces/booth/grid?n=5&pad=0.05").json()
    (x0, x1), (y0, y1) = get_surface("booth").spec.domain
    assert body["x"][0] == pytest.approx(x0 - 0.05 * (x1 - x0))
    assert body["x"][-1] == pytest.approx(x1 + 0.05 * (x1 - x0))
    assert body["y"][0] == pytest.approx(y0 - 0.05 * (y1 - y0))
    surface = get_surface("booth")
    z = np.array(body["z"])
    assert z[0, 4] == pytest.approx(float(surface.value(np.array([body["x"][4], body["y"][0]]))))
    plain = client.get("/api/surfaces/booth/grid?n=5").json()
    assert (plain["x"][0], plain["x"][-1]) == (x0, x1)
    r = client.get("/api/surfaces/booth/grid?n=5&pad=0.9")
    assert r.status_code == 422 and r.json()["field"] == "pad"


def test_grid_refusals(client: TestClient) -> None:
    assert client.get("/api/surfaces/rosenbrock/grid?n=100000").status_code == 422
    assert client.get("/api/surfaces/rosenbrock/grid?n=1").status_code == 422
    r = client.get("/api/surfaces/rosenbrock/grid?n=5&b=inf")
    assert r.status_code == 422 and r.json()["field"] == "b"
    r = client.get("/api/surfaces/rosenbrock/grid?n=5&zeta=1")
    assert r.status_code == 422 and "zeta" in r.json()["message"]


def test_expression_grid_masks_undefined_regions_with_null(client: TestClient) -> None:
    r = client.post(
        "/api/expression/grid",
        json={"expression": "log(x) + 1/y", "n": 9, "domain": [[-2, 2], [-2, 2]]},
    )
    assert r.status_code == 200
    assert b"NaN" not in r.content and b"Infinity" not in r.content
    z = r.json()["z"]
    assert z[0][0] is None and z[4][8] is None and isinstance(z[0][8], float)
    err = client.post("/api/expression/grid", json={"expression": "x + (y", "n": 9})
    assert (
        err.status_code == 422 and err.json()["field"] == "expression" and "position" in err.json()
    )
    examples = client.get("/api/expression/examples").json()
    assert examples and all("expression" in e for e in examples)


def test_plotly_is_served_locally_gzipped_and_cacheable(client: TestClient) -> None:
    r = client.get("/vendor/plotly.min.js", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert "immutable" in r.headers["cache-control"] and r.headers["etag"]
    assert len(r.content) > 1_000_000 and b"Plotly" in r.content  # decoded by httpx
    again = client.get("/vendor/plotly.min.js", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_pages_can_be_embedded_and_docs_are_local(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == "frame-ancestors *"
    assert "x-frame-options" not in page.headers
    assert "/vendor/plotly.min.js" in page.text
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text and "/vendor/swagger/" in docs.text
    assert client.get("/openapi.json").json()["paths"]["/api/trajectory"]
    assert client.get("/healthz").json()["status"] == "ok"


def test_output_never_contains_nan(client: TestClient) -> None:
    r = client.post(
        "/api/trajectory",
        json={
            "surface": "quadratic",
            "optimizer": "sgd",
            "hyper": {"lr": 10.0},
            "start": [1, 1],
            "steps": 2000,
        },
    )
    assert b"NaN" not in r.content and b"Infinity" not in r.content
    orjson.loads(r.content)
