"""Heatmaps: attendance of one group (members x sessions) and retention by enrolment cohort.

Member ids never appear: rows of the attendance heatmap are positions
(1, 2, ...) ordered by the first scheduled session.
"""
from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from ...base.exceptions import ConfigError
from ..formatting import fmt_number, is_suppressed
from ._style import OKABE_ITO, frame_of, message_panel, min_cell_of, new_ax, pick, require, style, with_n

__all__ = ["plot_attendance_heatmap", "plot_cohort_heatmap"]

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


def _group_attendance(att: pd.DataFrame, sessions: pd.DataFrame | None, group_id: Any
                      ) -> tuple[str, pd.DataFrame, pd.DatetimeIndex, pd.DatetimeIndex]:
    """(group id, its attendance rows, session dates, cancelled dates)."""
    def group_list() -> str:
        groups = sorted(map(str, pd.unique(att["group_id"])))
        return ", ".join(groups[:10]) + (" ..." if len(groups) > 10 else "")

    if group_id is None:
        first = att["group_id"].iloc[0]
        if not (att["group_id"] == first).all():
            raise ConfigError(f"plot_attendance_heatmap draws one group; pass group_id= (one of: {group_list()}).")
        group_id = first
    group_id = str(group_id)
    in_group = (att["group_id"] == group_id).to_numpy(dtype=bool, na_value=False)
    if not in_group.any():
        raise ConfigError(f"group_id {group_id!r} has no attendance rows; groups in the data: {group_list()}.")
    att = att[in_group]
    cancelled = pd.DatetimeIndex([])
    if sessions is not None and len(sessions):
        ses = sessions[(sessions["group_id"] == group_id).to_numpy(dtype=bool, na_value=False)]
        dates = pd.DatetimeIndex(sorted(pd.unique(pd.concat([ses["session_date"], att["session_date"]]))))
        if "cancelled" in ses.columns:
            cancelled = pd.DatetimeIndex(ses.loc[ses["cancelled"].fillna(False).astype(bool), "session_date"])
    else:
        dates = pd.DatetimeIndex(sorted(pd.unique(att["session_date"])))
    return group_id, att, dates, cancelled


def _attendance_legend(ax: Any, codes: np.ndarray, any_cancelled: bool) -> None:
    handles = [Patch(facecolor=_ATT_COLOURS[3], label="Attended"), Patch(facecolor=_ATT_COLOURS[1], label="Absent")]
    if (codes == _ATT_CODES["excused"]).any():
        handles.append(Patch(facecolor=_ATT_COLOURS[2], label="Excused"))
    handles.append(Patch(facecolor=_ATT_COLOURS[0], edgecolor="#CCCCCC", label="Not enrolled"))
    if any_cancelled:
        handles.append(Patch(facecolor="#BBBBBB", hatch="///", edgecolor="#666666", label="Cancelled"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)


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
        is not drawn (a message says so, without the count).

    Returns
    -------
    matplotlib.axes.Axes
        The matrix is ``ax.images[0]`` with codes 0 = not scheduled (before
        enrolment / after exit), 1 = absent, 2 = excused, 3 = attended.  Rows
        are members ordered by their first scheduled session, labelled by
        position only (never by member id).  Cancelled sessions are grey
        hatched columns (``Rectangle`` patches with gid ``"cancelled"``).
        Without attendance rows: a message panel.
    """
    if hasattr(data, "attendance") and hasattr(data, "sessions"):
        att = data.attendance
        sessions = data.sessions if sessions is None else sessions
    elif isinstance(data, pd.DataFrame):
        att = data
    else:
        raise ConfigError(f"plot_attendance_heatmap needs a Dataset or an attendance DataFrame; "
                          f"got {type(data).__name__}.")
    require(att, ["member_id", "group_id", "session_date", "attended"], "plot_attendance_heatmap")
    if not len(att):
        return message_panel(ax, "No attendance has been recorded yet.", title=title or "Attendance")
    group_id, att, dates, cancelled = _group_attendance(att, sessions, group_id)
    mc = min_cell_of(audience, min_cell)
    n_members = att["member_id"].nunique()
    title = f"Attendance, group {group_id}" if title is None else title
    if is_suppressed(n_members, mc):
        return message_panel(ax, f"Group {group_id} is too small to show without identifying people.",
                             title=title)
    with style():
        if figsize is None:
            figsize = (min(14.0, 3.0 + 0.12 * len(dates)), min(10.0, 2.2 + 0.16 * n_members))
        ax = new_ax(ax, figsize)
        codes, _ = _attendance_codes(att, dates)
        ax.imshow(codes, aspect="auto", interpolation="nearest", cmap=ListedColormap(_ATT_COLOURS), vmin=-0.5,
                  vmax=3.5)
        ax.grid(False)
        pos = np.flatnonzero(dates.isin(cancelled))
        for x in pos:  # a few cancelled sessions
            rect = matplotlib.patches.Rectangle((x - 0.5, -0.5), 1, codes.shape[0], facecolor="#BBBBBB",
                                                edgecolor="#666666", hatch="///", linewidth=0, alpha=0.9)
            rect.set_gid("cancelled")
            ax.add_patch(rect)
        xt = np.arange(0, len(dates), max(1, int(np.ceil(len(dates) / 12))))
        ax.set_xticks(xt)
        ax.set_xticklabels([d.strftime("%d %b %y") for d in dates[xt]], rotation=45, ha="right")
        yt = np.arange(0, codes.shape[0], max(1, int(np.ceil(codes.shape[0] / 15))))
        ax.set_yticks(yt)
        ax.set_yticklabels([str(i + 1) for i in yt])
        ax.set_ylabel("Member (ordered by first session)")
        ax.set_xlabel("Session")
        _attendance_legend(ax, codes, bool(len(pos)))
        if title:
            ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------
# cohort heatmap
# ---------------------------------------------------------------------------
def _cohort_wide(df: pd.DataFrame, cohort: str | None, time: str | None, value: str | None, n: str | None,
                 mc: int | None) -> tuple[pd.DataFrame, pd.Series | None]:
    """(cohort x time shares with hidden cells NaN, cohort sizes or None) from a tidy or wide table."""
    if all(isinstance(c, (int, float, np.integer, np.floating)) for c in df.columns):
        return df.astype(float), None
    cohort = pick(df, ("cohort", "enrolment_month", "enrollment_month", "enrolled_month", "cohort_month"),
                  "plot_cohort_heatmap", cohort)
    time = pick(df, ("week", "weeks", "weeks_since_enrolment", "time", "period"), "plot_cohort_heatmap", time)
    value = pick(df, ("retention", "retained_share", "share_retained", "share", "retained"), "plot_cohort_heatmap",
                 value)
    wide = df.pivot_table(index=cohort, columns=time, values=value, aggfunc="first").astype(float)
    ncol = n if n is not None else next((c for c in ("n", "n_enrolled", "cohort_size", "members", "n_members")
                                        if c in df.columns), None)
    sizes = df.groupby(cohort, observed=True)[ncol].max().reindex(wide.index) if ncol is not None else None
    if mc is not None and {"n_observed", "retained"} <= set(df.columns):
        # a share with its denominator gives back the retained and the lost counts: hide the cell when
        # either (or the denominator) is below min_cell
        obs = df["n_observed"].to_numpy(float)
        ret = df["retained"].to_numpy(float)
        bad = (np.asarray(is_suppressed(obs, mc), dtype=bool) | np.asarray(is_suppressed(ret, mc), dtype=bool)
               | np.asarray(is_suppressed(obs - ret, mc), dtype=bool))
        hidden = df.assign(_hide=bad).pivot_table(index=cohort, columns=time, values="_hide",
                                                  aggfunc="max").reindex_like(wide)
        wide = wide.mask(hidden.fillna(False).astype(bool))
    return wide, sizes


def plot_cohort_heatmap(table: Any, ax: Any = None, *, cohort: str | None = None, time: str | None = None,
                        value: str | None = None, n: str | None = None, audience: str | None = None,
                        min_cell: int | None = None, annotate: bool = True, title: str | None = None,
                        xlabel: str = "Weeks since joining", figsize: tuple[float, float] | None = None) -> Any:
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
        and the cohort label shows no count; with ``n_observed`` and
        ``retained`` columns (as :func:`groupeval.cohort_table` gives), a
        cell is also blanked when fewer than ``min_cell`` members were
        observed, retained or lost in it (share x n would give the count back).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.images[0]`` holds the shares (NaN = not yet observed or hidden).
        An empty table gives a message panel.
    """
    df = frame_of(table, ("table", "long", "data"), "plot_cohort_heatmap")
    title = "Members still attending, by month they joined" if title is None else title
    if not len(df):
        return message_panel(ax, "No enrolment cohorts to show yet.", title=title)
    mc = min_cell_of(audience, min_cell)
    wide, sizes = _cohort_wide(df, cohort, time, value, n, mc)
    values = wide.to_numpy(float)
    labels = [str(getattr(i, "strftime", None) and i.strftime("%b %Y") or i) for i in wide.index]
    if sizes is not None:
        hide = np.asarray(is_suppressed(sizes.to_numpy(float), mc), dtype=bool).reshape(len(sizes))
        values = np.where(hide[:, None], np.nan, values)
        labels = [with_n(lab, s, mc) for lab, s in zip(labels, sizes)]
    if not values.size:
        return message_panel(ax, "No enrolment cohorts to show yet.", title=title)
    with style():
        if figsize is None:
            figsize = (min(13.0, 3.5 + 0.55 * values.shape[1]), min(10.0, 1.8 + 0.38 * values.shape[0]))
        ax = new_ax(ax, figsize)
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
        ax.set_ylabel("Month joined")
        if annotate and values.size <= 400:
            rows, cols = np.nonzero(~np.isnan(values))
            for r, c in zip(rows, cols):  # at most 400 cells
                v = values[r, c]
                ax.text(c, r, f"{fmt_number(v * 100, 0)}", ha="center", va="center", fontsize=8,
                        color="white" if v < 0.55 else "black")
        cb = ax.figure.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
        cb.ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        cb.set_label("Still attending")
        if title:
            ax.set_title(title)
    return ax
