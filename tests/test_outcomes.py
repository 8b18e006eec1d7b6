"""change() and reliable_change() against R (tests/reference/outcomes_r.R), the
Jacobson-Truax CORE-10 worked example (instruments.md section 16.1) and closed forms."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from groupeval.base.exceptions import ConfigError, SchemaError, SmallSampleWarning, ValidationError
from groupeval.statistics._common import nct_ci, wilson_ci
from groupeval.statistics.change import CHANGE_COLUMNS, change, wilcoxon_signed_rank
from groupeval.statistics.reliability import cronbach_alpha
from groupeval.statistics.reliable_change import CATEGORIES, ReliableChangeResult, reliable_change

REF = Path(__file__).parent / "reference"


@dataclass(frozen=True)
class StandIn:
    """Minimal object with the instrument contract's attributes."""

    name: str = "toy"
    higher_is_better: bool = False
    reliability: dict = field(default_factory=lambda: {"alpha": 0.9, "test_retest": 0.85})
    norms: dict = field(default_factory=lambda: {"clinical": (20.0, 6.0), "functional": (8.0, 5.0)})
    n_items: int = 6
    reverse: tuple = (3,)
    item_min: int = 1
    item_max: int = 5


@pytest.fixture(scope="module")
def long():
    return pd.read_csv(REF / "outcomes_input.csv", dtype={"member_id": str, "group_id": str})


@pytest.fixture(scope="module")
def ref_change():
    return pd.read_csv(REF / "outcomes_ref_change.csv")


def _small_long():
    s = pd.read_csv(REF / "outcomes_small.csv")
    return pd.concat([s.assign(timepoint="pre", score=s["pre"]), s.assign(timepoint="post", score=s["post"])])[
        ["member_id", "timepoint", "score"]]


COLS = ["n", "mean_pre", "mean_post", "sd_pre", "sd_post", "r_pre_post", "mean_change", "sd_change", "ci_low",
        "ci_high", "t", "df", "p_value", "wilcoxon_w", "wilcoxon_p", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av",
        "hedges_g_av"]


@pytest.mark.parametrize("pre,post", [("baseline", "week_26"), ("baseline", "week_12"), ("week_12", "week_26")])
def test_change_matches_R_t_test_wilcox_test_and_nct_ci(long, ref_change, pre, post):
    got = change(long, pre, post).iloc[0]
    exp = ref_change[(ref_change["by"] == "(all)") & (ref_change["pre"] == pre) & (ref_change["post"] == post)].iloc[0]
    for c in COLS:
        np.testing.assert_allclose(got[c], exp[c], rtol=1e-6, atol=1e-12, err_msg=c)
    assert got["wilcoxon_method"] == "normal"  # integer scores: ties


def test_change_by_group_type_matches_R(long, ref_change):
    got = change(long, "baseline", "week_26", by="group_type").set_index("group_type")
    exp = ref_change[~ref_change["by"].str.startswith("(")].set_index("by")
    assert list(got.index) == sorted(exp.index)
    for lvl in exp.index:
        for c in COLS:
            np.testing.assert_allclose(got.loc[lvl, c], exp.loc[lvl, c], rtol=1e-6, err_msg=f"{lvl} {c}")


def test_change_exact_wilcoxon_matches_R_small_sample(ref_change):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSampleWarning)  # n = 18: no small-sample warning
        got = change(_small_long(), "pre", "post").iloc[0]
    exp = ref_change[ref_change["by"] == "(small)"].iloc[0]
    assert got["wilcoxon_method"] == "exact"
    for c in COLS:
        np.testing.assert_allclose(got[c], exp[c], rtol=1e-6, err_msg=c)


def test_change_columns_are_design_columns_and_unrounded(long):
    out = change(long, "baseline", "week_26", instrument=StandIn())
    assert list(out.columns) == list(CHANGE_COLUMNS)
    for c in ("n", "mean_pre", "mean_post", "mean_change", "ci_low", "ci_high", "t", "p_value", "d_z",
              "d_z_ci_low", "d_z_ci_high", "hedges_g_av"):
        assert c in out.columns
    assert out.loc[0, "improved_direction"] == "lower"
    assert out.loc[0, "mean_change"] < 0  # raw means are not flipped
    # members without one of the two scores are counted, not lost
    per = long.pivot(index="member_id", columns="timepoint", values="score")
    assert out.loc[0, "n_pre_only"] == int((per["baseline"].notna() & per["week_26"].isna()).sum())
    assert out.loc[0, "n_post_only"] == int((per["baseline"].isna() & per["week_26"].notna()).sum())


def test_change_by_joins_group_attributes_from_dataset(long):
    groups = long[["group_id", "group_type"]].drop_duplicates().assign(facilitation="peer")
    members = long[["member_id", "group_id"]].drop_duplicates()

    class DS:
        pass

    ds = DS()
    ds.groups, ds.members = groups, members
    scores = long[["member_id", "timepoint", "score", "group_id"]]
    a = change(scores, by="group_type", dataset=ds)
    b = change(long, by="group_type")
    pd.testing.assert_frame_equal(a, b)
    # no group_id in the scores: taken from data.members
    c = change(long[["member_id", "timepoint", "score"]], by="facilitation", dataset=ds)
    assert c["facilitation"].tolist() == ["peer"] and c.loc[0, "n"] == b["n"].sum()


def test_dz_ci_is_exact_noncentral_t_inversion():
    t, df = 2.5, 19
    lo, hi = nct_ci(t, df, 0.95)
    assert stats.nct.cdf(t, df, lo) == pytest.approx(0.975, abs=1e-10)
    assert stats.nct.cdf(t, df, hi) == pytest.approx(0.025, abs=1e-10)


def test_hedges_gav_closed_form_lakens_formula_4():
    rng = np.random.default_rng(3)
    pre = rng.normal(10, 2, 12)
    post = pre + rng.normal(1, 1, 12)
    d = pd.DataFrame({"member_id": [str(i) for i in range(12)] * 2, "timepoint": ["a"] * 12 + ["b"] * 12,
                      "score": np.r_[pre, post]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSampleWarning)
        out = change(d, "a", "b").iloc[0]
    d_av = (post - pre).mean() / ((pre.std(ddof=1) + post.std(ddof=1)) / 2)
    assert out["d_av"] == pytest.approx(d_av, rel=1e-12)
    assert out["hedges_g_av"] == pytest.approx(d_av * (1 - 3 / (4 * 24 - 9)), rel=1e-12)


def test_change_warns_on_small_levels_and_names_them():
    d = pd.DataFrame({"member_id": list("abcd") * 2, "timepoint": ["pre"] * 4 + ["post"] * 4,
                      "score": [1, 2, 3, 4, 2, 2, 5, 4.5], "g": list("xxyy") * 2})
    with pytest.warns(SmallSampleWarning, match=r"x \(n=2\), y \(n=2\)"):
        out = change(d, "pre", "post", by="g")
    assert out["n"].tolist() == [2, 2]


def test_change_errors_list_every_problem(long):
    with pytest.raises(SchemaError, match=r"(?s)lacks required column.*'points'"):
        change(long, dv="points")
    with pytest.raises(ConfigError, match=r"(?s)'week_52'.*does not occur.*'baseline'"):
        change(long, "baseline", "week_52")
    with pytest.raises(ConfigError, match="same timepoint"):
        change(long, "baseline", "baseline")
    dup = pd.concat([long, long[long.timepoint == "baseline"].iloc[:2]])
    with pytest.raises(ValidationError, match=r"\(2 problem\(s\)\)(?s:.*)M0001 @ baseline(?s:.*)M0002 @ baseline"):
        change(dup)
    with pytest.raises(SchemaError, match=r"'site' is not in scores"):
        change(long, by="site")
    with pytest.raises(ConfigError, match="`ci` must be between 0 and 1"):
        change(long, ci=95)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-50, 50, allow_nan=False).map(lambda x: round(x, 2)), min_size=3, max_size=60))
def test_wilcoxon_statistic_is_sum_of_positive_ranks_and_p_in_unit_interval(diffs):
    v, p, method = wilcoxon_signed_rank(np.array(diffs))
    nz = np.array([x for x in diffs if x != 0])
    if nz.size == 0:
        assert np.isnan(v)
        return
    assert v == pytest.approx(stats.rankdata(np.abs(nz))[nz > 0].sum())
    assert 0 <= p <= 1 or np.isnan(p)


def test_wilcoxon_exact_matches_scipy_exact_distribution():
    d = np.array([1.5, -0.3, 2.2, 0.7, -1.1, 3.3, 0.2, 1.9, -0.6, 2.8])
    v, p, m = wilcoxon_signed_rank(d)
    assert m == "exact"
    res = stats.wilcoxon(d, method="exact")
    assert p == pytest.approx(res.pvalue, rel=1e-10)


# ---------------------------------------------------------------------------
# reliable change
# ---------------------------------------------------------------------------
def test_core10_worked_example_instruments_md_16_1():
    """M0 = 4.7, s0 = 4.8, M1 = 19.7, s1 = 7.7, alpha = .90: c = 10.46, a = 4.3, b = 14.3,
    SE = 2.435, Sdiff = 3.444, 1.96 Sdiff = 6.75."""
    scores = pd.DataFrame({"member_id": ["a", "b", "c", "a", "b", "c"], "timepoint": ["baseline"] * 3 + ["week_26"] * 3,
                           "score": [25.0, 18.0, 12.0, 9.0, 17.0, 20.0]})
    res = reliable_change(scores, "core10", reliability="alpha", sd="clinical")
    assert res.cutoffs["c"] == pytest.approx((4.8 * 19.7 + 7.7 * 4.7) / 12.5, abs=1e-12)
    assert res.cutoffs["c"] == pytest.approx(10.46, abs=0.005)
    assert res.cutoffs["a"] == pytest.approx(4.3, abs=1e-12)
    assert res.cutoffs["b"] == pytest.approx(14.3, abs=1e-12)
    assert res.cutoff == "c"  # b > a: overlapping distributions
    assert res.se_measurement == pytest.approx(2.435, abs=5e-4)
    assert res.sdiff == pytest.approx(3.444, abs=5e-4)
    assert res.min_reliable_change == pytest.approx(6.75, abs=5e-3)
    assert res.reliability == 0.9 and "alpha" in res.reliability_source
    # a: 25 -> 9: RC = -4.65 reliable, crosses 10.46 -> recovered; b: unchanged; c: 12 -> 20 deteriorated
    # (pre 12 > c is dysfunctional already, so not harmed)
    assert res.members["category"].astype(str).tolist() == ["recovered", "unchanged", "deteriorated"]
    assert res.members["rci"].tolist() == pytest.approx([-16 / 3.4437, -1 / 3.4437, 8 / 3.4437], rel=1e-4)


@pytest.mark.parametrize("method", ["jt", "gln", "ha"])
def test_reliable_change_matches_independent_R_implementation(long, method):
    ref = pd.read_csv(REF / "outcomes_ref_rci_members.csv", dtype={"member_id": str})
    res = reliable_change(long, StandIn(), "baseline", "week_26", reliability=0.85, method=method, cutoff="c")
    got = res.members.set_index("member_id").loc[ref["member_id"]]
    np.testing.assert_allclose(got["rci"].to_numpy(), ref[f"rci_{method}"].to_numpy(), rtol=1e-9)
    assert got["category"].astype(str).tolist() == ref[f"category_{method}"].tolist()
    if method == "ha":
        np.testing.assert_allclose(got["cs"].to_numpy(), ref["cs_ha"].to_numpy(), rtol=1e-9)
        sett = pd.read_csv(REF / "outcomes_ref_rci_settings.csv").set_index("quantity")["value"]
        assert res.details["r_dd"] == pytest.approx(sett["r_dd"], rel=1e-10)
        assert res.cutoff_value == pytest.approx(sett["c_true"], rel=1e-10)
        assert res.critical_value == pytest.approx(1.6448536, rel=1e-6)


def test_reliable_change_settings_match_R(long):
    sett = pd.read_csv(REF / "outcomes_ref_rci_settings.csv").set_index("quantity")["value"]
    res = reliable_change(long, StandIn(), reliability=0.85)
    assert res.sd == pytest.approx(sett["sd"], rel=1e-12)
    assert res.se_measurement == pytest.approx(sett["se"], rel=1e-12)
    assert res.sdiff == pytest.approx(sett["sdiff"], rel=1e-12)
    for k in "abc":
        assert res.cutoffs[k] == pytest.approx(sett[k], rel=1e-12)
    assert res.cutoff == "c" and res.reliability_source == "given by the user"


def test_reliable_change_summary_wilson_matches_R_prop_test(long):
    res = reliable_change(long, StandIn(), reliability=0.85)
    s = res.summary
    assert s["category"].tolist() == list(CATEGORIES)
    assert s["n"].sum() == len(res.members)
    assert s["share"].sum() == pytest.approx(1.0)
    lo, hi = wilson_ci(s["n"], len(res.members))
    np.testing.assert_allclose(s["share_ci_low"], lo)
    w = pd.read_csv(REF / "outcomes_ref_wilson.csv")
    lo, hi = wilson_ci(w["k"], w["n"])
    np.testing.assert_allclose(lo, w["ci_low"], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(hi, w["ci_high"], rtol=1e-9)
    assert isinstance(res, ReliableChangeResult) and res._plotter == "plot_reliable_change"
    assert "Reliable change" in res._repr_html_()


def test_reliable_change_result_is_a_frozen_dataclass_with_declared_fields(long):
    import dataclasses

    res = reliable_change(long, StandIn(), reliability=0.85)
    assert dataclasses.is_dataclass(res)
    names = {f.name for f in dataclasses.fields(res)}
    assert {"members", "categories", "method", "reliability", "cutoff", "cutoff_value", "cutoffs",
            "min_reliable_change", "n_pre_only", "n_post_only", "details", "methods"} <= names
    assert set(vars(res)) == names  # every attribute is a declared field
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.cutoff = "a"  # type: ignore[misc]
    assert res.summary is res.categories
    assert res.methods == ("jacobson_truax", "wilson")
    ha = reliable_change(long, StandIn(), reliability=0.85, method="ha")
    assert ha.methods == ("hageman_arrindell", "jacobson_truax", "wilson")


def test_reliable_change_summary_by_data_keyword_is_deprecated(long):
    res = reliable_change(long, StandIn(), reliability=0.85)
    groups = long[["group_id", "group_type"]].drop_duplicates()

    class DS:
        pass

    ds = DS()
    ds.groups, ds.members = groups, long[["member_id", "group_id"]].drop_duplicates()
    with pytest.warns(DeprecationWarning, match="dataset="):
        old = res.summary_by("group_type", data=ds)
    pd.testing.assert_frame_equal(old, res.summary_by("group_type", ds))
    with pytest.raises(ConfigError, match="once"), pytest.warns(DeprecationWarning):
        res.summary_by("group_type", DS(), data=ds)


def test_higher_is_better_flips_categories_not_scores():
    base = pd.DataFrame({"member_id": list("abcdef") * 2, "timepoint": ["pre"] * 6 + ["post"] * 6,
                         "score": [10, 10, 10, 30, 30, 30, 30, 11, 2, 10, 29, 40.0]})
    lo = reliable_change(base, StandIn(higher_is_better=False, norms={}), "pre", "post", reliability=0.9, sd=3.0)
    hi = reliable_change(base, StandIn(higher_is_better=True, norms={}), "pre", "post", reliability=0.9, sd=3.0)
    np.testing.assert_allclose(lo.members["rci"], hi.members["rci"])  # same raw index
    assert lo.cutoff == "a" and hi.cutoff == "a"
    cl = lo.members.set_index("member_id")["category"].astype(str)
    ch = hi.members.set_index("member_id")["category"].astype(str)
    assert (cl["a"], ch["a"]) in {("deteriorated", "improved"), ("harmed", "improved"),
                                  ("deteriorated", "recovered"), ("harmed", "recovered")}
    assert cl["d"] in ("improved", "recovered") and ch["d"] in ("deteriorated", "harmed")
    assert cl["b"] == ch["b"] == "unchanged"


def test_reliability_choices_are_reported_and_data_alpha_matches_R_psych():
    items = pd.read_csv(REF / "outcomes_items.csv")
    ref = pd.read_csv(REF / "outcomes_ref_alpha.csv").iloc[0]
    scores = pd.DataFrame({"member_id": ["x", "y", "z"] * 2, "timepoint": ["baseline"] * 3 + ["week_26"] * 3,
                           "score": [20.0, 15, 18, 12, 16, 9]})
    inst = StandIn()
    res = reliable_change(scores, inst, reliability="data", responses=items)
    assert res.reliability == pytest.approx(ref["alpha"], rel=1e-9)
    assert f"n = {int(ref['n'])}" in res.reliability_source
    assert reliable_change(scores, inst).reliability == 0.85  # auto: test-retest first
    assert "test-retest" in reliable_change(scores, inst).reliability_source
    a = reliable_change(scores, StandIn(reliability={"alpha": 0.9, "test_retest": None}))
    assert a.reliability == 0.9 and "no test-retest" in a.reliability_source
    with pytest.raises(ConfigError, match=r"no registry 'test_retest'.*reliability='alpha' \(available\)"):
        reliable_change(scores, StandIn(reliability={"alpha": 0.9, "test_retest": None}), reliability="test_retest")
    with pytest.raises(ConfigError, match="pass `responses=`"):
        reliable_change(scores, inst, reliability="data")
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        reliable_change(scores, inst, reliability=1.2)
    with pytest.raises(ConfigError, match=r"`method` must be one of 'jt', 'gln', 'ha'; got 'xx'"):
        reliable_change(scores, inst, method="xx")
    with pytest.raises(ConfigError, match="needs functional norms"):
        reliable_change(scores, StandIn(norms={}), cutoff="c")


def test_cronbach_alpha_closed_form_two_parallel_items():
    # two items with equal variances and correlation rho: alpha = 2 rho / (1 + rho)
    x = np.array([1.0, 2, 3, 4, 5, 6])
    y = np.array([2.0, 1, 4, 3, 6, 5])
    rho = np.corrcoef(x, y)[0, 1]
    a = cronbach_alpha(np.column_stack([x, y]))
    assert a == pytest.approx(2 * rho / (1 + rho), rel=1e-12)


def test_reliable_change_with_registry_phq9_uses_alpha_and_sample_cutoff_a(long):
    # PHQ-9 has no norms: "auto" now takes its published caseness cut-off 10 (Kroenke 2001);
    # the sample-based criterion a is still there on request
    res = reliable_change(long, "phq9", cutoff="a")
    assert res.reliability == pytest.approx(0.89) and res.cutoff == "a"
    assert "pre-treatment sample" in res.norms["clinical_source"]
    x1 = long.loc[long.timepoint == "baseline"].set_index("member_id")["score"]
    both = res.members["member_id"]
    assert res.cutoff_value == pytest.approx(x1[both].mean() - 2 * x1[both].std(ddof=1))
    assert res.n_pre_only > 0  # missing follow-ups are counted
    auto = reliable_change(long, "phq9")
    assert (auto.cutoff, auto.cutoff_value) == ("clinical", 10.0)


def test_change_cluster_columns_cr1_option_match_R_vcovCL_HC1(long):
    """vcov="CR1": mean change with CR1 SE by group = coeftest(lm(change ~ 1), vcovCL(type = "HC1"), df = G - 1)."""
    ref = pd.read_csv(REF / "outcomes_ref_dose.csv")
    r = ref[(ref.analysis == "as_treated") & (ref.term == "mean_change")].iloc[0]
    got = change(long, vcov="CR1").iloc[0]
    assert got["cluster_method"] == "CR1" and got["df_cluster"] == 29
    assert got["n_groups"] == r["n_groups"] == 30
    assert got["se_cluster"] == pytest.approx(r["se"], rel=1e-10)
    assert got["p_value_cluster"] == pytest.approx(r["p_value"], rel=1e-8)
    tc = stats.t.ppf(0.975, 29)
    assert got["ci_low_cluster"] == pytest.approx(r["estimate"] - tc * r["se"], rel=1e-10)
    # by group_id: one cluster per level -> no cluster SE (never a fake number)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        per_group = change(long, by="group_id")
    assert per_group["n_groups"].eq(1).all() and per_group["se_cluster"].isna().all()
    # no group column: the cluster columns are NaN, not silently equal to the naive SE
    nog = change(long.drop(columns="group_id")).iloc[0]
    assert nog["n_groups"] == 0 and np.isnan(nog["se_cluster"])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(-6, 6).map(float)), min_size=1, max_size=150))
def test_vectorised_wilcoxon_by_level_equals_per_level_scalar_version(pairs):
    from groupeval.statistics.change import _wilcoxon_levels

    lev = np.array([p[0] for p in pairs])
    d = np.array([p[1] for p in pairs])
    V, P, M = _wilcoxon_levels(d, lev, 5)
    for k in range(5):
        v, p, m = wilcoxon_signed_rank(d[lev == k])
        assert M[k] == m
        np.testing.assert_allclose([V[k], P[k]], [v, p], rtol=1e-12, equal_nan=True)


def test_vectorised_dz_ci_equals_brentq_inversion():
    from groupeval.statistics._common import nct_ci_vec

    t = np.array([-3.1, 0.0, 0.4, 2.5, 12.0, 150.0])
    df = np.array([4, 9, 30, 19, 200, 5000.0])
    lo, hi = nct_ci_vec(t, df, 0.9)
    for i in range(len(t)):
        a, b = nct_ci(t[i], df[i], 0.9)
        assert lo[i] == pytest.approx(a, rel=1e-9, abs=1e-10) and hi[i] == pytest.approx(b, rel=1e-9, abs=1e-10)


def test_reliable_change_summary_by_group_type_adds_up_to_overall(long):
    res = reliable_change(long, StandIn(), reliability=0.85)
    groups = long[["group_id", "group_type"]].drop_duplicates()

    class DS:
        pass

    ds = DS()
    ds.groups, ds.members = groups, long[["member_id", "group_id"]].drop_duplicates()
    by = res.summary_by("group_type", dataset=ds)
    assert by.groupby("category", observed=True)["n"].sum().tolist() == res.summary["n"].tolist()
    assert len(by) == 3 * len(CATEGORIES)
    one = by[by.group_type == "cancer survivors"]
    lo, hi = wilson_ci(one["n"], one["n"].sum())
    np.testing.assert_allclose(one["share_ci_low"], lo)
    assert one["share"].sum() == pytest.approx(1.0)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 40, allow_nan=False), st.floats(0, 40, allow_nan=False)),
                min_size=3, max_size=40), st.floats(-20, 20, allow_nan=False))
def test_change_properties_swap_negates_and_shift_leaves_change(pairs, shift):
    pre = np.array([p[0] for p in pairs])
    post = np.array([p[1] for p in pairs])
    if np.ptp(post - pre) < 1e-6 or np.ptp(pre) < 1e-6 or np.ptp(post) < 1e-6:
        return
    ids = [f"m{i}" for i in range(len(pre))]
    d = pd.DataFrame({"member_id": ids * 2, "timepoint": ["a"] * len(pre) + ["b"] * len(pre),
                      "score": np.r_[pre, post]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        ab = change(d, "a", "b").iloc[0]
        ba = change(d, "b", "a").iloc[0]
        sh = change(d.assign(score=d["score"] + shift), "a", "b").iloc[0]
    assert ab["mean_change"] == pytest.approx(-ba["mean_change"], abs=1e-9)
    assert ab["d_z"] == pytest.approx(-ba["d_z"], rel=1e-7, abs=1e-9)
    assert ab["d_z_ci_low"] == pytest.approx(-ba["d_z_ci_high"], rel=1e-6, abs=1e-8)
    assert ab["p_value"] == pytest.approx(ba["p_value"], rel=1e-7, abs=1e-12)
    assert sh["mean_change"] == pytest.approx(ab["mean_change"], abs=1e-7)
    assert ab["ci_low"] <= ab["mean_change"] <= ab["ci_high"]
    assert ab["d_z_ci_low"] <= ab["d_z"] <= ab["d_z_ci_high"]
