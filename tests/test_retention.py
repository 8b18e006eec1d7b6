"""retention(): result API; cohort_table, attrition (SMD), participant_flow,
retention_sensitivity.  Sources of truth: hand-worked cases (closed form),
Austin (2009) / Yang & Dalton (2012) SMD formulas worked by hand, and the
sample programme's known truth (helper B).  The comparisons with R live in
test_retention_against_R.py.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import groupeval as ge
from _helpers_retention import random_programme, weekly_dataset
from groupeval.base.exceptions import ConfigError, SchemaError, SmallSampleWarning
from groupeval.statistics.dropout import Dropout
from groupeval.statistics.flow import smd_categorical, smd_continuous
from groupeval.statistics.retention import RetentionResult
from groupeval.statistics.survival import kaplan_meier, logrank


def quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


# ---------------------------------------------------------------------------
# retention(): hand case and result API
# ---------------------------------------------------------------------------
def test_retention_hand_case_without_late_entry():
    # a drops at week 1 (event 1), b at week 2, c censored at 5, d censored at 5, e never attended
    ds = weekly_dataset({"a": "PPAAAA", "b": "PPPAAA", "c": "PPPPPP", "d": "PAPAPA", "e": "AAAAAA"})
    res = quiet(ge.retention, ds)
    assert isinstance(res, RetentionResult) and res._plotter == "plot_retention"
    t = res.table
    assert list(t.columns[:7]) == ["time", "at_risk", "events", "censored", "retention", "ci_low", "ci_high"]
    assert t["time"].tolist() == [1.0, 2.0, 5.0]
    assert t["at_risk"].tolist() == [4, 3, 2] and t["events"].tolist() == [1, 1, 0]
    np.testing.assert_allclose(t["retention"], [0.75, 0.5, 0.5])
    assert res.excluded["never_attended"] == 1
    s = res.summary.iloc[0]
    assert s["n"] == 4 and s["events"] == 2
    # S = 0.5 exactly from week 2 to the end, but only 3 members are at risk there (< MIN_AT_RISK_MEDIAN = 10):
    # no median, with the reason
    assert np.isnan(s["median_weeks"]) and np.isnan(s["median_ci_low"])
    assert "only 3 member(s) at risk where retention fell to one half (t = 2)" in s["median_reason"]
    assert "at least 10 are needed" in s["median_reason"]
    # min_at_risk=0 gives R's value: quantile.survfit gives 3.5 [1, NA]
    # (R: quantile(survfit(Surv(c(1,2,5,5), c(1,1,0,0)) ~ 1, conf.type = "log-log"), 0.5))
    s0 = quiet(ge.retention, ds, min_at_risk=0).summary.iloc[0]
    assert s0["median_weeks"] == pytest.approx((2 + 5) / 2) and s0["median_reason"] == ""
    assert s0["median_ci_low"] == 1.0 and np.isnan(s0["median_ci_high"])
    # follow-up ends at week 5: retention at 26 weeks is not an estimate (NaN with a reason), at 4 weeks it is
    assert s["retention_4w"] == 0.5 and np.isnan(s["retention_26w"]) and np.isnan(s["retention_26w_ci_low"])
    notes = res.notes.set_index(["quantity", "time"])
    assert notes.loc[("retention", 26.0), "reason"] == "after the last follow-up (week 5): not observed"
    at = res.at([4, 5, 26], columns=("retention", "reason"))
    assert at["retention"].tolist()[:2] == [0.5, 0.5] and np.isnan(at["retention"].iloc[2])
    assert at["reason"].tolist() == ["", "", "after the last follow-up (week 5): not observed"]
    assert res.at([26], columns=("retention",), extend=True)["retention"].iloc[0] == 0.5   # R's extend = TRUE
    assert res.logrank is None and res.test is None and res.tests is None
    # one group: no group-clustered interval (NaN, with the reason), Greenwood's stays
    assert s["n_groups"] == 1 and np.isnan(s["df_cluster"]) and np.isnan(s["retention_4w_ci_low_cluster"])
    assert np.isfinite(s["retention_4w_ci_low"]) and t["ci_low_cluster"].isna().all()
    assert "one group only" in res.notes.set_index("quantity").loc["ci_cluster", "reason"]
    assert res.methods == ("kaplan_meier", "greenwood") and res.ci == 0.95
    pd.testing.assert_frame_equal(res.to_frame(), res.table)
    assert res.at_risk["time"].iloc[0] == 0 and res.at_risk["at_risk"].iloc[0] == 4
    assert "retention" in repr(res).lower() and "<table" in res._repr_html_()


def test_retention_by_and_logrank_columns():
    ds = random_programme(n_groups=4, per_group=25)
    res = quiet(ge.retention, ds, by="facilitation")
    assert res.table.columns[0] == "facilitation"
    assert set(res.summary["facilitation"]) == {"peer", "co-facilitated"}
    assert list(res.logrank.columns) == ["test", "statistic", "df", "p_value", "method", "role"]
    assert res.logrank["df"].iloc[0] == 1 and res.logrank["role"].iloc[0] == "secondary"
    # 4 groups (< MIN_CLUSTERS_TEST = 6): no clustered test, and the result says why
    t = res.test.iloc[0]
    assert not t["valid"] and np.isnan(t["p_value"]) and t["n_groups"] == 4 and "only 4 group(s)" in t["reason"]
    assert "robust_score_logrank" not in res.methods and "logrank" in res.methods
    assert {"facilitation", "time", "at_risk"} <= set(res.at_risk.columns)
    by_member = quiet(ge.retention, ds, by="gender")          # a member covariate works too
    assert set(by_member.summary["gender"]) == {"female", "male"}


def test_retention_argument_errors():
    ds = weekly_dataset({"a": "PPA"})
    with pytest.raises(ConfigError, match=r"(?s)`by` names a column found neither.*choose one of"):
        ge.retention(ds, by="colour")
    with pytest.raises(ConfigError, match="`alpha` must be between 0 and 1"), pytest.warns(DeprecationWarning):
        ge.retention(ds, alpha=5)
    with pytest.raises(ConfigError, match="`times` must be non-negative"):
        ge.retention(ds, times=(-1,))
    with pytest.raises(SchemaError, match="Expected a groupeval Dataset"):
        ge.retention("attendance.csv")


def test_small_curve_warns():
    with pytest.warns(SmallSampleWarning, match="only 2 member"):
        ge.retention(weekly_dataset({"a": "PPA", "b": "PAP"}))


def test_late_entrant_ending_at_entry_is_excluded_with_warning():
    ds = weekly_dataset({"old": "PAAA", "new": "PPPP"}, enrolled={"old": -2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        with pytest.warns(ge.exceptions.DataQualityWarning, match="1 late-entry member"):
            res = ge.retention(ds)
    assert res.excluded["ends_at_entry"] == 1 and list(res.members["member_id"]) == ["new"]


def test_groupeval_retention_callable_after_submodule_import():
    import groupeval.statistics.retention as mod  # noqa: F401  (sets the package attribute to the module)

    res = quiet(ge.retention, weekly_dataset({"a": "PPA", "b": "PPPP"}))
    assert isinstance(res, RetentionResult)


# ---------------------------------------------------------------------------
# retention(): cluster-aware defaults and guardrails
# ---------------------------------------------------------------------------
def test_retention_result_is_a_frozen_dataclass_with_declared_fields():
    ds = random_programme(n_groups=6, per_group=15)
    res = quiet(ge.retention, ds, by="facilitation", ci=0.9)
    names = [f.name for f in dataclasses.fields(res)]
    assert names[:6] == ["table", "summary", "test", "tests", "logrank", "notes"]
    assert {"n_groups", "methods", "ci", "cluster", "min_at_risk", "at_risk"} <= set(names)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.ci = 0.5
    assert res.ci == 0.9 and res.n_groups == 6 and isinstance(res.methods, tuple)
    with pytest.warns(DeprecationWarning, match="use .ci"):
        assert res.alpha == pytest.approx(0.1)


def test_alpha_is_deprecated_but_still_gives_the_same_intervals():
    ds = random_programme(n_groups=6, per_group=15)
    new = quiet(ge.retention, ds, ci=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        with pytest.warns(DeprecationWarning, match="`alpha` is deprecated"):
            old = ge.retention(ds, alpha=0.1)
    pd.testing.assert_frame_equal(old.table, new.table)
    with pytest.raises(ConfigError, match="both ci=0.8 and alpha=0.1"):
        quiet(ge.retention, ds, ci=0.8, alpha=0.1)
    with pytest.raises(ConfigError, match="`ci` must be a confidence level"):
        ge.retention(ds, ci=95)
    with pytest.warns(DeprecationWarning):
        tab = kaplan_meier([1, 2, 3], [1, 0, 1], alpha=0.1)
    pd.testing.assert_frame_equal(tab, kaplan_meier([1, 2, 3], [1, 0, 1], ci=0.9))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        with pytest.warns(DeprecationWarning):
            cox_old = ge.cox_model(ds, covariates=("facilitation",), alpha=0.1)
    cox_new = quiet(ge.cox_model, ds, covariates=("facilitation",), ci=0.9)
    pd.testing.assert_frame_equal(cox_old.summary, cox_new.summary)


def test_fewer_than_six_groups_gives_no_test_and_says_why():
    ds = random_programme(n_groups=5, per_group=20)
    with pytest.warns(SmallSampleWarning, match="only 5 group"):
        res = ge.retention(ds, by="facilitation")
    t = res.test.iloc[0]
    assert not t["valid"] and np.isnan(t["statistic"]) and np.isnan(t["p_value"]) and t["n_groups"] == 5
    assert "fewer than 6 groups no test" in t["reason"] and "at most the number of groups" in t["reason"]
    assert list(res.tests["test"]) == ["logrank"]                 # only the labelled secondary figure
    assert res.logrank["role"].iloc[0] == "secondary" and np.isfinite(res.logrank["p_value"].iloc[0])
    assert "robust_score_logrank" not in res.methods


def test_a_level_with_a_single_group_gives_no_test():
    ds = random_programme(n_groups=7, per_group=15)       # one group type has a single group
    with pytest.warns(SmallSampleWarning, match="represented by a single group"):
        res = ge.retention(ds, by="group_type")
    t = res.test.iloc[0]
    assert not t["valid"] and np.isnan(t["p_value"]) and t["min_groups_per_level"] == 1
    assert "represented by a single group" in t["reason"]


def test_levels_with_two_groups_warn_but_are_tested():
    ds = random_programme(n_groups=8, per_group=15)       # four group types, two groups each
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ge.retention(ds, by="group_type")
    assert any("fewer than 3 groups" in str(w.message) for w in caught)
    t = res.test.iloc[0]
    assert t["valid"] and t["test"] == "robust_score" and t["min_groups_per_level"] == 2


def test_comparing_the_groups_themselves_uses_the_member_level_logrank():
    ds = random_programme(n_groups=4, per_group=20)
    res = quiet(ge.retention, ds, by="group_id")
    t = res.test.iloc[0]
    direct = logrank(res.members["time_weeks"], res.members["event"], res.members["group_id"],
                     res.members["entry_weeks"])
    assert t["valid"] and t["test"] == "logrank" and t["statistic"] == pytest.approx(direct["statistic"])
    assert res.logrank["role"].iloc[0] == "primary"
    # one group per curve: no clustered interval, Greenwood's stays
    assert res.summary["df_cluster"].isna().all() and res.table["ci_low"].notna().any()


def test_logrank_with_cluster_is_the_clustered_comparison():
    ds = random_programme(n_groups=6, per_group=15)
    res = quiet(ge.retention, ds, by="facilitation")
    m = res.members
    out = quiet(logrank, m["time_weeks"], m["event"], m["facilitation"], m["entry_weeks"], cluster=m["group_id"])
    assert out["test"] == "robust_score" and out["n_groups"] == 6
    assert out["statistic"] == pytest.approx(res.test["statistic"].iloc[0], rel=1e-12)


def test_by_missing_for_every_member_says_what_to_do():
    ds = random_programme(n_groups=4, per_group=10)
    ds = ds.replace(groups=ds.groups.assign(group_type=None))
    with pytest.raises(ConfigError, match="`by` column 'group_type' has no value for any"):
        quiet(ge.retention, ds, by="group_type")


def test_late_entry_emptying_the_risk_set_returns_the_curve_with_a_note():
    # a is the only member at risk at week 1 (the others entered the data window at week 5) and drops out:
    # S = 0 from week 1 although 3 members are followed later (lifelines raised StatError here)
    ds = weekly_dataset({"a": "PPAAAAAAAA", "b": "PPPPP", "c": "PPPPP", "d": "PPPPP"},
                        group_of={"a": "G1", "b": "G2", "c": "G2", "d": "G2"}, group_start={"G2": 5},
                        enrolled={"b": -5, "c": -5, "d": -5})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "retention: only", SmallSampleWarning)
        with pytest.warns(SmallSampleWarning, match="start_time"):
            res = ge.retention(ds)
    assert (res.members.set_index("member_id").loc[["b", "c", "d"], "entry_weeks"] == 5).all()
    assert res.table["retention"].iloc[0] == 0.0 and (res.table["retention"] == 0).all()
    curve = res.notes.set_index("quantity").loc["curve"]
    assert curve["time"] == 1.0 and "later entrants cannot lift it" in curve["reason"]


# ---------------------------------------------------------------------------
# cohort table
# ---------------------------------------------------------------------------
def test_cohort_table_by_hand():
    # January cohort (enrolled week 0): a drops (event week 1), b active to week 7
    # February cohort (enrolled week 4 = 3 Feb): c drops at event 0, d active (followed 3 weeks)
    ds = weekly_dataset({"a": "PPAAAAAA", "b": "PPPPPPPP", "c": "....PAAA", "d": "....PPPP"})
    tab = ge.cohort_table(ds, weeks=(0, 1, 4))
    jan = tab[tab["cohort"] == "2025-01"].set_index("week")
    feb = tab[tab["cohort"] == "2025-02"].set_index("week")
    assert jan["n_enrolled"].tolist() == [2, 2, 2]
    assert jan["retained"].tolist() == [2, 1, 1] and jan["n_observed"].tolist() == [2, 2, 2]
    assert feb["retained"].tolist() == [1, 1, 0]
    assert feb["n_observed"].tolist() == [2, 2, 1]      # d is followed for 3 weeks only
    np.testing.assert_allclose(feb["retained_share"], [0.5, 0.5, 0.0])
    wide = ge.cohort_table(ds, weeks=(0, 1, 4), wide=True)
    assert list(wide.columns) == ["cohort", "n_enrolled", "week_0", "week_1", "week_4"]
    np.testing.assert_allclose(wide.set_index("cohort").loc["2025-01", ["week_0", "week_1", "week_4"]], [1, .5, .5])


# ---------------------------------------------------------------------------
# SMD (Austin 2009; Yang & Dalton 2012, as tableone) by hand
# ---------------------------------------------------------------------------
def test_smd_continuous_matches_austin_formula_by_hand():
    # dropped 1,2,3: mean 2, var 1; stayed 2,4,6,8: mean 5, var 20/3
    assert smd_continuous([1, 2, 3], [2, 4, 6, 8]) == pytest.approx(-3 / math.sqrt((1 + 20 / 3) / 2))


def test_smd_binary_matches_tableone_formula_by_hand():
    p1, p0 = 2 / 3, 1 / 4
    expected = abs(p1 - p0) / math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    assert smd_categorical(["f", "f", "m"], ["f", "m", "m", "m"]) == pytest.approx(expected)


def test_smd_three_levels_matches_yang_dalton_by_hand():
    # levels a, b, c; T (dropped) = (a .5, b .25, c .25), C (stayed) = (a .25, b .25, c .5)
    x1 = ["a", "a", "b", "c"]
    x0 = ["a", "b", "c", "c"]
    T = (0.25, 0.25)   # b, c (first level dropped)
    C = (0.25, 0.5)
    s11 = (T[0] * (1 - T[0]) + C[0] * (1 - C[0])) / 2
    s22 = (T[1] * (1 - T[1]) + C[1] * (1 - C[1])) / 2
    s12 = -(T[0] * T[1] + C[0] * C[1]) / 2
    det = s11 * s22 - s12 * s12
    d = (T[0] - C[0], T[1] - C[1])
    quad = (d[0] * d[0] * s22 - 2 * d[0] * d[1] * s12 + d[1] * d[1] * s11) / det
    assert smd_categorical(x1, x0) == pytest.approx(math.sqrt(quad))


def test_attrition_tables():
    ds = random_programme(n_groups=4, per_group=30)
    scores = pd.DataFrame({"member_id": ds.members["member_id"], "timepoint": "baseline",
                           "score": np.arange(len(ds.members), dtype=float) % 7})
    res = quiet(ge.attrition, ds, scores=scores)
    summ = quiet(ge.attendance_summary, ds)
    dropped = (summ["status"] == "dropped").to_numpy()
    row = res.summary.set_index("variable").loc["baseline_score"]
    sc = scores["score"].to_numpy()
    assert row["smd"] == pytest.approx(smd_continuous(sc[dropped], sc[~dropped]))
    assert row["n_dropped"] == dropped.sum()
    assert set(res.summary["variable"]) == {"age_band", "gender", "group_type", "facilitation", "baseline_score"}
    g = res.smd[(res.smd["variable"] == "gender") & res.smd["level"].notna()]
    np.testing.assert_allclose(g["mean_dropped"].sum(), 1.0)
    assert list(res.completion.columns) == ["timepoint", "due_weeks", "n_expected", "n_completed",
                                            "completion_rate", "target", "meets_target", "shortfall"]


def test_follow_up_completion_against_target_by_hand():
    # 5 members with a baseline; week_12 due for all (cut-off after 12 weeks), 3 completed
    marks = {m: "P" * 14 for m in "abcde"}
    resp = pd.DataFrame({"member_id": list("abcde") + list("abc"),
                         "timepoint": ["baseline"] * 5 + ["week_12"] * 3,
                         "brs_1": [3.0] * 8})
    ds = weekly_dataset(marks, responses=resp, timepoints=("baseline", "week_12"))
    res = quiet(ge.attrition, ds, target=0.8)
    c = res.completion.iloc[0]
    assert (c["timepoint"], c["due_weeks"], c["n_expected"], c["n_completed"]) == ("week_12", 12.0, 5, 3)
    assert c["completion_rate"] == 0.6 and not c["meets_target"] and c["shortfall"] == 1
    with pytest.raises(ConfigError, match="`target` must be a share"):
        ge.attrition(ds, target=80)


# ---------------------------------------------------------------------------
# participant flow
# ---------------------------------------------------------------------------
def test_participant_flow_by_hand():
    marks = {"a": "PPPP", "b": "PAAA", "c": "AAAA", "d": "PPPP"}
    resp = pd.DataFrame({"member_id": ["a", "b", "c", "a", "d"],
                         "timepoint": ["baseline", "baseline", "baseline", "week_26", "week_26"],
                         "brs_1": [3.0, 2.0, 1.0, 4.0, 5.0]})
    ds = weekly_dataset(marks, responses=resp, timepoints=("baseline", "week_12", "week_26"))
    flow = quiet(ge.participant_flow, ds).set_index("stage")
    assert flow["n"].to_dict() == {"enrolled": 4, "attended": 3, "baseline": 2, "week_12": 0, "week_26": 1,
                                   "analysed": 1}
    assert flow.loc["attended", "n_lost"] == 1 and flow.loc["baseline", "reference"] == "attended"
    assert flow.loc["analysed", "share_of_enrolled"] == 0.25
    # with scores: a missing score does not count as completed
    scores = resp.rename(columns={"brs_1": "score"}).assign(score=[3.0, np.nan, 1.0, 4.0, 5.0])
    f2 = quiet(ge.participant_flow, ds, scores).set_index("stage")
    assert f2.loc["baseline", "n"] == 1


# ---------------------------------------------------------------------------
# sensitivity
# ---------------------------------------------------------------------------
def test_retention_sensitivity_side_by_side():
    ds = random_programme(n_groups=4, per_group=25)
    out = quiet(ge.retention_sensitivity, ds, rules={"k3": Dropout(), "k2": "strict", "k4": "lenient"})
    assert list(out.columns) == ["rule", "description", "time", "n", "events", "n_groups", "df_cluster", "at_risk",
                                 "retention", "ci_low", "ci_high", "ci_low_cluster", "ci_high_cluster", "reason"]
    r = out.set_index(["rule", "time"])["retention"]
    # a stricter rule can only drop more people earlier
    assert r[("k2", 12.0)] <= r[("k3", 12.0)] <= r[("k4", 12.0)]
    direct = quiet(ge.retention, ds, dropout="strict", times=(12, 26)).summary
    assert r[("k2", 26.0)] == pytest.approx(direct["retention_26w"].iloc[0], rel=1e-12)
    c = out.set_index(["rule", "time"])["ci_low_cluster"]
    assert c[("k2", 26.0)] == pytest.approx(direct["retention_26w_ci_low_cluster"].iloc[0], rel=1e-12)
    assert (out["n_groups"] == 4).all() and (out["df_cluster"] == 3).all() and (out["reason"] == "").all()
    with pytest.raises(ConfigError, match="`rules` is empty"):
        ge.retention_sensitivity(ds, rules={})


# ---------------------------------------------------------------------------
# sample programme (helper B) with known truth
# ---------------------------------------------------------------------------
def test_sample_programme_dropout_share_near_truth():
    ds = ge.sample.generate(seed=5, n_members=3000)
    res = quiet(ge.retention, ds, times=(26,))
    s = res.summary.iloc[0]
    truth = ds.meta["truth"]["dropout_share_26w"]
    # 3-misses rule vs the generator's latent stopping time: agree within a few points
    assert abs((1 - s["retention_26w"]) - truth) < 0.05
    summ = quiet(ge.attendance_summary, ds)
    assert abs(summ["attendance_rate"].mean() - ds.meta["truth"]["attendance_rate"]) < 0.08
    flow = quiet(ge.participant_flow, ds)
    assert flow["n"].iloc[0] == ds.members["member_id"].nunique()
    assert (np.diff(flow.set_index("stage").loc[["enrolled", "attended", "baseline"], "n"]) <= 0).all()


# ---------------------------------------------------------------------------
# Cox model: inputs and errors (numbers are checked against R in test_retention_against_R.py)
# ---------------------------------------------------------------------------
def test_cox_model_with_baseline_scores_and_complete_cases():
    ds = random_programme(n_groups=8, per_group=25)
    rng = np.random.default_rng(3)
    ids = ds.members["member_id"]
    sc = pd.DataFrame({"member_id": ids, "timepoint": "baseline", "score": rng.normal(3, 1, len(ids))})
    sc.loc[sc.index[:10], "score"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        with pytest.warns(ge.exceptions.DataQualityWarning, match="missing covariate"):
            res = ge.cox_model(ds, covariates=("facilitation",), baseline_scores={"brs": sc})
    assert list(res.summary["term"]) == ["facilitation[peer]", "baseline_brs"]
    assert list(res.summary.columns) == ["term", "coef", "hr", "se", "se_model", "df", "t", "p_value", "ci_low",
                                         "ci_high", "variance", "n_groups", "se_lin_wei"]
    # 8 groups, 2 terms: Mancl-DeRouen with t on G - p = 6 df
    assert res.variance == "mancl_derouen" and res.df == 6.0 and (res.summary["df"] == 6.0).all()
    assert res.excluded["missing_covariates"] >= 1
    assert res.n == len(res.data) and res.n_clusters == 8
    # the fitter saw exactly the model frame
    np.testing.assert_allclose(res.fitter.params_.to_numpy(), res.summary["coef"].to_numpy())


def test_cox_model_errors():
    ds = random_programme(n_groups=4, per_group=20)
    with pytest.raises(ConfigError, match="needs at least one covariate"):
        ge.cox_model(ds, covariates=())
    with pytest.raises(ConfigError, match=r"(?s)column 'meeting_place'.*choose one of: age_band"):
        quiet(ge.cox_model, ds, covariates=("group_type", "meeting_place"))
    groups = ds.groups.assign(site="Leeds")
    with pytest.raises(ConfigError, match=r"covariate\(s\) \['site'\] take a single value"):
        quiet(ge.cox_model, ds.replace(groups=groups), covariates=("site",))


def test_cox_model_small_sample_guardrails():
    ds4 = random_programme(n_groups=4, per_group=20)
    with pytest.raises(ConfigError, match="are collinear"):          # 4 types x 4 groups + facilitation
        quiet(ge.cox_model, ds4)
    with pytest.warns(SmallSampleWarning, match="only 4 groups"):
        res = ge.cox_model(ds4, covariates=("facilitation",))
    assert res.df == 3.0 and res.n_groups == res.n_clusters == 4 and res.variance == "mancl_derouen"
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.df = 1.0
    ds7 = random_programme(n_groups=7, per_group=20)                 # one group type has a single group
    with pytest.warns(SmallSampleWarning, match="represented by a single group"):
        res = ge.cox_model(ds7)
    s = res.summary.set_index("term")
    single = [t for t in s.index if np.isnan(s.loc[t, "p_value"])]
    assert len(single) == 1 and single[0].startswith("group_type[") and single[0] in res.note
    assert np.isfinite(s.drop(index=single)["p_value"]).all() and np.isfinite(s["se_lin_wei"]).all()
    ds8 = random_programme(n_groups=8, per_group=20)
    with pytest.warns(SmallSampleWarning, match="Lin-Wei variance with a normal reference is anti-conservative"):
        lw = ge.cox_model(ds8, covariates=("facilitation",), variance="lin_wei")
    assert lw.methods[:2] == ("cox", "lin_wei") and np.isinf(lw.df)
    cr1 = quiet(ge.cox_model, ds8, covariates=("facilitation",), variance="cr1")
    assert cr1.df == 7.0
    np.testing.assert_allclose(cr1.summary["se"], lw.summary["se"] * np.sqrt(8 / 7), rtol=1e-10)
    with pytest.raises(ConfigError, match="`variance` must be one of"):
        ge.cox_model(ds8, variance="sandwich")


def test_attrition_result_is_a_dataclass_with_methods():
    ds = random_programme(n_groups=4, per_group=20)
    res = quiet(ge.attrition, ds)
    assert [f.name for f in dataclasses.fields(res)] == ["smd", "completion", "target", "methods"]
    assert res.methods == ("smd",) and len(res.summary) == res.smd["level"].isna().sum()


def test_nobody_in_the_curve_gives_no_estimate():
    ds = weekly_dataset({"a": "AAAA", "b": "AAAA"})
    res = quiet(ge.retention, ds)
    s = res.summary.iloc[0]
    assert s["n"] == 0 and np.isnan(s["retention_12w"]) and np.isnan(s["median_weeks"])
    assert res.excluded["never_attended"] == 2 and res.table.empty


def test_missing_by_value_is_counted_not_silently_dropped():
    ds = weekly_dataset({"a": "PPAAA", "b": "PPPPP", "c": "PAPAP"}, extra_members={"a": {"gender": "f"},
                                                                                    "b": {"gender": "m"}})
    res = quiet(ge.retention, ds, by="gender")
    assert res.excluded["missing_by"] == 1 and set(res.summary["gender"]) == {"f", "m"}


def test_sensitivity_by_column_and_due_override():
    ds = random_programme(n_groups=4, per_group=20)
    out = quiet(ge.retention_sensitivity, ds, rules={"k3": "default"}, by="facilitation")
    assert set(out["facilitation"]) == {"peer", "co-facilitated"} and len(out) == 4
    resp = pd.DataFrame({"member_id": ["M0001", "M0001"], "timepoint": ["baseline", "month_3"], "x_1": [1.0, 2.0]})
    ds2 = ds.replace(responses=resp, timepoints=("baseline", "month_3"))
    c = quiet(ge.attrition, ds2).completion.iloc[0]
    assert c["due_weeks"] == pytest.approx(13.0)           # 3 months = 13 weeks
    c = quiet(ge.attrition, ds2, due={"month_3": 100}).completion.iloc[0]
    assert c["due_weeks"] == 100 and c["n_expected"] == 0  # not due yet for anyone
