r"""Effect-size conversions behind :func:`groupeval.benchmark` (public, vectorised, unrounded).

* :func:`hedges_j_exact` -- the exact small-sample correction :math:`J(m)`;
* :func:`standardized_mean_change` -- the standardised mean change with
  raw-score standardisation (Becker 1988) and Bonett's (2008) variance, as
  metafor's ``escalc(measure = "SMCRH")``, with an optional design effect and
  t quantile for members sharing groups;
* :func:`d_rm_from_d_z` -- :math:`d_{rm} = d_z\sqrt{2(1-r)}` (Morris & DeShon 2002);
* :func:`smd_from_odds_ratio` -- Chinn's (2000) :math:`\ln(OR)\sqrt3/\pi`;
* ``_orient`` -- values turned so that larger means improvement.

They are importable from :mod:`groupeval.statistics.benchmark`, whose
docstring gives the formulas and the references.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats

from ..base.exceptions import ConfigError

__all__ = ["hedges_j_exact", "standardized_mean_change", "d_rm_from_d_z", "smd_from_odds_ratio"]


def hedges_j_exact(m: Any) -> Any:
    r"""Exact small-sample correction :math:`J(m) = \Gamma(m/2) / (\sqrt{m/2}\,\Gamma((m-1)/2))`.

    NaN for :math:`m \le 1`.  The approximation ``1 - 3/(4m - 1)`` used by
    :func:`groupeval.change` differs from it by less than 1e-3 from m = 5 on.

    In R: ``metafor:::.cmicalc(m)``.
    """
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(special.gammaln(m / 2) - np.log(np.sqrt(m / 2)) - special.gammaln((m - 1) / 2))
    return np.where(m > 1, out, np.nan)


def standardized_mean_change(mean_change: Any, sd_pre: Any, sd_change: Any, n: Any, *, ci: float = 0.95,
                             deff: Any = 1.0, df: Any = None) -> tuple[Any, Any, Any, Any]:
    r"""Standardised mean change with raw-score standardisation, and its Wald interval.

    Parameters
    ----------
    mean_change, sd_pre, sd_change, n
        Mean of post - pre, SD of the baseline scores, SD of the change
        scores and the number of complete pairs (arrays broadcast).
    ci
        Confidence level of the interval.
    deff
        Design effect applied to the sampling variance of the mean change
        (1 for independent members).
    df
        Degrees of freedom of a t quantile for the interval (``None``: the
        normal quantile, as metafor).  :func:`benchmark` uses the df of
        :func:`groupeval.change`'s cluster interval (CR2 Satterthwaite; ``G - 1`` for CR1).

    Returns
    -------
    tuple of arrays
        ``(estimate, variance, ci_low, ci_high)``; NaN where ``n < 3`` or an SD is not positive.

    Notes
    -----
    .. math::
        g = J(n-1)\frac{\bar D}{s_{pre}},\qquad
        v = J(n-1)^2\Big[\frac{\mathrm{deff}\cdot s_D^2}{s_{pre}^2(n-1)} + \frac{g^2}{2(n-1)}\Big]

    (Becker 1988; variance of Bonett 2008, which does not assume equal pre and
    post variances).  With ``deff = 1`` this is metafor's ``SMCRH``.

    In R: ``metafor::escalc(measure = "SMCRH", m1i = post, m2i = pre, sd1i = sd_pre, sd2i = sd_post, ri = r, ni = n)``.
    """
    if not 0 < ci < 1:
        raise ConfigError(f"`ci` must be between 0 and 1 (e.g. 0.95); got {ci!r}.")
    mc, sp, sd, nn = (np.asarray(x, dtype=float) for x in (mean_change, sd_pre, sd_change, n))
    de = np.asarray(deff, dtype=float)
    ok = (nn >= 3) & (sp > 0) & (sd >= 0) & np.isfinite(mc)
    with np.errstate(invalid="ignore", divide="ignore"):
        j = hedges_j_exact(nn - 1)
        g = j * mc / sp
        v = j**2 * (de * sd**2 / (sp**2 * (nn - 1)) + g**2 / (2 * (nn - 1)))
    if df is None:
        z: Any = stats.norm.ppf(0.5 + ci / 2)
    else:
        dfa = np.asarray(df, dtype=float)
        with np.errstate(invalid="ignore"):
            z = stats.t.ppf(0.5 + ci / 2, np.where(dfa > 0, dfa, np.nan))
    g = np.where(ok, g, np.nan)
    v = np.where(ok, v, np.nan)
    half = z * np.sqrt(v)
    return g, v, g - half, g + half


def d_rm_from_d_z(d_z: Any, r: Any) -> Any:
    r""":math:`d_{rm} = d_z\sqrt{2(1-r)}` (Morris & DeShon 2002; Lakens 2013).

    With equal pre and post SDs :math:`s`, this is the mean change divided by
    :math:`s`, the metric of a between-group SMD.

    In R: ``MOTE::d.dep.t.rm`` (the same formula from means, SDs and r).
    """
    d_z, r = np.asarray(d_z, dtype=float), np.asarray(r, dtype=float)
    with np.errstate(invalid="ignore"):
        return d_z * np.sqrt(2 * (1 - r))


def smd_from_odds_ratio(odds_ratio: Any) -> Any:
    r"""Chinn's (2000) conversion :math:`d = \ln(OR)\,\sqrt3/\pi` (assumes a logistic latent outcome).

    In R: ``metafor::escalc(measure = "OR2DL", ...)``.
    """
    o = np.asarray(odds_ratio, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(o > 0, np.log(o) * math.sqrt(3) / math.pi, np.nan)


def _orient(est: Any, lo: Any, hi: Any, sign: Any, ratio: Any) -> tuple[Any, Any, Any]:
    """Orient values so that larger means improvement: ``sign * x`` (differences) or ``x ** sign`` (ratios)."""
    est, lo, hi = (np.asarray(a, dtype=float) for a in (est, lo, hi))
    sign = np.asarray(sign, dtype=float)
    ratio = np.asarray(ratio, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.where(ratio, est**sign, sign * est)
        a = np.where(ratio, lo**sign, sign * lo)
        b = np.where(ratio, hi**sign, sign * hi)
    return e, np.fmin(a, b), np.fmax(a, b)
