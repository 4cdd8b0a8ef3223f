"""The examples in gradscape's docstrings run, and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gradscape

MODULES = sorted(
    {"gradscape"} | {f"gradscape.{m.name}" for m in pkgutil.iter_modules(gradscape.__path__)}
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_public_surface_has_examples() -> None:
    finder = doctest.DocTestFinder()
    tested = {t.name for name in MODULES for t in finder.find(importlib.import_module(name))}
    for name in ("gradscape", "gradscape.race.race", "gradscape.race.Run", "gradscape.optim"):
        assert name in tested, name
