"""Sentences about paired pre/post change (:func:`groupeval.change`).

The sentence leads with the cluster-aware result -- members are nested in
groups, so the interval that allows for it (CR2 cluster-robust with
Satterthwaite df when the statistics layer provides it) decides the wording:
"improved" is said only when *that* interval excludes zero.  The
member-level paired t-test follows as a secondary result.  An uncontrolled
pre/post design is described as change, never as an effect of the groups.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...base.exceptions import ConfigError
from ..formatting import fmt_ci, fmt_count, fmt_mean_sd, fmt_number, fmt_p, fmt_t, is_suppressed, resolve_min_cell
from ._common import (
    as_row,
    check_style,
    default_digits,
    finite,
    group_phrase,
    higher_is_better,
    instrument_name,
    need,
    rounded,
    sentence,
    text_field,
)
from .wording import fmt_ci_words, method_phrase, timepoint_text

__all__ = ["change_sentence", "change_sentences", "change_caveat", "change_basis", "ChangeBasis"]

_CHANGE_NEEDS = ("pre", "post", "n", "mean_pre", "mean_post", "mean_change", "ci_low", "ci_high", "t", "df",
                 "p_value", "d_z", "d_z_ci_low", "d_z_ci_high")
_NOT_BY = {"pre", "post", "improved_direction", "wilcoxon_method", "cluster_method", "cluster_note",
           "df_method", "vcov_type", "note", "reason"}


@dataclass(frozen=True)
class ChangeBasis:
    """Which interval a change sentence rests on, and why.

    Attributes
    ----------
    kind : str
        ``"cluster"`` (the group-clustered interval is defined), ``"member"``
        (no clustering information, or one group: the member-level interval
        is the only one) or ``"none"`` (the clustered interval is undefined,
        so no claim is made).
    ci_low, ci_high, p_value : float
        The interval and p value of that basis (NaN for ``"none"``).
    method : str
        ``"CR2 cluster-robust, Satterthwaite df, 9 groups"`` or "".
    reason : str
        Why the cluster-aware result is missing ("" when it is not).
    n_groups : float
    """

    kind: str
    ci_low: float
    ci_high: float
    p_value: float
    method: str
    reason: str
    n_groups: float

    @property
    def clear(self) -> bool:
        """True when the interval excludes zero."""
        return self.kind != "none" and finite(self.ci_low) and finite(self.ci_high) and not (
            float(self.ci_low) <= 0 <= float(self.ci_high))


def change_basis(row: pd.Series) -> ChangeBasis:
    """The interval a sentence about this :func:`groupeval.change` row must rest on (see :class:`ChangeBasis`)."""
    nan = float("nan")
    g = row.get("n_groups", nan)
    g = float(g) if finite(g) else nan
    has_cluster = "ci_low_cluster" in row.index
    lo, hi = row.get("ci_low_cluster", nan), row.get("ci_high_cluster", nan)
    if has_cluster and finite(lo) and finite(hi):
        method = row.get("cluster_method")
        method = method if isinstance(method, str) and method else "CR1"   # before CR2: CR1 with G - 1 df
        df_method = text_field(row, ("df_method",)) or ("Satterthwaite" if method == "CR2" else "G − 1")
        return ChangeBasis("cluster", float(lo), float(hi), float(row.get("p_value_cluster", nan)),
                           method_phrase(cluster_method=method, df_method=df_method, n_groups=g), "", g)
    reason = text_field(row, ("cluster_note",))
    if not has_cluster or not finite(g) or g <= 1:   # no grouping known, or one group
        if finite(g) and g <= 1:
            reason = reason or "one group: no between-group variance can be estimated"
        return ChangeBasis("member", float(row["ci_low"]), float(row["ci_high"]), float(row["p_value"]), "",
                           reason, g)
    return ChangeBasis("none", nan, nan, nan, "", reason or "the group-clustered interval is undefined", g)


def _member_test(row: pd.Series) -> str:
    """``t(180) = −9.10, p < .001`` or why there is no test (never ``t = −∞``)."""
    if finite(row["t"]) and finite(row["df"]) and finite(row["p_value"]):
        return f"{fmt_t(row['t'], row['df'])}, {fmt_p(row['p_value'])}"
    sd = row.get("sd_change", np.nan)
    if finite(sd) and float(sd) == 0:
        return "no t-test (every member's score changed by the same amount)"
    return "no t-test could be computed"


def _cluster_test(row: pd.Series, basis: ChangeBasis, d: int, level: float) -> str:
    """The cluster-aware CI, t and p with the method named."""
    parts = [fmt_ci(basis.ci_low, basis.ci_high, d, level=level)]
    t, df = row.get("t_cluster", np.nan), row.get("df_cluster", np.nan)
    if finite(t) and finite(df):
        parts.append(fmt_t(t, df))
    if finite(basis.p_value):
        parts.append(fmt_p(basis.p_value))
    return ", ".join(parts) + f" ({basis.method})"


def _effect_size(row: pd.Series, level: float) -> str:
    if finite(row["d_z"]):
        return (f"d_z = {fmt_number(row['d_z'], 2)}, "
                f"{fmt_ci(row['d_z_ci_low'], row['d_z_ci_high'], 2, level=level)}")
    return ""


def _apa(row: pd.Series, basis: ChangeBasis, *, lead: str, subject: str, pre: str, post: str, d: int,
         level: float) -> str:
    n = int(row["n"])
    change_r = rounded(row["mean_change"], d)
    verb = "fell" if change_r < 0 else "rose" if change_r > 0 else "stayed level"
    head = (f"{lead}{subject} {verb} from {fmt_mean_sd(row['mean_pre'], row.get('sd_pre', np.nan), d)} at {pre} "
            f"to {fmt_mean_sd(row['mean_post'], row.get('sd_post', np.nan), d)} at {post} (n = {fmt_count(n)}), "
            "mean change "
            f"{fmt_number(row['mean_change'], d)}")
    effect = _effect_size(row, level)
    member = _member_test(row)
    if basis.kind == "cluster":
        body = (f"{head}, {_cluster_test(row, basis, d, level)}; the member-level paired t-test, which ignores "
                f"the grouping, gave {member}")
    elif basis.kind == "member":
        ci = fmt_ci(row["ci_low"], row["ci_high"], d, level=level) if finite(row["ci_low"]) else ""
        body = f"{head}, " + ", ".join(x for x in (ci, member) if x)
        if basis.reason:
            body += f" (member-level paired t-test; {basis.reason}, so the result describes these members only)"
    else:
        body = (f"{head}; no interval allowing for members clustered in groups could be computed "
                f"({basis.reason}), and the member-level paired t-test, which ignores the grouping, gave {member}")
    return sentence(body + (f"; {effect}" if effect else ""))


def _plain(row: pd.Series, basis: ChangeBasis, *, lead: str, subject: str, pre: str, post: str, d: int,
           instrument: Any, n_groups_text: str) -> str:
    n = int(row["n"])
    change_r = rounded(row["mean_change"], d)
    amount = fmt_number(abs(float(row["mean_change"])), d)
    points = "point" if amount == "1" else "points"
    who = f"among the {fmt_count(n)} members{n_groups_text} who answered at both times"
    frm = f"from {fmt_number(row['mean_pre'], d)} to {fmt_number(row['mean_post'], d)}"
    if basis.kind == "none":
        return sentence(f"{lead}{subject} went {frm} between {pre} and {post} {who}, but how sure we can be of "
                        "this change could not be worked out from these data")
    if not basis.clear:
        return sentence(f"{lead}{subject} changed little between {pre} and {post} {who}: the average change of "
                        f"{fmt_number(row['mean_change'], d)} {points} could be due to chance")
    verb = "fell" if change_r < 0 else "rose"
    lo, hi = sorted((abs(basis.ci_low), abs(basis.ci_high)))
    likely = fmt_ci_words(lo, hi, digits=d)
    likely = f" (likely {likely})" if likely else ""
    hib = higher_is_better(instrument, row.get("improved_direction"))
    if hib is None:
        return sentence(f"{lead}{subject} {verb} between {pre} and {post} {who}: by {amount} {points}{likely} on "
                        f"average, {frm}")
    judgement = "improved" if (change_r > 0) == hib else "worsened"
    hint = f"{'higher' if hib else 'lower'} scores are better"
    return sentence(f"{lead}{subject} {judgement} between {pre} and {post} {who}: on average they {verb} by "
                    f"{amount} {points}{likely}, {frm} ({hint})")


def change_caveat(change: Any, *, style: str = "apa", audience: str | None = None,
                  min_cell: int | None = None) -> str:
    """What an uncontrolled pre/post change can and cannot show.

    States that the design has no comparison group (change, not an effect of
    the groups), that only members with both scores are analysed (with the
    number answering at baseline only, when the row has ``n_pre_only`` and
    counts are not suppressed) and that part of any change can be
    regression to the mean.

    Parameters
    ----------
    change
        A row (or one-row table) of :func:`groupeval.change`.
    style, audience, min_cell
        As :func:`change_sentence`.
    """
    check_style(style)
    row = as_row(change, "change_caveat")
    mc = resolve_min_cell(audience, min_cell)
    n_pre = row.get("n_pre_only", np.nan)
    left_out = finite(n_pre) and float(n_pre) > 0
    count = fmt_count(int(n_pre)) if left_out and mc is None else ""
    if style == "plain":
        only = ""
        if left_out:
            only = (f"; the {count} members who answered only at the start are not counted" if count else
                    "; members who answered only at the start are not counted")
        return sentence("There was no comparison group, so this shows how scores changed, not what the groups "
                        f"caused{only}; scores that start high or low also tend to move toward the average on "
                        "their own")
    comp = ""
    if left_out:
        comp = (f"; members with a baseline score only ({count}) are not included (completers-only analysis)"
                if count else "; members with a baseline score only are not included (completers-only analysis)")
    return sentence("Uncontrolled pre–post design: the change cannot be attributed to the groups" + comp
                    + "; part of it may be regression to the mean")


def change_sentence(change: Any, *, instrument: Any = None, group: str | None = None, style: str = "apa",
                    audience: str | None = None, min_cell: int | None = None, digits: int | None = None,
                    level: float = 0.95, timepoints: Mapping[Any, str] | None = None,
                    caveats: bool = False) -> str:
    """One sentence about a paired change (one row of :func:`groupeval.change`).

    Parameters
    ----------
    change
        A row (Series) or one-row DataFrame of :func:`groupeval.change`.
        With the cluster columns (``ci_low_cluster``, ``ci_high_cluster``,
        ``p_value_cluster``, ``n_groups`` and, from the CR2 statistics,
        ``t_cluster``, ``df_cluster``, ``cluster_method``, ``cluster_note``)
        the sentence leads with them (see :func:`change_basis`).
    instrument
        Registry name or Instrument: its ``label`` (APA) or ``title``
        (plain) names the scores, its range sets the default decimals and
        ``higher_is_better`` the wording of the plain style (the row's
        ``improved_direction`` is used when present).
    group
        Lead-in such as "In 12-step groups"; by default built from the row's
        ``by`` column (``group_type`` -> "In <level> groups").
    style
        ``"apa"`` or ``"plain"``.
    audience, min_cell
        For funder/public output, a change resting on fewer than ``min_cell``
        members is not reported (the sentence says so).
    digits
        Decimals of scores and changes (default 2 for scales spanning at most
        10 points, else 1).  t and d_z always have 2, p 3 (APA).
    level
        Confidence level of the row's intervals (for the "95% CI" label).
    timepoints
        ``{timepoint: label}`` for the timepoint names ("6 months"); the
        plain style derives "26 weeks" from ``week_26`` by default.
    caveats
        Append :func:`change_caveat` (no comparison group, completers only,
        regression to the mean).

    Returns
    -------
    str
        E.g. "PHQ-9 scores fell from 11.2 (SD 4.1) at baseline to 8.0 (SD
        4.5) at week 26 (n = 181), mean change −3.2, 95%
        CI [−4.4, −2.0], t(6.8) = −6.21, p < .001 (CR2 cluster-robust,
        Satterthwaite df, 9 groups); the member-level paired t-test, which
        ignores the grouping, gave t(180) = −9.10, p < .001; d_z = −0.68,
        95% CI [−0.84, −0.52]."
    """
    check_style(style)
    row = as_row(change, "change_sentence")
    need(row, _CHANGE_NEEDS, "change_sentence")
    mc = resolve_min_cell(audience, min_cell)
    d = default_digits(instrument) if digits is None else digits
    if group is None:
        by = [c for c in row.index if c not in _CHANGE_NEEDS and c not in _NOT_BY and isinstance(row[c], str)
              and not str(c).startswith(("n_", "ci_", "p_"))]
        if by:
            group = group_phrase(by[0], row[by[0]])
    lead = f"{group}, " if group else ""
    name = instrument_name(instrument, style)
    subject = name if name == "Scores" else f"{name} scores"  # no instrument: just "Scores"
    pre, post = timepoint_text(row["pre"], style, timepoints), timepoint_text(row["post"], style, timepoints)
    n = int(row["n"])
    if is_suppressed(n, mc) or n < 2:
        why = fmt_count(n, mc) if is_suppressed(n, mc) else ("no" if n == 0 else "only one")
        noun = "member" if why == "only one" else "members"
        return sentence(f"{lead}{subject} at {pre} and {post} are not reported: {why} {noun} answered both times")
    if not finite(row["mean_change"]):
        return sentence(f"{lead}{subject} at {pre} and {post} are not reported: the change could not be computed")
    basis = change_basis(row)
    if style == "apa":
        text = _apa(row, basis, lead=lead, subject=subject, pre=pre, post=post, d=d, level=level)
    else:
        g = basis.n_groups
        groups = f" in {fmt_count(int(g))} groups" if finite(g) and g > 1 else ""
        text = _plain(row, basis, lead=lead, subject=subject, pre=pre, post=post, d=d, instrument=instrument,
                      n_groups_text=groups)
    if caveats:
        text += " " + change_caveat(row, style=style, audience=audience, min_cell=min_cell)
    return text


def change_sentences(change: pd.DataFrame, **kwargs: Any) -> list[str]:
    """:func:`change_sentence` for every row of a :func:`groupeval.change` table."""
    if not isinstance(change, pd.DataFrame):
        raise ConfigError(f"change_sentences needs the DataFrame from groupeval.change; got {type(change).__name__}.")
    return [change_sentence(change.iloc[i], **kwargs) for i in range(len(change))]
