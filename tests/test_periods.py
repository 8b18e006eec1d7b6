"""Reporting periods: parsing, period assignment, the per-period table and the comparison of two periods.

Sources of truth: hand-computed values on the tiny programme of tests/_helpers_periods.py; per-member loop
references written here (independent of the vectorised code); groupeval's own verified retention(),
attendance_summary(), change() and cluster_robust_formula(); R references in test_periods_against_R.py.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import groupeval as ge
from _helpers_periods import rolling_programme, tiny_programme, week
from groupeval.base.exceptions import ConfigError, DataQualityWarning, SchemaError, SmallSampleWarning
from groupeval.statistics import periods as P
from groupeval.statistics.robust import cluster_robust_formula


@pytest.fixture(scope="module")
def tiny():
    return tiny_programme()


@pytest.fixture(scope="module")
def rolling():
    return rolling_programme()


def _get(tab: pd.DataFrame, period: str, quantity: str) -> pd.Series:
    r = tab[(tab["period"] == period) & (tab["quantity"] == quantity)]
    assert len(r) == 1, (period, quantity)
    return r.iloc[0]


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", DataQualityWarning)   # retention(): a late entrant with no time at risk
        return fn(*a, **k)


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, label, start, end, kind", [
    ("2025-Q3", "2025-Q3", "2025-07-01", "2025-09-30", "quarter"),
    ("2025q1", "2025-Q1", "2025-01-01", "2025-03-31", "quarter"),
    ("2024-Q4", "2024-Q4", "2024-10-01", "2024-12-31", "quarter"),
    ("2025-07", "2025-07", "2025-07-01", "2025-07-31", "month"),
    ("2024-2", "2024-02", "2024-02-01", "2024-02-29", "month"),
    ("2025", "2025", "2025-01-01", "2025-12-31", "year"),
    ("2025-H1", "2025-H1", "2025-01-01", "2025-06-30", "half"),
    ("2025h2", "2025-H2", "2025-07-01", "2025-12-31", "half"),
    ("2025-07-01..2025-09-30", "2025-07-01..2025-09-30", "2025-07-01", "2025-09-30", "range"),
    (" 2025-03-15 .. 2025-03-15 ", "2025-03-15..2025-03-15", "2025-03-15", "2025-03-15", "range"),
])
def test_parse_period_forms(text, label, start, end, kind):
    p = P.parse_period(text)
    assert (p.label, p.start, p.end, p.kind) == (label, pd.Timestamp(start), pd.Timestamp(end), kind)
    assert p.days == (pd.Timestamp(end) - pd.Timestamp(start)).days + 1
    assert P.parse_period(p) is p
    assert P.Period.parse(text) == p


@pytest.mark.parametrize("text, words", [
    ("2025-Q5", "Q1 to Q4"), ("2025-Q0", "Q1 to Q4"), ("2025-H3", "H1 and H2"), ("2025-13", "01 to 12"),
    ("2025-00", "01 to 12"), ("last quarter", "write it as"), ("2025-09-30..2025-07-01", "ends before"),
    ("2025-02-30..2025-03-31", "not a calendar date"), ("2025/07/01..2025-09-30", "YYYY-MM-DD"),
    ("2025-07-01", "single day"), ("", "write it as"),
])
def test_parse_period_bad_input_says_what_to_write(text, words):
    with pytest.raises(ConfigError, match=words):
        P.parse_period(text)


def test_period_is_frozen_and_checks_its_dates():
    p = P.parse_period("2025-Q3")
    with pytest.raises(AttributeError):
        p.label = "x"  # type: ignore[misc]
    with pytest.raises(ConfigError, match="before it starts"):
        P.Period("bad", pd.Timestamp("2025-02-01"), pd.Timestamp("2025-01-01"))
    with pytest.raises(ConfigError, match="kind"):
        P.Period("bad", pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-02"), "week")
    with pytest.raises(ConfigError, match="must be text"):
        P.parse_period(3.5)
    assert P.parse_period(2025).label == "2025"
    assert P.parse_period(("2025-01-01", "2025-01-31")).days == 31


def test_period_previous_and_contains():
    assert str(P.parse_period("2025-Q1").previous()) == "2024-Q4"
    assert str(P.parse_period("2025-01").previous()) == "2024-12"
    assert str(P.parse_period("2025-H1").previous()) == "2024-H2"
    assert str(P.parse_period("2025").previous()) == "2024"
    r = P.parse_period("2025-07-01..2025-07-10").previous()
    assert (r.start, r.end) == (pd.Timestamp("2025-06-21"), pd.Timestamp("2025-06-30"))
    got = P.parse_period("2025-Q3").contains(pd.to_datetime(["2025-06-30", "2025-07-01", "2025-09-30",
                                                             "2025-10-01", None]))
    assert got.tolist() == [False, True, True, False, False]


def test_periods_covered(tiny, rolling):
    ds, _ = tiny
    assert [p.label for p in P.periods_covered(ds)] == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert [p.label for p in P.periods_covered(ds, "half")] == ["2025-H1", "2025-H2"]
    assert [p.label for p in P.periods_covered(ds, "month")][:2] == ["2025-01", "2025-02"]
    assert len(P.periods_covered(ds, "month")) == 9
    enr = [p.label for p in P.periods_covered(rolling, basis="enrolment")]
    first = rolling.members["enrolled_on"].min()
    assert enr[0] == f"{first.year}-Q{first.quarter}" and enr[-1] == "2025-Q4"
    with pytest.raises(ConfigError, match="freq"):
        P.periods_covered(ds, "week")


# ---------------------------------------------------------------------------
# the tiny programme, by hand
# ---------------------------------------------------------------------------
def test_enrolment_basis_by_hand(tiny):
    ds, sc = tiny
    tab = _quiet(P.period_summary, ds, ["2025-Q1", "2025-Q2", "2025-Q3"], scores=sc, times=(4, 10, 12))
    assert list(tab.columns) == list(P.SUMMARY_COLUMNS)
    # A, B, E enrolled in Q1; C, F in Q2; D in Q3
    assert [int(_get(tab, p, "members")["estimate"]) for p in ("2025-Q1", "2025-Q2", "2025-Q3")] == [3, 2, 1]
    assert _get(tab, "2025-Q1", "groups")["estimate"] == 2
    # follow-up possible by the cut-off (week 38): A 38, B 28, E 33 weeks
    assert _get(tab, "2025-Q1", "followup_weeks_min")["estimate"] == 28
    assert _get(tab, "2025-Q1", "followup_weeks_median")["estimate"] == 33
    # attendance over the whole follow-up (attendance_summary): A 39/39, B 11/29, E 0/34
    r = _get(tab, "2025-Q1", "attendance_pooled")
    assert (r["numerator"], r["denominator"], r["estimate"]) == (50, 102, pytest.approx(50 / 102))
    assert _get(tab, "2025-Q1", "attendance_rate")["estimate"] == pytest.approx((1 + 11 / 29 + 0) / 3)
    # KM of A (censored at 38) and B (dropout at 10); E never attended
    r = _get(tab, "2025-Q1", "retention_10w")
    assert (r["estimate"], r["n"], r["n_at_risk"], r["n_events"]) == (0.5, 2, 2, 1)
    assert _get(tab, "2025-Q1", "retention_4w")["estimate"] == 1.0
    # D enrolled at week 27: followed 11 weeks only
    r = _get(tab, "2025-Q3", "retention_12w")
    assert np.isnan(r["estimate"]) and "reaches only 11 weeks" in r["note"]
    assert _get(tab, "2025-Q3", "members")["partial"]           # the data end on 29 September
    # outcome: A 10 -> 15 (latest follow-up), B 8 -> 9; one group, so no cluster interval
    r = _get(tab, "2025-Q1", "outcome_change")
    assert (r["estimate"], r["n"], r["n_groups"]) == (3.0, 2, 1)
    assert np.isnan(r["ci_low"]) and "one group" in r["note"]
    assert "no member has both" in _get(tab, "2025-Q3", "outcome_change")["note"]


def test_calendar_basis_by_hand(tiny):
    ds, sc = tiny
    tab = _quiet(P.period_summary, ds, ["2025-Q1", "2025-Q2", "2025-Q3"], basis="calendar", scores=sc,
                 times=(4, 10, 12))
    # Q2 (1 April - 30 June): A, B (rule fired 16 June), C, F; not E (dropped in February) nor D (July)
    assert _get(tab, "2025-Q2", "members")["estimate"] == 4
    assert _get(tab, "2025-Q3", "members")["estimate"] == 4                  # A, C, D, F
    assert [_get(tab, "2025-Q2", q)["estimate"] for q in ("at_risk_start", "entered", "dropouts")] == [2, 2, 1]
    r = _get(tab, "2025-Q2", "dropout_share")
    assert (r["estimate"], r["numerator"], r["denominator"]) == (0.25, 1, 4)
    # days at risk inside Q2: A 91 (1 Apr - 30 Jun), B 56 (1 Apr - 26 May), C 78, F 8
    r = _get(tab, "2025-Q2", "dropout_rate_per_100_weeks")
    assert r["denominator"] == pytest.approx(233 / 7)
    assert r["estimate"] == pytest.approx(100 / (233 / 7))
    # sessions inside Q2 while a member: A 13/13, B 8/11 (to the week the rule fired), C 11/12, F 2/2
    r = _get(tab, "2025-Q2", "attendance_pooled")
    assert (r["numerator"], r["denominator"]) == (34, 38)
    assert _get(tab, "2025-Q2", "attendance_rate")["estimate"] == pytest.approx((1 + 8 / 11 + 11 / 12 + 1) / 4)
    # period analysis at 10 weeks: risk set {B, C}, B drops out -> 1/2
    r = _get(tab, "2025-Q2", "retention_10w")
    assert (r["estimate"], r["n_at_risk"], r["n_events"]) == (0.5, 2, 1)
    # nobody was at 11-12 weeks of membership during Q2 (C has 11 weeks, A 12+)
    r = _get(tab, "2025-Q2", "retention_12w")
    assert np.isnan(r["estimate"]) and "between weeks 11 and 12" in r["note"]
    # Q3: D (0-11 weeks) and C (from 11 weeks + a day) join without a gap of a whole day
    assert np.isfinite(_get(tab, "2025-Q3", "retention_12w")["estimate"])
    # outcomes completed inside the period: Q2 A 10 -> 14, B 8 -> 9; Q3 A 10 -> 15, C 12 -> 11
    assert _get(tab, "2025-Q2", "outcome_change")["estimate"] == 2.5
    r = _get(tab, "2025-Q3", "outcome_change")
    assert (r["estimate"], r["n"], r["n_groups"]) == (2.0, 2, 2)
    # the period ending at the cut-off: dropouts are not yet all known
    assert "undercounted" in _get(tab, "2025-Q3", "dropouts")["note"]
    assert "undercounted" not in _get(tab, "2025-Q2", "dropouts")["note"]


def test_compare_periods_by_hand(tiny):
    ds, sc = tiny
    c = _quiet(P.compare_periods, ds, "2025-Q3", "2025-Q2", basis="calendar", scores=sc, times=(10,))
    assert list(c.columns) == list(P.COMPARE_COLUMNS)
    r = c.set_index("quantity")
    assert r.loc["members", "difference"] == 0 and r.loc["members", "method"] == "count"
    assert np.isnan(r.loc["members", "se"])
    assert r.loc["outcome_change", "difference"] == pytest.approx(2.0 - 2.5)
    assert r.loc["dropout_share", "difference"] == pytest.approx(0 - 0.25)
    assert r.loc["retention_10w", "difference"] == pytest.approx(1.0 - 0.5)
    # two groups, and leaving G2 out leaves nobody followed 10 weeks in Q2: no jackknife
    assert np.isnan(r.loc["retention_10w", "se"]) and "jackknife is undefined" in r.loc["retention_10w", "note"]
    assert (r["n_groups"] == 2).all()


# ---------------------------------------------------------------------------
# properties on a rolling-enrolment programme
# ---------------------------------------------------------------------------
def test_every_member_is_in_exactly_one_enrolment_period(rolling):
    quarters = P.periods_covered(rolling, basis="enrolment")
    tab = _quiet(P.period_summary, rolling, quarters, times=(12,))
    members = tab[tab["quantity"] == "members"]
    assert int(members["estimate"].sum()) == len(rolling.members)
    months = _quiet(P.period_summary, rolling, P.periods_covered(rolling, "month", basis="enrolment"), times=(12,))
    assert int(months.loc[months["quantity"] == "members", "estimate"].sum()) == len(rolling.members)
    # one period spanning everything reproduces the programme-wide analyses
    everything = f"{rolling.members['enrolled_on'].min().date()}..{rolling.data_cutoff.date()}"
    sc = ge.score(rolling.responses, "brs")
    one = _quiet(P.period_summary, rolling, everything, scores=sc, post="week_26", times=(12, 26))
    ret = _quiet(ge.retention, rolling, times=(12, 26)).summary.iloc[0]
    for t in (12, 26):
        r = _get(one, everything, f"retention_{t}w")
        assert r["estimate"] == pytest.approx(ret[f"retention_{t}w"], abs=1e-14)
        assert r["ci_low"] == pytest.approx(ret[f"retention_{t}w_ci_low"], abs=1e-14)
        assert r["n"] == ret["n"]
    summ = ge.attendance_summary(rolling)
    assert _get(one, everything, "attendance_rate")["estimate"] == pytest.approx(summ["attendance_rate"].mean())
    ch = _quiet(ge.change, sc, "baseline", "week_26", dataset=rolling).iloc[0]
    r = _get(one, everything, "outcome_change")
    assert r["estimate"] == pytest.approx(ch["mean_change"], abs=1e-13)
    assert r["ci_low"] == pytest.approx(ch["ci_low_cluster"], abs=1e-12)
    assert r["n"] == ch["n"] and r["n_groups"] == ch["n_groups"]


def _loop_reference(ds, period: P.Period) -> dict[str, float]:
    """Per-member loop with dates (independent of the vectorised code): who is active, at risk at the start,
    entering, dropping out, and the sessions offered / attended inside the period (default dropout rule)."""
    summ = ge.attendance_summary(ds)
    cut = ds.data_cutoff
    S, E = period.start, min(period.end, cut)
    ses = ds.sessions[~ds.sessions["cancelled"]]
    marks = ds.attendance.set_index(["member_id", "session_date"])
    marks = marks[~marks.index.duplicated()]
    att, status = marks["attended"], marks["status"]
    out = dict(members=0, at_risk_start=0, entered=0, dropouts=0, offered=0, attended=0)
    for m, s in zip(ds.members.itertuples(index=False), summ.itertuples(index=False)):
        enrol = m.enrolled_on
        end = cut
        if pd.notna(m.exited_on) and m.exited_on < end:
            end = m.exited_on
        if pd.notna(s.dropped_on) and s.dropped_on < end:
            end = s.dropped_on
        if enrol <= E and end >= S:
            out["members"] += 1
            mine = ses[(ses["group_id"] == m.group_id) & (ses["session_date"] >= max(S, enrol))
                       & (ses["session_date"] <= min(E, end))]
            for d in mine["session_date"]:
                if status.get((m.member_id, d)) == "excused":     # the default rule: neither offered nor missed
                    continue
                out["offered"] += 1
                out["attended"] += bool(att.get((m.member_id, d), False))
        if s.never_attended or not np.isfinite(s.event_time_weeks):
            continue
        follow_end = enrol + pd.Timedelta(days=round(7 * s.event_time_weeks))
        entry_day = enrol + pd.Timedelta(days=round(7 * s.entry_weeks))
        if s.entry_weeks > 0 and follow_end <= entry_day:
            continue                                            # no time at risk at all
        start_risk = max(entry_day, enrol)
        if enrol > E or follow_end < S:
            continue
        if start_risk < S:
            if follow_end >= S:
                out["at_risk_start"] += 1
            else:
                continue
        elif start_risk <= E:
            if s.entry_weeks > 0 and follow_end <= start_risk:
                continue
            out["entered"] += 1
        else:
            continue
        if not s.censored and S <= follow_end <= E:
            out["dropouts"] += 1
    return out


@pytest.mark.parametrize("label", ["2025-Q1", "2025-Q3", "2026-Q1", "2025-08"])
def test_calendar_counts_match_a_per_member_loop(rolling, label):
    period = P.parse_period(label)
    tab = _quiet(P.period_summary, rolling, period, basis="calendar", times=(12,))
    ref = _loop_reference(rolling, period)
    for q in ("members", "at_risk_start", "entered", "dropouts"):
        assert _get(tab, label, q)["estimate"] == ref[q], q
    r = _get(tab, label, "attendance_pooled")
    assert (r["numerator"], r["denominator"]) == (ref["attended"], ref["offered"])


def test_compare_periods_uses_cr2_on_the_member_level_quantities(rolling):
    sc = ge.score(rolling.responses, "brs")
    c = _quiet(P.compare_periods, rolling, "2025-Q3", "2025-Q2", scores=sc)
    s = _quiet(P.period_summary, rolling, ["2025-Q3", "2025-Q2"], scores=sc)
    r = c.set_index("quantity")
    for q in ("members", "attendance_rate", "retention_12w", "retention_26w", "outcome_change"):
        a, b = _get(s, "2025-Q3", q)["estimate"], _get(s, "2025-Q2", q)["estimate"]
        assert r.loc[q, "estimate_period"] == a and r.loc[q, "estimate_compare"] == b
        assert r.loc[q, "difference"] == pytest.approx(a - b, abs=1e-12)
        assert r.loc[q, "n_period"] == _get(s, "2025-Q3", q)["n"]
    # the attendance difference: CR2 regression on the period indicator over the members of both cohorts
    summ = ge.attendance_summary(rolling)
    q = rolling.members["enrolled_on"].dt.to_period("Q").astype(str).to_numpy()
    d = summ.assign(q=q)[np.isin(q, ["2025Q3", "2025Q2"]) & (summ["sessions_offered"] > 0)]
    d = d.assign(in_period=(d["q"] == "2025Q3").astype(float), group_id=d["group_id"].astype(str))
    fit = cluster_robust_formula("attendance_rate ~ in_period", d, "group_id").coef_test().iloc[1]
    for col in ("se", "df", "ci_low", "ci_high", "p_value"):
        assert r.loc["attendance_rate", col] == pytest.approx(fit[col], rel=1e-10), col
    w = cluster_robust_formula("attendance_rate ~ in_period", d, "group_id", weights="sessions_offered")
    assert r.loc["attendance_pooled", "se"] == pytest.approx(w.coef_test().iloc[1]["se"], rel=1e-10)
    assert r.loc["retention_12w", "method"] == "group_jackknife"
    assert r.loc["retention_12w", "df"] == r.loc["retention_12w", "n_groups"] - 1
    assert np.isfinite(r.loc["retention_12w", "se"]) and r.loc["retention_12w", "se"] > 0
    assert set(c.attrs["methods"]) <= set(P.PERIOD_METHODS)


def test_small_cells_are_counted_never_suppressed(rolling):
    tab = _quiet(P.period_summary, rolling, ["2025-Q2", "2025-Q3"], basis="calendar")
    est = tab[~tab["method"].isin(["count", "descriptive"])]
    assert est["n"].notna().all() and est["n_groups"].notna().all()
    ret = tab[tab["quantity"].str.startswith("retention")]
    assert ret["n_at_risk"].notna().all() and ret["n_events"].notna().all()
    assert tab["n"].dtype == "Int64"
    # unrounded: the pooled attendance is exactly numerator / denominator
    r = _get(tab, "2025-Q2", "attendance_pooled")
    assert r["estimate"] == pytest.approx(r["numerator"] / r["denominator"], rel=1e-14)


def test_horizon_limits_follow_up_and_retention(rolling):
    tab = _quiet(P.period_summary, rolling, ["2025-Q1"], times=(12, 26), horizon=12)
    assert _get(tab, "2025-Q1", "followup_weeks_max")["estimate"] == 12
    r = _get(tab, "2025-Q1", "retention_26w")
    assert np.isnan(r["estimate"]) and "horizon" in r["note"]
    free = _quiet(P.period_summary, rolling, ["2025-Q1"], times=(12,))
    assert _get(tab, "2025-Q1", "retention_12w")["estimate"] == _get(free, "2025-Q1", "retention_12w")["estimate"]
    # attendance only over the first 12 weeks: fewer sessions offered than over the whole follow-up
    assert _get(tab, "2025-Q1", "attendance_pooled")["denominator"] < \
        _get(free, "2025-Q1", "attendance_pooled")["denominator"]
    with pytest.raises(ConfigError, match="enrolment' only"):
        P.period_summary(rolling, "2025-Q1", basis="calendar", horizon=12)


def test_bad_arguments_raise_groupeval_errors(tiny):
    ds, sc = tiny
    with pytest.raises(ConfigError, match="basis"):
        P.period_summary(ds, "2025-Q1", basis="cohort")
    with pytest.raises(ConfigError, match="times"):
        P.period_summary(ds, "2025-Q1", times=(-1,))
    with pytest.raises(ConfigError, match="more than once"):
        P.period_summary(ds, ["2025-Q1", "2025-Q1"])
    with pytest.raises(ConfigError, match="same period"):
        P.compare_periods(ds, "2025-Q1", "2025-01-01..2025-03-31")
    with pytest.raises(ConfigError, match="ci"):
        P.period_summary(ds, "2025-Q1", ci=95)
    with pytest.raises(SchemaError, match="Dataset"):
        P.period_summary(ds.members, "2025-Q1")
    with pytest.raises(SchemaError, match="score"):
        P.period_summary(ds, "2025-Q1", scores=sc.drop(columns="score"))
    with pytest.raises(ConfigError, match="horizon"):
        P.period_summary(ds, "2025-Q1", horizon=0)


def test_few_groups_warn_once(tiny):
    ds, _ = tiny
    with pytest.warns(SmallSampleWarning, match="fewer than"):
        P.period_summary(ds, ["2025-Q1", "2025-Q2"])


def test_period_after_the_cut_off_is_empty_with_a_reason(tiny):
    ds, _ = tiny
    tab = _quiet(P.period_summary, ds, "2026-Q1", basis="calendar")
    assert _get(tab, "2026-Q1", "members")["estimate"] == 0
    assert "after the data cut-off" in _get(tab, "2026-Q1", "members")["note"]
    assert np.isnan(_get(tab, "2026-Q1", "retention_12w")["estimate"])


def test_gap_in_the_risk_set_makes_retention_undefined():
    # every member enters late (week 5): the first 5 weeks are unobserved, so S(12) is not estimable
    km = P._KM(time=np.array([8.0, 10.0, 20.0]), event=np.array([True, False, False]),
               entry=np.array([5.0, 5.0, 5.0]), group=np.array(["a", "b", "c"]))
    r = P._km_row(km, 12.0, 0.95, None, None)
    assert np.isnan(r["estimate"]) and "between weeks 0 and 5" in r["note"]
    # one member from enrolment closes the gap, but only while they are followed
    km2 = P._KM(time=np.r_[km.time, 6.0], event=np.r_[km.event, False], entry=np.r_[km.entry, 0.0],
                group=np.append(km.group, "d"))
    r2 = P._km_row(km2, 12.0, 0.95, None, None)
    assert r2["estimate"] == pytest.approx(1 - 1 / 3)
    # deleting group d re-opens the gap, deleting c (the only one followed past 10 weeks) ends the follow-up:
    # those jackknife replicates are undefined; without a: S = 1, without b: a drops out of {a, c} -> 1/2
    _, reps = P._km_replicates(km2, 12.0, np.array(["a", "b", "c", "d"]))
    assert np.isnan(reps[2:]).all()
    np.testing.assert_allclose(reps[:2], [1.0, 0.5], rtol=1e-15)
    assert week(0) == pd.Timestamp("2025-01-06")


def test_comparing_with_an_empty_period_says_so(tiny):
    ds, _ = tiny
    c = _quiet(P.compare_periods, ds, "2026-Q1", "2025-Q2", basis="calendar", times=(10,)).set_index("quantity")
    assert np.isnan(c.loc["attendance_rate", "difference"])
    assert "no members in the period" in c.loc["attendance_rate", "note"]
    assert "2026-Q1: no members in the retention curve" in c.loc["retention_10w", "note"]
    assert c.loc["members", "difference"] == -4
