"""Clinical cut-offs of reliable change: the Jacobson-Truax criteria a, b, c, published cut-offs, the ``auto`` rule.

Used by :func:`groupeval.statistics.reliable_change.reliable_change`:
:func:`criteria` computes a, b, c (and takes the instrument's published
cut-off, :func:`published_cutoff`), :func:`choose_cutoff` applies the
``cutoff=`` argument (the ``"auto"`` rule, a criterion asked for, or a
number), :func:`cutoff_source` says where its value comes from, and
:func:`check_cutoff_range` warns when no possible score lies on one side of it.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..base.exceptions import ConfigError, DataQualityWarning
from ._common import instrument_name

__all__ = ["check_cutoff_range", "choose_cutoff", "criteria", "cutoff_source", "published_cutoff"]


def published_cutoff(inst: Any) -> tuple[float, str] | None:
    """``(value, source)`` of the instrument's published clinical cut-off, or None.

    Reads ``inst.clinical_cutoff`` (a :class:`groupeval.instruments.ClinicalCutoff`,
    any object with ``value``/``source``, or a plain number).
    """
    cc = getattr(inst, "clinical_cutoff", None)
    if cc is None:
        return None
    if isinstance(cc, (int, float, np.integer, np.floating)) and not isinstance(cc, bool):
        value, source, conv = float(cc), "", False
    else:
        raw = getattr(cc, "value", None)
        if raw is None:
            return None
        value, source, conv = float(raw), str(getattr(cc, "source", "") or ""), bool(getattr(cc, "convention", False))
    if not np.isfinite(value):
        return None
    name = getattr(inst, "label", None) or instrument_name(inst) or "the instrument"
    text = f"published clinical cut-off of {name}" + (f": {source}" if source else "")
    return value, text + (" [package convention]" if conv else "")


def check_cutoff_range(cv: float, f: float, inst: Any, used: str, source: str, label: str) -> bool:
    """Warn (and return False) when no possible score lies on one side of the cut-off.

    Non-clinical is ``f * (x - cv) > 0``; with the score range [lo, hi] that
    side is empty when ``cv <= lo`` (lower is better) or ``cv >= hi``
    (higher is better); the clinical side is empty when ``cv > hi`` or ``cv < lo``.
    """
    lo_raw, hi_raw = getattr(inst, "score_min", None), getattr(inst, "score_max", None)
    if lo_raw is None or hi_raw is None:
        return True
    try:
        lo, hi = float(lo_raw), float(hi_raw)
    except (TypeError, ValueError):
        return True
    if not (np.isfinite(lo) and np.isfinite(hi) and np.isfinite(cv)):
        return True
    no_functional = cv <= lo if f < 0 else cv >= hi
    no_clinical = cv > hi if f < 0 else cv < lo
    if not (no_functional or no_clinical):
        return True
    side = "non-clinical" if no_functional else "clinical"
    warnings.warn(
        f"reliable_change: cut-off {used!r} = {cv:.4g} ({source}) lies outside the {label} score range "
        f"{lo:g}-{hi:g}: no possible score is on the {side} side, so recovery cannot be assessed and nobody "
        f"can be classed 'recovered'{' or harmed' if no_clinical else ''}. Give clinical and functional norms "
        f"(norms=...), a published cut-off (cutoff='clinical' or a number on the score's scale), or report "
        f"reliable change only.", DataQualityWarning, stacklevel=3)
    return False


def criteria(M1: float, s1: float, functional: tuple[float, float] | None, f: float, shrink: float,
              published: tuple[float, str] | None) -> dict[str, float]:
    """The Jacobson-Truax criteria a, b, c and the published cut-off (NaN where not available).

    ``shrink`` is 1, or ``sqrt(r)`` for Hageman-Arrindell's true SDs.
    """
    cut = {"a": M1 + 2 * f * s1 * shrink, "b": np.nan, "c": np.nan, "clinical": np.nan}
    if functional is not None:
        M0, s0 = functional
        cut["b"] = M0 - 2 * f * s0 * shrink
        cut["c"] = (s0 * shrink * M1 + s1 * shrink * M0) / (s0 * shrink + s1 * shrink)
    if published is not None:
        cut["clinical"] = published[0]
    return cut


def choose_cutoff(cutoff: str | float, user_cut: bool, cut: Mapping[str, float],
                   nm: Mapping[str, tuple[float, float] | None], f: float, published: tuple[float, str] | None,
                   label: str) -> tuple[str, str, float]:
    """``(cut-off used, reason, value)``: the ``cutoff="auto"`` rule, the criterion asked for, or the user's number."""
    if user_cut:
        return "user", "a number given by the user (cutoff=...)", float(cutoff)
    if cutoff == "auto":
        overlap = nm["functional"] is not None and f * (cut["a"] - cut["b"]) > 0
        if nm["clinical"] is not None and nm["functional"] is not None:
            used = "c" if overlap else "b"
            reason = ("auto: clinical and functional norms exist" +
                      ("" if overlap else "; the two populations do not overlap, so b"))
        elif published is not None:
            used = "clinical"
            reason = (f"auto: no clinical and functional norms for {label}, so its published clinical cut-off "
                      f"(recovered = reliable improvement and moving from the clinical to the non-clinical range)")
        elif nm["functional"] is not None:
            used = "c" if overlap else "b"
            reason = ("auto: functional norms only and no published clinical cut-off; the pre-treatment sample "
                      "plays the dysfunctional population" + ("" if overlap else "; no overlap, so b"))
        else:
            used = "a"
            reason = (f"auto: no functional norms and no published clinical cut-off for {label}, so "
                      f"criterion a")
        return used, reason, float(cut[used])
    used, reason = str(cutoff), f"cutoff={cutoff!r} was asked for"
    if used == "clinical" and published is None:
        raise ConfigError(f"cutoff='clinical' needs the instrument's published clinical cut-off, but {label} "
                          f"has none in the registry. Give a number on the score's scale (e.g. cutoff=10), "
                          f"norms={{'clinical': (mean, sd), 'functional': (mean, sd)}} for criterion c, or "
                          f"cutoff='a'.")
    if not np.isfinite(cut[used]):
        raise ConfigError(f"cut-off {used!r} needs functional norms (mean, sd); pass norms={{'functional': "
                          f"(mean, sd)}} or use cutoff='a'.")
    return used, reason, float(cut[used])


def cutoff_source(used: str, f: float, clinical_source: str, method: str,
                   published: tuple[float, str] | None) -> str:
    """Where the value of the cut-off used comes from, in words."""
    true_sd = " with true SDs s*sqrt(r) (Hageman-Arrindell)" if method == "ha" else ""
    dys = "the clinical norms" if clinical_source == "norms" else f"the {clinical_source}"
    return {
        "a": f"{'mean + 2 SD' if f > 0 else 'mean - 2 SD'} of the dysfunctional population ({dys}){true_sd}",
        "b": f"{'mean - 2 SD' if f > 0 else 'mean + 2 SD'} of the functional norms{true_sd}",
        "c": f"SD-weighted midpoint of the dysfunctional population ({dys}) and the functional norms{true_sd}",
        "clinical": published[1] if published is not None else "",
        "user": "given by the user",
    }[used]
