"""Base class of the result objects returned by the statistics layer.

A result has a tidy, unrounded ``.summary`` DataFrame, renders itself in a
notebook (``_repr_html_``) and draws itself with ``.plot(ax=None)``.  The
drawing lives in :mod:`groupeval.plotting` (the reporting layer); ``.plot``
imports it lazily, which is the one documented upward edge of the layer
rule (see ``tests/test_architecture.py``).
"""
from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

__all__ = ["Result", "AttributeResult"]


class Result:
    """Base for result objects.

    Subclasses are frozen dataclasses that declare their fields, set
    ``_plotter`` to the name of a function in :mod:`groupeval.reporting.plotting`
    that takes ``(result, ax=None, **kwargs)`` and returns the Axes, and
    implement :attr:`summary`: the result's main tidy, unrounded table.  Results
    declare ``methods``, the keys of the methods that produced them (for the
    methods paragraph).
    """

    _plotter: ClassVar[str | None] = None
    _title: ClassVar[str] = "Result"

    @property
    def summary(self) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    def plot(self, ax: Any = None, **kwargs: Any):
        """Draw the result on ``ax`` (a new figure if None) and return the Axes."""
        if self._plotter is None:
            raise NotImplementedError(f"{type(self).__name__} has no plot")
        from ..reporting import plotting

        return getattr(plotting, self._plotter)(self, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        return f"<p><b>{self._title}</b></p>" + self.summary.to_html(index=False)

    def __repr__(self) -> str:
        return f"{self._title}\n{self.summary.to_string(index=False)}"


class AttributeResult(Result):
    """A :class:`Result` whose fields are passed as keyword arguments and kept as attributes."""

    def __init__(self, **attrs: Any):
        for key, value in attrs.items():
            setattr(self, key, value)
