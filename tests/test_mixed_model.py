"""mixed_model: guardrails, options and the result object (numbers against R are in
tests/test_mixed_model_against_lmerTest.py and tests/test_models.py)."""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from groupeval import mixed_model
from groupeval.base.exceptions import ConfigError, ConvergenceWarning, SmallSampleWarning, ValidationError
from groupeval.statistics._common import MIN_GROUPS, MIN_GROUPS_PER_LEVEL
from groupeval.statistics._mixed_design import time_numbers
from groupeval.statistics.mixed import LOGLIK_TOL

REF = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="module")
def long():
    return pd.read_csv(REF / "outcomes_input.csv", dtype={"member_id": str, "group_id": str})


def _programme(seed: int, member_sd: float = 1.5) -> pd.DataFrame:
    """4-9 groups of 3-8 members, 3 timepoints, ~20% missing follow-ups, integer scores."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(int(rng.integers(4, 10))):
        ug = rng.normal(0, 1.0)
        for i in range(int(rng.integers(3, 9))):
            um = rng.normal(0, member_sd)
            for t, eff in (("baseline", 0), ("week_12", -1), ("week_26", -2)):
                if t != "baseline" and rng.random() < 0.2:
                    continue
                rows.append((f"G{g}", f"G{g}M{i}", t, round(10 + ug + um + eff + rng.normal(0, 1), 0)))
    return pd.DataFrame(rows, columns=["group_id", "member_id", "timepoint", "score"])


# ---------------------------------------------------------------------------
# guardrails
# ---------------------------------------------------------------------------
def test_two_members_raise_a_validation_error_saying_what_to_do():
    two = pd.DataFrame({"member_id": ["a", "a", "b", "b"], "group_id": ["g1", "g1", "g2", "g2"],
                        "timepoint": ["baseline", "week_26"] * 2, "score": [10.0, 8.0, 12.0, 11.0]})
    with pytest.raises(ValidationError, match=r"4 scores of 2 members in 2 groups are too few .* use change\(\)"):
        mixed_model(two)
    with pytest.raises(ValidationError, match="at least two groups; found 1"):
        mixed_model(two.assign(group_id="g1"))
    once = pd.DataFrame({"member_id": list("abcdef"), "group_id": list("aabbcc"),
                         "timepoint": ["baseline", "week_26"] * 3, "score": np.arange(6.0)})
    with pytest.raises(ValidationError, match="every member has a single score"):
        mixed_model(once)


def test_few_groups_warn_and_every_result_carries_n_groups_and_df(long):
    few = long[long.group_id.isin(["G01", "G02", "G03", "G04"])]
    with pytest.warns(SmallSampleWarning, match="only 4 groups") as rec:
        res = mixed_model(few)
    assert 4 < MIN_GROUPS and len(rec) >= 1
    assert res.n_groups == 4 and res.df_method == "Satterthwaite"
    assert res.fixed["df"].notna().all() and res.changes["df"].notna().all() and res.means["df"].notna().all()
    # the intercept rests on 4 groups: few df (a z test would claim infinitely many)
    assert res.fixed.set_index("term").loc["Intercept", "df"] < 6
    assert any("only 4 groups" in n for n in res.notes)


def test_few_groups_per_level_warn_and_one_group_per_level_has_no_test(long):
    d = long[long.group_id.isin(["G01", "G02", "G03", "G04", "G05", "G06", "G07"])]
    per = d.drop_duplicates("group_id").groupby("group_type").size()
    assert per.min() < MIN_GROUPS_PER_LEVEL
    with pytest.warns(SmallSampleWarning, match="fewer than 3 groups in"):
        res = mixed_model(d, by="group_type")
    assert res.tests.set_index("term")["valid"].all()  # levels with 2-3 groups: a test exists
    solo = long[long.group_id.isin(["G01", "G02", "G03"])]  # one group of each type
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = mixed_model(solo, by="group_type")
    t = res.tests.set_index("term")
    for term in ("group_type", "timepoint:group_type"):
        assert not t.loc[term, "valid"] and np.isnan(t.loc[term, "p_value"])
        assert "single group" in t.loc[term, "note"]
    assert t.loc["timepoint", "valid"]


def test_statsmodels_fit_at_a_worse_likelihood_is_not_reported_as_converged():
    # members with no own variation (member variance 0): statsmodels' bfgs fails, its lbfgs stops short
    d = _programme(37, member_sd=0.0)
    assert d.group_id.nunique() == 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        native = mixed_model(d)
        with pytest.warns(ConvergenceWarning, match="is not converged"):
            sm = mixed_model(d, engine="statsmodels")
    assert native.converged and native.is_singular
    assert native.variance_components.set_index("component").loc["member", "variance"] == 0.0
    assert sm.loglik < native.loglik - LOGLIK_TOL and not sm.converged
    assert sm.attempts["name"].iloc[-1] == "native engine (cross-check)"
    assert sm.attempts["criterion"].iloc[-1] == pytest.approx(native.criterion, rel=1e-12)
    # the native engine keeps every optimiser run; the reported one is the best
    assert native.criterion == pytest.approx(native.attempts["criterion"].min(), abs=1e-9)
    assert {"primary", "second start", "derivative-free check"} <= set(native.attempts["name"])


def test_native_non_convergence_is_warned_and_reported(long, monkeypatch):
    from groupeval.statistics import _lmm_optim

    monkeypatch.setattr(_lmm_optim, "GRADIENT_TOL", 0.0)  # no gradient is small enough
    monkeypatch.setattr(_lmm_optim, "STEP_TOL", 0.0)  # nor any Newton step
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = mixed_model(long)
    assert not res.converged and any("did not converge" in n for n in res.notes)


# ---------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------
def test_statsmodels_engine_agrees_with_native(long):
    nat = mixed_model(long, by="group_type", covariates=["age"])
    sm = mixed_model(long, by="group_type", covariates=["age"], engine="statsmodels")
    np.testing.assert_allclose(sm.fixed.estimate, nat.fixed.estimate, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sm.fixed.se, nat.fixed.se, rtol=1e-4)
    np.testing.assert_allclose(sm.means["mean"], nat.means["mean"], rtol=1e-6)
    assert sm.loglik == pytest.approx(nat.loglik, abs=LOGLIK_TOL) and sm.converged
    assert (sm.tests.df_method == "z").all() and sm.tests.df_denom.isna().all()
    assert list(sm.tests.term) == list(nat.tests.term)


def test_option_errors(long):
    with pytest.raises(ConfigError, match="needs engine='native'"):
        mixed_model(long, engine="statsmodels", df="kenward-roger")
    with pytest.raises(ConfigError, match="REML"):
        mixed_model(long, df="kenward-roger", reml=False)
    with pytest.raises(ConfigError, match="`df` must be"):
        mixed_model(long, df="wald")
    with pytest.raises(ConfigError, match="`engine`"):
        mixed_model(long, engine="lme4")
    with pytest.raises(ConfigError, match="`time_as`"):
        mixed_model(long, time_as="spline")
    with pytest.raises(ConfigError, match="already in the model"):
        mixed_model(long, covariates=["timepoint"])
    assert mixed_model(long, df="KR").df_method == "Kenward-Roger"


def test_dataset_keyword_and_deprecated_data(long):
    from groupeval.base.dataset import Dataset

    ds = Dataset(groups=long.drop_duplicates("group_id")[["group_id", "group_type"]].reset_index(drop=True),
                 members=long.drop_duplicates("member_id")[["member_id", "group_id", "age"]].reset_index(drop=True),
                 sessions=pd.DataFrame(), attendance=pd.DataFrame(), responses=pd.DataFrame(),
                 timepoints=("baseline", "week_12", "week_26"))
    sc = long[["member_id", "group_id", "timepoint", "score"]]
    new = mixed_model(sc, ds, by="group_type", covariates=["age"])
    with pytest.warns(DeprecationWarning, match="`data=` is deprecated"):
        old = mixed_model(sc, data=ds, by="group_type", covariates=["age"])
    pd.testing.assert_frame_equal(new.fixed, old.fixed)
    with pytest.warns(DeprecationWarning), pytest.raises(ConfigError, match="once"):
        mixed_model(sc, ds, data=object(), by="group_type")


def test_time_labels_to_weeks_and_time_map():
    got = time_numbers(["baseline", "week_6", "Week 12", "26 weeks", "month_3", "day_10", "fu_y1", "wk30"])
    assert got == {"baseline": 0.0, "week_6": 6.0, "Week 12": 12.0, "26 weeks": 26.0, "month_3": 13.0,
                   "day_10": 10 * (1 / 7), "fu_y1": 52.0, "wk30": 30.0}
    assert time_numbers(["1", "2", "4"]) == {"1": 1.0, "2": 2.0, "4": 4.0}
    with pytest.raises(ConfigError, match="cannot read a time") as e:
        time_numbers(["baseline", "post", "later"])
    assert [p.value for p in e.value.problems] == ["post", "later"]
    assert time_numbers(["pre", "post"], {"pre": 0, "post": 10}) == {"pre": 0.0, "post": 10.0}
    with pytest.raises(ConfigError, match="missing from `time_map`"):
        time_numbers(["pre", "post"], {"pre": 0})
    with pytest.raises(ConfigError, match="same numeric time"):
        time_numbers(["pre", "post"], {"pre": 0, "post": 0})


def test_linear_time_slope_is_the_change_per_week(long):
    lin = mixed_model(long, time_as="linear")
    slope = lin.fixed.set_index("term").loc["timepoint"]
    ch = lin.changes.set_index("timepoint")
    assert lin.time_map == {"baseline": 0.0, "week_12": 12.0, "week_26": 26.0}
    assert ch.loc["week_26", "difference"] == pytest.approx(26 * slope["estimate"], rel=1e-12)
    assert ch.loc["week_26", "df"] == pytest.approx(slope["df"], rel=1e-8)  # same contrast, scaled
    assert ch.loc["week_26", "p_value"] == pytest.approx(slope["p_value"], rel=1e-8)
    custom = mixed_model(long, time_as="linear", time_map={"baseline": 0, "week_12": 1, "week_26": 2})
    assert custom.fixed.set_index("term").loc["timepoint", "estimate"] == pytest.approx(
        mixed_model(long, time_as="linear", time_map={"baseline": 0, "week_12": 12, "week_26": 24}).fixed
        .set_index("term").loc["timepoint", "estimate"] * 12, rel=1e-6)


def test_random_slope_adds_a_group_slope_variance(long):
    res = mixed_model(long, random_slope=True)  # categorical time, random slope on weeks
    vc = res.variance_components.set_index("component")
    assert list(vc.index) == ["group", "group_slope", "member", "residual"]
    assert res.random_slope and np.isnan(vc.loc["group_slope", "share"])
    # the data have no group variation in slopes: the 2 x 2 group covariance is singular, correlation exactly 1
    assert res.is_singular and res.corr_group_slope == 1.0
    assert any("perfectly correlated" in n for n in res.notes)
    assert res.time_map == {"baseline": 0.0, "week_12": 12.0, "week_26": 26.0}
    assert res.loglik >= mixed_model(long).loglik - 1e-9  # a larger model never fits worse


def test_result_is_a_frozen_dataclass_with_typed_fields(long):
    res = mixed_model(long)
    assert dataclasses.is_dataclass(res)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.converged = False  # type: ignore[misc]
    names = {f.name for f in dataclasses.fields(res)}
    assert {"fixed", "means", "changes", "tests", "attempts", "n_groups", "df_method", "is_singular",
            "converged", "methods"} <= names
    assert res.summary is res.fixed and "<b>Mixed model</b>" in res._repr_html_()
    assert list(res.changes.columns) == ["timepoint", "reference", "difference", "se", "df", "t", "p_value",
                                         "ci_low", "ci_high", "df_method", "note"]
    assert list(res.tests.columns) == ["term", "f", "df_num", "df_denom", "p_value", "df_method", "f_scaling",
                                       "note", "valid"]
