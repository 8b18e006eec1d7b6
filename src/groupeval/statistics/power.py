r"""Power and sample size for group designs, and the inputs for them from a programme's own data.

Three designs, each for a continuous outcome and for a proportion:

``"single_arm"``
    One arm measured before and after, members nested in ``n_groups`` groups.
    Continuous: the paired change (effect ``d_z`` = mean change / SD of
    change), inflated by the ICC of the change.  Proportion: a share at
    follow-up (26-week retention, share reliably improved) tested against a
    fixed benchmark ``p_ref``.
``"two_arm"``
    Members randomised one by one to intervention or control.  With
    ``icc=0`` (default) the members are independent: the classic two-sample
    t / two-proportion test (``pwr.t.test``, ``pwr.t2n.test``,
    ``pwr.2p.test``, ``pwr.2p2n.test``).  With ``icc > 0`` the intervention
    arm is delivered in ``n_groups`` groups and the control arm is not
    (a waiting-list control: the *partially nested* design).
``"cluster_randomised"``
    Whole groups randomised, ``n_groups`` groups per (intervention) arm.

:func:`power` solves for whichever one of ``power``, ``effect``, ``n_groups``
and ``members_per_group`` is ``None``; :func:`power_sentence` turns a result
row into a sentence for a report; :func:`power_inputs` estimates the ICC,
SD, pre/post correlation, attrition and group-size variation from the
programme's own scores, each with a confidence interval.

Nothing is rounded except the solved sample size (rounded *up*, with the
unrounded value beside it) and the numbers inside :func:`power_sentence`.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize, stats

from ..base.exceptions import (
    ConfigError,
    DataQualityWarning,
    Problem,
    SchemaError,
    SmallSampleWarning,
    ValidationError,
)

__all__ = ["power", "power_sentence", "power_inputs", "design_effect", "DESIGNS", "POWER_COLUMNS",
           "INPUT_COLUMNS"]

Design = Literal["single_arm", "two_arm", "cluster_randomised"]
Outcome = Literal["continuous", "proportion"]
Alternative = Literal["two_sided", "greater", "less"]

#: The designs :func:`power` knows.
DESIGNS: tuple[str, ...] = ("single_arm", "two_arm", "cluster_randomised")
_DESIGN_ALIASES = {"cluster_randomized": "cluster_randomised", "single-arm": "single_arm", "two-arm": "two_arm"}

#: Columns of the :func:`power` result, in order.
POWER_COLUMNS: tuple[str, ...] = (
    "design", "outcome", "solved", "alternative", "sig_level", "power", "achieved_power",
    "effect", "effect_type", "d", "d_z", "h", "p1", "p_ref", "sd", "pre_post_r", "sd_change",
    "icc", "n_groups", "n_groups_exact", "n_groups_control", "members_per_group", "members_per_group_exact",
    "attrition", "members_analysed_per_group", "cv_group_size", "allocation_ratio",
    "n_enrolled", "n_analysed", "design_effect", "n_effective", "df", "ncp", "critical_value",
    "test", "scale", "method", "note",
)

#: Columns of the :func:`power_inputs` result, in order.
INPUT_COLUMNS: tuple[str, ...] = ("quantity", "estimate", "ci_low", "ci_high", "n", "method", "note")

_SOLVABLE = ("power", "effect", "n_groups", "members_per_group")
_GRID = ("effect", "n_groups", "members_per_group", "icc", "sd", "pre_post_r", "p_ref", "attrition",
         "cv_group_size", "allocation_ratio", "sig_level", "power")
_BIG = 1e9          # upper bracket for sizes (members or groups)
_ES_MAX = 50.0      # upper bracket for a standardised mean difference
_XTOL = 1e-12


# ---------------------------------------------------------------------------
# design effect
# ---------------------------------------------------------------------------
def design_effect(members_per_group: Any, icc: Any, cv_group_size: Any = 0.0) -> NDArray[np.float64] | float:
    r"""Variance inflation of a mean over members nested in groups.

    Parameters
    ----------
    members_per_group
        Mean number of members *analysed* per group, :math:`\bar m`.
    icc
        Intraclass correlation :math:`\rho` of the analysed outcome.
    cv_group_size
        Coefficient of variation of the group sizes (0 = equal sizes).

    Returns
    -------
    float or ndarray
        :math:`DE = 1 + ((cv^2 + 1)\bar m - 1)\rho`, which is the familiar
        :math:`1 + (m - 1)\rho` for equal sizes.

    Notes
    -----
    Eldridge, Ashby & Kerry (2006) derive the unequal-size form for a
    cluster-level analysis weighted by group size; it is conservative for
    mixed models and minimum-variance weights.  With the SD of the sizes
    taken with divisor :math:`k` it equals :math:`1 + (\sum m_j^2 / \sum m_j - 1)\rho`
    exactly.

    References
    ----------
    Donner A, Klar N (2000). *Design and Analysis of Cluster Randomization
    Trials in Health Research*. Arnold.
    Eldridge SM, Ashby D, Kerry S (2006). Sample size for cluster randomized
    trials: effect of coefficient of variation of cluster size and analysis
    method. *Int J Epidemiol* 35:1292-1300.

    In R: ``1 + ((cv^2 + 1) * m - 1) * icc``.
    """
    m = np.asarray(members_per_group, dtype=float)
    rho = np.asarray(icc, dtype=float)
    cv = np.asarray(cv_group_size, dtype=float)
    out = 1.0 + ((cv**2 + 1.0) * m - 1.0) * rho
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------
# the vectorised power function
# ---------------------------------------------------------------------------
def _core(design: str, outcome: str, scale: str, test: str, alternative: str,
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


def _method_label(design: str, outcome: str, scale: str, test: str, nested: bool) -> str:
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


# ---------------------------------------------------------------------------
# argument handling
# ---------------------------------------------------------------------------
def _as_axis(name: str, value: Any) -> tuple[NDArray[np.float64], bool]:
    """A grid axis: (values, was_given_as_sequence)."""
    if value is None:
        return np.array([np.nan]), False
    if isinstance(value, (str, bytes)):
        raise ConfigError(f"`{name}` must be a number or a list of numbers; got the string {value!r}.")
    arr = np.asarray(value, dtype=object)
    if arr.ndim > 1:
        raise ConfigError(f"`{name}` must be a number or a flat list of numbers; got an array of shape {arr.shape}.")
    try:
        out = np.asarray(arr, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError(f"`{name}` must be a number or a list of numbers; got {value!r}.") from None
    if out.size == 0:
        raise ConfigError(f"`{name}` is an empty list; give at least one value.")
    if np.isnan(out).any():
        raise ConfigError(f"`{name}` contains NaN; give numbers (leave the argument out, or None, to solve for it).")
    return out, arr.ndim == 1


def _check_range(name: str, x: NDArray[np.float64], lo: float, hi: float, *, lo_open: bool = False,
                 hi_open: bool = False, hint: str = "") -> None:
    bad = (x < lo) | (x > hi) | (lo_open & (x == lo)) | (hi_open & (x == hi))
    bad &= ~np.isnan(x)
    if bad.any():
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        vals = ", ".join(repr(float(b)) for b in np.unique(x[bad])[:5])
        raise ConfigError(f"`{name}` must be in {lb}{lo}, {hi}{rb}; got {vals}.{(' ' + hint) if hint else ''}")


def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ConfigError(f"`{name}` must be one of {', '.join(map(repr, allowed))}; got {value!r}.")
    return str(value)


# ---------------------------------------------------------------------------
# power()
# ---------------------------------------------------------------------------
def power(design: str, *, outcome: str = "continuous", effect: Any = None, n_groups: Any = None,
          members_per_group: Any = None, icc: Any = None, sd: Any = None, pre_post_r: Any = None,
          p_ref: Any = None, attrition: Any = 0.0, cv_group_size: Any = 0.0, allocation_ratio: Any = 1.0,
          sig_level: Any = 0.05, power: Any = None, alternative: str = "two_sided", test: str | None = None,
          scale: str = "arcsine") -> pd.DataFrame:
    r"""Power, detectable effect or sample size for a group design.

    Exactly one of ``power``, ``effect``, ``n_groups`` and
    ``members_per_group`` must be ``None``; it is solved for (Brent's method,
    :func:`scipy.optimize.brentq`, to ~1e-12).  Every numeric argument may be
    a list: the result has one row for **every combination** (a grid), e.g.
    ``icc=[0.01, 0.05, 0.1], members_per_group=[8, 12, 16]`` gives 9 rows.

    Parameters
    ----------
    design
        ``"single_arm"`` (pre/post, members nested in groups),
        ``"two_arm"`` (members randomised; with ``icc > 0`` only the
        intervention arm is delivered in groups) or ``"cluster_randomised"``
        (groups randomised).
    outcome
        ``"continuous"`` or ``"proportion"``.
    effect
        The effect to detect.  *Continuous*: a standardised effect unless
        ``sd`` is given, then a raw difference in score points.  For
        ``single_arm`` the standardised effect is :math:`d_z` (mean change
        / SD of the change); if ``pre_post_r`` is given without ``sd`` it is
        :math:`d` (mean change / SD of the outcome), converted with
        :math:`d_z = d/\sqrt{2(1-r)}`.  For the two-arm designs it is Cohen's
        :math:`d`.  *Proportion*: with ``p_ref`` the difference
        :math:`p_1 - p_{ref}` (e.g. 0.15 for 40% to 55%), otherwise Cohen's
        :math:`h = 2\arcsin\sqrt{p_1} - 2\arcsin\sqrt{p_{ref}}`.  When solved,
        a positive effect is returned (an increase) unless
        ``alternative="less"``; for a decrease in a proportion under a
        two-sided test use ``p_ref = 1 - p_ref`` (the test is symmetric).
    n_groups
        Groups: in the study (``single_arm``), in the intervention arm
        (``cluster_randomised``; the control arm has
        ``allocation_ratio * n_groups``), or the groups the intervention arm
        is delivered in (``two_arm``; use ``n_groups=1`` and read
        ``members_per_group`` as "members per arm" for a plain trial).
    members_per_group
        Members **enrolled** per group (mean size).  Those analysed are
        ``members_per_group * (1 - attrition)``.
    icc
        Intraclass correlation of the analysed outcome (the change for
        ``single_arm`` continuous; the follow-up otherwise; on the
        proportion scale for proportions).  Required for ``single_arm`` and
        ``cluster_randomised``; 0 by default for ``two_arm``.
    sd
        SD of the outcome (each timepoint), making ``effect`` raw points.
        ``single_arm`` then needs ``pre_post_r``:
        :math:`SD_{change} = SD\sqrt{2(1-r)}`.
    pre_post_r
        Correlation of members' baseline and follow-up (``single_arm`` only).
    p_ref
        Proportion outcome: the benchmark (``single_arm``) or control-arm
        proportion.
    attrition
        Expected share of enrolled members not analysed (no follow-up):
        enrolled = analysed / (1 - attrition).
    cv_group_size
        Coefficient of variation of the analysed group sizes (Eldridge et al.
        2006); 0 for equal sizes.
    allocation_ratio
        Control : intervention ratio of members (``two_arm``) or groups
        (``cluster_randomised``).  Counts in the control arm are
        ``allocation_ratio`` times those of the intervention arm and are
        not rounded.
    sig_level
        Significance level :math:`\alpha` (the name follows R's ``pwr``:
        ``sig.level``).  Two-sided unless ``alternative`` says otherwise.
    power
        Target power (``None`` to compute it).
    alternative
        ``"two_sided"``, ``"greater"`` (effect > 0) or ``"less"`` (effect < 0;
        e.g. PHQ-9, where lower is better).
    test
        ``"t"``: noncentral t with the design's df (few groups);
        ``"normal"``: the normal approximation.  Default: ``"t"``, except
        ``"normal"`` for a proportion in the ``two_arm`` design (as
        ``pwr.2p.test`` and ``power.prop.test``).
    scale
        Proportions only: ``"arcsine"`` (Cohen's h; ``pwr.2p.test``,
        ``pwr.p.test``) or ``"proportion"`` (the two-proportion z test of
        :math:`p_1 - p_0` with the pooled variance under the null:
        ``power.prop.test(strict = TRUE)``).

    Returns
    -------
    pandas.DataFrame
        One row per scenario with the columns :data:`POWER_COLUMNS`: every
        input, ``solved`` (which quantity), the rounded-up size and its
        unrounded ``*_exact`` value, ``achieved_power`` (at the rounded
        size), ``design_effect``, ``n_effective`` (analysed members /
        design effect), ``df`` (NaN for the normal test), ``ncp``,
        ``critical_value``, ``method`` and ``note`` (why a value is NaN).

    Notes
    -----
    With :math:`\bar m_a = \bar m(1-a)` analysed members per group and
    :math:`DE = 1 + ((cv^2+1)\bar m_a - 1)\rho`, the standard error of the
    standardised estimate (unit variance) is

    * single arm, :math:`k` groups: :math:`SE = \sqrt{DE/(k\bar m_a)}`, df :math:`k-1`;
    * cluster randomised, :math:`k_1` and :math:`k_2 = r k_1` groups:
      :math:`SE = \sqrt{DE\,(1/n_1 + 1/n_2)}`, :math:`n_i = k_i \bar m_a`, df :math:`k_1 + k_2 - 2`;
    * two arm, :math:`n_1 = k\bar m_a`, :math:`n_2 = r n_1`: :math:`SE = \sqrt{DE_1/n_1 + 1/n_2}`
      with :math:`DE_1 = 1` and df :math:`n_1+n_2-2` when :math:`\rho = 0`, otherwise
      the Satterthwaite df :math:`(v_1+v_2)^2/(v_1^2/(k-1) + v_2^2/(n_2-1))`.

    Power for the t test is
    :math:`P(T_{\nu,\lambda} > t_{1-\alpha/2,\nu}) + P(T_{\nu,\lambda} < -t_{1-\alpha/2,\nu})`
    with :math:`\lambda = \delta/SE`, as in ``pwr`` (both tails); the normal
    test replaces :math:`T` by :math:`Z`.  For proportions on the
    proportion scale the normal test uses
    :math:`\Phi((|\delta| - z\,SE_0)/SE_1)` + the other tail, with
    :math:`SE_0` from the pooled proportion; the t version uses
    :math:`SE_1` for both.  Sample sizes are continuous in the
    computation and only the solved one is rounded up.  With a fixed
    number of groups power has a ceiling as groups grow
    (:math:`DE/\bar m \to (cv^2+1)\rho`, Hemming et al. 2011); a target
    above it gives NaN with the ceiling in ``note``.

    References
    ----------
    Cohen J (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed. Erlbaum.
    Donner A, Klar N (2000). *Design and Analysis of Cluster Randomization Trials in Health Research*. Arnold.
    Eldridge SM, Ashby D, Kerry S (2006). *Int J Epidemiol* 35:1292-1300.
    Hemming K, Girling AJ, Sitch AJ, Marsh J, Lilford RJ (2011). Sample size calculations for cluster
    randomised controlled trials with a fixed number of clusters. *BMC Med Res Methodol* 11:102.
    Rutterford C, Copas A, Eldridge S (2015). Methods for sample size determination in cluster randomized
    trials. *Int J Epidemiol* 44:1051-1067.
    Roberts C, Roberts SA (2005). Design and analysis of clinical trials with clustering effects due to
    treatment. *Clin Trials* 2:152-162 (the partially nested two-arm design).
    Satterthwaite FE (1946). *Biometrics Bull* 2:110-114.

    In R: ``pwr::pwr.t.test(n, d, sig.level, power, type = "paired")``, ``pwr::pwr.t2n.test``,
    ``pwr::pwr.2p.test(h = ES.h(p1, p0), ...)``, ``pwr::pwr.p.test``, ``power.prop.test(strict = TRUE)``;
    for groups replace ``n`` by ``n / DE`` and the df as above.

    Examples
    --------
    >>> res = power("single_arm", effect=None, n_groups=12, members_per_group=15, icc=0.05,
    ...             attrition=0.3, power=0.8)
    >>> power_sentence(res.iloc[0])  # doctest: +SKIP
    'With 12 groups of 15 members, an ICC of 0.05 and 30% attrition, the study has 80% power ...'
    """
    design = _DESIGN_ALIASES.get(design, design)
    design = _choice("design", design, DESIGNS)
    outcome = _choice("outcome", outcome, ("continuous", "proportion"))
    alternative = _choice("alternative", alternative, ("two_sided", "greater", "less"))
    scale = _choice("scale", scale, ("arcsine", "proportion"))
    if test is None:
        test = "normal" if (outcome == "proportion" and design == "two_arm") else "t"
    test = _choice("test", test, ("t", "normal"))
    given = {"effect": effect, "n_groups": n_groups, "members_per_group": members_per_group, "power": power}
    missing = [name for name in _SOLVABLE if given[name] is None]
    if len(missing) != 1:
        raise ConfigError("exactly one of `power`, `effect`, `n_groups` and `members_per_group` must be None "
                          f"(the one to solve for); {'none is' if not missing else ', '.join(missing) + ' are'} None.")
    solve = missing[0]
    if icc is None:
        if design == "two_arm":
            icc = 0.0
        else:
            raise ConfigError(f"`icc` is required for the {design} design: give the intraclass correlation of the "
                              "outcome (estimate it with power_inputs(), or use a published value such as 0.05).")
    if outcome == "proportion":
        if sd is not None or pre_post_r is not None:
            raise ConfigError("`sd` and `pre_post_r` apply to a continuous outcome; for a proportion give `p_ref` "
                              "(benchmark or control proportion) and `effect` as a difference in proportions.")
        if scale == "proportion" and p_ref is None:
            raise ConfigError("scale='proportion' needs `p_ref`, the benchmark (single arm) or control proportion.")
    else:
        if p_ref is not None:
            raise ConfigError("`p_ref` applies to outcome='proportion'.")
        if pre_post_r is not None and design != "single_arm":
            raise ConfigError("`pre_post_r` is used by the single_arm design only (it converts the SD of the outcome "
                              "to the SD of the change); leave it out for two-arm designs.")
        if sd is not None and pre_post_r is None and design == "single_arm":
            raise ConfigError("a raw effect (`sd` given) in the single_arm design needs `pre_post_r`, the correlation "
                              "of baseline and follow-up, to get the SD of the change (see power_inputs()).")

    args = {"effect": effect, "n_groups": n_groups, "members_per_group": members_per_group, "icc": icc, "sd": sd,
            "pre_post_r": pre_post_r, "p_ref": p_ref, "attrition": attrition, "cv_group_size": cv_group_size,
            "allocation_ratio": allocation_ratio, "sig_level": sig_level, "power": power}
    axes = {name: _as_axis(name, args[name])[0] for name in _GRID}
    mesh = np.meshgrid(*[axes[n] for n in _GRID], indexing="ij")
    g = {n: mesh[i].reshape(-1).astype(float) for i, n in enumerate(_GRID)}
    n_rows = g["icc"].size

    _check_range("sig_level", g["sig_level"], 0, 1, lo_open=True, hi_open=True)
    _check_range("power", g["power"], 0, 1, lo_open=True, hi_open=True)
    if solve != "power":
        low = g["power"] <= g["sig_level"]
        if low.any():
            raise ConfigError(f"target `power` must exceed `sig_level` (power at no effect equals sig_level); got "
                              f"power {float(g['power'][low][0])!r} with sig_level {float(g['sig_level'][low][0])!r}.")
    _check_range("icc", g["icc"], 0, 1, hi_open=True, hint="Truncate a negative ICC estimate at 0.")
    _check_range("attrition", g["attrition"], 0, 1, hi_open=True)
    _check_range("cv_group_size", g["cv_group_size"], 0, np.inf)
    _check_range("allocation_ratio", g["allocation_ratio"], 0, np.inf, lo_open=True)
    _check_range("sd", g["sd"], 0, np.inf, lo_open=True)
    _check_range("pre_post_r", g["pre_post_r"], -1, 1, lo_open=True, hi_open=True)
    _check_range("p_ref", g["p_ref"], 0, 1, lo_open=True, hi_open=True)
    _check_range("n_groups", g["n_groups"], 0, np.inf, lo_open=True)
    _check_range("members_per_group", g["members_per_group"], 0, np.inf, lo_open=True)
    if design == "two_arm" and (g["icc"] > 0).any() and solve != "n_groups" and (g["n_groups"] < 2).any():
        raise ConfigError("with icc > 0 the two_arm design nests the intervention arm in `n_groups` groups, so "
                          "n_groups must be at least 2 (for independent members use icc=0).")
    if test == "t" and solve != "n_groups":
        ma = g["members_per_group"] * (1 - g["attrition"])
        if design == "cluster_randomised":
            few = g["n_groups"] * (1 + g["allocation_ratio"]) <= 2
        elif design == "two_arm" and solve != "members_per_group":
            few = g["n_groups"] * ma * (1 + g["allocation_ratio"]) <= 2
        else:
            few = np.zeros(n_rows, dtype=bool)
        if few.any():
            raise ConfigError(f"the {design} t test has no degrees of freedom with these sizes (df = n1 + n2 - 2 "
                              "over groups or members); add groups or members, or use test='normal'.")
    if design == "single_arm" and test == "t" and solve != "n_groups" and (g["n_groups"] <= 1).any():
        raise ConfigError("the single_arm design needs n_groups > 1 (the t test on group means has n_groups - 1 df); "
                          "for members analysed one by one use members_per_group=1 and n_groups = number of members.")

    # effect on the analysis scale
    sd_change = np.full(n_rows, np.nan)
    if outcome == "continuous":
        if design == "single_arm" and not np.isnan(g["pre_post_r"]).all():
            sd_change = np.where(np.isnan(g["sd"]), 1.0, g["sd"]) * np.sqrt(2.0 * (1.0 - g["pre_post_r"]))
        if sd is not None:
            unit = sd_change if design == "single_arm" else g["sd"]
            effect_type = "points"
        elif design == "single_arm" and pre_post_r is not None:
            unit, effect_type = sd_change, "d"
        else:
            unit, effect_type = np.ones(n_rows), ("d_z" if design == "single_arm" else "d")
    else:
        unit = np.ones(n_rows)
        effect_type = "risk_difference" if p_ref is not None else "h"
    if outcome == "proportion" and p_ref is not None and solve != "effect":
        p1_all = g["p_ref"] + g["effect"]
        _check_range("p_ref + effect", p1_all, 0, 1, lo_open=True, hi_open=True,
                     hint="`effect` is a difference in proportions (p1 - p_ref).")

    def params(idx: NDArray[np.intp] | slice, es_or_p1: NDArray[np.float64] | None = None,
               k: NDArray[np.float64] | None = None, m: NDArray[np.float64] | None = None) -> dict[str, Any]:
        """Arrays for _core; es_or_p1 replaces the effect (on the solving scale)."""
        v: dict[str, Any] = {"k": g["n_groups"][idx] if k is None else k,
                             "m": g["members_per_group"][idx] if m is None else m,
                             "a": g["attrition"][idx], "icc": g["icc"][idx], "cv": g["cv_group_size"][idx],
                             "ratio": g["allocation_ratio"][idx], "sig": g["sig_level"][idx]}
        if outcome == "proportion" and p_ref is not None:
            p0 = g["p_ref"][idx]
            p1 = p0 + g["effect"][idx] if es_or_p1 is None else es_or_p1
            if scale == "proportion":
                v["p1"], v["p0"] = p1, p0
            else:
                v["es"] = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p0))
        else:
            v["es"] = g["effect"][idx] / unit[idx] if es_or_p1 is None else es_or_p1
        return {kk: np.atleast_1d(np.asarray(val, dtype=float)) for kk, val in v.items()}

    def pw(i: int, **kw: Any) -> float:
        out = _core(design, outcome, scale, test, alternative, params(np.array([i]), **kw))
        return float(out["power"][0])

    notes = np.full(n_rows, "", dtype=object)
    exact = np.full(n_rows, np.nan)
    if solve == "power":
        pass
    elif solve == "effect":
        for i in range(n_rows):  # one root per scenario
            exact[i], notes[i] = _solve_effect(pw, i, g, outcome, p_ref is not None, alternative)
    else:
        for i in range(n_rows):  # one root per scenario
            exact[i], notes[i] = _solve_size(pw, i, g, design, solve, test)

    # fill the solved quantity, compute power at the (rounded) values
    if solve == "effect":
        if outcome == "proportion" and p_ref is not None:
            g["effect"] = exact - g["p_ref"]  # exact holds p1
        else:
            g["effect"] = exact * unit        # exact holds the standardised effect
    elif solve in ("n_groups", "members_per_group"):
        g[solve + "_exact"] = exact
        g[solve] = np.ceil(exact - 1e-9)
    ok = ~np.isnan(g["effect"]) & ~np.isnan(g["n_groups"]) & ~np.isnan(g["members_per_group"])
    res = _core(design, outcome, scale, test, alternative, params(slice(None)))
    achieved = np.where(ok, res["power"], np.nan)
    if solve == "power":
        g["power"] = achieved
    for key in ("de", "df", "ncp", "crit", "n_eff", "n1", "n2"):
        res[key] = np.where(ok, res[key], np.nan)

    # standardised effect columns
    d = np.full(n_rows, np.nan)
    d_z = np.full(n_rows, np.nan)
    h = np.full(n_rows, np.nan)
    p1 = np.full(n_rows, np.nan)
    if outcome == "continuous":
        std = g["effect"] / unit
        if design == "single_arm":
            d_z = std
            d = g["effect"] / g["sd"] if sd is not None else (std * sd_change if pre_post_r is not None else d)
        else:
            d = std
    else:
        if p_ref is not None:
            p1 = g["p_ref"] + g["effect"]
            h = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(g["p_ref"]))
        else:
            h = g["effect"]

    nested = design == "two_arm"
    method = np.array([_method_label(design, outcome, scale, test, bool(nested and r > 0)) for r in g["icc"]],
                      dtype=object)
    k_ctrl = g["allocation_ratio"] * g["n_groups"] if design == "cluster_randomised" else np.full(n_rows, np.nan)
    if design == "single_arm":
        n_enrolled = g["n_groups"] * g["members_per_group"]
    else:
        n_enrolled = g["n_groups"] * g["members_per_group"] * (1 + g["allocation_ratio"])
    out = pd.DataFrame({
        "design": design, "outcome": outcome, "solved": solve, "alternative": alternative,
        "sig_level": g["sig_level"], "power": g["power"], "achieved_power": achieved,
        "effect": g["effect"], "effect_type": effect_type, "d": d, "d_z": d_z, "h": h, "p1": p1,
        "p_ref": g["p_ref"], "sd": g["sd"], "pre_post_r": g["pre_post_r"], "sd_change": sd_change,
        "icc": g["icc"], "n_groups": g["n_groups"], "n_groups_exact": g.get("n_groups_exact", g["n_groups"]),
        "n_groups_control": k_ctrl, "members_per_group": g["members_per_group"],
        "members_per_group_exact": g.get("members_per_group_exact", g["members_per_group"]),
        "attrition": g["attrition"], "members_analysed_per_group": g["members_per_group"] * (1 - g["attrition"]),
        "cv_group_size": g["cv_group_size"], "allocation_ratio": g["allocation_ratio"],
        "n_enrolled": n_enrolled, "n_analysed": n_enrolled * (1 - g["attrition"]),
        "design_effect": res["de"], "n_effective": res["n_eff"], "df": res["df"], "ncp": res["ncp"],
        "critical_value": res["crit"], "test": test, "scale": scale if outcome == "proportion" else "",
        "method": method, "note": notes,
    })
    if outcome == "proportion" or design != "single_arm":
        out["d_z"] = np.nan
    if sd is None:
        out["sd_change"] = np.nan
    return out.loc[:, list(POWER_COLUMNS)]


def _bracket_root(f: Any, lo: float, hi: float) -> float:
    return float(optimize.brentq(f, lo, hi, xtol=_XTOL, rtol=4 * np.finfo(float).eps, maxiter=500))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _solve_effect(pw: Any, i: int, g: dict[str, NDArray[np.float64]], outcome: str, has_ref: bool,
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


def _solve_size(pw: Any, i: int, g: dict[str, NDArray[np.float64]], design: str, what: str,
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
    f_lo, f_hi = f(lo), f(_BIG)
    if not (np.isfinite(f_hi) and np.isfinite(f_lo)):
        return np.nan, "power could not be computed over the range of sizes"
    if f_hi < 0:
        if what == "members_per_group" and g["icc"][i] > 0:
            return np.nan, (f"with {k:g} groups no group size reaches {_pct(target)} power: at most "
                            f"{_pct(f_hi + target)} however many members per group (more groups are needed; "
                            f"Hemming et al. 2011)")
        return np.nan, f"{_pct(target)} power is not reached below {_BIG:g}"
    if f_lo >= 0:
        return lo, "the target power is already reached at the smallest size the test allows"
    return _bracket_root(f, lo, _BIG), ""


# ---------------------------------------------------------------------------
# the sentence
# ---------------------------------------------------------------------------
def _num(x: float) -> str:
    """ICC / CV style: 2 decimals, 3 when 2 would hide the value."""
    if abs(x - round(x, 2)) < 1e-9:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _alpha(x: float) -> str:
    s = f"{x:.3f}".rstrip("0")
    if len(s.split(".")[1]) < 2:
        s = f"{x:.2f}"
    return s[1:] if s.startswith("0") else s


def _share(x: float) -> str:
    v = 100 * x
    return f"{v:.0f}%" if abs(v - round(v)) < 1e-9 else f"{v:.1f}%"


def _count(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def _f2(x: float) -> str:
    """Two decimals with a typographic minus."""
    return f"{x:.2f}".replace("-", "\u2212")


def _effect_phrase(row: pd.Series) -> str:
    et = row["effect_type"]
    if row["outcome"] == "proportion":
        h = f"h = {_f2(row['h'])}"
        if et == "h":
            return h
        if row["design"] == "single_arm":
            return f"a proportion of {_share(row['p1'])} against a benchmark of {_share(row['p_ref'])} ({h})"
        return f"{_share(row['p1'])} against {_share(row['p_ref'])} in the control arm ({h})"
    if row["design"] == "single_arm":
        if et == "points":
            return f"a mean change of {_f2(row['effect'])} points (d_z = {_f2(row['d_z'])})"
        if et == "d":
            return f"a mean change of d = {_f2(row['d'])} (d_z = {_f2(row['d_z'])})"
        return f"a mean change of d_z = {_f2(row['d_z'])}"
    if et == "points":
        return f"a difference of {_f2(row['effect'])} points (d = {_f2(row['d'])})"
    return f"d = {_f2(row['d'])}"


def _sizes_phrase(row: pd.Series, *, with_k: bool = True, with_m: bool = True) -> str:
    """The sizes that were given (``with_k`` / ``with_m`` false for the one solved for)."""
    k, m, r = row["n_groups"], row["members_per_group"], row["allocation_ratio"]
    design = row["design"]
    if design == "single_arm":
        if with_k and with_m:
            return f"{_count(k)} groups of {_count(m)} members"
        return f"groups of {_count(m)} members" if with_m else f"{_count(k)} groups"
    if design == "cluster_randomised":
        if not with_k:
            return f"groups of {_count(m)} members"
        if r == 1:
            return f"{_count(k)} groups of {_count(m)} members in each arm" if with_m else f"{_count(k)} groups per arm"
        groups = f"{_count(k)} intervention and {_count(r * k)} control groups"
        return f"{groups} of {_count(m)} members" if with_m else groups
    n1 = k * m
    if row["icc"] > 0:
        if with_k and with_m:
            return f"{_count(k)} intervention groups of {_count(m)} members, {_count(r * n1)} control members"
        return f"intervention groups of {_count(m)} members" if with_m else f"{_count(k)} intervention groups"
    if not (with_k and with_m):
        return "groups of " + _count(m) if with_m and k != 1 else "individual randomisation"
    if r == 1:
        return f"{_count(n1)} members in each arm"
    return f"{_count(n1)} intervention and {_count(r * n1)} control members"


def _conditions(row: pd.Series) -> list[str]:
    parts = []
    one_by_one = row["design"] == "single_arm" and row["members_per_group"] == 1 and row["icc"] == 0
    if (row["icc"] > 0 or row["design"] != "two_arm") and not one_by_one:
        parts.append(f"an ICC of {_num(row['icc'])}")
    if row["cv_group_size"] > 0:
        parts.append(f"group sizes varying with a coefficient of variation of {_num(row['cv_group_size'])}")
    if row["attrition"] > 0:
        parts.append(f"{_share(row['attrition'])} attrition")
    return parts


def _join(parts: list[str]) -> str:
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def power_sentence(row: pd.Series | pd.DataFrame) -> str:
    """A plain-English, citable sentence for one row of :func:`power`.

    Parameters
    ----------
    row
        One row of the :func:`power` result (a Series, or a one-row DataFrame).

    Returns
    -------
    str
        E.g. "With 12 groups of 15 members, an ICC of 0.05 and 30% attrition,
        the study has 80% power to detect a mean change of d_z = 0.42 at
        α = .05 (two-sided)."  Effects have 2 decimals, power and shares whole
        percent, α no leading zero; when a size was solved the sentence gives
        the rounded-up size and the members enrolled and analysed.

    Notes
    -----
    Only this function rounds; the DataFrame keeps full precision.

    In R: ``sprintf()`` on the columns of the table.
    """
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise ConfigError(f"power_sentence takes one row; got a DataFrame with {len(row)} rows "
                              "(use [power_sentence(r) for _, r in res.iterrows()]).")
        row = row.iloc[0]
    need = [c for c in ("design", "solved", "power", "effect", "n_groups", "members_per_group", "icc") if c not in row]
    if need:
        raise ConfigError(f"power_sentence needs a row of groupeval's power() result; missing {', '.join(need)}.")
    sided = {"two_sided": "two-sided", "greater": "one-sided", "less": "one-sided"}[row["alternative"]]
    test = f"at α = {_alpha(row['sig_level'])} ({sided})"
    cond = _conditions(row)
    solved = row["solved"]
    pw = f"{100 * row['power']:.0f}%" if row["power"] < 0.995 else "more than 99%"
    if solved in ("power", "effect"):
        if solved == "effect" and pd.isna(row["effect"]):
            return (f"With {_join([_sizes_phrase(row)] + cond)}, no effect can be detected with {pw} power {test}: "
                    f"{row['note']}.")
        given = _join([_sizes_phrase(row)] + cond)
        return f"With {given}, the study has {pw} power to detect {_effect_phrase(row)} {test}."
    fixed = _sizes_phrase(row, with_k=solved != "n_groups", with_m=solved != "members_per_group")
    one_by_one = solved == "n_groups" and row["design"] == "single_arm" and row["members_per_group"] == 1
    if one_by_one:
        fixed = "members analysed individually"
    given = _join([fixed] + cond)
    start = f"To detect {_effect_phrase(row)} with {pw} power {test}, given {given},"
    if pd.isna(row[solved]):
        return f"{start} no feasible size was found: {row['note']}."
    n_en, n_an = row["n_enrolled"], row["n_analysed"]
    tail = (f" ({_count(n_en)} members enrolled" + (f", about {_count(math.floor(n_an + 1e-9))} analysed)"
                                                    if row["attrition"] > 0 else ")"))
    if one_by_one and row["attrition"] == 0:
        tail = ""
    r = row["allocation_ratio"]
    if solved == "n_groups":
        if row["design"] == "single_arm":
            what = f"{_count(row['n_groups'])} groups" if row["members_per_group"] != 1 else \
                f"{_count(row['n_groups'])} members"
        elif row["design"] == "cluster_randomised":
            k_ = row["n_groups"]
            what = f"{_count(k_)} groups " + (
                "per arm" if r == 1 else f"in the intervention arm and {_count(r * k_)} in the control arm")
        else:
            what = f"{_count(row['n_groups'])} intervention groups" if row["icc"] > 0 else \
                f"{_count(row['n_groups'])} groups per arm"
    else:
        if row["design"] == "two_arm" and row["icc"] == 0 and row["n_groups"] == 1:
            m = row["members_per_group"]
            what = f"{_count(m)} members " + (
                "per arm" if r == 1 else f"in the intervention arm and {_count(r * m)} in the control arm")
        else:
            what = f"{_count(row['members_per_group'])} members per group"
    return f"{start} the study needs {what}{tail}."


# ---------------------------------------------------------------------------
# inputs from the programme's own data
# ---------------------------------------------------------------------------
def _icc1(y: NDArray[np.float64], codes: NDArray[np.intp], ci: float) -> tuple[float, float, float, int, int]:
    """ANOVA ICC(1) and its F-based CI, as groupeval.icc computes it."""
    size = np.bincount(codes).astype(float)
    keep = size > 0
    sums = np.bincount(codes, y)[keep]
    size = size[keep]
    means = sums / size
    rc = np.cumsum(keep) - 1  # old code -> compact code
    ssw = float(((y - means[rc[codes]]) ** 2).sum())
    n_tot, k = float(size.sum()), float(size.size)
    grand = sums.sum() / n_tot
    ssb = float((size * (means - grand) ** 2).sum())
    df1, df2 = k - 1, n_tot - k
    if df1 < 1 or df2 < 1:
        return np.nan, np.nan, np.nan, int(k), int(n_tot)
    msb, msw = ssb / df1, ssw / df2
    n0 = (n_tot - float((size**2).sum()) / n_tot) / df1
    if msw == 0:
        return np.nan, np.nan, np.nan, int(k), int(n_tot)
    val = (msb - msw) / (msb + (n0 - 1) * msw)
    F = msb / msw
    fl = F / stats.f.ppf(0.5 + ci / 2, df1, df2)
    fu = F * stats.f.ppf(0.5 + ci / 2, df2, df1)
    return val, (fl - 1) / (fl + n0 - 1), (fu - 1) / (fu + n0 - 1), int(k), int(n_tot)


def _wilson(x: float, n: float, ci: float) -> tuple[float, float]:
    z = stats.norm.ppf(0.5 + ci / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _cv_boot(sizes: NDArray[np.float64], ci: float, seed: int, n_boot: int) -> tuple[float, float, str]:
    if np.all(sizes == sizes[0]):
        return 0.0, 0.0, "every group has the same size"

    def cv(x: NDArray[np.float64], axis: int = -1) -> NDArray[np.float64]:
        return np.std(x, axis=axis, ddof=1) / np.mean(x, axis=axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.bootstrap((sizes,), cv, vectorized=True, n_resamples=n_boot, confidence_level=ci,
                              method="BCa", rng=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return np.nan, np.nan, "the bootstrap interval is undefined (too few distinct group sizes)"
    return lo, hi, ""


def power_inputs(scores: pd.DataFrame, *, pre: str, post: str, dv: str = "score", subject: str = "member_id",
                 group: str = "group_id", time: str = "timepoint", members: Any = None, ci: float = 0.95,
                 seed: int = 20240614, n_boot: int = 9999) -> pd.DataFrame:
    r"""Inputs for :func:`power` estimated from a programme's own scores, each with a CI.

    Parameters
    ----------
    scores
        Long scores: one row per member and timepoint with ``subject``,
        ``time``, ``dv`` and (or from ``members``) ``group``.
    pre, post
        Baseline and follow-up timepoint labels.
    dv, subject, group, time
        Column names.
    members
        Optional roster (a DataFrame with ``subject`` and ``group``, or a
        groupeval Dataset, whose ``members`` table is used) giving each
        member's group when ``scores`` has no ``group`` column.
    ci
        Confidence level.
    seed, n_boot
        Seed and resamples of the bootstrap CI of the CV of group size.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`INPUT_COLUMNS` (``quantity, estimate, ci_low, ci_high,
        n, method, note``), one row per quantity:

        ``icc_followup``, ``icc_change``
            ANOVA ICC(1) by group of the follow-up score (members with one)
            and of the change (members with both), with the F-based
            (Searle) CI; not truncated at 0 (truncate before passing it
            to :func:`power`).
        ``sd_pre``, ``sd_post``, ``sd_change``
            Sample SDs with the chi-square CI.
        ``pre_post_r``
            Pearson correlation of baseline and follow-up, Fisher-z CI.
        ``attrition``
            Share of members with a baseline score but none at follow-up,
            Wilson CI.
        ``mean_group_size``
            Members with a baseline score per group (the enrolled size,
            ``members_per_group``), t CI over groups (``n`` = groups).
        ``cv_group_size``
            SD (divisor :math:`k-1`) / mean of the numbers *analysed* per
            group (baseline and follow-up; a group that lost everyone
            counts as 0), the ``cv_group_size`` of :func:`power`; BCa
            bootstrap CI over groups (``scipy.stats.bootstrap``, fixed seed).
            Random attrition alone makes analysed sizes vary:
            :math:`cv_a^2 \approx cv^2 + a/(\bar m(1-a))`.
        ``cv_group_size_baseline``
            The same for the baseline sizes.

    Notes
    -----
    With :math:`k` groups, :math:`N` members and
    :math:`n_0 = (N - \sum n_j^2/N)/(k-1)`:
    :math:`ICC(1) = (MS_B - MS_W)/(MS_B + (n_0-1)MS_W)`, CI
    :math:`[(F_L-1)/(F_L+n_0-1),\ (F_U-1)/(F_U+n_0-1)]` with
    :math:`F_L = F/F_{1-\alpha/2}(k-1, N-k)`, :math:`F_U = F\,F_{1-\alpha/2}(N-k, k-1)`
    (the formula of :func:`groupeval.icc`; exact for equal group sizes).
    The SD, correlation and attrition intervals treat members as
    independent, so they are too narrow when the ICC is large.  Use the
    upper limits for a cautious design (a larger ICC, larger attrition).

    References
    ----------
    Searle SR (1971). *Linear Models*. Wiley (F-based ICC interval).
    Fisher RA (1921). *Metron* 1:3-32.  Wilson EB (1927). *JASA* 22:209-212.
    Efron B (1987). Better bootstrap confidence intervals. *JASA* 82:171-185.

    In R: ``summary(aov(post ~ factor(group_id)))``, ``cor.test(pre, post)``,
    ``prop.test(x, n, correct = FALSE)$conf.int``.
    """
    if not (0 < ci < 1):
        raise ConfigError(f"`ci` must be between 0 and 1 (e.g. 0.95); got {ci!r}.")
    if not isinstance(scores, pd.DataFrame):
        raise ConfigError(f"`scores` must be a DataFrame of long scores; got {type(scores).__name__}.")
    if pre == post:
        raise ConfigError(f"`pre` and `post` are the same timepoint ({pre!r}); choose two different timepoints.")
    need = [c for c in (subject, time, dv) if c not in scores.columns]
    roster = members if (members is None or isinstance(members, pd.DataFrame)) else getattr(members, "members", None)
    if group not in scores.columns:
        if roster is None:
            need.append(group)
        elif not isinstance(roster, pd.DataFrame) or not {subject, group} <= set(roster.columns):
            raise SchemaError(f"`members` must have columns {subject!r} and {group!r} to find each member's group.")
    if need:
        raise SchemaError(f"scores lack column(s) {', '.join(map(repr, need))}; pass the column names with "
                          f"dv=/subject=/group=/time= or give `members` for the group.")
    if not pd.api.types.is_numeric_dtype(scores[dv]):
        raise SchemaError(f"column {dv!r} must be numeric; got dtype {scores[dv].dtype}.")
    tlab = scores[time].astype("string")
    present = set(tlab.dropna().unique())
    bad = [Problem(None, None, time, t, f"{role} timepoint not in the scores",
                   f"use one of {', '.join(map(repr, sorted(present)))}")
           for t, role in ((pre, "pre"), (post, "post")) if t not in present]
    if bad:
        raise ConfigError("timepoint not found", bad)
    is_pre = (tlab == pre).fillna(False).to_numpy(dtype=bool)
    is_post = (tlab == post).fillna(False).to_numpy(dtype=bool)
    rows = np.flatnonzero(is_pre | is_post)
    sub = scores.iloc[rows]
    ids = sub[subject].astype("string").to_numpy(dtype=object)
    codes, uniq = pd.factorize(ids)
    if (codes < 0).any():
        raise ValidationError(f"{int((codes < 0).sum())} score row(s) have no {subject!r}; "
                              "give every row its member id.")
    role = is_post[rows].astype(np.int64)
    cnt = np.bincount(codes * 2 + role, minlength=2 * len(uniq))
    if (cnt > 1).any():
        dup = np.flatnonzero(cnt > 1)
        raise ValidationError("scores are not one row per member and timepoint",
                              [Problem(None, None, subject, f"{uniq[j // 2]} @ {(pre, post)[j % 2]}",
                                       "more than one score for this member at this timepoint",
                                       "keep one row per member and timepoint") for j in dup.tolist()])
    y = pd.to_numeric(sub[dv], errors="coerce").to_numpy(dtype=float)
    n_u = len(uniq)
    pre_v = np.full(n_u, np.nan)
    post_v = np.full(n_u, np.nan)
    pre_v[codes[role == 0]] = y[role == 0]
    post_v[codes[role == 1]] = y[role == 1]
    # each member's group: from the scores (baseline row first) or from the roster
    if group in scores.columns:
        gval = sub[group].astype("string").to_numpy(dtype=object)
        order = np.lexsort((role, pd.isna(gval), codes))  # within member: a row with a group, baseline first
        gmem = np.full(n_u, None, dtype=object)
        first = np.ones(order.size, dtype=bool)
        first[1:] = codes[order][1:] != codes[order][:-1]
        gmem[codes[order][first]] = gval[order][first]
        both = pd.DataFrame({"c": codes, "g": gval}).dropna().drop_duplicates()
        moved = int(both["c"].duplicated().sum())
        if moved:
            warnings.warn(f"{moved} member(s) have a different {group!r} at {pre!r} and {post!r}; their baseline "
                          f"group is used.", DataQualityWarning, stacklevel=2)
    else:
        assert isinstance(roster, pd.DataFrame)
        r = roster[[subject, group]].astype("string").drop_duplicates(subset=[subject])
        gmem = pd.Series(r[group].to_numpy(dtype=object), index=r[subject].to_numpy(dtype=object)) \
            .reindex(np.asarray(uniq, dtype=object)).to_numpy(dtype=object)
    gmiss = pd.isna(gmem)
    if gmiss.any():
        raise ValidationError(f"{int(gmiss.sum())} member(s) have no {group!r}; every member needs a group",
                              [Problem(None, None, group, uniq[j], "no group for this member",
                                       "add the member to the roster or the group column")
                               for j in np.flatnonzero(gmiss)[:50].tolist()])
    gcodes, guniq = pd.factorize(gmem)
    has_pre, has_post = ~np.isnan(pre_v), ~np.isnan(post_v)
    paired = has_pre & has_post
    change = post_v - pre_v
    rows_out: list[dict[str, Any]] = []

    def add(q: str, est: float, lo: float, hi: float, n: int, method: str, note: str = "") -> None:
        rows_out.append({"quantity": q, "estimate": est, "ci_low": lo, "ci_high": hi, "n": n, "method": method,
                         "note": note})

    icc_method = "ANOVA ICC(1), F-based (Searle) CI"
    for q, yy, sel in (("icc_followup", post_v, has_post), ("icc_change", change, paired)):
        est, lo, hi, k, n = _icc1(yy[sel], gcodes[sel], ci)
        note = "" if np.isfinite(est) else "needs at least 2 groups, more members than groups and spread within groups"
        add(q, est, lo, hi, n, icc_method, note)
        if np.isfinite(est) and k < 10:
            warnings.warn(f"{q}: ICC from only {k} groups; the interval is wide and the estimate unstable.",
                          SmallSampleWarning, stacklevel=2)
    for q, yy in (("sd_pre", pre_v[has_pre]), ("sd_post", post_v[has_post]), ("sd_change", change[paired])):
        n = yy.size
        if n < 2:
            add(q, np.nan, np.nan, np.nan, n, "sample SD, chi-square CI", "needs at least 2 members")
            continue
        s = float(np.std(yy, ddof=1))
        lo = s * math.sqrt((n - 1) / stats.chi2.ppf(0.5 + ci / 2, n - 1))
        hi = s * math.sqrt((n - 1) / stats.chi2.ppf(0.5 - ci / 2, n - 1))
        add(q, s, lo, hi, n, "sample SD, chi-square CI")
    n_p = int(paired.sum())
    if n_p >= 4 and np.std(pre_v[paired]) > 0 and np.std(post_v[paired]) > 0:
        r_est = float(np.corrcoef(pre_v[paired], post_v[paired])[0, 1])
        z = stats.norm.ppf(0.5 + ci / 2) / math.sqrt(n_p - 3)
        add("pre_post_r", r_est, math.tanh(math.atanh(r_est) - z), math.tanh(math.atanh(r_est) + z), n_p,
            "Pearson r, Fisher z CI")
    else:
        add("pre_post_r", np.nan, np.nan, np.nan, n_p, "Pearson r, Fisher z CI",
            "needs at least 4 members with both scores and spread at both timepoints")
    n_b = int(has_pre.sum())
    lost = int((has_pre & ~has_post).sum())
    if n_b:
        lo, hi = _wilson(lost, n_b, ci)
        add("attrition", lost / n_b, lo, hi, n_b, "share with baseline but no follow-up, Wilson CI")
    else:
        add("attrition", np.nan, np.nan, np.nan, 0, "share with baseline but no follow-up, Wilson CI",
            "no member has a baseline score")
    sizes_all = np.bincount(gcodes[has_pre], minlength=len(guniq)).astype(float)
    in_design = sizes_all > 0  # groups with at least one member at baseline
    sizes = sizes_all[in_design]
    analysed = np.bincount(gcodes[paired], minlength=len(guniq)).astype(float)[in_design]
    k = sizes.size
    boot = f"BCa bootstrap over groups (seed {seed}, {n_boot} resamples)"
    if k >= 2:
        mean = float(sizes.mean())
        sdv = float(sizes.std(ddof=1))
        half = stats.t.ppf(0.5 + ci / 2, k - 1) * sdv / math.sqrt(k)
        add("mean_group_size", mean, mean - half, mean + half, k, "members with baseline per group, t CI over groups")
        for q, sz, what in (("cv_group_size", analysed, "members analysed (baseline and follow-up) per group"),
                            ("cv_group_size_baseline", sizes, "members with baseline per group")):
            if sz.mean() == 0:
                add(q, np.nan, np.nan, np.nan, k, f"SD (ddof=1) / mean of {what}", "no group has a member analysed")
                continue
            lo, hi, note = _cv_boot(sz, ci, seed, n_boot)
            add(q, float(sz.std(ddof=1) / sz.mean()), lo, hi, k, f"SD (ddof=1) / mean of {what}; {boot}", note)
    else:
        for q in ("mean_group_size", "cv_group_size", "cv_group_size_baseline"):
            add(q, float(sizes.mean()) if (k and q == "mean_group_size") else np.nan, np.nan, np.nan, k,
                "group sizes", "needs at least 2 groups")
    return pd.DataFrame(rows_out, columns=list(INPUT_COLUMNS))
