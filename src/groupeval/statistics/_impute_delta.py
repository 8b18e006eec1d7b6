"""Pooling of imputed mean changes, and the delta-adjusted (tipping-point) sensitivity analysis of :func:`impute`.

Internal to :mod:`groupeval.statistics.impute`.  The completed data sets are kept as an (m, n)
array of changes; every analysis (MAR and every delta) is the mean change with its CR2 (or CR1)
cluster-robust variance in each data set, pooled by Rubin's rules with the Barnard-Rubin df.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ._common import cluster_mean, rubin_pool

__all__ = ["ImputedChanges", "conclusion", "sensitivity_table", "tipping_point"]


@dataclass(frozen=True)
class ImputedChanges:
    """The m completed change vectors and what is needed to pool them."""

    changes: np.ndarray  # (m, n): post - pre in each completed data set
    post_imputed: np.ndarray  # (n,) bool: the member's follow-up (post) was imputed
    cluster: np.ndarray  # (n,) group code
    vcov: str
    df_complete: float

    def per_imputation(self, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Estimate and cluster-robust variance of the mean change in each data set, imputed post + ``shift``."""
        d = self.changes + shift * self.post_imputed[None, :]
        m, n = d.shape
        est = d.mean(axis=1)
        resid = (d - est[:, None]).ravel()
        level = np.repeat(np.arange(m), n)
        _, var, _ = cluster_mean(resid, level, np.tile(self.cluster, m), m, vcov=self.vcov)
        return est, var

    def pool(self, shift: float = 0.0, ci: float = 0.95) -> dict[str, float]:
        est, var = self.per_imputation(shift)
        return rubin_pool(est.tolist(), var.tolist(), ci=ci, df_complete=self.df_complete)


def conclusion(ci_low: float, ci_high: float, higher_is_better: bool) -> str:
    """``"improved"``, ``"worsened"`` or ``"no clear change"`` from the CI of the mean change."""
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "undefined"
    if ci_low > 0:
        return "improved" if higher_is_better else "worsened"
    if ci_high < 0:
        return "worsened" if higher_is_better else "improved"
    return "no clear change"


def _worse(higher_is_better: bool) -> float:
    """Sign of a worse follow-up score: lower when higher is better."""
    return -1.0 if higher_is_better else 1.0


def sensitivity_table(ic: ImputedChanges, deltas: Sequence[float], higher_is_better: bool,
                      ci: float) -> pd.DataFrame:
    """One row per delta: the pooled mean change with every imputed follow-up made delta points worse."""
    rows = []
    share = float(ic.post_imputed.mean())
    for dl in deltas:
        shift = _worse(higher_is_better) * float(dl)
        p = ic.pool(shift, ci)
        rows.append({"delta": float(dl), "shift": shift, "estimate": p["estimate"], "se": p["se"], "df": p["df"],
                     "t": p["t"], "p_value": p["p_value"], "ci_low": p["ci_low"], "ci_high": p["ci_high"],
                     "fmi": p["fmi"], "share_imputed": share,
                     "conclusion": conclusion(p["ci_low"], p["ci_high"], higher_is_better)})
    return pd.DataFrame(rows)


def tipping_point(ic: ImputedChanges, higher_is_better: bool, ci: float, scale: float) -> dict[str, Any]:
    r"""Smallest delta >= 0 (imputed follow-ups made worse) at which the conclusion from the CI changes.

    With :math:`s` the worse direction, the pooled estimate is :math:`\hat Q(\delta) = \hat Q(0) +
    s\,\delta\,\pi` (:math:`\pi` the share of members whose follow-up was imputed) and the CI limit
    on the side being crossed is found by Brent's method on :math:`\delta`.  ``improved`` at 0 tips
    when the CI first reaches 0; ``no clear change`` tips when the CI first lies wholly on the worse
    side; ``worsened`` cannot be overturned by making missing follow-ups worse (NaN with a reason).
    """
    s = _worse(higher_is_better)
    base = ic.pool(0.0, ci)
    start = conclusion(base["ci_low"], base["ci_high"], higher_is_better)
    out: dict[str, Any] = {"delta": math.nan, "found": False, "from": start, "to": "", "share_imputed":
                           float(ic.post_imputed.mean()), "reason": ""}
    if not ic.post_imputed.any():
        out["reason"] = "no follow-up was imputed: the result does not depend on the missing-data assumption"
        return out
    if start == "undefined":
        out["reason"] = "the MAR interval is undefined"
        return out
    if start == "worsened":
        out["reason"] = ("the change is already clearly worse at delta = 0; making the missing follow-ups worse "
                         "cannot overturn it")
        return out
    # moving worse shifts the interval towards s: cross 0 with the limit on the better side (improved) or
    # with the limit on the worse side (no clear change -> worsened)
    if start == "improved":
        limit, target = ("ci_low" if higher_is_better else "ci_high"), "no clear change"
    else:
        limit, target = ("ci_high" if higher_is_better else "ci_low"), "worsened"

    def f(dl: float) -> float:
        return float(ic.pool(s * dl, ci)[limit])

    lo, hi = 0.0, max(scale, 1e-8)
    f_lo = f(lo)
    for _ in range(40):  # widen (up to 2^40 x scale) until the limit has crossed 0
        f_hi = f(hi)
        if np.sign(f_hi) != np.sign(f_lo):
            break
        lo, f_lo, hi = hi, f_hi, hi * 2.0
    else:
        out["reason"] = ("the interval widens as fast as it moves (the imputed share differs a lot between "
                         "groups): no delta changes the conclusion")
        return out
    root = optimize.brentq(f, lo, hi, xtol=1e-10 * max(1.0, scale), rtol=1e-12)
    out.update({"delta": float(root), "found": True, "to": target, "limit": limit})
    return out
