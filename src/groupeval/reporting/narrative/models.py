"""Sentences about model results: group comparison (ANCOVA), mixed model, dose-response, ICC.

Each names the inference it reports (the small-sample cluster-robust test
and its df, the mixed model's df method) and the number of groups; a result
without a valid test says why, with no number.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...base.exceptions import ConfigError
from ..formatting import (
    fmt_ci,
    fmt_count,
    fmt_df,
    fmt_number,
    fmt_p,
    fmt_t,
    fmt_unit,
    is_suppressed,
    number_word,
    plain_label,
    resolve_min_cell,
)
from ._common import (
    check_style,
    count_noun,
    default_digits,
    finite,
    group_phrase,
    higher_is_better,
    instrument_name,
    levels_word,
    min_groups_per_level,
    need,
    rounded,
    sentence,
    text_field,
)
from .wording import method_phrase, timepoint_text

__all__ = ["compare_groups_sentence", "mixed_model_sentence", "dose_response_sentence", "icc_sentence"]

_ANALYSIS_WORDS = {"as_treated": "all members with both scores (as treated)",
                   "completers": "members who completed or were still attending (completers)",
                   "itt": "all enrolled members, missing follow-up scores multiply imputed (intention to treat)"}
_CORRECTIONS = {"holm": "Holm", "fdr_bh": "Benjamini–Hochberg", "bonferroni": "Bonferroni"}


def _notes(result: Any) -> str:
    notes = getattr(result, "notes", None)
    if isinstance(notes, str):
        return notes
    if isinstance(notes, Sequence) and notes:
        return "; ".join(map(str, notes))
    return ""


# ---------------------------------------------------------------------------
# group comparison
# ---------------------------------------------------------------------------
def _omnibus_method(omni: Mapping[str, Any], result: Any) -> str:
    g = omni.get("n_groups", getattr(result, "n_clusters", None))
    test = omni.get("test")
    vcov = omni.get("vcov_type")
    if test == "HTZ":
        return method_phrase(test="HTZ Wald test", cluster_method=vcov or "CR2", n_groups=g)
    if isinstance(test, str) and test:
        return method_phrase(test="Wald F test", cluster_method=vcov or "CR1", n_groups=g)
    return method_phrase(test="Wald F test", cluster_method="CR1", df_method="G − 1", n_groups=g)


def _few_groups_caveat(means: pd.DataFrame, omni: Mapping[str, Any], result: Any, what: str) -> str:
    threshold = min_groups_per_level()
    if "n_groups" in means.columns and means["n_groups"].notna().all():
        if float(means["n_groups"].min()) < threshold:
            return (f"; some {what} have fewer than {threshold} groups, so this comparison is imprecise and "
                    "rests on few groups")
        return ""
    g = omni.get("n_groups", getattr(result, "n_clusters", None))
    if finite(g) and float(g) < threshold * len(means):
        return f"; with {fmt_count(int(g))} groups for {number_word(len(means))} {what}, this comparison is imprecise"
    return ""


def _significant_pairs(result: Any, shown: pd.DataFrame, d: int) -> str:
    contrasts = getattr(result, "contrasts", None)
    if not (isinstance(contrasts, pd.DataFrame) and {"level_a", "level_b", "difference", "p_adjusted"}
            <= set(contrasts.columns)):
        return ""
    ok = set(map(str, shown["level"]))
    sig = contrasts[(contrasts["p_adjusted"] < 0.05) & contrasts["level_a"].astype(str).isin(ok)
                    & contrasts["level_b"].astype(str).isin(ok)]
    corr = _CORRECTIONS.get(getattr(result, "correction", ""), str(getattr(result, "correction", "")))
    if len(sig):
        pairs = "; ".join(f"{a} vs {b} {fmt_number(dd, d)}, {fmt_p(pa)}" for a, b, dd, pa in
                          zip(sig["level_a"], sig["level_b"], sig["difference"], sig["p_adjusted"]))
        return f" Pairwise differences after {corr} correction: {pairs}."
    return f" No pairwise difference remained after {corr} correction."


def compare_groups_sentence(result: Any, *, instrument: Any = None, style: str = "apa",
                            audience: str | None = None, min_cell: int | None = None,
                            digits: int | None = None, timepoints: Mapping[Any, str] | None = None) -> str:
    """Baseline-adjusted follow-up scores compared across group types (ANCOVA).

    Parameters
    ----------
    result
        A :func:`groupeval.compare_groups` result: ``omnibus`` (``f, df1, df2,
        p_value`` and, with the small-sample statistics, ``test`` ("HTZ" /
        "naive-F"), ``vcov_type``, ``n_groups``, ``valid``, ``reason``),
        ``adjusted_means`` (``level, adjusted_mean, ci_low, ci_high, n``
        [, ``n_groups``]), ``contrasts`` (``level_a, level_b, difference,
        p_adjusted``), ``correction``, ``by``, ``post``, ``n_clusters``.
    instrument
        Registry name or Instrument (label, decimals, direction).
    style
        ``"apa"``: the omnibus F test with its df, method and number of
        groups, adjusted means with CIs, and the pairwise differences that
        remain after the multiplicity correction; ``"plain"``: which type
        ended best, and whether differences could be chance.
    audience, min_cell
        Levels with fewer than ``min_cell`` members are left out of the
        listing (the omnibus test is still reported).
    timepoints
        ``{timepoint: label}`` for the follow-up's name.

    Returns
    -------
    str
        When ``omnibus["valid"]`` is False (e.g. one group per level): why
        no test is reported, and no number.
    """
    check_style(style)
    omni = getattr(result, "omnibus", None)
    means = getattr(result, "adjusted_means", None)
    if not isinstance(omni, Mapping) or not isinstance(means, pd.DataFrame):
        raise ConfigError(f"compare_groups_sentence needs a compare_groups result; got {type(result).__name__}.")
    need(means, ("level", "adjusted_mean", "ci_low", "ci_high", "n"), "compare_groups_sentence")
    mc = resolve_min_cell(audience, min_cell)
    label = instrument_name(instrument, style)
    d = default_digits(instrument) if digits is None else digits
    what = levels_word(getattr(result, "by", "group_type"))
    post = timepoint_text(getattr(result, "post", "follow-up"), style, timepoints)
    if not bool(omni.get("valid", True)) or not finite(omni.get("p_value")):
        reason = str(omni.get("reason") or "no valid test could be computed")
        if style == "plain":
            return sentence(f"With these data we cannot test whether {label} scores at {post} differed between "
                            f"{what} (there are too few groups of each kind to compare)")
        return sentence(f"Adjusted {label} scores at {post} are not compared between {what}: {reason}")
    shown = means[~np.asarray(is_suppressed(means["n"].to_numpy(float), mc), dtype=bool).reshape(len(means))]
    differ = float(omni["p_value"]) < 0.05
    if style == "plain":
        if not differ or not len(shown):
            return (f"Once starting scores are taken into account, {label} scores at {post} were similar in all "
                    f"{what}: the differences we see could be due to chance.")
        hib = higher_is_better(instrument)
        best = shown.sort_values("adjusted_mean", ascending=not (True if hib is None else hib)).iloc[0]["level"]
        return (f"Once starting scores are taken into account, {label} scores at {post} differed between {what}; "
                f"members of {best} groups ended with the best scores.")
    test = f"F({fmt_df(omni['df1'])}, {fmt_df(omni['df2'])}) = {fmt_number(omni['f'], 2)}, {fmt_p(omni['p_value'])}"
    verb = "differed between" if differ else "did not differ clearly between"
    listing = "; ".join(f"{lv} {fmt_number(m, d)} ({fmt_ci(lo, hi, d)})" for lv, m, lo, hi in
                        zip(shown["level"], shown["adjusted_mean"], shown["ci_low"], shown["ci_high"]))
    n_hidden = len(means) - len(shown)
    hidden = (f"; {number_word(n_hidden)} smaller {'type' if n_hidden == 1 else 'types'} not shown"
              if n_hidden else "")
    text = (f"Adjusted for baseline, {label} scores at {post} {verb} {what} ({test}; "
            f"{_omnibus_method(omni, result)}{_few_groups_caveat(means, omni, result, what)}); adjusted means: "
            f"{listing or 'none shown'}{hidden}.")
    return text + (_significant_pairs(result, shown, d) if differ else "")


# ---------------------------------------------------------------------------
# mixed model
# ---------------------------------------------------------------------------
def _mm_row(result: Any, timepoint: Any, level: Any) -> tuple[pd.Series, str]:
    changes = getattr(result, "changes", None)
    if not isinstance(changes, pd.DataFrame):
        raise ConfigError(f"mixed_model_sentence needs a mixed_model result with .changes; got "
                          f"{type(result).__name__}.")
    need(changes, ("timepoint", "reference", "difference", "ci_low", "ci_high", "p_value"), "mixed_model_sentence")
    by = getattr(result, "by", None)
    lead = ""
    if isinstance(by, str) and by in changes.columns:
        levels = list(pd.unique(changes[by]))
        if level is None:
            raise ConfigError(f"mixed_model_sentence: the model is by {by!r}; pass level= (one of "
                              f"{', '.join(map(str, levels))}).")
        changes = changes[changes[by] == level]
        lead = group_phrase(by, level) + ", "
    if timepoint is None and len(changes):
        timepoint = changes["timepoint"].iloc[-1]
    rows = changes[changes["timepoint"] == timepoint]
    if not len(rows):
        raise ConfigError(f"mixed_model_sentence: no change for timepoint {timepoint!r}; available: "
                          f"{', '.join(map(str, pd.unique(changes['timepoint'])))}.")
    return rows.iloc[0], lead


def _mm_inference(row: pd.Series, result: Any) -> str:
    """``t(5.3) = −2.41, p = .043`` with the df method, or the z test labelled as such."""
    df, t = row.get("df", np.nan), row.get("t", np.nan)
    df_method = text_field(row, ("df_method",)) or text_field(result, ("df_method",))
    if finite(df) and finite(t):
        return f"{fmt_t(t, df)}, {fmt_p(row['p_value'])}" + (f", {df_method} df" if df_method else "")
    if finite(df):
        return f"{fmt_p(row['p_value'])}, {df_method or 'approximate'} df = {fmt_df(df)}"
    return f"{fmt_p(row['p_value'])}, Wald z test (large-sample, ignores the small number of groups)"


def _mm_model_words(result: Any) -> str:
    model = ("generalised estimating equations" if getattr(result, "method", None) == "gee"
             else "linear mixed model")
    size = ""
    n_m, n_g = getattr(result, "n_members", None), getattr(result, "n_groups", None)
    if finite(n_m) and finite(n_g):
        size = f", {count_noun(n_m, 'member')} in {count_noun(n_g, 'group')}"
    singular = "; the between-group variance was estimated as zero" if getattr(result, "is_singular", False) else ""
    return f"{model} of all available scores{size}{singular}"


def mixed_model_sentence(result: Any, *, timepoint: str | None = None, level: Any = None, instrument: Any = None,
                         style: str = "apa", digits: int | None = None,
                         timepoints: Mapping[Any, str] | None = None) -> str:
    """Model-estimated change from the first timepoint (``result.changes``).

    Parameters
    ----------
    result
        A mixed-model result: ``changes`` (``[by], timepoint, reference,
        difference, se, ci_low, ci_high, p_value`` [, ``df``, ``t``,
        ``df_method``, ``note``]), ``method``, ``df_method``, ``converged``,
        ``is_singular``, ``n_members``/``n_groups`` when present.
    timepoint
        The timepoint compared with the reference (default: the last).
    level
        The ``by`` level when the model was fitted by group type.
    instrument
        Registry name or Instrument (label and default decimals).
    style
        ``"apa"`` or ``"plain"``.
    timepoints
        ``{timepoint: label}`` for the timepoint names.

    Returns
    -------
    str
        E.g. "PHQ-9 scores at week 26 were 3.3 points lower than at baseline
        (95% CI [−4.5, −2.1], t(9.4) = −5.87, p < .001, Satterthwaite df;
        linear mixed model of all available scores, 219 members in 12
        groups)."  A fit that did not converge, or an undefined change,
        gives a sentence without numbers.
    """
    check_style(style)
    row, lead = _mm_row(result, timepoint, level)
    label = instrument_name(instrument, style)
    d = default_digits(instrument) if digits is None else digits
    tp, ref = timepoint_text(row["timepoint"], style, timepoints), timepoint_text(row["reference"], style, timepoints)
    if getattr(result, "converged", True) is False:
        return sentence(f"{lead}the mixed model of {label} scores did not converge, so its estimate of the change "
                        f"from {ref} to {tp} is not reported")
    if not all(finite(row[c]) for c in ("difference", "ci_low", "ci_high")):
        why = text_field(row, ("note", "reason")) or _notes(result)
        return sentence(f"{lead}the mixed model could not estimate the change in {label} scores from {ref} to {tp}"
                        + (f" ({why})" if why else ""))
    diff = float(row["difference"])
    diff_r = rounded(diff, d)
    word = "lower" if diff_r < 0 else "higher"
    if style == "apa":
        body = (f"{label} scores at {tp} did not differ from {ref}" if diff_r == 0 else
                f"{label} scores at {tp} were {fmt_number(abs(diff), d)} points {word} than at {ref}")
        return sentence(f"{lead}{body} ({fmt_ci(row['ci_low'], row['ci_high'], d)}, {_mm_inference(row, result)}; "
                        f"{_mm_model_words(result)})")
    clear = not (float(row["ci_low"]) <= 0 <= float(row["ci_high"]))
    if not clear or diff_r == 0:
        return sentence(f"{lead}taking everyone's answers into account, {label} scores at {tp} were not clearly "
                        f"different from {ref}")
    return sentence(f"{lead}taking everyone's answers into account, {label} scores were on average "
                    f"{fmt_number(abs(diff), d)} points {word} at {tp} than at {ref}")


# ---------------------------------------------------------------------------
# dose-response
# ---------------------------------------------------------------------------
def _dose_unit(result: Any) -> str:
    exposure = plain_label(getattr(result, "exposure", "sessions_attended"))
    per = float(getattr(result, "per", 1.0) or 1.0)
    return ("each additional session attended" if exposure == "sessions attended" and per == 1 else
            f"each {fmt_number(per, 2 if per < 1 else 0)} higher {exposure}")


def dose_response_sentence(result: Any, *, analysis: str = "as_treated", instrument: Any = None,
                           style: str = "apa", audience: str | None = None, min_cell: int | None = None,
                           digits: int = 2, timepoints: Mapping[Any, str] | None = None) -> str:
    """The exposure slope of :func:`groupeval.dose_response` as a sentence.

    Parameters
    ----------
    result
        The dose-response result (``.summary`` rows ``analysis, term,
        estimate, ci_low, ci_high, p_value, n, n_groups`` [, ``df``,
        ``vcov_type``]; attributes ``exposure``, ``per``, ``post``).
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
        groups, all members with both scores (as treated), CR1
        cluster-robust standard errors)."
    """
    check_style(style)
    summary = getattr(result, "summary", None)
    if not isinstance(summary, pd.DataFrame):
        raise ConfigError(f"dose_response_sentence needs a dose_response result; got {type(result).__name__}.")
    need(summary, ("analysis", "term", "estimate", "ci_low", "ci_high", "p_value", "n"), "dose_response_sentence")
    rows = summary[(summary["analysis"] == analysis) & (summary["term"] == "exposure_slope")]
    if not len(rows):
        raise ConfigError(f"dose_response_sentence: no exposure slope for analysis {analysis!r}; available: "
                          f"{', '.join(map(str, pd.unique(summary['analysis'])))}.")
    row = rows.iloc[0]
    mc = resolve_min_cell(audience, min_cell)
    inst = instrument if instrument is not None else getattr(result, "instrument", None)
    label = instrument_name(inst, style)
    post = timepoint_text(getattr(result, "post", "follow-up"), style, timepoints)
    n = int(row["n"]) if finite(row["n"]) else 0
    if is_suppressed(n, mc) or n == 0:
        return f"The link between attendance and {label} scores is not reported: {fmt_count(n, mc)} members."
    if not all(finite(row[c]) for c in ("estimate", "ci_low", "ci_high")):
        return sentence(f"The link between attendance and {label} scores at {post} could not be estimated"
                        + (f" ({text_field(row, ('note', 'reason'))})" if text_field(row, ("note", "reason")) else ""))
    b = float(row["estimate"])
    b_r = rounded(b, digits)
    word = "lower" if b_r < 0 else "higher"
    if style == "apa":
        groups = row.get("n_groups")
        vcov = text_field(row, ("vcov_type", "cluster_method")) or str(getattr(result, "vcov_type", "") or "CR1")
        method = method_phrase(cluster_method=vcov) + " standard errors"
        in_groups = f" in {count_noun(groups, 'group')}" if finite(groups) else ""
        return (f"Adjusted for the baseline score, {_dose_unit(result)} went with a {label} score at {post} that was "
                f"{fmt_number(abs(b), digits)} points {word} (B = {fmt_number(b, digits)}, "
                f"{fmt_ci(row['ci_low'], row['ci_high'], digits)}, {fmt_p(row['p_value'])}; {fmt_count(n)} "
                f"members{in_groups}, {_ANALYSIS_WORDS.get(analysis, analysis)}, {method}).")
    clear = not (float(row["ci_low"]) <= 0 <= float(row["ci_high"]))
    if not clear or b_r == 0:
        return (f"Members who came to more sessions did not clearly end with different {label} scores at {post}: "
                f"the difference per session could be due to chance.")
    hib = higher_is_better(inst)
    how = "" if hib is None else (" better" if (b > 0) == hib else " worse")
    return (f"Members who came to more sessions ended with{how} {label} scores at {post}: each extra session went "
            f"with a score {fmt_number(abs(b), digits)} points {word}, taking their starting score into account.")


# ---------------------------------------------------------------------------
# ICC
# ---------------------------------------------------------------------------
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
        a design effect of 1.86 for the mean group size of 18.3."  An
        undefined ICC (one group, no variance) gives a sentence without numbers.
    """
    if not isinstance(icc, pd.DataFrame) or not len(icc):
        raise ConfigError(f"icc_sentence needs the DataFrame from groupeval.icc; got {type(icc).__name__}.")
    need(icc, ("icc", "ci_low", "ci_high", "n_groups", "n", "mean_group_size", "design_effect"), "icc_sentence")
    rows = icc if timepoint is None or "timepoint" not in icc.columns else icc[icc["timepoint"] == timepoint]
    if not len(rows):
        raise ConfigError(f"icc_sentence: no row for timepoint {timepoint!r}.")
    row = rows.iloc[0]
    tp = row["timepoint"] if "timepoint" in row.index else None
    when = f"At {plain_label(tp)}, the" if isinstance(tp, str) else "The"
    label = instrument_name(instrument, "apa")
    if not finite(row["icc"]):
        why = text_field(row, ("note", "reason"))
        return sentence(f"{when} intraclass correlation of {label} scores within groups could not be estimated"
                        + (f" ({why})" if why else ""))

    def clip(v: Any) -> float:  # ICC(1) estimates can fall below 0
        return max(-1.0, min(1.0, float(v))) if finite(v) else float("nan")

    ci = fmt_ci(clip(row["ci_low"]), clip(row["ci_high"]), 2, leading_zero=False) if finite(row["ci_low"]) else ""
    deff = (f", a design effect of {fmt_number(row['design_effect'], 2)} for the mean group size of "
            f"{fmt_number(row['mean_group_size'], 1)}" if finite(row["design_effect"]) else "")
    return (f"{when} intraclass correlation of {label} scores within groups was ICC(1) = "
            f"{fmt_unit(clip(row['icc']), 2)}" + (f", {ci}" if ci else "")
            + f" ({count_noun(row['n_groups'], 'group')}, {count_noun(row['n'], 'member')}){deff}.")
