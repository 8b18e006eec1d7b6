"""icc, mixed_model, compare_groups, dose_response, impute against R
(tests/reference/outcomes_r.R: aov by hand, lme4::lmer, sandwich::vcovCL + lmtest) and
hand-computed Rubin's rules."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from groupeval import compare_groups, dose_response, icc, impute, mixed_model
from groupeval.base.exceptions import ConfigError, ConvergenceWarning, SchemaError, SmallSampleWarning, ValidationError
from groupeval.statistics._common import rubin_pool

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def long():
    return pd.read_csv(REF / "outcomes_input.csv", dtype={"member_id": str, "group_id": str})


@pytest.fixture(scope="module")
def engagement(long):
    return long.drop_duplicates("member_id")[["member_id", "group_id", "sessions_attended", "status"]]


def _rterm(t: str) -> str:
    return t.replace("[T.", "").replace("]", "")


# ---------------------------------------------------------------------------
# ICC
# ---------------------------------------------------------------------------
def test_icc1_matches_R_one_way_anova_by_hand(long):
    ref = pd.read_csv(REF / "outcomes_ref_icc.csv").set_index("timepoint")
    got = icc(long).set_index("timepoint")
    assert list(got.index) == ["baseline", "week_12", "week_26"]
    for tp in ref.index:
        for c in ref.columns:
            np.testing.assert_allclose(got.loc[tp, c], ref.loc[tp, c], rtol=1e-9, err_msg=f"{tp} {c}")
    one = icc(long, timepoint="week_26")
    assert len(one) == 1 and one.loc[0, "icc"] == pytest.approx(ref.loc["week_26", "icc"], rel=1e-12)


def test_icc_balanced_closed_form_and_design_effect():
    # 3 groups x 2 members: group means 1, 2, 3 (+-0.5): MSB = 2*1 = 2, MSW = 0.5*... by hand
    d = pd.DataFrame({"group_id": list("aabbcc"), "score": [0.5, 1.5, 1.5, 2.5, 2.5, 3.5]})
    with pytest.warns(SmallSampleWarning, match="only 3 groups"):
        r = icc(d).iloc[0]
    msb, msw = 2 * ((1 - 2) ** 2 + 0 + (3 - 2) ** 2) / 2, (6 * 0.25) / 3
    assert r["msb"] == pytest.approx(msb) and r["msw"] == pytest.approx(msw)
    assert r["icc"] == pytest.approx((msb - msw) / (msb + msw))
    assert r["design_effect"] == pytest.approx(1 + (2 - 1) * r["icc"])
    assert r["n0"] == pytest.approx(2.0)


def test_icc_without_variation_is_nan_or_one_with_a_note_not_a_division_error():
    same = pd.DataFrame({"group_id": list("aabbcc"), "score": [3.0] * 6})
    between = pd.DataFrame({"group_id": list("aabbcc"), "score": [1.0, 1, 2, 2, 3, 3]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        r0, r1 = icc(same).iloc[0], icc(between).iloc[0]
    assert np.isnan(r0["icc"]) and np.isnan(r0["p_value"]) and "same" in r0["note"]
    assert r1["icc"] == 1.0 and np.isnan(r1["ci_low"]) and "within groups" in r1["note"]
    assert r1["design_effect"] == pytest.approx(2.0)


def test_icc_errors(long):
    with pytest.raises(ConfigError, match="'week_99' does not occur"):
        icc(long, timepoint="week_99")
    with pytest.raises(SchemaError, match="'cohort'"):
        icc(long, group="cohort")
    with pytest.raises(ValidationError, match="at least 2 groups"):
        icc(pd.DataFrame({"group_id": ["a", "a"], "score": [1.0, 2.0]}))


# ---------------------------------------------------------------------------
# mixed model
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("label,kwargs", [("time", {}),
                                          ("time_by_type_age", {"by": "group_type", "covariates": ["age"]})])
@pytest.mark.parametrize("engine", ["native", "statsmodels"])
def test_mixed_model_matches_R_lmer_fixed_effects_and_variance_components(long, label, kwargs, engine):
    fx = pd.read_csv(REF / "outcomes_ref_lmer_fixed.csv")
    fx = fx[fx.model == label].set_index("term")
    vc = pd.read_csv(REF / "outcomes_ref_lmer_vc.csv")
    vc = vc[vc.model == label].set_index("component")["variance"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = mixed_model(long, engine=engine, **kwargs)
    assert res.method == ("lmm" if engine == "native" else "mixedlm") and res.converged and res.notes == ()
    assert res.engine == engine and not res.is_singular and res.n_groups == 30
    got = res.fixed.assign(term=res.fixed["term"].map(_rterm).replace({"Intercept": "(Intercept)"})).set_index("term")
    assert list(got.index) == list(fx.index)  # same terms in R's order
    for t in fx.index:
        assert got.loc[t, "estimate"] == pytest.approx(fx.loc[t, "estimate"], rel=1e-4, abs=1e-6), t
        assert got.loc[t, "se"] == pytest.approx(fx.loc[t, "se"], rel=1e-4), t
    v = res.variance_components.set_index("component")["variance"]
    assert v["group"] == pytest.approx(vc["group_id"], rel=1e-4)
    assert v["member"] == pytest.approx(vc["member_id:group_id"], rel=1e-4)
    assert v["residual"] == pytest.approx(vc["Residual"], rel=1e-4)
    ll = pd.read_csv(REF / "outcomes_ref_lmer_loglik.csv").set_index("model")["reml_loglik"]
    assert res.loglik == pytest.approx(ll[label], rel=1e-8)
    if engine == "native":
        assert res.loglik >= ll[label] - 1e-8 and res.df_method == "Satterthwaite"
        assert res.methods == ("lmm_reml", "satterthwaite_lmm")
    else:  # statsmodels: Wald z tests, no df
        assert res.df_method == "z" and res.fixed["df"].isna().all()
        assert res.methods == ("lmm_reml", "statsmodels_mixedlm", "wald_z")


def test_mixed_model_means_are_lmer_intercept_plus_time_effects(long):
    from scipy import stats

    fx = pd.read_csv(REF / "outcomes_ref_lmer_fixed.csv")
    fx = fx[fx.model == "time"].set_index("term")
    res = mixed_model(long)
    m = res.means.set_index("timepoint")
    b0 = fx.loc["(Intercept)", "estimate"]
    assert m.loc["baseline", "mean"] == pytest.approx(b0, rel=1e-6)
    assert m.loc["baseline", "se"] == pytest.approx(fx.loc["(Intercept)", "se"], rel=1e-4)
    assert m.loc["week_26", "mean"] == pytest.approx(b0 + fx.loc["timepointweek_26", "estimate"], rel=1e-6)
    ch = res.changes.set_index("timepoint")
    assert ch.loc["week_26", "se"] == pytest.approx(fx.loc["timepointweek_26", "se"], rel=1e-4)
    assert ch.loc["week_26", "reference"] == "baseline"
    assert m["n_observed"].tolist() == long.groupby("timepoint").size().loc[["baseline", "week_12", "week_26"]].tolist()
    crit = stats.t.ppf(0.975, m.loc["week_12", "df"])
    assert m.loc["week_12", "ci_high"] == pytest.approx(m.loc["week_12", "mean"] + crit * m.loc["week_12", "se"])
    # the baseline mean is the intercept: its Satterthwaite df is the intercept's
    assert m.loc["baseline", "df"] == pytest.approx(res.fixed.set_index("term").loc["Intercept", "df"], rel=1e-10)
    assert res._plotter == "plot_means_over_time" and res.summary is res.fixed


def test_mixed_model_by_group_type_means_cover_each_level(long):
    res = mixed_model(long, by="group_type")
    assert res.means.shape[0] == 9 and set(res.means["group_type"]) == set(long["group_type"])
    assert np.all(res.means["se"] > 0) and np.all(res.means["df"] > 0)
    assert list(res.tests["term"]) == ["timepoint", "group_type", "timepoint:group_type"]
    assert res.groups_per_level["group_type"] == {"cancer survivors": 10, "mental-health recovery": 10,
                                                  "postpartum depression": 10}


def test_mixed_model_statsmodels_engine_falls_back_to_other_optimiser_then_gee_and_says_so(long, monkeypatch):
    import statsmodels.regression.mixed_linear_model as mlm

    real_fit = mlm.MixedLM.fit
    calls = []

    def flaky(self, *a, method=None, **k):
        calls.append(method[0])
        if method[0] == "bfgs":
            raise np.linalg.LinAlgError("Singular matrix")
        return real_fit(self, *a, method=method, **k)

    monkeypatch.setattr(mlm.MixedLM, "fit", flaky)
    with pytest.warns(ConvergenceWarning, match=r"failed before lbfgs converged"):
        res = mixed_model(long, engine="statsmodels")
    assert res.method == "mixedlm" and res.optimizer == "lbfgs" and calls[:2] == ["bfgs", "lbfgs"]
    assert any("bfgs" in n and "Singular" in n for n in res.notes)
    assert list(res.attempts["name"][:2]) == ["bfgs", "lbfgs"] and not res.attempts["success"].iloc[0]

    def broken(self, *a, **k):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(mlm.MixedLM, "fit", broken)
    with pytest.warns(ConvergenceWarning, match="fell back to GEE"):
        res = mixed_model(long, engine="statsmodels")
    assert res.method == "gee" and not res.converged and "GEE" in res.method_description
    assert res.variance_components["variance"].isna().all() and res.methods == ("gee", "wald_z")
    fx = pd.read_csv(REF / "outcomes_ref_lmer_fixed.csv")
    lmer_w26 = fx[(fx.model == "time") & (fx.term == "timepointweek_26")].iloc[0]
    gee_w26 = res.fixed.set_index("term").loc["timepoint[T.week_26]"]
    # same estimand: GEE estimate within 2 lmer SEs of lmer's
    assert abs(gee_w26["estimate"] - lmer_w26["estimate"]) < 2 * lmer_w26["se"]


def test_mixed_model_reports_boundary_singular_fit_as_exact_zero():
    rng = np.random.default_rng(5)
    rows = []
    for g in range(8):
        u = rng.normal(0, 3, 6)
        u -= u.mean()  # identical group means: group variance estimate at the boundary
        for i in range(6):
            for t, eff in (("pre", 0.0), ("post", -1.0)):
                rows.append((f"G{g}", f"G{g}M{i}", t, 10 + u[i] + eff))
    d = pd.DataFrame(rows, columns=["group_id", "member_id", "timepoint", "score"])
    d.loc[d.timepoint == "post", "score"] += rng.normal(0, 1, (d.timepoint == "post").sum())
    d["score"] -= d.groupby(["group_id", "timepoint"])["score"].transform("mean") - \
        d.groupby("timepoint")["score"].transform("mean")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a singular fit is converged: a note, not a warning
        res = mixed_model(d)
    assert res.is_singular and res.converged
    vc = res.variance_components.set_index("component")
    assert vc.loc["group", "variance"] == 0.0 and vc.loc["group", "share"] == 0.0
    assert any("boundary (singular) fit: the group variance is estimated as 0" in n for n in res.notes)
    assert res.fixed["df"].notna().all()


def test_mixed_model_errors(long):
    with pytest.raises(SchemaError, match="'site'"):
        mixed_model(long, covariates=["site"])
    with pytest.raises(ConfigError, match="missing from `time_values`"):
        mixed_model(long, time_values=["baseline", "week_26"])
    with pytest.raises(ValidationError, match="two or more timepoints"):
        mixed_model(long[long.timepoint == "baseline"])


# ---------------------------------------------------------------------------
# compare_groups (clustered ANCOVA)
# ---------------------------------------------------------------------------
def test_compare_groups_cr1_option_matches_R_vcovCL_HC1_and_p_adjust(long):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSampleWarning)  # 30 clusters: no few-clusters warning
        res = compare_groups(long, by="group_type", vcov="CR1")
    ref = pd.read_csv(REF / "outcomes_ref_ancova.csv")
    ref["term"] = ref["term"].replace({"(Intercept)": "Intercept", "baseline": "pre"})
    got = res.coefficients.assign(term=res.coefficients["term"].map(_rterm)).set_index("term")
    for _, r in ref.iterrows():
        for c in ("estimate", "se", "t", "p_value"):
            assert got.loc[r["term"], c] == pytest.approx(r[c], rel=1e-8), (r["term"], c)
    rc = pd.read_csv(REF / "outcomes_ref_contrasts.csv")
    ct = res.contrasts.set_index(["level_a", "level_b"])
    for _, r in rc.iterrows():
        row = ct.loc[(r["level_a"], r["level_b"])]
        assert row["difference"] == pytest.approx(r["difference"], rel=1e-8)
        assert row["se"] == pytest.approx(r["se"], rel=1e-8)
        assert row["p_value"] == pytest.approx(r["p_value"], rel=1e-8)
        assert row["p_adjusted"] == pytest.approx(r["p_holm"], rel=1e-8)
    bh = compare_groups(long, by="group_type", correction="fdr_bh", vcov="CR1").contrasts.set_index(
        ["level_a", "level_b"])
    for _, r in rc.iterrows():
        assert bh.loc[(r["level_a"], r["level_b"]), "p_adjusted"] == pytest.approx(r["p_fdr_bh"], rel=1e-8)
    am = pd.read_csv(REF / "outcomes_ref_adjusted_means.csv").set_index("level")
    ga = res.adjusted_means.set_index("level")
    np.testing.assert_allclose(ga.loc[am.index, "adjusted_mean"], am["adjusted_mean"], rtol=1e-8)
    np.testing.assert_allclose(ga.loc[am.index, "se"], am["se"], rtol=1e-8)
    assert res.n_clusters == 30 and res.summary is res.contrasts
    assert 0 < res.omnibus["p_value"] < 1 and res.omnibus["df1"] == 2 and res.omnibus["test"] == "naive-F"
    assert res.omnibus["df2"] == 29 and (res.contrasts["df"] == 29).all()


def test_compare_groups_errors(long):
    with pytest.raises(ConfigError, match=r"`correction` must be one of 'holm', 'fdr_bh'"):
        compare_groups(long, correction="tukey")
    with pytest.raises(ValidationError, match="at least two levels"):
        compare_groups(long[long.group_type == "cancer survivors"])


# ---------------------------------------------------------------------------
# dose-response
# ---------------------------------------------------------------------------
def test_dose_response_cr1_option_matches_R_clustered_ols(long, engagement):
    res = dose_response(long, engagement, itt=False, vcov="CR1")
    ref = pd.read_csv(REF / "outcomes_ref_dose.csv")
    ref["term"] = ref["term"].replace({"per_unit_exposure": "exposure_slope"})
    got = res.summary.set_index(["analysis", "term"])
    for _, r in ref[ref.term != "change_slope"].iterrows():
        row = got.loc[(r["analysis"], r["term"])]
        for c in ("estimate", "se", "p_value"):
            assert row[c] == pytest.approx(r[c], rel=1e-8), (r["analysis"], r["term"], c)
        assert row["n"] == r["n"] and row["n_groups"] == r["n_groups"]
    # the plot curve is change ~ exposure (as-treated): slope from R's change_slope
    slope = np.diff(res.curve["fit"].to_numpy()[:2])[0] / np.diff(res.curve["exposure"].to_numpy()[:2])[0]
    r_slope = ref[(ref.analysis == "as_treated") & (ref.term == "change_slope")]["estimate"].iloc[0]
    assert slope == pytest.approx(r_slope, rel=1e-8)
    assert res._plotter == "plot_dose_response"
    assert set(res.members.columns) >= {"member_id", "group_id", "exposure", "pre", "post", "change", "completer"}
    assert res.members["as_treated"].sum() == 246


def test_dose_response_per_scales_the_slope_and_itt_is_pooled(long, engagement):
    a = dose_response(long, engagement, itt=False).summary.set_index(["analysis", "term"])
    b = dose_response(long, engagement, itt=False, per=10).summary.set_index(["analysis", "term"])
    assert b.loc[("as_treated", "exposure_slope"), "estimate"] == pytest.approx(
        10 * a.loc[("as_treated", "exposure_slope"), "estimate"])
    assert b.loc[("as_treated", "exposure_slope"), "p_value"] == pytest.approx(
        a.loc[("as_treated", "exposure_slope"), "p_value"])
    itt = dose_response(long, engagement, m=3, burn_in=3, skip=1, seed=1).summary.set_index(["analysis", "term"])
    row = itt.loc[("itt", "mean_change")]
    assert row["n"] == long["member_id"].nunique() and row["n_imputed"] > 0
    assert row["ci_low"] < row["estimate"] < row["ci_high"]


def test_dose_response_errors(long, engagement):
    with pytest.raises(SchemaError, match="'attendance_rate'"):
        dose_response(long, engagement, exposure="attendance_rate")
    with pytest.raises(SchemaError, match="must be numeric"):
        dose_response(long, engagement, exposure="status")
    with pytest.raises(ConfigError, match="`per` must be a positive number"):
        dose_response(long, engagement, per=0)


# ---------------------------------------------------------------------------
# Rubin's rules and imputation
# ---------------------------------------------------------------------------
def test_rubin_pool_by_hand():
    p = rubin_pool([1.0, 2.0, 3.0], [0.5, 0.5, 0.5])
    # Qbar = 2, W = 0.5, B = 1, T = 0.5 + (4/3) = 1.8333; r = (4/3)/0.5 = 8/3; df = 2 (1 + 3/8)^2 = 3.78125
    assert p["estimate"] == 2 and p["within"] == 0.5 and p["between"] == 1
    assert p["total"] == pytest.approx(0.5 + 4 / 3, rel=1e-14)
    assert p["riv"] == pytest.approx(8 / 3, rel=1e-14)
    assert p["df"] == pytest.approx(3.78125, rel=1e-14)
    assert p["se"] == pytest.approx(np.sqrt(11 / 6), rel=1e-14)
    from scipy import stats
    assert p["ci_high"] == pytest.approx(2 + stats.t.ppf(0.975, 3.78125) * np.sqrt(11 / 6), rel=1e-12)
    # Barnard-Rubin with complete-data df 10: lambda = (4/3)/(11/6) = 8/11; df_obs = 11/13*10*(3/11)
    br = rubin_pool([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], df_complete=10)
    df_obs = 11 / 13 * 10 * (1 - 8 / 11)
    assert br["df"] == pytest.approx(1 / (1 / 3.78125 + 1 / df_obs), rel=1e-12)
    with pytest.raises(ConfigError, match="at least 2 imputations"):
        rubin_pool([1.0], [0.1])


def test_impute_without_missing_data_equals_completers(long):
    full = long.pivot(index="member_id", columns="timepoint", values="score").dropna().index
    d = long[long.member_id.isin(full)]
    res = impute(d, m=3, burn_in=1, skip=1, mixed=False)
    s = res.summary.set_index("analysis")
    assert s.loc["multiple_imputation", "estimate"] == pytest.approx(s.loc["completers", "estimate"], rel=1e-12)
    assert s.loc["multiple_imputation", "se"] == pytest.approx(s.loc["completers", "se"], rel=1e-12)
    assert res.pooled["between"] == pytest.approx(0, abs=1e-20)


def test_impute_pools_its_own_per_imputation_estimates_and_lists_three_analyses(long, engagement):
    res = impute(long, engagement=engagement.assign(attendance_rate=engagement.sessions_attended / 26), m=4,
                 burn_in=3, skip=1, seed=3)
    s = res.summary.set_index("analysis")
    assert list(s.index) == ["completers", "multiple_imputation", "mixed_model"]
    again = rubin_pool(res.estimates["estimate"], res.estimates["variance"], df_complete=res.n_clusters - 1)
    assert s.loc["multiple_imputation", "estimate"] == pytest.approx(again["estimate"], rel=1e-14)
    assert s.loc["multiple_imputation", "se"] == pytest.approx(again["se"], rel=1e-14)
    # the complete-data df is CR2's Satterthwaite df (unequal groups: below G - 1), so the pooled df is smaller
    assert s.loc["multiple_imputation", "df"] < again["df"]
    assert s.loc["multiple_imputation", "n"] == long.member_id.nunique()
    # mixed-model row is the lmer week_26 effect
    fx = pd.read_csv(REF / "outcomes_ref_lmer_fixed.csv")
    r = fx[(fx.model == "time") & (fx.term == "timepointweek_26")].iloc[0]
    assert s.loc["mixed_model", "estimate"] == pytest.approx(r["estimate"], rel=1e-5)
    assert s.loc["mixed_model", "se"] == pytest.approx(r["se"], rel=1e-4)
    dfr = pd.read_csv(REF / "outcomes_ref_lmer_df.csv")
    dfr = dfr[(dfr.model == "time") & (dfr.term == "timepointweek_26")].iloc[0]
    assert s.loc["mixed_model", "df"] == pytest.approx(dfr["df"], rel=1e-4)  # lmerTest's Satterthwaite df
    assert s.loc["mixed_model", "p_value"] == pytest.approx(dfr["p_value"], rel=1e-3)
    # completers: paired mean change (R t.test estimate) with a cluster-robust SE
    ref = pd.read_csv(REF / "outcomes_ref_change.csv")
    mc = ref[(ref["by"] == "(all)") & (ref.pre == "baseline") & (ref.post == "week_26")]["mean_change"].iloc[0]
    assert s.loc["completers", "estimate"] == pytest.approx(mc, rel=1e-12)
    same = impute(long, engagement=engagement.assign(attendance_rate=engagement.sessions_attended / 26), m=4,
                  burn_in=3, skip=1, seed=3, mixed=False)
    assert same.summary.set_index("analysis").loc["multiple_imputation", "estimate"] == \
        s.loc["multiple_imputation", "estimate"]  # seeded: reproducible


def test_impute_errors(long):
    with pytest.raises(ConfigError, match="at least 2"):
        impute(long, m=1)
    with pytest.raises(ConfigError, match="'week_99' does not occur"):
        impute(long, post="week_99")


def test_rubin_pool_agrees_with_statsmodels_MICE_combine():
    """Same completed-data fits pooled by statsmodels' MICE.combine and by rubin_pool."""
    import statsmodels.api as sm
    from statsmodels.imputation.mice import MICE, MICEData

    rng = np.random.default_rng(4)
    x = rng.normal(size=200)
    y = 1 + 0.5 * x + rng.normal(size=200)
    y[rng.random(200) < 0.3] = np.nan
    md = MICEData(pd.DataFrame({"y": y, "x": x}), rng=np.random.default_rng(1))
    mice = MICE("y ~ x", sm.OLS, md)
    pooled = mice.fit(n_burnin=2, n_imputations=6)
    slopes = [r.params.iloc[1] for r in mice.results_list]
    variances = [r.cov_params().iloc[1, 1] for r in mice.results_list]
    ours = rubin_pool(slopes, variances)
    assert ours["estimate"] == pytest.approx(pooled.params[1], rel=1e-12)
    assert ours["se"] == pytest.approx(pooled.bse[1], rel=1e-10)
    assert ours["between"] * (1 + 1 / 6) / ours["total"] == pytest.approx(pooled.frac_miss_info[1], rel=1e-10)


def test_rows_left_out_for_missing_covariates_are_warned_and_noted(long):
    from groupeval.base.exceptions import DataQualityWarning

    d = long.copy()
    d.loc[d.member_id.isin(["M0001", "M0002"]), "age"] = np.nan
    n_rows = int(d.age.isna().sum())
    with pytest.warns(DataQualityWarning, match=f"{n_rows} score row\\(s\\) left out for missing age"):
        res = mixed_model(d, covariates=["age"])
    assert res.n_obs == len(long) - n_rows and any("left out" in n for n in res.notes)
    d2 = long.copy()
    d2.loc[d2.member_id == "M0001", "group_type"] = None
    with pytest.warns(DataQualityWarning, match="1 member\\(s\\) with both scores left out for a missing group_type"):
        res2 = compare_groups(d2)
    assert res2.n_incomplete == 1 and res2.n == compare_groups(long).n - 1
