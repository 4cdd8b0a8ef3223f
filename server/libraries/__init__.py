"""Our runs in other libraries: torch.optim, optax (jax, float64, CPU) and Keras 3 (JAX backend).

- ``plan``: ``Plan`` (the library calls, in order), ``Call``, ``Arg``, ``PerStep`` (a keyword
  set before each update, with its formula as Python text), ``Unavailable(reason)``.
- ``optax_plan.optax_plan`` and ``keras_plan.keras_plan``: ``(name, validated hyper, scheduled)
  -> Plan | Unavailable``, the exact mapping; ``parity.plan_for`` validates ``hyper`` first.
- ``optax_run``, ``keras_run``, ``torch_run``: ``available()``, ``INSTALL`` (the message when
  not installed), ``stepper(...)`` (one update per call, for ``follow.follow``) and
  ``library_defaults(call name)``.
- ``notes``: the default and variant notes, each measured by running the other setting.
- ``parity``: ``library_result(library, Run, ours)``, what ``POST /api/parity`` answers per
  library. None of these modules imports jax, optax, keras or torch until it runs one.
"""
