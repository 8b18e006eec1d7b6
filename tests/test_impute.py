"""impute: the group level in the imputation model, CR2 analysis, the fraction of missing
information, and the delta-adjusted sensitivity analysis with its tipping point.

References: clubSandwich CR2 mean change (tests/reference/outcomes_cr2.R), R mice with the
group as a fixed effect and the FIMD section 3.8 delta adjustment (tests/reference/impute_mice.R),
closed forms (the pooled mean moves by exactly delta x share imputed).
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from groupeval import impute
from groupeval.base.exceptions import ConfigError, DataQualityWarning, SmallSampleWarning
from groupeval.statistics._common import cluster_mean, rubin_pool
from groupeval.statistics.impute import FIXED_EFFECTS_MAX_GROUPS, HIGH_FMI

REF = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="module")
def long():
    return pd.read_csv(REF / "outcomes_input.csv", dtype={"member_id": str, "group_id": str})


@pytest.fixture(scope="module")
def mice_data():
    return pd.read_csv(REF / "impute_input.csv", dtype={"member_id": str, "group_id": str})


@pytest.fixture(scope="module")
def sens(long):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return impute(long, m=5, burn_in=3, skip=1, seed=1, mixed=False, instrument="phq9",
                      delta=[0.0, 0.5, 1.0, 2.0, 4.0])


def test_completers_row_is_the_CR2_mean_change_of_clubSandwich(long):
    ref = pd.read_csv(REF / "outcomes_cr2_change.csv")
    r = ref[(ref["data"] == "all") & (ref.pre == "baseline") & (ref.post == "week_26") & (ref["by"] == "(all)")]
    r = r.iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = impute(long, m=2, burn_in=1, skip=1, mixed=False)
    c = res.summary.set_index("analysis").loc["completers"]
    assert c["n"] == r["n"] and c["n_groups"] == r["n_groups"]
    assert c["estimate"] == pytest.approx(r["estimate"], rel=1e-12)
    assert c["se"] == pytest.approx(r["se"], rel=1e-8)
    assert c["df"] == pytest.approx(r["df"], rel=1e-8)
    assert c["p_value"] == pytest.approx(r["p_value"], rel=1e-6)


def test_pooling_uses_CR2_per_imputation_and_its_df_as_the_complete_data_df(sens, long):
    # the complete-data df of Barnard-Rubin is the CR2 Satterthwaite df of a mean over all members
    members = long.drop_duplicates("member_id")
    g = pd.factorize(members["group_id"])[0]
    _, _, dfc = cluster_mean(np.zeros(len(g)), np.zeros(len(g), dtype=int), g, 1)
    again = rubin_pool(sens.estimates["estimate"], sens.estimates["variance"], df_complete=float(dfc[0]))
    mi = sens.summary.set_index("analysis").loc["multiple_imputation"]
    for k in ("estimate", "se", "df", "ci_low", "ci_high", "p_value"):
        assert mi[k] == pytest.approx(again[k], rel=1e-12), k
    assert dfc[0] < len(pd.unique(g))  # unequal group sizes: fewer than G - 1 df
    assert sens.vcov == "CR2" and "cr2" in sens.methods and sens.n_clusters == 30


def test_delta_zero_equals_MAR_and_delta_moves_the_mean_by_delta_times_share_exactly(sens):
    s = sens.sensitivity
    mar = sens.summary.set_index("analysis").loc["multiple_imputation"]
    zero = s.iloc[0]
    for k in ("estimate", "se", "df", "ci_low", "ci_high", "p_value"):
        assert zero[k] == mar[k], k
    share = zero["share_imputed"]
    assert 0 < share < 1
    # phq9: higher is worse, so "worse" adds delta to every imputed week_26 score
    assert (s["shift"] == s["delta"]).all()
    np.testing.assert_allclose(s["estimate"] - zero["estimate"], s["delta"] * share, rtol=1e-12, atol=1e-13)
    assert (np.diff(s["ci_high"]) > 0).all()


def test_tipping_point_is_where_the_CI_limit_reaches_zero(sens):
    tip = sens.tipping_point
    assert tip["from"] == "improved" and tip["found"] and tip["to"] == "no clear change"
    assert tip["limit"] == "ci_high"  # a fall is an improvement on the PHQ-9: the upper limit crosses 0
    at = sens.at_delta(tip["delta"])
    assert at["ci_high"] == pytest.approx(0.0, abs=1e-8)
    s = sens.sensitivity
    assert ((s["delta"] < tip["delta"]) == (s["conclusion"] == "improved")).all()


def test_delta_needs_a_direction_and_valid_values(long):
    with pytest.raises(ConfigError, match="which direction is worse"):
        impute(long, m=2, burn_in=1, skip=1, mixed=False, delta=[1.0])
    with pytest.raises(ConfigError, match=">= 0"):
        impute(long, m=2, burn_in=1, skip=1, mixed=False, delta=[-1.0], instrument="phq9")
    with pytest.raises(ConfigError, match="`nesting`"):
        impute(long, m=2, nesting="random")


def test_higher_is_better_moves_imputed_follow_ups_down(long):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = impute(long, m=3, burn_in=2, skip=1, mixed=False, higher_is_better=True, delta="auto")
    s = res.sensitivity
    assert len(s) == 11 and s["delta"].iloc[0] == 0 and (s["shift"] == -s["delta"]).all()
    assert (np.diff(s["estimate"]) < 0).all()
    # a fall is a worsening on a higher-is-better scale: already worse at delta 0, nothing to tip
    assert res.tipping_point["from"] == "worsened" and not res.tipping_point["found"]
    assert np.isnan(res.tipping_point["delta"]) and "cannot overturn" in res.tipping_point["reason"]


def test_nesting_options_put_the_group_level_in_the_imputation_model(long):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = impute(long, m=2, burn_in=1, skip=1, mixed=False)
        means = impute(long, m=2, burn_in=1, skip=1, mixed=False, nesting="group_means")
        none = impute(long, m=2, burn_in=1, skip=1, mixed=False, nesting="none")
    assert 30 <= FIXED_EFFECTS_MAX_GROUPS and fixed.nesting == "fixed"
    assert sum(p.startswith("grp") for p in fixed.predictors) == 29
    assert [p for p in means.predictors if p.startswith("gm_")] == ["gm_y0", "gm_y1", "gm_y2"]
    assert not any(p.startswith(("grp", "gm_")) for p in none.predictors)
    assert "mice_fixed" in fixed.methods and "mice_single_level" in none.methods


def test_group_fixed_effects_recover_a_change_that_single_level_imputation_misses():
    # groups differ in their change and the groups that improve most lose most follow-ups
    # (MAR given the group): imputing without the group pulls the missing changes to the average
    rng = np.random.default_rng(7)
    rows = []
    for g in range(12):
        gain = -6.0 if g < 6 else 0.0
        p_miss = 0.7 if g < 6 else 0.1
        for i in range(40):
            base = 15 + rng.normal(0, 3)
            rows.append((f"G{g:02d}", f"G{g:02d}M{i:02d}", "baseline", round(base)))
            if rng.random() > p_miss:
                rows.append((f"G{g:02d}", f"G{g:02d}M{i:02d}", "week_26", round(base + gain + rng.normal(0, 2))))
    d = pd.DataFrame(rows, columns=["group_id", "member_id", "timepoint", "score"])
    truth = -3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fe = impute(d, m=10, burn_in=5, skip=2, seed=3, mixed=False).summary.set_index("analysis")
        sl = impute(d, m=10, burn_in=5, skip=2, seed=3, mixed=False, nesting="none").summary.set_index("analysis")
    mi_fe, mi_sl = fe.loc["multiple_imputation"], sl.loc["multiple_imputation"]
    assert abs(mi_fe["estimate"] - truth) < 3 * mi_fe["se"]
    assert abs(mi_sl["estimate"] - truth) > 2 * abs(mi_fe["estimate"] - truth)
    assert mi_sl["estimate"] > -2.2  # the completers' average (mostly the groups that did not change)


def test_high_fraction_of_missing_information_is_warned():
    # 92% of follow-ups missing and nothing that predicts them: nearly all information is missing
    # (R mice's pmm on the same kind of data gives FMI 0.98-0.99)
    rng = np.random.default_rng(3)
    rows = []
    for g in range(20):
        for i in range(30):
            rows.append((f"G{g:02d}", f"G{g:02d}M{i:02d}", "baseline", round(15 + rng.normal(0, 3))))
            if rng.random() > 0.92:
                rows.append((f"G{g:02d}", f"G{g:02d}M{i:02d}", "week_26", round(12 + rng.normal(0, 4))))
    d = pd.DataFrame(rows, columns=["group_id", "member_id", "timepoint", "score"])
    with pytest.warns(DataQualityWarning, match="fraction of missing information"):
        res = impute(d, m=10, burn_in=3, skip=1, seed=1, mixed=False, nesting="none")
    assert res.fmi > HIGH_FMI and any("fraction of missing information" in n for n in res.notes)
    assert any("100 x FMI" in n for n in res.notes)  # and m = 10 is too few for that FMI


def test_predictive_mean_matching_donors_are_the_k_nearest():
    from groupeval.statistics._impute_pmm import _donors

    rng = np.random.default_rng(0)
    yhat_obs = rng.normal(size=200)
    yhat_mis = rng.normal(size=50) * 1.5
    seen = [set() for _ in range(50)]
    for _ in range(60):
        d = _donors(yhat_obs, yhat_mis, 5, rng)
        for i, j in enumerate(d):
            seen[i].add(int(j))
    for i in range(50):
        nearest = set(np.argsort(np.abs(yhat_obs - yhat_mis[i]))[:5].tolist())
        assert seen[i] == nearest  # every draw is one of the 5 nearest, and each of them is drawn


def test_few_groups_warn(long):
    small = long[long.group_id.isin(["G01", "G02", "G03", "G04"])]
    with pytest.warns(SmallSampleWarning, match="only 4 groups"):
        impute(small, m=2, burn_in=1, skip=1, mixed=False)


def test_result_is_a_frozen_dataclass(sens):
    assert dataclasses.is_dataclass(sens)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sens.m = 3  # type: ignore[misc]
    assert sens.summary is sens.analyses
    assert list(sens.sensitivity.columns) == ["delta", "shift", "estimate", "se", "df", "t", "p_value", "ci_low",
                                              "ci_high", "fmi", "share_imputed", "conclusion"]


def test_delta_adjustment_agrees_with_R_mice_within_monte_carlo_error(mice_data):
    """Same data, group as a fixed effect, PMM, m = 60, CR2 + Barnard-Rubin: R mice vs ours.

    Both are Monte Carlo: the MAR estimates must agree within 4 Monte Carlo SEs, the share of
    imputed follow-ups exactly, and the tipping point within 4 Monte Carlo SEs of delta (the
    estimate's MC error divided by the share).
    """
    ref = pd.read_csv(REF / "impute_ref_delta.csv")
    tips = pd.read_csv(REF / "impute_ref_tipping.csv").set_index("method")["tipping_delta"]
    after = ref[ref.method == "after"].reset_index(drop=True)
    m = 60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = impute(mice_data, m=m, burn_in=10, skip=2, seed=11, mixed=False, instrument="phq9",
                     delta=after["delta"].tolist())
    s = res.sensitivity
    assert s["share_imputed"].iloc[0] == pytest.approx(after["share_imputed"].iloc[0], rel=1e-15)
    assert res.pooled["fmi"] > 0
    # complete-data df: the CR2 Satterthwaite df of the mean, the same in both
    members = mice_data.drop_duplicates("member_id")
    g = pd.factorize(members["group_id"])[0]
    assert cluster_mean(np.zeros(len(g)), np.zeros(len(g), dtype=int), g, 1)[2][0] == pytest.approx(
        after["df_complete"].iloc[0], rel=1e-10)
    mc_se = np.sqrt(after["between"].iloc[0] / m + res.pooled["between"] / m)
    assert abs(s["estimate"].iloc[0] - after["estimate"].iloc[0]) < 4 * mc_se
    # the sensitivity curves have the same slope (share imputed) in R ("after") and here
    np.testing.assert_allclose(np.diff(after["estimate"]), np.diff(s["estimate"]), rtol=1e-10)
    tip = res.tipping_point
    assert tip["found"] and tip["from"] == "improved"
    tol = 4 * mc_se / after["share_imputed"].iloc[0] + 0.05
    assert abs(tip["delta"] - tips["after"]) < tol
    assert abs(tip["delta"] - tips["chain"]) < tol  # FIMD's in-chain shift: the same within MC error


def test_one_group_raises_and_an_unfittable_mixed_model_row_is_nan_with_a_reason(long):
    from groupeval.base.exceptions import ValidationError

    with pytest.raises(ValidationError, match="two or more groups"):
        impute(long[long.group_id == "G01"], m=2, burn_in=1, skip=1)
    # every member answered once (half at baseline, half at week 26): no completers, no mixed model
    ids = long.member_id.drop_duplicates()
    first = set(ids.iloc[::2])
    once = long[((long.timepoint == "baseline") & long.member_id.isin(first))
                | ((long.timepoint == "week_26") & ~long.member_id.isin(first))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = impute(once, m=2, burn_in=1, skip=1)
    s = res.summary.set_index("analysis")
    assert np.isnan(s.loc["mixed_model", "estimate"]) and "single score" in s.loc["mixed_model", "note"]
    assert s.loc["completers", "n"] == 0 and np.isnan(s.loc["completers", "se"])
    assert np.isfinite(s.loc["multiple_imputation", "estimate"])
