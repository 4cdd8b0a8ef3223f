"""`--format numpy|torch|ipynb`: each exported script runs in its own Python process and prints
the CSV of the live run (the server's export compute, which builds the race as the websocket's
`start` does and replays the live changes at their acked steps).

numpy: the very text of `--format csv` (bit for bit), and no module of ours imported. torch:
the same rows, every number within 1e-9 (autograd's gradient and torch.optim round differently
from our closed forms, within ~1e-13 on these races). One notebook is executed with nbclient.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from fastapi.testclient import TestClient
from nbclient import NotebookClient

from server.__main__ import main
from server.app import create_app
from server.errors import FieldError
from server.export import export_hash
from server.settings import Settings

from ..server.conftest import TEST_ORIGIN, session

LIMIT = 5000
CASES = {
    # sgd with momentum + nesterov, adam, adamw, rmsprop centered, adagrad, lion; an lr change
    # mid-race on adam (b) and on lion (g), a step schedule on adagrad (f)
    "optimizers": "#surface=rosenbrock&seed=1&steps=300&run=sgd,lr:0.0005,momentum:0.9,"
    "nesterov:true&run=adam,lr:0.05&run=adamw,lr:0.03,weight_decay:0.05&run=rmsprop,lr:0.003,"
    "centered:true,momentum:0.3&run=momentum,lr:0.0004&run=adagrad,lr:0.4,sched:step,"
    "sched.step_size:40,sched.gamma:0.7&run=lion,lr:0.005&chg=b,120,lr:0.01&chg=g,80,lr:0.002",
    # schedules (cosine with warmup, exponential, one-cycle outlasted), noise switched off live,
    # a schedule set live on a running run (torch then sets the rate itself), Newton
    "schedules": "#surface=himmelblau&seed=7&steps=250&run=adam,lr:0.05,sched:cosine,"
    "sched.T_max:150,sched.warmup:20&run=sgd,lr:0.01,noise:0.3,sched:exponential,"
    "sched.gamma:0.99&run=adam,lr:0.05,sched:one_cycle,sched.total_steps:100&run=radam,lr:0.05"
    "&run=newton,lr:0.5&chg=b,60,noise:0&chg=d,100,sched:step,sched.step_size:30&chg=c,90,lr:0.02",
    # a custom formula (its evaluator written out), with momentum, amsgrad and Newton
    "formula": "#surface=custom&expr=x%5E2%2B2*y%5E2%2Bsin(x%2By)%2Bexp(0.3*x)&start=1.8,-1.2"
    "&seed=3&steps=200&run=momentum,lr:0.02&run=amsgrad,lr:0.05&run=newton,lr:0.7"
    "&chg=a,50,momentum:0.5",
}
# an MLP on moons in mini-batches: adam, momentum with an lr change, rmsprop on a cosine schedule
NETWORK = (
    "#mode=network&net=moons,n:80,noise:0.1,hidden:4-3,act:tanh,batch:16,torch:1&seed=3"
    "&steps=120&run=adam,lr:0.02&run=momentum,lr:0.3&run=rmsprop,lr:0.01,sched:cosine,"
    "sched.T_max:60&chg=b,40,lr:0.1"
)
CHECK_IMPORTS = (
    "import runpy, sys\n"
    "runpy.run_path(sys.argv[1], run_name='__main__')\n"
    "ours = sorted(m for m in sys.modules if m.split('.')[0] in ('server', 'gradscape'))\n"
    "assert not ours, ours\n"
)


def _file(state: str, fmt: str) -> bytes:
    return export_hash(state, fmt, max_steps=LIMIT).content


def _rows(text: str) -> dict[str, np.ndarray]:
    lines = text.splitlines()
    assert lines[0] == "run,optimizer,step,x,y,loss"
    runs: dict[str, list[list[float]]] = {}
    for line in lines[1:]:
        run, _, step, *xyz = line.split(",")
        points = runs.setdefault(run, [])
        assert int(step) == len(points)
        points.append([float(v) for v in xyz])
    return {run: np.array(points) for run, points in runs.items()}


def _run(path: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-I", *args, str(path)],
        capture_output=True,
        text=True,
        cwd=path.parent,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" or "Warning" not in done.stderr, done.stderr
    return done.stdout


@pytest.mark.parametrize("case", list(CASES))
def test_numpy_script_prints_the_live_csv_bit_for_bit(case: str, tmp_path: Path) -> None:
    state = CASES[case]
    script = tmp_path / "race.py"
    script.write_bytes(_file(state, "numpy"))
    expected = _file(state, "csv").decode()
    out = _run(script, "-c", CHECK_IMPORTS)  # also: it imported no module of ours
    assert out == expected
    rows = _rows(out)
    assert len(rows) == state.count("run=") and all(len(p) > 3 for p in rows.values())


RUN_EACH = (
    "import contextlib, io, runpy, sys\n"
    "for path in sys.argv[1:]:\n"
    "    out = io.StringIO()\n"
    "    with contextlib.redirect_stdout(out):\n"
    "        runpy.run_path(path, run_name='__main__')\n"
    "    open(path + '.csv', 'w').write(out.getvalue())\n"
)


@pytest.fixture(scope="module")
def torch_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every case's torch script run, in one process (importing torch takes seconds)."""
    folder = tmp_path_factory.mktemp("torch")
    paths = []
    for case, state in {**CASES, "network": NETWORK}.items():
        text = _file(state, "torch").decode()
        assert "torch.optim." in text and "torch.autograd.grad" in text
        paths.append(folder / f"{case}.py")
        paths[-1].write_text(text)
    done = subprocess.run(
        [sys.executable, "-I", "-c", RUN_EACH, *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    cases = [*CASES, "network"]
    return {case: Path(f"{path}.csv").read_text() for case, path in zip(cases, paths, strict=True)}


@pytest.mark.parametrize("case", list(CASES))
def test_torch_script_follows_the_live_path_to_1e_9(
    case: str, torch_outputs: dict[str, str]
) -> None:
    ours, theirs = _rows(_file(CASES[case], "csv").decode()), _rows(torch_outputs[case])
    assert ours.keys() == theirs.keys()
    for run, points in ours.items():
        assert theirs[run].shape == points.shape, run
        np.testing.assert_allclose(theirs[run], points, rtol=1e-9, atol=1e-9, err_msg=run)


def _losses(text: str) -> dict[str, np.ndarray]:
    lines = text.splitlines()
    assert lines[0] == "run,optimizer,step,loss"
    runs: dict[str, list[float]] = {}
    for line in lines[1:]:
        run, _, step, loss = line.split(",")
        assert int(step) == len(runs.setdefault(run, []))
        runs[run].append(float(loss))
    return {run: np.array(losses) for run, losses in runs.items()}


def test_network_numpy_script_prints_the_live_losses_bit_for_bit(tmp_path: Path) -> None:
    script = tmp_path / "net.py"
    script.write_bytes(_file(NETWORK, "numpy"))
    expected = _file(NETWORK, "csv").decode()
    out = _run(script, "-c", CHECK_IMPORTS)
    assert out == expected
    losses = _losses(out)
    assert [len(v) for v in losses.values()] == [121, 121, 121]
    assert all(v[-1] < v[0] for v in losses.values())  # they learn


def test_network_torch_script_follows_the_live_losses_to_1e_9(
    torch_outputs: dict[str, str],
) -> None:
    ours, theirs = _losses(_file(NETWORK, "csv").decode()), _losses(torch_outputs["network"])
    assert ours.keys() == theirs.keys()
    for run, losses in ours.items():
        np.testing.assert_allclose(theirs[run], losses, rtol=1e-9, atol=1e-9, err_msg=run)
    text = _file(NETWORK, "torch").decode()
    assert "torch.nn.Sequential(" in text and "torch.nn.Tanh()" in text
    assert "torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=60" in text


def test_a_network_too_large_to_compute_is_refused_but_its_scripts_are_written() -> None:
    big = "#mode=network&net=spiral,n:2000,hidden:64-64-64,batch:full&steps=5000&run=adam"
    with pytest.raises(FieldError) as err:
        _file(big, "csv")
    assert err.value.field == "steps" and "too large" in err.value.message
    assert "class Tanh" in _file(big, "numpy").decode()
    with pytest.raises(FieldError) as err:
        _file("#mode=network&net=digits", "torch")
    assert err.value.field == "net" and "cnn" in err.value.message


def test_network_notebook_holds_both_trainings() -> None:
    notebook = nbformat.reads(_file(NETWORK, "ipynb").decode(), as_version=4)
    nbformat.validate(notebook)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    for source in code:
        compile(source, "cell", "exec")
    assert "class Tanh" in code[0] and "torch.nn.Sequential(" in code[2]
    assert 'yaxis_title="training loss"' in code[-1]


def test_numpy_script_replays_a_live_websocket_race_with_its_set(tmp_path: Path) -> None:
    """The page's link of a race steered over a real websocket (a `set` acked mid-race):
    its numpy script prints the very points the session streamed."""
    start = {
        "type": "start",
        "problem": {"surface": "himmelblau"},
        "runs": [
            {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.05}, "start": [-0.5, -1.5]},
            {"id": "b", "optimizer": "momentum", "hyper": {"lr": 0.001}, "start": [-0.5, -1.5]},
        ],
        "seed": 2,
        "max_steps": 120,
        "paused": True,
    }
    streamed: dict[str, list[list[float]]] = {"a": [], "b": []}
    with (
        TestClient(create_app(Settings(allowed_origins=[TEST_ORIGIN]))) as client,
        session(client) as ws,
    ):
        ws.send_json(start)
        ws.send_json({"type": "step", "n": 30})
        ws.send_json({"type": "set", "run": "a", "hyper": {"lr": 0.01}})
        ws.send_json({"type": "step", "n": 90})
        acked: int | None = None
        ended: set[str] = set()
        while len(ended) < 2:
            m = ws.receive_json()
            if m["type"] == "frame":
                for run, f in m["runs"].items():
                    assert f["step"] == len(streamed[run])
                    streamed[run] += [list(p) for p in zip(f["x"], f["y"], f["loss"], strict=True)]
            elif m["type"] == "ack" and m["of"] == "set":
                acked = m["step"]
            elif m["type"] == "event" and m["event"] in ("finished", "converged"):
                ended.add(m["run"])
    assert acked == 31
    link = (
        "#surface=himmelblau&start=-0.5,-1.5&seed=2&steps=120&run=adam,lr:0.05"
        f"&run=momentum,lr:0.001&chg=a,{acked},lr:0.01"
    )
    script = tmp_path / "live.py"
    script.write_bytes(_file(link, "numpy"))
    printed = _rows(_run(script))
    for run, points in streamed.items():
        assert printed[run].tolist() == points, run  # every bit
    assert len(points) == 121


def test_torch_uses_the_schedulers_and_sets_the_rate_only_where_they_cannot_follow() -> None:
    text = _file(CASES["schedules"], "torch").decode()
    assert "torch.optim.lr_scheduler.SequentialLR(" in text  # cosine with warmup
    assert "torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.99)" in text
    assert text.count("'rate': 'closed'") == 2  # one-cycle outlasted; a schedule set live
    assert "class Newton(torch.optim.Optimizer)" in text
    lion = _file(CASES["optimizers"], "torch").decode()
    assert "class Lion(torch.optim.Optimizer)" in lion
    assert "torch.optim.SGD([p], lr=0.0005, momentum=0.9" in lion and "nesterov=True" in lion
    assert "torch.optim.lr_scheduler.StepLR(optimizer, step_size=40, gamma=0.7)" in lion


def test_numpy_script_holds_our_own_code() -> None:
    text = _file(CASES["optimizers"], "numpy").decode()
    adam = Path("server/optim/adam.py").read_text()
    assert "mu = lerp(state.mu, g, 1.0 - beta1)" in adam  # the line below is adam.py's
    assert "        mu = lerp(state.mu, g, 1.0 - beta1)\n" in text
    assert "def _rosenbrock_grad(x: Array, y: Array, k: Params)" in text
    assert "def _step(p: Mapping[str, ParamValue], base: Array, t: IntArray)" in text
    assert "type: ignore" not in text and "import server" not in text


def test_notebook_runs_both_scripts_and_draws_the_paths(tmp_path: Path) -> None:
    state = "#surface=booth&seed=2&steps=40&run=adam,lr:0.3&run=nesterov,lr:0.02&chg=a,10,lr:0.1"
    notebook = nbformat.reads(_file(state, "ipynb").decode(), as_version=4)
    nbformat.validate(notebook)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute(cwd=str(tmp_path))
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert text.count("same steps largest difference") == 2
    gaps = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if "difference" in line]
    assert max(gaps) < 1e-9
    csv = _file(state, "csv").decode().splitlines()
    assert "\n".join(csv[:4]) in text  # the notebook's first rows are the CSV's
    figures = [o["data"] for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) == 1
    traces = figures[0]["application/vnd.plotly.v1+json"]["data"]
    assert [t["type"] for t in traces] == ["contour", "scatter", "scatter"]
    xs = traces[1]["x"]  # plotly sends arrays as base64 of their bytes
    assert len(np.frombuffer(base64.b64decode(xs["bdata"]), dtype=xs["dtype"])) == 41


def test_route_and_cli_serve_the_scripts(tmp_path: Path) -> None:
    state = "#surface=booth&seed=2&steps=60&run=adam,lr:0.3"
    with TestClient(create_app(Settings(max_trajectory_steps=LIMIT))) as api:
        for fmt, media, name in [
            ("numpy", "text/x-python", "gradscape-booth-numpy.py"),
            ("torch", "text/x-python", "gradscape-booth-torch.py"),
            ("ipynb", "application/x-ipynb+json", "gradscape-booth.ipynb"),
        ]:
            r = api.get("/api/export", params={"state": state, "format": fmt})
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].startswith(media)
            assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
            assert r.content == _file(state, fmt)
        bad = api.get("/api/export", params={"state": "#steps=9999", "format": "torch"})
        assert bad.status_code == 422 and bad.json()["field"] == "steps"
    out = tmp_path / "race.py"  # a .py file means numpy
    assert main(["export", "--state", state, "-o", str(out)]) == 0
    assert out.read_bytes() == _file(state, "numpy")
    assert main(["export", "--state", state, "-o", str(tmp_path / "r.ipynb")]) == 0
    assert json.loads((tmp_path / "r.ipynb").read_text())["nbformat"] == 4
    assert main(["export", "--state", "#run=adam,lr:-1", "--format", "torch"]) == 2
