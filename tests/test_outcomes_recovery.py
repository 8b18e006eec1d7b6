"""Recovery of the known true effects of groupeval.sample (fixed seeds).

``sample.generate`` stores the exact expected scores and mean changes in
``meta["truth"]``; change(), mixed_model(), icc() and impute() must recover
them within their own confidence intervals (widened to 3.5 SE so that a
fixed seed cannot flake while a wrong estimator still fails).
"""
from __future__ import annotations

import warnings

import pytest

import groupeval as ge
from groupeval import icc, impute, mixed_model
from groupeval.base.exceptions import SmallSampleWarning
from groupeval.statistics.change import change
from groupeval.statistics.reliable_change import reliable_change

sample = pytest.importorskip("groupeval.sample")

Z = 3.5


@pytest.fixture(scope="module")
def programme():
    ds = sample.generate(seed=11, n_members=4000)
    return ds, ge.score(ds.responses, "phq9")


def test_change_recovers_true_mean_change_overall_and_by_group_type(programme):
    ds, sc = programme
    truth = ds.meta["truth"]
    for post in ("week_12", "week_26"):
        c = change(sc, "baseline", post, instrument="phq9").iloc[0]
        assert abs(c["mean_change"] - truth["change"]["phq9"][post]) < Z * c["se_cluster"], post
        assert c["improved_direction"] == "lower" and c["mean_change"] < 0
    by = change(sc, "baseline", "week_26", by="group_type", dataset=ds).set_index("group_type")
    for gt, t in truth["change_by_group_type"]["phq9"].items():
        assert abs(by.loc[gt, "mean_change"] - t["week_26"]) < Z * by.loc[gt, "se_cluster"], gt


def test_mixed_model_recovers_true_change_and_icc_recovers_true_icc(programme):
    ds, sc = programme
    truth = ds.meta["truth"]
    mm = mixed_model(sc, ds)
    ch = mm.changes.set_index("timepoint")
    for post in ("week_12", "week_26"):
        assert abs(ch.loc[post, "difference"] - truth["change"]["phq9"][post]) < Z * ch.loc[post, "se"], post
    true_icc = truth["score_icc"]["phq9"]["score"]
    base = icc(sc, timepoint="baseline").iloc[0]
    assert base["ci_low"] < true_icc < base["ci_high"]
    assert mm.method == "lmm" and mm.converged


def test_reliable_change_shares_are_consistent_with_true_direction(programme):
    ds, sc = programme
    res = reliable_change(sc, "phq9", "baseline", "week_26")
    s = res.summary.set_index("category")
    improved = s.loc["recovered", "n"] + s.loc["improved", "n"]
    worse = s.loc["deteriorated", "n"] + s.loc["harmed", "n"]
    assert improved > worse  # the programme improves PHQ-9 on average (a fall)
    assert s["n"].sum() == len(res.members)


def test_impute_itt_recovers_true_change(programme):
    ds, sc = programme
    small = sample.generate(seed=5, n_members=800)
    ssc = ge.score(small.responses, "phq9")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = impute(ssc, small, m=5, burn_in=3, skip=1, seed=2, mixed=False)
    s = res.summary.set_index("analysis")
    true = small.meta["truth"]["change"]["phq9"]["week_26"]
    mi = s.loc["multiple_imputation"]
    assert abs(mi["estimate"] - true) < Z * mi["se"]
    assert mi["n"] == small.members["member_id"].nunique() and mi["n_missing"] > 0
