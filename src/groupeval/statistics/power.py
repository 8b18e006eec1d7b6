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

The power function of each design and the root finders live in
:mod:`._power_solve`; :func:`power` checks the arguments, builds the grid of
scenarios and solves it in named steps.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..base.exceptions import ConfigError
from ._power_solve import core_power, method_label, solve_effect, solve_size

__all__ = ["DESIGNS", "POWER_COLUMNS", "design_effect", "power"]

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


_SOLVABLE = ("power", "effect", "n_groups", "members_per_group")
_GRID = ("effect", "n_groups", "members_per_group", "icc", "sd", "pre_post_r", "p_ref", "attrition",
         "cv_group_size", "allocation_ratio", "sig_level", "power")


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
    design, outcome, alternative, scale, test = _check_choices(design, outcome, alternative, scale, test)
    given = {"effect": effect, "n_groups": n_groups, "members_per_group": members_per_group, "power": power}
    missing = [name for name in _SOLVABLE if given[name] is None]
    if len(missing) != 1:
        raise ConfigError("exactly one of `power`, `effect`, `n_groups` and `members_per_group` must be None "
                          f"(the one to solve for); {'none is' if not missing else ', '.join(missing) + ' are'} None.")
    solve = missing[0]
    icc = _check_inputs(design, outcome, scale, icc=icc, sd=sd, pre_post_r=pre_post_r, p_ref=p_ref)
    args = {"effect": effect, "n_groups": n_groups, "members_per_group": members_per_group, "icc": icc, "sd": sd,
            "pre_post_r": pre_post_r, "p_ref": p_ref, "attrition": attrition, "cv_group_size": cv_group_size,
            "allocation_ratio": allocation_ratio, "sig_level": sig_level, "power": power}
    axes = {name: _as_axis(name, args[name])[0] for name in _GRID}
    mesh = np.meshgrid(*[axes[n] for n in _GRID], indexing="ij")
    g = {n: mesh[i].reshape(-1).astype(float) for i, n in enumerate(_GRID)}
    _check_grid(g, design, solve, test)
    sd_change, unit, effect_type = _effect_unit(g, design, outcome, has_sd=sd is not None,
                                                has_r=pre_post_r is not None, has_ref=p_ref is not None)
    if outcome == "proportion" and p_ref is not None and solve != "effect":
        _check_range("p_ref + effect", g["p_ref"] + g["effect"], 0, 1, lo_open=True, hi_open=True,
                     hint="`effect` is a difference in proportions (p1 - p_ref).")
    sc = _Scenarios(design, outcome, scale, test, alternative, g, unit, p_ref is not None)
    notes = _solve(sc, solve)
    ok = ~np.isnan(g["effect"]) & ~np.isnan(g["n_groups"]) & ~np.isnan(g["members_per_group"])
    res = core_power(design, outcome, scale, test, alternative, sc.params(slice(None)))
    achieved = np.where(ok, res["power"], np.nan)
    if solve == "power":
        g["power"] = achieved
    for key in ("de", "df", "ncp", "crit", "n_eff", "n1", "n2"):
        res[key] = np.where(ok, res[key], np.nan)
    out = _result_frame(sc, solve, res, achieved, sd_change, effect_type, notes,
                        has_sd=sd is not None, has_r=pre_post_r is not None)
    return out.loc[:, list(POWER_COLUMNS)]


def _check_choices(design: str, outcome: str, alternative: str, scale: str,
                   test: str | None) -> tuple[str, str, str, str, str]:
    """The design (aliases accepted), outcome, alternative, scale and test (its default filled in)."""
    design = _DESIGN_ALIASES.get(design, design)
    design = _choice("design", design, DESIGNS)
    outcome = _choice("outcome", outcome, ("continuous", "proportion"))
    alternative = _choice("alternative", alternative, ("two_sided", "greater", "less"))
    scale = _choice("scale", scale, ("arcsine", "proportion"))
    if test is None:
        test = "normal" if (outcome == "proportion" and design == "two_arm") else "t"
    test = _choice("test", test, ("t", "normal"))
    return design, outcome, alternative, scale, test


def _check_inputs(design: str, outcome: str, scale: str, *, icc: Any, sd: Any, pre_post_r: Any, p_ref: Any) -> Any:
    """Which inputs the design and outcome need or refuse; returns ``icc`` (0 by default for ``two_arm``)."""
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
    return icc


def _check_grid(g: dict[str, NDArray[np.float64]], design: str, solve: str, test: str) -> None:
    """Every value of every grid axis in its range, and enough groups / members for the test's df."""
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


def _effect_unit(g: dict[str, NDArray[np.float64]], design: str, outcome: str, *, has_sd: bool, has_r: bool,
                 has_ref: bool) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
    """``(sd_change, unit, effect_type)``: the effect divided by ``unit`` is the standardised effect.

    ``sd_change = SD sqrt(2(1 - r))`` (single arm with ``pre_post_r``; SD 1
    without ``sd``); ``unit`` is that for a raw or ``d`` effect in the single
    arm, ``sd`` for a raw two-arm effect, else 1.
    """
    n_rows = g["icc"].size
    sd_change = np.full(n_rows, np.nan)
    if outcome == "continuous":
        if design == "single_arm" and not np.isnan(g["pre_post_r"]).all():
            sd_change = np.where(np.isnan(g["sd"]), 1.0, g["sd"]) * np.sqrt(2.0 * (1.0 - g["pre_post_r"]))
        if has_sd:
            unit = sd_change if design == "single_arm" else g["sd"]
            effect_type = "points"
        elif design == "single_arm" and has_r:
            unit, effect_type = sd_change, "d"
        else:
            unit, effect_type = np.ones(n_rows), ("d_z" if design == "single_arm" else "d")
    else:
        unit = np.ones(n_rows)
        effect_type = "risk_difference" if has_ref else "h"
    return sd_change, unit, effect_type


@dataclass(frozen=True)
class _Scenarios:
    """The grid of scenarios of one :func:`power` call, and power at any of them."""

    design: str
    outcome: str
    scale: str
    test: str
    alternative: str
    g: dict[str, NDArray[np.float64]]   # the grid axes, one value per scenario (filled in when solved)
    unit: NDArray[np.float64]           # effect / unit = the standardised effect
    has_ref: bool                       # a proportion with a reference p_ref

    @property
    def n(self) -> int:
        return int(self.g["icc"].size)

    def params(self, idx: NDArray[np.intp] | slice, es_or_p1: NDArray[np.float64] | None = None,
               k: NDArray[np.float64] | None = None, m: NDArray[np.float64] | None = None) -> dict[str, Any]:
        """Arrays for :func:`core_power`; ``es_or_p1``, ``k``, ``m`` replace the effect (solving scale) or sizes."""
        g = self.g
        v: dict[str, Any] = {"k": g["n_groups"][idx] if k is None else k,
                             "m": g["members_per_group"][idx] if m is None else m,
                             "a": g["attrition"][idx], "icc": g["icc"][idx], "cv": g["cv_group_size"][idx],
                             "ratio": g["allocation_ratio"][idx], "sig": g["sig_level"][idx]}
        if self.outcome == "proportion" and self.has_ref:
            p0 = g["p_ref"][idx]
            p1 = p0 + g["effect"][idx] if es_or_p1 is None else es_or_p1
            if self.scale == "proportion":
                v["p1"], v["p0"] = p1, p0
            else:
                v["es"] = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p0))
        else:
            v["es"] = g["effect"][idx] / self.unit[idx] if es_or_p1 is None else es_or_p1
        return {kk: np.atleast_1d(np.asarray(val, dtype=float)) for kk, val in v.items()}

    def pw(self, i: int, **kw: Any) -> float:
        """Power of scenario ``i`` (with the replacements of :meth:`params`)."""
        out = core_power(self.design, self.outcome, self.scale, self.test, self.alternative,
                         self.params(np.array([i]), **kw))
        return float(out["power"][0])


def _solve(sc: _Scenarios, solve: str) -> NDArray[np.object_]:
    """Solve every scenario for ``solve`` and write the result into the grid; returns the notes (why NaN).

    A solved size is rounded up (the unrounded value goes to ``*_exact``);
    a solved effect is stored on the effect's own scale.
    """
    g = sc.g
    notes = np.full(sc.n, "", dtype=object)
    exact = np.full(sc.n, np.nan)
    if solve == "power":
        return notes
    if solve == "effect":
        for i in range(sc.n):  # one root per scenario
            exact[i], notes[i] = solve_effect(sc.pw, i, g, sc.outcome, sc.has_ref, sc.alternative)
        if sc.outcome == "proportion" and sc.has_ref:
            g["effect"] = exact - g["p_ref"]  # exact holds p1
        else:
            g["effect"] = exact * sc.unit     # exact holds the standardised effect
        return notes
    for i in range(sc.n):  # one root per scenario
        exact[i], notes[i] = solve_size(sc.pw, i, g, sc.design, solve, sc.test)
    g[solve + "_exact"] = exact
    g[solve] = np.ceil(exact - 1e-9)
    return notes


def _result_frame(sc: _Scenarios, solve: str, res: dict[str, NDArray[np.float64]], achieved: NDArray[np.float64],
                  sd_change: NDArray[np.float64], effect_type: str, notes: NDArray[np.object_], *, has_sd: bool,
                  has_r: bool) -> pd.DataFrame:
    """One row per scenario: the inputs, the solved quantity, every standardised effect and the test's details."""
    g, design, outcome, n_rows = sc.g, sc.design, sc.outcome, sc.n
    d = np.full(n_rows, np.nan)
    d_z = np.full(n_rows, np.nan)
    h = np.full(n_rows, np.nan)
    p1 = np.full(n_rows, np.nan)
    if outcome == "continuous":
        std = g["effect"] / sc.unit
        if design == "single_arm":
            d_z = std
            d = g["effect"] / g["sd"] if has_sd else (std * sd_change if has_r else d)
        else:
            d = std
    else:
        if sc.has_ref:
            p1 = g["p_ref"] + g["effect"]
            h = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(g["p_ref"]))
        else:
            h = g["effect"]
    nested = design == "two_arm"
    method = np.array([method_label(design, outcome, sc.scale, sc.test, bool(nested and r > 0)) for r in g["icc"]],
                      dtype=object)
    k_ctrl = g["allocation_ratio"] * g["n_groups"] if design == "cluster_randomised" else np.full(n_rows, np.nan)
    if design == "single_arm":
        n_enrolled = g["n_groups"] * g["members_per_group"]
    else:
        n_enrolled = g["n_groups"] * g["members_per_group"] * (1 + g["allocation_ratio"])
    out = pd.DataFrame({
        "design": design, "outcome": outcome, "solved": solve, "alternative": sc.alternative,
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
        "critical_value": res["crit"], "test": sc.test, "scale": sc.scale if outcome == "proportion" else "",
        "method": method, "note": notes,
    })
    if outcome == "proportion" or design != "single_arm":
        out["d_z"] = np.nan
    if not has_sd:
        out["sd_change"] = np.nan
    return out
