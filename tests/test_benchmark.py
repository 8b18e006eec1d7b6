"""benchmark(): conversions against closed forms and metafor, reference matching, table contract."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from groupeval import change, reliable_change
from groupeval.base import evidence
from groupeval.base.exceptions import ConfigError
from groupeval.statistics import benchmark as bm

REF = Path(__file__).parent / "reference"


@pytest.fixture(autouse=True)
def _fresh_registry():
    evidence.reset()
    yield
    evidence.reset()


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return pd.read_csv(REF / "benchmark_input.csv", dtype={"member_id": str, "group_id": str})


@pytest.fixture(scope="module")
def metafor() -> pd.DataFrame:
    return pd.read_csv(REF / "benchmark_metafor.csv")


def _change(scores, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return change(scores, "baseline", "week_12", **kw)


# --------------------------------------------------------------------------- closed forms
def test_hedges_j_exact_closed_form_and_limits():
    m = np.array([2.0, 3.0, 5.0, 10.0, 50.0, 150.0])
    want = special.gamma(m / 2) / (np.sqrt(m / 2) * special.gamma((m - 1) / 2))
    np.testing.assert_allclose(bm.hedges_j_exact(m), want, rtol=1e-13)
    # J(m) -> 1 - 3/(4m - 1) for large m; J(1) undefined
    assert abs(bm.hedges_j_exact(400.0) - (1 - 3 / 1599)) < 5e-7  # error of the approximation is O(1/m^2)
    assert np.isnan(bm.hedges_j_exact(1.0))


def test_standardized_mean_change_closed_form():
    mc, sp, sd, n = -3.0, 6.0, 4.0, 25.0
    j = math.exp(math.lgamma(12) - math.log(math.sqrt(12)) - math.lgamma(11.5))
    g = j * mc / sp
    v = j**2 * (sd**2 / (sp**2 * 24) + g**2 / 48)
    est, var, lo, hi = bm.standardized_mean_change(mc, sp, sd, n, ci=0.9)
    z = stats.norm.ppf(0.95)
    assert est == pytest.approx(g, rel=1e-14) and var == pytest.approx(v, rel=1e-14)
    assert (lo, hi) == (pytest.approx(g - z * math.sqrt(v), rel=1e-13), pytest.approx(g + z * math.sqrt(v), rel=1e-13))
    # a design effect multiplies only the sampling variance of the mean change
    _, v2, _, _ = bm.standardized_mean_change(mc, sp, sd, n, deff=2.5)
    assert v2 == pytest.approx(j**2 * (2.5 * sd**2 / (sp**2 * 24) + g**2 / 48), rel=1e-14)
    # undefined inputs give NaN, never an exception
    assert all(np.isnan(x) for x in bm.standardized_mean_change(1.0, 0.0, 1.0, 10))
    assert all(np.isnan(x) for x in bm.standardized_mean_change(1.0, 1.0, 1.0, 2))


def test_d_rm_equals_mean_change_over_sd_when_sds_are_equal():
    # equal SDs s: s_D = s*sqrt(2(1-r)), so d_z*sqrt(2(1-r)) = mean change / s (Morris & DeShon 2002)
    s, r, mc = 5.0, 0.6, -2.0
    d_z = mc / (s * math.sqrt(2 * (1 - r)))
    assert bm.d_rm_from_d_z(d_z, r) == pytest.approx(mc / s, rel=1e-14)


def test_smd_from_odds_ratio_closed_form_against_metafor_OR2DL():
    assert bm.smd_from_odds_ratio(math.e) == pytest.approx(math.sqrt(3) / math.pi, rel=1e-15)
    assert bm.smd_from_odds_ratio(1.0) == 0.0
    assert np.isnan(bm.smd_from_odds_ratio(0.0))
    ref = pd.read_csv(REF / "benchmark_metafor_or.csv")
    np.testing.assert_allclose(bm.smd_from_odds_ratio(ref["odds_ratio"]), ref["or2dl_yi"], rtol=1e-12)


def test_smcr_against_metafor_escalc_SMCRH(scores, metafor):
    ch = _change(scores, by="site", instrument="phq9")
    allr = _change(scores, instrument="phq9")
    got = pd.concat([allr.assign(site="(all)"), ch], ignore_index=True).set_index("site")
    ref = metafor.set_index("site")
    for site in ref.index:
        g = got.loc[site]
        np.testing.assert_allclose([g.sd_pre, g.sd_post, g.r_pre_post, g.sd_change],
                                   ref.loc[site, ["sd_pre", "sd_post", "r", "sd_change"]].to_numpy(float), rtol=1e-12)
        est, var, lo, hi = bm.standardized_mean_change(g.mean_change, g.sd_pre, g.sd_change, g.n)
        assert est == pytest.approx(ref.loc[site, "smcrh_yi"], rel=1e-12)
        assert est == pytest.approx(ref.loc[site, "smcr_yi"], rel=1e-12)
        assert var == pytest.approx(ref.loc[site, "smcrh_vi"], rel=1e-12)
        assert (lo, hi) == (pytest.approx(ref.loc[site, "smcrh_ci_lb"], rel=1e-10),
                            pytest.approx(ref.loc[site, "smcrh_ci_ub"], rel=1e-10))
        assert bm.hedges_j_exact(g.n - 1) == pytest.approx(ref.loc[site, "cmi"], rel=1e-13)


def test_benchmark_programme_columns_against_metafor(scores, metafor):
    out = bm.benchmark(_change(scores, by="site", instrument="phq9"), instrument="phq9")
    eff = out[out["kind"] == "effect"].drop_duplicates("site").set_index("site")
    ref = metafor.set_index("site")
    for site in ("north", "south"):
        row = eff.loc[site]
        assert row.programme_quantity == "smcr" and row.programme_ci_level == 0.95
        assert row.programme_estimate == pytest.approx(ref.loc[site, "smcrh_yi"], rel=1e-12)
        assert row.programme_ci_low == pytest.approx(ref.loc[site, "smcrh_ci_lb"], rel=1e-10)
        assert row.programme_ci_high == pytest.approx(ref.loc[site, "smcrh_ci_ub"], rel=1e-10)
        # PHQ-9: lower is better, so the improvement columns flip the sign and swap the limits
        assert row.programme_improvement == pytest.approx(-row.programme_estimate, rel=1e-15)
        assert row.programme_improvement_ci_low == pytest.approx(-row.programme_ci_high, rel=1e-15)
        # the cluster interval is never narrower than the individual one
        assert row.programme_ci_low_cluster <= row.programme_ci_low + 1e-15
        assert row.programme_ci_high_cluster >= row.programme_ci_high - 1e-15


def test_cluster_interval_uses_the_cluster_design_effect_and_change_df(scores):
    ch = _change(scores, instrument="phq9")
    row = bm.benchmark(ch, instrument="phq9", references=["huang_2020_perinatal_depression_scores"]).iloc[0]
    c = ch.iloc[0]
    deff = max(1.0, (c.se_cluster / c.se_change) ** 2)
    _, _, lo, hi = bm.standardized_mean_change(c.mean_change, c.sd_pre, c.sd_change, c.n, deff=deff,
                                               df=c.df_cluster)
    g, v, _, _ = bm.standardized_mean_change(c.mean_change, c.sd_pre, c.sd_change, c.n, deff=deff)
    tq = stats.t.ppf(0.975, c.df_cluster)  # the Satterthwaite df of change()'s CR2 cluster interval
    assert lo == pytest.approx(g - tq * math.sqrt(v), rel=1e-13)
    assert hi == pytest.approx(g + tq * math.sqrt(v), rel=1e-13)
    assert (row.programme_ci_low_cluster, row.programme_ci_high_cluster) == (pytest.approx(lo, rel=1e-13),
                                                                            pytest.approx(hi, rel=1e-13))


def test_other_metrics_scale_the_exact_d_z_interval(scores):
    ch = _change(scores, instrument="phq9")
    c = ch.iloc[0]
    dz = bm.benchmark(ch, instrument="phq9", metric="d_z").iloc[0]
    assert dz.programme_estimate == pytest.approx(c.d_z, rel=1e-13)
    assert (dz.programme_ci_low, dz.programme_ci_high) == (pytest.approx(c.d_z_ci_low, rel=1e-9),
                                                          pytest.approx(c.d_z_ci_high, rel=1e-9))
    rm = bm.benchmark(ch, instrument="phq9", metric="d_rm").iloc[0]
    k = math.sqrt(2 * (1 - c.r_pre_post))
    assert rm.programme_estimate == pytest.approx(c.d_z * k, rel=1e-13)
    assert rm.programme_ci_low == pytest.approx(c.d_z_ci_low * k, rel=1e-9)
    gav = bm.benchmark(ch, instrument="phq9", metric="g_av").iloc[0]
    assert gav.programme_estimate == pytest.approx(c.hedges_g_av, rel=1e-12)
    # a 90% interval is narrower than the 95% one
    dz90 = bm.benchmark(ch, instrument="phq9", metric="d_z", ci=0.9).iloc[0]
    assert dz90.programme_ci_low > dz.programme_ci_low and dz90.programme_ci_level == 0.9


# --------------------------------------------------------------------------- matching
def test_phq9_matches_depression_effects_and_its_own_reference_points(scores):
    out = bm.benchmark(_change(scores, instrument="phq9"), instrument="phq9")
    eff = out[out.kind == "effect"]
    assert set(eff.reference_id) == {e.id for e in evidence.effects() if "depression" in e.domains}
    assert (eff["match"] == "domain").all() and eff["population_match"].isna().all()
    thr = out[out.kind == "change_threshold"]
    assert list(thr.reference_id) == ["phq9_mcid_lowe_2004"] and list(thr.programme_quantity) == ["mean_change"]
    assert set(out.kind) == {"effect", "change_threshold", "cutoff"}  # PHQ-9 has a cut-off but no norms set
    cut = out[out.kind == "cutoff"]
    assert list(cut.programme_quantity) == ["mean_pre", "mean_post"]
    assert (cut.reference_estimate == 10.0).all()


def test_population_keeps_only_tagged_effects(scores):
    out = bm.benchmark(_change(scores, instrument="phq9"), instrument="phq9", population="perinatal")
    eff = out[out.kind == "effect"]
    assert set(eff.reference_id) == {"huang_2020_perinatal_depression_scores", "huang_2020_perinatal_depression_risk"}
    assert eff["population_match"].astype(bool).all()
    assert "matches the population asked for" in eff.iloc[0].note
    none = bm.benchmark(_change(scores, instrument="phq9"), instrument="phq9", population="no_such_group")
    assert (none.kind != "effect").all()


def test_outcome_overrides_the_instrument_domains(scores):
    out = bm.benchmark(_change(scores, instrument="phq9"), instrument="phq9", outcome=["recovery", "hope"])
    eff = out[out.kind == "effect"]
    assert set(eff.reference_id) == {e.id for e in evidence.effects() if {"recovery", "hope"} & set(e.domains)}
    assert set(eff.domain) == {"recovery", "hope"}


def test_comparable_says_what_can_and_cannot_be_compared(scores):
    out = bm.benchmark(_change(scores, instrument="phq9"), instrument="phq9").set_index("reference_id")
    smd = out.loc["huang_2020_perinatal_depression_scores"]
    assert smd.comparable == "same_scale" and "uncontrolled before/after" in smd.note
    assert smd.reference_improvement == pytest.approx(0.37) and smd.reference_smd_improvement == pytest.approx(0.37)
    assert smd.reference_improvement_ci_low == pytest.approx(0.08)
    rr = out.loc["huang_2020_perinatal_depression_risk"]
    assert rr.comparable == "no" and np.isnan(rr.reference_smd_improvement) and "ratio" in rr.note
    # a risk ratio below 1 that favours peer support is inverted, the limits swapped
    assert rr.reference_improvement == pytest.approx(1 / 0.69)
    assert rr.reference_improvement_ci_low == pytest.approx(1 / 0.96)
    thr = out.loc["phq9_mcid_lowe_2004"]
    assert thr.comparable == "same_scale" and "one person's change" in thr.note
    dz = bm.benchmark(_change(scores, instrument="phq9"), instrument="phq9", metric="d_z")
    assert (dz.loc[dz.kind == "effect", "comparable"] == "no").all()


def test_user_within_group_reference_is_the_same_metric(scores):
    evidence.register_evidence("""
[[effect]]
id = "other_groups_pre_post"
domains = ["depression"]
outcome = "PHQ-9, 12 weeks"
population = "community peer support groups elsewhere"
design = "meta_analysis_pre_post"
comparison = "none (before/after)"
measure = "smcr"
estimate = -0.45
ci_low = -0.60
ci_high = -0.30
favourable = "lower"
citation = "A user reference, 2024."
url = "https://example.org"
location = "Table 2"
instruments = ["phq9"]
""")
    out = bm.benchmark(_change(scores, instrument="phq9"), instrument="phq9").set_index("reference_id")
    row = out.loc["other_groups_pre_post"]
    assert row.comparable == "same_metric" and row["match"] == "instrument"
    assert out.index[0] == "other_groups_pre_post"  # instrument matches come first


def test_odds_ratio_reference_is_converted_with_chinn(scores):
    evidence.register_evidence("""
[[effect]]
id = "or_reference"
domains = ["depression"]
outcome = "remission"
population = "somewhere"
design = "rct"
comparison = "usual care"
measure = "or"
estimate = 2.0
ci_low = 1.2
ci_high = 3.5
favourable = "higher"
citation = "An OR trial, 2020."
doi = "10.1234/abc"
location = "Table 1"
""")
    row = bm.benchmark(_change(scores, instrument="phq9"), instrument="phq9", references=["or_reference"]).iloc[0]
    assert row.comparable == "same_scale" and "Chinn" in row.note
    assert row.reference_smd_improvement == pytest.approx(math.log(2) * math.sqrt(3) / math.pi, rel=1e-14)
    assert row.reference_smd_improvement_ci_high == pytest.approx(math.log(3.5) * math.sqrt(3) / math.pi, rel=1e-14)


def test_norm_rows_come_from_the_instrument_registry(scores):
    out = bm.benchmark(_change(scores, instrument="core10"), instrument="core10")
    norms = out[out.kind == "norm"]
    assert set(norms.reference_id) == {"core10_norm_functional", "core10_norm_clinical"}
    f = norms[norms.reference_id == "core10_norm_functional"].iloc[0]
    assert (f.reference_estimate, f.reference_sd) == (4.7, 4.8)  # core10.toml, not the evidence files
    assert "instrument registry" in f.citation
    thr = out[out.kind == "change_threshold"].iloc[0]
    assert thr.reference_id == "core10_rci_barkham_2013" and thr.reference_ci_level == 0.9
    # CORE-10 has the domain 'distress': Lloyd-Evans' pooled depression/anxiety is tagged with it
    assert set(out.loc[out.kind == "effect", "reference_id"]) == {"lloyd_evans_2014_depression_anxiety_post"}


def test_mean_rows_have_t_intervals(scores):
    ch = _change(scores, instrument="phq9")
    out = bm.benchmark(ch, instrument="phq9")
    row = out[(out.kind == "cutoff") & (out.programme_quantity == "mean_post")].iloc[0]
    c = ch.iloc[0]
    half = stats.t.ppf(0.975, c.n - 1) * c.sd_post / math.sqrt(c.n)
    assert row.programme_ci_low == pytest.approx(c.mean_post - half, rel=1e-13)
    thr = out[out.kind == "change_threshold"].iloc[0]
    assert thr.programme_ci_high == pytest.approx(c.ci_high, rel=1e-12)  # the t interval of change()
    assert thr.programme_ci_low_cluster == pytest.approx(c.ci_low_cluster, rel=1e-12)


def test_reliable_change_result_is_set_beside_published_thresholds(scores):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = reliable_change(scores, "core10", "baseline", "week_12")
    out = bm.benchmark(rc).set_index("reference_id")
    row = out.loc["core10_rci_barkham_2013"]
    # the programme's own criterion at the published 90% level: z_.95 * Sdiff
    assert row.programme_estimate == pytest.approx(stats.norm.ppf(0.95) * rc.sdiff, rel=1e-13)
    assert row.comparable == "same_metric" and row.programme_quantity == "reliable_change_criterion"
    cut = out.loc["core10_clinical_cutoff"]
    assert cut.programme_estimate == rc.cutoff_value and cut.reference_estimate == 11.0
    assert row.n == len(rc.members)


def test_series_row_and_by_columns_are_kept(scores):
    ch = _change(scores, by="site", instrument="phq9")
    out = bm.benchmark(ch, instrument="phq9")
    assert list(out.columns[:1]) == ["site"] and list(out.columns[1:]) == list(bm.BENCHMARK_COLUMNS)
    assert set(out.site) == {"north", "south"}
    one = bm.benchmark(ch.iloc[0], instrument="phq9")
    assert set(one.site) == {ch.iloc[0].site} and len(one) == len(out) / 2


def test_direction_can_come_from_improved_direction(scores):
    ch = _change(scores, instrument="phq9")
    a = bm.benchmark(ch, outcome="depression")
    assert (a.loc[a.kind == "effect", "programme_improvement"] > 0).all()  # scores fell: improvement on PHQ-9


def test_bad_input_raises_config_errors(scores):
    ch = _change(scores, instrument="phq9")
    with pytest.raises(ConfigError, match="metric"):
        bm.benchmark(ch, instrument="phq9", metric="cohen")
    with pytest.raises(ConfigError, match="known domains"):
        bm.benchmark(ch, instrument="phq9", outcome="happiness")
    with pytest.raises(ConfigError, match="lacks"):
        bm.benchmark(ch.drop(columns=["sd_pre"]), instrument="phq9")
    with pytest.raises(ConfigError, match="needs an instrument"):
        bm.benchmark(ch.drop(columns=["improved_direction"]))
    with pytest.raises(ConfigError, match="direction"):
        bm.benchmark(ch.drop(columns=["improved_direction"]), outcome="depression")
    with pytest.raises(ConfigError, match="(?i)retention"):
        bm.benchmark(object())
    with pytest.raises(ConfigError, match="ci"):
        bm.benchmark(ch, instrument="phq9", ci=95)
    with pytest.raises(ConfigError, match="Unknown instrument"):
        bm.benchmark(ch, instrument="no_such")


def test_numbers_are_never_rounded(scores):
    out = bm.benchmark(_change(scores, instrument="phq9"), instrument="phq9")
    x = out.loc[out.kind == "effect", "programme_estimate"].iloc[0]
    assert x != round(x, 6)


def test_undefined_programme_estimate_is_nan_with_a_reason():
    s = pd.DataFrame({"member_id": ["a", "b", "a", "b"], "timepoint": ["pre", "pre", "post", "post"],
                      "score": [10.0, 12, 8, 11], "group_id": "g"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ch = change(s, "pre", "post", instrument="phq9")
    out = bm.benchmark(ch, instrument="phq9")
    eff = out[out.kind == "effect"]
    assert eff.programme_estimate.isna().all() and eff.programme_ci_low_cluster.isna().all()
    assert eff.note.str.startswith("Programme estimate undefined").all()
