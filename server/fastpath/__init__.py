"""The engine's fast path: an optimizer's update on a 2D surface, compiled to plain Python.

A numpy call on a tiny array costs about a microsecond, so one update of one 2D run (optimizer,
surface value and gradient, gradient norm) spends tens of microseconds in call overhead, while
the same arithmetic on Python floats takes a few. Rather than writing each optimizer and surface a
second time, :func:`compile_step` *traces* the optimizer's own ``update`` and the surface's own
closed forms once, with symbolic stand-ins for the arrays (:mod:`.trace`), and renders what they
computed as two Python functions (:mod:`.render`, :mod:`.step`): one over Python floats for a
run at a time, one over numpy columns for large groups, which reuses its buffers.

Exactness: ``+ - * /``, square roots and comparisons are correctly rounded in numpy and in Python
alike. Every other operation (``power``, ``exp``, ``cos`` ...) is the very same numpy ufunc,
called on its operands in the form the numpy code has them (:class:`.trace.LikeArrays`): a value
that is an array there (a run's coordinate, a hyperparameter column, the step count) is passed
as an array, a Python scalar there (a literal such as NAdam's 0.96) as a scalar. That matters:
numpy evaluates such a ufunc with a SIMD loop on contiguous arrays and with a scalar loop on
scalars, and on AVX-512 machines the two can differ in the last bit (``0.9959037536701443 ** 2``
by the array loop is one ulp below the scalar one). The compiled loop for a run alone computes
the ufunc values that depend only on the hyperparameters and the step count (bias corrections)
once for the whole loop, as columns, by the same rule. A compiled update therefore equals the
numpy one bit for bit; ``tests/test_engine_fastpath.py`` checks every optimizer and surface in
every mode, ``tests/test_engine_property.py`` random hyperparameters against a plain loop over
``update``. Where Python raises instead of returning inf or NaN (a division by zero, the root of
a negative number), the caller redoes the update with numpy.

Only elementwise code traces. A reduction, a Python ``if`` on a traced value, a numpy function
other than a ufunc, ``where`` or ``clip``, or a state field that would change shape make
:func:`compile_step` return None, and the engine keeps numpy for that optimizer.
"""

from server.fastpath.step import (
    Column,
    LoopFn,
    Order,
    ScalarStep,
    StepFn,
    StepOut,
    compile_step,
    hyper_columns,
    hyper_row,
    uniform,
)
from server.fastpath.trace import Untraceable

__all__ = [
    "Column",
    "LoopFn",
    "Order",
    "ScalarStep",
    "StepFn",
    "StepOut",
    "Untraceable",
    "compile_step",
    "hyper_columns",
    "hyper_row",
    "uniform",
]
