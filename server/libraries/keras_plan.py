"""Our optimizers as Keras 3 optimizers (``keras`` 3.15, JAX backend), exactly, or why not.

Keras' ``weight_decay`` is decoupled (``θ ← θ − γλθ`` before the step, AdamW's): our decoupled
decay maps to it; our coupled ``weight_decay`` (torch's L2 in the gradient) becomes ``Plan.l2``,
added to the gradient as an L2 penalty in the loss would add it. Every claim below is checked by
``tests/libraries``.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.libraries.plan import Arg, Call, Plan, Unavailable, eps_hat, rate

EPS_HAT = (
    "Keras adds epsilon to √v before v's bias correction (Kingma & Ba's ε̂), torch and Gradscape "
    "add eps to √v̂: we pass epsilon = eps·√(1 − β₂ᵗ) before each update t, which makes the "
    "denominators equal"
)
L2 = (
    "Keras' weight_decay is decoupled (AdamW's), so torch's L2 weight_decay is added to the "
    "gradient instead, λθ, as keras.regularizers.L2(λ/2) on the weights would"
)
NO_KERAS: dict[str, str] = {
    "adagrad": (
        "keras.optimizers.Adagrad divides by √(accumulator + epsilon) (epsilon inside the root); "
        "torch and Gradscape divide by √G + eps. No Keras setting gives that denominator."
    ),
    "rmsprop": (
        "keras.optimizers.RMSprop divides by √(v + epsilon) (epsilon inside the root); torch and "
        "Gradscape divide by √v + eps. No Keras setting gives that denominator."
    ),
    "adamax": (
        "keras.optimizers.Adamax adds epsilon after the maximum (m / (u + ε) with "
        "u = max(β₂u, |g|)); torch and Gradscape add it inside (u = max(β₂u, |g| + eps))."
    ),
    "nadam": (
        "keras.optimizers.Nadam warms its momentum up with μ_t = β₁(1 − ½·0.96ᵗ), which is torch's "
        "NAdam with momentum_decay = 1; Gradscape allows momentum_decay up to 0.1 (default 0.004)."
    ),
    "radam": "Keras has no RAdam.",
    "rprop": "Keras has no Rprop.",
    "newton": "Keras has no Newton step: its optimizers never see the Hessian.",
}
VELOCITY = (
    "keras.optimizers.SGD folds the rate into its velocity (v ← μv − γg, θ ← θ + v); torch's "
    "SGD multiplies the whole velocity by the current rate. With a schedule and momentum they "
    "differ."
)


def _lr(h: Mapping[str, float], scheduled: bool) -> Arg:
    return Arg("learning_rate", rate(h["lr"], scheduled), "lr")


def _sgd(h: Mapping[str, float], scheduled: bool) -> Plan | Unavailable:
    momentum = h["momentum"]
    if momentum != 0.0 and h["dampening"] != 0.0:
        return Unavailable(
            "keras.optimizers.SGD has no dampening; torch's SGD adds (1 − dampening)·g to its "
            f"momentum buffer, and dampening is {h['dampening']!r} here."
        )
    if momentum != 0.0 and scheduled:
        return Unavailable(VELOCITY)
    args = (
        _lr(h, scheduled),
        Arg("momentum", momentum, "momentum"),
        Arg("nesterov", bool(h["nesterov"]), "nesterov"),
    )
    why = (L2,) if h["weight_decay"] else ()
    return Plan("keras", "", (Call("keras.optimizers.SGD", args),), h["weight_decay"], why)


def _adam(h: Mapping[str, float], scheduled: bool, decoupled: bool) -> Plan:
    args = [
        _lr(h, scheduled),
        Arg("beta_1", h["beta1"], "beta1"),
        Arg("beta_2", h["beta2"], "beta2"),
        Arg("epsilon", eps_hat(h["eps"], h["beta2"]), "eps"),
        Arg("amsgrad", bool(h["amsgrad"]), "amsgrad"),
    ]
    if decoupled:
        args.append(Arg("weight_decay", h["weight_decay"], "weight_decay"))
        call = Call("keras.optimizers.AdamW", tuple(args))
        return Plan("keras", "", (call,), why=(EPS_HAT,))
    why = (EPS_HAT, L2) if h["weight_decay"] else (EPS_HAT,)
    return Plan("keras", "", (Call("keras.optimizers.Adam", tuple(args)),), h["weight_decay"], why)


def _adadelta(h: Mapping[str, float], scheduled: bool) -> Plan:
    args = (_lr(h, scheduled), Arg("rho", h["rho"], "rho"), Arg("epsilon", h["eps"], "eps"))
    why = (L2,) if h["weight_decay"] else ()
    return Plan("keras", "", (Call("keras.optimizers.Adadelta", args),), h["weight_decay"], why)


def _lion(h: Mapping[str, float], scheduled: bool) -> Plan:
    args = (
        _lr(h, scheduled),
        Arg("beta_1", h["beta1"], "beta1"),
        Arg("beta_2", h["beta2"], "beta2"),
        Arg("weight_decay", h["weight_decay"], "weight_decay"),
    )
    return Plan("keras", "", (Call("keras.optimizers.Lion", args),))


def keras_plan(name: str, hyper: Mapping[str, float], scheduled: bool) -> Plan | Unavailable:
    """The Keras optimizer that steps exactly as our ``name`` with the validated ``hyper``;
    ``scheduled`` when the rate changes between updates (``learning_rate`` set before each)."""
    if name in NO_KERAS:
        return Unavailable(NO_KERAS[name])
    h = hyper
    plan: Plan | Unavailable
    if name in ("sgd", "momentum", "nesterov"):
        plan = _sgd(h, scheduled)
    elif name in ("adam", "amsgrad", "adamw"):
        plan = _adam(h, scheduled, decoupled=name == "adamw")
    elif name == "adadelta":
        plan = _adadelta(h, scheduled)
    elif name == "lion":
        plan = _lion(h, scheduled)
    else:
        return Unavailable(f"Gradscape has no Keras mapping of {name!r}.")
    if isinstance(plan, Plan):
        return Plan("keras", name, plan.calls, plan.l2, plan.why)
    return plan
