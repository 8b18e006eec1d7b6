"""Words for the programme beside the published evidence.

:func:`benchmark_sentence` turns a :func:`groupeval.benchmark` table into a
short paragraph a grant writer can quote.  It states the comparison with its
limits every time: the programme's change is an uncontrolled before/after
change, the references are (mostly) controlled comparisons in other
populations, and nothing in the comparison says what the group itself
contributed.  It never uses causal wording.  Only this module rounds.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError
from ..statistics.benchmark import BENCHMARK_COLUMNS
from .formatting import fmt_number, number_word

__all__ = ["benchmark_sentence", "DESIGN_PHRASES"]

#: How each registry design is named in a sentence.
DESIGN_PHRASES = {
    "meta_analysis_rct": "randomised trials",
    "meta_analysis_rct_quasi": "randomised and quasi-randomised trials",
    "meta_analysis_controlled": "controlled studies",
    "rct": "a randomised trial",
    "controlled_study": "a controlled study",
    "pre_post": "a before-and-after study",
    "meta_analysis_pre_post": "before-and-after studies",
    "observational": "an observational study",
}

_THRESHOLD_PHRASES = {
    "mcid": "minimal clinically important difference for one person",
    "reliable_change": "reliable change index for one person",
    "sem": "one standard error of measurement (a lower threshold for one person's change)",
}


def _num(x: float, digits: int) -> str:
    return fmt_number(x, digits)


def _ci(lo: float, hi: float, digits: int) -> str:
    return f"{_num(lo, digits)} to {_num(hi, digits)}"


def _level(x: Any) -> str:
    return fmt_number(100 * float(x), 0) + "%"


def _one_programme(table: pd.DataFrame) -> pd.DataFrame:
    by = [c for c in table.columns if c not in BENCHMARK_COLUMNS]
    if by:
        levels = table[by].drop_duplicates()
        if len(levels) > 1:
            raise ConfigError(
                f"benchmark_sentence describes one programme estimate; this table has {len(levels)} levels of "
                f"{', '.join(by)}. Select one, e.g. table[table[{by[0]!r}] == {levels.iloc[0][by[0]]!r}].")
    return table


def _instrument_label(name: Any) -> str:
    if not isinstance(name, str) or not name:
        return "outcome"
    try:
        from ..base import instruments

        return str(instruments.get(name).label or name)
    except ConfigError:
        return name


def _programme_phrase(row: pd.Series, digits: int) -> str:
    est = float(row["programme_improvement"])
    lo, hi = float(row["programme_improvement_ci_low"]), float(row["programme_improvement_ci_high"])
    f = 1.0 if est == float(row["programme_estimate"]) else -1.0
    clo, chi = row.get("programme_ci_low_cluster", np.nan), row.get("programme_ci_high_cluster", np.nan)
    cluster = bool(np.isfinite(clo) and np.isfinite(chi))
    if cluster:
        lo, hi = sorted((f * float(clo), f * float(chi)))
    inst = _instrument_label(row.get("instrument"))
    when = ""
    if isinstance(row.get("pre"), str) and isinstance(row.get("post"), str):
        when = f"Between {row['pre'].replace('_', ' ')} and {row['post'].replace('_', ' ')}, "
    if not np.isfinite(est):
        return f"{when}the members' standardised change on the {inst} could not be estimated."
    verb = "improved" if est > 0 else ("worsened" if est < 0 else "did not change")
    size = _num(abs(est), digits)
    people = f"{int(row['n']):,} members"
    if np.isfinite(row.get("n_groups", np.nan)) and row["n_groups"] > 0:
        people += f" in {number_word(int(row['n_groups']))} groups"
    interval = (f"{_level(row['programme_ci_level'])} CI {_ci(lo, hi, digits)}"
                + (", allowing for members sharing groups" if cluster else ""))
    start = (when + "members'") if when else "Members'"
    text = (f"{start} {inst} scores {verb} by a standardised mean change of {size} ({interval}; {people})")
    if lo <= 0 <= hi:
        text += "; the interval includes no change"
    return text + "."


def _reference_phrase(row: pd.Series, digits: int) -> str:
    est = float(row["reference_smd_improvement"])
    lo, hi = float(row["reference_smd_improvement_ci_low"]), float(row["reference_smd_improvement_ci_high"])
    k = row.get("reference_k", np.nan)
    design = DESIGN_PHRASES.get(str(row["design"]), str(row["design"]).replace("_", " "))
    label = str(row["reference_label"])
    if np.isfinite(k) and not design.startswith(("a ", "an ")):
        design = f"{number_word(int(k))} {design}" if int(k) != 1 else design
    src = f"{label}; {design}"
    return (f"{_num(est, digits)} ({_level(row['reference_ci_level'])} CI {_ci(lo, hi, digits)}) for "
            f"{row['outcome']}, in {row['population']} ({src})")


def _threshold_phrase(row: pd.Series, digits: int) -> str:
    est = float(row["programme_improvement"])
    thr = float(row["reference_estimate"])
    kind = _THRESHOLD_PHRASES.get(str(row["measure"]), str(row["measure"]).replace("_", " "))
    cite = str(row["reference_label"])
    if np.isfinite(row.get("reference_ci_level", np.nan)):
        cite = f"{_level(row['reference_ci_level'])} confidence; {cite}"
    rel = "larger than" if est > thr else ("smaller than" if est < thr else "equal to")
    direction = "improvement" if est >= 0 else "worsening"
    return (f"The members' average {direction} of {_num(abs(est), 1)} points is {rel} the published "
            f"{_num(thr, 2 if thr != round(thr) else 0)}-point {kind} ({cite}); that threshold is "
            f"meant for individuals, not for a group average.")


def benchmark_sentence(table: pd.DataFrame, *, max_references: int = 3, digits: int = 2,
                       thresholds: bool = True) -> str:
    """A careful, citable paragraph comparing the programme with the published references.

    Parameters
    ----------
    table
        A :func:`groupeval.benchmark` table for a change result, with one
        programme estimate (filter one level first when ``by`` was used).
    max_references
        At most this many comparable references are named (population
        matches first, then instrument matches, in table order).
    digits
        Decimals of the standardised differences.
    thresholds
        Also compare the mean change with the instrument's published change
        thresholds (MCID, reliable change index) when the table has them.

    Returns
    -------
    str
        Two to five sentences: the programme's standardised mean change with
        its interval and the number of members and groups; the warning that it
        is an uncontrolled before/after change; the matching published
        references on the standardised scale with their designs and
        populations; the change thresholds for individuals; and that the
        figures come from different people and designs and do not show what
        the group itself contributed.  No causal wording.

    Notes
    -----
    Rows with ``comparable == "no"`` (risk ratios, raw mean differences, a
    ``d_z`` programme metric) are never put side by side with the programme;
    the paragraph says how many such references the table also lists.

    In R: ``sprintf()`` on the columns of the table.
    """
    if not isinstance(table, pd.DataFrame):
        raise ConfigError("benchmark_sentence takes the DataFrame groupeval.benchmark() returns.")
    missing = [c for c in BENCHMARK_COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"benchmark_sentence needs a groupeval.benchmark() table; missing {', '.join(missing[:5])}.")
    table = _one_programme(table)
    eff = table[table["kind"] == "effect"]
    if len(eff) == 0 and not (table["kind"] == "change_threshold").any():
        return ("No published reference in the evidence registry matches this outcome; add your own with "
                "groupeval.base.evidence.register_evidence().")
    parts: list[str] = []
    prog_rows = eff if len(eff) else table[table["kind"] == "change_threshold"]
    first = prog_rows.iloc[0]
    if len(eff):
        if first["programme_quantity"] != "smcr" and (eff["comparable"] == "no").all():
            raise ConfigError("benchmark_sentence words a standardised mean change; run benchmark(..., metric='smcr') "
                              "(d_z is not on the scale of published standardised differences).")
        parts.append(_programme_phrase(first, digits))
        parts.append("This is an uncontrolled before-and-after change: it also contains change that would have "
                     "happened without the group, such as natural recovery or regression to the mean.")
        ok = eff[(eff["comparable"] != "no") & np.isfinite(eff["reference_smd_improvement"].astype(float))]
        asked = np.array([False if pd.isna(v) else bool(v) for v in ok["population_match"]], dtype=bool)
        order = ok.assign(_p=np.where(asked, 0, 1), _m=(ok["match"] != "instrument").astype(int))
        ok = order.sort_values(["_p", "_m"], kind="stable").head(max_references)
        between = ok[ok["comparable"] == "same_scale"]
        within = ok[ok["comparable"] == "same_metric"]
        if len(between):
            refs = [_reference_phrase(r, digits) for _, r in between.iterrows()]
            parts.append("For comparison, published reviews of peer support report standardised differences "
                         "between peer support and comparison groups of " + _join(refs) + ".")
        if len(within):
            refs = [_reference_phrase(r, digits) for _, r in within.iterrows()]
            parts.append("Before-and-after studies of other programmes report standardised changes of "
                         + _join(refs) + ".")
        n_other = int((eff["comparable"] == "no").sum())
        if not len(ok):
            parts.append("No published reference in the registry is on a comparable scale for this outcome.")
        if n_other:
            parts.append(f"The table also lists {number_word(n_other)} reference{'s' if n_other != 1 else ''} "
                         "on other scales (risk ratios or raw differences) that cannot be set beside this figure.")
    if thresholds:
        thr = table[(table["kind"] == "change_threshold") & (table["programme_quantity"] == "mean_change")]
        for _, r in thr.head(2).iterrows():
            parts.append(_threshold_phrase(r, digits))
    parts.append("The published figures come from different people, programmes and study designs, so they show "
                 "where this programme's change sits beside the published range; they are not a test of what "
                 "the group itself contributed.")
    return " ".join(parts)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return "; ".join(items[:-1]) + "; and " + items[-1]
