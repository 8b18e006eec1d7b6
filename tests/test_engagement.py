"""attendance_summary, Dropout rules and group_engagement.

Sources of truth: hand-worked cases for every boundary of the dropout rule
(docs/design.md "Dropout and retention"; issue 4), and a plain per-member Python
re-implementation of the written rule compared on random programmes
(hypothesis).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import groupeval as ge
from _helpers_retention import START, weekly_dataset
from groupeval.base.exceptions import ConfigError, DataQualityWarning, SchemaError
from groupeval.statistics.dropout import DROPOUT_PRESETS, Dropout, as_dropout

FIXED = ["member_id", "group_id", "sessions_offered", "sessions_attended", "attendance_rate", "first_attended",
         "last_attended", "status", "weeks_in_group"]


def wk(n: float) -> pd.Timestamp:
    return START + pd.Timedelta(weeks=n)


def summary(marks, **kw):
    dropout = kw.pop("dropout", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return ge.attendance_summary(weekly_dataset(marks, **kw), dropout=dropout).set_index("member_id")


# ---------------------------------------------------------------------------
# columns and dtypes
# ---------------------------------------------------------------------------
def test_columns_are_exactly_the_design_columns_first():
    s = ge.attendance_summary(weekly_dataset({"a": "PPA"}))
    assert list(s.columns[:9]) == FIXED
    assert s["first_attended"].dtype == "datetime64[ns]" and s["dropped_on"].dtype == "datetime64[ns]"
    assert set(s["status"].cat.categories) == {"active", "completed", "dropped"}
    assert s["sessions_offered"].dtype == np.int64


# ---------------------------------------------------------------------------
# consecutive misses: 2 vs 3, cancelled sessions, missing rows, late start
# ---------------------------------------------------------------------------
def test_two_misses_stay_active_three_misses_drop_by_hand():
    s = summary({"two": "PPAAPP", "three": "PPAAAP", "tail2": "PPPPAA", "tail3": "PPPAAA"})
    assert s.loc["two", "status"] == "active"
    assert s.loc["tail2", "status"] == "active"
    assert s.loc["three", "status"] == "dropped"
    assert s.loc["three", "dropped_on"] == wk(4)          # the 3rd missed session
    assert s.loc["three", "event_time_weeks"] == 1.0      # last attended before the run (week 1)
    assert s.loc["three", "dropout_rule"] == "consecutive_missed"
    assert bool(s.loc["three", "returned_after_dropout"]) is True
    assert s.loc["tail3", "status"] == "dropped" and s.loc["tail3", "event_time_weeks"] == 2.0
    # active members are censored at the group's last session (week 5)
    assert s.loc["two", "weeks_in_group"] == 5.0 and bool(s.loc["two", "censored"])


def test_strict_preset_drops_after_two_misses():
    s = summary({"two": "PPAAP"}, dropout="strict")
    assert s.loc["two", "status"] == "dropped" and s.loc["two", "dropped_on"] == wk(3)
    s = summary({"two": "PPAAP"}, dropout=Dropout(consecutive_missed=4))
    assert s.loc["two", "status"] == "active"


def test_cancelled_sessions_never_count_by_hand():
    # week 2 cancelled: the misses on both sides are consecutive scheduled misses
    s = summary({"a": "PAXAPP", "b": "PAAXAP"}, cancelled={"G1": [2]})
    assert s.loc["a", "sessions_offered"] == 5            # 6 weeks minus the cancelled one
    assert s.loc["a", "status"] == "active"              # run of 2 across the cancelled week
    assert s.loc["b", "status"] == "dropped"             # A A (X) A = 3
    assert s.loc["b", "dropped_on"] == wk(4)
    assert s.loc["b", "sessions_offered"] == 5


def test_scheduled_session_without_attendance_row_counts_as_missed():
    s = summary({"a": "P---P", "b": "P--"}, n_weeks=5)
    assert s.loc["a", "status"] == "dropped" and s.loc["a", "sessions_offered"] == 5
    assert s.loc["a", "sessions_attended"] == 2 and s.loc["a", "attendance_rate"] == pytest.approx(0.4)
    assert s.loc["b", "status"] == "dropped"   # rows missing through the end count too


def test_misses_before_first_attendance_do_not_drop():
    s = summary({"late_starter": "AAAPPP"})
    assert s.loc["late_starter", "status"] == "active"
    assert s.loc["late_starter", "first_attended"] == wk(3)
    assert s.loc["late_starter", "sessions_offered"] == 6


# ---------------------------------------------------------------------------
# excused absences
# ---------------------------------------------------------------------------
def test_excused_neither_attended_missed_by_hand():
    marks = {"m": "PAEAAP"}
    neither = summary(marks)
    assert neither.loc["m", ["sessions_offered", "sessions_attended", "sessions_excused"]].tolist() == [5, 2, 1]
    assert neither.loc["m", "status"] == "dropped" and neither.loc["m", "dropped_on"] == wk(4)  # A (E) A A
    att = summary(marks, dropout=Dropout(excused="attended"))
    assert att.loc["m", ["sessions_offered", "sessions_attended"]].tolist() == [6, 3]
    assert att.loc["m", "status"] == "active"  # P A P A A P
    mis = summary(marks, dropout="excused_as_missed")
    assert mis.loc["m", ["sessions_offered", "sessions_attended"]].tolist() == [6, 2]
    assert mis.loc["m", "status"] == "dropped" and mis.loc["m", "dropped_on"] == wk(3)  # A E A


def test_present_with_excused_status_is_attended():
    ds = weekly_dataset({"m": "PAAA"})
    att = ds.attendance.copy()
    att.loc[att.index[1], ["attended", "status"]] = [True, "excused"]   # contradictory row: attended wins
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = ge.attendance_summary(ds.replace(attendance=att))
    assert s["sessions_attended"].iloc[0] == 2 and s["status"].iloc[0] == "active"


# ---------------------------------------------------------------------------
# exits
# ---------------------------------------------------------------------------
def test_exit_reasons_by_hand():
    marks = {"done": "PPPP", "moved": "PPPP", "dropped": "PPPP", "noreason": "PPPP", "future": "PPPP"}
    exits = {"done": (3, "completed"), "moved": (2, "moved"), "dropped": (2, "dropped"),
             "noreason": (2, None), "future": (pd.Timestamp("2030-01-01"), "completed")}
    s = summary(marks, exits=exits, n_weeks=6)
    assert s.loc["done", "status"] == "completed" and s.loc["done", "weeks_in_group"] == 3.0
    assert bool(s.loc["done", "censored"]) and s.loc["done", "sessions_offered"] == 4   # weeks 0-3
    for m in ("moved", "dropped", "noreason"):
        assert s.loc[m, "status"] == "dropped", m
        assert s.loc[m, "dropout_rule"] == "exit"
        assert s.loc[m, "event_time_weeks"] == 2.0        # last attended (exit on week 2)
        assert s.loc[m, "dropped_on"] == wk(2)
    assert s.loc["future", "status"] == "active"           # exit after the cut-off not yet happened
    moved_ok = summary(marks, exits=exits, n_weeks=6, dropout="moved_censored")
    assert moved_ok.loc["moved", "status"] == "completed"
    no_exits = summary(marks, exits=exits, n_weeks=6, dropout=Dropout(exits=False))
    assert no_exits.loc["dropped", "status"] == "completed"  # follow-up ends at the exit, no event


def test_completer_who_misses_three_first_is_dropped():
    s = summary({"m": "PAAAPP"}, exits={"m": (5, "completed")})
    assert s.loc["m", "status"] == "dropped" and s.loc["m", "event_time_weeks"] == 0.0


# ---------------------------------------------------------------------------
# never attended, late entry, cut-off
# ---------------------------------------------------------------------------
def test_never_attended_by_hand():
    s = summary({"none4": "AAAA", "none2": "..AA", "x": "PPPP"})
    assert bool(s.loc["none4", "never_attended"]) and s.loc["none4", "status"] == "dropped"
    assert s.loc["none4", "dropped_on"] == wk(2) and np.isnan(s.loc["none4", "event_time_weeks"])
    assert np.isnan(s.loc["none4", "weeks_in_group"]) and pd.isna(s.loc["none4", "first_attended"])
    assert s.loc["none4", "attendance_rate"] == 0.0
    assert s.loc["none2", "status"] == "active" and bool(s.loc["none2", "never_attended"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ge.retention(weekly_dataset({"none4": "AAAA", "none2": "..AA", "x": "PPPP"}))
    assert res.excluded["never_attended"] == 2 and len(res.members) == 1


def test_late_entry_by_hand():
    # enrolled 3 weeks before the group's first session in the data
    s = summary({"old": "PPAAA", "new": "PPPPP"}, enrolled={"old": -3})
    assert s.loc["old", "entry_weeks"] == 3.0 and s.loc["new", "entry_weeks"] == 0.0
    assert s.loc["old", "event_time_weeks"] == 4.0        # last attended week 1 = 4 weeks after enrolment
    assert s.loc["new", "weeks_in_group"] == 4.0


def test_explicit_cutoff_censors_and_ignores_later_sessions():
    s = summary({"a": "PPPAAAAA", "b": "PPAPPPPP"}, cutoff=wk(4))
    assert s.loc["a", "status"] == "active"               # only 2 misses by the cut-off
    assert s.loc["a", "sessions_offered"] == 5 and s.loc["a", "weeks_in_group"] == 4.0
    assert s.loc["b", "last_attended"] == wk(4)


def test_enrolled_mid_group_offered_counts_from_enrolment():
    s = summary({"m": "...PPAP"})
    assert s.loc["m", "sessions_offered"] == 4 and s.loc["m", "weeks_in_group"] == 3.0


# ---------------------------------------------------------------------------
# weeks without attendance
# ---------------------------------------------------------------------------
def test_weeks_without_attendance_boundaries_by_hand():
    rule = Dropout(consecutive_missed=None, weeks_without_attendance=3)
    s = summary({"gap3": "PAAP", "gap4": "PAAAP", "end3": "PAAA", "end2": "PAA.", "never": "AAAA"},
                n_weeks=5, dropout=rule)
    assert s.loc["gap3", "status"] == "active"            # next attended 21 days later: not > 21
    assert s.loc["gap4", "status"] == "dropped" and s.loc["gap4", "event_time_weeks"] == 0.0
    assert s.loc["gap4", "dropped_on"] == wk(3)
    assert s.loc["gap4", "dropout_rule"] == "weeks_without_attendance"
    assert s.loc["end3", "status"] == "dropped"           # 4 weeks from last attendance to the end (week 4)
    assert s.loc["end2", "status"] == "dropped"           # 5 weeks: week 4 has no row and counts as missed
    assert s.loc["never", "status"] == "dropped" and bool(s.loc["never", "never_attended"])


def test_weeks_rule_at_end_of_observation_uses_last_session():
    rule = Dropout(consecutive_missed=None, weeks_without_attendance=3)
    s = summary({"end2": "PPPAA", "end3": "PPAAA"}, dropout=rule)
    assert s.loc["end2", "status"] == "active"
    assert s.loc["end3", "status"] == "dropped" and s.loc["end3", "event_time_weeks"] == 1.0


def test_earliest_rule_wins_when_several_fire():
    rule = Dropout(consecutive_missed=3, weeks_without_attendance=2)
    s = summary({"m": "PAAAP"}, dropout=rule)
    # weeks rule: gap 28 > 14 at week 0 (known week 2); consecutive: known week 3 -> same event, earlier known
    assert s.loc["m", "dropout_rule"] == "weeks_without_attendance" and s.loc["m", "dropped_on"] == wk(2)


# ---------------------------------------------------------------------------
# rule object and errors
# ---------------------------------------------------------------------------
def test_dropout_rule_validation_lists_every_problem():
    with pytest.raises(ConfigError, match=r"(?s)consecutive_missed.*weeks_without_attendance.*excused"):
        Dropout(consecutive_missed=0, weeks_without_attendance=-1, excused="maybe")
    with pytest.raises(ConfigError, match="every dropout rule is switched off"):
        Dropout(consecutive_missed=None, exits=False)
    with pytest.raises(ConfigError, match="Unknown dropout preset 'harsh'.*'strict'"):
        as_dropout("harsh")
    with pytest.raises(ConfigError, match=r"Unknown dropout setting\(s\) \['k'\]"):
        as_dropout({"k": 2})
    assert as_dropout({"consecutive_missed": 2}) == DROPOUT_PRESETS["strict"]
    assert "missed 3 scheduled sessions in a row" in Dropout().describe()


def test_bad_dataset_errors():
    with pytest.raises(SchemaError, match="Expected a groupeval Dataset"):
        ge.attendance_summary(pd.DataFrame())
    ds = weekly_dataset({"a": "PP"})
    with pytest.raises(SchemaError, match=r"(?s)members table has no column 'enrolled_on'"):
        ge.attendance_summary(ds.replace(members=ds.members.drop(columns="enrolled_on")))
    mem = ds.members.copy()
    mem["enrolled_on"] = mem["enrolled_on"].astype(str)
    with pytest.raises(SchemaError, match="must hold datetime64 dates"):
        ge.attendance_summary(ds.replace(members=mem))


def test_attendance_outside_schedule_warns_with_count():
    ds = weekly_dataset({"a": "PPPP"}, exits={"a": (1, "completed")})
    with pytest.warns(DataQualityWarning, match="2 attended mark"):
        s = ge.attendance_summary(ds)
    assert s["sessions_attended"].iloc[0] == 2


def test_sessions_inferred_from_attendance_when_table_empty():
    ds = weekly_dataset({"a": "PPAAA", "b": "PPPPP"})
    ds2 = ds.replace(sessions=ds.sessions.iloc[0:0])
    pd.testing.assert_frame_equal(ge.attendance_summary(ds2), ge.attendance_summary(ds))


@pytest.mark.parametrize("dtype", ["category", "string", "string[pyarrow]"])
def test_categorical_and_string_ids_give_the_same_result(dtype):
    ds = weekly_dataset({"a": "PPAAA", "b": "PAPAP", "c": "AAAAA"})
    att = ds.attendance.assign(member_id=ds.attendance["member_id"].astype(dtype),
                               group_id=ds.attendance["group_id"].astype(dtype))
    mem = ds.members.assign(member_id=ds.members["member_id"].astype(dtype))
    att.loc[att.index[0], "member_id"] = "zz" if dtype != "category" else att.loc[att.index[0], "member_id"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = ge.attendance_summary(ds.replace(attendance=att, members=mem))
        want = ge.attendance_summary(ds.replace(attendance=att.astype({"member_id": object, "group_id": object})))
    pd.testing.assert_frame_equal(got.drop(columns="member_id"), want.drop(columns="member_id"))


def test_never_attended_first_rule_to_fire_wins():
    # no attendance; 2nd scheduled session (week 1) comes before the exit (week 2)
    s = summary({"m": "---"}, exits={"m": (2, "moved")}, dropout="strict")
    assert s.loc["m", "dropped_on"] == wk(1) and s.loc["m", "dropout_rule"] == "consecutive_missed"


# ---------------------------------------------------------------------------
# group engagement
# ---------------------------------------------------------------------------
def test_group_engagement_by_hand():
    ds = weekly_dataset({"a": "PPA", "b": "PAP", "c": ".PE"}, group_of={"c": "G1"})
    per = ge.group_engagement(ds, level="session")
    assert per["scheduled"].tolist() == [2, 3, 3]
    assert per["present"].tolist() == [2, 2, 1]
    assert per["excused"].tolist() == [0, 0, 1]
    np.testing.assert_allclose(per["present_share"], [1.0, 2 / 3, 1 / 3])
    g = ge.group_engagement(ds)
    assert g["sessions_held"].iloc[0] == 3 and g["n_members"].iloc[0] == 3
    np.testing.assert_allclose(g["mean_present"].iloc[0], 5 / 3)
    # rates: a 2/3, b 2/3, c 1/1 (excused not offered)
    np.testing.assert_allclose(g["mean_attendance_rate"].iloc[0], (2 / 3 + 2 / 3 + 1) / 3)
    with pytest.raises(ConfigError, match="`level` must be 'group' or 'session'"):
        ge.group_engagement(ds, level="member")


# ---------------------------------------------------------------------------
# property test against a plain per-member implementation of the written rule
# ---------------------------------------------------------------------------
def reference_member(states, days, enr, obs_end, exit_day, reason, rule: Dropout):
    """Straightforward per-member loop over the rule as documented."""
    seq = []
    for s, d in zip(states, days):
        if s == "E":
            if rule.excused == "neither":
                continue
            s = "P" if rule.excused == "attended" else "A"
        seq.append((s == "P", d))
    offered = len(seq)
    att = [d for a, d in seq if a]
    cands = []
    k = rule.consecutive_missed
    if k is not None:
        if att:
            run, last, started = 0, None, False
            for a, d in seq:
                if a:
                    started, run, last = True, 0, d
                elif started:
                    run += 1
                    if run == k:
                        cands.append((last, d, 0))
                        break
        elif offered >= k:
            cands.append((None, seq[k - 1][1], 0))
    w = rule.weeks_without_attendance
    if w is not None:
        if att:
            for i, d in enumerate(att):
                nxt = att[i + 1] if i + 1 < len(att) else obs_end + 1
                if nxt - d > 7 * w:
                    cands.append((d, d + math.ceil(7 * w), 1))
                    break
        elif obs_end + 1 - enr > 7 * w:
            cands.append((None, enr + math.ceil(7 * w), 1))
    if rule.exits and exit_day is not None and reason not in rule.censor_exits:
        cands.append((att[-1] if att else None, exit_day, 2))
    if cands:
        ev, kn, _ = min(cands, key=lambda c: (-1e18 if c[0] is None else c[0], c[1]))
        status = "dropped"
    else:
        ev = kn = None
        status = "completed" if exit_day is not None else "active"
    return offered, len(att), status, ev, kn


marks_st = st.text(alphabet="PAE-", min_size=0, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=st.lists(st.tuples(marks_st, st.integers(0, 6), st.sampled_from([None, "completed", "moved"]),
                                  st.integers(0, 12)), min_size=1, max_size=8),
       rule=st.sampled_from(list(DROPOUT_PRESETS.values()) + [Dropout(weeks_without_attendance=2.5,
                                                                      excused="attended")]))
def test_vectorised_rule_matches_plain_loop(members, rule):
    n_weeks = 14
    marks, enrolled, exits = {}, {}, {}
    for i, (m, start, reason, exit_w) in enumerate(members):
        mid = f"m{i}"
        marks[mid] = ("." * start + m)[:n_weeks]
        enrolled[mid] = start
        if reason is not None:
            exits[mid] = (max(exit_w, start), reason)
    ds = weekly_dataset(marks, enrolled=enrolled, exits=exits, n_weeks=n_weeks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = ge.attendance_summary(ds, dropout=rule).set_index("member_id")
    base = START.toordinal()
    for mid, s in marks.items():
        days = [(START + pd.Timedelta(weeks=w)).toordinal() - base for w in range(n_weeks)]
        enr = 7 * enrolled[mid]
        ex = exits.get(mid)
        exit_day = 7 * ex[0] if ex else None
        obs_end = exit_day if exit_day is not None else days[-1]
        states, dd = [], []
        for w, d in enumerate(days):
            if d < enr or d > obs_end:
                continue
            c = s[w] if w < len(s) else "-"
            states.append({"P": "P", "A": "A", "E": "E", "-": "A", ".": "A"}[c])
            dd.append(d)
        offered, n_att, status, ev, kn = reference_member(states, dd, enr, obs_end, exit_day,
                                                           ex[1] if ex else None, rule)
        row = got.loc[mid]
        assert row["sessions_offered"] == offered, mid
        assert row["sessions_attended"] == n_att, mid
        assert row["status"] == status, (mid, s, row["status"], status)
        if status == "dropped":
            assert row["dropped_on"] == START + pd.Timedelta(days=kn), mid
            if ev is not None:
                assert row["event_time_weeks"] == pytest.approx((ev - enr) / 7), mid
