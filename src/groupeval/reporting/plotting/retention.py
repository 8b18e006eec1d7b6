"""Kaplan--Meier retention curves with a number-at-risk table.

The curve stops at the data window (the longest time anyone was observed,
:func:`groupeval.reporting.narrative.data_window`), the part resting on
fewer than the documented number of members at risk is dotted and pale,
and a suppressed number at risk is left blank (no label at all).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.transforms as mtransforms
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ..formatting import fmt_count, fmt_number, fmt_weeks, is_suppressed, plain_label
from ..narrative import data_window
from ..narrative._common import min_at_risk as default_min_at_risk
from ._style import (
    GREY,
    count_label,
    frame_of,
    levels_of,
    message_panel,
    min_cell_of,
    new_ax,
    require,
    series_style,
    stratum_column,
    style,
)

__all__ = ["plot_retention", "KM_COLUMNS"]

KM_COLUMNS = {"time", "at_risk", "events", "censored", "retention", "ci_low", "ci_high", "entrance",
              "entered", "removed", "observed", "ci_low_cluster", "ci_high_cluster", "std_err"}


def _km_at_risk_from_table(table: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """Number at risk at each of ``times`` from a KM table (one stratum).

    At risk at t = the ``at_risk`` of the first table row with time >= t;
    after the last row, that row's ``at_risk - events - censored``.  (With
    late entry this counts people entering between t and the next row at
    that row; results that carry ``.at()``/``.at_risk`` are used instead.)
    """
    if not len(table) or "at_risk" not in table.columns:
        return np.zeros(len(times))
    t = table["time"].to_numpy(float)
    n = table["at_risk"].to_numpy(float)
    last = table.iloc[-1]
    tail = max(float(last["at_risk"] - last.get("events", 0) - last.get("censored", 0)), 0.0)
    idx = np.searchsorted(t, times, side="left")
    return np.where(idx < len(t), n[np.minimum(idx, len(t) - 1)], tail)


def _result_at_risk(result: Any, by: str | None) -> pd.DataFrame | None:
    """The result's own at-risk counts as a tidy frame (``time``, ``at_risk`` [, by]) or None."""
    ar = getattr(result, "at_risk", None)
    if callable(ar) and not isinstance(ar, pd.DataFrame):
        return None
    if not isinstance(ar, pd.DataFrame) or not len(ar):
        return None
    if {"time", "at_risk"} <= set(ar.columns):
        return ar
    num_cols = [c for c in ar.columns if isinstance(c, (int, float, np.integer, np.floating))]
    if num_cols:  # wide: one row per stratum, numeric columns are times
        idx_name = by or "stratum"
        tidy = ar[num_cols].rename_axis(index=idx_name).reset_index().melt(
            id_vars=idx_name, var_name="time", value_name="at_risk")
        return tidy.drop(columns=idx_name) if by is None else tidy
    return None


def _window_of(result: Any, window: Any, tmax: float) -> float | None:
    """The x extent: ``window`` (weeks), the result's data window (None/True), or none (False)."""
    if window is False:
        return None
    if window is None or window is True:
        w = data_window(result) if not isinstance(result, pd.DataFrame) else float("nan")
        return float(w) if np.isfinite(w) and w < tmax else None
    return float(window)


def _times(times: Sequence[float] | None, ar_frame: pd.DataFrame | None, callable_at: bool, xmax: float) -> np.ndarray:
    if times is None:
        if ar_frame is not None and not callable_at:
            times = sorted(pd.unique(ar_frame["time"].astype(float)))
            if 0 not in times:
                times = [0.0, *times]
        else:
            step = next((s for s in (1, 2, 4, 8, 13, 26, 52, 104) if xmax / s <= 7), 104)
            times = list(np.arange(0, xmax + 1e-9, step))
    t = np.asarray(times, dtype=float)
    return t[t <= xmax + 1e-9]


def _shown_part(part: pd.DataFrame, mc: int | None, xmax: float) -> pd.DataFrame:
    """The rows drawn: up to the data window, and (funder/public) before fewer than ``min_cell`` at risk."""
    stop = None
    if mc is not None and "at_risk" in part.columns:
        few = np.asarray(is_suppressed(part["at_risk"].to_numpy(float), mc), dtype=bool)
        if few.any():  # each later step would show one person's dropout
            cut = int(np.argmax(few))
            stop = float(part["time"].iloc[cut])
            part = part.iloc[:cut]
    if len(part) and float(part["time"].max()) > xmax:
        part, stop = part[part["time"] <= xmax], xmax
    if stop is not None and len(part):  # S stays at its last shown value until the hidden step / the window
        part = pd.concat([part, part.iloc[[-1]].assign(time=stop, events=0, censored=0)], ignore_index=True)
    return part


def _arrays(part: pd.DataFrame, cluster: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(t, S, lo, hi) starting at S(0) = 1; the group-clustered CI when asked for and present."""
    t = part["time"].to_numpy(float)
    s = part["retention"].to_numpy(float)
    lo_col, hi_col = ("ci_low_cluster", "ci_high_cluster") if cluster else ("ci_low", "ci_high")
    lo = part[lo_col].to_numpy(float) if lo_col in part else None
    hi = part[hi_col].to_numpy(float) if hi_col in part else None
    if lo is not None and hi is not None:  # the CI is undefined (NaN) where S = 1, as in R: draw it as [1, 1]
        lo = np.where(np.isnan(lo) & (s >= 1), 1.0, lo)
        hi = np.where(np.isnan(hi) & (s >= 1), 1.0, hi)
    if len(t) == 0 or t[0] > 0 or s[0] < 1:
        t = np.r_[min(0.0, t[0]) if len(t) else 0.0, t]
        s = np.r_[1.0, s]
        if lo is not None and hi is not None:
            lo, hi = np.r_[1.0, lo], np.r_[1.0, hi]
    return t, s, lo, hi


def _few_from(part: pd.DataFrame, t: np.ndarray, threshold: int) -> int | None:
    """Index into ``t`` from which fewer than ``threshold`` members are at risk (None: never)."""
    if "at_risk" not in part.columns or not len(part):
        return None
    few = part["at_risk"].to_numpy(float) < threshold
    if not few.any():
        return None
    k = int(np.argmax(few))            # first row resting on too few
    offset = len(t) - len(part)        # the added S(0) = 1 point
    return max(k + offset - 1, 0)      # the step before it is where "too few" begins


def _draw_curve(ax: Any, part: pd.DataFrame, i: int, label: str, *, ci: bool, cluster: bool,
                censor_marks: bool, threshold: int, **kwargs: Any) -> bool:
    """One stratum: solid curve (gid km_curve), dotted tail with few at risk (km_curve_few), band, ticks."""
    t, s, lo, hi = _arrays(part, cluster)
    st = series_style(i)
    k = _few_from(part, t, threshold)
    end = len(t) if k is None else k + 1
    line, = ax.step(t[:end], s[:end], where="post", color=st["color"], linestyle=st["linestyle"], label=label,
                    **kwargs)
    line.set_gid("km_curve")
    if k is not None:
        few, = ax.step(t[k:], s[k:], where="post", color=st["color"], linestyle=":", alpha=0.55,
                       label="_nolegend_", **{k2: v for k2, v in kwargs.items() if k2 not in ("linestyle", "ls")})
        few.set_gid("km_curve_few")
    if ci and lo is not None and hi is not None and end > 1:
        band = ax.fill_between(t[:end], lo[:end], hi[:end], step="post", color=st["color"], alpha=0.15,
                               linewidth=0)
        band.set_gid("km_ci")
    if censor_marks and "censored" in part:
        cm = part[part["censored"].to_numpy(float) > 0]
        if len(cm):
            mk, = ax.plot(cm["time"], cm["retention"], linestyle="none", marker="|", markersize=7,
                          color=st["color"])
            mk.set_gid("censor")
    return k is not None


def _draw_at_risk(ax: Any, rows: list[tuple[str, np.ndarray, str]], times: np.ndarray, mc: int | None) -> None:
    """Numbers at risk under the x axis (gid at_risk); a suppressed number is left blank."""
    fig = ax.figure
    base = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    ax.text(-0.07, 0, "Number still followed", transform=mtransforms.offset_copy(
        ax.transAxes, fig=fig, y=-44, units="points"), ha="right", va="top", fontweight="bold", fontsize=9.5,
        clip_on=False)
    blank = False
    for r, (label, counts, color) in enumerate(rows):
        yoff = -44 - 14 * (r + 1)
        tr = mtransforms.offset_copy(base, fig=fig, y=yoff, units="points")
        if len(rows) > 1:
            ax.text(-0.07, 0, label, transform=mtransforms.offset_copy(ax.transAxes, fig=fig, y=yoff,
                                                                       units="points"),
                    ha="right", va="top", color=color, fontsize=9, clip_on=False)
        for x, n in zip(times, counts):
            text = count_label(int(round(n)), mc)
            blank |= text == "" and n > 0
            txt = ax.text(x, 0, text, transform=tr, ha="center", va="top", fontsize=9, color=color, clip_on=False)
            txt.set_gid("at_risk")
    if blank:
        note = ax.text(0, 0, f"Blank: fewer than {fmt_count(mc or 0)} people, not shown.",
                       transform=mtransforms.offset_copy(ax.transAxes, fig=fig, y=-50 - 14 * (len(rows) + 1),
                                                         units="points"),
                       ha="left", va="top", fontsize=8.5, color=GREY, clip_on=False)
        note.set_gid("at_risk_note")


def _at_risk_rows(result: Any, table: pd.DataFrame, by_col: str | None, strata: list, times: np.ndarray,
                  ar_frame: pd.DataFrame | None) -> list[np.ndarray]:
    """Numbers at risk per stratum at ``times``: the result's ``.at()`` / ``.at_risk``, else the table."""
    at_fn = getattr(result, "at", None) if not isinstance(result, pd.DataFrame) else None
    if callable(at_fn):  # the result's own exact counts (late entry included)
        try:
            ar_frame = at_fn(times, columns=("at_risk",))
        except TypeError:
            ar_frame = at_fn(times)
    out = []
    for level in strata:
        part = (table if level is None else table[table[by_col] == level]).sort_values("time", kind="stable")
        fallback = _km_at_risk_from_table(part, times)
        if ar_frame is None:
            out.append(fallback)
            continue
        arp = ar_frame if (level is None or by_col not in ar_frame) else ar_frame[ar_frame[by_col] == level]
        lookup = dict(zip(arp["time"].astype(float), arp["at_risk"].astype(float)))
        out.append(np.array([lookup.get(float(x), fb) for x, fb in zip(times, fallback)]))
    return out


def _legend(ax: Any, by_col: str | None, few: bool, threshold: int) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if few:
        handles.append(Line2D([], [], color=GREY, linestyle=":", alpha=0.8))
        labels.append(f"Fewer than {threshold} still followed")
    if by_col or few:
        ax.legend(handles, labels, title=plain_label(by_col).capitalize() if by_col else None, loc="lower left")


def plot_retention(result: Any, ax: Any = None, *, by: str | None = None, at_risk: bool = True,
                   times: Sequence[float] | None = None, ci: bool = True, censor_marks: bool = True,
                   audience: str | None = None, min_cell: int | None = None, title: str | None = None,
                   xlabel: str = "Weeks since joining", ylabel: str = "Members still attending",
                   window: float | bool | None = None, min_at_risk: int | None = None, cluster_ci: bool = True,
                   figsize: tuple[float, float] = (7.5, 5.0), **kwargs: Any) -> Any:
    """Kaplan--Meier retention curves with CI bands and a number-at-risk table.

    Parameters
    ----------
    result
        A :class:`groupeval.RetentionResult` or its ``.table``: columns
        ``time, at_risk, events, censored, retention, ci_low, ci_high`` plus
        the ``by`` column when stratified.
    ax
        Axes to draw on (a new figure when None).
    by
        Stratum column; default ``result.by`` or the table's one non-numeric
        extra column.
    at_risk
        Draw the number at risk under the x axis, one text row per stratum.
    times
        Times (weeks) of the at-risk table and x ticks (within the window).
        Default: about six evenly spaced weeks.  The counts come from the
        result's own ``.at(times)`` (exact with late entry) or ``.at_risk``
        table when it has them, else from the KM table (first row with
        time >= t).
    ci, cluster_ci
        Shade the pointwise confidence band; the group-clustered band
        (``ci_low_cluster``/``ci_high_cluster``) when the table has it and
        ``cluster_ci``, else Greenwood's.
    censor_marks
        Tick marks where members were censored.
    audience, min_cell
        Numbers at risk below ``min_cell`` (default 11 for funder/public) are
        left blank (a note says why), and each curve stops before the first
        time with fewer than ``min_cell`` members at risk.
    title, xlabel, ylabel, figsize
        Labels (default title "How long members kept coming"; ``""`` for
        none); ``figsize`` only when a new figure is made.
    window
        Last week drawn: default the result's data window
        (:func:`~groupeval.reporting.narrative.data_window`), a number of
        weeks, or False for the whole curve.
    min_at_risk
        From the first time fewer than this many members are at risk the
        curve is dotted and pale, without a band (default: the documented
        constant of the statistics layer, 10).
    **kwargs
        Passed to :meth:`Axes.step` for every curve.

    Returns
    -------
    matplotlib.axes.Axes
        Curves are ``Line2D`` objects with gid ``"km_curve"`` (one per
        stratum; the dotted tail ``"km_curve_few"``), bands
        ``PolyCollection`` with gid ``"km_ci"``, the at-risk numbers ``Text``
        with gid ``"at_risk"``, the data-window line gid ``"data_window"``.
        Without any member the Axes holds a message (gid ``"message"``).

    Notes
    -----
    The curve is the step function :math:`\\hat S(t)` of the table (drawn
    "post": constant until the next event time), starting at 1 at time 0.
    In R: ``plot(survfit(...), conf.int=TRUE)``; the at-risk table as in
    ``survminer::ggsurvplot(risk.table=TRUE)``.
    """
    table = frame_of(result, "table", "plot_retention")
    require(table, ["time", "retention"], "plot_retention")
    title = "How long members kept coming" if title is None else title
    if not len(table) or not np.isfinite(table["retention"].to_numpy(float)).any():
        return message_panel(ax, "No retention curve yet: no member has been followed after joining.", title=title)
    by_col = stratum_column(table, KM_COLUMNS, by if by is not None else getattr(result, "by", None))
    mc = min_cell_of(audience, min_cell)
    threshold = int(min_at_risk) if min_at_risk is not None else default_min_at_risk()
    tmax = max(float(table["time"].max()), 1.0)
    win = _window_of(result, window, tmax)
    xmax = win if win is not None else tmax
    ar_frame = None if isinstance(result, pd.DataFrame) else _result_at_risk(result, by_col)
    at_fn = getattr(result, "at", None) if not isinstance(result, pd.DataFrame) else None
    t_ticks = _times(times, ar_frame, callable(at_fn), xmax)
    strata = levels_of(table[by_col]) if by_col else [None]
    cluster = cluster_ci and {"ci_low_cluster", "ci_high_cluster"} <= set(table.columns)
    with style():
        ax = new_ax(ax, figsize)
        few_any = False
        for i, level in enumerate(strata):  # a handful of strata
            part = (table if level is None else table[table[by_col] == level]).sort_values("time", kind="stable")
            label = "All members" if level is None else str(level)
            few_any |= _draw_curve(ax, _shown_part(part, mc, xmax), i, label, ci=ci, cluster=cluster,
                                   censor_marks=censor_marks, threshold=threshold, **kwargs)
        if win is not None:
            ax.axvline(win, color=GREY, linewidth=0.8, linestyle="--").set_gid("data_window")
            ax.text(win, 1.03, f"data window ends ({fmt_weeks(win, 0)})", ha="right", va="bottom", fontsize=8.5,
                    color=GREY)
        ax.set_ylim(0, 1.04)
        ax.set_xlim(0, max(xmax, float(t_ticks.max()) if len(t_ticks) else xmax) * 1.02 + 1e-9)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_xticks(t_ticks)
        ax.set_xticklabels([fmt_number(x, 0) for x in t_ticks])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        _legend(ax, by_col, few_any, threshold)
        if at_risk and len(t_ticks):
            counts = _at_risk_rows(result, table, by_col, strata, t_ticks, ar_frame)
            rows = [("All members" if lv is None else str(lv), c, series_style(i)["color"])
                    for i, (lv, c) in enumerate(zip(strata, counts))]
            _draw_at_risk(ax, rows, t_ticks, mc)
    return ax
