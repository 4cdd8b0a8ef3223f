"""``gradscape basin``, ``gradscape sweep`` and ``gradscape tune``: the analysis from a shell.

Each prints a table, or writes ``-o FILE``: CSV (one row a cell, a learning rate or an
optimizer) or, for basin and sweep, a PNG picture (Pillow).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from server.analysis.basin import basin
from server.analysis.requests import BasinRequest, SweepRequest, TuneRequest
from server.analysis.sweep import sweep
from server.analysis.tune import tune
from server.errors import FieldError, from_validation

COLOURS = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (188, 189, 34),
]
NONE_COLOUR, DIVERGED_COLOUR = (200, 200, 200), (30, 30, 30)


def _value(text: str) -> float | bool:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return float(text)


def _problem(args: argparse.Namespace) -> dict[str, Any]:
    params = dict(_pairs(args.param))
    if args.expression:
        return {"expression": args.expression}
    return {"surface": args.surface, "params": params}


def _pairs(items: list[str]) -> list[tuple[str, float | bool]]:
    out = []
    for item in items:
        name, _, raw = item.partition("=")
        try:
            out.append((name, _value(raw)))
        except ValueError:
            raise FieldError(name, f"{item}: expected NAME=NUMBER") from None
    return out


def _write(
    args: argparse.Namespace, rows: list[list[Any]], png: Callable[[], bytes] | None
) -> None:
    if args.output and args.output.lower().endswith(".png"):
        if png is None:
            raise FieldError("output", "this command writes CSV, not PNG")
        with open(args.output, "wb") as f:
            f.write(png())
    else:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        if args.output:
            with open(args.output, "w") as f:
                f.write(text.getvalue())
        else:
            sys.stdout.write(text.getvalue())
            return
    print(f"wrote {args.output}", file=sys.stderr)


def _png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (width, height))
    image.putdata([pixel(i, j) for i in range(height) for j in range(width)])
    scale = max(1, 400 // max(width, height))
    image = image.resize((width * scale, height * scale), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def run_basin(args: argparse.Namespace) -> None:
    body = BasinRequest(
        **_problem(args),
        optimizer=args.optimizer,
        hyper=dict(_pairs(args.hyper)),
        steps=args.steps,
        n=args.n,
        tol=args.tol,
    )
    out = basin(body)
    n = len(out["x"])
    if args.output:
        rows: list[list[Any]] = [["x", "y", "minimum", "steps"]]
        for i, y in enumerate(out["y"]):
            for j, x in enumerate(out["x"]):
                s = out["steps"][i][j]
                rows.append(
                    [repr(float(x)), repr(float(y)), out["minimum"][i][j], "" if s is None else s]
                )

        def pixel(i: int, j: int) -> tuple[int, int, int]:
            k = out["minimum"][n - 1 - i][j]  # y up
            return DIVERGED_COLOUR if k == -2 else NONE_COLOUR if k == -1 else COLOURS[k % 8]

        _write(args, rows, lambda: _png(n, n, pixel))
        return
    cells = [
        (k, s)
        for mins, steps in zip(out["minimum"], out["steps"], strict=True)
        for k, s in zip(mins, steps, strict=True)
    ]
    print(f"{'minimum':<28}{'cells':>8}{'share':>8}{'median steps':>14}")
    labels = {-1: "none", -2: "diverged"}
    for k in sorted({k for k, _ in cells}, key=lambda v: (v < 0, abs(v))):
        chosen = sorted(s for kk, s in cells if kk == k and s is not None)
        if k >= 0:
            mx, my = out["minima"][k][:2]
            label = f"{k}: ({mx:.4g}, {my:.4g})"
        else:
            label = labels[k]
        median = chosen[len(chosen) // 2] if chosen else "-"
        share = sum(kk == k for kk, _ in cells) / len(cells)
        print(f"{label:<28}{sum(kk == k for kk, _ in cells):>8}{share:>8.1%}{median!s:>14}")


def run_sweep(args: argparse.Namespace) -> None:
    body = SweepRequest(
        **_problem(args),
        optimizer=args.optimizer,
        hyper=dict(_pairs(args.hyper)),
        steps=args.steps,
        n=args.n,
        lr_min=args.lr_min,
        lr_max=args.lr_max,
        start=tuple(args.start) if args.start else None,
        tol=args.tol,
    )
    out = sweep(body)
    rows: list[list[Any]] = [["lr", "final_loss", "diverged", "steps_to_tol"]]
    for lr, loss, d, s in zip(
        out["lr"], out["final_loss"], out["diverged"], out["steps_to_tol"], strict=True
    ):
        rows.append([repr(float(lr)), repr(float(loss)), d, "" if s is None else s])
    if args.output:

        def pixel(i: int, j: int) -> tuple[int, int, int]:
            finite = [
                math.log10(max(float(v), 1e-300)) for v in out["final_loss"] if math.isfinite(v)
            ]
            lo, hi = min(finite), max(finite)
            v = float(out["final_loss"][j])
            level = 0 if hi == lo else round((math.log10(max(v, 1e-300)) - lo) / (hi - lo) * 99)
            return (
                DIVERGED_COLOUR
                if out["diverged"][j]
                else ((31, 119, 180) if 99 - i <= level else (255, 255, 255))
            )

        _write(args, rows, lambda: _png(len(out["lr"]), 100, pixel))
        return
    predicted = out["predicted_edge"]
    print(f"{'lr':>12}{'final loss':>14}{'diverged':>10}{'steps to tol':>14}")
    for lr, loss, d, s in rows[1:]:
        print(f"{float(lr):>12.4g}{float(loss):>14.4g}{'yes' if d else '':>10}{s!s:>14}")
    print(f"measured divergence edge: {out['edge']}")
    if predicted:
        print(f"predicted edge at the start: {predicted['formula']} = {predicted['lr']:.4g}")


def run_tune(args: argparse.Namespace) -> None:
    fields: dict[str, Any] = {}
    if args.optimizers:
        fields["optimizers"] = args.optimizers.split(",")
    body = TuneRequest(
        **_problem(args),
        **fields,
        trials=args.trials,
        steps=args.steps,
        criterion=args.criterion,
        starts=args.starts,
        n_starts=args.n_starts,
        seed=args.seed,
        tol=args.tol,
        lr_min=args.lr_min,
        lr_max=args.lr_max,
        second=args.second,
        start=tuple(args.start) if args.start else None,
    )
    out = tune(body)
    board = out["leaderboard"]
    head = [
        "rank",
        "optimizer",
        "tuned",
        "score",
        "reached",
        "final_loss",
        "distance",
        "diverged_trials",
    ]
    rows: list[list[Any]] = [head]
    for r in board:
        tuned = " ".join(f"{k}={v:.4g}" for k, v in r["hyper"].items())
        rows.append(
            [
                r["rank"],
                r["optimizer"],
                tuned,
                r["score"],
                r["reached"],
                r["final_loss"],
                r["distance"],
                r["diverged_trials"],
            ]
        )
    if args.output:
        _write(args, rows, None)
        return
    b = out["budget"]
    print(
        f"budget per optimizer: {b['trials']} trials x {b['starts']} start(s) x {b['steps']} steps;"
        f" criterion {out['criterion']} (tol {out['tol']:g})"
    )
    print(
        f"{'#':>3} {'optimizer':<10}{'tuned':<28}{'score':>9}{'reached':>9}{'final loss':>12}"
        f"{'distance':>10}{'diverged':>10}"
    )
    for r in rows[1:]:
        dist = "-" if r[6] is None else f"{r[6]:.3g}"
        print(
            f"{r[0]:>3} {r[1]:<10}{r[2]:<28}{r[3]:>9.4g}{r[4]:>9}{r[5]:>12.4g}{dist:>10}{r[7]:>10}"
        )


def _common(p: argparse.ArgumentParser, steps: int) -> None:
    p.add_argument("--surface", default="himmelblau")
    p.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="surface parameter"
    )
    p.add_argument("--expression", help="a formula in x and y instead of --surface")
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write CSV, or PNG for .png (default: a table)"
    )


def register(sub: Any) -> None:
    b = sub.add_parser("basin", help="basin map: where a run from each cell of a grid ends")
    _common(b, 500)
    b.add_argument("--optimizer", default="adam")
    b.add_argument("--hyper", action="append", default=[], metavar="NAME=VALUE")
    b.add_argument("--n", type=int, default=100, help="grid size (n x n, at most 250)")
    b.set_defaults(func=main_of(run_basin))
    s = sub.add_parser("sweep", help="learning-rate sweep: final loss against lr, one batch")
    _common(s, 500)
    s.add_argument("--optimizer", default="sgd")
    s.add_argument("--hyper", action="append", default=[], metavar="NAME=VALUE")
    s.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"))
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--lr-min", type=float, default=1e-5)
    s.add_argument("--lr-max", type=float, default=10.0)
    s.set_defaults(func=main_of(run_sweep))
    t = sub.add_parser("tune", help="tune every optimizer with the same budget; a leaderboard")
    _common(t, 500)
    t.add_argument("--optimizers", help="comma-separated (default: all)")
    t.add_argument("--trials", type=int, default=16)
    t.add_argument("--criterion", choices=["steps", "final_loss"], default="steps")
    t.add_argument("--starts", choices=["current", "random"], default="current")
    t.add_argument("--n-starts", type=int, default=4)
    t.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"))
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--lr-min", type=float, default=1e-4)
    t.add_argument("--lr-max", type=float, default=1.0)
    t.add_argument("--second", action="store_true", help="also tune the main other hyperparameter")
    t.set_defaults(func=main_of(run_tune))


def main_of(run: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], int]:
    def main(args: argparse.Namespace) -> int:
        try:
            run(args)
        except ValidationError as exc:
            print(f"error: {from_validation(exc).message}", file=sys.stderr)
            return 2
        except FieldError as exc:
            print(f"error: {exc.field}: {exc.message}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"error: -o {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        return 0

    return main
