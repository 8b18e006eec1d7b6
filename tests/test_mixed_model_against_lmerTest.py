"""groupeval.mixed_model (public function, native engine) against lme4 / lmerTest / pbkrtest.

References: tests/reference/mixed_model_lmertest.R (cases A-F on its own simulated data: 4
timepoints categorical or linear, group type, facilitation as a group-level covariate, a random
slope, a singular fit, ML) and tests/reference/outcomes_r.R section 5b (the two lmer models of
the outcomes data).  Tolerance 1e-4 (relative) on se, df, t and F; p values to 1e-4 relative, or
on the log scale when below 1e-10 (a t of 20 with relative error 1e-6 moves p = 1e-100 by 4e-4).
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from groupeval import mixed_model

REF = Path(__file__).resolve().parent / "reference"
TV = ["baseline", "week_6", "week_12", "week_26"]
CASES = {
    "A": {"by": "group_type", "covariates": ["age"]},
    "B": {"by": "group_type", "time_as": "linear"},
    "C": {"covariates": ["facilitation"], "time_as": "linear", "random_slope": True},
    "D": {"covariates": ["facilitation", "age"]},
    "E": {},
    "F": {"by": "group_type", "covariates": ["age"], "reml": False},
}
_CACHE: dict[tuple[str, str], object] = {}


def _input(case: str) -> pd.DataFrame:
    name = "mixed_input_singular.csv" if case == "E" else "mixed_input.csv"
    return pd.read_csv(REF / name, dtype={"member_id": str, "group_id": str})


def _fit(case: str, df: str = "satterthwaite"):
    key = (case, df)
    if key not in _CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SmallSampleWarning: 8 and 12 groups, 4 per type
            _CACHE[key] = mixed_model(_input(case), time_values=TV, df=df, **CASES[case])
    return _CACHE[key]


def _rterm(term: str, linear: bool) -> str:
    """Our term name -> R's (``timepoint[T.week_6]`` -> ``timepointweek_6``; linear time ``timepoint`` -> ``week``)."""
    if linear:
        term = re.sub(r"^timepoint(?!\[)", "week", term)
    return term.replace("Intercept", "(Intercept)").replace("[T.", "").replace("]", "")


def _p_close(got: np.ndarray, ref: np.ndarray) -> None:
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    small = ref < 1e-10
    np.testing.assert_allclose(got[~small], ref[~small], rtol=1e-4, atol=1e-14)
    np.testing.assert_allclose(np.log(got[small]), np.log(ref[small]), rtol=1e-4)


def _methods(case: str) -> list[str]:
    return ["satterthwaite"] if case == "F" else ["satterthwaite", "kenward-roger"]


@pytest.mark.parametrize("case", list(CASES))
def test_fit_against_lme4_loglik_variance_components_and_singularity(case):
    res = _fit(case)
    ref = pd.read_csv(REF / "mixed_ref_fit.csv").set_index("model").loc[case]
    assert res.engine == "native" and res.method == "lmm" and res.converged
    assert res.estimation == ("REML" if ref.reml else "ML")
    assert res.loglik >= ref.loglik - 1e-8  # at least as good as lme4 with tight tolerances
    assert res.loglik == pytest.approx(ref.loglik, rel=1e-9)
    assert res.n_obs == ref.n_obs and res.n_groups == (8 if case == "E" else 12)
    assert res.is_singular == bool(ref.is_singular)
    vc = res.variance_components.set_index("component")["variance"]
    rtol = 1e-4 if case == "E" else 2e-5
    assert vc["member"] == pytest.approx(ref.var_member, rel=rtol)
    assert vc["residual"] == pytest.approx(ref.var_residual, rel=rtol)
    if case == "E":
        assert vc["group"] == 0.0 and any("singular" in n for n in res.notes)
    else:
        assert vc["group"] == pytest.approx(ref.var_group, rel=rtol)
    if case == "C":
        assert vc["group_slope"] == pytest.approx(ref.var_slope, rel=rtol)
        corr = ref.cov_group_slope / np.sqrt(ref.var_group * ref.var_slope)
        assert res.corr_group_slope == pytest.approx(corr, rel=rtol)


@pytest.mark.parametrize("case", list(CASES))
def test_fixed_effects_satterthwaite_and_kenward_roger_against_lmerTest(case):
    ref = pd.read_csv(REF / "mixed_ref_fixed.csv")
    ref = ref[ref.model == case].set_index("term")
    linear = CASES[case].get("time_as") == "linear"
    for method in _methods(case):
        res = _fit(case, method)
        got = res.fixed.assign(term=res.fixed.term.map(lambda t: _rterm(t, linear))).set_index("term")
        assert list(got.index) == list(ref.index)
        sfx = "" if method == "satterthwaite" else "_kr"
        np.testing.assert_allclose(got.estimate, ref.estimate, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(got.se, ref["se" + sfx], rtol=1e-4)
        np.testing.assert_allclose(got.df, ref["df" + sfx], rtol=1e-4)
        np.testing.assert_allclose(got.t, ref["t" + sfx], rtol=1e-4)
        _p_close(got.p_value, ref["p_value" if method == "satterthwaite" else "p_kr"])
        label = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger"}[method]
        assert (got.df_method == label).all() and res.df_method == label


@pytest.mark.parametrize("case", list(CASES))
def test_type3_f_tests_against_lmerTest_anova(case):
    ref = pd.read_csv(REF / "mixed_ref_anova.csv")
    linear = CASES[case].get("time_as") == "linear"
    for method in _methods(case):
        r = ref[(ref.model == case) & (ref.method == method)].set_index("term")
        res = _fit(case, method)
        got = res.tests.assign(term=res.tests.term.str.replace("timepoint", "week") if linear
                               else res.tests.term).set_index("term")
        assert set(got.index) == set(r.index)
        got = got.loc[r.index]
        assert (got.df_num.to_numpy() == r.num_df.to_numpy()).all()
        np.testing.assert_allclose(got.f, r.f, rtol=1e-4)
        np.testing.assert_allclose(got.df_denom, r.den_df, rtol=1e-4)
        _p_close(got.p_value, r.p_value)
        assert got.valid.all()


@pytest.mark.parametrize("case", list(CASES))
def test_means_and_changes_against_lmerTest_contest(case):
    ref = pd.read_csv(REF / "mixed_ref_contrasts.csv", keep_default_na=False)
    for method in _methods(case):
        res = _fit(case, method)
        r = ref[(ref.model == case) & (ref.method == method)]
        for kind, tab, col in (("mean", res.means, "mean"), ("change", res.changes, "difference")):
            rk = r[r.kind == kind]
            key = ["timepoint"] + ([res.by] if res.by else [])
            got = tab.set_index(key)
            idx = list(zip(rk.timepoint, rk.by, strict=True)) if res.by else list(rk.timepoint)
            got = got.loc[idx]
            np.testing.assert_allclose(got[col], rk.estimate, rtol=1e-5)
            np.testing.assert_allclose(got.se, rk.se, rtol=1e-4)
            np.testing.assert_allclose(got.df, rk.df, rtol=1e-4)
            np.testing.assert_allclose(got.ci_low, rk.ci_low, rtol=1e-4)
            np.testing.assert_allclose(got.ci_high, rk.ci_high, rtol=1e-4)
            if kind == "change":
                _p_close(got.p_value, rk.p_value)
                assert (got.reference == "baseline").all()


@pytest.mark.parametrize("label,kwargs", [("time", {}),
                                          ("time_by_type_age", {"by": "group_type", "covariates": ["age"]})])
def test_outcomes_data_df_and_anova_against_lmerTest(label, kwargs):
    long = pd.read_csv(REF / "outcomes_input.csv", dtype={"member_id": str, "group_id": str})
    ref = pd.read_csv(REF / "outcomes_ref_lmer_df.csv")
    ref = ref[ref.model == label].set_index("term")
    av = pd.read_csv(REF / "outcomes_ref_lmer_anova.csv")
    for method, sfx in (("satterthwaite", ""), ("kenward-roger", "_kr")):
        res = mixed_model(long, df=method, **kwargs)
        got = res.fixed.assign(term=res.fixed.term.map(lambda t: _rterm(t, False))).set_index("term").loc[ref.index]
        np.testing.assert_allclose(got.estimate, ref.estimate, rtol=1e-6)
        np.testing.assert_allclose(got.se, ref["se" + sfx], rtol=1e-4)
        np.testing.assert_allclose(got.df, ref["df" + sfx], rtol=1e-4)
        np.testing.assert_allclose(got.t, ref["t" + sfx], rtol=1e-4)
        _p_close(got.p_value, ref["p_value" if method == "satterthwaite" else "p_kr"])
        a = av[(av.model == label) & (av.method == method)].set_index("term")
        t = res.tests.set_index("term").loc[a.index]
        np.testing.assert_allclose(t.f, a.f, rtol=1e-4)
        np.testing.assert_allclose(t.df_denom, a.den_df, rtol=1e-4)
        _p_close(t.p_value, a.p_value)
        assert res.n_groups == 30 and res.methods[0] == "lmm_reml"


def test_group_type_test_has_few_denominator_df_as_lmerTest():
    # 12 groups, 4 per type: the group-level F has ~9 denominator df, not the ~320 of the within-member terms
    res = _fit("A")
    t = res.tests.set_index("term")
    assert t.loc["group_type", "df_denom"] < 15 < 300 < t.loc["timepoint", "df_denom"]
    assert res.groups_per_level["group_type"] == {"A": 4, "B": 4, "C": 4}
