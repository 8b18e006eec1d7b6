"""groupeval.statistics.survival_cluster against R survival 3.5.3 (and KMsurv's channing data).

Reference values: tests/reference/survival_cluster.R, which simulates its own
clustered, late-entry data (survival_cluster_input.csv) and writes R's values
(survival_cluster_*.csv).  CI does not run R; these tests read the committed
CSVs.  Agreement is required to 1e-6 (relative) where R computes the same thing.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from groupeval.base.exceptions import ConfigError, SmallSampleWarning, ValidationError
from groupeval.statistics.survival_cluster import (
    clustered_logrank,
    cox_cluster_variance,
    cox_cluster_wald,
    cox_fit,
    cox_information_contributions,
    cox_score_residuals,
    km_clustered,
    median_reportable,
)

REF = Path(__file__).resolve().parent / "reference"
TOL = dict(rtol=1e-6, atol=1e-9)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "survival_cluster_input.csv")


def _design(d: pd.DataFrame) -> np.ndarray:
    return np.c_[(d["group_type"] == "structured").astype(float), d["x"].to_numpy(float)]


def test_reference_input_exercises_late_entry_ties_and_time_zero(data):
    assert (data["entry_weeks"] > 0).sum() >= 20
    assert ((data["time_weeks"] == 0) & (data["event"] == 1)).any()
    assert data.loc[data["event"] == 1, "time_weeks"].duplicated().any()      # tied dropout weeks
    assert data["group_id"].nunique() == 10


# ---------------------------------------------------------------------------
# log-rank
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("factor", ["group_type", "band"])
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_robust_score_matches_R_coxph_cluster_robscore(data, factor, ties):
    ref = pd.read_csv(REF / "survival_cluster_logrank.csv")
    r = ref[(ref["factor"] == factor) & (ref["ties"] == ties) & (ref["test"] == "robust_score")].iloc[0]
    res = clustered_logrank(data["time_weeks"], data["event"], data[factor], data["group_id"], data["entry_weeks"],
                            ties=ties)
    row = res.table.set_index("test").loc["robust_score"]
    np.testing.assert_allclose(row["statistic"], r["statistic"], **TOL)
    assert row["df"] == r["df"]
    np.testing.assert_allclose(row["p_value"], stats.chi2.sf(r["statistic"], r["df"]), **TOL)


@pytest.mark.parametrize("factor", ["group_type", "band"])
def test_member_level_logrank_matches_R_counting_process_logrank(data, factor):
    ref = pd.read_csv(REF / "survival_cluster_logrank.csv")
    r = ref[(ref["factor"] == factor) & (ref["test"] == "logrank")].iloc[0]
    res = clustered_logrank(data["time_weeks"], data["event"], data[factor], data["group_id"], data["entry_weeks"])
    np.testing.assert_allclose(res.table.set_index("test").loc["logrank", "statistic"], r["statistic"], **TOL)


def test_member_level_logrank_matches_R_survdiff_without_late_entry(data):
    ref = pd.read_csv(REF / "survival_cluster_logrank.csv")
    r = ref[ref["factor"] == "group_type_no_late_entry"].iloc[0]
    d0 = data[data["entry_weeks"] == 0]
    res = clustered_logrank(d0["time_weeks"], d0["event"], d0["group_type"], d0["group_id"])
    np.testing.assert_allclose(res.table.set_index("test").loc["logrank", "statistic"], r["statistic"], **TOL)


@pytest.mark.parametrize("factor", ["group_type", "band"])
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_cluster_scores_match_R_score_residuals_at_zero_collapsed_by_group(data, factor, ties):
    ref = pd.read_csv(REF / "survival_cluster_scores0.csv")
    ref = ref[(ref["factor"] == factor) & (ref["ties"] == ties)]
    wide = ref.pivot(index="cluster", columns="column", values="score").sort_index()
    res = clustered_logrank(data["time_weeks"], data["event"], data[factor], data["group_id"], data["entry_weeks"],
                            ties=ties)
    mine = res.cluster_scores.sort_index()
    assert list(mine.index) == list(wide.index)
    np.testing.assert_allclose(mine.to_numpy(), wide.to_numpy(), **TOL)


def test_t2_small_sample_test_equals_scipy_one_sample_t_of_cluster_scores(data):
    # for one compared contrast, the Hotelling version is the one-sample t test of the cluster score totals
    res = clustered_logrank(data["time_weeks"], data["event"], data["group_type"], data["group_id"],
                            data["entry_weeks"])
    u = res.cluster_scores.iloc[:, 0].to_numpy()
    tt = stats.ttest_1samp(u, 0.0)
    row = res.table.set_index("test").loc["robust_score_t2"]
    np.testing.assert_allclose(row["statistic"], tt.statistic ** 2, rtol=1e-10)
    np.testing.assert_allclose(row["p_value"], tt.pvalue, rtol=1e-10)
    assert row["df_denom"] == len(u) - 1


def test_cr1_f_is_the_robust_score_scaled_and_bounded(data):
    res = clustered_logrank(data["time_weeks"], data["event"], data["band"], data["group_id"], data["entry_weeks"])
    t = res.table.set_index("test")
    G = res.n_clusters
    np.testing.assert_allclose(t.loc["robust_score_cr1_f", "statistic"],
                               t.loc["robust_score", "statistic"] * (G - 1) / G / 2, rtol=1e-12)
    assert t.loc["robust_score", "statistic"] <= G          # Cauchy-Schwarz bound behind the CR1-F weakness
    u = res.cluster_scores.to_numpy().sum(axis=0)          # the breslow score is O - E
    np.testing.assert_allclose(u, res.observed_minus_expected, rtol=1e-10)
    np.testing.assert_allclose(res.variance_robust, res.cluster_scores.to_numpy().T @ res.cluster_scores.to_numpy(),
                               rtol=1e-12)


# ---------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("stratum", ["overall", "drop-in", "structured"])
def test_km_greenwood_robust_and_grouped_jackknife_match_R_survfit(data, stratum):
    ref = pd.read_csv(REF / "survival_cluster_km.csv")
    ref = ref[ref["stratum"] == stratum].reset_index(drop=True)
    d = data if stratum == "overall" else data[data["group_type"] == stratum]
    km = km_clustered(d["time_weeks"], d["event"], d["entry_weeks"], d["group_id"])
    tab = km.table
    assert len(tab) == len(ref)
    for c in ("at_risk", "events", "censored"):
        assert (tab[c].to_numpy() == ref[c].to_numpy()).all(), c
    for c in ("time", "retention", "std_err_greenwood", "std_err_robust", "std_err_jackknife", "ci_low", "ci_high"):
        np.testing.assert_allclose(tab[c].to_numpy(float), ref[c].to_numpy(float), equal_nan=True, err_msg=c, **TOL)
    gw = km_clustered(d["time_weeks"], d["event"], d["entry_weeks"], d["group_id"], variance="greenwood").table
    np.testing.assert_allclose(gw["ci_low"], ref["ci_low_greenwood"], equal_nan=True, **TOL)
    np.testing.assert_allclose(gw["ci_high"], ref["ci_high_greenwood"], equal_nan=True, **TOL)
    assert km.n_clusters == d["group_id"].nunique()


def test_km_errors_built_in_blocks_of_groups_still_match_R_survfit(data, monkeypatch):
    """Large programmes build the group x time work arrays for blocks of groups; force 3-group blocks."""
    import groupeval.statistics.survival_cluster as sc

    ref = pd.read_csv(REF / "survival_cluster_km.csv")
    ref = ref[ref["stratum"] == "overall"].reset_index(drop=True)
    K = data["time_weeks"].nunique()
    monkeypatch.setattr(sc, "_CELLS_PER_BLOCK", 3 * K)
    tab = km_clustered(data["time_weeks"], data["event"], data["entry_weeks"], data["group_id"]).table
    for c in ("std_err_robust", "std_err_jackknife", "ci_low", "ci_high"):
        np.testing.assert_allclose(tab[c].to_numpy(float), ref[c].to_numpy(float), equal_nan=True, **TOL)
    quick = km_clustered(data["time_weeks"], data["event"], data["entry_weeks"], data["group_id"], jackknife=False)
    assert quick.table["std_err_jackknife"].isna().all()
    np.testing.assert_allclose(quick.table["std_err_robust"], tab["std_err_robust"], rtol=1e-12)


def test_km_robust_with_one_member_per_cluster_equals_greenwood_without_late_entry(data):
    d = data[data["entry_weeks"] == 0]
    tab = km_clustered(d["time_weeks"], d["event"], None, np.arange(len(d))).table
    np.testing.assert_allclose(tab["std_err_robust"], tab["std_err_greenwood"], equal_nan=True, rtol=1e-10)


def test_km_t_reference_uses_t_quantile_on_G_minus_1_and_cr1_scaling(data):
    km = km_clustered(data["time_weeks"], data["event"], data["entry_weeks"], data["group_id"], reference="t")
    G = km.n_clusters
    assert km.df == G - 1
    np.testing.assert_allclose(km.table["std_err"], km.table["std_err_robust"] * np.sqrt(G / (G - 1)), rtol=1e-12)
    tab = km.table
    ok = tab["retention"].between(0, 1, inclusive="neither")
    s, se = tab.loc[ok, "retention"].to_numpy(), tab.loc[ok, "std_err"].to_numpy()
    q = stats.t.ppf(0.975, G - 1)
    np.testing.assert_allclose(tab.loc[ok, "ci_low"], s ** np.exp(-q * se / np.log(s)), rtol=1e-10)


# ---------------------------------------------------------------------------
# KMsurv channing (men): late entry drives the curve to 0 early
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def channing():
    return pd.read_csv(REF / "survival_cluster_channing_men.csv"), pd.read_csv(REF / "survival_cluster_channing_km.csv")


def _compare_channing(tab: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert len(tab) == len(ref)
    for c in ("at_risk", "events", "censored"):
        assert (tab[c].to_numpy() == ref[c].to_numpy()).all(), c
    for c in ("time", "retention", "std_err_greenwood", "ci_low", "ci_high"):
        np.testing.assert_allclose(tab[c].to_numpy(float), ref[c].to_numpy(float), equal_nan=True, err_msg=c, **TOL)


def test_channing_men_curve_returned_at_zero_as_R_survfit_with_a_warning(channing):
    men, ref = channing
    with pytest.warns(SmallSampleWarning, match="start_time"):
        km = km_clustered(men["age"], men["death"], men["ageentry"])
    _compare_channing(km.table, ref[ref["curve"] == "unconditional"].reset_index(drop=True))
    assert km.zero_at == 781.0
    assert (km.table.loc[km.table["time"] >= 781, "retention"] == 0).all()
    assert km.table.loc[km.table["time"] >= 781, ["std_err", "ci_low", "ci_high"]].isna().all().all()
    assert "781" in km.note


def test_channing_men_conditional_curve_matches_R_survfit_start_time(channing):
    men, ref = channing
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSampleWarning)      # no zero-curve warning once conditioned
        km = km_clustered(men["age"], men["death"], men["ageentry"], start_time=68 * 12)
    _compare_channing(km.table, ref[ref["curve"] == "start_time_816"].reset_index(drop=True))
    assert np.isnan(km.zero_at)


def test_median_reportable_needs_enough_at_risk(channing, data):
    men, _ = channing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = km_clustered(men["age"], men["death"], men["ageentry"]).table
    ok, why = median_reportable(tab)
    assert not ok and "2 member(s) at risk" in why          # the first step to 0.5 rests on 2 men
    tab2 = km_clustered(data["time_weeks"], data["event"], data["entry_weeks"], data["group_id"]).table
    assert median_reportable(tab2) == (True, "")
    assert median_reportable(tab2, min_at_risk=10_000)[0] is False


# ---------------------------------------------------------------------------
# Cox
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_fit_matches_R_coxph(data, ties):
    ref = pd.read_csv(REF / "survival_cluster_cox.csv")
    ref = ref[ref["ties"] == ties]
    f = cox_fit(_design(data), data["time_weeks"], data["event"], data["entry_weeks"], ties=ties)
    assert f.converged
    np.testing.assert_allclose(f.coef, ref["coef"], **TOL)
    np.testing.assert_allclose(f.loglik, ref["loglik"].iloc[0], **TOL)
    np.testing.assert_allclose(f.loglik_null, ref["loglik_null"].iloc[0], **TOL)
    np.testing.assert_allclose(np.sqrt(np.diag(np.linalg.inv(f.information))), ref["se_model"], **TOL)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_score_residuals_match_R_residuals_score(data, ties):
    cox = pd.read_csv(REF / "survival_cluster_cox.csv")
    res = pd.read_csv(REF / "survival_cluster_cox_resid.csv")
    res = res[res["ties"] == ties]
    assert list(res["member_id"]) == list(data["member_id"])
    beta = cox.loc[cox["ties"] == ties, "coef"].to_numpy()
    U = cox_score_residuals(_design(data), data["time_weeks"], data["event"], data["entry_weeks"], beta, ties=ties)
    np.testing.assert_allclose(U, res[["r1", "r2"]].to_numpy(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_lin_wei_se_matches_R_coxph_cluster(data, ties):
    ref = pd.read_csv(REF / "survival_cluster_cox.csv")
    ref = ref[ref["ties"] == ties]
    with pytest.warns(SmallSampleWarning):
        out = cox_cluster_wald(_design(data), data["time_weeks"], data["event"], data["entry_weeks"],
                               data["group_id"], ref["coef"].to_numpy(), ties=ties, method="lin_wei")
    np.testing.assert_allclose(out["se"], ref["se_lin_wei"], **TOL)
    np.testing.assert_allclose(out["se_model"], ref["se_model"], **TOL)
    assert np.isinf(out["df"]).all()


def test_mancl_derouen_se_matches_R_loop_over_event_times(data):
    ref = pd.read_csv(REF / "survival_cluster_cox.csv")
    ref = ref[ref["ties"] == "breslow"]
    out = cox_cluster_wald(_design(data), data["time_weeks"], data["event"], data["entry_weeks"], data["group_id"],
                           ref["coef"].to_numpy(), ties="breslow", method="mancl_derouen", terms=["type", "x"])
    np.testing.assert_allclose(out["se"], ref["se_mancl_derouen"], **TOL)
    assert (out["df"] == data["group_id"].nunique() - 2).all()
    t = out["estimate"] / out["se"]
    np.testing.assert_allclose(out["p_value"], 2 * stats.t.sf(np.abs(t), 8), rtol=1e-12)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_information_contributions_sum_to_R_information(data, ties):
    ref = pd.read_csv(REF / "survival_cluster_cox.csv")
    ref = ref[ref["ties"] == ties]
    f = cox_fit(_design(data), data["time_weeks"], data["event"], data["entry_weeks"], ties=ties)
    J = cox_information_contributions(_design(data), data["time_weeks"], data["event"], data["entry_weeks"],
                                      f.coef, ties=ties)
    np.testing.assert_allclose(J.sum(axis=0), f.information, rtol=1e-10)
    assert (np.linalg.eigvalsh(J) >= -1e-12).all()                    # each member's share is psd
    np.testing.assert_allclose(np.sqrt(np.diag(np.linalg.inv(J.sum(axis=0)))), ref["se_model"], **TOL)


def test_cr1_is_lin_wei_times_G_over_G_minus_1(data):
    X = _design(data)
    f = cox_fit(X, data["time_weeks"], data["event"], data["entry_weeks"])
    args = (X, data["time_weeks"], data["event"], data["entry_weeks"], data["group_id"], f.coef)
    with pytest.warns(SmallSampleWarning):
        lw = cox_cluster_variance(*args, method="lin_wei")
    cr1 = cox_cluster_variance(*args, method="cr1")
    G = lw.n_clusters
    np.testing.assert_allclose(cr1.variance, lw.variance * G / (G - 1), rtol=1e-12)
    assert cr1.df == G - 1


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_bad_input_raises_groupeval_errors(data):
    with pytest.raises(ValidationError, match="time <= entry"):
        km_clustered([1.0, 2.0], [1, 0], [3.0, 0.0])
    with pytest.raises(ValidationError, match="different lengths"):
        km_clustered([1.0, 2.0], [1, 0, 1])
    with pytest.raises(ValidationError, match="0/1"):
        km_clustered([1.0, 2.0], [2, 0])
    with pytest.raises(ConfigError, match="ci"):
        km_clustered([1.0, 2.0], [1, 0], ci=95)
    with pytest.raises(ConfigError, match="need `cluster`"):
        km_clustered([1.0, 2.0], [1, 0], variance="robust")
    with pytest.raises(ConfigError, match="2 levels"):
        clustered_logrank(data["time_weeks"], data["event"], np.zeros(len(data)), data["group_id"])
    with pytest.raises(ValidationError, match="missing group id"):
        clustered_logrank([1.0, 2.0], [1, 1], ["a", "b"], ["g1", None])
    with pytest.raises(ConfigError, match="ties"):
        cox_fit(_design(data), data["time_weeks"], data["event"], ties="exact")


def test_undefined_results_are_nan_with_reason():
    # one cluster: no between-cluster spread, the small-sample tests are undefined
    t = np.array([1.0, 2.0, 3.0, 4.0, 2.0, 5.0])
    e = np.array([1, 1, 0, 1, 1, 0])
    with pytest.warns(SmallSampleWarning, match="fewer than 6"):
        res = clustered_logrank(t, e, ["a"] * 3 + ["b"] * 3, ["g1"] * 6)
    tab = res.table.set_index("test")
    for test in ("robust_score_cr1_f", "robust_score_t2"):
        assert np.isnan(tab.loc[test, "p_value"]) and tab.loc[test, "reason"], test
    assert np.isfinite(tab.loc["logrank", "p_value"])
    km = km_clustered(t, e, None, ["g1"] * 6)
    assert km.table["std_err_robust"].notna().any() and km.table["ci_low"].isna().all() and km.note


def test_signflip_p_value_equals_brute_force_enumeration(data):
    # the reference distribution, enumerated independently with itertools over the 2^G sign vectors
    import itertools

    d = data[data["group_id"].isin(sorted(data["group_id"].unique())[:8])]
    res = clustered_logrank(d["time_weeks"], d["event"], d["band"], d["group_id"], d["entry_weeks"])
    U = res.cluster_scores.to_numpy()
    Vinv = np.linalg.inv(U.T @ U)
    T = res.table.set_index("test").loc["robust_score", "statistic"]
    Tb = [float((np.array(e) @ U) @ Vinv @ (np.array(e) @ U)) for e in itertools.product([-1, 1], repeat=len(U))]
    row = res.table.set_index("test").loc["robust_score_signflip"]
    np.testing.assert_allclose(row["p_value"], np.mean(np.array(Tb) >= T - 1e-9), rtol=1e-12)
    assert row["statistic"] == T and row["reference"] == "sign-flip"


def test_signflip_with_many_clusters_is_seeded_monte_carlo():
    rng = np.random.default_rng(3)
    n = 400
    g = rng.integers(0, 20, n)
    t = rng.integers(0, 30, n).astype(float)
    e = rng.random(n) < 0.6
    arm = (g % 2).astype(str)
    a = clustered_logrank(t, e, arm, g, n_flips=999, seed=1).table.set_index("test").loc["robust_score_signflip"]
    b = clustered_logrank(t, e, arm, g, n_flips=999, seed=1).table.set_index("test").loc["robust_score_signflip"]
    assert a["p_value"] == b["p_value"] and "999 random sign flips" in a["reason"]
    assert 1 / 1000 <= a["p_value"] <= 1
