"""`--format jax|keras`: each script, run with no arguments in its own Python, prints the rows of
`--format csv` for every run its library can reproduce, each number within 1e-9 relative (the
libraries round some steps differently from our numpy: about 3e-13 at most on these races), and
names the others on stderr with the mapping's reason. The scripts import no module of ours."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.__main__ import main
from server.app import create_app
from server.errors import FieldError
from server.export import export_hash
from server.export.race_spec import script_race
from server.export.state import parse_hash
from server.libraries.keras_plan import keras_plan
from server.libraries.optax_plan import optax_plan
from server.libraries.plan import Unavailable
from server.settings import Settings

from .test_export_scripts import CASES, LIMIT, NETWORK

# found, not imported: keras picks its backend when first imported (the scripts choose jax)
if not all(importlib.util.find_spec(m) for m in ("jax", "optax", "keras")):
    pytest.skip("jax, optax and keras are not installed", allow_module_level=True)

ALL = {
    **CASES,
    # coupled weight decay (Keras: L2 in the gradient), AdamW on a cosine schedule (a per-step
    # rate, and Keras' per-step epsilon), noise switched off live, lr and weight decay changed live
    "decay": "#surface=booth&seed=2&steps=150&run=adam,lr:0.1,weight_decay:0.01&run=adamw,"
    "lr:0.05,weight_decay:0.02,sched:cosine,sched.T_max:100&run=sgd,lr:0.01,noise:0.2"
    "&run=lion,lr:0.01&run=adadelta,lr:1.0&chg=a,40,lr:0.03,weight_decay:0.05&chg=c,30,noise:0",
}
PLANS = {"jax": optax_plan, "keras": keras_plan}
RUN_EACH = (
    "import contextlib, io, runpy, sys\n"
    "for path in sys.argv[1:]:\n"
    "    out, err = io.StringIO(), io.StringIO()\n"
    "    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
    "        runpy.run_path(path, run_name='__main__')\n"
    "    open(path + '.csv', 'w').write(out.getvalue())\n"
    "    open(path + '.err', 'w').write(err.getvalue())\n"
    "ours = sorted(m for m in sys.modules if m.split('.')[0] in ('server', 'gradscape'))\n"
    "assert not ours, ours\n"
)


def rows(text: str) -> dict[str, np.ndarray]:
    lines = text.splitlines()
    assert lines[0] == "run,optimizer,step,x,y,loss"
    runs: dict[str, list[list[float]]] = {}
    for line in lines[1:]:
        run, _, step, *xyz = line.split(",")
        points = runs.setdefault(run, [])
        assert int(step) == len(points)
        points.append([float(v) for v in xyz])
    return {run: np.array(points) for run, points in runs.items()}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[str, str]]:
    """Every case's jax and keras script, run in one Python per format (imports take seconds)."""
    out = {}
    for fmt in PLANS:
        folder = tmp_path_factory.mktemp(fmt)
        paths = []
        for case, state in ALL.items():
            path = folder / f"{case}.py"
            path.write_bytes(export_hash(state, fmt, max_steps=LIMIT).content)
            paths.append(path)
        done = subprocess.run(
            [sys.executable, "-I", "-c", RUN_EACH, *map(str, paths)],
            capture_output=True,
            text=True,
            cwd=folder,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        for case, path in zip(ALL, paths, strict=True):
            csv = Path(f"{path}.csv").read_text()
            err = Path(f"{path}.err").read_text()
            out[(case, fmt)] = (csv, err)
    return out


def expected_skips(state: str, fmt: str) -> dict[str, str]:
    """The runs the mapping cannot reproduce, with its reason (start settings only)."""
    race = script_race(parse_hash(state, max_steps=LIMIT))
    out = {}
    for r in race.runs:
        plan = PLANS[fmt](r.optimizer, dict(r.hyper), r.schedule.name != "constant")
        if isinstance(plan, Unavailable):
            out[r.id] = plan.reason
    return out


@pytest.mark.parametrize("fmt", list(PLANS))
@pytest.mark.parametrize("case", list(ALL))
def test_script_prints_the_csv_of_every_run_it_can_reproduce(
    outputs: dict[tuple[str, str], tuple[str, str]], case: str, fmt: str
) -> None:
    csv, err = outputs[(case, fmt)]
    state = ALL[case]
    ours = rows(export_hash(state, "csv", max_steps=LIMIT).content.decode())
    theirs = rows(csv)
    assert theirs, "no run reproduced"
    skipped = {line.split()[1] for line in err.splitlines()}
    assert set(theirs) | skipped == set(ours) and not set(theirs) & skipped, (theirs.keys(), err)
    for run_id, reason in expected_skips(state, fmt).items():
        assert f"run {run_id} (" in err and reason in err
    for run_id, points in theirs.items():
        expected = ours[run_id]
        assert points.shape == expected.shape, run_id  # the same steps, the same stop
        assert np.allclose(points, expected, rtol=1e-9, atol=1e-12), (run_id, points - expected)
    lines = csv.splitlines()
    wanted = export_hash(state, "csv", max_steps=LIMIT).content.decode().splitlines()
    assert lines[0] == wanted[0]


def test_live_changes_and_decay_are_followed_by_both(
    outputs: dict[tuple[str, str], tuple[str, str]],
) -> None:
    for fmt in PLANS:
        theirs = rows(outputs[("decay", fmt)][0])
        assert {"a", "b", "c", "d", "e"} <= set(theirs), (fmt, theirs.keys())


def test_a_live_change_the_library_cannot_follow_leaves_the_run_out_and_says_why() -> None:
    # a momentum switched on live adds optax's trace, and variables Keras' SGD did not build
    state = "#surface=booth&steps=80&run=sgd,lr:0.01&run=adam,lr:0.1&chg=a,20,momentum:0.9"
    for fmt in PLANS:
        text = export_hash(state, fmt, max_steps=LIMIT).content.decode()
        skipped = text.split("SKIPPED = ")[1]
        assert "('a', 'sgd', 'its live change at step 20 changes" in skipped, fmt
        assert "'b'" not in skipped and "'id': 'b'" in text
    # a momentum changed from one non-zero value to another is followed by both (CASES formula)
    for fmt in PLANS:
        text = export_hash(CASES["formula"], fmt, max_steps=LIMIT).content.decode()
        assert "'id': 'a'" in text and "('a'," not in text.split("SKIPPED = ")[1]


def test_refused_when_no_run_can_be_reproduced_and_for_networks() -> None:
    with pytest.raises(FieldError) as exc:
        export_hash("#surface=booth&run=adagrad,lr:0.1&run=newton", "jax", max_steps=LIMIT)
    assert exc.value.field == "run" and "adagrad" in exc.value.message
    with pytest.raises(FieldError) as exc:
        export_hash("#surface=booth&run=rmsprop,lr:0.01", "keras", max_steps=LIMIT)
    assert exc.value.field == "run" and "epsilon inside the root" in exc.value.message
    for fmt in PLANS:
        with pytest.raises(FieldError) as exc:
            export_hash(NETWORK, fmt, max_steps=LIMIT)
        assert exc.value.field == "mode"


def test_rest_and_cli_write_the_scripts(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings()))
    for fmt in PLANS:
        r = client.get("/api/export", params={"state": ALL["decay"], "format": fmt})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/x-python")
        assert f'-{fmt}.py"' in r.headers["content-disposition"]
        assert r.content == export_hash(ALL["decay"], fmt, max_steps=LIMIT).content
        out = tmp_path / f"race-{fmt}.py"
        assert main(["export", "--state", ALL["decay"], "--format", fmt, "-o", str(out)]) == 0
        assert out.read_bytes() == r.content
    r = client.get("/api/export", params={"state": "surface=booth&run=adagrad", "format": "jax"})
    assert r.status_code == 422 and r.json()["field"] == "run"
