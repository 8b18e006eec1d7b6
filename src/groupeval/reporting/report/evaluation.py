"""The analyses behind the report, computed once, in the calling process.

:class:`Evaluation` runs the library's public functions on a
:class:`~groupeval.Dataset` (scores, engagement, retention, participant
flow, change, reliable change, group comparisons, mixed models), caches
them, and never raises on a programme's shape: an analysis that cannot be
done is ``None`` and :meth:`Evaluation.why_not` says why in plain words
(one group type, one survey timepoint, no surveys, too few members ...).
The report (:mod:`.content`), the notebooks and the tests all read the same
object, so every output quotes the same numbers.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ...base.exceptions import GroupevalError
from ...statistics._survival_core import MIN_AT_RISK_MEDIAN
from ..privacy import check_audience, needs_suppression

__all__ = ["Evaluation", "ALL_LABEL", "NO_TYPE_LABEL", "MIN_AT_RISK", "MIN_GROUPS_PER_TYPE", "timepoint_label"]

#: Label of the overall row in tables by group type.
ALL_LABEL = "All members"
#: Group-type label of groups whose type is not recorded.
NO_TYPE_LABEL = "No group type recorded"
#: Fewest members still at risk for a Kaplan-Meier estimate (retention at a week, the median) to be
#: reported; below it the estimate rests on too few people to mean much (any audience).  The
#: statistics layer's rule (``statistics._survival_core.MIN_AT_RISK_MEDIAN``), used by retention().
MIN_AT_RISK = MIN_AT_RISK_MEDIAN
#: Fewest groups per group type for group types to be compared: with one group a type's effect is
#: that group's own effect, so compare_groups() reports no test (a between-group variance needs two).
MIN_GROUPS_PER_TYPE = 2

T = TypeVar("T")


def timepoint_label(tp: str, labels: dict[str, str] | None = None) -> str:
    """A timepoint as people write it (:func:`groupeval.reporting.narrative.timepoint_label`).

    >>> timepoint_label("week_26"), timepoint_label("baseline")
    ('26 weeks', 'baseline')
    """
    from ..narrative import timepoint_label as words

    return str(words(tp, labels))


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
    timepoint_labels
        ``{timepoint: label}`` as people write them (default
        ``dataset.meta["timepoint_labels"]``, else :func:`timepoint_label`).
    """

    ALL_LABEL = ALL_LABEL

    def __init__(self, dataset: Any, *, audience: str = "program", min_cell: int = 11,
                 instruments: tuple[str, ...] | None = None, pre: str | None = None, post: str | None = None,
                 timepoint_labels: dict[str, str] | None = None):
        self.raw_dataset = dataset
        self.audience = check_audience(audience)
        self.min_cell = int(min_cell)
        self.suppressing = needs_suppression(audience)
        self.dataset = self._with_plain_group_types(dataset)
        resp = self.dataset.responses
        tps = tuple(dataset.timepoints) or (tuple(pd.unique(resp["timepoint"].astype(str)))
                                            if "timepoint" in resp and len(resp) else ())
        self.timepoints: tuple[str, ...] = tps
        self.pre = pre or (tps[0] if tps else None)
        self.post = post or (tps[-1] if len(tps) >= 2 else None)
        self._instruments = instruments
        self._labels = dict(timepoint_labels or dataset.meta.get("timepoint_labels") or {})
        self.problems: dict[str, str] = {}  # key -> plain reason an analysis is missing
        self.errors: dict[str, str] = {}  # key -> technical detail for the analyst (stderr), never the report
        self.population_note = ""
        if self.suppressing:
            self._attenders_only()

    def _attenders_only(self) -> None:
        """Funder/public: if fewer than ``min_cell`` enrolled people never came, report on those who came.

        Otherwise "enrolled - came at least once" would give the small number
        away in every table that shows both (and hiding it would hide the
        programme's size everywhere).  The title block says so.
        """
        from ...statistics.engagement import attendance_summary

        ds = self.dataset
        summ = self._guard("population", lambda: attendance_summary(ds), "")
        if summ is None or not len(summ):
            return
        never = summ["never_attended"].to_numpy(bool)
        people_never = summ.loc[never, "member_id"].astype(str)
        people_came = set(summ.loc[~never, "member_id"].astype(str))
        n_never = int(never.sum())
        if not (0 < n_never < self.min_cell):
            return
        key = ds.members["member_id"].astype(str) + "\x1f" + ds.members["group_id"].astype(str)
        came = summ.loc[~never, "member_id"].astype(str) + "\x1f" + summ.loc[~never, "group_id"].astype(str)
        members = ds.members[key.isin(came).to_numpy()].reset_index(drop=True)
        ids = members["member_id"].astype(str)
        del people_never, people_came
        self.dataset = ds.replace(
            members=members,
            responses=ds.responses[ds.responses["member_id"].astype(str).isin(ids).to_numpy()].reset_index(drop=True),
            attendance=ds.attendance[ds.attendance["member_id"].astype(str).isin(ids).to_numpy()].reset_index(
                drop=True))
        self.population_note = ("This report covers the members who came to at least one session; the few who "
                                "enrolled but never came are not counted, so that their number cannot be worked "
                                "out.")

    # ------------------------------------------------------------------ the programme's shape
    @staticmethod
    def _with_plain_group_types(ds: Any) -> Any:
        """Group types as strings: missing -> :data:`NO_TYPE_LABEL`; a type spelled like the total row renamed."""
        groups = ds.groups.copy()
        if "group_type" not in groups:
            groups["group_type"] = pd.NA
        gt = groups["group_type"].astype("string").str.strip()
        gt = gt.mask(gt.isna() | gt.eq(""), NO_TYPE_LABEL)
        gt = gt.mask(gt.str.casefold().eq(ALL_LABEL.casefold()), ALL_LABEL + " (group type)")
        groups["group_type"] = gt.astype(str)
        return ds.replace(groups=groups)

    @cached_property
    def types(self) -> tuple[str, ...]:
        """Group types that have members, sorted."""
        m = self.dataset.members[["group_id"]].merge(self.dataset.groups[["group_id", "group_type"]],
                                                      on="group_id", how="left")
        return tuple(sorted(m["group_type"].dropna().astype(str).unique()))

    @property
    def by_type(self) -> bool:
        """Break results down by group type (two or more types with members)."""
        return len(self.types) >= 2

    @cached_property
    def groups_per_type(self) -> dict[str, int]:
        g = self.dataset.groups
        used = g[g["group_id"].isin(self.dataset.members["group_id"])]
        return {str(k): int(v) for k, v in used.groupby("group_type")["group_id"].nunique().items()}

    @property
    def n_groups(self) -> int:
        return int(self.dataset.members["group_id"].nunique())

    @property
    def has_surveys(self) -> bool:
        return bool(self.outcomes)

    @property
    def has_follow_up(self) -> bool:
        return self.pre is not None and self.post is not None and self.pre != self.post

    def tp_label(self, tp: str | None) -> str:
        return "" if tp is None else timepoint_label(tp, self._labels)

    @cached_property
    def window_weeks(self) -> float:
        """Length of the data window in weeks: the first session in the data to the cut-off."""
        s = self.dataset.sessions
        dates = s["session_date"] if len(s) else self.dataset.attendance["session_date"]
        if not len(dates):
            return float("nan")
        return float((pd.Timestamp(self.dataset.data_cutoff) - pd.Timestamp(dates.min())).days / 7.0)

    # ------------------------------------------------------------------ guarded computation
    def _guard(self, key: str, fn: Callable[[], T], plain: str) -> T | None:
        """Run one analysis; on failure record ``plain`` (for the reader) and the error (for the analyst)."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fn()
        except GroupevalError as err:
            self.problems[key] = plain
            self.errors[key] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
        except Exception as err:  # noqa: BLE001 - the report never stops on a programme's shape (issue 11.1)
            self.problems[key] = plain
            self.errors[key] = f"{type(err).__name__}: {err}"
        return None

    def why_not(self, key: str) -> str:
        """The plain reason the analysis ``key`` is not shown ("" when it is)."""
        return self.problems.get(key, "")

    def _cached(self, kind: str, name: str, fn: Callable[[], Any]) -> Any:
        cache = self.__dict__.setdefault("_cache", {})
        if (kind, name) not in cache:
            cache[(kind, name)] = fn()
        return cache[(kind, name)]

    # ------------------------------------------------------------------ inputs
    @cached_property
    def instruments(self) -> tuple[str, ...]:
        from ...base import instruments as reg

        if self._instruments is not None:
            return tuple(self._instruments)
        cols = set(self.dataset.responses.columns)
        named = tuple(self.dataset.meta.get("instruments") or ())
        names = named or reg.available()
        return tuple(n for n in names if n in reg.available() and set(reg.get(n).items) <= cols)

    def instrument(self, name: str) -> Any:
        from ...base import instruments as reg

        return reg.get(name)

    @cached_property
    def scores(self) -> dict[str, pd.DataFrame]:
        """``{instrument: groupeval.score(...)}`` with ``group_id`` and ``group_type``."""
        from ...scoring.scores import score

        gt = self.dataset.groups[["group_id", "group_type"]]
        first_group = self.dataset.members[["member_id", "group_id"]].drop_duplicates("member_id")
        out = {}
        for name in self.instruments:  # a handful of instruments
            def one(n: str = name) -> pd.DataFrame:
                return score(self.dataset.responses, n)

            s = self._guard(f"score:{name}", one, "the answers to this questionnaire could not be scored")
            if s is None or not len(s):
                continue
            if "group_id" not in s:
                s = s.merge(first_group, on="member_id", how="left")
            out[name] = s.merge(gt, on="group_id", how="left")
        return out

    @cached_property
    def outcomes(self) -> dict[str, tuple[str, str, str]]:
        """``{key: (instrument, score column, full name)}``: what the report analyses.

        The main ``score`` of each instrument; for an instrument without a
        main score (WHOQOL-BREF) its domains (subscales of 3 or more items).
        """
        out: dict[str, tuple[str, str, str]] = {}
        for name, s in self.scores.items():
            inst = self.instrument(name)
            title = getattr(inst, "title", None) or inst.label
            if "score" in s and s["score"].notna().any():
                out[name] = (name, "score", str(title))
                continue
            for sub, items in inst.subscales.items():
                if len(items) >= 3 and not sub.endswith("_4_20") and sub in s and s[sub].notna().any():
                    out[f"{name}_{sub}"] = (name, sub, f"{title}, {sub.replace('_', ' ')} domain")
        return out

    def label(self, key: str) -> str:
        """Full name of an outcome key ("Brief Resilience Scale")."""
        return self.outcomes[key][2] if key in self.outcomes else str(self.instrument(key).title)

    def short_label(self, key: str) -> str:
        """Abbreviation of an outcome key ("BRS", "WHOQOL-BREF physical")."""
        inst, dv, _ = self.outcomes[key]
        lab = self.instrument(inst).label
        return lab if dv == "score" else f"{lab} {dv.replace('_', ' ')}"

    # ------------------------------------------------------------------ engagement, retention, flow
    @cached_property
    def engagement(self) -> pd.DataFrame | None:
        """:func:`groupeval.attendance_summary` (one row per enrolment) with ``group_type``."""
        from ...statistics.engagement import attendance_summary

        e = self._guard("engagement", lambda: attendance_summary(self.dataset),
                        "attendance could not be summarised from these files")
        if e is None:
            return None
        return e.merge(self.dataset.groups[["group_id", "group_type"]], on="group_id", how="left")

    @cached_property
    def retention(self) -> Any:
        """Overall :func:`groupeval.retention` (None when it cannot be estimated)."""
        from ...statistics.retention import retention

        return self._guard("retention", lambda: retention(self.dataset, times=self.retention_times),
                           "retention could not be estimated: no member came to a session")

    @cached_property
    def retention_by_type(self) -> Any:
        """:func:`groupeval.retention` by group type (None with fewer than two group types)."""
        from ...statistics.retention import retention

        if not self.by_type:
            return None
        return self._guard("retention_by_type",
                           lambda: retention(self.dataset, by="group_type", times=self.retention_times),
                           "retention could not be estimated by group type")

    @cached_property
    def retention_times(self) -> tuple[float, ...]:
        """Weeks at which retention is reported: 4, 8, 12, 26 (and 52) inside the data window."""
        w = self.window_weeks
        times = tuple(t for t in (4.0, 8.0, 12.0, 26.0, 52.0) if not np.isfinite(w) or t <= w + 0.5)
        return times or (4.0,)

    @cached_property
    def flow(self) -> pd.DataFrame | None:
        """:func:`groupeval.participant_flow` (people, not enrolments)."""
        from ...statistics.flow import participant_flow

        scores = dict(self.scores) or None
        return self._guard("flow", lambda: participant_flow(self.dataset, scores),
                           "the participant flow could not be counted")

    # ------------------------------------------------------------------ outcomes
    def _change_reason(self, key: str) -> str:
        if not self.has_follow_up:
            return (f"change is not shown: the surveys were answered at one timepoint only"
                    f"{' (' + self.tp_label(self.pre) + ')' if self.pre else ''}, and change needs a later one")
        return f"change could not be estimated: fewer than two members answered both the {self.tp_label(self.pre)} " \
               f"and the {self.tp_label(self.post)} survey"

    def change(self, key: str) -> pd.DataFrame | None:
        """:func:`groupeval.change` of ``key`` from ``pre`` to ``post``: group-type rows, then an overall row."""
        return self._cached("change", key, lambda: self._change(key))

    def _change(self, key: str) -> pd.DataFrame | None:
        from ...statistics.change import change

        if not self.has_follow_up:
            self.problems[f"change:{key}"] = self._change_reason(key)
            return None
        inst, dv, _ = self.outcomes[key]
        s = self.scores[inst]
        plain = self._change_reason(key)
        pre, post = str(self.pre), str(self.post)
        overall = self._guard(f"change:{key}", lambda: change(s, pre, post, dv=dv, instrument=inst), plain)
        if overall is None or not len(overall) or not (overall["n"] >= 2).all():
            self.problems[f"change:{key}"] = plain
            return None
        overall = overall.copy()
        overall.insert(0, "group_type", ALL_LABEL)
        if not self.by_type:
            return overall.reset_index(drop=True)
        parts = self._guard(f"change_by_type:{key}", lambda: change(s, pre, post, by="group_type",
                                                                   dv=dv, dataset=self.dataset, instrument=inst),
                            "change could not be estimated by group type")
        if parts is None:
            return overall.reset_index(drop=True)
        parts = parts.copy()
        parts["group_type"] = parts["group_type"].astype(str)
        return pd.concat([parts, overall], ignore_index=True)

    def reliable(self, key: str) -> Any:
        """:func:`groupeval.reliable_change` (Jacobson-Truax); None without published reliability."""
        return self._cached("reliable", key, lambda: self._reliable(key))

    def _reliable(self, key: str) -> Any:
        from ...statistics.reliable_change import reliable_change

        inst, dv, _ = self.outcomes[key]
        if dv != "score" or self.change(key) is None:
            self.problems[f"reliable:{key}"] = ("reliable change is worked out only for a questionnaire's main "
                                                "score with a published reliability" if dv != "score"
                                                else self._change_reason(key))
            return None
        return self._guard(f"reliable:{key}",
                           lambda: reliable_change(self.scores[inst], inst, str(self.pre), str(self.post)),
                           "reliable change could not be worked out for this questionnaire")

    def _compare_reason(self) -> str:
        if not self.by_type:
            return "group types are not compared: the programme has one group type"
        few = [t for t, n in self.groups_per_type.items() if n < MIN_GROUPS_PER_TYPE]
        if few:
            return (f"group types are not compared: {len(few)} of the {len(self.types)} group types have fewer "
                    f"than {MIN_GROUPS_PER_TYPE} groups, so differences between types cannot be told apart from "
                    "differences between single groups")
        return ""

    def compare(self, key: str) -> Any:
        """:func:`groupeval.compare_groups` (ANCOVA of ``post`` on ``pre`` + group type, clustered SEs)."""
        return self._cached("compare", key, lambda: self._compare(key))

    def _compare(self, key: str) -> Any:
        from ...statistics.compare import compare_groups

        why = self._compare_reason() or ("" if self.change(key) is not None else self._change_reason(key))
        if why:
            self.problems[f"compare:{key}"] = why
            return None
        inst, dv, _ = self.outcomes[key]
        return self._guard(f"compare:{key}", lambda: compare_groups(self.scores[inst], self.dataset, pre=str(self.pre),
                                                                    post=str(self.post), dv=dv),
                           "group types could not be compared for this questionnaire")

    def mixed(self, key: str) -> Any:
        """:func:`groupeval.mixed_model` by group type (overall with one type); None when not estimable."""
        return self._cached("mixed", key, lambda: self._mixed(key))

    def _mixed(self, key: str) -> Any:
        from ...statistics.mixed import mixed_model

        if not self.has_follow_up:
            self.problems[f"mixed:{key}"] = self._change_reason(key)
            return None
        if self.n_groups < 2:
            self.problems[f"mixed:{key}"] = "the model of scores over time needs at least two groups"
            return None
        inst, dv, _ = self.outcomes[key]
        by = "group_type" if self.by_type and not self._compare_reason() else None
        return self._guard(f"mixed:{key}", lambda: mixed_model(self.scores[inst], dv=dv, dataset=self.dataset, by=by),
                           "the model of scores over time could not be fitted to these data")

    # ------------------------------------------------------------------ data quality
    @cached_property
    def quality_table(self) -> pd.DataFrame:
        """Quality-report entries by file (name only), reason and action: ``rows``; never a member id."""
        q = self.dataset.quality.by_reason()
        if not len(q):
            return pd.DataFrame({"file": [], "reason": [], "action": [], "rows": []})
        q = q.rename(columns={"n": "rows"}).copy()
        q["file"] = [str(f).replace("\\", "/").rsplit("/", 1)[-1] if isinstance(f, str) else "" for f in q["file"]]
        ids = set(self.dataset.members["member_id"].astype(str))
        q["reason"] = q["reason"].astype(str).str.replace(
            r"[\w-]+", lambda m: "[member id]" if m.group(0) in ids else m.group(0), regex=True)
        return q.reset_index(drop=True)

    # ------------------------------------------------------------------ everything, in order
    def compute_all(self, progress: Callable[[str], None] | None = None) -> Evaluation:
        """Run every analysis the report uses (``progress(step)`` is called before each)."""
        say = progress or (lambda _msg: None)
        say("scoring the questionnaires")
        _ = self.scores
        say("attendance and participant flow")
        _ = self.engagement, self.flow
        say("retention (Kaplan-Meier)")
        _ = self.retention, self.retention_by_type
        for k, key in enumerate(self.outcomes, start=1):
            say(f"outcome {k}/{len(self.outcomes)}: {self.short_label(key)}")
            self.change(key)
            self.reliable(key)
            self.compare(key)
            self.mixed(key)
        return self
