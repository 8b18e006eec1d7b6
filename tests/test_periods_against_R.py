"""groupeval.statistics.periods against R: CR2 period differences (clubSandwich) and the group jackknife of a
Kaplan–Meier difference (survival::survfit in a direct loop over groups).

The R scripts simulate their own inputs (tests/reference/periods_cr2.R, periods_km_jackknife.R); CI reads the
committed CSVs and never runs R.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from groupeval.statistics import periods as P

REF = Path(__file__).resolve().parent / "reference"
CR2_IN = pd.read_csv(REF / "periods_cr2_input.csv")
CR2_REF = pd.read_csv(REF / "periods_cr2_ref.csv")
KM_IN = pd.read_csv(REF / "periods_km_input.csv")
KM_REF = pd.read_csv(REF / "periods_km_ref.csv")
KM_DIFF = pd.read_csv(REF / "periods_km_diff.csv")
KM_REPS = pd.read_csv(REF / "periods_km_replicates.csv")
COLS = ["estimate", "se", "df", "p_value", "ci_low", "ci_high"]


def _cr2_case(name: str, model: str) -> dict:
    d = CR2_IN[CR2_IN["dataset"] == name].reset_index(drop=True)
    weights = "w" if name == "ratio7" else None
    if model == "difference":
        return P._cr2(d, "y", 0.95, indicator="in_period", weights=weights)
    sub = d[d["in_period"] == (1 if model == "mean_period" else 0)].reset_index(drop=True)
    return P._cr2(sub, "y", 0.95, weights=weights)


@pytest.mark.parametrize("row", CR2_REF.to_dict("records"), ids=lambda r: f"{r['dataset']}-{r['model']}")
def test_cr2_period_difference_against_clubSandwich(row):
    got = _cr2_case(row["dataset"], row["model"])
    for c in COLS:
        assert got[c] == pytest.approx(row[c], rel=1e-9, abs=1e-12), c
    assert got["note"] == ""


def test_cr2_difference_with_one_member_per_group_is_hc2_closed_form():
    # one member per group: CR2 is HC2, whose variance of a difference of proportions is
    # p1(1-p1)/(n1-1) + p0(1-p0)/(n0-1) (the unbiased within-period variances over n), and the Bell-McCaffrey
    # df under the homoscedastic working model is (1/n1 + 1/n0)^2 / (1/(n1^2 (n1-1)) + 1/(n0^2 (n0-1))).
    d = CR2_IN[CR2_IN["dataset"] == "singletons"]
    assert d.groupby("group_id").size().max() == 1
    y1, y0 = d.loc[d["in_period"] == 1, "y"].to_numpy(), d.loc[d["in_period"] == 0, "y"].to_numpy()
    n1, n0 = len(y1), len(y0)
    p1, p0 = y1.mean(), y0.mean()
    var = p1 * (1 - p1) / (n1 - 1) + p0 * (1 - p0) / (n0 - 1)
    df = (1 / n1 + 1 / n0) ** 2 / (1 / (n1**2 * (n1 - 1)) + 1 / (n0**2 * (n0 - 1)))
    got = P._cr2(d, "y", 0.95, indicator="in_period")
    assert got["estimate"] == pytest.approx(p1 - p0, abs=1e-14)
    assert got["se"] == pytest.approx(np.sqrt(var), rel=1e-12)
    assert got["df"] == pytest.approx(df, rel=1e-10)
    q = stats.t.ppf(0.975, df)
    assert got["ci_low"] == pytest.approx(p1 - p0 - q * np.sqrt(var), rel=1e-10)


def _km(d: pd.DataFrame) -> P._KM:
    return P._KM(time=d["time"].to_numpy(float), event=d["event"].to_numpy(bool),
                 entry=d["entry"].to_numpy(float), group=d["group_id"].astype(str).to_numpy())


@pytest.mark.parametrize("row", KM_REF.to_dict("records"),
                         ids=lambda r: f"{r['dataset']}-{r['in_period']}-{r['t']:g}")
def test_period_km_and_its_group_jackknife_interval_against_survfit(row):
    d = KM_IN[(KM_IN["dataset"] == row["dataset"]) & (KM_IN["in_period"] == row["in_period"])]
    got = P._km_row(_km(d), float(row["t"]), 0.95, None, None)
    assert got["estimate"] == pytest.approx(row["surv"], rel=1e-12)
    assert got["se"] == pytest.approx(row["std_err"], rel=1e-9)
    assert got["ci_low"] == pytest.approx(row["ci_low"], rel=1e-9)
    assert got["ci_high"] == pytest.approx(row["ci_high"], rel=1e-9)
    assert got["se_cluster"] == pytest.approx(row["se_jack"], rel=1e-9)
    assert got["ci_low_cluster"] == pytest.approx(row["ci_low_jack"], rel=1e-9)
    assert got["ci_high_cluster"] == pytest.approx(row["ci_high_jack"], rel=1e-9)


@pytest.mark.parametrize("row", KM_DIFF.to_dict("records"), ids=lambda r: f"{r['dataset']}-{r['t']:g}")
def test_km_difference_group_jackknife_against_direct_loop_in_R(row):
    d = KM_IN[KM_IN["dataset"] == row["dataset"]]
    ka, kb = _km(d[d["in_period"] == 1]), _km(d[d["in_period"] == 0])
    t = float(row["t"])
    ra = P._km_row(ka, t, 0.95, None, None)
    rb = P._km_row(kb, t, 0.95, None, None)
    got = P._km_difference(ka, kb, t, 0.95, ra, rb)
    assert ra["estimate"] - rb["estimate"] == pytest.approx(row["difference"], rel=1e-12)
    for c in ("se", "df", "ci_low", "ci_high", "p_value"):
        assert got[c] == pytest.approx(row[c], rel=1e-9), c
    # the replicates themselves (closed form over a matrix of per-group risk sets = R's loop)
    reps = KM_REPS[(KM_REPS["dataset"] == row["dataset"]) & (KM_REPS["t"] == row["t"])]
    groups = np.union1d(ka.group, kb.group)
    _, rep_a = P._km_replicates(ka, t, groups)
    _, rep_b = P._km_replicates(kb, t, groups)
    ref = reps.set_index("group_id").loc[groups]
    np.testing.assert_allclose(rep_a, ref["s_period"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(rep_b, ref["s_compare"].to_numpy(), rtol=1e-12)
