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

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ...base.exceptions import GroupevalError
from ..privacy import check_audience, needs_suppression

__all__ = ["Evaluation", "ALL_LABEL"]

#: Label of the overall row in tables by group type.
ALL_LABEL = "All members"

#: Estimate columns of :func:`groupeval.change` (all rest on its ``n``).
CHANGE_ESTIMATES = ("mean_pre", "mean_post", "sd_pre", "sd_post", "r_pre_post", "mean_change", "sd_change",
                    "se_change", "ci_low", "ci_high", "t", "df", "p_value", "wilcoxon_w", "wilcoxon_p", "d_z",
                    "d_z_ci_low", "d_z_ci_high", "d_av", "hedges_g_av", "se_cluster", "ci_low_cluster",
                    "ci_high_cluster", "p_value_cluster")


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

    ALL_LABEL = ALL_LABEL

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
        self.population_note = ""
        if self.suppressing:
            self._restrict_population()

    def _restrict_population(self) -> None:
        """Funder/public: if fewer than ``min_cell`` enrolled members never came, report on attenders only.

        Otherwise the number who never came could be worked out as enrolled
        minus "came at least once", which appear in several tables and
        sentences.  The report says so in its title block.
        """
        from ...statistics.engagement import attendance_summary

        ds = self.dataset
        summ = attendance_summary(ds)
        never = summ["never_attended"].to_numpy(bool)
        if not (0 < never.sum() < self.min_cell):
            return
        keep = summ.loc[~never, ["member_id", "group_id"]].astype(str)
        key = ds.members["member_id"].astype(str) + "\x1f" + ds.members["group_id"].astype(str)
        members = ds.members[key.isin(keep["member_id"] + "\x1f" + keep["group_id"]).to_numpy()]
        ids = members["member_id"].astype(str)
        responses = ds.responses[ds.responses["member_id"].astype(str).isin(ids).to_numpy()]
        attendance = ds.attendance[ds.attendance["member_id"].astype(str).isin(ids).to_numpy()]
        self.dataset = ds.replace(members=members.reset_index(drop=True),
                                  responses=responses.reset_index(drop=True),
                                  attendance=attendance.reset_index(drop=True))
        self.population_note = ("This report covers the members who came to at least one session; the few who "
                                "enrolled but never came are not counted, so that their number cannot be "
                                "worked out.")

    # ------------------------------------------------------------------ inputs
    @cached_property
    def instruments(self) -> tuple[str, ...]:
        from ...base import instruments as reg

        if self._instruments is not None:
            return tuple(self._instruments)
        cols = set(self.dataset.responses.columns)
        named = tuple(self.dataset.meta.get("instruments") or ())
        names = named or reg.available()
        return tuple(n for n in names if set(reg.get(n).items) <= cols)

    def instrument(self, name: str):
        from ...base import instruments as reg

        return reg.get(name)

    @cached_property
    def outcomes(self) -> dict[str, tuple[str, str, str]]:
        """``{key: (instrument, score column, label)}``: what the report analyses.

        The main ``score`` of each instrument; for an instrument without a
        main score (WHOQOL-BREF) its domains (subscales of 3 or more items on
        the 0-100 scale), e.g. ``whoqol_bref_physical``.
        """
        out: dict[str, tuple[str, str, str]] = {}
        for name in self.instruments:
            inst = self.instrument(name)
            s = self.scores[name]
            if s["score"].notna().any():
                out[name] = (name, "score", inst.label)
                continue
            for sub, items in inst.subscales.items():
                if len(items) >= 3 and not sub.endswith("_4_20") and sub in s and s[sub].notna().any():
                    out[f"{name}_{sub}"] = (name, sub, f"{inst.label} {sub.replace('_', ' ')} domain")
        return out

    def label(self, key: str) -> str:
        """Display label of an outcome key (or instrument name)."""
        if key in self.outcomes:
            return self.outcomes[key][2]
        return self.instrument(key).label

    def _idl(self, key: str) -> tuple[str, str, str]:
        return self.outcomes[key] if key in self.outcomes else (key, "score", self.label(key))

    def _sentence_instrument(self, key: str) -> str:
        inst, dv, label = self._idl(key)
        return inst if dv == "score" else label

    @cached_property
    def scores(self) -> dict[str, pd.DataFrame]:
        """``{instrument: groupeval.score(...)}`` with ``group_id`` and ``group_type``."""
        from ...scoring.scores import score

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
        from ...statistics.engagement import attendance_summary

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
        """Overall :func:`groupeval.retention`."""
        from ...statistics.retention import retention

        return retention(self.dataset)

    @cached_property
    def retention_by_type(self):
        """:func:`groupeval.retention` by group type."""
        from ...statistics.retention import retention

        return retention(self.dataset, by="group_type")

    @cached_property
    def retention_table(self) -> pd.DataFrame:
        """Retention summary by group type plus an overall row (KM estimates, unrounded)."""
        by = self._with_at_risk(self.retention_by_type)
        overall = self._with_at_risk(self.retention)
        overall.insert(0, "group_type", ALL_LABEL)
        by["group_type"] = by["group_type"].astype(str)
        return pd.concat([by, overall], ignore_index=True)

    @staticmethod
    def _with_at_risk(result) -> pd.DataFrame:
        """Summary + ``at_risk_<t>w`` (number at risk at each reported week) and ``at_risk_median``."""
        summ = result.summary.copy()
        times = [float(t) for t in result.times]
        at = result.at(times, columns=("at_risk",))
        levels = [None] if result.by is None else list(summ[result.by])
        for t in times:
            rows = at[at["time"] == t]
            if result.by is not None:
                rows = rows.set_index(result.by).reindex(levels)
            summ[f"at_risk_{t:g}w"] = rows["at_risk"].to_numpy()
        med = summ["median_weeks"].to_numpy(float)
        ar_med = np.full(len(summ), np.nan)
        for i, level in enumerate(levels):  # a handful of strata
            if np.isfinite(med[i]):
                a = result.at([med[i]], columns=("at_risk",))
                if result.by is not None:
                    a = a[a[result.by] == level]
                ar_med[i] = float(a["at_risk"].iloc[0])
        summ["at_risk_median"] = ar_med
        return summ

    @staticmethod
    def retention_spec(table: pd.DataFrame) -> dict[str, Any]:
        """Counts ``n = events + censored`` per row, column totals; KM estimates rest on n and events."""
        counts = [c for c in ("n", "events", "censored", "late_entries") if c in table]
        est = [c for c in table.columns if c.startswith(("retention_", "median_"))]
        # a KM estimate at week t rests on the members still at risk then (CMS-style n >= min_cell)
        den = {c: ("at_risk_median" if c.startswith("median_") else "at_risk_" + c.split("_")[1])
               for c in est}
        den = {c: d for c, d in den.items() if d in table}
        helpers = [c for c in table.columns if c.startswith("at_risk_")]
        show = ["group_type", "n", "events", "censored", "median_weeks"] + [
            c for c in table.columns if c.startswith(("retention_12w", "retention_26w"))]
        return dict(count_columns=counts, estimates={c: ["n", "events"] for c in est},
                    totals={"row": lambda t: _is_all(t)},
                    relations=row_relations(table, ["events", "censored"], "n"), show=show,
                    denominators=den, internal_only=helpers,
                    labels={"group_type": "Group type", "n": "Members", "events": "Dropped",
                            "censored": "Retained (censored)", "median_weeks": "Median weeks to dropout",
                            "retention_12w": "Retained at 12 weeks", "retention_12w_ci_low": "95% CI low",
                            "retention_12w_ci_high": "95% CI high", "retention_26w": "Retained at 26 weeks",
                            "retention_26w_ci_low": "95% CI low", "retention_26w_ci_high": "95% CI high"})

    @cached_property
    def retention_for_plot(self):
        """What the KM figure draws (None: nothing can be shown).

        Internal audiences: the result by group type.  Funder/public: the
        group types whose retention estimates the table shows (else the
        overall curve, if shown), each cut where fewer than ``min_cell``
        members remain at risk (a step in a small risk set reveals an
        individual's dropout).
        """
        if not self.suppressing:
            return self.retention_by_type
        overall_shown, levels = self._retention_shown()
        if levels:
            table = self.retention_by_type.table
            table = table[table["group_type"].astype(str).isin(levels)].copy()
        elif overall_shown:
            table = self.retention.table.copy()
        else:
            return None
        table = table[table["at_risk"] >= self.min_cell].reset_index(drop=True)
        return table if len(table) else None

    @cached_property
    def flow_table(self) -> pd.DataFrame:
        """:func:`groupeval.participant_flow` (people, not enrolments), scored on the first instrument."""
        from ...statistics.flow import participant_flow

        scores = {n: self.scores[n] for n in self.instruments} or None
        return participant_flow(self.dataset, scores)

    @property
    def flow(self) -> pd.DataFrame:
        return self.flow_table

    @staticmethod
    def flow_spec(table: pd.DataFrame) -> dict[str, Any]:
        """Each stage = its reference stage minus ``n_lost``; the analysed set equals the last follow-up."""
        pos = {s: i for i, s in enumerate(table["stage"].astype(str))}
        rel = []
        for i, ref in enumerate(table["reference"]):
            if isinstance(ref, str) and ref in pos:
                rel.append(([(i, "n"), (i, "n_lost")], (pos[ref], "n")))
        if "analysed" in pos and len(table) >= 2:
            last = pos["analysed"] - 1
            if last >= 0 and int(table["n"].iloc[last]) == int(table["n"].iloc[pos["analysed"]]):
                rel.append(([(pos["analysed"], "n")], (last, "n")))
        est = {c: ["n", "n_lost"] for c in ("share_of_reference", "share_of_enrolled") if c in table}
        return dict(count_columns=["n", "n_lost"], estimates=est, relations=rel,
                    show=["label", "n", "n_lost", "share_of_enrolled"],
                    labels={"label": "Stage", "n": "People", "n_lost": "Not continuing",
                            "share_of_enrolled": "Share of enrolled"})

    # ------------------------------------------------------------------ outcomes
    def change(self, name: str, *, by: str | None = "group_type", post: str | None = None) -> pd.DataFrame:
        """:func:`groupeval.change` of ``name`` from ``pre`` to ``post`` by group type plus an overall row."""
        key = (name, by, post or self.post)
        cache = self.__dict__.setdefault("_change_cache", {})
        if key in cache:
            return cache[key]
        from ...statistics.change import change

        post = post or self.post
        inst, dv, _ = self._idl(name)
        s = self.scores[inst]
        overall = change(s, self.pre, post, dv=dv, instrument=inst)
        if by is None:
            cache[key] = overall
            return overall
        parts = change(s, self.pre, post, by=by, dv=dv, data=self.dataset, instrument=inst)
        parts[by] = parts[by].astype(str)
        overall.insert(0, by, ALL_LABEL)
        cache[key] = pd.concat([parts, overall], ignore_index=True)
        return cache[key]

    def change_table(self, name: str) -> pd.DataFrame:
        """The change table of the report (every column of :func:`groupeval.change`, unrounded)."""
        return self.change(name)

    CHANGE_SPEC = dict(count_columns=["n", "n_pre_only", "n_post_only"],
                       estimates={c: "n" for c in CHANGE_ESTIMATES},
                       totals={"row": lambda t: _is_all(t)}, internal_only=["n_pre_only", "n_post_only"],
                       show=["group_type", "n", "mean_pre", "mean_post", "mean_change", "ci_low", "ci_high",
                             "ci_low_cluster", "ci_high_cluster", "p_value", "d_z", "d_z_ci_low", "d_z_ci_high"])
    CHANGE_LABELS = {"group_type": "Group type", "n": "n (both surveys)", "mean_pre": "Mean before",
                     "mean_post": "Mean after", "mean_change": "Mean change", "ci_low": "95% CI low",
                     "ci_high": "95% CI high", "ci_low_cluster": "95% CI low (groups)",
                     "ci_high_cluster": "95% CI high (groups)", "p_value": "p", "d_z": "d_z",
                     "d_z_ci_low": "d_z CI low",
                     "d_z_ci_high": "d_z CI high"}

    def reliable(self, name: str):
        """:func:`groupeval.reliable_change` of ``name`` (Jacobson-Truax, registry reliability), cached.

        None when the instrument has no published reliability for this score
        (e.g. WHOQOL-BREF domains in the registry).
        """
        cache = self.__dict__.setdefault("_rc_cache", {})
        if name not in cache:
            from ...statistics.reliable_change import reliable_change

            inst, dv, _ = self._idl(name)
            try:
                cache[name] = (reliable_change(self.scores[inst], inst, self.pre, self.post) if dv == "score"
                               else None)
            except GroupevalError:
                cache[name] = None
        return cache[name]

    def reliable_table(self, name: str) -> pd.DataFrame | None:
        """Reliable-change categories with a total row (the total is the number classified)."""
        res = self.reliable(name)
        if res is None:
            return None
        summ = res.summary.copy()
        summ["category"] = summ["category"].astype(str)
        total = pd.DataFrame({"category": ["total"], "n": [int(summ["n"].sum())], "share": [1.0]})
        return pd.concat([summ, total], ignore_index=True)

    RELIABLE_SPEC = dict(count_columns=["n"], estimates={"share": "n", "share_ci_low": "n", "share_ci_high": "n"},
                         totals={"row": lambda t: t["category"].eq("total")},
                         labels={"category": "Category", "n": "Members", "share": "Share",
                                 "share_ci_low": "95% CI low", "share_ci_high": "95% CI high"})

    def _hidden_rows(self, table: pd.DataFrame, spec: Mapping[str, Any], column: str = "n") -> pd.Series:
        """Rows whose ``column`` (a count or an estimate) the report hides from this audience.

        Same rule, same call as the table itself (:func:`groupeval.privacy.suppress`),
        so a sentence is written only about what its table shows.
        """
        if not self.suppressing:
            return pd.Series(False, index=table.index)
        from ..privacy import suppress

        keys = ("count_columns", "totals", "relations", "estimates", "force", "denominators")
        out = suppress(table, min_cell=self.min_cell, audience=self.audience,
                       **{k: spec[k] for k in keys if k in spec})
        return pd.Series(out[column].isna().to_numpy() & table[column].notna().to_numpy(), index=table.index)

    def compare(self, name: str):
        """:func:`groupeval.compare_groups` (ANCOVA of ``post`` on ``pre`` + group type, clustered SEs)."""
        cache = self.__dict__.setdefault("_cmp_cache", {})
        if name not in cache:
            from ...statistics.compare import compare_groups

            try:
                inst, dv, _ = self._idl(name)
                cache[name] = compare_groups(self.scores[inst], self.dataset, pre=self.pre, post=self.post, dv=dv)
            except GroupevalError:  # e.g. a single group type, or too few groups to cluster
                cache[name] = None
        return cache[name]

    def compare_table(self, name: str) -> pd.DataFrame | None:
        """Adjusted means by group type at ``post`` (ANCOVA) with an overall n row; None if not estimable."""
        res = self.compare(name)
        if res is None:
            return None
        t = res.adjusted_means.rename(columns={"level": "group_type"}).copy()
        t["group_type"] = t["group_type"].astype(str)
        total = pd.DataFrame({"group_type": [ALL_LABEL], "n": [int(t["n"].sum())]})
        return pd.concat([t, total], ignore_index=True)

    def compare_spec(self, table: pd.DataFrame, name: str | None = None) -> dict[str, Any]:
        """Same n as the change table: rows hidden there are hidden here (``force``)."""
        spec = dict(count_columns=["n"], estimates={c: "n" for c in ("adjusted_mean", "se", "ci_low", "ci_high")
                                                    if c in table},
                    totals={"row": lambda t: _is_all(t)},
                    labels={"group_type": "Group type", "adjusted_mean": "Adjusted mean", "se": "SE",
                            "ci_low": "95% CI low", "ci_high": "95% CI high", "n": "n"})
        if name is not None and self.suppressing:
            ch = self.change_table(name)
            hidden = self._hidden_rows(ch, self.CHANGE_SPEC).to_numpy()
            lookup = dict(zip(ch["group_type"].astype(str), hidden))
            spec["force"] = table["group_type"].astype(str).map(lookup).fillna(False).to_numpy(bool)
        return spec

    def compare_text(self, name: str) -> str:
        res = self.compare(name)
        if res is None:
            return ""
        from .. import formatting as F

        om = res.omnibus
        tbl = self.compare_table(name)
        if self.suppressing and self._hidden_rows(tbl, self.compare_spec(tbl, name)).any():
            return (f"Adjusted for the {self.pre} score, {self.label(name)} at {self.post} is compared between "
                    "group types in the table; some group types are too small to show.")
        differ = "differed" if om["p_value"] < 0.05 else "did not differ clearly"
        return (f"Adjusted for the {self.pre} score, {self.label(name)} at {self.post} {differ} between group types "
                f"(cluster-robust Wald test F({F.fmt_df(om['df1'])}, {F.fmt_df(om['df2'])}) = "
                f"{F.fmt_number(om['f'], 2)}, {F.fmt_p(om['p_value'])}).")

    def mixed(self, name: str):
        """:func:`groupeval.mixed_model` by group type (None when it cannot be fitted)."""
        cache = self.__dict__.setdefault("_mm_cache", {})
        if name not in cache:
            from ...statistics.mixed import mixed_model

            try:
                inst, dv, _ = self._idl(name)
                cache[name] = mixed_model(self.scores[inst], dv=dv, data=self.dataset, by="group_type")
            except GroupevalError:
                cache[name] = None
        return cache[name]

    def means_table(self, name: str) -> pd.DataFrame | None:
        """Model-estimated means by group type and timepoint, with per-timepoint total rows."""
        mm = self.mixed(name)
        if mm is None:
            return None
        t = mm.means.copy()
        t["group_type"] = t["group_type"].astype(str)
        t["timepoint"] = t["timepoint"].astype(str)
        tot = t.groupby("timepoint", sort=False)["n_observed"].sum().reset_index()
        tot.insert(0, "group_type", ALL_LABEL)
        return pd.concat([t, tot], ignore_index=True)[list(t.columns)]

    @staticmethod
    def means_spec(table: pd.DataFrame) -> dict[str, Any]:
        return dict(labels={"group_type": "Group type", "timepoint": "Timepoint", "mean": "Estimated mean",
                            "se": "SE", "ci_low": "95% CI low", "ci_high": "95% CI high",
                            "n_observed": "n observed"},
                    count_columns=["n_observed"],
                    estimates={c: "n_observed" for c in ("mean", "se", "ci_low", "ci_high") if c in table},
                    totals={"row": lambda t: _is_all(t), "within": "timepoint"}, internal_only=["n_observed"],
                    drop_rows=lambda t: _is_all(t))

    # ------------------------------------------------------------------ data quality
    @cached_property
    def quality_table(self) -> pd.DataFrame:
        """Quality-report entries by file (name only, no folders), reason and action: ``rows``."""
        q = self.dataset.quality.by_reason()
        if not len(q):
            return q
        q = q.rename(columns={"n": "rows"})
        q["file"] = [str(f).replace("\\", "/").rsplit("/", 1)[-1] if isinstance(f, str) else f for f in q["file"]]
        # reasons are generic texts; still, never let a member id through
        ids = set(self.dataset.members["member_id"].astype(str))
        q["reason"] = q["reason"].astype(str).str.replace(
            r"[\w-]+", lambda m: "[member id]" if m.group(0) in ids else m.group(0), regex=True)
        return q

    @staticmethod
    def quality_spec(table: pd.DataFrame) -> dict[str, Any]:
        return dict(count_columns=["rows"])

    # ------------------------------------------------------------------ words
    def _mc(self) -> int | None:
        return self.min_cell if self.suppressing else None

    @property
    def plot_min_cell(self) -> int | None:
        """``min_cell`` for plots: set for funder/public audiences, None for internal ones."""
        return self._mc()

    def title_block(self, programme: str, period: str = "", kind: str = "Evaluation report") -> str:
        """Markdown title, subtitle and privacy note."""
        from ... import __version__
        from .. import formatting as F

        ds = self.dataset
        n_groups = ds.groups["group_id"].nunique()
        cutoff = pd.Timestamp(ds.data_cutoff)
        bits = [b for b in (period, f"data up to {cutoff:%d %B %Y}",
                            f"{F.fmt_count(n_groups)} groups") if b]
        out = [f"# {programme}", f"**{kind}** · " + " · ".join(bits)]
        if self.suppressing:
            out.append(f"*Prepared for a {self.audience} audience: numbers of fewer than {self.min_cell} people, "
                       f"and figures from which they could be worked out, are not shown (marked "
                       f"\"&lt;{self.min_cell}\" in tables). No individual can be identified from this report.*")
            if self.population_note:
                out.append(f"*{self.population_note}*")
        out.append(f"<small>Produced with groupeval {__version__} on {pd.Timestamp.now():%d %B %Y}.</small>")
        return "\n\n".join(out)

    def _shown_levels(self, table: pd.DataFrame, spec: Mapping[str, Any], column: str = "n") -> list[str]:
        hidden = self._hidden_rows(table, spec, column).to_numpy()
        return [str(g) for g, h in zip(table["group_type"], hidden) if not h and g != ALL_LABEL]

    def plain_summary(self) -> str:
        """Bullet points for programme managers (plain style), from the same results as the tables."""
        from .. import narrative as N

        mc = self._mc()
        overall_shown, _ = self._retention_shown()
        lines = [N.attendance_sentence(self.engagement, style="plain", min_cell=mc)]
        if overall_shown:
            lines.append(N.retention_sentence(self.retention, style="plain", min_cell=mc))
        for name in self.outcomes:
            table = self.change_table(name)
            if not self._hidden_rows(table, self.CHANGE_SPEC).iloc[-1]:
                lines.append(N.change_sentence(table.iloc[-1].drop("group_type"),
                                               instrument=self._sentence_instrument(name), style="plain",
                                               min_cell=mc))
        return "\n".join(f"- {x}" for x in lines if x)

    def _retention_shown(self) -> tuple[bool, list[str]]:
        """(overall retention shown?, group types whose retention estimates are shown)."""
        table = self.retention_table
        est = next((c for c in table.columns if c.startswith("retention_") and c.endswith("w")), "n")
        hidden = self._hidden_rows(table, self.retention_spec(table), est).to_numpy()
        levels = [str(g) for g, h in zip(table["group_type"], hidden) if not h and g != ALL_LABEL]
        return (not hidden[-1]), levels

    def retention_text(self) -> str:
        """APA retention sentences: overall, and by group type where the stratum is shown."""
        from .. import formatting as F
        from .. import narrative as N

        mc = self._mc()
        overall_shown, shown = self._retention_shown()
        out = [N.retention_sentence(self.retention, min_cell=mc)] if overall_shown else [
            "Retention is not reported: too few members dropped out or stayed to show it without revealing "
            "small numbers."]
        table = self.retention_table
        for level in shown:
            out.append(N.retention_sentence(self.retention_by_type, level=level, min_cell=mc))
        lr = self.retention_by_type.logrank
        if lr is not None and len(shown) == len(table) - 1:
            lr = lr.iloc[0] if isinstance(lr, pd.DataFrame) else lr
            differ = "differed" if lr["p_value"] < 0.05 else "did not differ clearly"
            out.append(f"Retention {differ} between group types (log-rank χ²({F.fmt_df(lr['df'])}) = "
                       f"{F.fmt_number(lr['statistic'], 2)}, {F.fmt_p(lr['p_value'])}).")
        elif len(shown) < len(table) - 1:
            out.append("Some group types are too small to report retention for separately.")
        return "\n".join(f"- {x}" for x in out if x)

    def change_text(self, name: str) -> str:
        """APA change sentences: overall and each group type shown in the table; reliable change."""
        from .. import narrative as N

        mc = self._mc()
        table = self.change_table(name)
        hidden = self._hidden_rows(table, self.CHANGE_SPEC).to_numpy()
        out = []
        for i in range(len(table)):  # a handful of group types
            row = table.iloc[i]
            if hidden[i]:
                continue
            inst = self._sentence_instrument(name)
            if row["group_type"] == ALL_LABEL:
                out.insert(0, N.change_sentence(row.drop("group_type"), instrument=inst, min_cell=mc))
            else:
                out.append(N.change_sentence(row, instrument=inst, min_cell=mc))
        if hidden[:-1].any():
            out.append("Results for group types with too few members are not shown.")
        if self.reliable(name) is not None:
            out.append(N.reliable_change_sentence(self.reliable(name), min_cell=mc))
        return "\n".join(f"- {x}" for x in out if x)

    def quality_text(self) -> str:
        from .. import formatting as F

        q = self.dataset.quality
        if len(q) == 0:
            return "All rows of the files were used as they were: nothing was repaired or left out."
        mc = self._mc()
        return (f"{F.capitalize_first(F.fmt_count(len(q), mc))} data-quality entries were recorded, "
                f"of which {F.fmt_count(q.n_excluded, mc)} rows were left out. "
                "The full list (file, row, column, value, reason) is available to the programme from "
                "`groupeval validate --quality-csv`.")

    def methods_text(self) -> str:
        """Methods paragraph and references (:func:`groupeval.narrative.methods_paragraph`)."""
        from .. import narrative as N

        first = next(iter(self.outcomes), None)
        mm = self.mixed(first) if first else None
        text = N.methods_paragraph(instruments=self.instruments, retention=self.retention,
                                   change=self.change(first) if first else None,
                                   reliable_change=self.reliable(first) if first else None,
                                   mixed_model=mm, min_cell=self._mc())
        para, _, refs = text.partition("\n\n")
        out = para
        if refs.strip():
            lines = [r.strip() for r in refs.splitlines() if r.strip()]
            if lines and lines[0].lower().rstrip(":") == "references":
                lines = lines[1:]
            out += "\n\n### References\n\n" + "\n".join(f"- {r}" for r in lines)
        return out

    def funder_findings(self) -> str:
        """Citable APA sentences (with CIs) for the funder summary, suppressed for the audience."""
        from .. import narrative as N

        mc = self._mc()
        items = [N.attendance_sentence(self.engagement, min_cell=mc)]
        if self._retention_shown()[0]:
            items.append(N.retention_sentence(self.retention, min_cell=mc))
        for name in self.outcomes:
            table = self.change_table(name)
            if not self._hidden_rows(table, self.CHANGE_SPEC).iloc[-1]:
                items.append(N.change_sentence(table.iloc[-1].drop("group_type"),
                                               instrument=self._sentence_instrument(name), min_cell=mc))
            if self.reliable(name) is not None:
                items.append(N.reliable_change_sentence(self.reliable(name), min_cell=mc))
        return "\n".join(f"- {x}" for x in items if x)

    def footer_text(self, paths: Mapping[str, Any]) -> str:
        from pathlib import Path

        csvs = [Path(p) for k, p in paths.items() if not k.startswith("_")]
        if not csvs:
            return ""
        folder = csvs[0].parent.name
        xlsx = Path(paths["_xlsx"]).name
        return (f"<small>The {len(csvs)} tables of this report are in `{folder}/` (CSV, unrounded; hidden cells "
                f"empty, flagged in `*_suppressed` columns) and in `{xlsx}`.</small>")
