"""groupeval.statistics.reliability / item_analysis against R psych 2.2.9 and closed forms.

Reference values: tests/reference/reliability_psych.R wrote the dataset
(reliability_psych_data.csv) and psych::alpha / psych::omega results on it
(reliability_psych.csv, reliability_psych_items.csv).  CI does not run R.
"""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from groupeval import instruments, reliability
from groupeval.base.exceptions import ConfigError, ScoringError, SmallSampleWarning
from groupeval.statistics.reliability import cronbach_alpha, feldt_ci, item_analysis, minres_one_factor, omega_total

REF = Path(__file__).parent / "reference"
DATA = pd.read_csv(REF / "reliability_psych_data.csv")
TOTALS = pd.read_csv(REF / "reliability_psych.csv")
ITEMS = pd.read_csv(REF / "reliability_psych_items.csv")
TOL = 1e-6


def _instrument(name: str, variant: str):
    inst = instruments.get(name)
    return dataclasses.replace(inst, reverse=()) if variant == "no_reverse" else inst


@functools.cache
def _ours(name: str, variant: str, item_level: bool = False) -> pd.DataFrame:
    fn = item_analysis if item_level else reliability
    inst = _instrument(name, variant)
    per_tp = fn(DATA, inst)
    pooled = fn(DATA, inst, by=None).assign(timepoint="all")
    return pd.concat([per_tp, pooled], ignore_index=True)


CASES = sorted(set(zip(TOTALS["instrument"], TOTALS["variant"])))


@pytest.mark.parametrize("name,variant", CASES)
def test_alpha_feldt_ci_and_omega_match_R_psych(name, variant):
    ref = TOTALS[(TOTALS["instrument"] == name) & (TOTALS["variant"] == variant)]
    ours = _ours(name, variant)
    m = ref.merge(ours, on=["timepoint", "scale"], suffixes=("_r", ""), how="left", validate="1:1")
    assert len(m) == len(ref) and m["alpha"].notna().all()
    assert (m["n"] == m["n_r"]).all() and (m["k"] == m["k_r"]).all()
    for col in ("alpha", "alpha_ci_low", "alpha_ci_high", "omega"):
        np.testing.assert_allclose(m[col], m[f"{col}_r"], rtol=0, atol=TOL, err_msg=col)


@pytest.mark.parametrize("name,variant", CASES)
def test_item_total_correlation_and_alpha_if_deleted_match_R_psych(name, variant):
    ref = ITEMS[(ITEMS["instrument"] == name) & (ITEMS["variant"] == variant)]
    ours = _ours(name, variant, item_level=True)
    m = ref.merge(ours, on=["timepoint", "scale", "item"], suffixes=("_r", ""), how="left", validate="1:1")
    assert len(m) == len(ref)
    np.testing.assert_allclose(m["r_drop"], m["r_drop_r"], rtol=0, atol=TOL)
    np.testing.assert_allclose(m["alpha_if_deleted"], m["alpha_if_deleted_r"], rtol=0, atol=TOL)


def test_reference_covers_reverse_keying_subscales_and_flipped_items():
    # without reverse-keying BRS alpha is negative in psych, but omega (psych flips items) is unchanged
    brs = TOTALS[TOTALS["instrument"] == "brs"].pivot(index="timepoint", columns="variant", values="omega")
    np.testing.assert_allclose(brs["registry"], brs["no_reverse"], atol=1e-9)
    assert (TOTALS.loc[TOTALS["variant"] == "no_reverse", "alpha"] < 0).all()
    assert set(TOTALS.loc[TOTALS["instrument"] == "whoqol_bref", "scale"]) == {
        "physical", "psychological", "social", "environment"}


def test_reliability_result_columns_and_scales():
    out = reliability(DATA, "whoqol_bref")
    assert list(out.columns) == ["instrument", "timepoint", "scale", "n", "k", "alpha", "alpha_ci_low",
                                 "alpha_ci_high", "omega"]
    # one row per distinct multi-item item set: no *_4_20 duplicates, no single-item Q1/Q2, no NaN total
    assert out["scale"].unique().tolist() == ["physical", "psychological", "social", "environment"]
    assert out["timepoint"].unique().tolist() == ["baseline", "week_12", "week_26"]
    mspss = reliability(DATA, "mspss", by=None)
    assert mspss["scale"].tolist() == ["score", "significant_other", "family", "friends"]
    assert "timepoint" not in mspss.columns
    assert (out["alpha_ci_low"] < out["alpha"]).all() and (out["alpha"] < out["alpha_ci_high"]).all()


def test_alpha_by_hand_on_a_small_matrix():
    # items (columns) for 4 people; covariance matrix by hand:
    X = np.array([[1, 2, 2], [2, 2, 3], [3, 4, 3], [4, 4, 4]], dtype=float)
    # variances: 5/3, 4/3, 2/3; covariances: c12 = 4/3, c13 = 1, c23 = 2/3
    # sum C = 5/3+4/3+2/3 + 2*(4/3+1+2/3) = 11/3 + 6 = 29/3; alpha = 3/2 * (1 - (11/3)/(29/3)) = 27/29
    assert cronbach_alpha(X) == pytest.approx(27 / 29, abs=1e-12)


def test_feldt_ci_matches_closed_form_for_two_numerator_df():
    # n = 3 -> df1 = 2; F(2, d2) quantile has the closed form q_u = (d2/2) * (u^(-2/d2) - 1) with u the
    # upper-tail probability.  k = 4 items -> d2 = 2 * 3 = 6.
    alpha, n, k, ci = 0.7, 3, 4, 0.95
    d2 = (n - 1) * (k - 1)

    def f_quantile(lower_tail_p):
        u = 1 - lower_tail_p
        return d2 / 2 * (u ** (-2 / d2) - 1)

    low, high = feldt_ci(alpha, n, k, ci)
    assert low == pytest.approx(1 - (1 - alpha) * f_quantile(0.975), abs=1e-12)
    assert high == pytest.approx(1 - (1 - alpha) * f_quantile(0.025), abs=1e-12)
    lo90, hi90 = feldt_ci(alpha, n, k, 0.90)
    assert low < lo90 < alpha < hi90 < high


def _exact_sample(R: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    """Data whose sample correlation matrix is exactly R."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, R.shape[0]))
    Z -= Z.mean(axis=0)
    Q, _ = np.linalg.qr(Z)
    return Q * np.sqrt(n - 1) @ np.linalg.cholesky(R).T


def test_omega_total_equals_closed_form_for_an_exact_one_factor_matrix():
    lam = np.array([0.8, 0.7, 0.6, 0.5, 0.75])
    R = np.outer(lam, lam)
    np.fill_diagonal(R, 1.0)
    X = _exact_sample(R, 200)
    np.testing.assert_allclose(np.corrcoef(X, rowvar=False), R, atol=1e-12)
    np.testing.assert_allclose(minres_one_factor(R), lam, atol=1e-4)
    # omega_t = (sum lambda)^2 / 1'R1 for a one-factor model with no residual covariance
    assert omega_total(X) == pytest.approx(lam.sum() ** 2 / R.sum(), abs=1e-6)


def test_small_samples_warn_and_too_small_give_nan():
    few = DATA[DATA["timepoint"] == "baseline"].dropna(subset=[f"brs_{i}" for i in range(1, 7)]).head(5)
    with pytest.warns(SmallSampleWarning, match=r"fewer than 10 complete rows.*n=5"):
        out = reliability(few, "brs")
    assert out.loc[0, "n"] == 5 and np.isfinite(out.loc[0, "alpha"])
    with pytest.warns(SmallSampleWarning):
        one = reliability(few.head(1), "brs")
    assert one.loc[0, "n"] == 1 and np.isnan(one.loc[0, "alpha"]) and np.isnan(one.loc[0, "omega"])


def test_constant_item_gives_nan_omega_but_alpha():
    X = np.array([[1, 2, 3], [2, 2, 4], [3, 2, 5], [2, 2, 2]], dtype=float)
    assert np.isnan(omega_total(X))
    assert np.isfinite(cronbach_alpha(X))


def test_two_item_scale_has_no_alpha_if_deleted():
    inst = instruments.Instrument("pair", n_items=2, item_min=1, item_max=5, method="mean")
    df = pd.DataFrame({"member_id": list("abcd"), "timepoint": "t", "pair_1": [1, 2, 3, 5],
                       "pair_2": [2, 2, 4, 5]})
    with pytest.warns(SmallSampleWarning, match="n=4"):
        items = item_analysis(df, inst)
    assert items["alpha_if_deleted"].isna().all()
    # r_drop for two items is their correlation
    assert items.loc[0, "r_drop"] == pytest.approx(np.corrcoef(df["pair_1"], df["pair_2"])[0, 1], abs=1e-12)


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match=r"by= names column\(s\) \['wave'\]"):
        reliability(DATA, "brs", by="wave")
    with pytest.raises(ConfigError, match="ci must be a number between 0 and 1"):
        reliability(DATA, "brs", ci=95)
    bad = DATA.copy()
    bad.loc[3, "brs_2"] = 7
    with pytest.raises(ScoringError, match="BRS responses cannot be scored"):
        reliability(bad, "brs")


def test_by_several_columns():
    df = DATA.assign(site=np.where(DATA["member_id"].str[-1].astype(int) % 2 == 0, "north", "south"))
    out = reliability(df, "brs", by=["timepoint", "site"])
    assert len(out) == 6 and list(out.columns[:3]) == ["instrument", "timepoint", "site"]
    # each cell equals reliability on that subset alone
    sub = df[(df["timepoint"] == "week_12") & (df["site"] == "north")]
    direct = reliability(sub, "brs", by=None)
    row = out[(out["timepoint"] == "week_12") & (out["site"] == "north")].iloc[0]
    assert row["alpha"] == direct.loc[0, "alpha"] and row["omega"] == direct.loc[0, "omega"]
