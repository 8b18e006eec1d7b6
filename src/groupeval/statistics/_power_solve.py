r"""The power function of the group designs and its root finders (behind :func:`groupeval.statistics.power.power`).

:func:`core_power` evaluates power elementwise over arrays of scenarios (the
standard error, degrees of freedom and noncentrality of each design);
:func:`solve_effect` and :func:`solve_size` find, scenario by scenario, the
effect or the size that reaches a target power with Brent's method
(:func:`scipy.optimize.brentq`), bracketing the root by what the test allows.
The formulas are in the notes of :func:`groupeval.statistics.power.power`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

__all__ = ["core_power", "method_label", "solve_effect", "solve_size"]

BIG = 1e9           # upper bracket for sizes (members or groups)
_ES_MAX = 50.0      # upper bracket for a standardised mean difference
_XTOL = 1e-12


def core_power(design: str, outcome: str, scale: str, test: str, alternative: str,
               v: dict[str, NDArray[np.float64]]) -> dict[str, NDArray[np.float64]]:
    """Power and the quantities behind it, elementwise over the arrays in ``v``.

    ``v`` holds ``k`` (groups, intervention arm), ``m`` (members enrolled per
    group), ``a`` (attrition), ``icc``, ``cv``, ``ratio``, ``sig`` and either
    ``es`` (standardised effect: d_z, d or h) or ``p1``/``p0`` (proportion
    scale).
    """
    k, m, a, rho, cv, ratio, sig = (v[x] for x in ("k", "m", "a", "icc", "cv", "ratio", "sig"))
    ma = m * (1.0 - a)
    de = 1.0 + ((cv**2 + 1.0) * ma - 1.0) * rho
    n1 = k * ma
    with np.errstate(divide="ignore", invalid="ignore"):
        if design == "single_arm":
            v1, v2 = de / n1, np.zeros_like(n1)
            n2 = np.zeros_like(n1)
            df = k - 1.0
            n_eff = n1 / de
        elif design == "two_arm":
            n2 = ratio * n1
            nested = rho > 0
            de1 = np.where(nested, de, 1.0)
            de = de1
            v1, v2 = de1 / n1, 1.0 / n2
            df_pooled = n1 + n2 - 2.0
            df_satt = (v1 + v2) ** 2 / (v1**2 / (k - 1.0) + v2**2 / (n2 - 1.0))
            df = np.where(nested, df_satt, df_pooled)
            n_eff = n1 / de1 + n2
        else:  # cluster_randomised
            n2 = ratio * n1
            v1, v2 = de / n1, de / n2
            df = k * (1.0 + ratio) - 2.0
            n_eff = (n1 + n2) / de
        if outcome == "proportion" and scale == "proportion":
            p1, p0 = v["p1"], v["p0"]
            delta = p1 - p0
            se1 = np.sqrt(p1 * (1 - p1) * v1 + p0 * (1 - p0) * v2)
            if design == "single_arm":
                se0 = np.sqrt(p0 * (1 - p0) * v1)
            else:
                pbar = (n1 * p1 + n2 * p0) / (n1 + n2)
                se0 = np.sqrt(pbar * (1 - pbar) * (v1 + v2))
        else:
            delta = v["es"]
            se1 = np.sqrt(v1 + v2)
            se0 = se1
        if test == "t":
            se0 = se1
            one = stats.t.ppf(1.0 - sig, df)
            two = stats.t.ppf(1.0 - sig / 2.0, df)
        else:
            one = stats.norm.ppf(1.0 - sig)
            two = stats.norm.ppf(1.0 - sig / 2.0)
            df = np.full_like(k, np.nan)
        crit = two if alternative == "two_sided" else one
        ncp = delta / se1
        c = crit * se0 / se1
        if test == "t":
            # P(T < -c | ncp) = P(T > c | -ncp): scipy's lower tail is NaN far out in the tail
            if alternative == "two_sided":
                pw = stats.nct.sf(c, df, ncp) + stats.nct.sf(c, df, -ncp)
            elif alternative == "greater":
                pw = stats.nct.sf(c, df, ncp)
            else:
                pw = stats.nct.sf(c, df, -ncp)
        else:
            if alternative == "two_sided":
                pw = stats.norm.sf(c - ncp) + stats.norm.cdf(-c - ncp)
            elif alternative == "greater":
                pw = stats.norm.sf(c - ncp)
            else:
                pw = stats.norm.cdf(-c - ncp)
    return {"power": np.asarray(pw, dtype=float), "de": de, "df": np.asarray(df, dtype=float), "ncp": ncp,
            "crit": np.asarray(crit, dtype=float) * np.ones_like(k), "n1": n1, "n2": n2, "n_eff": n_eff, "ma": ma}


def method_label(design: str, outcome: str, scale: str, test: str, nested: bool) -> str:
    """The ``method`` column: what is tested and with which reference distribution."""
    if outcome == "proportion":
        what = "arcsine-transformed proportions (Cohen's h)" if scale == "arcsine" else "difference in proportions"
    else:
        what = "mean change" if design == "single_arm" else "difference in means"
    if test == "normal":
        ref = "normal approximation"
    elif design == "single_arm":
        ref = "noncentral t, df = k - 1 (one-sample t on group means)"
    elif design == "cluster_randomised":
        ref = "noncentral t, df = k1 + k2 - 2 (two-sample t on group means)"
    elif nested:
        ref = "noncentral t, Satterthwaite df (intervention arm nested in groups)"
    else:
        ref = "noncentral t, df = n1 + n2 - 2 (two-sample t)"
    return f"{what}; {ref}"


def _bracket_root(f: Any, lo: float, hi: float) -> float:
    return float(optimize.brentq(f, lo, hi, xtol=_XTOL, rtol=4 * np.finfo(float).eps, maxiter=500))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def solve_effect(pw: Any, i: int, g: dict[str, NDArray[np.float64]], outcome: str, has_ref: bool,
                  alternative: str) -> tuple[float, str]:
    """Detectable effect: standardised (d_z, d, h), or p1 when a reference proportion is given.

    Power is monotone in the effect on each side of 0, so the root is
    bracketed by no effect (power = sig_level) and the largest effect
    possible: p1 -> 1 (or 0), h = pi, d = 50.
    """
    target = float(g["power"][i])
    sign = -1.0 if alternative == "less" else 1.0
    if outcome == "proportion" and has_ref:
        lo = float(g["p_ref"][i])
        edge = (1.0 - 1e-12) if sign > 0 else 1e-12  # p1 strictly inside (0, 1)
    else:
        lo = 0.0
        edge = sign * (math.pi if outcome == "proportion" else _ES_MAX)

    def f(x: float) -> float:
        return float(pw(i, es_or_p1=np.array([x]))) - target

    f_edge = f(edge)
    if not np.isfinite(f_edge):
        return np.nan, "power could not be computed at the largest effect"
    if f_edge < 0:
        return np.nan, (f"no effect reaches {_pct(target)} power with these sizes "
                        f"(at most {_pct(f_edge + target)} at the largest possible effect)")
    a, b = (lo, edge) if lo < edge else (edge, lo)
    return _bracket_root(f, a, b), ""


def solve_size(pw: Any, i: int, g: dict[str, NDArray[np.float64]], design: str, what: str,
                test: str) -> tuple[float, str]:
    """Members enrolled per group, or groups, reaching the target power.

    The search starts at the smallest size the test allows: at least 1 df
    for the t test (as ``pwr``, whose n starts at 2), any positive size for
    the normal test.
    """
    target = float(g["power"][i])
    k = float(g["n_groups"][i])
    m = float(g["members_per_group"][i])
    a = float(g["attrition"][i])
    r = float(g["allocation_ratio"][i])
    nested = design == "two_arm" and g["icc"][i] > 0
    t = test == "t"
    if what == "members_per_group":
        lo_a = 1e-9
        if t and design == "two_arm":
            lo_a = 2.0 / (r * k) if nested else 3.0 / (k * (1 + r))
        lo = lo_a / (1 - a)

        def f(x: float) -> float:
            return pw(i, m=np.array([x])) - target
    else:
        ma = m * (1 - a)
        lo = 1e-9
        if t:
            if design == "single_arm":
                lo = 2.0
            elif design == "cluster_randomised":
                lo = 3.0 / (1 + r)
            else:
                lo = max(2.0, 2.0 / (r * ma)) if nested else 3.0 / (ma * (1 + r))

        def f(x: float) -> float:
            return pw(i, k=np.array([x])) - target
    f_lo, f_hi = f(lo), f(BIG)
    if not (np.isfinite(f_hi) and np.isfinite(f_lo)):
        return np.nan, "power could not be computed over the range of sizes"
    if f_hi < 0:
        if what == "members_per_group" and g["icc"][i] > 0:
            return np.nan, (f"with {k:g} groups no group size reaches {_pct(target)} power: at most "
                            f"{_pct(f_hi + target)} however many members per group (more groups are needed; "
                            f"Hemming et al. 2011)")
        return np.nan, f"{_pct(target)} power is not reached below {BIG:g}"
    if f_lo >= 0:
        return lo, "the target power is already reached at the smallest size the test allows"
    return _bracket_root(f, lo, BIG), ""
