"""The ``net=`` field of a network race's hash (static/js/state.js's ``net`` codec) in Python.

The head names the data set, and the data set the model: the toy 2D sets and ``sine`` train an
MLP, ``digits`` the CNN, ``adding`` and ``sine_seq`` the RNN. Each model writes only its items:

- MLP: ``spiral,n:400,noise:0.1,hidden:16-16,act:tanh,batch:full,torch:1,arms:2``
- CNN: ``digits,n:1797,batch:64,torch:1,filters:8,kernel:3,stride:1,padding:1,pool:2``
- RNN: ``adding,n:1000,batch:32,torch:1,hidden:16,steps:20,scale:1,clip:none``
  (``sine_seq`` adds ``noise:`` after ``n`` and ``ahead:`` after ``steps``)

``clip`` is the RNN's gradient clipping threshold (``none``: off); a live ``clip`` change on the
page is written here, so a link restarts with the threshold in force when it was copied.
Bounds are the page's (it keeps a default for what it cannot read; this raises a FieldError
naming ``net.<item>``); the server checks the caps when the race starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from server.errors import FieldError
from server.export.jsvalues import esc, js_number, read_number, unesc

MLP_DATASETS = ("spiral", "moons", "circles", "xor", "blobs", "sine")
DEEP_MODEL = {"digits": "cnn", "adding": "rnn", "sine_seq": "rnn"}
DATASETS = MLP_DATASETS + tuple(DEEP_MODEL)
ACTIVATIONS = ("tanh", "relu", "leaky_relu", "sigmoid", "gelu")
CNN_ITEMS = ("filters", "kernel", "stride", "padding", "pool")


@dataclass(frozen=True)
class NetState:
    """The page's NetState: one record for every model, each using its own fields."""

    dataset: str = "spiral"
    n: int = 400
    noise: float = 0.1
    hidden: tuple[int, ...] = (16, 16)
    activation: str = "tanh"
    batch: int | None = None  # None: full batch
    torch: bool = True
    arms: int = 2
    classes: int = 3
    filters: int = 8
    kernel: int = 3
    stride: int = 1
    padding: int = 1
    pool: int = 2
    units: int = 16  # the RNN's hidden width (``hidden:`` in the hash)
    length: int = 20  # time steps of a sequence (``steps:`` in the hash)
    ahead: int = 3
    scale: float = 1.0  # the recurrent weights' initial scale (``recurrent_scale``)
    clip: float | None = None

    @property
    def model(self) -> str:
        return DEEP_MODEL.get(self.dataset, "mlp")


DEFAULT_NET = NetState()
# what a data set starts with when the hash does not say (the page's defaults for it)
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"n": 1797, "batch": 64},
    "adding": {"n": 1000, "batch": 32},
    "sine_seq": {"n": 1000, "batch": 32},
}


def net_default(dataset: str) -> NetState:
    return replace(DEFAULT_NET, dataset=dataset, **DATASET_DEFAULTS.get(dataset, {}))


def format_net(net: NetState) -> str:
    """``net``'s hash text, as the page writes it."""
    batch = "full" if net.batch is None else str(net.batch)
    torch = f"torch:{1 if net.torch else 0}"
    if net.model == "mlp":
        items = [
            f"n:{net.n}",
            f"noise:{js_number(net.noise)}",
            "hidden:" + "-".join(map(str, net.hidden)),
            f"act:{esc(net.activation)}",
            f"batch:{batch}",
            torch,
        ]
        if net.dataset == "spiral":
            items.append(f"arms:{net.arms}")
        if net.dataset == "blobs":
            items.append(f"classes:{net.classes}")
    elif net.model == "cnn":
        items = [f"n:{net.n}", f"batch:{batch}", torch]
        items += [f"{k}:{getattr(net, k)}" for k in CNN_ITEMS]
    else:
        sine = net.dataset == "sine_seq"
        items = [f"n:{net.n}", *([f"noise:{js_number(net.noise)}"] if sine else [])]
        items += [f"batch:{batch}", torch, f"hidden:{net.units}", f"steps:{net.length}"]
        items += [f"ahead:{net.ahead}"] if sine else []
        clip = "none" if net.clip is None else js_number(net.clip)
        items += [f"scale:{js_number(net.scale)}", f"clip:{clip}"]
    return ",".join([esc(net.dataset), *items])


def parse_net(text: str) -> NetState:
    """Read ``net=`` text; FieldError ``net`` or ``net.<item>`` for what the page could not write."""
    head, *rest = text.split(",")
    dataset = unesc(head)
    if dataset not in DATASETS:
        raise FieldError("net", f"net: {dataset!r} is not a data set ({', '.join(DATASETS)})")
    items: dict[str, str] = {}
    for item in rest:
        key, colon, raw = item.partition(":")
        if not colon or not key:
            raise FieldError("net", f"net: {item!r} is not name:value")
        items[unesc(key)] = raw

    def number(key: str, low: float, whole: bool) -> float | None:
        raw = items.get(key)
        if raw is None:
            return None
        v = read_number(raw)
        if v is None or v < low or (whole and v != int(v)):
            kind = "a whole number" if whole else "a number"
            raise FieldError(f"net.{key}", f"net.{key}={raw!r} is not {kind} >= {low:g}")
        return v

    values: dict[str, Any] = {}

    def take(key: str, prop: str, low: float, whole: bool = True) -> None:
        v = number(key, low, whole)
        if v is not None:
            values[prop] = int(v) if whole else v

    take("n", "n", 10)
    take("noise", "noise", 0, whole=False)
    if "batch" in items and items["batch"] != "full":
        take("batch", "batch", 1)
    elif "batch" in items:
        values["batch"] = None
    if "torch" in items:
        values["torch"] = items["torch"] not in ("0", "false")
    model = DEEP_MODEL.get(dataset, "mlp")
    if model == "mlp":
        if "hidden" in items:
            values["hidden"] = _widths(items["hidden"])
        if "act" in items:
            act = unesc(items["act"])
            if act not in ACTIVATIONS:
                raise FieldError(
                    "net.act", f"net.act={act!r} is not one of {', '.join(ACTIVATIONS)}"
                )
            values["activation"] = act
        take("arms", "arms", 2)
        take("classes", "classes", 2)
    elif model == "cnn":
        for key in CNN_ITEMS:
            take(key, key, 0 if key == "padding" else 1)
    else:
        take("hidden", "units", 1)
        take("steps", "length", 2)
        take("ahead", "ahead", 1)
        v = number("scale", 0, whole=False)
        if v is not None:
            if v <= 0:
                raise FieldError("net.scale", f"net.scale={items['scale']!r} must be above 0")
            values["scale"] = v
        if items.get("clip", "none") != "none":
            clip = number("clip", 0, whole=False)
            if not clip:
                raise FieldError("net.clip", "net.clip must be above 0, or none for no clipping")
            values["clip"] = clip
    return replace(net_default(dataset), **values)


def _widths(text: str) -> tuple[int, ...]:
    """The MLP's hidden widths, ``16-16`` (the page's parseHidden: 1..64 each, at most 6)."""
    if text.strip() == "":
        return ()
    parts = [p for p in text.replace(",", "-").split("-") if p]
    if len(parts) > 6 or not all(p.isdigit() and 1 <= int(p) <= 64 for p in parts):
        raise FieldError("net.hidden", f"net.hidden={text!r}: widths 1 to 64, at most 6 layers")
    return tuple(int(p) for p in parts)


def network_problem(net: NetState) -> dict[str, Any]:
    """The ``network`` of the start message the page sends for ``net`` (modes.js problemOf)."""
    if net.model == "mlp":
        return {
            "dataset": net.dataset,
            "n": net.n,
            "noise": net.noise,
            "hidden": list(net.hidden),
            "activation": net.activation,
            "batch_size": net.batch,
            "arms": net.arms,
            "classes": net.classes,
            "torch": net.torch,
        }
    out: dict[str, Any] = {"model": net.model, "dataset": net.dataset, "n": net.n}
    out["batch_size"] = net.batch
    if net.model == "cnn":
        out |= {k: getattr(net, k) for k in CNN_ITEMS}
    else:
        out |= {"hidden": net.units, "steps": net.length, "recurrent_scale": net.scale}
        out["clip"] = net.clip
        if net.dataset == "sine_seq":
            out |= {"noise": net.noise, "ahead": net.ahead}
    out["torch"] = net.torch
    return out
