"""The report's figures, each drawn once (PNG) from what its finished table shows.

For funder and public audiences a figure never draws more than its table
shows: the Kaplan-Meier figure joins only the weeks whose retention the table
shows (no step of a small risk set, no at-risk numbers), the flow diagram
prints the plan's hidden counts as hidden, and forest and mean plots draw
only rows whose estimates are shown.  Every curve stops at the end of the
data window.
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .content import ReportTables
from .document import Figure, Table
from .evaluation import ALL_LABEL, MIN_AT_RISK, Evaluation

__all__ = ["Figures", "png_of"]


def png_of(draw: Callable[[Any], Any], *, dpi: int = 90, panels: int = 1, size: tuple[float, float] = (7.5, 4.6),
           ncols: int = 1) -> bytes:
    """Run ``draw(ax)`` (or ``draw(axes)`` for several panels) on a fresh figure and return the PNG bytes.

    No pyplot state; the constrained layout is computed in the one draw that writes the PNG.
    """
    from matplotlib.figure import Figure as MplFigure

    nrows = -(-panels // ncols)
    fig = MplFigure(figsize=(size[0], size[1] * nrows / (1 if ncols == 1 else 1)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[panels:]:
        ax.set_visible(False)
    with warnings.catch_warnings():  # layout warnings are for the analyst, not the reader
        warnings.simplefilter("ignore")
        draw(axes[0] if panels == 1 else list(axes[:panels]))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class Figures:
    """Draws (once each) the figures of one report."""

    def __init__(self, ev: Evaluation, rt: ReportTables):
        self.ev = ev
        self.rt = rt
        self.errors: dict[str, str] = {}
        self._cache: dict[str, Figure | None] = {}

    def _make(self, key: str, draw: Callable[[Any], Any], alt: str, caption: str = "", **layout: Any) -> Figure | None:
        if key not in self._cache:
            try:
                self._cache[key] = Figure(key, png_of(draw, **layout), alt, caption)
            except Exception as err:  # noqa: BLE001 - a figure that cannot be drawn is left out, never fatal
                self.errors[key] = f"{type(err).__name__}: {err}"
                self._cache[key] = None
        return self._cache[key]

    # ------------------------------------------------------------------ retention
    def _km_frame(self, table: Table, levels: list[str]) -> pd.DataFrame | None:
        """Kaplan-Meier steps to draw: inside the window, with enough at risk; funder: only the shown weeks."""
        ev = self.ev
        window = ev.window_weeks if np.isfinite(ev.window_weeks) else np.inf
        if self.rt.plan.active:
            rows = []
            for g in levels:
                r = table.frame[table.frame["group_type"] == g]
                if not len(r):
                    continue
                r = r.iloc[0]
                pts = [(0.0, 1.0, 1.0, 1.0)] + [
                    (t, r[f"retention_{t:g}w"], r[f"retention_{t:g}w_ci_low"], r[f"retention_{t:g}w_ci_high"])
                    for t in ev.retention_times if np.isfinite(r.get(f"retention_{t:g}w", np.nan))]
                if len(pts) < 2:
                    continue
                rows += [{"group_type": g, "time": t, "retention": s, "ci_low": lo, "ci_high": hi}
                         for t, s, lo, hi in pts]
            if not rows:
                return None
            out = pd.DataFrame(rows)
            return out if len(levels) > 1 else out.drop(columns="group_type")
        res = ev.retention_by_type if len(levels) > 1 else ev.retention
        if res is None:
            return None
        t = res.table.copy()
        t = t[(t["time"] <= window) & (t["at_risk"] >= MIN_AT_RISK)]
        if len(levels) > 1:
            t = t[t["group_type"].astype(str).isin(levels)]
            t["group_type"] = t["group_type"].astype(str)
        return t if len(t) else None

    def _km(self, key: str, table: Table | None, levels: list[str], title: str) -> Figure | None:
        if table is None:
            return None
        frame = self._km_frame(table, levels)
        if frame is None:
            return None
        times = [0.0, *[t for t in self.ev.retention_times]]
        funder = self.rt.plan.active

        def draw(ax: Any) -> None:
            from .. import plotting

            plotting.plot_retention(frame, ax=ax, by="group_type" if "group_type" in frame else None,
                                    at_risk=False, times=times, censor_marks=not funder, title=title)
            ax.set_xlim(0, max(times) * 1.02)

        alt = ("Line chart of the share of members still attending by week since they joined"
               + (", by group type" if len(levels) > 1 else "") + ".")
        note = (f"The curve stops where the number of members still being followed falls below {MIN_AT_RISK}, and at "
                "the end of the data window." if not funder else
                "Only the weeks shown in the retention table are joined up, so no small number can be read off.")
        return self._make(key, draw, alt, note)

    def retention_summary(self) -> Figure | None:
        return self._km("km_overall", self.rt.table("retention_by_group_type"), [ALL_LABEL],
                        "Members still attending, by weeks since joining")

    def retention(self, table: Table) -> Figure | None:
        if not self.ev.by_type:
            return None
        levels = [g for g in table.frame["group_type"].astype(str) if g != ALL_LABEL]
        if self.rt.plan.active:
            levels = [g for g in levels if any(np.isfinite(table.frame.loc[table.frame["group_type"] == g,
                                                                           f"retention_{t:g}w"]).all()
                                               for t in self.ev.retention_times
                                               if f"retention_{t:g}w" in table.frame)]
        if len(levels) < 2:
            return None
        return self._km("km_by_type", table, levels, "Members still attending, by group type")

    # ------------------------------------------------------------------ flow
    def flow(self, table: Table) -> Figure | None:
        f = table.frame.copy()

        def draw(ax: Any) -> None:
            from .. import plotting

            plotting.plot_flow(f[["stage", "label", "n", "reference", "n_lost"]], ax=ax, stage="label", n="n",
                               title="Who took part")

        return self._make("flow", draw, "Flow diagram: how many people enrolled, came, and answered each survey.")

    # ------------------------------------------------------------------ outcomes (one axes: one cheap draw)
    def forest_all(self) -> Figure | None:
        """Standardised change (d_z, 95% CI) of every questionnaire, all members, on one axis.

        One scale for every questionnaire (their points differ); the change tables give each in points.
        """
        rows = []
        for key in self.ev.outcomes:
            t = self.rt.table(f"change_{key}")
            if t is None:
                continue
            f = t.frame[t.frame["group_type"] == ALL_LABEL]
            if len(f) and all(np.isfinite(float(f[c].iloc[0])) for c in ("d_z", "d_z_ci_low", "d_z_ci_high")):
                rows.append({"outcome": self.ev.short_label(key), "d_z": float(f["d_z"].iloc[0]),
                             "ci_low": float(f["d_z_ci_low"].iloc[0]), "ci_high": float(f["d_z_ci_high"].iloc[0])})
        if not rows:
            return None
        shown = pd.DataFrame(rows)
        title = f"Change from {self.ev.tp_label(self.ev.pre)} to {self.ev.tp_label(self.ev.post)}, all members"

        def draw(ax: Any) -> None:
            from .. import plotting

            plotting.plot_forest(shown, ax=ax, estimate="d_z", ci_low="ci_low", ci_high="ci_high", label="outcome",
                                 n=None, xlabel="Standardised change, d_z (95% CI)", title=title)

        return self._make("forest", draw, "Standardised change in each questionnaire with 95% confidence intervals.",
                          "d_z: the mean change divided by the standard deviation of the changes; 0 is no change.",
                          size=(7.5, 1.2 + 0.38 * len(rows)))
