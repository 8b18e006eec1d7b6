"""Sentences and a methods paragraph written from groupeval's results.

Every number in a sentence comes from a result object and is rounded by
:mod:`groupeval.formatting`; nothing is typed by hand, so a grant summary
always matches the analysis it came from.

Two styles:

* ``style="apa"`` -- for researchers and grant writers: estimate, CI, test,
  p and effect size in APA 7 form, e.g. *"PHQ-9 scores fell from 11.2 (SD
  4.1) at baseline to 8.0 (SD 4.5) at week 26 (n = 181), mean change −3.2,
  95% CI [−3.9, −2.5], t(180) = −9.10, p < .001, d_z = −0.68, 95% CI
  [−0.84, −0.52]."*
* ``style="plain"`` -- for programme managers, e.g. *"Two in three members
  who came at least once were still attending 12 weeks later."*

Privacy: ``audience="funder"``/``"public"`` (or ``min_cell=``) writes counts
below ``min_cell`` (default 11) as "fewer than 11", hides estimates resting
on fewer people, and -- for sets of categories that add up to a shown total
-- also hides the cells that would let a hidden one be recovered
(:func:`groupeval.privacy.suppression_mask`).  Sentences never name members.

Functions
---------
change_sentence, change_sentences
    Paired pre/post change (:func:`groupeval.change`).
retention_sentence
    Kaplan--Meier retention at chosen weeks and the median
    (:func:`groupeval.retention`).
logrank_sentence
    The log-rank comparison of a stratified retention result.
reliable_change_sentence
    Jacobson--Truax categories (:func:`groupeval.reliable_change`).
attendance_sentence
    Attendance and status counts (:func:`groupeval.attendance_summary`).
dose_response_sentence
    Follow-up score per session attended (:func:`groupeval.dose_response`).
mixed_model_sentence
    Model-estimated change from the first timepoint (:func:`groupeval.mixed_model`).
compare_groups_sentence
    Baseline-adjusted differences between group types (:func:`groupeval.compare_groups`).
icc_sentence
    How much scores cluster within groups (:func:`groupeval.icc`).
methods_paragraph, references, software_versions
    The methods text with instruments, dropout rule, missing data, software
    versions and references.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, GroupevalError, SchemaError
from .formatting import (
    capitalize_first,
    fmt_ci,
    fmt_count,
    fmt_df,
    fmt_mean_sd,
    fmt_number,
    fmt_p,
    fmt_percent,
    fmt_t,
    fmt_unit,
    fmt_weeks,
    is_suppressed,
    number_word,
    plain_fraction,
    plain_label,
    resolve_min_cell,
)

__all__ = [
    "STYLES",
    "METHOD_REFERENCES",
    "change_sentence",
    "change_sentences",
    "retention_sentence",
    "logrank_sentence",
    "reliable_change_sentence",
    "attendance_sentence",
    "dose_response_sentence",
    "mixed_model_sentence",
    "compare_groups_sentence",
    "icc_sentence",
    "methods_paragraph",
    "references",
    "software_versions",
    "in_text_citation",
]

STYLES = ("apa", "plain")

#: Full references of the methods groupeval uses, by key.
METHOD_REFERENCES: dict[str, str] = {
    "kaplan_meier": "Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. "
                    "J Am Stat Assoc 1958;53(282):457-481.",
    "greenwood": "Greenwood M. The natural duration of cancer. Reports on Public Health and Medical "
                 "Subjects 1926;33:1-26.",
    "kalbfleisch": "Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data. 2nd ed. "
                   "Wiley; 2002.",
    "logrank": "Mantel N. Evaluation of survival data and two new rank order statistics arising in its "
               "consideration. Cancer Chemother Rep 1966;50(3):163-170.",
    "lakens": "Lakens D. Calculating and reporting effect sizes to facilitate cumulative science: a practical "
              "primer for t-tests and ANOVAs. Front Psychol 2013;4:863.",
    "steiger": "Steiger JH, Fouladi RT. Noncentrality interval estimation and the evaluation of statistical "
               "models. In: Harlow LL, Mulaik SA, Steiger JH, eds. What If There Were No Significance Tests? "
               "Erlbaum; 1997:221-257.",
    "jacobson_truax": "Jacobson NS, Truax P. Clinical significance: a statistical approach to defining "
                      "meaningful change in psychotherapy research. J Consult Clin Psychol 1991;59(1):12-19.",
    "hageman_arrindell": "Hageman WJ, Arrindell WA. Establishing clinically significant change: increment of "
                         "precision and the distinction between individual and group level of analysis. "
                         "Behav Res Ther 1999;37(12):1169-1193.",
    "wilson": "Wilson EB. Probable inference, the law of succession, and statistical inference. "
              "J Am Stat Assoc 1927;22(158):209-212.",
    "laird_ware": "Laird NM, Ware JH. Random-effects models for longitudinal data. Biometrics "
                  "1982;38(4):963-974.",
    "statsmodels": "Seabold S, Perktold J. statsmodels: econometric and statistical modeling with Python. "
                   "Proceedings of the 9th Python in Science Conference 2010:92-96.",
    "lifelines": "Davidson-Pilon C. lifelines: survival analysis in Python. J Open Source Softw "
                 "2019;4(40):1317.",
    "pandas": "McKinney W. Data structures for statistical computing in Python. Proceedings of the 9th "
              "Python in Science Conference 2010:56-61.",
    "scipy": "Virtanen P, Gommers R, Oliphant TE, et al. SciPy 1.0: fundamental algorithms for scientific "
             "computing in Python. Nat Methods 2020;17:261-272.",
    "groupeval": "groupeval developers. groupeval: retention and outcome statistics for peer-led support "
                 "groups. Version {version}. Software; 2026.",
    "cms_cell_size": "Centers for Medicare & Medicaid Services. CMS cell size suppression policy. Baltimore, "
                     "MD: CMS; 2020.",
    "rubin": "Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley; 1987.",
}

_CATEGORY_PHRASES = {
    "recovered": ("recovered", "improved reliably and moved from the clinical into the non-clinical range"),
    "improved": ("improved reliably without crossing the cut-off", "improved reliably"),
    "unchanged": ("showed no reliable change", "showed no reliable change"),
    "deteriorated": ("deteriorated reliably", "got reliably worse"),
    "harmed": ("deteriorated reliably into the clinical range", "got reliably worse and moved into the "
               "clinical range"),
}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _check_style(style: str) -> str:
    if style not in STYLES:
        raise ConfigError(f"`style` must be one of {', '.join(map(repr, STYLES))}, got {style!r}.")
    return style


def _instrument(instrument: Any) -> Any:
    """An Instrument from a registry name, an Instrument, or None (unknown names give None)."""
    if instrument is None or not isinstance(instrument, str):
        return instrument
    try:
        from ..base.instruments import get

        return get(instrument)
    except GroupevalError:  # a user-defined, unregistered name: keep it as a label
        return None


def _label(instrument: Any, fallback: str | None = None) -> str:
    inst = _instrument(instrument)
    if inst is not None and getattr(inst, "label", None):
        return str(inst.label)
    if isinstance(instrument, str):
        return instrument
    return fallback or "Scores"


def _default_digits(instrument: Any) -> int:
    """2 decimals for scales spanning 10 points or fewer (BRS 1-5), else 1."""
    inst = _instrument(instrument)
    lo, hi = getattr(inst, "score_min", None), getattr(inst, "score_max", None)
    if lo is not None and hi is not None and float(hi) - float(lo) <= 10:
        return 2
    return 1


def _row(obj: Any, what: str) -> pd.Series:
    if isinstance(obj, pd.Series):
        return obj
    if isinstance(obj, pd.DataFrame):
        if len(obj) != 1:
            raise ConfigError(f"{what} takes one row; got a table of {len(obj)} rows. Use the plural "
                              f"function (e.g. change_sentences) or select a row with .iloc[i].")
        return obj.iloc[0]
    raise ConfigError(f"{what} needs a row (Series) or a one-row DataFrame; got {type(obj).__name__}.")


def _need(row: pd.Series | pd.DataFrame, cols: Iterable[str], what: str) -> None:
    have = row.index if isinstance(row, pd.Series) else row.columns
    missing = [c for c in cols if c not in have]
    if missing:
        raise SchemaError(f"{what}: missing column(s) {missing}; pass the output of the matching groupeval "
                          f"function (have: {list(have)}).")


def _group_phrase(column: str, level: Any) -> str:
    if column == "group_type":
        return f"In {level} groups"
    if column == "group_id":
        return f"In group {level}"
    if column == "facilitation":
        return f"In {level}-facilitated groups" if str(level) != "co-facilitated" else "In co-facilitated groups"
    return f"For {plain_label(column)} {level}"


def _list_or(parts: Sequence[str]) -> str:
    parts = [p for p in parts if p]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _list_and(parts: Sequence[str]) -> str:
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# ---------------------------------------------------------------------------
# change
# ---------------------------------------------------------------------------
_CHANGE_NEEDS = ("pre", "post", "n", "mean_pre", "mean_post", "mean_change", "ci_low", "ci_high", "t", "df",
                 "p_value", "d_z", "d_z_ci_low", "d_z_ci_high")


def change_sentence(change: Any, *, instrument: Any = None, group: str | None = None, style: str = "apa",
                    audience: str | None = None, min_cell: int | None = None, digits: int | None = None,
                    level: float = 0.95) -> str:
    """One sentence about a paired change (one row of :func:`groupeval.change`).

    Parameters
    ----------
    change
        A row (Series) or one-row DataFrame of :func:`groupeval.change`.
    instrument
        Registry name or Instrument: its ``label`` names the scores, its range
        sets the default decimals and ``higher_is_better`` the wording of the
        plain style (the row's ``improved_direction`` is used when present).
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

    Returns
    -------
    str
        E.g. "PHQ-9 scores fell from 11.2 (SD 4.1) at baseline to 8.0 (SD
        4.5) at week 26 (n = 181), mean change −3.2, 95% CI [−3.9, −2.5],
        t(180) = −9.10, p < .001, d_z = −0.68, 95% CI [−0.84, −0.52]."
    """
    _check_style(style)
    row = _row(change, "change_sentence")
    _need(row, _CHANGE_NEEDS, "change_sentence")
    mc = resolve_min_cell(audience, min_cell)
    label = _label(instrument)
    d = _default_digits(instrument) if digits is None else digits
    if group is None:
        from ..statistics.change import CHANGE_COLUMNS

        by = [c for c in row.index if c not in CHANGE_COLUMNS and not str(c).startswith(("n_", "ci_", "p_"))
              and not isinstance(row[c], (int, float, np.number, bool, np.bool_))]
        if by:
            group = _group_phrase(by[0], row[by[0]])
    lead = f"{group}, " if group else ""
    subject = f"{label} scores"
    pre, post = plain_label(row["pre"]), plain_label(row["post"])
    n = int(row["n"])
    if is_suppressed(n, mc) or n < 2:
        why = fmt_count(n, mc) if is_suppressed(n, mc) else ("no" if n == 0 else "only one")
        noun = "member" if why == "only one" else "members"
        return capitalize_first(f"{lead}{subject} at {pre} and {post} are not reported: {why} {noun} "
                                f"answered both times.")
    change_r = float(fmt_number(row["mean_change"], d).replace("\u2212", "-"))
    verb = "fell" if change_r < 0 else "rose" if change_r > 0 else "stayed level"
    if style == "apa":
        sd_pre = row.get("sd_pre", np.nan)
        sd_post = row.get("sd_post", np.nan)
        text = (f"{lead}{subject} {verb} from {fmt_mean_sd(row['mean_pre'], sd_pre, d)} at {pre} to "
                f"{fmt_mean_sd(row['mean_post'], sd_post, d)} at {post} (n = {fmt_count(n)}), mean change "
                f"{fmt_number(row['mean_change'], d)}, {fmt_ci(row['ci_low'], row['ci_high'], d, level=level)}, "
                f"{fmt_t(row['t'], row['df'])}, {fmt_p(row['p_value'])}, d_z = {fmt_number(row['d_z'], 2)}, "
                f"{fmt_ci(row['d_z_ci_low'], row['d_z_ci_high'], 2, level=level)}")
        lo_c, hi_c = row.get("ci_low_cluster", np.nan), row.get("ci_high_cluster", np.nan)
        if pd.notna(lo_c) and pd.notna(hi_c) and np.isfinite(float(lo_c)) and np.isfinite(float(hi_c)):
            text += ("; allowing for members clustered in groups (cluster-robust), the mean change has "
                     f"{fmt_ci(lo_c, hi_c, d, level=level)}")
        return capitalize_first(text + ".")
    # plain
    direction = row.get("improved_direction")
    if not isinstance(direction, str):
        inst = _instrument(instrument)
        direction = None if inst is None else ("higher" if inst.higher_is_better else "lower")
    clear = not (float(row["ci_low"]) <= 0 <= float(row["ci_high"]))
    amount = fmt_number(abs(float(row["mean_change"])), d)
    points = "point" if amount == "1" else "points"
    who = f"among the {fmt_count(n)} members who answered at both times"
    if not clear:
        return capitalize_first(f"{lead}{subject} changed little between {pre} and {post} {who}: the average "
                                f"change of {fmt_number(row['mean_change'], d)} {points} could be due to chance.")
    if direction in ("higher", "lower"):
        better = (change_r > 0) == (direction == "higher")
        judgement = "improved" if better else "worsened"
        hint = f"{direction} scores are better"
        return capitalize_first(f"{lead}{subject} {judgement} between {pre} and {post} {who}: on average they "
                                f"{verb} by {amount} {points}, from {fmt_number(row['mean_pre'], d)} to "
                                f"{fmt_number(row['mean_post'], d)} ({hint}).")
    return capitalize_first(f"{lead}{subject} {verb} between {pre} and {post} {who}: by {amount} {points} on "
                            f"average, from {fmt_number(row['mean_pre'], d)} to {fmt_number(row['mean_post'], d)}.")


def change_sentences(change: pd.DataFrame, **kwargs: Any) -> list[str]:
    """:func:`change_sentence` for every row of a :func:`groupeval.change` table."""
    if not isinstance(change, pd.DataFrame):
        raise ConfigError(f"change_sentences needs the DataFrame from groupeval.change; got {type(change).__name__}.")
    return [change_sentence(change.iloc[i], **kwargs) for i in range(len(change))]


# ---------------------------------------------------------------------------
# retention
# ---------------------------------------------------------------------------
_KM_NEEDS = ("time", "at_risk", "events", "censored", "retention", "ci_low", "ci_high")


def _km_table(result: Any) -> tuple[pd.DataFrame, str | None]:
    table = result if isinstance(result, pd.DataFrame) else getattr(result, "table", None)
    if not isinstance(table, pd.DataFrame):
        raise ConfigError(f"retention_sentence needs a RetentionResult or its .table; got {type(result).__name__}.")
    _need(table, _KM_NEEDS, "retention_sentence")
    by = None if isinstance(result, pd.DataFrame) else getattr(result, "by", None)
    if isinstance(by, (list, tuple)):
        by = by[0] if len(by) == 1 else None
    if by is None:
        extra = [c for c in table.columns if c not in _KM_NEEDS and not str(c).startswith("_")
                 and not pd.api.types.is_numeric_dtype(table[c])]
        by = extra[0] if extra else None
    return table, (by if by in table.columns else None)


def _km_at(table: pd.DataFrame, t: float) -> tuple[float, float, float, float]:
    """(S(t), ci_low(t), ci_high(t), number at risk at t) from a one-stratum KM table.

    S is right-continuous: the value of the last row with time <= t (1 before
    the first event).  At risk at t: ``at_risk`` of the first row with time
    >= t; after the last row, that row's ``at_risk - events - censored``.
    """
    tt = table["time"].to_numpy(float)
    i = np.searchsorted(tt, t, side="right") - 1
    if i < 0:
        s = lo = hi = 1.0
    else:
        s, lo, hi = (float(table[c].iloc[i]) for c in ("retention", "ci_low", "ci_high"))
    j = np.searchsorted(tt, t, side="left")
    if j < len(tt):
        n = float(table["at_risk"].iloc[j])
    else:
        last = table.iloc[-1]
        n = float(last["at_risk"] - last["events"] - last["censored"])
    return s, lo, hi, n


def _weeks(x: float) -> str:
    """Weeks with one decimal unless whole (event times are days / 7)."""
    return fmt_weeks(x, 0 if float(round(x, 1)).is_integer() else 1)


def _km_median(table: pd.DataFrame) -> float:
    """Smallest time with S(t) <= 0.5 (NaN when not reached), as survival::survfit reports it."""
    hit = table.loc[table["retention"].to_numpy(float) <= 0.5, "time"]
    return float(hit.iloc[0]) if len(hit) else float("nan")


def _retention_facts(result: Any, level: Any, times: Sequence[float]) -> dict[str, Any]:
    """n, events, median (+ CI) and (t, S, lo, hi, at_risk) rows for one level.

    From a :class:`~groupeval.RetentionResult`: its ``summary`` row and its
    ``at(times)`` (exact numbers at risk with late entry).  From a bare
    table: the step function read here (see :func:`retention_sentence`).
    """
    table, by = _km_table(result)
    lead = ""
    if by is not None:
        levels = list(pd.unique(table[by]))
        if level is None:
            raise ConfigError(f"retention_sentence: the result is stratified by {by!r}; pass level= (one of "
                              f"{', '.join(map(str, levels))}).")
        if level not in levels:
            raise ConfigError(f"retention_sentence: level {level!r} is not in {by!r} (levels: "
                              f"{', '.join(map(str, levels))}).")
        table = table[table[by] == level]
        lead = _group_phrase(by, level) + ", "
    table = table.sort_values("time", kind="stable")
    facts: dict[str, Any] = {"lead": lead, "last_time": float(table["time"].max()) if len(table) else 0.0}
    summary = getattr(result, "summary", None) if not isinstance(result, pd.DataFrame) else None
    at_fn = getattr(result, "at", None) if not isinstance(result, pd.DataFrame) else None
    if isinstance(summary, pd.DataFrame) and {"n", "events", "median_weeks"} <= set(summary.columns):
        row = summary if by is None else summary[summary[by] == level]
        row = row.iloc[0]
        facts.update(n=int(row["n"]), events=int(row["events"]), median=float(row["median_weeks"]),
                     median_ci_low=float(row.get("median_ci_low", np.nan)),
                     median_ci_high=float(row.get("median_ci_high", np.nan)))
    else:
        facts.update(n=int(table["events"].sum() + table["censored"].sum()), events=int(table["events"].sum()),
                     median=_km_median(table), median_ci_low=np.nan, median_ci_high=np.nan)
    rows = []
    if callable(at_fn):
        at = at_fn(list(map(float, times)), columns=("at_risk", "retention", "ci_low", "ci_high"))
        if by is not None:
            at = at[at[by] == level]
        for t, (_, r) in zip(times, at.iterrows()):
            rows.append((float(t), float(r["retention"]), float(r["ci_low"]), float(r["ci_high"]),
                         float(r["at_risk"])))
    else:
        for t in times:
            rows.append((float(t), *_km_at(table, float(t))))
    facts["rows"] = rows
    med = facts["median"]
    if np.isnan(med):
        facts["median_at_risk"] = np.nan
    elif callable(at_fn):
        at = at_fn([med], columns=("at_risk",))
        facts["median_at_risk"] = float((at if by is None else at[at[by] == level])["at_risk"].iloc[0])
    else:
        facts["median_at_risk"] = _km_at(table, med)[3]
    return facts


def retention_sentence(result: Any, *, times: Sequence[float] = (12, 26), level: Any = None,
                       style: str = "apa", audience: str | None = None, min_cell: int | None = None,
                       digits: int = 0, who: str = "members who came at least once") -> str:
    """Kaplan--Meier retention at ``times`` weeks, with CIs and the median.

    Parameters
    ----------
    result
        A :class:`groupeval.RetentionResult` (preferred: its ``summary`` gives
        n, events and the median with its CI, its ``at()`` the exact numbers
        at risk) or a bare KM table (``time, at_risk, events, censored,
        retention, ci_low, ci_high``).
    times
        Weeks since enrolment at which retention is reported.
    level
        For a stratified result, the ``by`` level to describe (required then).
    style
        ``"apa"`` (percentages with 95% CIs, median, n and events) or
        ``"plain"`` (fractions in words).
    audience, min_cell
        Funder/public: counts below ``min_cell`` become "fewer than 11", and
        an estimate at a time when fewer than ``min_cell`` members were still
        at risk is not reported.
    digits
        Decimals of the percentages.

    Returns
    -------
    str
        E.g. "Kaplan–Meier retention of the 200 members who came at least
        once (106 dropped out) was 69% (95% CI [62%, 75%]) at 12 weeks and
        49% (95% CI [42%, 56%]) at 26 weeks; the median time to dropout was
        26 weeks (95% CI [22, 31])."

    Notes
    -----
    For a bare table, :math:`\\hat S(t)` is read as a right-continuous step
    function (the value at the last time :math:`\\le t`, 1 before the first)
    with its pointwise CI; the median is the smallest time with
    :math:`\\hat S(t) \\le 0.5` (as R's ``print.survfit``); members in the
    curve = events + censored.  A time after the last observation is "not
    estimable".
    """
    _check_style(style)
    mc = resolve_min_cell(audience, min_cell)
    f = _retention_facts(result, level, times)
    lead, n, events, last_time = f["lead"], f["n"], f["events"], f["last_time"]
    if is_suppressed(n, mc):
        return capitalize_first(f"{lead}retention is not reported: it would rest on {fmt_count(n, mc)} {who}.")
    estimates, beyond, hidden, pieces_plain = [], [], [], []
    for t, s, lo, hi, at_risk in f["rows"]:
        when = fmt_weeks(t)
        if t > last_time:
            beyond.append(when)
            pieces_plain.append(f"it is too early to say how many were still attending after {when}")
        elif is_suppressed(at_risk, mc):
            hidden.append(when)
            pieces_plain.append(f"too few members were still being followed at {when} to report")
        else:
            ci = "" if np.isnan(lo) or np.isnan(hi) else \
                f" (95% CI [{fmt_percent(lo, digits)}, {fmt_percent(hi, digits)}])"
            estimates.append(f"{fmt_percent(s, digits)}{ci} at {when}")
            pieces_plain.append((s, when))
    median = f["median"]
    if style == "apa":
        clauses = []
        if estimates:
            clauses.append("was " + _list_and(estimates))
        if hidden:
            clauses.append(f"could not be reported at {_list_or(hidden)} because fewer than {mc} members were "
                           "still followed")
        if beyond:
            clauses.append(f"could not be estimated at {_list_or(beyond)} (follow-up ended at {_weeks(last_time)})")
        first = (f"{lead}Kaplan–Meier retention of the {fmt_count(n, mc)} {who} ({fmt_count(events, mc)} "
                 f"dropped out) ")
        if np.isnan(median):
            med = f"the median time to dropout was not reached within {_weeks(last_time)} of follow-up"
        elif is_suppressed(f["median_at_risk"], mc):
            med = f"the median time to dropout is not reported (fewer than {mc} members were still followed then)"
        else:
            lo_m, hi_m = f["median_ci_low"], f["median_ci_high"]
            ci = ""
            if not np.isnan(lo_m):
                hi_txt = "not reached" if np.isnan(hi_m) else _weeks(hi_m).split(" ")[0]
                ci = f" (95% CI [{_weeks(lo_m).split(' ')[0]}, {hi_txt}])"
            med = f"the median time to dropout was {_weeks(median)}{ci}"
        return capitalize_first(f"{first}{'; it '.join(clauses)}; {med}.")
    out = []
    first_done = False
    for p in pieces_plain:
        if isinstance(p, str):
            out.append(p)
            continue
        s, when = p
        frac = plain_fraction(s)
        if not first_done:
            subject = f"{frac} of the {who}" if frac.endswith("half") else f"{frac} {who}"
            out.append(f"{subject} were still attending {when} later")
            first_done = True
        else:
            out.append(f"{frac} after {when}")
    text = lead + (", and ".join(out) if len(out) <= 2 else ", ".join(out[:-1]) + ", and " + out[-1])
    return capitalize_first(text + ".")


def logrank_sentence(result: Any, *, style: str = "apa", alpha: float = 0.05) -> str:
    """The log-rank test across the levels of a stratified :class:`groupeval.RetentionResult`.

    Parameters
    ----------
    result
        A retention result fitted with ``by=`` (its ``logrank``: ``statistic``,
        ``df``, ``p_value``).
    style
        ``"apa"``: "Retention differed between group types, log-rank
        χ²(3) = 12.31, p = .006."; ``"plain"``: whether the difference could
        be due to chance.
    alpha
        Level below which the wording says the groups differed.

    Returns
    -------
    str
    """
    _check_style(style)
    lr = getattr(result, "logrank", None)
    by = getattr(result, "by", None)
    if not isinstance(lr, pd.DataFrame) or not len(lr) or by is None:
        raise ConfigError("logrank_sentence needs a retention result fitted with by= (it has the log-rank test).")
    _need(lr, ("statistic", "df", "p_value"), "logrank_sentence")
    row = lr.iloc[0]
    what = {"group_type": "group types", "facilitation": "facilitation types", "group_id": "groups",
            "format": "meeting formats", "site": "sites"}.get(by, f"levels of {plain_label(by)}")
    differ = float(row["p_value"]) < alpha
    if style == "apa":
        verb = "differed between" if differ else "did not differ clearly between"
        return (f"Retention {verb} {what}, log-rank χ²({fmt_df(row['df'])}) = {fmt_number(row['statistic'], 2)}, "
                f"{fmt_p(row['p_value'])}.")
    if differ:
        return f"Members stayed for different lengths of time in different {what}."
    return f"Members stayed about as long in all {what}: the differences we see could be due to chance."


# ---------------------------------------------------------------------------
# reliable change
# ---------------------------------------------------------------------------
def _hidden_categories(summary: pd.DataFrame, mc: int | None) -> np.ndarray:
    """Which category counts to hide: primary + complementary given the shown total."""
    if mc is None:
        return np.zeros(len(summary), dtype=bool)
    from .privacy import suppression_mask

    tab = pd.concat([summary[["n"]].reset_index(drop=True),
                     pd.DataFrame({"n": [int(summary["n"].sum())]}, index=["__total__"])])
    mask = suppression_mask(tab, count_columns=["n"], min_cell=mc, totals={"row": "__total__"})
    return mask["n"].to_numpy()[:-1]


def _outside_range(result: Any, cut: float) -> str:
    """A note when the cut-off lies outside the instrument's score range (nobody can cross it)."""
    inst = _instrument(getattr(result, "instrument", None))
    lo, hi = getattr(inst, "score_min", None), getattr(inst, "score_max", None)
    if lo is not None and hi is not None and not (float(lo) <= cut <= float(hi)):
        return (f", outside the score range {fmt_number(lo, 0)}–{fmt_number(hi, 0)}, so no member can cross it; "
                "give clinical and functional norms for a meaningful cut-off")
    return ""


def reliable_change_sentence(result: Any, *, style: str = "apa", audience: str | None = None,
                             min_cell: int | None = None, digits: int = 1) -> str:
    """Jacobson--Truax categories of a :func:`groupeval.reliable_change` result.

    Parameters
    ----------
    result
        The reliable-change result (``.summary``: ``category, n, share,
        share_ci_low, share_ci_high``; attributes ``instrument``, ``pre``,
        ``post``, ``min_reliable_change``, ``reliability``, ``cutoff_value``,
        ``method``).
    style
        ``"apa"``: counts, percentages with Wilson 95% CIs and the criteria;
        ``"plain"``: shares in words.
    audience, min_cell
        Funder/public: category counts below ``min_cell`` -- and the next
        smallest category, so the hidden one cannot be recovered from the
        total -- are written "fewer than 11" without a percentage.
    digits
        Decimals of percentages.

    Returns
    -------
    str
    """
    _check_style(style)
    mc = resolve_min_cell(audience, min_cell)
    summary = getattr(result, "summary", None)
    if not isinstance(summary, pd.DataFrame):
        raise ConfigError(f"reliable_change_sentence needs a reliable_change result; got {type(result).__name__}.")
    _need(summary, ("category", "n", "share", "share_ci_low", "share_ci_high"), "reliable_change_sentence")
    summary = summary.reset_index(drop=True)
    label = _label(getattr(result, "instrument", None))
    pre = plain_label(getattr(result, "pre", "before"))
    post = plain_label(getattr(result, "post", "after"))
    total = int(summary["n"].sum())
    if is_suppressed(total, mc):
        return f"Reliable change on the {label} is not reported: {fmt_count(total, mc)} members answered at " \
               f"{pre} and {post}."
    hidden = _hidden_categories(summary, mc)
    primary = np.asarray(is_suppressed(summary["n"].to_numpy(float), mc), dtype=bool)
    parts = []
    for i, row in summary.iterrows():  # five categories
        cat = str(row["category"])
        apa_phrase, plain_phrase = _CATEGORY_PHRASES.get(cat, (plain_label(cat), plain_label(cat)))
        n = int(row["n"])
        if hidden[i]:
            how_many = f"fewer than {mc}" if primary[i] else "a withheld number"
            parts.append(f"{how_many} {apa_phrase if style == 'apa' else plain_phrase}")
        elif n == 0:
            parts.append(f"none {apa_phrase if style == 'apa' else plain_phrase}")
        elif style == "apa":
            parts.append(f"{fmt_count(n)} ({fmt_percent(row['share'], digits)}, 95% CI "
                         f"[{fmt_percent(row['share_ci_low'], digits)}, {fmt_percent(row['share_ci_high'], digits)}]) "
                         f"{apa_phrase}")
        else:
            parts.append(f"{plain_fraction(row['share'])} ({fmt_percent(row['share'], 0)}) {plain_phrase}")
    if style == "apa":
        crit = []
        mrc = getattr(result, "min_reliable_change", None)
        if mrc is not None:
            crit.append(f"reliable change at least {fmt_number(mrc, 2)} points")
        rel = getattr(result, "reliability", None)
        if rel is not None:
            crit.append(f"reliability = {fmt_unit(rel, 2)}")
        cut = getattr(result, "cutoff_value", None)
        if cut is not None and np.isfinite(cut):
            crit.append(f"clinical cut-off {fmt_number(cut, 2)}{_outside_range(result, cut)}")
        method = {"jt": "Jacobson–Truax", "gln": "Gulliksen–Lord–Novick", "ha": "Hageman–Arrindell"}.get(
            getattr(result, "method", "jt"), "Jacobson–Truax")
        return (f"Of the {fmt_count(total)} members with {label} scores at {pre} and {post}, "
                f"{_list_and(parts)} ({method} criteria: {'; '.join(crit)}).")
    return capitalize_first(f"Of the {fmt_count(total)} members who filled in the {label} at {pre} and {post}, "
                            f"{_list_and(parts)}.")


# ---------------------------------------------------------------------------
# attendance
# ---------------------------------------------------------------------------
def attendance_sentence(summary: pd.DataFrame, *, style: str = "apa", audience: str | None = None,
                        min_cell: int | None = None) -> str:
    """Attendance and status from :func:`groupeval.attendance_summary`.

    The mean attendance rate is the mean over members of
    ``sessions_attended / sessions_offered``; the pooled rate is total
    attended / total offered.  Status counts: active, completed, dropped.
    """
    _check_style(style)
    if not isinstance(summary, pd.DataFrame):
        raise ConfigError(f"attendance_sentence needs the DataFrame of attendance_summary; got "
                          f"{type(summary).__name__}.")
    _need(summary, ("sessions_offered", "sessions_attended", "attendance_rate", "status"), "attendance_sentence")
    mc = resolve_min_cell(audience, min_cell)
    n = len(summary)
    if is_suppressed(n, mc):
        return f"Attendance is not reported: {fmt_count(n, mc)} members."
    mean_rate = float(summary["attendance_rate"].mean())
    pooled = float(summary["sessions_attended"].sum() / summary["sessions_offered"].sum())
    counts = summary["status"].astype("string").value_counts()
    st = {k: int(counts.get(k, 0)) for k in ("active", "completed", "dropped")}
    status_tab = pd.DataFrame({"n": [st["active"], st["completed"], st["dropped"], n]},
                              index=["active", "completed", "dropped", "__total__"])
    if mc is not None:
        from .privacy import suppression_mask

        hide = suppression_mask(status_tab, count_columns=["n"], min_cell=mc,
                                totals={"row": "__total__"})["n"].to_numpy()[:-1]
    else:
        hide = np.zeros(3, dtype=bool)
    shown = {k: ((f"fewer than {mc}" if is_suppressed(st[k], mc) else "a withheld number") if h else fmt_count(st[k]))
             for k, h in zip(("active", "completed", "dropped"), hide)}
    if style == "apa":
        return (f"The {fmt_count(n)} members attended on average {fmt_percent(mean_rate, 1)} of the sessions "
                f"offered to them (pooled rate {fmt_percent(pooled, 1)}); {shown['completed']} completed, "
                f"{shown['dropped']} dropped out and {shown['active']} were still attending at the data cut-off.")
    return (f"On average, members came to {plain_fraction(mean_rate)} of the sessions offered to them "
            f"({fmt_percent(mean_rate)}). Of {fmt_count(n)} members, {shown['completed']} completed the programme, "
            f"{shown['dropped']} stopped coming and {shown['active']} were still attending.")


# ---------------------------------------------------------------------------
# dose-response and mixed model
# ---------------------------------------------------------------------------
_ANALYSIS_WORDS = {"as_treated": "all members with both scores (as treated)",
                   "completers": "members who completed or were still attending (completers)",
                   "itt": "all enrolled members, missing follow-up scores multiply imputed (intention to treat)"}


def dose_response_sentence(result: Any, *, analysis: str = "as_treated", instrument: Any = None,
                           style: str = "apa", audience: str | None = None, min_cell: int | None = None,
                           digits: int = 2) -> str:
    """The exposure slope of :func:`groupeval.dose_response` as a sentence.

    Parameters
    ----------
    result
        The dose-response result (``.summary`` rows ``analysis, term,
        estimate, ci_low, ci_high, p_value, n, n_groups``; attributes
        ``exposure``, ``per``, ``post``).
    analysis
        ``"as_treated"`` (default), ``"completers"`` or ``"itt"``.
    instrument
        Registry name or Instrument (label; direction for the plain style).
    style, audience, min_cell
        As elsewhere; an analysis of fewer than ``min_cell`` members is not reported.
    digits
        Decimals of the slope.

    Returns
    -------
    str
        E.g. "Adjusted for the baseline score, each additional session
        attended went with a PHQ-9 score at week 26 that was 0.18 points
        lower (B = −0.18, 95% CI [−0.40, 0.04], p = .104; 126 members in 12
        groups, cluster-robust standard errors)."
    """
    _check_style(style)
    summary = getattr(result, "summary", None)
    if not isinstance(summary, pd.DataFrame):
        raise ConfigError(f"dose_response_sentence needs a dose_response result; got {type(result).__name__}.")
    _need(summary, ("analysis", "term", "estimate", "ci_low", "ci_high", "p_value", "n"), "dose_response_sentence")
    rows = summary[(summary["analysis"] == analysis) & (summary["term"] == "exposure_slope")]
    if not len(rows):
        raise ConfigError(f"dose_response_sentence: no exposure slope for analysis {analysis!r}; available: "
                          f"{', '.join(map(str, pd.unique(summary['analysis'])))}.")
    row = rows.iloc[0]
    mc = resolve_min_cell(audience, min_cell)
    label = _label(instrument if instrument is not None else getattr(result, "instrument", None))
    n = int(row["n"])
    if is_suppressed(n, mc):
        return f"The link between attendance and {label} scores is not reported: {fmt_count(n, mc)} members."
    exposure = plain_label(getattr(result, "exposure", "sessions_attended"))
    per = float(getattr(result, "per", 1.0) or 1.0)
    unit = ("each additional session attended" if exposure == "sessions attended" and per == 1 else
            f"each {fmt_number(per, 2 if per < 1 else 0)} higher {exposure}")
    post = plain_label(getattr(result, "post", "follow-up"))
    b = float(row["estimate"])
    b_r = float(fmt_number(b, digits).replace("\u2212", "-"))
    word = "lower" if b_r < 0 else "higher"
    groups = row.get("n_groups")
    in_groups = f" in {fmt_count(int(groups))} groups" if groups is not None and not pd.isna(groups) else ""
    if style == "apa":
        return (f"Adjusted for the baseline score, {unit} went with a {label} score at {post} that was "
                f"{fmt_number(abs(b), digits)} points {word} (B = {fmt_number(b, digits)}, "
                f"{fmt_ci(row['ci_low'], row['ci_high'], digits)}, {fmt_p(row['p_value'])}; {fmt_count(n)} "
                f"members{in_groups}, {_ANALYSIS_WORDS.get(analysis, analysis)}, cluster-robust standard errors).")
    clear = not (float(row["ci_low"]) <= 0 <= float(row["ci_high"]))
    if not clear or b_r == 0:
        return (f"Members who came to more sessions did not clearly end with different {label} scores at {post}: "
                f"the difference per session could be due to chance.")
    inst = _instrument(instrument if instrument is not None else getattr(result, "instrument", None))
    better = None if inst is None else ((b > 0) == bool(inst.higher_is_better))
    how = "" if better is None else (" better" if better else " worse")
    return (f"Members who came to more sessions ended with{how} {label} scores at {post}: each extra session went "
            f"with a score {fmt_number(abs(b), digits)} points {word}, taking their starting score into account.")


def mixed_model_sentence(result: Any, *, timepoint: str | None = None, level: Any = None, instrument: Any = None,
                         style: str = "apa", digits: int | None = None) -> str:
    """Model-estimated change from the first timepoint (``result.changes``).

    Parameters
    ----------
    result
        A mixed-model result: ``changes`` (``[by], timepoint, reference,
        difference, se, ci_low, ci_high, p_value``), ``method`` and
        ``n_members``/``n_groups`` when present.
    timepoint
        The timepoint compared with the reference (default: the last).
    level
        The ``by`` level when the model was fitted by group type.
    instrument
        Registry name or Instrument (label and default decimals).
    style
        ``"apa"`` or ``"plain"``.

    Returns
    -------
    str
        E.g. "PHQ-9 scores at week 26 were 3.3 points lower than at baseline
        (95% CI [−4.5, −2.1], p < .001; linear mixed model of all available
        scores, 219 members in 12 groups)."  The sizes are those of the whole
        model, also in a sentence about one ``level``.
    """
    _check_style(style)
    changes = getattr(result, "changes", None)
    if not isinstance(changes, pd.DataFrame):
        raise ConfigError(f"mixed_model_sentence needs a mixed_model result with .changes; got "
                          f"{type(result).__name__}.")
    _need(changes, ("timepoint", "reference", "difference", "ci_low", "ci_high", "p_value"), "mixed_model_sentence")
    by = getattr(result, "by", None)
    lead = ""
    if isinstance(by, str) and by in changes.columns:
        levels = list(pd.unique(changes[by]))
        if level is None:
            raise ConfigError(f"mixed_model_sentence: the model is by {by!r}; pass level= (one of "
                              f"{', '.join(map(str, levels))}).")
        changes = changes[changes[by] == level]
        lead = _group_phrase(by, level) + ", "
    if timepoint is None:
        timepoint = changes["timepoint"].iloc[-1]
    rows = changes[changes["timepoint"] == timepoint]
    if not len(rows):
        raise ConfigError(f"mixed_model_sentence: no change for timepoint {timepoint!r}; available: "
                          f"{', '.join(map(str, pd.unique(changes['timepoint'])))}.")
    row = rows.iloc[0]
    label = _label(instrument)
    d = _default_digits(instrument) if digits is None else digits
    diff = float(row["difference"])
    diff_r = float(fmt_number(diff, d).replace("\u2212", "-"))
    word = "lower" if diff_r < 0 else "higher"
    tp, ref = plain_label(row["timepoint"]), plain_label(row["reference"])
    size = ""
    if getattr(result, "n_members", None) is not None and getattr(result, "n_groups", None) is not None:
        size = f", {fmt_count(int(result.n_members))} members in {fmt_count(int(result.n_groups))} groups"
    model = ("generalised estimating equations" if getattr(result, "method", None) == "gee"
             else "linear mixed model")
    if style == "apa":
        if diff_r == 0:
            body = f"{label} scores at {tp} did not differ from {ref}"
        else:
            body = f"{label} scores at {tp} were {fmt_number(abs(diff), d)} points {word} than at {ref}"
        return capitalize_first(f"{lead}{body} ({fmt_ci(row['ci_low'], row['ci_high'], d)}, "
                                f"{fmt_p(row['p_value'])}; {model} of all available scores{size}).")
    clear = not (float(row["ci_low"]) <= 0 <= float(row["ci_high"]))
    if not clear or diff_r == 0:
        return capitalize_first(f"{lead}taking everyone's answers into account, {label} scores at {tp} were not "
                                f"clearly different from {ref}.")
    return capitalize_first(f"{lead}taking everyone's answers into account, {label} scores were on average "
                            f"{fmt_number(abs(diff), d)} points {word} at {tp} than at {ref}.")


def compare_groups_sentence(result: Any, *, instrument: Any = None, style: str = "apa",
                            audience: str | None = None, min_cell: int | None = None,
                            digits: int | None = None) -> str:
    """Baseline-adjusted follow-up scores compared across group types (ANCOVA).

    Parameters
    ----------
    result
        A :func:`groupeval.compare_groups` result: ``omnibus`` (``f, df1, df2,
        p_value``), ``adjusted_means`` (``level, adjusted_mean, ci_low,
        ci_high, n``), ``contrasts`` (``level_a, level_b, difference, ci_low,
        ci_high, p_adjusted``), ``correction``, ``by``, ``post``.
    instrument
        Registry name or Instrument (label, decimals, direction).
    style
        ``"apa"``: omnibus F test, adjusted means with CIs, and the pairwise
        differences that remain after the multiplicity correction;
        ``"plain"``: which type ended best, and whether differences could be chance.
    audience, min_cell
        Levels with fewer than ``min_cell`` members are left out of the
        listing (the omnibus test is still reported).

    Returns
    -------
    str
    """
    _check_style(style)
    omni = getattr(result, "omnibus", None)
    means = getattr(result, "adjusted_means", None)
    if not isinstance(omni, Mapping) or not isinstance(means, pd.DataFrame):
        raise ConfigError(f"compare_groups_sentence needs a compare_groups result; got {type(result).__name__}.")
    _need(means, ("level", "adjusted_mean", "ci_low", "ci_high", "n"), "compare_groups_sentence")
    mc = resolve_min_cell(audience, min_cell)
    label = _label(instrument)
    d = _default_digits(instrument) if digits is None else digits
    by = getattr(result, "by", "group_type")
    what = {"group_type": "group types", "facilitation": "facilitation types", "format": "meeting formats",
            "site": "sites"}.get(by, f"levels of {plain_label(by)}")
    post = plain_label(getattr(result, "post", "follow-up"))
    shown = means[~np.asarray(is_suppressed(means["n"].to_numpy(float), mc), dtype=bool)]
    n_hidden = len(means) - len(shown)
    differ = float(omni["p_value"]) < 0.05
    if style == "apa":
        test = (f"F({fmt_df(omni['df1'])}, {fmt_df(omni['df2'])}) = {fmt_number(omni['f'], 2)}, "
                f"{fmt_p(omni['p_value'])}")
        verb = "differed between" if differ else "did not differ clearly between"
        listing = "; ".join(f"{lv} {fmt_number(m, d)} ({fmt_ci(lo, hi, d)})" for lv, m, lo, hi in
                            zip(shown["level"], shown["adjusted_mean"], shown["ci_low"], shown["ci_high"]))
        hidden = (f"; {number_word(n_hidden)} smaller {'type' if n_hidden == 1 else 'types'} not shown"
                  if n_hidden else "")
        text = (f"Adjusted for baseline, {label} scores at {post} {verb} {what} (cluster-robust Wald {test}); "
                f"adjusted means: {listing}{hidden}.")
        contrasts = getattr(result, "contrasts", None)
        if differ and isinstance(contrasts, pd.DataFrame) and {"level_a", "level_b", "difference",
                                                               "p_adjusted"} <= set(contrasts.columns):
            ok = set(map(str, shown["level"]))
            sig = contrasts[(contrasts["p_adjusted"] < 0.05) & contrasts["level_a"].astype(str).isin(ok)
                            & contrasts["level_b"].astype(str).isin(ok)]
            corr = {"holm": "Holm", "fdr_bh": "Benjamini–Hochberg", "bonferroni": "Bonferroni"}.get(
                getattr(result, "correction", ""), str(getattr(result, "correction", "")))
            if len(sig):
                pairs = "; ".join(f"{a} vs {b} {fmt_number(dd, d)}, {fmt_p(pa)}" for a, b, dd, pa in
                                  zip(sig["level_a"], sig["level_b"], sig["difference"], sig["p_adjusted"]))
                text += f" Pairwise differences after {corr} correction: {pairs}."
            else:
                text += f" No pairwise difference remained after {corr} correction."
        return text
    if not differ or not len(shown):
        return (f"Once starting scores are taken into account, {label} scores at {post} were similar in all "
                f"{what}: the differences we see could be due to chance.")
    inst = _instrument(instrument)
    hib = True if inst is None else bool(inst.higher_is_better)
    best = shown.sort_values("adjusted_mean", ascending=not hib).iloc[0]["level"]
    return (f"Once starting scores are taken into account, {label} scores at {post} differed between {what}; "
            f"members of {best} groups ended with the best scores.")


def icc_sentence(icc: pd.DataFrame, *, instrument: Any = None, timepoint: str | None = None) -> str:
    """How strongly scores cluster within groups: ICC(1) with CI and the design effect.

    Parameters
    ----------
    icc
        :func:`groupeval.icc` output (``timepoint, icc, ci_low, ci_high,
        n_groups, n, mean_group_size, design_effect``).
    timepoint
        The row to describe (default: the first).

    Returns
    -------
    str
        E.g. "At baseline, the intraclass correlation of PHQ-9 scores within
        groups was ICC(1) = .05, 95% CI [.00, .21] (12 groups, 219 members),
        a design effect of 1.86 for the mean group size of 18.3."
    """
    if not isinstance(icc, pd.DataFrame) or not len(icc):
        raise ConfigError(f"icc_sentence needs the DataFrame from groupeval.icc; got {type(icc).__name__}.")
    _need(icc, ("icc", "ci_low", "ci_high", "n_groups", "n", "mean_group_size", "design_effect"), "icc_sentence")
    row = icc.iloc[0] if timepoint is None or "timepoint" not in icc.columns else \
        icc[icc["timepoint"] == timepoint].iloc[0]
    tp = row["timepoint"] if "timepoint" in row.index else None
    when = f"At {plain_label(tp)}, the" if isinstance(tp, str) else "The"
    label = _label(instrument)
    clip = lambda v: max(-1.0, min(1.0, float(v)))  # noqa: E731  (ICC(1) estimates can fall below 0)
    return (f"{when} intraclass correlation of {label} scores within groups was ICC(1) = "
            f"{fmt_unit(clip(row['icc']), 2)}, "
            f"{fmt_ci(clip(row['ci_low']), clip(row['ci_high']), 2, leading_zero=False)} "
            f"({fmt_count(int(row['n_groups']))} groups, {fmt_count(int(row['n']))} members), a design effect of "
            f"{fmt_number(row['design_effect'], 2)} for the mean group size of "
            f"{fmt_number(row['mean_group_size'], 1)}.")


# ---------------------------------------------------------------------------
# methods paragraph and references
# ---------------------------------------------------------------------------
def in_text_citation(reference: str) -> str:
    """Author--year citation of a Vancouver-style reference: ``"Kroenke et al., 2001"``.

    The first author's surname is the reference up to the initials; the year
    is the first 19xx/20xx after the author list.
    """
    authors_part = reference.split(". ")[0]
    authors = [a.strip() for a in authors_part.split(",") if a.strip()]
    rest = reference[len(authors_part):]
    year_m = re.search(r"\b(19|20)\d{2}\b", rest) or re.search(r"\b(19|20)\d{2}\b", reference)
    year = year_m.group(0) if year_m else "n.d."

    def surname(a: str) -> str:
        toks = a.split()
        if len(toks) > 1 and re.fullmatch(r"[A-Z]{1,3}", toks[-1]):
            return " ".join(toks[:-1])
        return a

    if not authors:
        return f"{reference[:40]}, {year}"
    if len(authors) == 1:
        names = surname(authors[0])
    elif len(authors) == 2 and "et al" not in authors[1]:
        names = f"{surname(authors[0])} & {surname(authors[1])}"
    else:
        names = f"{surname(authors[0])} et al."
    return f"{names}, {year}"


def software_versions() -> dict[str, str]:
    """Versions of groupeval, Python and the libraries the statistics use."""
    from .. import __version__

    out = {"groupeval": __version__, "Python": ".".join(map(str, sys.version_info[:3]))}
    for pkg in ("pandas", "numpy", "scipy", "statsmodels", "lifelines"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[pkg] = "unknown"
    return out


def _dropout_text(dropout: Any) -> str:
    from ..statistics.dropout import as_dropout

    rule = as_dropout(dropout)
    parts = []
    if rule.consecutive_missed is not None:
        parts.append(f"after missing {rule.consecutive_missed} consecutive scheduled sessions")
    if rule.weeks_without_attendance is not None:
        parts.append(f"after more than {_weeks(rule.weeks_without_attendance)} without attending")
    if rule.exits:
        reasons = " or ".join(rule.censor_exits) if rule.censor_exits else "none"
        parts.append(f"on a recorded exit for a reason other than {reasons}")
    exc = {"neither": "excused absences were neither counted as missed nor as offered",
           "attended": "excused absences counted as attended",
           "missed": "excused absences counted as missed"}[rule.excused]
    censored = " or ".join(rule.censor_exits) if rule.exits and rule.censor_exits else ""
    cens = (f"Members who exited as {censored} or were still attending at the data cut-off were censored"
            if censored else "Members still attending at the data cut-off were censored")
    return (f"A member was counted as having dropped out {' or '.join(parts)}; cancelled sessions were ignored "
            f"and {exc}. The time of dropout was the last session attended, in weeks since enrolment. {cens}, "
            "and members who had enrolled before the first session in the data entered the analysis late "
            "(left truncation).")


def methods_paragraph(*, instruments: Sequence[Any] = (), retention: Any = None, change: Any = None,
                      reliable_change: Any = None, mixed_model: Any = None, imputation: Any = None,
                      dose_response: Any = None, dropout: Any = None,
                      missing: str | None = None, audience: str | None = None, min_cell: int | None = None,
                      with_references: bool = True) -> str:
    """A methods paragraph naming the methods, instruments, rules and software.

    Parameters
    ----------
    instruments
        Registry names or Instruments used; each is cited from its
        ``citation`` attribute.
    retention
        The :class:`groupeval.RetentionResult` (or True) when retention is
        reported; its ``dropout`` rule is described (or pass ``dropout=``).
    change
        The :func:`groupeval.change` table (or True) when change is reported.
    reliable_change
        The reliable-change result: its method, reliability (and source),
        cut-off and minimum reliable change are stated.
    mixed_model
        The mixed-model result (or True); its ``method`` attribute says which
        fit was used (e.g. a GEE fallback).
    imputation
        The :func:`groupeval.impute` result (or True): multiple imputation by
        chained equations with ``pooled["m"]`` imputations, Rubin's rules.
    dose_response
        The dose-response result (or True): cluster-robust regression of
        follow-up on baseline and exposure.
    dropout
        A :class:`groupeval.engagement.Dropout`, preset name or dict; default
        the retention result's rule, else the default rule.
    missing
        A sentence on missing data; default: complete cases for change,
        scale-specific prorating rules for scoring.
    audience, min_cell
        For funder/public output a sentence on small-cell suppression is added.
    with_references
        Append a "References" list (one per line).

    Returns
    -------
    str
        The paragraph (and the reference list after a blank line).
    """
    mc = resolve_min_cell(audience, min_cell)
    insts = [_instrument(i) for i in instruments]
    unknown = [i for i, obj in zip(instruments, insts) if obj is None]
    if unknown:
        raise ConfigError(f"methods_paragraph: unknown instrument(s) {unknown}; pass registry names "
                          "(groupeval.instruments.available()) or Instrument objects.")
    refs: list[str] = []

    def cite(key_or_ref: str) -> str:
        ref = METHOD_REFERENCES.get(key_or_ref, key_or_ref)
        if "{version}" in ref:
            ref = ref.format(version=software_versions()["groupeval"])
        if ref not in refs:
            refs.append(ref)
        return in_text_citation(ref)

    s: list[str] = []
    s.append("Attendance was recorded for every scheduled group session.")
    if retention is not None or dropout is not None:
        rule = dropout if dropout is not None else getattr(retention, "dropout", None)
        s.append(_dropout_text(rule))
    if retention is not None:
        s.append(f"Retention was estimated with the Kaplan–Meier product-limit method ({cite('kaplan_meier')}) "
                 f"with log–log confidence intervals from Greenwood's variance ({cite('greenwood')}; "
                 f"{cite('kalbfleisch')}), and retention was compared between groups with the log-rank test "
                 f"({cite('logrank')}).")
    if insts:
        named = [f"the {i.label} ({cite(i.citation)})" for i in insts]
        s.append(f"Outcomes were measured with {_list_and(named)}, scored following each instrument's published "
                 "scoring rules.")
    if change is not None:
        s.append("Change between timepoints was tested with paired t-tests (with Wilcoxon signed-rank tests as a "
                 "check); the standardised effect size is Cohen's d_z with an exact confidence interval from the "
                 f"noncentral t distribution ({cite('steiger')}; {cite('lakens')}).")
    if reliable_change is not None:
        method = getattr(reliable_change, "method", "jt")
        key = {"ha": "hageman_arrindell"}.get(method, "jacobson_truax")
        name = {"jt": "Jacobson–Truax", "gln": "Gulliksen–Lord–Novick", "ha": "Hageman–Arrindell"}.get(method, method)
        detail = []
        rel = getattr(reliable_change, "reliability", None)
        if rel is not None:
            src = str(getattr(reliable_change, "reliability_source", None) or "")
            if src.startswith("registry alpha"):
                src = "published Cronbach's alpha" + ("; no test-retest value is published in the registry"
                                                      if "test-retest" in src else "")
            elif src.startswith("registry test-retest"):
                src = "published test-retest reliability"
            src = src.replace("(", "[").replace(")", "]") or None
            detail.append(f"reliability {fmt_unit(rel, 2)}" + (f" ({src})" if src else ""))
        mrc = getattr(reliable_change, "min_reliable_change", None)
        if mrc is not None:
            detail.append(f"a change of at least {fmt_number(mrc, 2)} points was reliable")
        cut = getattr(reliable_change, "cutoff_value", None)
        if cut is not None and np.isfinite(cut):
            kind = str(getattr(reliable_change, "cutoff", "") or "")
            if kind in ("a", "b", "c"):
                label = f"clinical cut-off (Jacobson-Truax criterion {kind}) {fmt_number(cut, 2)}"
            elif kind == "clinical":
                label = f"the instrument's published clinical cut-off {fmt_number(cut, 2)}"
            else:
                label = f"clinical cut-off {fmt_number(cut, 2)} (set by the analyst)"
            detail.append(label + _outside_range(reliable_change, cut))
        s.append(f"Reliable and clinically significant change was classified with the {name} method "
                 f"({cite(key)}" + (f"; {cite('jacobson_truax')}" if key != "jacobson_truax" else "") + ")"
                 + (f": {'; '.join(detail)}" if detail else "") + f". Shares have Wilson score intervals "
                 f"({cite('wilson')}).")
    if mixed_model is not None:
        method = getattr(mixed_model, "method", None)
        desc = getattr(mixed_model, "method_description", None)
        if method == "gee":
            s.append("Scores over time were to be modelled with a linear mixed model with random intercepts for "
                     f"members nested in groups ({cite('laird_ware')}); because it did not converge, generalised "
                     "estimating equations with an exchangeable working correlation within groups and "
                     f"cluster-robust standard errors were used instead ({cite('statsmodels')}).")
        else:
            s.append("Scores over time were modelled with a linear mixed model with random intercepts for members "
                     f"nested in groups, fitted by restricted maximum likelihood ({cite('laird_ware')}; "
                     f"{cite('statsmodels')})" + (f"; fit: {desc}" if isinstance(desc, str) and desc else "") + ".")
    if dose_response is not None:
        s.append("The link between attendance and outcome was estimated by regressing the follow-up score on the "
                 "baseline score and the number of sessions attended, with standard errors clustered by group "
                 "(CR1), for members with both scores (as treated) and for completers"
                 + (" and, after multiple imputation, for all enrolled members (intention to treat)"
                    if getattr(dose_response, "summary", None) is not None
                    and "itt" in set(dose_response.summary["analysis"]) else "") + ".")
    if imputation is not None:
        pooled = getattr(imputation, "pooled", None)
        m = pooled.get("m") if isinstance(pooled, dict) else None
        s.append("Missing follow-up scores were multiply imputed by chained equations (statsmodels MICE"
                 + (f", {fmt_count(int(m))} imputations" if m is not None else "") + ") under a missing-at-random "
                 f"assumption, and estimates were pooled with Rubin's rules ({cite('rubin')}); complete-case and "
                 "mixed-model estimates are shown beside them.")
    s.append(missing or "Scale scores were prorated only within each instrument's missing-item rule; analyses of "
                        "change used members with scores at both timepoints (complete cases), and the numbers "
                        "left out are reported.")
    if mc is not None:
        s.append(f"To protect privacy, counts of fewer than {mc} people, and any count from which such a count "
                 f"could be recovered, are not shown ({cite('cms_cell_size')}).")
    v = software_versions()
    s.append(f"Analyses used groupeval {v['groupeval']} ({cite('groupeval')}) with Python {v['Python']}, "
             f"pandas {v['pandas']} ({cite('pandas')}), NumPy {v['numpy']}, SciPy {v['scipy']} "
             f"({cite('scipy')}), statsmodels {v['statsmodels']} ({cite('statsmodels')}) and lifelines "
             f"{v['lifelines']} ({cite('lifelines')}).")
    text = " ".join(s)
    if with_references:
        text += "\n\nReferences\n" + "\n".join(sorted(refs))
    return text


def references(*, instruments: Sequence[Any] = (), methods: Iterable[str] = ("kaplan_meier", "greenwood",
               "logrank", "lakens", "jacobson_truax", "statsmodels", "lifelines", "groupeval")) -> list[str]:
    """Full references for instruments (registry ``citation``) and method keys of :data:`METHOD_REFERENCES`."""
    out: list[str] = []
    for key in methods:
        if key not in METHOD_REFERENCES:
            raise ConfigError(f"unknown reference key {key!r}; choose from {', '.join(METHOD_REFERENCES)}.")
        ref = METHOD_REFERENCES[key]
        out.append(ref.format(version=software_versions()["groupeval"]) if "{version}" in ref else ref)
    for i in instruments:
        inst = _instrument(i)
        if inst is None:
            raise ConfigError(f"unknown instrument {i!r}; pass a registry name or an Instrument.")
        out.append(inst.citation)
    return sorted(dict.fromkeys(out))

