"""Figures for groupeval results (the reporting layer; the only matplotlib user).

Every function takes a result object *or* the equivalent DataFrame and an
optional ``ax`` and returns the :class:`matplotlib.axes.Axes` it drew on::

    ax = groupeval.plotting.plot_retention(groupeval.retention(ds, by="group_type"))
    ax.figure.savefig("retention.png", dpi=150, bbox_inches="tight")

One style for all figures: the Okabe--Ito palette (distinguishable with the
common colour-vision deficiencies, Okabe & Ito 2008), line styles and
markers that repeat the colour information, readable font sizes, no
top/right spines, a light horizontal grid.  The style is applied inside
each function through :func:`style` (``matplotlib.rc_context``), never
globally.

Small counts: ``audience="funder"`` / ``"public"`` (or an explicit
``min_cell=``) shows counts below ``min_cell`` as ``"<11"`` in every label,
legend and at-risk table, and hides estimates resting on fewer people.
Member ids never appear in a figure; rows of the attendance heatmap are
positions (1, 2, ...), not ids.

References
----------
Okabe M, Ito K (2008). Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
Jacobson NS, Truax P (1991). Clinical significance: a statistical approach to
defining meaningful change in psychotherapy research. J Consult Clin Psychol
59(1):12-19.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.transforms as mtransforms
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

from ..base.exceptions import ConfigError, GroupevalError, SchemaError
from .formatting import fmt_count, fmt_number, is_suppressed, plain_label, resolve_min_cell

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "STYLE",
    "style",
    "plot_retention",
    "plot_attendance_heatmap",
    "plot_cohort_heatmap",
    "plot_means_over_time",
    "plot_reliable_change",
    "plot_forest",
    "plot_dose_response",
    "plot_flow",
]

#: The Okabe--Ito colour-blind-safe palette by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Order in which series take colours (yellow last: weak on white).
PALETTE = tuple(OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "vermillion",
                                       "reddish_purple", "sky_blue", "black", "yellow"))
_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_GREY = "#7F7F7F"

#: rcParams applied by :func:`style`.
STYLE: dict[str, Any] = {
    "font.size": 10.5,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10.5,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE)),
    "lines.linewidth": 2.0,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Apply groupeval's figure style inside a ``with`` block (not globally).

    >>> with style():
    ...     fig, ax = plt.subplots()
    """
    with matplotlib.rc_context(STYLE):
        yield


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _new_ax(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def _frame(obj: Any, attr: str | Sequence[str], what: str) -> pd.DataFrame:
    """The DataFrame itself, or the first of ``attr`` found on a result object."""
    if isinstance(obj, pd.DataFrame):
        return obj
    for a in ([attr] if isinstance(attr, str) else attr):
        val = getattr(obj, a, None)
        if isinstance(val, pd.DataFrame):
            return val
    names = ", ".join(f"`.{a}`" for a in ([attr] if isinstance(attr, str) else attr))
    raise ConfigError(f"{what} needs a DataFrame or a result with {names}; got {type(obj).__name__}.")


def _require(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SchemaError(f"{what}: the table lacks column(s) {missing}; its columns are {list(df.columns)}. "
                          "Pass the output of the matching groupeval function or rename the columns.")


def _pick(df: pd.DataFrame, candidates: Sequence[str], what: str, given: str | None = None) -> str:
    if given is not None:
        _require(df, [given], what)
        return given
    for c in candidates:
        if c in df.columns:
            return c
    raise SchemaError(f"{what}: none of the columns {list(candidates)} is in the table (columns: "
                      f"{list(df.columns)}); name the column with the matching keyword.")


def _min_cell(audience: str | None, min_cell: int | None) -> int | None:
    return resolve_min_cell(audience, min_cell)


def _stratum_column(df: pd.DataFrame, known: set[str], given: Any = None) -> str | None:
    """The by/stratum column: ``given`` if it is a column, else the one non-numeric extra column."""
    if isinstance(given, str) and given in df.columns:
        return given
    if isinstance(given, (list, tuple)) and len(given) == 1 and given[0] in df.columns:
        return given[0]
    extra = [c for c in df.columns if c not in known and not str(c).startswith("_")
             and not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    return extra[0] if extra else None


def _levels(series: pd.Series) -> list:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in present]
    return list(pd.unique(series.dropna()))


def _series_style(i: int) -> dict[str, Any]:
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": _LINESTYLES[i % len(_LINESTYLES)],
            "marker": _MARKERS[i % len(_MARKERS)]}


def _n_text(n: Any, mc: int | None) -> str:
    """``n = 120`` or ``n <11`` (suppressed)."""
    if pd.isna(n):
        return "n suppressed"
    text = fmt_count(int(n), mc, short=True)
    return f"n {text}" if text.startswith("<") else f"n = {text}"


_EFFECT_LABELS = {"d_z": "Cohen's d_z", "d_av": "Cohen's d_av", "hedges_g_av": "Hedges' g_av",
                  "mean_change": "Mean change", "hr": "Hazard ratio", "estimate": "Estimate"}


def _message_ax(ax: Any, text: str) -> Any:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)
    return ax


# ---------------------------------------------------------------------------
# Kaplan-Meier retention
# ---------------------------------------------------------------------------
KM_COLUMNS = {"time", "at_risk", "events", "censored", "retention", "ci_low", "ci_high", "entrance",
              "entered", "removed", "observed"}


def _km_at_risk_from_table(table: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """Number at risk at each of ``times`` from a KM table (one stratum).

    At risk at t = the ``at_risk`` of the first table row with time >= t;
    after the last row, that row's ``at_risk - events - censored``.  (With
    late entry this counts people entering between t and the next row at
    that row; results that carry ``.at()``/``.at_risk`` are used instead.)
    """
    if not len(table):
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
    # wide: one row per stratum, numeric columns are times
    num_cols = [c for c in ar.columns if isinstance(c, (int, float, np.integer, np.floating))]
    if num_cols:
        idx_name = by or "stratum"
        tidy = ar[num_cols].rename_axis(index=idx_name).reset_index().melt(
            id_vars=idx_name, var_name="time", value_name="at_risk")
        if by is None:
            tidy = tidy.drop(columns=idx_name)
        return tidy
    return None


def plot_retention(result: Any, ax: Any = None, *, by: str | None = None, at_risk: bool = True,
                   times: Sequence[float] | None = None, ci: bool = True, censor_marks: bool = True,
                   audience: str | None = None, min_cell: int | None = None, title: str | None = None,
                   xlabel: str = "Weeks since enrolment", ylabel: str = "Still attending",
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
        Times (weeks) of the at-risk table and x ticks.  Default: about six
        evenly spaced weeks.  The counts come from the result's own
        ``.at(times)`` (exact with late entry) or ``.at_risk`` table when it
        has them, else from the KM table (first row with time >= t).
    ci
        Shade the pointwise confidence band (``ci_low`` .. ``ci_high``).
    censor_marks
        Tick marks where members were censored.
    audience, min_cell
        Numbers at risk below ``min_cell`` (default 11 for funder/public) are
        printed as ``<11``, and each curve stops before the first time with
        fewer than ``min_cell`` members at risk (a step there would show one
        person's dropout).
    title, xlabel, ylabel, figsize
        Labels; ``figsize`` only when a new figure is made.
    **kwargs
        Passed to :meth:`Axes.step` for every curve.

    Returns
    -------
    matplotlib.axes.Axes
        Curves are ``Line2D`` objects with gid ``"km_curve"`` (one per
        stratum), bands are ``PolyCollection`` with gid ``"km_ci"``, the
        at-risk numbers are ``Text`` objects with gid ``"at_risk"``.

    Notes
    -----
    The curve is the step function :math:`\\hat S(t)` of the table (drawn
    "post": constant until the next event time), starting at 1 at time 0.
    In R: ``plot(survfit(...), conf.int=TRUE)``; the at-risk table as in
    ``survminer::ggsurvplot(risk.table=TRUE)``.
    """
    table = _frame(result, "table", "plot_retention")
    _require(table, ["time", "retention"], "plot_retention")
    by_col = _stratum_column(table, KM_COLUMNS, by if by is not None else getattr(result, "by", None))
    mc = _min_cell(audience, min_cell)
    ar_frame = None if isinstance(result, pd.DataFrame) else _result_at_risk(result, by_col)
    with style():
        ax = _new_ax(ax, figsize)
        strata = _levels(table[by_col]) if by_col else [None]
        tmax = float(table["time"].max()) if len(table) else 1.0
        at_fn = getattr(result, "at", None) if not isinstance(result, pd.DataFrame) else None
        if times is None:
            if ar_frame is not None and not callable(at_fn):
                times = sorted(pd.unique(ar_frame["time"].astype(float)))
                if 0 not in times:
                    times = [0.0, *times]
            else:
                step = next((s for s in (1, 2, 4, 8, 13, 26, 52, 104) if tmax / s <= 7), 104)
                times = list(np.arange(0, tmax + 1e-9, step))
        times = np.asarray(times, dtype=float)
        if callable(at_fn):  # the result's own exact counts (late entry included)
            try:
                ar_frame = at_fn(times, columns=("at_risk",))
            except TypeError:
                ar_frame = at_fn(times)
        rows: list[tuple[str, np.ndarray, str]] = []
        for i, level in enumerate(strata):
            part = table if level is None else table[table[by_col] == level]
            part = part.sort_values("time", kind="stable")
            at_risk_part = part  # full rows for the at-risk numbers
            if mc is not None and "at_risk" in part.columns:
                # each step of a curve with few people at risk shows one person's dropout: stop the
                # curve before the first time with fewer than min_cell at risk
                few = np.asarray(is_suppressed(part["at_risk"].to_numpy(float), mc), dtype=bool)
                if few.any():
                    cut = int(np.argmax(few))
                    stop = float(part["time"].iloc[cut])
                    part = part.iloc[:cut]
                    if len(part):  # S stays at its last shown value until the hidden step
                        tail = part.iloc[[-1]].assign(time=stop, events=0, censored=0)
                        part = pd.concat([part, tail], ignore_index=True)
            t = part["time"].to_numpy(float)
            s = part["retention"].to_numpy(float)
            lo = part["ci_low"].to_numpy(float) if "ci_low" in part else None
            hi = part["ci_high"].to_numpy(float) if "ci_high" in part else None
            if lo is not None:  # the CI is undefined (NaN) where S = 1, as in R: draw it as [1, 1]
                lo = np.where(np.isnan(lo) & (s >= 1), 1.0, lo)
                hi = np.where(np.isnan(hi) & (s >= 1), 1.0, hi)
            if len(t) == 0 or t[0] > 0 or s[0] < 1:  # start at S(0-) = 1
                t = np.r_[min(0.0, t[0]) if len(t) else 0.0, t]
                s = np.r_[1.0, s]
                if lo is not None:
                    lo, hi = np.r_[1.0, lo], np.r_[1.0, hi]
            st = _series_style(i)
            label = "All members" if level is None else str(level)
            line, = ax.step(t, s, where="post", color=st["color"], linestyle=st["linestyle"],
                            label=label, **kwargs)
            line.set_gid("km_curve")
            if ci and lo is not None:
                band = ax.fill_between(t, np.nan_to_num(lo, nan=np.nan), hi, step="post",
                                       color=st["color"], alpha=0.15, linewidth=0)
                band.set_gid("km_ci")
            if censor_marks and "censored" in part:
                cm = part[part["censored"].to_numpy(float) > 0]
                if len(cm):
                    mk, = ax.plot(cm["time"], cm["retention"], linestyle="none", marker="|",
                                  markersize=7, color=st["color"])
                    mk.set_gid("censor")
            if at_risk:
                if ar_frame is not None:
                    arp = ar_frame if (level is None or by_col not in ar_frame) else ar_frame[ar_frame[by_col] == level]
                    lookup = dict(zip(arp["time"].astype(float), arp["at_risk"].astype(float)))
                    fallback = _km_at_risk_from_table(at_risk_part, times)
                    counts = np.array([lookup.get(float(x), fb) for x, fb in zip(times, fallback)])
                else:
                    counts = _km_at_risk_from_table(at_risk_part, times)
                rows.append((label, counts, st["color"]))
        ax.set_ylim(0, 1.04)
        ax.set_xlim(0, max(tmax, float(times.max()) if len(times) else tmax) * 1.02 + 1e-9)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_xticks(times)
        ax.set_xticklabels([fmt_number(x, 0) for x in times])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        if by_col:
            ax.legend(title=plain_label(by_col).capitalize(), loc="lower left")
        if at_risk and rows:
            fig = ax.figure
            base = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
            ax.text(-0.07, 0, "Number at risk", transform=mtransforms.offset_copy(
                ax.transAxes, fig=fig, y=-44, units="points"), ha="right", va="top",
                fontweight="bold", fontsize=9.5, clip_on=False)
            for r, (label, counts, color) in enumerate(rows):
                yoff = -44 - 14 * (r + 1)
                tr = mtransforms.offset_copy(base, fig=fig, y=yoff, units="points")
                if len(rows) > 1:
                    ax.text(-0.07, 0, label, transform=mtransforms.offset_copy(
                        ax.transAxes, fig=fig, y=yoff, units="points"), ha="right", va="top",
                        color=color, fontsize=9, clip_on=False)
                for x, n in zip(times, counts):
                    txt = ax.text(x, 0, fmt_count(int(round(n)), mc, short=True), transform=tr,
                                  ha="center", va="top", fontsize=9, color=color, clip_on=False)
                    txt.set_gid("at_risk")
    return ax


# ---------------------------------------------------------------------------
# attendance heatmap
# ---------------------------------------------------------------------------
_ATT_CODES = {"not scheduled": 0, "absent": 1, "excused": 2, "attended": 3}
_ATT_COLOURS = ["#F4F4F4", OKABE_ITO["orange"], OKABE_ITO["sky_blue"], OKABE_ITO["blue"]]


def _attendance_codes(att: pd.DataFrame, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Members x sessions code matrix (see _ATT_CODES) and each row's first date, rows ordered."""
    code = np.where(att["attended"].astype(bool).to_numpy(), _ATT_CODES["attended"], _ATT_CODES["absent"])
    if "status" in att.columns:
        code = np.where(att["status"].astype("string").fillna("").to_numpy() == "excused",
                        _ATT_CODES["excused"], code)
    long = pd.DataFrame({"member_id": att["member_id"].astype(str).to_numpy(),
                         "session_date": att["session_date"].to_numpy(), "code": code})
    wide = long.pivot_table(index="member_id", columns="session_date", values="code", aggfunc="max")
    wide = wide.reindex(columns=dates)
    first = long.groupby("member_id")["session_date"].min().reindex(wide.index)
    order = np.lexsort((wide.index.to_numpy(), first.to_numpy()))
    return np.nan_to_num(wide.to_numpy(float)[order], nan=_ATT_CODES["not scheduled"]), first.to_numpy()[order]


def plot_attendance_heatmap(data: Any, group_id: str | None = None, ax: Any = None, *,
                            sessions: pd.DataFrame | None = None, audience: str | None = None,
                            min_cell: int | None = None, title: str | None = None,
                            figsize: tuple[float, float] | None = None) -> Any:
    """Members x sessions attendance for one group.

    Parameters
    ----------
    data
        A :class:`groupeval.Dataset` or the canonical attendance table
        (``member_id, group_id, session_date, attended`` [, ``status``]).
    group_id
        The group to draw; may be omitted when the data hold one group.
    sessions
        Canonical sessions table (``group_id, session_date`` [, ``cancelled``]);
        taken from the Dataset when ``data`` is one.  Without it the columns
        are the dates in the attendance table and no session is marked cancelled.
    audience, min_cell
        For funder/public outputs a group with fewer than ``min_cell`` members
        is not drawn (a note says so).

    Returns
    -------
    matplotlib.axes.Axes
        The matrix is ``ax.images[0]`` with codes 0 = not scheduled (before
        enrolment / after exit), 1 = absent, 2 = excused, 3 = attended.  Rows
        are members ordered by their first scheduled session, labelled by
        position only (never by member id).  Cancelled sessions are grey
        hatched columns (``Rectangle`` patches with gid ``"cancelled"``).
    """
    if hasattr(data, "attendance") and hasattr(data, "sessions"):
        att = data.attendance
        sessions = data.sessions if sessions is None else sessions
    elif isinstance(data, pd.DataFrame):
        att = data
    else:
        raise ConfigError(f"plot_attendance_heatmap needs a Dataset or an attendance DataFrame; "
                          f"got {type(data).__name__}.")
    _require(att, ["member_id", "group_id", "session_date", "attended"], "plot_attendance_heatmap")

    def group_list() -> str:
        groups = sorted(map(str, pd.unique(att["group_id"])))
        return ", ".join(groups[:10]) + (" ..." if len(groups) > 10 else "")

    if group_id is None:
        first = att["group_id"].iloc[0] if len(att) else None
        if first is None or not (att["group_id"] == first).all():
            raise ConfigError(f"plot_attendance_heatmap draws one group; pass group_id= (one of: {group_list()}).")
        group_id = first
    group_id = str(group_id)
    in_group = (att["group_id"] == group_id).to_numpy(dtype=bool, na_value=False)
    if not in_group.any():
        raise ConfigError(f"group_id {group_id!r} has no attendance rows; groups in the data: {group_list()}.")
    att = att[in_group]
    cancelled_dates = pd.DatetimeIndex([])
    if sessions is not None and len(sessions):
        ses = sessions[(sessions["group_id"] == group_id).to_numpy(dtype=bool, na_value=False)]
        dates = pd.DatetimeIndex(sorted(pd.unique(pd.concat([ses["session_date"], att["session_date"]]))))
        if "cancelled" in ses.columns:
            cancelled_dates = pd.DatetimeIndex(ses.loc[ses["cancelled"].fillna(False).astype(bool), "session_date"])
    else:
        dates = pd.DatetimeIndex(sorted(pd.unique(att["session_date"])))
    mc = _min_cell(audience, min_cell)
    n_members = att["member_id"].nunique()
    with style():
        if figsize is None:
            figsize = (min(14.0, 3.0 + 0.12 * len(dates)), min(10.0, 2.2 + 0.16 * n_members))
        ax = _new_ax(ax, figsize)
        if is_suppressed(n_members, mc):
            return _message_ax(ax, f"Attendance of group {group_id} not shown: "
                                   f"{fmt_count(n_members, mc)} members.")
        codes, _ = _attendance_codes(att, dates)
        cmap = ListedColormap(_ATT_COLOURS)
        ax.imshow(codes, aspect="auto", interpolation="nearest", cmap=cmap, vmin=-0.5, vmax=3.5)
        ax.grid(False)
        pos = np.flatnonzero(dates.isin(cancelled_dates))
        for x in pos:
            rect = matplotlib.patches.Rectangle((x - 0.5, -0.5), 1, codes.shape[0], facecolor="#BBBBBB",
                                                edgecolor="#666666", hatch="///", linewidth=0, alpha=0.9)
            rect.set_gid("cancelled")
            ax.add_patch(rect)
        step = max(1, int(np.ceil(len(dates) / 12)))
        xt = np.arange(0, len(dates), step)
        ax.set_xticks(xt)
        ax.set_xticklabels([d.strftime("%d %b %y") for d in dates[xt]], rotation=45, ha="right")
        ystep = max(1, int(np.ceil(codes.shape[0] / 15)))
        yt = np.arange(0, codes.shape[0], ystep)
        ax.set_yticks(yt)
        ax.set_yticklabels([str(i + 1) for i in yt])
        ax.set_ylabel("Member (ordered by first session)")
        ax.set_xlabel("Session")
        handles = [Patch(facecolor=_ATT_COLOURS[3], label="Attended"),
                   Patch(facecolor=_ATT_COLOURS[1], label="Absent")]
        if (codes == _ATT_CODES["excused"]).any():
            handles.append(Patch(facecolor=_ATT_COLOURS[2], label="Excused"))
        handles.append(Patch(facecolor=_ATT_COLOURS[0], edgecolor="#CCCCCC", label="Not enrolled"))
        if len(pos):
            handles.append(Patch(facecolor="#BBBBBB", hatch="///", edgecolor="#666666", label="Cancelled"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
        ax.set_title(title or f"Attendance, group {group_id}")
    return ax


# ---------------------------------------------------------------------------
# cohort heatmap
# ---------------------------------------------------------------------------
def plot_cohort_heatmap(table: Any, ax: Any = None, *, cohort: str | None = None, time: str | None = None,
                        value: str | None = None, n: str | None = None, audience: str | None = None,
                        min_cell: int | None = None, annotate: bool = True, title: str | None = None,
                        xlabel: str = "Weeks since enrolment", figsize: tuple[float, float] | None = None) -> Any:
    """Retention by enrolment cohort: cohorts (rows) x time since enrolment (columns).

    Parameters
    ----------
    table
        :func:`groupeval.cohort_table` output (tidy: one row per cohort x
        time with the retained share) or a wide table (index = cohorts,
        columns = times, values = shares).
    cohort, time, value, n
        Column names in a tidy table; found automatically when omitted
        (``cohort``/``enrolment_month``..., ``week``/``weeks``/``time``...,
        ``retention``/``retained_share``..., ``n``/``n_enrolled``...).
    audience, min_cell
        Cells whose cohort has fewer than ``min_cell`` members are blanked
        and the cohort label shows ``n <11``; with ``n_observed`` and
        ``retained`` columns (as :func:`groupeval.cohort_table` gives), a
        cell is also blanked when fewer than ``min_cell`` members were
        observed, retained or lost in it (share x n would give the count back).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.images[0]`` holds the shares (NaN = not yet observed or hidden).
    """
    df = _frame(table, ("table", "long", "data"), "plot_cohort_heatmap")
    mc = _min_cell(audience, min_cell)
    sizes = None
    if all(isinstance(c, (int, float, np.integer, np.floating)) for c in df.columns):
        wide = df.astype(float)
    else:
        cohort = _pick(df, ("cohort", "enrolment_month", "enrollment_month", "enrolled_month", "cohort_month"),
                       "plot_cohort_heatmap", cohort)
        time = _pick(df, ("week", "weeks", "weeks_since_enrolment", "time", "period"), "plot_cohort_heatmap", time)
        value = _pick(df, ("retention", "retained_share", "share_retained", "share", "retained"),
                      "plot_cohort_heatmap", value)
        wide = df.pivot_table(index=cohort, columns=time, values=value, aggfunc="first").astype(float)
        ncol = n if n is not None else next((c for c in ("n", "n_enrolled", "cohort_size", "members", "n_members")
                                            if c in df.columns), None)
        if ncol is not None:
            sizes = df.groupby(cohort, observed=True)[ncol].max().reindex(wide.index)
        if mc is not None and {"n_observed", "retained"} <= set(df.columns):
            # a share with its denominator gives back the retained and the lost counts: hide the
            # cell when either (or the denominator) is below min_cell
            obs = df["n_observed"].to_numpy(float)
            ret = df["retained"].to_numpy(float)
            bad = (np.asarray(is_suppressed(obs, mc), dtype=bool) | np.asarray(is_suppressed(ret, mc), dtype=bool)
                   | np.asarray(is_suppressed(obs - ret, mc), dtype=bool))
            cell_hidden = df.assign(_hide=bad).pivot_table(index=cohort, columns=time, values="_hide",
                                                           aggfunc="max").reindex_like(wide)
            wide = wide.mask(cell_hidden.fillna(False).astype(bool))
    values = wide.to_numpy(float)
    labels = [str(getattr(i, "strftime", None) and i.strftime("%b %Y") or i) for i in wide.index]
    if sizes is not None:
        hide = is_suppressed(sizes.to_numpy(float), mc)
        values = np.where(np.asarray(hide)[:, None], np.nan, values)
        labels = [f"{lab} ({_n_text(s, mc)})" for lab, s in zip(labels, sizes)]
    with style():
        if figsize is None:
            figsize = (min(13.0, 3.5 + 0.55 * values.shape[1]), min(10.0, 1.8 + 0.38 * values.shape[0]))
        ax = _new_ax(ax, figsize)
        cmap = matplotlib.colormaps["cividis"].with_extremes(bad="#FFFFFF")
        im = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=cmap, vmin=0, vmax=1,
                       interpolation="nearest")
        ax.grid(False)
        ax.set_xticks(np.arange(values.shape[1]))
        ax.set_xticklabels([fmt_number(c, 0) if isinstance(c, (int, float, np.integer, np.floating)) else str(c)
                            for c in wide.columns])
        ax.set_yticks(np.arange(values.shape[0]))
        ax.set_yticklabels(labels)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Enrolment cohort")
        if annotate and values.size <= 400:
            rows, cols = np.nonzero(~np.isnan(values))
            for r, c in zip(rows, cols):
                v = values[r, c]
                ax.text(c, r, f"{fmt_number(v * 100, 0)}", ha="center", va="center", fontsize=8,
                        color="white" if v < 0.55 else "black")
        cb = ax.figure.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
        cb.ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        cb.set_label("Still attending")
        ax.set_title(title or "Retention by enrolment cohort")
    return ax


# ---------------------------------------------------------------------------
# means over time
# ---------------------------------------------------------------------------
def plot_means_over_time(result: Any, ax: Any = None, *, by: str | None = None, time: str | None = None,
                         estimate: str | None = None, order: Sequence[str] | None = None,
                         audience: str | None = None, min_cell: int | None = None, ylabel: str | None = None,
                         title: str | None = None, figsize: tuple[float, float] = (7.0, 4.5)) -> Any:
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

    Returns
    -------
    matplotlib.axes.Axes
        One ``Line2D`` with gid ``"means"`` per line; error bars are the CIs.
    """
    df = _frame(result, ("means", "table"), "plot_means_over_time")
    time = _pick(df, ("timepoint", "time", "wave"), "plot_means_over_time",
                 time if time is not None else (getattr(result, "time", None)
                                                if getattr(result, "time", None) in df.columns else None))
    estimate = _pick(df, ("mean", "estimate", "predicted", "emmean", "score"), "plot_means_over_time", estimate)
    _require(df, ["ci_low", "ci_high"], "plot_means_over_time")
    if by is None:
        for cand in (getattr(result, "by", None), getattr(result, "group_by", None)):
            if isinstance(cand, str) and cand in df.columns:
                by = cand
                break
    by = _stratum_column(df, {time, estimate, "ci_low", "ci_high", "se", "n", "n_observed", "instrument", "dv",
                              "term"}, by)
    mc = _min_cell(audience, min_cell)
    tps = list(order) if order is not None else _levels(df[time].astype(df[time].dtype))
    xpos = {tp: i for i, tp in enumerate(tps)}
    with style():
        ax = _new_ax(ax, figsize)
        levels = _levels(df[by]) if by else [None]
        k = len(levels)
        for i, level in enumerate(levels):
            part = df if level is None else df[df[by] == level]
            part = part[part[time].isin(xpos)]
            ncol = next((c for c in ("n", "n_observed") if c in part.columns), None)
            if ncol is not None and mc is not None:
                part = part[~np.asarray(is_suppressed(part[ncol].to_numpy(float), mc), dtype=bool)]
            dodge = min(0.12, 0.5 / max(k - 1, 1))
            x = part[time].map(xpos).to_numpy(float) + (i - (k - 1) / 2) * dodge
            o = np.argsort(x)
            y = part[estimate].to_numpy(float)[o]
            lo = part["ci_low"].to_numpy(float)[o]
            hi = part["ci_high"].to_numpy(float)[o]
            st = _series_style(i)
            label = "All members" if level is None else str(level)
            line, = ax.plot(x[o], y, color=st["color"], linestyle=st["linestyle"], marker=st["marker"],
                            label=label)
            line.set_gid("means")
            eb = ax.errorbar(x[o], y, yerr=np.vstack([y - lo, hi - y]), fmt="none", ecolor=st["color"],
                             capsize=3, elinewidth=1.2)
            eb[2][0].set_gid("means_ci")
        ax.set_xticks(range(len(tps)))
        ax.set_xticklabels([plain_label(t).capitalize() for t in tps])
        ax.set_xlim(-0.4, len(tps) - 0.6)
        ax.set_ylabel(ylabel or "Mean score (95% CI)")
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
               "unchanged": _GREY, "no reliable change": _GREY, "deteriorated": OKABE_ITO["vermillion"],
               "harmed": OKABE_ITO["reddish_purple"]}
_RC_ORDER = ("recovered", "improved", "unchanged", "no reliable change", "deteriorated", "harmed")


def _attr(obj: Any, names: Sequence[str], default: Any = None) -> Any:
    for n in names:
        v = getattr(obj, n, None)
        if v is not None:
            return v
    return default


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
        higher_is_better = _attr(result, ("higher_is_better",))
        inst = getattr(result, "instrument", None)
        if higher_is_better is None and inst is not None and hasattr(inst, "higher_is_better"):
            higher_is_better = inst.higher_is_better
        if higher_is_better is None:
            direction = _attr(result, ("improved_direction", "direction"))
            if isinstance(direction, str):
                higher_is_better = direction.lower() in ("increase", "higher", "up", "+")
    if higher_is_better is None:
        raise ConfigError("plot_reliable_change needs the direction of improvement: pass higher_is_better= "
                          "(or a result whose instrument records it).")
    return float(threshold), (None if cutoff is None or pd.isna(cutoff) else float(cutoff)), bool(higher_is_better)


def _instrument_label(inst: Any) -> str | None:
    """Display name of an instrument object or registry name (``"phq9"`` -> ``"PHQ-9"``)."""
    if inst is None:
        return None
    if hasattr(inst, "label"):
        return str(inst.label)
    try:
        from ..base.instruments import get

        return str(get(str(inst)).label)
    except GroupevalError:  # unknown or user-defined name: show it as given
        return str(inst)


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
        Legend counts below ``min_cell`` show as ``<11``.
    label
        Axis label stem, e.g. the instrument's name (``"PHQ-9"``).

    Returns
    -------
    matplotlib.axes.Axes
        Lines (``Line2D``) with gids ``"identity"`` (y = x), ``"rc_band_upper"``
        and ``"rc_band_lower"`` (y = x ± threshold), ``"cutoff_h"`` and
        ``"cutoff_v"`` (the clinical cut-off on each axis); the points are a
        ``PathCollection`` per category with gid ``"rc_points"``.

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
    members = _frame(result, ("members", "table"), "plot_reliable_change")
    _require(members, ["pre", "post"], "plot_reliable_change")
    thr, cut, hib = _rc_params(result, higher_is_better, cutoff, sdiff, threshold)
    mc = _min_cell(audience, min_cell)
    m = members[["pre", "post"] + (["category"] if "category" in members.columns else [])].dropna(
        subset=["pre", "post"])
    label = label or _instrument_label(getattr(result, "instrument", None)) or "Score"
    with style():
        ax = _new_ax(ax, figsize)
        ax.grid(False)
        vals = np.r_[m["pre"].to_numpy(float), m["post"].to_numpy(float)]
        lo = float(np.nanmin(vals)) if len(vals) else 0.0
        hi = float(np.nanmax(vals)) if len(vals) else 1.0
        if cut is not None:
            lo, hi = min(lo, cut), max(hi, cut)
        pad = 0.05 * (hi - lo or 1.0)
        lo, hi = lo - pad, hi + pad
        xs = np.array([lo, hi])
        better = xs + thr if hib else xs - thr
        edge = hi if hib else lo
        ax.fill_between(xs, better, edge, color=OKABE_ITO["bluish_green"], alpha=0.07, linewidth=0,
                        label="_nolegend_").set_gid("improved_region")
        ident, = ax.plot(xs, xs, color="#444444", linewidth=1.2, label="No change")
        ident.set_gid("identity")
        up, = ax.plot(xs, xs + thr, color="#444444", linewidth=1.0, linestyle="--",
                      label=f"Reliable change (±{fmt_number(thr, 2)})")
        up.set_gid("rc_band_upper")
        dn, = ax.plot(xs, xs - thr, color="#444444", linewidth=1.0, linestyle="--", label="_nolegend_")
        dn.set_gid("rc_band_lower")
        if cut is not None:
            h = ax.axhline(cut, color=OKABE_ITO["vermillion"], linewidth=1.0, linestyle=":",
                           label=f"Clinical cut-off ({fmt_number(cut, 2)})")
            h.set_gid("cutoff_h")
            v = ax.axvline(cut, color=OKABE_ITO["vermillion"], linewidth=1.0, linestyle=":", label="_nolegend_")
            v.set_gid("cutoff_v")
        if is_suppressed(len(m), mc):
            ax.text(0.5, 0.5, f"Members not shown: {fmt_count(len(m), mc)}", transform=ax.transAxes,
                    ha="center", va="center", color=_GREY)
        elif "category" in m.columns:
            cats = [str(c) for c in _levels(m["category"].astype("string"))]
            cats = sorted(cats, key=lambda c: _RC_ORDER.index(c) if c in _RC_ORDER else len(_RC_ORDER))
            counts = m["category"].astype("string").value_counts()
            for j, c in enumerate(cats):
                part = m[m["category"].astype("string") == c]
                colour = _RC_COLOURS.get(c, PALETTE[j % len(PALETTE)])
                pc = ax.scatter(part["pre"], part["post"], s=22, alpha=0.75, color=colour,
                                marker=_MARKERS[j % len(_MARKERS)], edgecolors="white", linewidths=0.4,
                                label=f"{plain_label(c).capitalize()} ({fmt_count(int(counts[c]), mc, short=True)})")
                pc.set_gid("rc_points")
        else:
            pc = ax.scatter(m["pre"], m["post"], s=22, alpha=0.75, color=OKABE_ITO["blue"], edgecolors="white",
                            linewidths=0.4, label=f"Members ({fmt_count(len(m), mc, short=True)})")
            pc.set_gid("rc_points")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(f"{label} before")
        ax.set_ylabel(f"{label} after")
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
        ``n < min_cell`` are not drawn for funder/public outputs.
    null
        Position of the "no effect" reference line.

    Returns
    -------
    matplotlib.axes.Axes
        One point per shown row (``Line2D`` gid ``"forest_points"``, y = 0
        is the first row at the top) and its CI (``LineCollection`` gid
        ``"forest_ci"``).
    """
    df = _frame(table, ("summary", "table"), "plot_forest")
    _require(df, [estimate], "plot_forest")
    ci_low = ci_low or (f"{estimate}_ci_low" if f"{estimate}_ci_low" in df.columns else "ci_low")
    ci_high = ci_high or (f"{estimate}_ci_high" if f"{estimate}_ci_high" in df.columns else "ci_high")
    _require(df, [ci_low, ci_high], "plot_forest")
    label = label or _stratum_column(df, set(), None)
    mc = _min_cell(audience, min_cell)
    labels = [str(v) for v in df[label]] if label else [f"Row {i + 1}" for i in range(len(df))]
    hidden = np.zeros(len(df), dtype=bool)
    if n is not None and n in df.columns:
        ns = df[n].to_numpy(float)
        hidden = np.asarray(is_suppressed(ns, mc), dtype=bool).reshape(len(df))
        labels = [f"{lab} ({_n_text(v, mc)})" for lab, v in zip(labels, ns)]
    est = df[estimate].to_numpy(float)
    lo = df[ci_low].to_numpy(float)
    hi = df[ci_high].to_numpy(float)
    with style():
        ax = _new_ax(ax, figsize or (7.0, 1.2 + 0.45 * len(df)))
        ax.grid(True, axis="x")
        ax.grid(False, axis="y")
        y = np.arange(len(df), dtype=float)
        show = ~hidden
        ax.axvline(null, color="#444444", linewidth=1.0).set_gid("null_line")
        lc = ax.hlines(y[show], lo[show], hi[show], color=OKABE_ITO["blue"], linewidth=2)
        lc.set_gid("forest_ci")
        pts, = ax.plot(est[show], y[show], linestyle="none", marker="s", markersize=7, color=OKABE_ITO["blue"])
        pts.set_gid("forest_points")
        blend = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)
        for yy in y[hidden]:
            ax.text(0.5, yy, "not shown (small group)", transform=blend, ha="center", va="center",
                    fontsize=8.5, color=_GREY)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.set_ylim(len(df) - 0.5, -0.5)
        ax.set_xlabel(xlabel or f"{_EFFECT_LABELS.get(estimate, plain_label(estimate))} (95% CI)")
        if title:
            ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------
# dose-response
# ---------------------------------------------------------------------------
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
        (``Line2D`` gid ``"dose_fit"``), band (gid ``"dose_ci"``).
    """
    if isinstance(result, pd.DataFrame):
        pts, curve = result, None
    else:
        pts = next((getattr(result, a) for a in ("data", "members", "points")
                    if isinstance(getattr(result, a, None), pd.DataFrame)), None)
        curve = next((getattr(result, a) for a in ("curve", "predictions", "fitted", "prediction")
                      if isinstance(getattr(result, a, None), pd.DataFrame)), None)
        if pts is None and curve is None:
            raise ConfigError("plot_dose_response needs a DataFrame or a result with member-level `.data` "
                              "and/or a fitted `.curve`.")
    exposure = exposure or (getattr(result, "exposure", None) if not isinstance(result, pd.DataFrame) else None)
    exposure_name = exposure if isinstance(exposure, str) else None
    ref = pts if pts is not None else curve
    exposure = _pick(ref, ("sessions_attended", "attendance_rate", "exposure", "dose"), "plot_dose_response",
                     exposure if isinstance(exposure, str) and exposure in ref.columns else None)
    mc = _min_cell(audience, min_cell)
    with style():
        ax = _new_ax(ax, figsize)
        if pts is not None:
            outcome = _pick(pts, ("change", "score_change", "delta", "outcome", "post"), "plot_dose_response", outcome)
            p = pts[[exposure, outcome]].dropna()
            if not is_suppressed(len(p), mc):
                sc = ax.scatter(p[exposure], p[outcome], s=16, alpha=0.45, color=OKABE_ITO["sky_blue"],
                                edgecolors="none", label=f"Members ({fmt_count(len(p), mc, short=True)})")
                sc.set_gid("dose_points")
        if curve is not None:
            est = _pick(curve, ("estimate", "fit", "predicted", "mean", "change"), "plot_dose_response")
            xcol = exposure if exposure in curve.columns else _pick(
                curve, ("sessions_attended", "attendance_rate", "exposure", "dose"), "plot_dose_response")
            c = curve.sort_values(xcol)
            if {"ci_low", "ci_high"} <= set(c.columns):
                ax.fill_between(c[xcol], c["ci_low"], c["ci_high"], color=OKABE_ITO["blue"], alpha=0.18,
                                linewidth=0, label="95% CI").set_gid("dose_ci")
            fl, = ax.plot(c[xcol], c[est], color=OKABE_ITO["blue"], label="Fitted")
            fl.set_gid("dose_fit")
        ax.axhline(0, color="#444444", linewidth=0.8)
        ax.set_xlabel(xlabel or plain_label(exposure_name or exposure).capitalize())
        ax.set_ylabel(ylabel or ("Change in score (after − before)" if outcome in (None, "change")
                                 else plain_label(outcome).capitalize()))
        ax.legend(loc="best")
        if title:
            ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------
# participant flow
# ---------------------------------------------------------------------------
def _flow_losses(df: pd.DataFrame, stage: str, n: str) -> tuple[np.ndarray, list]:
    """(n_lost, reference position or None) per stage: from ``reference``/``n_lost`` or consecutive stages."""
    k = len(df)
    if "reference" in df.columns:
        pos = {v: i for i, v in enumerate(df[stage].astype(str))}
        ref = [pos.get(str(r)) if isinstance(r, str) else None for r in df["reference"]]
        if "n_lost" in df.columns:
            lost = df["n_lost"].to_numpy(float)
        else:
            counts = df[n].to_numpy(float)
            lost = np.array([counts[r] - counts[i] if r is not None else np.nan for i, r in enumerate(ref)])
    else:
        ref = [None] + list(range(k - 1))
        counts = df[n].to_numpy(float)
        lost = np.r_[np.nan, counts[:-1] - counts[1:]]
    lost = np.where([r is None for r in ref], np.nan, lost)
    return lost, ref


def plot_flow(flow: Any, ax: Any = None, *, stage: str | None = None, n: str | None = None,
              audience: str | None = None, min_cell: int | None = None, show_losses: bool = True,
              title: str | None = None, figsize: tuple[float, float] | None = None) -> Any:
    """Participant-flow diagram (CONSORT style): one box per stage, arrows between.

    Parameters
    ----------
    flow
        :func:`groupeval.participant_flow` output: stages in order with the
        number of people (``label``/``stage`` and ``n`` columns) and, when
        present, ``reference`` (the stage each is a subset of) and ``n_lost``
        (reference minus this stage).  Without ``reference`` each stage is a
        subset of the previous one.  Counts already suppressed upstream (NaN)
        print as "suppressed".
    show_losses
        A side box per stage with the number lost since its reference stage.
    audience, min_cell
        Counts below ``min_cell`` print as ``<11``; the stage counts and
        losses pass through :func:`groupeval.privacy.suppression_mask` with
        the relations ``n(reference) = n(stage) + n_lost(stage)``, so a hidden
        loss cannot be recovered by subtraction (complementary cells show
        "suppressed").

    Returns
    -------
    matplotlib.axes.Axes
        Stage boxes are ``FancyBboxPatch`` with gid ``"flow_box"``; their
        texts have gid ``"flow_text"``; arrows gid ``"flow_arrow"``; loss
        texts gid ``"flow_loss_text"``.
    """
    df = _frame(flow, ("table", "stages", "summary"), "plot_flow").reset_index(drop=True)
    stage_col = _pick(df, ("stage", "step", "label"), "plot_flow", stage)
    label_col = "label" if "label" in df.columns else stage_col
    n = _pick(df, ("n", "count", "members", "n_members"), "plot_flow", n)
    mc = _min_cell(audience, min_cell)
    labels = [plain_label(s) for s in df[label_col]]
    labels = [s[:1].upper() + s[1:] for s in labels]
    counts = df[n].to_numpy(float)
    lost, ref = _flow_losses(df, stage_col, n)
    hide_n = np.zeros(len(df), dtype=bool)
    hide_lost = np.zeros(len(df), dtype=bool)
    if mc is not None:
        from .privacy import suppression_mask

        tab = pd.DataFrame({"n": counts, "n_lost": np.nan_to_num(lost, nan=0.0)})
        rel = [([(i, "n"), (i, "n_lost")], (r, "n")) for i, r in enumerate(ref) if r is not None]
        mask = suppression_mask(tab, count_columns=["n", "n_lost"], min_cell=mc, relations=rel)
        hide_n = mask["n"].to_numpy(bool)
        hide_lost = mask["n_lost"].to_numpy(bool)

    def show(value: float, hidden: bool) -> str:
        if np.isnan(value):
            return "suppressed"
        if hidden:
            return f"<{mc}" if is_suppressed(value, mc) else "suppressed"
        return fmt_count(int(value))

    k = len(df)
    with style():
        ax = _new_ax(ax, figsize or (8.0, 1.0 + 1.05 * k))
        ax.set_axis_off()
        ax.set_xlim(0, 10)
        ax.set_ylim(k - 0.4, -0.6)
        w, h = 4.6, 0.62
        x0 = 0.4
        for i, (lab, c) in enumerate(zip(labels, counts)):
            box = FancyBboxPatch((x0, i - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                 facecolor="#EAF2F8", edgecolor=OKABE_ITO["blue"], linewidth=1.2)
            box.set_gid("flow_box")
            ax.add_patch(box)
            t = ax.text(x0 + w / 2, i, f"{lab}\nn = {show(c, hide_n[i])}", ha="center", va="center",
                        fontsize=9.5)
            t.set_gid("flow_text")
            if i > 0:
                arr = FancyArrowPatch((x0 + w / 2, i - 1 + h / 2), (x0 + w / 2, i - h / 2), arrowstyle="-|>",
                                      mutation_scale=12, color="#444444", linewidth=1.2)
                arr.set_gid("flow_arrow")
                ax.add_patch(arr)
            r = ref[i]
            if show_losses and r is not None and not np.isnan(lost[i]) and lost[i] > 0:
                side = FancyBboxPatch((x0 + w + 0.6, i - 0.5 - 0.2), 3.9, 0.4,
                                      boxstyle="round,pad=0.02,rounding_size=0.06", facecolor="#FFFFFF",
                                      edgecolor=_GREY, linewidth=1.0)
                side.set_gid("flow_loss_box")
                ax.add_patch(side)
                ax.annotate("", xy=(x0 + w + 0.6, i - 0.5), xytext=(x0 + w / 2, i - 0.5),
                            arrowprops={"arrowstyle": "-|>", "color": _GREY, "linewidth": 1.0})
                since = "" if r == i - 1 else f" (of {plain_label(df[stage_col].iloc[r])})"
                lt = ax.text(x0 + w + 0.6 + 1.95, i - 0.5, f"Not continuing{since}: {show(lost[i], hide_lost[i])}",
                             ha="center", va="center", fontsize=8.5, color="#333333")
                lt.set_gid("flow_loss_text")
        if title:
            ax.set_title(title)
    return ax
