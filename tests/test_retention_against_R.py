"""groupeval.statistics.retention / logrank / cox_model against R survival 3.5.3.

Reference values: tests/reference/retention_km.R (run on
retention_km_input.csv and retention_sample_input.csv, which
retention_input.py wrote from the deterministic test programme and the
shipped sample programme).  CI does not run R; these tests read the
committed CSVs.  Agreement is required to 1e-6 (relative).  The defaults
that allow for members clustered in groups (the robust score test, the
group-clustered KM interval, the Mancl-DeRouen Cox variance) are checked
here on both programmes; the member-level numbers (Greenwood, log-rank,
Lin-Wei) keep their original references.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import groupeval as ge
from _helpers_retention import random_programme
from groupeval.statistics.survival import kaplan_meier, logrank

REF = Path(__file__).resolve().parent / "reference"
TOL = dict(rtol=1e-6, atol=1e-9)


@pytest.fixture(scope="module")
def programme():
    return random_programme()


@pytest.fixture(scope="module")
def result(programme):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ge.retention(programme, by="group_type", times=(0, 4, 8, 12, 26, 100))


@pytest.fixture(scope="module")
def overall(programme):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ge.retention(programme, times=(0, 4, 8, 12, 26, 100))


@pytest.fixture(scope="module")
def ref_input():
    return pd.read_csv(REF / "retention_km_input.csv")


@pytest.fixture(scope="module")
def sample():
    return ge.sample.generate()


@pytest.fixture(scope="module")
def sample_result(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ge.retention(sample, by="group_type")


def test_reference_input_is_what_the_pipeline_produces(result, ref_input):
    # the R script fitted exactly the member-level data groupeval builds
    mine = result.members.reset_index(drop=True)
    assert list(mine["member_id"]) == list(ref_input["member_id"])
    np.testing.assert_allclose(mine["time_weeks"], ref_input["time_weeks"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(mine["entry_weeks"], ref_input["entry_weeks"], rtol=0, atol=1e-12)
    assert (mine["event"].astype(int).to_numpy() == ref_input["event"].to_numpy()).all()
    assert (ref_input["entry_weeks"] > 0).sum() > 30          # late entry is exercised
    assert (ref_input["time_weeks"] == 0).sum() > 0           # events at time 0 too


def _compare_table(mine: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert len(mine) == len(ref)
    np.testing.assert_allclose(mine["time"], ref["time"], **TOL)
    for c in ("at_risk", "events", "censored"):
        assert (mine[c].to_numpy() == ref[c].to_numpy()).all(), c
    for c in ("retention", "std_err", "ci_low", "ci_high"):
        np.testing.assert_allclose(mine[c].to_numpy(float), ref[c].to_numpy(float), equal_nan=True, **TOL)


def test_km_table_matches_R_survfit_counting_process_loglog_overall(overall):
    ref = pd.read_csv(REF / "retention_km_table.csv")
    _compare_table(overall.table, ref[ref["stratum"] == "overall"].reset_index(drop=True))


@pytest.mark.parametrize("stratum", ["12-step", "cancer survivors", "mental-health recovery", "postpartum depression"])
def test_km_table_matches_R_survfit_by_group_type(result, stratum):
    ref = pd.read_csv(REF / "retention_km_table.csv")
    _compare_table(result.curve(stratum), ref[ref["stratum"] == stratum].reset_index(drop=True))


def test_retention_at_times_matches_R_summary_times(result, overall):
    ref = pd.read_csv(REF / "retention_km_at.csv")
    # R's summary(fit, times =, extend = TRUE) carries the last value past the last follow-up: extend=True
    mine = pd.concat([overall.at(overall.times, extend=True).assign(stratum="overall"),
                      result.at(result.times, extend=True).rename(columns={"group_type": "stratum"})],
                     ignore_index=True)
    mine = mine.set_index(["stratum", "time"]).sort_index()
    ref = ref.set_index(["stratum", "time"]).sort_index()
    assert mine.index.equals(ref.index)
    assert (mine["at_risk"] == ref["at_risk"]).all()
    for c in ("retention", "ci_low", "ci_high"):
        np.testing.assert_allclose(mine[c].to_numpy(float), ref[c].to_numpy(float), equal_nan=True, **TOL)
    # the summary's wide columns carry the same numbers
    s = result.summary.set_index("group_type")
    np.testing.assert_allclose(s["retention_12w"], ref.xs(12.0, level="time").drop("overall")["retention"], **TOL)


def test_median_and_ci_match_R_quantile_survfit(result, overall):
    ref = pd.read_csv(REF / "retention_km_median.csv").set_index("stratum")
    mine = pd.concat([overall.summary.assign(stratum="overall"),
                      result.summary.rename(columns={"group_type": "stratum"})]).set_index("stratum")
    for a, b in (("median_weeks", "median"), ("median_ci_low", "ci_low"), ("median_ci_high", "ci_high")):
        np.testing.assert_allclose(mine.loc[ref.index, a].to_numpy(float), ref[b].to_numpy(float),
                                   equal_nan=True, **TOL)
    assert np.isnan(mine.loc["cancer survivors", "median_ci_high"])   # not reached, NA in R too


def test_logrank_matches_R_survdiff_without_late_entry(ref_input):
    ref = pd.read_csv(REF / "retention_logrank.csv").set_index("case")
    d0 = ref_input[ref_input["entry_weeks"] == 0]
    res = logrank(d0["time_weeks"], d0["event"].astype(bool), d0["group_type"])
    np.testing.assert_allclose(res["statistic"], ref.loc["no_late_entry_survdiff", "statistic"], **TOL)
    assert res["df"] == 3
    np.testing.assert_allclose(res["p_value"], ref.loc["no_late_entry_survdiff", "p_value"], **TOL)


def test_logrank_with_late_entry_matches_R_counting_process_logrank(result):
    ref = pd.read_csv(REF / "retention_logrank.csv").set_index("case")
    lr = result.logrank.iloc[0]
    np.testing.assert_allclose(lr["statistic"], ref.loc["late_entry_counting_process", "statistic"], **TOL)
    np.testing.assert_allclose(lr["p_value"], ref.loc["late_entry_counting_process", "p_value"], **TOL)
    assert lr["df"] == 3


def test_logrank_agrees_with_lifelines_without_late_entry(ref_input):
    from lifelines.statistics import multivariate_logrank_test

    d0 = ref_input[ref_input["entry_weeks"] == 0]
    lf = multivariate_logrank_test(d0["time_weeks"], d0["group_type"], d0["event"])
    res = logrank(d0["time_weeks"], d0["event"].astype(bool), d0["group_type"])
    np.testing.assert_allclose(res["statistic"], lf.test_statistic, rtol=1e-9)


def _r_term(term: str) -> str:
    var, lev = term[:-1].split("[")
    return var + lev


def test_cox_coefficients_and_cluster_robust_se_match_R_coxph_cluster_late_entry(programme):
    ref = pd.read_csv(REF / "retention_cox.csv")
    ref = ref[ref["case"] == "late_entry"].set_index("term")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ge.cox_model(programme, covariates=("group_type", "facilitation"))
    s = res.summary.assign(rterm=lambda x: x["term"].map(_r_term)).set_index("rterm").loc[ref.index]
    # both optimisers run to 1e-12 (R: coxph.control(eps = 1e-12))
    np.testing.assert_allclose(s["coef"], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(s["se_lin_wei"], ref["se"], rtol=1e-6)     # R's coxph(cluster =) robust SE
    np.testing.assert_allclose(s["se_model"], ref["se_model"], rtol=1e-6)
    np.testing.assert_allclose(s["hr"], np.exp(s["coef"]), rtol=1e-12)
    assert res.n == 232 and res.n_clusters == 8 and res.events == int(res.data["event"].sum())
    # the large-sample option reports Lin-Wei as its se, with a normal reference
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lw = ge.cox_model(programme, covariates=("group_type", "facilitation"), variance="lin_wei").summary
    lw = lw.assign(rterm=lambda x: x["term"].map(_r_term)).set_index("rterm").loc[ref.index]
    np.testing.assert_allclose(lw["se"], ref["se"], rtol=1e-6)
    assert np.isinf(lw["df"]).all() and (lw["variance"] == "lin_wei").all()
    np.testing.assert_allclose(lw["p_value"], 2 * stats.norm.sf(np.abs(lw["coef"] / ref["se"])), rtol=1e-6)


@pytest.mark.parametrize("prog", ["test", "sample"])
def test_cox_default_mancl_derouen_matches_R_efron_information_loop(prog, programme, sample):
    """Below 30 groups cox_model reports the Mancl-DeRouen variance with t(G - p): R builds each member's
    Efron information share by a loop over event times (checked to add up to solve(naive.var)) and the
    corrected sandwich from residuals(fit, "score")."""
    ref = pd.read_csv(REF / "retention_cox_md.csv")
    ref = ref[ref["programme"] == prog].set_index("term")
    covs = ("group_type", "facilitation") if prog == "test" else ("facilitation",)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ge.cox_model(programme if prog == "test" else sample, covariates=covs)
    s = res.summary.assign(rterm=lambda x: x["term"].map(_r_term)).set_index("rterm").loc[ref.index]
    np.testing.assert_allclose(s["coef"], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(s["se"], ref["se_mancl_derouen"], rtol=1e-6)
    np.testing.assert_allclose(s["se_lin_wei"], ref["se_lin_wei"], rtol=1e-6)
    assert (s["df"] == ref["df"]).all() and res.df == ref["df"].iloc[0]
    np.testing.assert_allclose(s["t"], ref["t"], rtol=1e-6)
    np.testing.assert_allclose(s["p_value"], ref["p_value"], rtol=1e-6)
    np.testing.assert_allclose(s["ci_low"], ref["hr_ci_low"], rtol=1e-6)
    np.testing.assert_allclose(s["ci_high"], ref["hr_ci_high"], rtol=1e-6)
    assert res.variance == "mancl_derouen" and (s["variance"] == "mancl_derouen").all()
    assert res.methods[:2] == ("cox", "mancl_derouen") and res.note == ""
    assert (s["n_groups"] == res.n_groups).all() and res.n_groups == (8 if prog == "test" else 12)


@pytest.mark.parametrize("prog,factor", [("test", "group_type"), ("test", "facilitation"),
                                         ("sample", "group_type"), ("sample", "facilitation")])
def test_retention_comparison_is_R_coxph_cluster_robust_score_test(prog, factor, programme, sample):
    ref = pd.read_csv(REF / "retention_cluster_test.csv")
    r = ref[(ref["programme"] == prog) & (ref["factor"] == factor)].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ge.retention(programme if prog == "test" else sample, by=factor)
    t = res.test.iloc[0]
    assert t["test"] == "robust_score" and bool(t["valid"]) and t["reason"] == ""
    np.testing.assert_allclose(t["statistic"], r["statistic"], **TOL)
    np.testing.assert_allclose(t["p_value"], r["p_value"], **TOL)
    assert t["df"] == r["df"] and t["n_groups"] == r["n_groups"] and np.isnan(t["df_denom"])
    assert "robust_score_logrank" in res.methods
    # the member-level log-rank stays beside it, labelled secondary
    assert res.logrank["role"].iloc[0] == "secondary" and "ignores the grouping" in res.logrank["method"].iloc[0]
    roles = res.tests.set_index("test")["role"]
    assert roles["robust_score"] == "primary" and roles["logrank"] == "secondary"


def test_sample_reference_input_is_what_the_pipeline_produces(sample_result):
    ref = pd.read_csv(REF / "retention_sample_input.csv")
    mine = sample_result.members.reset_index(drop=True)
    assert list(mine["member_id"]) == list(ref["member_id"])
    np.testing.assert_allclose(mine["time_weeks"], ref["time_weeks"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(mine["entry_weeks"], ref["entry_weeks"], rtol=0, atol=1e-12)
    assert (mine["event"].astype(int).to_numpy() == ref["event"].to_numpy()).all()


@pytest.mark.parametrize("prog", ["test", "sample"])
def test_km_group_clustered_interval_matches_R_survfit_cluster(prog, result, overall, sample, sample_result):
    """std_err_cluster = R's robust std.err (survfit(cluster = group_id)) times sqrt(G/(G-1)), CI on t(G-1)."""
    ref = pd.read_csv(REF / "retention_cluster_km.csv")
    ref = ref[ref["programme"] == prog]
    if prog == "test":
        by_res, all_res = result, overall
    else:
        by_res = sample_result
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            all_res = ge.retention(sample)
    for stratum, r in ref.groupby("stratum"):
        mine = all_res.table if stratum == "overall" else by_res.curve(stratum)
        r = r.reset_index(drop=True)
        assert len(mine) == len(r), stratum
        np.testing.assert_allclose(mine["time"], r["time"], **TOL)
        np.testing.assert_allclose(mine["retention"], r["retention"], **TOL)
        for c in ("std_err_cluster", "ci_low_cluster", "ci_high_cluster", "df_cluster"):
            np.testing.assert_allclose(mine[c].to_numpy(float), r[c].to_numpy(float), equal_nan=True, **TOL)
        assert (mine["n_groups"] == r["n_groups"]).all()
        summ = all_res.summary.iloc[0] if stratum == "overall" else \
            by_res.summary.set_index(by_res.by).loc[stratum]
        assert summ["n_groups"] == r["n_groups"].iloc[0] and summ["df_cluster"] == r["df_cluster"].iloc[0]


def test_cox_without_late_entry_matches_R_coxph_cluster(programme, ref_input):
    """Coefficients from lifelines match R; the robust SEs need Efron score
    residuals (and, with late entry, risk sets that respect the entry times).
    lifelines' own ``cluster_col`` sandwich differs from R's by 5-11 % on these
    heavily tied weekly times (and ignores entry times), so groupeval computes
    the score residuals itself; here they reproduce R's robust SEs."""
    from lifelines import CoxPHFitter

    ref = pd.read_csv(REF / "retention_cox.csv")
    ref = ref[ref["case"] == "no_late_entry"].set_index("term")
    d0 = ref_input[ref_input["entry_weeks"] == 0].copy()
    X = pd.get_dummies(d0[["group_type", "facilitation"]], prefix_sep="", drop_first=True, dtype=float)
    df = X.assign(T=d0["time_weeks"].to_numpy(), E=d0["event"].to_numpy(), g=d0["group_id"].to_numpy())
    opts = {"precision": 1e-12}
    cph = CoxPHFitter().fit(df, "T", "E", cluster_col="g", fit_options=opts)
    np.testing.assert_allclose(cph.params_.loc[ref.index], ref["coef"], rtol=1e-6)
    # our residual-based sandwich on the same fit
    from groupeval.statistics.cox_cluster import cox_score_residuals

    Xv = X[ref.index].to_numpy()
    U = cox_score_residuals(Xv, d0["time_weeks"].to_numpy(float), d0["event"].to_numpy(bool), None,
                            cph.params_.loc[ref.index].to_numpy(), ties="efron")
    V0 = CoxPHFitter().fit(df.drop(columns="g"), "T", "E", fit_options=opts).variance_matrix_.loc[ref.index,
                                                                                                  ref.index].to_numpy()
    D = pd.DataFrame(U @ V0).groupby(d0["group_id"].to_numpy()).sum().to_numpy()
    np.testing.assert_allclose(np.sqrt(np.diag(D.T @ D)), ref["se"], rtol=1e-6)


def test_kaplan_meier_closed_form_small_case():
    # by hand: times 1,2,2,3+,4 ; S(1)=4/5, S(2)=4/5*(1-2/4), S(4)=0
    tab = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 1, 0, 1])
    np.testing.assert_allclose(tab["retention"], [0.8, 0.4, 0.4, 0.0])
    assert list(tab["at_risk"]) == [5, 4, 2, 1]
    # Greenwood: var log S(1) = 1/(5*4)
    np.testing.assert_allclose(tab["std_err"].iloc[0], np.sqrt(1 / 20))
    z = 1.959963984540054
    v = np.log(0.8)
    np.testing.assert_allclose(tab["ci_low"].iloc[0], np.exp(-np.exp(np.log(-v) - z * np.sqrt(1 / 20) / v)))
    np.testing.assert_allclose(tab["ci_high"].iloc[0], np.exp(-np.exp(np.log(-v) + z * np.sqrt(1 / 20) / v)))
    assert np.isnan(tab["ci_low"].iloc[-1])   # S = 0: undefined, as R



@pytest.mark.parametrize("curve,start", [("unconditional", None), ("start_time_816", 816.0)])
def test_public_kaplan_meier_returns_the_channing_men_curve_as_R_survfit(curve, start):
    """KMsurv's channing (men, age as time scale): late entry leaves one man at risk at 781 months and he
    dies, so S = 0 from there although 94 men enter later.  R returns that curve; lifelines raised
    StatError (groupeval's kaplan_meier did too before it used its own estimator)."""
    men = pd.read_csv(REF / "survival_cluster_channing_men.csv")
    ref = pd.read_csv(REF / "survival_cluster_channing_km.csv")
    ref = ref[ref["curve"] == curve].reset_index(drop=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tab = kaplan_meier(men["age"], men["death"].astype(bool), men["ageentry"], start_time=start)
    assert len(tab) == len(ref)
    np.testing.assert_allclose(tab["time"], ref["time"], **TOL)
    for c in ("at_risk", "events", "censored"):
        assert (tab[c].to_numpy() == ref[c].to_numpy()).all(), c
    for a, b in (("retention", "retention"), ("std_err", "std_err_greenwood"), ("ci_low", "ci_low"),
                 ("ci_high", "ci_high")):
        np.testing.assert_allclose(tab[a].to_numpy(float), ref[b].to_numpy(float), equal_nan=True, **TOL)
    if start is None:
        assert tab.attrs["zero_at"] == 781.0 and "later entrants cannot lift it" in tab.attrs["note"]
        assert any(issubclass(w.category, ge.exceptions.SmallSampleWarning) and "start_time=" in str(w.message)
                   for w in caught)
    else:
        assert np.isnan(tab.attrs["zero_at"]) and (tab["retention"] > 0).all()
