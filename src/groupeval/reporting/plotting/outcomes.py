"""Figures of outcomes: means over time, the Jacobson--Truax plot, a forest plot, dose-response.

Labels are plain (full instrument names when given, timepoints as people
write them, "Got worse" rather than "Deteriorated"), and a count that is
suppressed for the audience is never printed.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.transforms as mtransforms
import numpy as np
import pandas as pd

from ...base.exceptions import ConfigError, GroupevalError
from ..formatting import fmt_count, fmt_number, is_suppressed, plain_label
from ..narrative.wording import category_label, timepoint_label
from ._style import (
    EFFECT_LABELS,
    GREY,
    MARKERS,
    OKABE_ITO,
    PALETTE,
    count_label,
    frame_of,
    instrument_label,
    levels_of,
    message_panel,
    min_cell_of,
    new_ax,
    pick,
    require,
    series_style,
    stratum_column,
    style,
    with_n,
)

__all__ = ["plot_means_over_time", "plot_reliable_change", "plot_forest", "plot_dose_response"]


# ---------------------------------------------------------------------------
# means over time
# ---------------------------------------------------------------------------
def _means_columns(df: pd.DataFrame, result: Any, by: str | None, time: str | None, estimate: str | None
                   ) -> tuple[str, str, str | None]:
    rt = getattr(result, "time", None)
    time = pick(df, ("timepoint", "time", "wave"), "plot_means_over_time",
                time if time is not None else (rt if isinstance(rt, str) and rt in df.columns else None))
    estimate = pick(df, ("mean", "estimate", "predicted", "emmean", "score"), "plot_means_over_time", estimate)
    require(df, ["ci_low", "ci_high"], "plot_means_over_time")
    if by is None:
        for cand in (getattr(result, "by", None), getattr(result, "group_by", None)):
            if isinstance(cand, str) and cand in df.columns:
                by = cand
                break
    by = stratum_column(df, {time, estimate, "ci_low", "ci_high", "se", "n", "n_observed", "instrument", "dv",
                             "term", "df", "df_method", "note"}, by)
    return time, estimate, by


def plot_means_over_time(result: Any, ax: Any = None, *, by: str | None = None, time: str | None = None,
                         estimate: str | None = None, order: Sequence[str] | None = None,
                         audience: str | None = None, min_cell: int | None = None, ylabel: str | None = None,
                         title: str | None = None, instrument: Any = None,
                         timepoints: Mapping[Any, str] | None = None,
                         figsize: tuple[float, float] = (7.0, 4.5)) -> Any:
    """Estimated mean score per timepoint with CIs, one line per group type.

    Parameters
    ----------
    result
        A mixed-model result (its ``.means``) or a DataFrame with a timepoint
        column, an estimate column (``mean``/``estimate``/...), ``ci_low``,
        ``ci_high`` and optionally the ``by`` column and ``n``.
    by
        Column of the lines (default: the result's ``by``/``group``, else the
        table's non-numeric column other than the timepoint).
    order
        Order of timepoints on the x axis (default: categorical order, then
        order of appearance).
    audience, min_cell
        Points resting on fewer than ``min_cell`` people (``n`` column) are
        not drawn.
    instrument
        Registry name or Instrument: the y label names it in full
        ("Average Brief Resilience Scale score").
    timepoints
        ``{timepoint: label}`` for the x ticks (default "26 weeks" from ``week_26``).

    Returns
    -------
    matplotlib.axes.Axes
        One ``Line2D`` with gid ``"means"`` per line; error bars are the CIs.
        No finite mean: a message panel.
    """
    df = frame_of(result, ("means", "table"), "plot_means_over_time")
    time, estimate, by = _means_columns(df, result, by, time, estimate)
    title = "Average scores over time" if title is None else title
    if not len(df) or not np.isfinite(df[estimate].to_numpy(float)).any():
        return message_panel(ax, "No average scores to show: no timepoint has estimated scores.", title=title)
    mc = min_cell_of(audience, min_cell)
    tps = list(order) if order is not None else levels_of(df[time])
    xpos = {tp: i for i, tp in enumerate(tps)}
    name = instrument_label(instrument if instrument is not None else getattr(result, "instrument", None), True)
    with style():
        ax = new_ax(ax, figsize)
        levels = levels_of(df[by]) if by else [None]
        k = len(levels)
        for i, level in enumerate(levels):  # a handful of lines
            part = df if level is None else df[df[by] == level]
            part = part[part[time].isin(xpos) & np.isfinite(part[estimate].to_numpy(float))]
            ncol = next((c for c in ("n", "n_observed") if c in part.columns), None)
            if ncol is not None and mc is not None:
                part = part[~np.asarray(is_suppressed(part[ncol].to_numpy(float), mc), dtype=bool)]
            x = part[time].map(xpos).to_numpy(float) + (i - (k - 1) / 2) * min(0.12, 0.5 / max(k - 1, 1))
            o = np.argsort(x)
            y, lo, hi = (part[c].to_numpy(float)[o] for c in (estimate, "ci_low", "ci_high"))
            st = series_style(i)
            line, = ax.plot(x[o], y, color=st["color"], linestyle=st["linestyle"], marker=st["marker"],
                            label="All members" if level is None else str(level))
            line.set_gid("means")
            eb = ax.errorbar(x[o], y, yerr=np.vstack([y - lo, hi - y]), fmt="none", ecolor=st["color"], capsize=3,
                             elinewidth=1.2)
            eb[2][0].set_gid("means_ci")
        ax.set_xticks(range(len(tps)))
        ax.set_xticklabels([timepoint_label(t, timepoints).capitalize() for t in tps])
        ax.set_xlim(-0.4, len(tps) - 0.6)
        ax.set_ylabel(ylabel or (f"Average {name} score (95% CI)" if name else "Average score (95% CI)"))
        if by:
            ax.legend(title=plain_label(by).capitalize(), loc="upper left", bbox_to_anchor=(1.01, 1),
                      borderaxespad=0)
        if title:
            ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------
# reliable change (Jacobson-Truax)
# ---------------------------------------------------------------------------
_RC_COLOURS = {"recovered": OKABE_ITO["bluish_green"], "improved": OKABE_ITO["blue"],
               "unchanged": GREY, "no reliable change": GREY, "deteriorated": OKABE_ITO["vermillion"],
               "harmed": OKABE_ITO["reddish_purple"]}
_RC_ORDER = ("recovered", "improved", "unchanged", "no reliable change", "deteriorated", "harmed")


def _attr(obj: Any, names: Sequence[str], default: Any = None) -> Any:
    for n in names:
        v = getattr(obj, n, None)
        if v is not None:
            return v
    return default


def _direction(result: Any) -> bool | None:
    hib = _attr(result, ("higher_is_better",))
    inst = getattr(result, "instrument", None)
    if hib is None and inst is not None and hasattr(inst, "higher_is_better"):
        hib = inst.higher_is_better
    if hib is None and isinstance(inst, str):
        try:
            from ...base.instruments import get

            hib = get(inst).higher_is_better
        except GroupevalError:  # an unregistered name: fall back to the recorded direction
            hib = None
    if hib is None:
        direction = _attr(result, ("improved_direction", "direction"))
        if isinstance(direction, str):
            hib = direction.lower() in ("increase", "higher", "up", "+")
    return None if hib is None else bool(hib)


def _rc_params(result: Any, higher_is_better: bool | None, cutoff: float | None,
               sdiff: float | None, threshold: float | None) -> tuple[float, float | None, bool]:
    """(reliable-change half-width, clinical cut-off or None, higher_is_better) from a result."""
    if sdiff is None:
        sdiff = _attr(result, ("sdiff", "s_diff", "se_diff"))
    if threshold is None:
        threshold = _attr(result, ("min_reliable_change", "threshold", "rc_threshold"))
    if threshold is None:
        if sdiff is None:
            raise ConfigError("plot_reliable_change needs the standard error of the difference: pass sdiff= "
                              "(or a reliable_change result, which records it).")
        threshold = 1.96 * float(sdiff)
    if cutoff is None:
        cutoff = _attr(result, ("cutoff_value", "clinical_cutoff", "cutoff"))
        if isinstance(cutoff, str):  # e.g. "c": look the value up in .cutoffs
            cutoff = (_attr(result, ("cutoffs",)) or {}).get(cutoff)
        if isinstance(cutoff, dict):
            cutoff = None
    if higher_is_better is None:
        higher_is_better = _direction(result)
    if higher_is_better is None:
        raise ConfigError("plot_reliable_change needs the direction of improvement: pass higher_is_better= "
                          "(or a result whose instrument records it).")
    return float(threshold), (None if cutoff is None or pd.isna(cutoff) else float(cutoff)), bool(higher_is_better)


def _rc_lines(ax: Any, lo: float, hi: float, thr: float, cut: float | None, hib: bool) -> None:
    xs = np.array([lo, hi])
    better = xs + thr if hib else xs - thr
    ax.fill_between(xs, better, hi if hib else lo, color=OKABE_ITO["bluish_green"], alpha=0.07, linewidth=0,
                    label="_nolegend_").set_gid("improved_region")
    ax.plot(xs, xs, color="#444444", linewidth=1.2, label="No change")[0].set_gid("identity")
    ax.plot(xs, xs + thr, color="#444444", linewidth=1.0, linestyle="--",
            label=f"Reliable change (±{fmt_number(thr, 2)})")[0].set_gid("rc_band_upper")
    ax.plot(xs, xs - thr, color="#444444", linewidth=1.0, linestyle="--", label="_nolegend_")[0].set_gid(
        "rc_band_lower")
    if cut is not None:
        ax.axhline(cut, color=OKABE_ITO["vermillion"], linewidth=1.0, linestyle=":",
                   label=f"Clinical cut-off ({fmt_number(cut, 2)})").set_gid("cutoff_h")
        ax.axvline(cut, color=OKABE_ITO["vermillion"], linewidth=1.0, linestyle=":",
                   label="_nolegend_").set_gid("cutoff_v")


def _rc_points(ax: Any, m: pd.DataFrame, mc: int | None) -> None:
    if "category" not in m.columns:
        ax.scatter(m["pre"], m["post"], s=22, alpha=0.75, color=OKABE_ITO["blue"], edgecolors="white",
                   linewidths=0.4, label=with_n("Members", len(m), mc).replace("(n = ", "(")).set_gid("rc_points")
        return
    cat = m["category"].astype("string")
    cats = sorted(map(str, levels_of(cat)), key=lambda c: _RC_ORDER.index(c) if c in _RC_ORDER else len(_RC_ORDER))
    counts = cat.value_counts()
    for j, c in enumerate(cats):  # five categories
        part = m[cat == c]
        n_text = count_label(int(counts[c]), mc)
        pc = ax.scatter(part["pre"], part["post"], s=22, alpha=0.75, color=_RC_COLOURS.get(c, PALETTE[j % 8]),
                        marker=MARKERS[j % len(MARKERS)], edgecolors="white", linewidths=0.4,
                        label=category_label(c) + (f" ({n_text})" if n_text else ""))
        pc.set_gid("rc_points")


def plot_reliable_change(result: Any, ax: Any = None, *, higher_is_better: bool | None = None,
                         cutoff: float | None = None, sdiff: float | None = None, threshold: float | None = None,
                         audience: str | None = None, min_cell: int | None = None, label: str | None = None,
                         title: str | None = None, figsize: tuple[float, float] = (6.0, 6.0)) -> Any:
    """Jacobson--Truax plot: post against pre score for every member.

    Parameters
    ----------
    result
        A reliable-change result (``.members`` with ``pre, post, category``;
        attributes ``sdiff``, the clinical cut-off and the direction) or a
        DataFrame with ``pre``, ``post`` [, ``category``] plus the keywords.
    higher_is_better, cutoff, sdiff, threshold
        Override what the result records.  ``threshold`` is the
        reliable-change half-width (default :math:`1.96\\,S_{diff}`).
    audience, min_cell
        A legend count below ``min_cell`` is not printed; with fewer than
        ``min_cell`` members no point is drawn.
    label
        Axis label stem (default: the instrument's full name).

    Returns
    -------
    matplotlib.axes.Axes
        Lines (``Line2D``) with gids ``"identity"`` (y = x), ``"rc_band_upper"``
        and ``"rc_band_lower"`` (y = x ± threshold), ``"cutoff_h"`` and
        ``"cutoff_v"`` (the clinical cut-off on each axis); the points are a
        ``PathCollection`` per category with gid ``"rc_points"`` (legend:
        plain category names, "Got worse").  No member with both scores: a
        message panel.

    Notes
    -----
    A change is reliable when :math:`|x_{post} - x_{pre}| > 1.96\\,S_{diff}`
    with :math:`S_{diff} = \\sqrt{2}\\,SD_{pre}\\sqrt{1 - r_{xx}}` (Jacobson &
    Truax 1991): points outside the band between the two dashed lines.  The
    region of reliable improvement is shaded: below the band when lower
    scores are better (PHQ-9), above it when higher scores are better.
    The band is the Jacobson--Truax one (``result.min_reliable_change``); for
    the GLN and HA methods the colours still show the result's own
    categories, which those indices define differently.

    In R: ``clinicalsignificance::cs_distribution(...)`` then ``plot()``.
    """
    members = frame_of(result, ("members", "table"), "plot_reliable_change")
    require(members, ["pre", "post"], "plot_reliable_change")
    title = "Who changed by more than chance" if title is None else title
    m = members[["pre", "post"] + (["category"] if "category" in members.columns else [])].dropna(
        subset=["pre", "post"])
    if not len(m):
        return message_panel(ax, "No member answered at both times, so reliable change cannot be shown.",
                             title=title)
    thr, cut, hib = _rc_params(result, higher_is_better, cutoff, sdiff, threshold)
    mc = min_cell_of(audience, min_cell)
    label = label or instrument_label(getattr(result, "instrument", None), True) or "Score"
    with style():
        ax = new_ax(ax, figsize)
        ax.grid(False)
        vals = np.r_[m["pre"].to_numpy(float), m["post"].to_numpy(float)]
        lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
        if cut is not None:
            lo, hi = min(lo, cut), max(hi, cut)
        pad = 0.05 * (hi - lo or 1.0)
        lo, hi = lo - pad, hi + pad
        _rc_lines(ax, lo, hi, thr, cut, hib)
        if is_suppressed(len(m), mc):
            ax.text(0.5, 0.5, "Members not shown: too few to show without identifying people",
                    transform=ax.transAxes, ha="center", va="center", color=GREY)
        else:
            _rc_points(ax, m, mc)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(f"{label}, before")
        ax.set_ylabel(f"{label}, after")
        ax.text(0.98 if not hib else 0.02, 0.02 if not hib else 0.98,
                "Improved" + (" (lower is better)" if not hib else " (higher is better)"),
                transform=ax.transAxes, ha="right" if not hib else "left", va="bottom" if not hib else "top",
                fontsize=9, color=OKABE_ITO["bluish_green"])
        ax.legend(loc="upper left" if not hib else "lower right", fontsize=8.5)
        if title:
            ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------
# forest plot
# ---------------------------------------------------------------------------
def plot_forest(table: Any, ax: Any = None, *, estimate: str = "d_z", ci_low: str | None = None,
                ci_high: str | None = None, label: str | None = None, n: str | None = "n", null: float = 0.0,
                audience: str | None = None, min_cell: int | None = None, xlabel: str | None = None,
                title: str | None = None, figsize: tuple[float, float] | None = None) -> Any:
    """Effects with CIs, one row per group (e.g. :func:`groupeval.change` with ``by="group_type"``).

    Parameters
    ----------
    table
        A DataFrame (or result with ``.summary``) with one row per group.
    estimate
        Column of the effect (default ``d_z``; also ``mean_change``, ``hedges_g_av``...).
    ci_low, ci_high
        CI columns; default ``<estimate>_ci_low``/``_ci_high`` when present,
        else ``ci_low``/``ci_high``.
    label
        Column naming the rows (default: the first non-numeric column).
    n
        Column of the number of people (shown beside the label); rows with
        ``n < min_cell`` are not drawn for funder/public outputs and their
        count is not printed.
    null
        Position of the "no effect" reference line.

    Returns
    -------
    matplotlib.axes.Axes
        One point per shown row (``Line2D`` gid ``"forest_points"``, y = 0
        is the first row at the top) and its CI (``LineCollection`` gid
        ``"forest_ci"``).  An empty table: a message panel.
    """
    df = frame_of(table, ("summary", "table"), "plot_forest")
    require(df, [estimate], "plot_forest")
    ci_low = ci_low or (f"{estimate}_ci_low" if f"{estimate}_ci_low" in df.columns else "ci_low")
    ci_high = ci_high or (f"{estimate}_ci_high" if f"{estimate}_ci_high" in df.columns else "ci_high")
    require(df, [ci_low, ci_high], "plot_forest")
    title = "Change by group" if title is None else title
    if not len(df):
        return message_panel(ax, "No groups to compare.", title=title)
    label = label or stratum_column(df, {"pre", "post", "improved_direction", "wilcoxon_method", "cluster_method",
                                         "cluster_note"}, None)
    mc = min_cell_of(audience, min_cell)
    labels = [str(v) for v in df[label]] if label else [f"Row {i + 1}" for i in range(len(df))]
    hidden = np.zeros(len(df), dtype=bool)
    if n is not None and n in df.columns:
        ns = df[n].to_numpy(float)
        hidden = np.asarray(is_suppressed(ns, mc), dtype=bool).reshape(len(df))
        labels = [with_n(lab, v, mc) for lab, v in zip(labels, ns)]
    est, lo, hi = (df[c].to_numpy(float) for c in (estimate, ci_low, ci_high))
    hidden |= ~np.isfinite(est)
    with style():
        ax = new_ax(ax, figsize or (7.0, 1.2 + 0.45 * len(df)))
        ax.grid(True, axis="x")
        ax.grid(False, axis="y")
        y = np.arange(len(df), dtype=float)
        show = ~hidden
        ax.axvline(null, color="#444444", linewidth=1.0).set_gid("null_line")
        ax.hlines(y[show], lo[show], hi[show], color=OKABE_ITO["blue"], linewidth=2).set_gid("forest_ci")
        pts, = ax.plot(est[show], y[show], linestyle="none", marker="s", markersize=7, color=OKABE_ITO["blue"])
        pts.set_gid("forest_points")
        blend = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)
        for yy in y[hidden]:
            ax.text(0.5, yy, "not shown (too few people, or no estimate)", transform=blend, ha="center",
                    va="center", fontsize=8.5, color=GREY)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.set_ylim(len(df) - 0.5, -0.5)
        ax.set_xlabel(xlabel or f"{EFFECT_LABELS.get(estimate, plain_label(estimate).capitalize())} (95% CI)")
        if title:
            ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------
# dose-response
# ---------------------------------------------------------------------------
def _dose_frames(result: Any) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    if isinstance(result, pd.DataFrame):
        return result, None
    pts = next((getattr(result, a) for a in ("data", "members", "points")
                if isinstance(getattr(result, a, None), pd.DataFrame)), None)
    curve = next((getattr(result, a) for a in ("curve", "predictions", "fitted", "prediction")
                  if isinstance(getattr(result, a, None), pd.DataFrame)), None)
    if pts is None and curve is None:
        raise ConfigError("plot_dose_response needs a DataFrame or a result with member-level `.data` "
                          "and/or a fitted `.curve`.")
    return pts, curve


def plot_dose_response(result: Any, ax: Any = None, *, exposure: str | None = None, outcome: str | None = None,
                       audience: str | None = None, min_cell: int | None = None, xlabel: str | None = None,
                       ylabel: str | None = None, title: str | None = None,
                       figsize: tuple[float, float] = (7.0, 4.5)) -> Any:
    """Change in score against sessions attended, with the fitted line and its CI.

    Parameters
    ----------
    result
        A dose-response result: member-level data (``.data``/``.members``,
        the exposure column and the change) and a fitted curve
        (``.curve``/``.predictions``: exposure, ``estimate``/``fit``,
        ``ci_low``, ``ci_high``); or one DataFrame of member-level points.
    exposure, outcome
        Column names (default: ``result.exposure`` or ``sessions_attended``
        / ``attendance_rate``; ``change`` / ``score_change``...).
    audience, min_cell
        With fewer than ``min_cell`` members the points are not drawn.

    Returns
    -------
    matplotlib.axes.Axes
        Member points (``PathCollection`` gid ``"dose_points"``), fitted line
        (``Line2D`` gid ``"dose_fit"``), band (gid ``"dose_ci"``).  Nothing
        to draw: a message panel.
    """
    pts, curve = _dose_frames(result)
    title = "Sessions attended and change in scores" if title is None else title
    if (pts is None or not len(pts)) and (curve is None or not len(curve)):
        return message_panel(ax, "No member has scores at both times, so this cannot be shown.", title=title)
    given = exposure or (getattr(result, "exposure", None) if not isinstance(result, pd.DataFrame) else None)
    exposure_name = given if isinstance(given, str) else None
    ref = curve if (pts is None or not len(pts)) and curve is not None else pts
    if ref is None:
        raise ConfigError("plot_dose_response needs member-level `.data` or a fitted `.curve`.")
    exposure = pick(ref, ("sessions_attended", "attendance_rate", "exposure", "dose"), "plot_dose_response",
                    given if isinstance(given, str) and given in ref.columns else None)
    mc = min_cell_of(audience, min_cell)
    with style():
        ax = new_ax(ax, figsize)
        if pts is not None:
            outcome = pick(pts, ("change", "score_change", "delta", "outcome", "post"), "plot_dose_response", outcome)
            p = pts[[exposure, outcome]].dropna()
            if len(p) and not is_suppressed(len(p), mc):
                ax.scatter(p[exposure], p[outcome], s=16, alpha=0.45, color=OKABE_ITO["sky_blue"], edgecolors="none",
                           label=f"Members ({fmt_count(len(p))})").set_gid("dose_points")
        if curve is not None and len(curve):
            est = pick(curve, ("estimate", "fit", "predicted", "mean", "change"), "plot_dose_response")
            xcol = exposure if exposure in curve.columns else pick(
                curve, ("sessions_attended", "attendance_rate", "exposure", "dose"), "plot_dose_response")
            c = curve.sort_values(xcol)
            if {"ci_low", "ci_high"} <= set(c.columns):
                ax.fill_between(c[xcol], c["ci_low"], c["ci_high"], color=OKABE_ITO["blue"], alpha=0.18,
                                linewidth=0, label="95% CI").set_gid("dose_ci")
            ax.plot(c[xcol], c[est], color=OKABE_ITO["blue"], label="Fitted")[0].set_gid("dose_fit")
        ax.axhline(0, color="#444444", linewidth=0.8)
        ax.set_xlabel(xlabel or plain_label(exposure_name or exposure).capitalize())
        ax.set_ylabel(ylabel or ("Change in score (after − before)" if outcome in (None, "change")
                                 else plain_label(outcome).capitalize()))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best")
        if title:
            ax.set_title(title)
    return ax
