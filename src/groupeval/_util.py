"""Small helpers shared by every layer (base layer: imports nothing from groupeval)."""
from __future__ import annotations

import sys
import types
from typing import Any, Callable


def make_module_callable(module_name: str, function: Callable[..., Any]) -> None:
    """Make the module ``module_name`` callable as ``function``.

    ``groupeval.retention`` and ``groupeval.reliability`` are both a submodule
    and the main function it defines.  Importing the submodule anywhere
    (``from groupeval.retention import kaplan_meier``) makes Python set the
    package attribute to the *module*, shadowing the lazily exported function.
    A callable module keeps ``groupeval.retention(dataset)`` working in every
    import order while ``groupeval.retention.kaplan_meier`` still resolves.
    """
    module = sys.modules[module_name]

    class _CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

    _CallableModule.__call__.__doc__ = function.__doc__
    module.__class__ = _CallableModule
