"""The report's tables, with every count registered in one suppression plan.

:class:`ReportTables` turns an :class:`~.evaluation.Evaluation` into table
drafts.  While drafting, every count of people a table, a figure or a
sentence shows is registered in the report's :class:`~.plan.SuppressionPlan`
under a key that names what it counts, and every relation a reader could
form between them (row and column totals, enrolments and people, the same
people in two tables, cumulative dropouts at successive weeks) is
registered too.  :meth:`ReportTables.decide` decides the plan once; then
:meth:`ReportTables.table` gives each finished table, with hidden cells
empty and the reason for each.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .document import Column, Table
from .evaluation import ALL_LABEL, MIN_AT_RISK, Evaluation
from .plan import Hidden, SuppressionPlan

__all__ = ["ReportTables", "Draft", "RC_LABELS", "STATUSES"]

STATUSES = ("dropped", "completed", "active")
#: Plain names of the reliable-change categories (``harmed`` is never shown to readers).
RC_LABELS = {"recovered": "recovered", "improved": "improved", "unchanged": "showed no reliable change",
             "deteriorated": "got worse", "harmed": "got worse, into the clinical range"}


def survey_phrase(label: str) -> str:
    """``the baseline survey`` / ``the survey at 26 weeks`` (a timepoint label as people write it)."""
    return f"the survey at {label}" if any(ch.isdigit() for ch in label) else f"the {label} survey"

Key = Hashable
Dep = tuple[tuple[Key, ...], tuple[Key, ...]]


@dataclass
class Draft:
    """A table before the plan is decided: values plus, per cell, the counts it shows or rests on."""

    key: str
    title: str
    columns: list[Column]
    frame: pd.DataFrame
    note: str = ""
    counts: dict[str, list[Key | None]] = field(default_factory=dict)
    estimates: dict[str, list[Dep | None]] = field(default_factory=dict)
    na: dict[str, list[str]] = field(default_factory=dict)

    def finish(self, plan: SuppressionPlan) -> Table:
        frame = self.frame.reset_index(drop=True).copy()
        hidden: dict[str, list[Hidden | None]] = {}
        for col, keys in self.counts.items():
            hidden[col] = [plan.hidden(k) if k is not None else None for k in keys]
        for col, deps in self.estimates.items():
            hidden[col] = [plan.estimate_reason(*d) if d is not None else None for d in deps]
        for col, flags in hidden.items():
            mask = np.array([h is not None for h in flags], bool)
            if mask.any():
                frame[col] = frame[col].astype(float).mask(mask)
        return Table(key=self.key, title=self.title, columns=self.columns, frame=frame, hidden=hidden,
                     note=self.note, count_keys=dict(self.counts), na=dict(self.na))


def _rows_of(t: pd.DataFrame) -> list[str]:
    return t["group_type"].astype(str).tolist()


class ReportTables:
    """Drafts every table of the report from an :class:`Evaluation`, registering counts in ``plan``."""

    def __init__(self, ev: Evaluation, plan: SuppressionPlan):
        self.ev = ev
        self.plan = plan
        self.drafts: dict[str, Draft] = {}
        self.tables: dict[str, Table] = {}

    # ------------------------------------------------------------------ helpers
    def count(self, key: Key, value: Any, *, exposed: bool = True) -> Key:
        return self.plan.count(key, float(value) if value is not None and not pd.isna(value) else np.nan,
                               exposed=exposed)

    def link(self, a: Key, b: Key, name: Key) -> None:
        """``a - b = name``: the difference of two counts of the same people, registered (not printed)."""
        if a in self.plan and b in self.plan:
            va, vb = self.plan.value(a), self.plan.value(b)
            if np.isfinite(va) and np.isfinite(vb):
                self.count(name, va - vb, exposed=False)
                self.plan.relation({a: 1, b: -1, name: -1})

    def column_totals(self, keys_by_row: Sequence[Key | None], labels: Sequence[str]) -> None:
        """The "All members" row of a column is the sum of the group-type rows (when it is)."""
        parts = [k for k, lab in zip(keys_by_row, labels) if lab != ALL_LABEL and k is not None]
        total = [k for k, lab in zip(keys_by_row, labels) if lab == ALL_LABEL and k is not None]
        if parts and total:
            vals = [self.plan.value(k) for k in parts]
            if np.isclose(np.nansum(vals), self.plan.value(total[0])):
                self.plan.total(parts, total[0])

    def add(self, draft: Draft) -> Draft:
        self.drafts[draft.key] = draft
        return draft

    def decide(self) -> None:
        self.plan.decide()
        self.tables = {k: d.finish(self.plan) for k, d in self.drafts.items()}

    def table(self, key: str) -> Table | None:
        return self.tables.get(key)

    # ------------------------------------------------------------------ everything
    def draft_all(self) -> ReportTables:
        self.flow()
        self.attendance()
        self.retention()
        self.links()
        for key in self.ev.outcomes:
            self.change(key)
            self.reliable(key)
            self.compare(key)
            self.means(key)
        self.quality()
        return self

    # ------------------------------------------------------------------ participant flow
    def flow(self) -> None:
        f = self.ev.flow
        if f is None or not len(f):
            return
        f = f.copy()
        labels = {"enrolled": "Enrolled", "attended": "Came to at least one session", "analysed":
                  f"Analysed: answered at {self.ev.tp_label(self.ev.pre)} and {self.ev.tp_label(self.ev.post)}"}
        f["label"] = [labels.get(s) or f"Answered {survey_phrase(self.ev.tp_label(s))}" for s in f["stage"]]
        people = [self.count(("people", s), v) for s, v in zip(f["stage"], f["n"])]
        lost = [self.count(("lost", s), v) if isinstance(r, str) else None
                for s, v, r in zip(f["stage"], f["n_lost"], f["reference"])]
        for s, r in zip(f["stage"], f["reference"]):
            if isinstance(r, str):
                self.plan.total([("people", s), ("lost", s)], ("people", r))
        if "analysed" in set(f["stage"]):  # the analysed set is the last follow-up's set: the same people
            last = f["stage"].tolist()[-2]
            if self.plan.value(("people", last)) == self.plan.value(("people", "analysed")):
                self.plan.total([("people", last)], ("people", "analysed"))
        share: list[Dep | None] = [((("people", s),), (("people", s), ("people", "enrolled"))) for s in f["stage"]]
        cols = [Column("label", "Stage", "text"), Column("n", "People", "count"),
                Column("n_lost", "Not continuing from the stage before", "count"),
                Column("share_of_enrolled", "Share of those enrolled", "percent", 0),
                Column("stage", "stage", "text", display=False), Column("reference", "reference", "text",
                                                                       display=False)]
        self.add(Draft("participant_flow", "Who took part", cols,
                       f[["label", "n", "n_lost", "share_of_enrolled", "stage", "reference"]],
                       counts={"n": people, "n_lost": lost}, estimates={"share_of_enrolled": share}))

    # ------------------------------------------------------------------ attendance
    def attendance(self) -> None:
        e = self.ev.engagement
        if e is None or not len(e):
            return
        att = e["sessions_attended"].fillna(0) > 0
        parts = [(t, e[e["group_type"].astype(str) == t], att[e["group_type"].astype(str) == t])
                 for t in self.ev.types] if self.ev.by_type else []
        rows = []
        for label, d, a in [*parts, (ALL_LABEL, e, att)]:
            st = d["status"].astype(str)
            rows.append({"group_type": label, "groups": d["group_id"].nunique(), "members": len(d),
                         "attended_once": int(a.sum()), "never_attended": int((~a).sum()),
                         **{s: int((st == s).sum()) for s in STATUSES},
                         "other_status": int((~st.isin(STATUSES)).sum()),
                         "mean_sessions_attended": float(d.loc[a, "sessions_attended"].mean()) if a.any() else np.nan,
                         "mean_attendance_rate": float(d.loc[a, "attendance_rate"].mean()) if a.any() else np.nan})
        t = pd.DataFrame(rows)
        labels = _rows_of(t)
        keys = {c: [self.count((c, g), v, exposed=(c != "other_status")) for g, v in zip(labels, t[c])]
                for c in ("members", "attended_once", "never_attended", *STATUSES, "other_status")}
        for g in labels:
            self.plan.total([("attended_once", g), ("never_attended", g)], ("members", g))
            self.plan.total([(s, g) for s in (*STATUSES, "other_status")], ("members", g))
        for ks in keys.values():
            self.column_totals(ks, labels)
        rest: list[Dep | None] = [((("attended_once", g),), ()) for g in labels]
        cols = [Column("group_type", "Group type", "text"), Column("groups", "Groups", "int"),
                Column("members", "Enrolments", "count"), Column("attended_once", "Came at least once", "count"),
                Column("never_attended", "Never came", "count"), Column("dropped", "Stopped coming", "count"),
                Column("completed", "Completed", "count"), Column("active", "Still attending", "count"),
                Column("mean_sessions_attended", "Sessions attended (mean)", "number", 1),
                Column("mean_attendance_rate", "Share of sessions attended (mean)", "percent", 0)]
        self.add(Draft("attendance_by_group_type", "Attendance by group type", cols, t,
                       note="Means are among members who came at least once. Stopped coming: missed 3 scheduled "
                            "sessions in a row or left early; still attending: at the end of the data.",
                       counts={c: keys[c] for c in ("members", "attended_once", "never_attended", *STATUSES)},
                       estimates={"mean_sessions_attended": rest, "mean_attendance_rate": rest}))

    # ------------------------------------------------------------------ retention
    def retention_frame(self) -> pd.DataFrame | None:
        """Retention by group type plus the overall row, with at-risk numbers and cumulative dropouts."""
        parts = []
        for res, by in ((self.ev.retention_by_type, "group_type"), (self.ev.retention, None)):
            if res is None:
                continue
            summ = res.summary.copy()
            if by is None:
                summ.insert(0, "group_type", ALL_LABEL)
            summ["group_type"] = summ["group_type"].astype(str)
            mem = res.members
            for t in self.ev.retention_times:
                at = res.at([t], columns=("at_risk",))
                if by is not None:
                    at = at.set_index(by)["at_risk"].reindex(summ["group_type"]).to_numpy()
                else:
                    at = at["at_risk"].to_numpy()
                summ[f"at_risk_{t:g}w"] = np.asarray(at, float)
                ev_by = mem[mem["event"].astype(bool) & (mem["time_weeks"] <= t)]
                cnt = ev_by.groupby(by).size() if by is not None else pd.Series({ALL_LABEL: len(ev_by)})
                summ[f"events_by_{t:g}w"] = cnt.reindex(summ["group_type"] if by else [ALL_LABEL]).fillna(0).to_numpy()
            summ["at_risk_median"] = [self._at_risk_at(res, by, g, m) for g, m in
                                      zip(summ["group_type"], summ["median_weeks"])]
            parts.append(summ)
        return pd.concat(parts, ignore_index=True) if parts else None

    @staticmethod
    def _at_risk_at(res: Any, by: str | None, level: str, t: float) -> float:
        if not np.isfinite(t):
            return np.nan
        a = res.at([float(t)], columns=("at_risk",))
        if by is not None:
            a = a[a[by].astype(str) == level]
        return float(a["at_risk"].iloc[0]) if len(a) else np.nan

    def retention(self) -> None:
        t = self.retention_frame()
        if t is None or not len(t):
            return
        labels = _rows_of(t)
        keys = {c: [self.count((f"km_{c}", g), v) for g, v in zip(labels, t[c])] for c in ("n", "events", "censored")}
        for g in labels:
            self.plan.total([("km_events", g), ("km_censored", g)], ("km_n", g))
        for ks in keys.values():
            self.column_totals(ks, labels)
        times = self.ev.retention_times
        estimates: dict[str, list[Dep | None]] = {}
        for i, g in enumerate(labels):  # cumulative dropouts at successive weeks: a small difference is a small count
            prev: Key | None = None
            for tt in times:
                e = t.loc[i, f"events_by_{tt:g}w"]
                s_t, n_i = t.loc[i, f"retention_{tt:g}w"], t.loc[i, "n"]
                # S(t) x n gives the dropouts by t when nobody entered late or was censored before t: exposed then
                exposed = bool(np.isfinite(s_t) and abs(n_i * (1 - s_t) - e) < 0.5)
                k = self.count(("km_events_by", g, tt), e, exposed=exposed)
                if prev is not None:
                    self.link(k, prev, ("km_events_between", g, tt))
                prev = k
            if prev is not None:
                self.link(("km_events", g), prev, ("km_events_after", g))
        cols = [Column("group_type", "Group type", "text"), Column("n", "Members who came", "count"),
                Column("events", "Stopped coming", "count"), Column("censored", "Did not stop (completed, still "
                                                                           "attending)", "count"),
                Column("median_weeks", "Weeks until half had stopped", "weeks", 0)]
        na: dict[str, list[str]] = {}
        few = f"—, fewer than {MIN_AT_RISK} still followed"
        shown_times = set(times[-2:])
        for tt in times:
            est = f"retention_{tt:g}w"
            if est not in t:
                continue
            ar = t[f"at_risk_{tt:g}w"].to_numpy(float)
            # nothing on fewer than the documented number at risk (any audience): undefined, with its reason
            t.loc[~(ar >= MIN_AT_RISK), [est, est + "_ci_low", est + "_ci_high"]] = np.nan
            for c in (est, est + "_ci_low", est + "_ci_high"):
                na[c] = [few if not a >= MIN_AT_RISK else "not estimable" for a in ar]
            for g, a in zip(labels, ar):
                self.count(("km_at_risk", g, tt), a, exposed=False)
            deps: list[Dep | None] = [((("km_at_risk", g, tt),), (("km_events_by", g, tt), ("km_n", g)))
                                      for g in labels]
            for c in (est, est + "_ci_low", est + "_ci_high"):
                estimates[c] = deps
            disp = tt in shown_times
            cols += [Column(est, f"Still attending at {tt:g} weeks", "percent", 0, display=disp),
                     Column(est + "_ci_low", "95% CI from", "percent", 0, display=disp),
                     Column(est + "_ci_high", "95% CI to", "percent", 0, display=disp)]
        armed = t["at_risk_median"].to_numpy(float)
        na["median_weeks"] = ["not reached" if not np.isfinite(m) else few
                              for m in t["median_weeks"].to_numpy(float)]
        for c in ("median_weeks", "median_ci_low", "median_ci_high"):
            t.loc[~(armed >= MIN_AT_RISK), c] = np.nan
        for g, a in zip(labels, armed):
            self.count(("km_at_risk_median", g), a, exposed=False)
        for c in ("median_weeks", "median_ci_low", "median_ci_high"):
            estimates[c] = [((("km_at_risk_median", g),), (("km_n", g),)) for g in labels]
        cols += [Column(c, c, "number", display=False) for c in t.columns
                 if c.startswith(("at_risk_", "events_by_")) or c in ("late_entries", "median_ci_low",
                                                                       "median_ci_high")]
        for column in cols:
            if column.name.startswith(("at_risk_", "events_by_")) or column.name == "late_entries":
                column.export = not self.plan.active
        self.add(Draft("retention_by_group_type", "Retention by group type (Kaplan–Meier)", cols, t,
                       note=f"Shares still attending are Kaplan–Meier estimates with 95% confidence intervals, "
                            "shown only while the number of members still being followed was at least "
                            f"{MIN_AT_RISK} (the CSV and XLSX tables also have weeks "
                            f"{', '.join(f'{x:g}' for x in times)}).",
                       counts=keys, estimates=estimates, na=na))

    def links(self) -> None:
        """The same people counted in two tables (or enrolments and people): their differences."""
        labels = [*self.ev.types, ALL_LABEL] if self.ev.by_type else [ALL_LABEL]
        for g in labels:
            self.link(("attended_once", g), ("km_n", g), ("not_in_curve", g))
            self.link(("dropped", g), ("km_events", g), ("dropped_not_event", g))
        self.link(("members", ALL_LABEL), ("people", "enrolled"), ("repeat_enrolments",))
        self.link(("attended_once", ALL_LABEL), ("people", "attended"), ("repeat_attenders",))
        self.link(("km_n", ALL_LABEL), ("people", "attended"), ("repeat_in_curve",))

    # ------------------------------------------------------------------ outcomes
    def change(self, key: str) -> None:
        ch = self.ev.change(key)
        if ch is None:
            return
        t = ch.copy().reset_index(drop=True)
        labels = _rows_of(t)
        n = [self.count(("paired", key, g), v) for g, v in zip(labels, t["n"])]
        self.column_totals(n, labels)
        if "n_pre_only" in t:
            for g, a, b in zip(labels, t["n_pre_only"], t.get("n_post_only", t["n_pre_only"] * 0)):
                self.count(("pre_only", key, g), a, exposed=not self.plan.active)
                self.count(("post_only", key, g), b, exposed=not self.plan.active)
        ci_low, ci_high = "ci_low", "ci_high"
        if "ci_low_cluster" in t and t["ci_low_cluster"].notna().any():
            ci_low, ci_high = "ci_low_cluster", "ci_high_cluster"
        deps: list[Dep | None] = [((k,), ()) for k in n]
        est_cols = [c for c in t.columns if c not in ("group_type", "pre", "post", "n", "n_pre_only", "n_post_only",
                                                      "wilcoxon_method", "improved_direction", "cluster_method",
                                                      "cluster_note")
                    and pd.api.types.is_numeric_dtype(t[c])]
        cols = [Column("group_type", "Group type", "text"), Column("n", "Members with both surveys", "count"),
                Column("mean_pre", f"Mean at {self.ev.tp_label(self.ev.pre)}", "number", 1),
                Column("mean_post", f"Mean at {self.ev.tp_label(self.ev.post)}", "number", 1),
                Column("mean_change", "Mean change", "number", 1),
                Column(ci_low, "95% CI from", "number", 1), Column(ci_high, "95% CI to", "number", 1),
                Column("p_value", "p", "p"), Column("d_z", "Effect size (d_z)", "number", 2)]
        shown = {c.name for c in cols}
        cols += [Column(c, c, "number", display=False) for c in est_cols if c not in shown]
        cols += [Column(c, c, "text", display=False) for c in ("pre", "post") if c in t]
        if not self.plan.active:
            cols += [Column(c, c, "count", display=False) for c in ("n_pre_only", "n_post_only") if c in t]
        note = ("CI: allowing for members being clustered in groups." if ci_low.endswith("cluster")
                else "CI: members treated as independent (too few groups to allow for clustering).")
        self.add(Draft(f"change_{key}", f"{self.ev.label(key)}: change from {self.ev.tp_label(self.ev.pre)} to "
                                        f"{self.ev.tp_label(self.ev.post)}", cols, t, note=note,
                       counts={"n": n}, estimates={c: deps for c in est_cols}))

    def reliable(self, key: str) -> None:
        res = self.ev.reliable(key)
        if res is None:
            return
        s = res.summary.copy()
        s["category"] = s["category"].astype(str)
        total = int(s["n"].sum())
        from ..narrative import category_label

        s["label"] = [category_label(c) for c in s["category"]]
        s = pd.concat([s, pd.DataFrame({"category": ["total"], "label": ["All classified"], "n": [total],
                                        "share": [1.0]})], ignore_index=True)
        keys = [self.count(("rc", key, c), v) for c, v in zip(s["category"], s["n"])]
        self.plan.total(keys[:-1], keys[-1])
        self.link(("paired", key, ALL_LABEL), keys[-1], ("rc_unclassified", key))
        deps: list[Dep | None] = [((keys[-1],), (k, keys[-1])) for k in keys]
        cols = [Column("label", "Category", "text"), Column("n", "Members", "count"),
                Column("share", "Share", "percent", 0), Column("share_ci_low", "95% CI from", "percent", 0),
                Column("share_ci_high", "95% CI to", "percent", 0), Column("category", "category", "text",
                                                                          display=False)]
        blank = ["" if c == "total" else "not estimable" for c in s["category"]]
        self.add(Draft(f"reliable_change_{key}", f"{self.ev.label(key)}: reliable change", cols, s,
                       counts={"n": keys}, estimates={c: deps for c in ("share", "share_ci_low", "share_ci_high")},
                       na={"share_ci_low": blank, "share_ci_high": blank}))

    def compare(self, key: str) -> None:
        res = self.ev.compare(key)
        if res is None:
            return
        t = res.adjusted_means.rename(columns={"level": "group_type"}).copy()
        t["group_type"] = t["group_type"].astype(str)
        labels = _rows_of(t)
        n = [self.count(("ancova_n", key, g), v) for g, v in zip(labels, t["n"])]
        for g in labels:
            self.link(("paired", key, g), ("ancova_n", key, g), ("ancova_left_out", key, g))
        deps: list[Dep | None] = [((k,), ()) for k in n]
        cols = [Column("group_type", "Group type", "text"), Column("n", "Members", "count"),
                Column("adjusted_mean", f"Mean at {self.ev.tp_label(self.ev.post)}, adjusted", "number", 1),
                Column("ci_low", "95% CI from", "number", 1), Column("ci_high", "95% CI to", "number", 1),
                Column("se", "SE", "number", 2, display=False)]
        est = [c for c in ("adjusted_mean", "se", "ci_low", "ci_high") if c in t]
        self.add(Draft(f"compare_{key}", f"{self.ev.label(key)}: group types compared at "
                                         f"{self.ev.tp_label(self.ev.post)}", cols, t,
                       note=f"Adjusted for the {self.ev.tp_label(self.ev.pre)} score (analysis of covariance, "
                            "standard errors allowing for groups).",
                       counts={"n": n}, estimates={c: deps for c in est}))

    def means(self, key: str) -> None:
        mm = self.ev.mixed(key)
        if mm is None or getattr(mm, "means", None) is None:
            return
        t = mm.means.copy()
        if "group_type" not in t:
            t.insert(0, "group_type", ALL_LABEL)
        t["group_type"] = t["group_type"].astype(str)
        t["timepoint"] = t["timepoint"].astype(str)
        t["when"] = [self.ev.tp_label(tp) for tp in t["timepoint"]]
        n = [self.count(("mm_n", key, g, tp), v, exposed=not self.plan.active)
             for g, tp, v in zip(t["group_type"], t["timepoint"], t["n_observed"])]
        deps: list[Dep | None] = [((k,), ()) for k in n]
        cols = [Column("group_type", "Group type", "text"), Column("when", "Survey", "text"),
                Column("mean", "Estimated mean", "number", 1), Column("ci_low", "95% CI from", "number", 1),
                Column("ci_high", "95% CI to", "number", 1),
                Column("n_observed", "Members answering", "count", display=not self.plan.active,
                       export=not self.plan.active),
                Column("timepoint", "timepoint", "text", display=False), Column("se", "SE", "number", 2,
                                                                               display=False)]
        est = [c for c in ("mean", "se", "ci_low", "ci_high") if c in t]
        self.add(Draft(f"means_{key}", f"{self.ev.label(key)}: estimated means over time", cols, t,
                       note="From a linear mixed model that uses every survey answered (random intercepts for "
                            "groups and members).", counts={"n_observed": n}, estimates={c: deps for c in est}))

    # ------------------------------------------------------------------ data quality
    def quality(self) -> None:
        q = self.ev.quality_table
        total = int(q["rows"].sum()) if len(q) else 0
        excluded = int(q.loc[q["action"].astype(str) == "excluded", "rows"].sum()) if len(q) else 0
        self.count(("quality_total",), total)
        self.count(("quality_excluded",), excluded)
        if not len(q):
            return
        keys = [self.count(("quality", i), v) for i, v in enumerate(q["rows"])]
        self.plan.total(keys, ("quality_total",))
        exc = [k for k, a in zip(keys, q["action"].astype(str)) if a == "excluded"]
        if exc:
            self.plan.total(exc, ("quality_excluded",))
        cols = [Column("file", "File", "text"), Column("reason", "What was found", "text"),
                Column("action", "What was done", "text"), Column("rows", "Rows", "count")]
        self.add(Draft("data_quality", "Rows repaired, inferred or left out when reading the files", cols, q,
                       counts={"rows": keys}))
