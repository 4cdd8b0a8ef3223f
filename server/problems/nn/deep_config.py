"""The configuration of a CNN or RNN network problem, as sent under ``"network"``.

``model`` picks the architecture (``mlp`` is today's ``NetworkConfig``): ``cnn`` trains on the
``digits``, ``rnn`` on a sequence task (``adding`` or ``sine_seq``). Every size has a cap; an
error names its field (``network.<key>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from server.problems.nn.datasets import InvalidConfig
from server.problems.nn.digits import COUNT
from server.problems.nn.problem import _choice, _integer, _real
from server.problems.nn.sequences import SEQUENCE_TASKS

MODELS: tuple[str, ...] = ("mlp", "cnn", "rnn")
DATASETS_OF: dict[str, tuple[str, ...]] = {"cnn": ("digits",), "rnn": SEQUENCE_TASKS}
MAX_FILTERS = 16
MAX_KERNEL = 5
MAX_HIDDEN = 32
MAX_SEQ_STEPS = 50
MAX_SEQUENCES = 2000
MAX_CLIP = 1000.0
COMMON = ("dataset", "model", "n", "test_fraction", "l2", "batch_size", "seed")
ONLY: dict[str, tuple[str, ...]] = {
    "cnn": ("filters", "kernel", "stride", "padding", "pool"),
    "rnn": ("hidden", "steps", "noise", "ahead", "recurrent_scale", "clip"),
}


@dataclass(frozen=True)
class DeepConfig:
    dataset: str = "digits"
    model: str = "cnn"
    n: int = COUNT
    test_fraction: float = 0.2
    l2: float = 0.0
    batch_size: int | None = 64
    seed: int = 0
    # cnn
    filters: int = 8
    kernel: int = 3
    stride: int = 1
    padding: int = 1
    pool: int = 2
    # rnn
    hidden: int = 16
    steps: int = 20
    noise: float = 0.1
    ahead: int = 3
    recurrent_scale: float = 1.0
    clip: float | None = None

    @classmethod
    def from_json(cls, data: object, prefix: str = "network") -> DeepConfig:
        if not isinstance(data, Mapping):
            raise InvalidConfig(prefix, "The network must be a JSON object")

        def where(key: str) -> str:
            return f"{prefix}.{key}"

        model = _choice(data.get("model", "cnn"), where("model"), ("cnn", "rnn"))
        allowed = COMMON + ONLY[model]
        for key in data:
            if key not in allowed:
                other = [m for m, keys in ONLY.items() if key in keys]
                hint = f" (it applies to model {other[0]})" if other else ""
                raise InvalidConfig(where(key), f"Unknown field {key!r} for model {model}{hint}")
        datasets = DATASETS_OF[model]
        d = cls() if model == "cnn" else cls(dataset="adding", model="rnn", n=1000, batch_size=32)
        dataset = _choice(data.get("dataset", d.dataset), where("dataset"), datasets)
        n_max = COUNT if model == "cnn" else MAX_SEQUENCES
        n = _integer(data.get("n", d.n), where("n"), 100, n_max)
        hidden_raw = data.get("hidden", d.hidden)
        if isinstance(hidden_raw, list | tuple):  # the MLP's list form, one layer
            if len(hidden_raw) != 1:
                raise InvalidConfig(where("hidden"), "An RNN has one hidden layer: give one width")
            hidden_raw = hidden_raw[0]
        batch_raw = data.get("batch_size", d.batch_size)
        clip_raw = data.get("clip", d.clip)
        config = cls(
            dataset=dataset,
            model=model,
            n=n,
            test_fraction=_real(
                data.get("test_fraction", d.test_fraction), where("test_fraction"), 0.05, 0.5
            ),
            l2=_real(data.get("l2", d.l2), where("l2"), 0.0, 10.0),
            batch_size=None
            if batch_raw is None
            else _integer(batch_raw, where("batch_size"), 1, n_max),
            seed=_integer(data.get("seed", d.seed), where("seed"), 0, 2**32 - 1),
            filters=_integer(data.get("filters", d.filters), where("filters"), 1, MAX_FILTERS),
            kernel=_integer(data.get("kernel", d.kernel), where("kernel"), 1, MAX_KERNEL),
            stride=_integer(data.get("stride", d.stride), where("stride"), 1, 2),
            padding=_integer(data.get("padding", d.padding), where("padding"), 0, 2),
            pool=_integer(data.get("pool", d.pool), where("pool"), 1, 2),
            hidden=_integer(hidden_raw, where("hidden"), 1, MAX_HIDDEN),
            steps=_integer(data.get("steps", d.steps), where("steps"), 2, MAX_SEQ_STEPS),
            noise=_real(data.get("noise", d.noise), where("noise"), 0.0, 1.0),
            ahead=_integer(data.get("ahead", d.ahead), where("ahead"), 1, 10),
            recurrent_scale=_real(
                data.get("recurrent_scale", d.recurrent_scale), where("recurrent_scale"), 0.1, 4.0
            ),
            clip=None if clip_raw is None else check_clip(clip_raw, where("clip")),
        )
        return config

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        keep = COMMON + ONLY[self.model]
        return {k: v for k, v in out.items() if k in keep}


def check_clip(value: object, field: str) -> float:
    """A clipping threshold: a number in (0, MAX_CLIP]."""
    number = _real(value, field, 0.0, MAX_CLIP)
    if number <= 0.0:
        raise InvalidConfig(
            field, f"Invalid {field}: {value} (above 0, at most {MAX_CLIP:g}; null for no clipping)"
        )
    return number
