"""Our optimizers as optax calls (``optax`` 0.2.8), exactly, or the reason there is none.

Coupled weight decay (torch's ``weight_decay``: ``g + λθ`` before the optimizer reads the
gradient) is ``optax.add_decayed_weights(λ)`` first in the chain; decoupled decay (AdamW's
``θ ← θ − γλθ``) is ``add_decayed_weights`` after the scaling and before the learning rate, as
``optax.adamw`` places it. Every claim below is checked by ``tests/libraries``.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.libraries.plan import Arg, Call, Plan, Unavailable, eps_over_correction, rate

NO_OPTAX: dict[str, str] = {
    "adagrad": (
        "optax.adagrad divides by √(G + eps) (eps inside the root, optax.scale_by_rss); torch and "
        "Gradscape divide by √G + eps. No optax setting gives that denominator."
    ),
    "nadam": (
        "optax.nadam keeps the momentum constant at β₁; torch's NAdam (and ours) warms it up with "
        "μ_t = β₁(1 − ½·0.96^(t·momentum_decay)). They agree only as momentum_decay → ∞."
    ),
    "rprop": (
        "optax.rprop applies each sign step one update late (its update is the step stored at the "
        "previous update) and does not clip the step size where the gradient's sign product is 0; "
        "torch's Rprop (and ours) moves by the new step at once."
    ),
    "newton": "optax has no Newton step: it never sees the Hessian.",
}
AMSGRAD = (
    "optax.amsgrad keeps the maximum of the bias-corrected second moment, max_s v_s/(1 − β₂ˢ); "
    "torch (and we) keep the maximum of the raw v_s and correct it with the current step's "
    "1 − β₂ᵗ. They differ once the maximum is an earlier step's."
)


def _decay(weight_decay: float) -> tuple[Call, ...]:
    if weight_decay == 0.0:
        return ()
    return (
        Call("optax.add_decayed_weights", (Arg("weight_decay", weight_decay, "weight_decay"),)),
    )


def _lr(h: Mapping[str, float], scheduled: bool) -> Arg:
    return Arg("learning_rate", rate(h["lr"], scheduled), "lr")


def _betas(h: Mapping[str, float]) -> tuple[Arg, Arg]:
    return Arg("b1", h["beta1"], "beta1"), Arg("b2", h["beta2"], "beta2")


def _sgd(h: Mapping[str, float], scheduled: bool) -> Plan | Unavailable:
    momentum = h["momentum"]
    if momentum != 0.0 and h["dampening"] != 0.0:
        return Unavailable(
            "optax.sgd's momentum (optax.trace: b ← μb + g) has no dampening; torch's SGD "
            f"adds (1 − dampening)·g, and dampening is {h['dampening']!r} here."
        )
    args = [_lr(h, scheduled)]
    if momentum != 0.0:
        args.append(Arg("momentum", momentum, "momentum"))
        args.append(Arg("nesterov", bool(h["nesterov"]), "nesterov"))
    return Plan("optax", "", (*_decay(h["weight_decay"]), Call("optax.sgd", tuple(args))))


def _rmsprop(h: Mapping[str, float], scheduled: bool) -> Plan | Unavailable:
    momentum = h["momentum"]
    if momentum > 0.0 and scheduled:
        return Unavailable(
            "optax.rmsprop scales by the learning rate before its momentum trace, so each "
            "update's rate stays in the velocity; torch's RMSprop multiplies the whole velocity "
            "by the current rate. With a schedule and momentum they differ."
        )
    args = [
        _lr(h, scheduled),
        Arg("decay", h["alpha"], "alpha"),
        Arg("eps", h["eps"], "eps"),
        Arg("eps_in_sqrt", False),
        Arg("centered", bool(h["centered"]), "centered"),
    ]
    if momentum > 0.0:
        args.append(Arg("momentum", momentum, "momentum"))
    return Plan("optax", "", (*_decay(h["weight_decay"]), Call("optax.rmsprop", tuple(args))))


def _adadelta(h: Mapping[str, float], scheduled: bool) -> Plan:
    args = (
        _lr(h, scheduled),
        Arg("rho", h["rho"], "rho"),
        Arg("eps", h["eps"], "eps"),
        Arg("weight_decay", h["weight_decay"], "weight_decay"),
    )
    return Plan("optax", "", (Call("optax.adadelta", args),))


def _adam(h: Mapping[str, float], scheduled: bool, decoupled: bool) -> Plan | Unavailable:
    if h["amsgrad"]:
        return Unavailable(AMSGRAD)
    args = (_lr(h, scheduled), *_betas(h), Arg("eps", h["eps"], "eps"))
    if decoupled:
        decay = Arg("weight_decay", h["weight_decay"], "weight_decay")
        return Plan("optax", "", (Call("optax.adamw", (*args, decay)),))
    return Plan("optax", "", (*_decay(h["weight_decay"]), Call("optax.adam", args)))


def _adamax(h: Mapping[str, float], scheduled: bool) -> Plan:
    args = (_lr(h, scheduled), *_betas(h), Arg("eps", h["eps"], "eps"))
    return Plan("optax", "", (*_decay(h["weight_decay"]), Call("optax.adamax", args)))


def _radam(h: Mapping[str, float], scheduled: bool) -> Plan:
    eps = Arg("eps", eps_over_correction(h["eps"], h["beta2"]), "eps")
    why = (
        "torch's RAdam adds eps to √v before v's bias correction, optax to √v̂: we pass "
        "eps / √(1 − β₂ᵗ) before each update t, which makes the denominators equal",
    )
    if h["decoupled_weight_decay"] and h["weight_decay"] != 0.0:
        calls = (
            Call("optax.scale_by_radam", (*_betas(h), eps)),
            Call(
                "optax.add_decayed_weights",
                (Arg("weight_decay", h["weight_decay"], "weight_decay"),),
            ),
            Call("optax.scale_by_learning_rate", (_lr(h, scheduled),)),
        )
        return Plan("optax", "", calls, why=why)
    decay = 0.0 if h["decoupled_weight_decay"] else h["weight_decay"]
    call = Call("optax.radam", (_lr(h, scheduled), *_betas(h), eps))
    return Plan("optax", "", (*_decay(decay), call), why=why)


def _lion(h: Mapping[str, float], scheduled: bool) -> Plan:
    args = (
        _lr(h, scheduled),
        *_betas(h),
        Arg("weight_decay", h["weight_decay"], "weight_decay"),
    )
    return Plan("optax", "", (Call("optax.lion", args),))


def optax_plan(name: str, hyper: Mapping[str, float], scheduled: bool) -> Plan | Unavailable:
    """The optax calls that step exactly as our ``name`` with the validated ``hyper``
    (``validate_hyper``'s output: every hyperparameter, flags as 0.0/1.0); ``scheduled`` when
    the run's schedule is not constant (the rate is then set before each update)."""
    if name in NO_OPTAX:
        return Unavailable(NO_OPTAX[name])
    h = hyper
    plan: Plan | Unavailable
    if name in ("sgd", "momentum", "nesterov"):
        plan = _sgd(h, scheduled)
    elif name == "rmsprop":
        plan = _rmsprop(h, scheduled)
    elif name == "adadelta":
        plan = _adadelta(h, scheduled)
    elif name in ("adam", "amsgrad", "adamw"):
        plan = _adam(h, scheduled, decoupled=name == "adamw")
    elif name == "adamax":
        plan = _adamax(h, scheduled)
    elif name == "radam":
        plan = _radam(h, scheduled)
    elif name == "lion":
        plan = _lion(h, scheduled)
    else:
        return Unavailable(f"Gradscape has no optax mapping of {name!r}.")
    if isinstance(plan, Plan):
        return Plan("optax", name, plan.calls, plan.l2, plan.why)
    return plan
