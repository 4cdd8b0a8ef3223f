"""The race as data: CSV rows and a JSON document. Every number is finite (paths stop at the last
finite point), so the JSON never holds NaN or Infinity."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from server import __version__
from server.export.compute import RaceResult
from server.export.state import format_hash
from server.jsonenc import dumps

CSV_HEADER = "run,optimizer,step,x,y,loss"


def to_csv(result: RaceResult) -> bytes:
    """One row per point: ``run,optimizer,step,x,y,loss`` with floats written round-trip exact."""
    out = io.StringIO()
    out.write(CSV_HEADER + "\n")
    for run in result.runs:
        for k, (x, y, loss) in enumerate(run.points.tolist()):
            out.write(f"{run.id},{run.optimizer},{k},{x!r},{y!r},{loss!r}\n")
    return out.getvalue().encode()


def document(result: RaceResult) -> dict[str, Any]:
    """The JSON document: the state (as the hash and as fields), the surface and every run."""
    s = result.state
    surface = result.surface
    return {
        "gradscape": __version__,
        "hash": format_hash(s),
        "state": {
            "surface": s.surface,
            "params": dict(s.params),
            "expression": s.expr if s.custom else None,
            "domain": [list(surface.domain[0]), list(surface.domain[1])],
            "start": list(result.start),
            "seed": s.seed,
            "steps": s.steps,
        },
        "surface": {
            "title": surface.title,
            "formula": surface.formula,
            "minima": [list(m) for m in surface.minima],
        },
        "runs": [
            {
                "id": r.id,
                "optimizer": r.optimizer,
                "title": r.title,
                "hyper": dict(r.hyper),
                "schedule": dict(r.schedule) if r.schedule is not None else None,
                "noise": r.noise,
                "status": r.status,
                "stop_step": r.stop_step,
                "steps": len(r.points) - 1,
                "points": np.ascontiguousarray(r.points),
            }
            for r in result.runs
        ],
    }


def to_json(result: RaceResult) -> bytes:
    return dumps(document(result))
