"""The citable power sentence: formats a row of groupeval.power() for a proposal (the reporting layer rounds)."""
from __future__ import annotations

import math

import pandas as pd

from ..base.exceptions import (
    ConfigError,
)

__all__ = ["power_sentence"]


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
