"""The analyses behind the report notebooks, computed once and shared.

:class:`Evaluation` runs the library's public functions on a
:class:`~groupeval.Dataset` (scores, engagement, retention, participant
flow, change, reliable change, group comparisons, mixed models) and caches
them, so the evaluation report (notebook 02) and the funder summary
(notebook 03) quote the *same* numbers.  It also knows, for every report
table, which columns count people and which estimates rest on them, so
:class:`~groupeval.report.ReportTables` can suppress them for funder and
public audiences.
"""
from __future__ import annotations

import warnings
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..privacy import check_audience, needs_suppression

__all__ = ["Evaluation", "ALL_LABEL"]

#: Label of the overall row in tables by group type.
ALL_LABEL = "All members"

#: Estimate columns of :func:`groupeval.change` (all rest on its ``n``).
CHANGE_ESTIMATES = ("mean_pre", "mean_post", "sd_pre", "sd_post", "r_pre_post", "mean_change", "sd_change",
                    "se_change", "ci_low", "ci_high", "t", "df", "p_value", "wilcoxon_w", "wilcoxon_p", "d_z",
                    "d_z_ci_low", "d_z_ci_high", "d_av", "hedges_g_av")


def _is_all(t: pd.DataFrame, col: str = "group_type") -> pd.Series:
    return t[col].astype("string").eq(ALL_LABEL).fillna(False)


def row_relations(table: pd.DataFrame, parts: list[str], total: str) -> list:
    """``relations`` for :func:`groupeval.privacy.suppress`: in every row, ``sum(parts) == total``."""
    return [([(i, c) for c in parts], (i, total)) for i in range(len(table))]


class Evaluation:
    """Cached analyses of one programme for a report.

    Parameters
    ----------
    dataset
        A validated :class:`~groupeval.Dataset`.
    audience, min_cell
        Who reads the output (see :mod:`groupeval.privacy`).
    instruments
        Instrument names to analyse (default: ``dataset.meta["instruments"]``,
        else every registry instrument whose items are all in the responses).
    pre, post
        Timepoints compared (default: first and last of ``dataset.timepoints``).
    """

    def __init__(self, dataset: Any, *, audience: str = "program", min_cell: int = 11,
                 instruments: tuple[str, ...] | None = None, pre: str | None = None, post: str | None = None):
        self.dataset = dataset
        self.audience = check_audience(audience)
        self.min_cell = int(min_cell)
        self.suppressing = needs_suppression(audience)
        tps = tuple(dataset.timepoints) or tuple(pd.unique(dataset.responses["timepoint"].astype(str)))
        self.timepoints = tps
        self.pre = pre or (tps[0] if tps else None)
        self.post = post or (tps[-1] if tps else None)
        self._instruments = instruments

    # ------------------------------------------------------------------ inputs
    @cached_property
    def instruments(self) -> tuple[str, ...]:
        from .. import instruments as reg

        if self._instruments is not None:
            return tuple(self._instruments)
        cols = set(self.dataset.responses.columns)
        named = tuple(self.dataset.meta.get("instruments") or ())
        names = named or reg.available()
        return tuple(n for n in names if set(reg.get(n).items) <= cols)

    def instrument(self, name: str):
        from .. import instruments as reg

        return reg.get(name)

    def label(self, name: str) -> str:
        return self.instrument(name).label

    @cached_property
    def scores(self) -> dict[str, pd.DataFrame]:
        """``{instrument: groupeval.score(...)}`` with ``group_id`` and ``group_type``."""
        from ..scoring import score

        gt = self.dataset.groups[["group_id", "group_type"]]
        out = {}
        for name in self.instruments:  # a handful of instruments
            s = score(self.dataset.responses, name)
            if "group_id" not in s:
                s = s.merge(self.dataset.members[["member_id", "group_id"]].drop_duplicates("member_id"),
                            on="member_id", how="left")
            out[name] = s.merge(gt, on="group_id", how="left")
        return out

    # ------------------------------------------------------------------ engagement and retention
    @cached_property
    def engagement(self) -> pd.DataFrame:
        from ..engagement import attendance_summary

        e = attendance_summary(self.dataset)
        return e.merge(self.dataset.groups[["group_id", "group_type"]], on="group_id", how="left")

    @cached_property
    def attendance_table(self) -> pd.DataFrame:
        """Per group type and overall: members, attended at least once, sessions, attendance rate, status counts."""
        e = self.engagement
        attended = e["sessions_attended"].fillna(0) > 0

        def agg(df: pd.DataFrame) -> dict[str, Any]:
            att = df["sessions_attended"].fillna(0) > 0
            return {
                "groups": df["group_id"].nunique(),
                "members": len(df),
                "attended_once": int(att.sum()),
                "never_attended": int((~att).sum()),
                "dropped": int((df["status"] == "dropped").sum()),
                "completed": int((df["status"] == "completed").sum()),
                "active": int((df["status"] == "active").sum()),
                "mean_sessions_attended": float(df.loc[att, "sessions_attended"].mean()) if att.any() else np.nan,
                "mean_attendance_rate": float(df.loc[att, "attendance_rate"].mean()) if att.any() else np.nan,
            }

        rows = [{"group_type": k, **agg(g)} for k, g in e.groupby("group_type", observed=True, sort=True)]
        rows.append({"group_type": ALL_LABEL, **agg(e)})
        del attended
        return pd.DataFrame(rows)

    @staticmethod
    def attendance_spec(table: pd.DataFrame) -> dict[str, Any]:
        """Suppression spec of :attr:`attendance_table`: two partitions of ``members`` per row, column totals."""
        return dict(count_columns=["members", "attended_once", "never_attended", "dropped", "completed", "active"],
                    estimates={"mean_sessions_attended": "attended_once", "mean_attendance_rate": "attended_once"},
                    totals={"row": lambda t: _is_all(t)},
                    relations=row_relations(table, ["attended_once", "never_attended"], "members")
                    + row_relations(table, ["dropped", "completed", "active"], "members"))

    @cached_property
    def retention(self):
        from ..retention import retention

        return retention(self.dataset)

    @cached_property
    def retention_by_type(self):
        from ..retention import retention

        return retention(self.dataset, by="group_type")

    @cached_property
    def flow(self) -> pd.DataFrame:
        from ..retention import participant_flow

        return participant_flow(self.dataset)

    # ------------------------------------------------------------------ outcomes
    def change(self, name: str, *, by: str | None = "group_type", post: str | None = None) -> pd.DataFrame:
        """:func:`groupeval.change` of ``name`` from ``pre`` to ``post`` by group type plus an overall row."""
        from ..outcomes import change

        post = post or self.post
        s = self.scores[name]
        overall = change(s, self.pre, post, instrument=name)
        if by is None:
            return overall
        parts = change(s, self.pre, post, by=by, data=self.dataset, instrument=name)
        overall.insert(0, by, ALL_LABEL)
        return pd.concat([parts, overall], ignore_index=True)

    CHANGE_SPEC = dict(count_columns=["n", "n_pre_only", "n_post_only"], estimates={c: "n" for c in CHANGE_ESTIMATES},
                       totals={"row": lambda t: _is_all(t)})

    def reliable(self, name: str):
        from ..outcomes import reliable_change

        return reliable_change(self.scores[name], name, self.pre, self.post)

    def reliable_table(self, name: str) -> pd.DataFrame:
        """Reliable-change categories with a total row (the total is the number classified)."""
        summ = self.reliable(name).summary.copy()
        summ["category"] = summ["category"].astype(str)
        total = pd.DataFrame({"category": ["total"], "n": [int(summ["n"].sum())], "share": [1.0]})
        return pd.concat([summ, total], ignore_index=True)

    RELIABLE_SPEC = dict(count_columns=["n"], estimates={"share": "n", "share_ci_low": "n", "share_ci_high": "n"},
                         totals={"row": lambda t: t["category"].eq("total")})

    # ------------------------------------------------------------------ helpers for notebooks
    def quiet(self):
        """Context manager silencing groupeval's warnings in report cells (they are for analysts)."""
        cm = warnings.catch_warnings()

        class _Q:
            def __enter__(self_inner):
                cm.__enter__()
                warnings.simplefilter("ignore")

            def __exit__(self_inner, *exc):
                return cm.__exit__(*exc)

        return _Q()
