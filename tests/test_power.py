"""groupeval.statistics.power against R's pwr, closed forms and published worked examples.

Reference values: tests/reference/power_pwr.R (pwr 1.3.0, stats::power.prop.test)
and tests/reference/power_inputs.R (aov, cor.test, prop.test, t.test, lme4).
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from groupeval.base.exceptions import ConfigError, SchemaError, SmallSampleWarning, ValidationError
from groupeval.reporting.power_text import power_sentence
from groupeval.statistics.power import POWER_COLUMNS, design_effect, power
from groupeval.statistics.power_inputs import INPUT_COLUMNS, power_inputs

REF = Path(__file__).parent / "reference"
PWR = pd.read_csv(REF / "power_pwr.csv")
CLUSTER = pd.read_csv(REF / "power_pwr_cluster.csv")
ALT = {"two.sided": "two_sided", "greater": "greater", "less": "less"}


def _nan(x: object) -> bool:
    return isinstance(x, float) and math.isnan(x)


# ---------------------------------------------------------------------------
# pwr parity (members independent)
# ---------------------------------------------------------------------------
def _ours(row: pd.Series) -> float:
    """The pwr case through groupeval's power(); returns the quantity pwr solved or computed."""
    alt = ALT[row.alternative]
    solve = row.solve
    sig = row.sig_level
    target = None if solve == "power" else row.power
    fun = row.fun
    if fun in ("pwr.t.test", "pwr.norm.test", "pwr.p.test") and (fun != "pwr.t.test" or row.type != "two.sample"):
        # one sample: n members, each its own group
        kw = dict(design="single_arm", icc=0.0, members_per_group=1, sig_level=sig, power=target,
                  alternative=alt, test="normal" if fun != "pwr.t.test" else "t")
        if fun == "pwr.p.test":
            kw["outcome"] = "proportion"
        e = row.h if fun == "pwr.p.test" else row.d
        res = power(**kw, n_groups=None if solve == "n" else row.n, effect=None if solve in ("d", "h") else e)
        return res["n_groups_exact" if solve == "n" else ("power" if solve == "power" else "effect")].iloc[0]
    if fun in ("pwr.t.test", "pwr.2p.test", "pwr.t2n.test", "pwr.2p2n.test"):
        prop = fun in ("pwr.2p.test", "pwr.2p2n.test")
        n1 = row.n if fun in ("pwr.t.test", "pwr.2p.test") else row.n1
        ratio = 1.0 if fun in ("pwr.t.test", "pwr.2p.test") else row.n2 / row.n1
        e = row.h if prop else row.d
        res = power("two_arm", outcome="proportion" if prop else "continuous", n_groups=1,
                    members_per_group=None if solve == "n" else n1, effect=None if solve in ("d", "h") else e,
                    allocation_ratio=ratio, sig_level=sig, power=target, alternative=alt,
                    test="normal" if prop else "t")
        return res["members_per_group_exact" if solve == "n" else ("power" if solve == "power" else "effect")].iloc[0]
    if fun == "power.prop.test":
        res = power("two_arm", outcome="proportion", scale="proportion", p_ref=row.p2, n_groups=1,
                    members_per_group=None if solve == "n" else row.n,
                    effect=None if solve == "p1" else row.p1 - row.p2, sig_level=sig, power=target)
        if solve == "p1":
            return res["p1"].iloc[0]
        return res["members_per_group_exact" if solve == "n" else "power"].iloc[0]
    raise AssertionError(fun)


@pytest.mark.parametrize("case", PWR.to_dict("records"), ids=lambda c: f"{c['case']}-{c['fun']}-{c['type']}-"
                         f"{c['alternative']}-{c['solve']}")
def test_power_against_pwr(case: dict) -> None:
    row = pd.Series(case)
    got = _ours(row)
    if _nan(row.value_pwr):
        assert math.isnan(got)
        return
    if row.solve == "power":
        assert got == pytest.approx(row.value_pwr, abs=1e-6, rel=0)
    else:
        # pwr's own root (uniroot, tol ~1.2e-4) and the tight root of pwr's power function
        assert got == pytest.approx(row.value_pwr, abs=1e-4, rel=0)
        assert got == pytest.approx(row.value_tight, abs=1e-7, rel=1e-9)


def test_pwr_reference_covers_every_function_and_alternative() -> None:
    # the reference must keep exercising each pwr function, each alternative and each solved quantity
    assert set(PWR.fun) == {"pwr.t.test", "pwr.t2n.test", "pwr.2p.test", "pwr.2p2n.test", "pwr.p.test",
                            "pwr.norm.test", "power.prop.test"}
    assert set(PWR.alternative) == {"two.sided", "greater", "less"}
    assert {"power", "n", "d", "h", "p1"} <= set(PWR.solve)
    assert PWR.value_pwr.notna().sum() > 250


# ---------------------------------------------------------------------------
# group designs: pwr on the group means (exact identity), design effect
# ---------------------------------------------------------------------------
def _cluster_call(row: pd.Series, solve: str) -> pd.DataFrame:
    kw = dict(outcome=row.outcome, icc=row.icc, cv_group_size=row.cv, attrition=row.attrition,
              allocation_ratio=row.ratio, sig_level=row.sig_level, alternative=ALT[row.alternative],
              test=row.test)
    effect = row.effect  # d, or h for proportions (arcsine, no p_ref)
    return power(row.design, **kw, n_groups=None if solve == "k" else row.k,
                 members_per_group=None if solve == "m" else row.m, effect=None if solve == "e" else effect,
                 power=None if solve == "power" else row.target)


@pytest.mark.parametrize("case", CLUSTER.to_dict("records"),
                         ids=lambda c: f"{c['design']}-{c['outcome']}-{c['test']}-k{c['k']}-m{c['m']}")
def test_group_designs_against_pwr_on_group_means(case: dict) -> None:
    row = pd.Series(case)
    res = _cluster_call(row, "power")
    assert res["design_effect"].iloc[0] == pytest.approx(row.design_effect, rel=1e-12)
    assert res["power"].iloc[0] == pytest.approx(row.power, abs=1e-6, rel=0)
    for solve, col, ref in (("k", "n_groups_exact", row.k_solved), ("m", "members_per_group_exact", row.m_solved),
                            ("e", "effect", row.effect_solved)):
        got = _cluster_call(row, solve)[col].iloc[0]
        if _nan(ref):
            # R found no root in pwr's admissible range: ours is NaN or below pwr's lower limit n = 2
            assert math.isnan(got) or (solve == "k" and got < 2)
        else:
            assert got == pytest.approx(ref, abs=1e-7, rel=1e-8), (solve, got, ref)


def test_proportion_with_reference_equals_arcsine_effect() -> None:
    # effect as p1 - p_ref gives the same power as effect = Cohen's h
    row = CLUSTER[CLUSTER.outcome == "proportion"].iloc[0]
    a = power(row.design, outcome="proportion", p_ref=row.p0, effect=row.p1 - row.p0, n_groups=row.k,
              members_per_group=row.m, icc=row.icc, cv_group_size=row.cv, attrition=row.attrition,
              allocation_ratio=row.ratio, sig_level=row.sig_level, alternative=ALT[row.alternative], test=row.test)
    assert a["power"].iloc[0] == pytest.approx(row.power, abs=1e-6)
    assert a["h"].iloc[0] == pytest.approx(row.effect, abs=1e-12)


def test_design_effect_closed_form_and_eldridge() -> None:
    assert design_effect(15, 0.05) == pytest.approx(1.7)          # 1 + 14 * 0.05
    assert design_effect(10.5, 0.05) == pytest.approx(1.475)      # 30% attrition from 15
    assert design_effect(20, 0.05, 0.5) == pytest.approx(2.2)     # 1 + (1.25 * 20 - 1) * 0.05
    # Eldridge's form with the SD of sizes (divisor k) is 1 + (sum m^2 / sum m - 1) rho exactly
    sizes = np.array([4.0, 9, 12, 15, 15, 22, 30])
    cv0 = sizes.std(ddof=0) / sizes.mean()
    exact = 1 + ((sizes**2).sum() / sizes.sum() - 1) * 0.07
    assert design_effect(sizes.mean(), 0.07, cv0) == pytest.approx(exact, rel=1e-13)
    res = power("cluster_randomised", effect=0.3, n_groups=10, members_per_group=20, icc=0.05, cv_group_size=0.5,
                attrition=0.2)
    assert res["design_effect"].iloc[0] == pytest.approx(1 + ((0.25 + 1) * 16 - 1) * 0.05)
    assert res["n_effective"].iloc[0] == pytest.approx(2 * 10 * 16 / res["design_effect"].iloc[0])
    assert res["df"].iloc[0] == 18  # 2(k - 1)


def test_cluster_randomised_df_and_normal_option() -> None:
    t = power("cluster_randomised", effect=0.5, n_groups=6, members_per_group=10, icc=0.05)
    z = power("cluster_randomised", effect=0.5, n_groups=6, members_per_group=10, icc=0.05, test="normal")
    assert t["df"].iloc[0] == 10 and math.isnan(z["df"].iloc[0])
    assert t["critical_value"].iloc[0] == pytest.approx(stats.t.ppf(0.975, 10))
    assert z["power"].iloc[0] > t["power"].iloc[0]  # the normal approximation is optimistic with few groups
    s = power("single_arm", effect=0.5, n_groups=6, members_per_group=10, icc=0.05)
    assert s["df"].iloc[0] == 5
    r = power("cluster_randomised", effect=0.5, n_groups=6, members_per_group=10, icc=0.05, allocation_ratio=2)
    assert r["df"].iloc[0] == 6 + 12 - 2 and r["n_groups_control"].iloc[0] == 12


# ---------------------------------------------------------------------------
# published worked examples
# ---------------------------------------------------------------------------
def test_sedgwick_2013_bmj_cluster_trial_of_proportions() -> None:
    # Sedgwick P (2013) BMJ 346:f2839: 50% -> 65%, 80% power, alpha 0.05: 340 patients if individually
    # randomised; ICC 0.05 with 46 patients per practice: 1104 patients in 24 practices.
    ind = power("two_arm", outcome="proportion", scale="proportion", p_ref=0.5, effect=0.15, n_groups=1,
                members_per_group=None, power=0.8)
    assert ind["members_per_group"].iloc[0] * 2 == 340
    crt = power("cluster_randomised", outcome="proportion", scale="proportion", p_ref=0.5, effect=0.15,
                n_groups=None, members_per_group=46, icc=0.05, power=0.8, test="normal")
    assert crt["n_groups"].iloc[0] * 2 == 24
    assert crt["n_enrolled"].iloc[0] == 1104
    assert crt["design_effect"].iloc[0] == pytest.approx(3.25)
    # the design effect is exactly the inflation of the individually randomised size
    assert crt["n_groups_exact"].iloc[0] * 46 == pytest.approx(ind["members_per_group_exact"].iloc[0] * 3.25)


def test_killip_2004_design_effect_and_effective_sample_size() -> None:
    # Killip S, Mahfoud Z, Pearce K (2004) Ann Fam Med 2:204-208, table: k = 4 clusters, rho = 0.017.
    m = [10, 20, 40, 80]
    res = power("cluster_randomised", effect=0.5, n_groups=2, members_per_group=m, icc=0.017)
    assert np.round(res["design_effect"].to_numpy(), 3).tolist() == [1.153, 1.323, 1.663, 2.343]
    assert np.floor(res["n_effective"].to_numpy()).tolist() == [34, 60, 96, 136]


def test_hemming_2011_fixed_number_of_clusters() -> None:
    # Hemming et al. (2011) BMC Med Res Methodol 11:102: with k clusters per arm and n_I members per arm
    # needed under individual randomisation, m = n_I (1 - rho) / (k - n_I rho), feasible only if k > n_I rho.
    n_i = power("two_arm", effect=0.35, n_groups=1, members_per_group=None, power=0.8,
                test="normal")["members_per_group_exact"].iloc[0]
    for k, rho in ((10, 0.05), (20, 0.02), (8, 0.01)):
        res = power("cluster_randomised", effect=0.35, n_groups=k, members_per_group=None, icc=rho, power=0.8,
                    test="normal")
        assert res["members_per_group_exact"].iloc[0] == pytest.approx(n_i * (1 - rho) / (k - n_i * rho), rel=1e-9)
    k = 5  # k < n_I * rho = 128 * 0.05: infeasible; the ceiling is the power at n_eff = k / rho per arm
    res = power("cluster_randomised", effect=0.35, n_groups=k, members_per_group=None, icc=0.05, power=0.8,
                test="normal")
    assert math.isnan(res["members_per_group"].iloc[0])
    ceiling = power("two_arm", effect=0.35, n_groups=1, members_per_group=k / 0.05, test="normal")["power"].iloc[0]
    assert f"at most {100 * ceiling:.1f}%" in res["note"].iloc[0]


# ---------------------------------------------------------------------------
# attrition, rounding, grids
# ---------------------------------------------------------------------------
def test_attrition_inflates_enrolment_exactly() -> None:
    base = power("single_arm", effect=0.4, n_groups=10, members_per_group=None, icc=0.05, power=0.8)
    lost = power("single_arm", effect=0.4, n_groups=10, members_per_group=None, icc=0.05, power=0.8, attrition=0.3)
    assert lost["members_per_group_exact"].iloc[0] == pytest.approx(base["members_per_group_exact"].iloc[0] / 0.7,
                                                                     rel=1e-10)
    assert lost["members_per_group"].iloc[0] == math.ceil(lost["members_per_group_exact"].iloc[0])
    assert lost["members_analysed_per_group"].iloc[0] == pytest.approx(0.7 * lost["members_per_group"].iloc[0])


def test_rounding_up_reaches_target_and_exact_value_is_kept() -> None:
    res = power("cluster_randomised", effect=0.3, n_groups=None, members_per_group=12, icc=0.03, power=0.9)
    k, k_exact = res["n_groups"].iloc[0], res["n_groups_exact"].iloc[0]
    assert k == math.ceil(k_exact) and k > k_exact
    assert res["achieved_power"].iloc[0] >= 0.9
    below = power("cluster_randomised", effect=0.3, n_groups=k - 1, members_per_group=12, icc=0.03)
    assert below["power"].iloc[0] < 0.9
    at_exact = power("cluster_randomised", effect=0.3, n_groups=k_exact, members_per_group=12, icc=0.03)
    assert at_exact["power"].iloc[0] == pytest.approx(0.9, abs=1e-10)


def test_grid_is_every_combination_and_matches_scalar_calls() -> None:
    grid = power("single_arm", effect=None, n_groups=[8, 12], members_per_group=[10, 15, 20], icc=[0.02, 0.1],
                 power=0.8, attrition=0.25)
    assert len(grid) == 12
    assert list(grid.columns) == list(POWER_COLUMNS)
    assert set(zip(grid.n_groups, grid.members_per_group, grid.icc, strict=True)) == {
        (k, m, r) for k in (8, 12) for m in (10, 15, 20) for r in (0.02, 0.1)}
    for _, row in grid.sample(4, random_state=1).iterrows():
        one = power("single_arm", effect=None, n_groups=row.n_groups, members_per_group=row.members_per_group,
                    icc=row.icc, power=0.8, attrition=0.25)
        assert one["effect"].iloc[0] == pytest.approx(row.effect, rel=1e-12)


def test_single_arm_raw_effect_uses_sd_of_change() -> None:
    sd, r = 6.0, 0.6
    raw = power("single_arm", effect=3.0, n_groups=10, members_per_group=12, icc=0.04, sd=sd, pre_post_r=r)
    sd_change = sd * math.sqrt(2 * (1 - r))
    std = power("single_arm", effect=3.0 / sd_change, n_groups=10, members_per_group=12, icc=0.04)
    assert raw["sd_change"].iloc[0] == pytest.approx(sd_change)
    assert raw["power"].iloc[0] == pytest.approx(std["power"].iloc[0], rel=1e-12)
    assert raw["d"].iloc[0] == pytest.approx(0.5) and raw["d_z"].iloc[0] == pytest.approx(3.0 / sd_change)
    d_in = power("single_arm", effect=0.5, n_groups=10, members_per_group=12, icc=0.04, pre_post_r=r)
    assert d_in["power"].iloc[0] == pytest.approx(raw["power"].iloc[0], rel=1e-12)
    solved = power("single_arm", effect=None, n_groups=10, members_per_group=12, icc=0.04, sd=sd, pre_post_r=r,
                   power=raw["power"].iloc[0])
    assert solved["effect"].iloc[0] == pytest.approx(3.0, rel=1e-9)


def test_partially_nested_two_arm_satterthwaite_df() -> None:
    k, m, rho, r = 6, 10, 0.05, 1.0
    res = power("two_arm", effect=0.5, n_groups=k, members_per_group=m, icc=rho)
    de = 1 + (m - 1) * rho
    v1, v2 = de / (k * m), 1 / (r * k * m)
    df = (v1 + v2) ** 2 / (v1**2 / (k - 1) + v2**2 / (r * k * m - 1))
    ncp = 0.5 / math.sqrt(v1 + v2)
    c = stats.t.ppf(0.975, df)
    expected = stats.nct.sf(c, df, ncp) + stats.nct.cdf(-c, df, ncp)
    assert res["df"].iloc[0] == pytest.approx(df)
    assert res["power"].iloc[0] == pytest.approx(expected, abs=1e-10)
    # with icc = 0 it is the pooled two-sample t
    flat = power("two_arm", effect=0.5, n_groups=k, members_per_group=m, icc=0)
    assert flat["df"].iloc[0] == 2 * k * m - 2


def test_one_sided_less_solves_a_negative_effect() -> None:
    res = power("single_arm", effect=None, n_groups=10, members_per_group=10, icc=0.05, power=0.8, alternative="less")
    assert res["effect"].iloc[0] < 0
    back = power("single_arm", effect=res["effect"].iloc[0], n_groups=10, members_per_group=10, icc=0.05,
                 alternative="less")
    assert back["power"].iloc[0] == pytest.approx(0.8, abs=1e-10)


def test_unreachable_effect_is_nan_with_reason() -> None:
    res = power("single_arm", outcome="proportion", p_ref=0.9, effect=None, n_groups=2.5, members_per_group=2,
                icc=0.2, power=0.99, test="normal")
    assert math.isnan(res["effect"].iloc[0]) and "no effect reaches" in res["note"].iloc[0]
    assert not np.isinf(res.select_dtypes("number").to_numpy(dtype=float)).any()


# ---------------------------------------------------------------------------
# the sentence
# ---------------------------------------------------------------------------
def test_power_sentence_for_a_detectable_effect() -> None:
    res = power("single_arm", effect=None, n_groups=12, members_per_group=15, icc=0.05, attrition=0.3, power=0.8)
    d_z = res["d_z"].iloc[0]
    assert power_sentence(res.iloc[0]) == (
        "With 12 groups of 15 members, an ICC of 0.05 and 30% attrition, the study has 80% power to detect "
        f"a mean change of d_z = {d_z:.2f} at α = .05 (two-sided).")
    two = power("cluster_randomised", effect=None, n_groups=12, members_per_group=15, icc=0.05, power=0.8)
    assert power_sentence(two).endswith(f"to detect d = {two['d'].iloc[0]:.2f} at α = .05 (two-sided).")
    assert power_sentence(two).startswith("With 12 groups of 15 members in each arm and an ICC of 0.05, the study has")


def test_power_sentence_for_a_sample_size() -> None:
    res = power("cluster_randomised", outcome="proportion", scale="proportion", p_ref=0.5, effect=0.15,
                n_groups=None, members_per_group=46, icc=0.05, power=0.8, test="normal", sig_level=0.01)
    s = power_sentence(res)
    k = int(res["n_groups"].iloc[0])
    assert s == (f"To detect 65% against 50% in the control arm (h = {res['h'].iloc[0]:.2f}) with 80% power at "
                 f"α = .01 (two-sided), given groups of 46 members and an ICC of 0.05, the study needs {k} groups "
                 f"per arm ({2 * k * 46} members enrolled).")
    nan = power("cluster_randomised", effect=0.4, n_groups=4, members_per_group=None, icc=0.1, power=0.8)
    assert "no feasible size was found" in power_sentence(nan) and "at most" in power_sentence(nan)


def test_power_sentence_rejects_other_input() -> None:
    with pytest.raises(ConfigError):
        power_sentence(pd.Series({"a": 1}))
    res = power("single_arm", effect=0.3, n_groups=[5, 6], members_per_group=10, icc=0.05)
    with pytest.raises(ConfigError, match="one row"):
        power_sentence(res)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kw, match", [
    (dict(effect=0.3, n_groups=5, members_per_group=10, icc=0.05, power=0.8), "exactly one"),
    (dict(effect=None, n_groups=None, members_per_group=10, icc=0.05, power=0.8), "exactly one"),
    (dict(effect=0.3, n_groups=5, members_per_group=10), "icc"),
    (dict(effect=0.3, n_groups=5, members_per_group=10, icc=1.2), "icc"),
    (dict(effect=0.3, n_groups=5, members_per_group=10, icc=0.05, attrition=1.0), "attrition"),
    (dict(effect=0.3, n_groups=5, members_per_group=10, icc=0.05, sd=4.0), "pre_post_r"),
    (dict(effect=0.3, n_groups=5, members_per_group=10, icc=0.05, sig_level=0), "sig_level"),
    (dict(effect=None, n_groups=5, members_per_group=10, icc=0.05, power=0.04), "exceed"),
    (dict(effect=0.3, n_groups=1, members_per_group=10, icc=0.05), "n_groups > 1"),
    (dict(effect="big", n_groups=5, members_per_group=10, icc=0.05), "number"),
    (dict(effect=[], n_groups=5, members_per_group=10, icc=0.05), "empty"),
])
def test_bad_arguments_raise_config_error(kw: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        power("single_arm", **kw)


def test_bad_design_and_outcome_arguments() -> None:
    with pytest.raises(ConfigError, match="design"):
        power("stepped_wedge", effect=0.3, n_groups=5, members_per_group=10, icc=0.05)
    with pytest.raises(ConfigError, match="p_ref"):
        power("two_arm", outcome="proportion", scale="proportion", effect=0.1, n_groups=1, members_per_group=50)
    with pytest.raises(ConfigError, match="p1 - p_ref"):
        power("two_arm", outcome="proportion", p_ref=0.9, effect=0.2, n_groups=1, members_per_group=50)
    with pytest.raises(ConfigError, match="single_arm design only"):
        power("two_arm", effect=0.3, n_groups=1, members_per_group=50, pre_post_r=0.5)
    with pytest.raises(ConfigError, match="at least 2"):
        power("two_arm", effect=0.3, n_groups=1, members_per_group=50, icc=0.05)
    with pytest.raises(ConfigError, match="degrees of freedom"):
        power("cluster_randomised", effect=0.3, n_groups=1, members_per_group=None, icc=0.05, power=0.8)
    with pytest.raises(ConfigError, match="degrees of freedom"):
        power("two_arm", effect=0.3, n_groups=1, members_per_group=1)
    # the normal approximation has no df to lose
    assert power("cluster_randomised", effect=0.3, n_groups=1, members_per_group=10, icc=0.05,
                 test="normal")["power"].notna().all()


# ---------------------------------------------------------------------------
# power_inputs against R
# ---------------------------------------------------------------------------
SCORES = pd.read_csv(REF / "power_inputs_scores.csv", dtype={"member_id": str, "group_id": str})
INPUT_REF = pd.read_csv(REF / "power_inputs_ref.csv")


@pytest.mark.parametrize("dataset", ["unequal", "balanced"])
def test_power_inputs_against_r(dataset: str) -> None:
    scores = SCORES[SCORES.dataset == dataset]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        got = power_inputs(scores, pre="baseline", post="week_26").set_index("quantity")
    assert list(got.reset_index().columns) == list(INPUT_COLUMNS)
    ref = INPUT_REF[INPUT_REF.dataset == dataset].set_index("quantity")
    for q in ref.index:
        if q.endswith("_lme4"):
            # balanced groups: REML variance components equal the ANOVA estimator
            assert got.loc[q.removesuffix("_lme4"), "estimate"] == pytest.approx(ref.loc[q, "estimate"], abs=1e-6)
            continue
        assert got.loc[q, "n"] == ref.loc[q, "n"], q
        for col in ("estimate", "ci_low", "ci_high"):
            if _nan(ref.loc[q, col]):
                continue
            assert got.loc[q, col] == pytest.approx(ref.loc[q, col], abs=1e-10, rel=1e-10), (q, col)


def test_power_inputs_icc_is_groupeval_icc() -> None:
    from groupeval import icc as ge_icc

    scores = SCORES[SCORES.dataset == "unequal"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        got = power_inputs(scores, pre="baseline", post="week_26").set_index("quantity").loc["icc_followup"]
    ref = ge_icc(scores, timepoint="week_26").iloc[0]
    assert (got.estimate, got.ci_low, got.ci_high) == pytest.approx((ref.icc, ref.ci_low, ref.ci_high), rel=1e-12)


def test_power_inputs_cv_bootstrap_is_reproducible_and_brackets_estimate() -> None:
    scores = SCORES[SCORES.dataset == "unequal"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        a = power_inputs(scores, pre="baseline", post="week_26", n_boot=2000).set_index("quantity")
        b = power_inputs(scores, pre="baseline", post="week_26", n_boot=2000).set_index("quantity")
        c = power_inputs(scores, pre="baseline", post="week_26", n_boot=2000, seed=1).set_index("quantity")
    cv = a.loc["cv_group_size"]
    assert (cv.ci_low, cv.ci_high) == (b.loc["cv_group_size", "ci_low"], b.loc["cv_group_size", "ci_high"])
    assert cv.ci_low < cv.estimate < cv.ci_high
    assert c.loc["cv_group_size", "ci_low"] != cv.ci_low
    bal = power_inputs(SCORES[SCORES.dataset == "balanced"], pre="baseline", post="week_26").set_index("quantity")
    assert bal.loc["cv_group_size", "estimate"] == 0 and "same size" in str(bal.loc["cv_group_size", "note"])


def test_power_inputs_feed_power() -> None:
    scores = SCORES[SCORES.dataset == "unequal"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        inp = power_inputs(scores, pre="baseline", post="week_26").set_index("quantity")["estimate"]
    res = power("single_arm", effect=2.0, n_groups=14, members_per_group=inp["mean_group_size"],
                icc=max(inp["icc_change"], 0.0), sd=inp["sd_pre"], pre_post_r=inp["pre_post_r"],
                attrition=inp["attrition"], cv_group_size=inp["cv_group_size"])
    assert 0 < res["power"].iloc[0] < 1


def test_power_inputs_group_from_roster_and_errors() -> None:
    scores = SCORES[SCORES.dataset == "unequal"]
    roster = scores[["member_id", "group_id"]].drop_duplicates()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        a = power_inputs(scores, pre="baseline", post="week_26")
        b = power_inputs(scores.drop(columns="group_id"), pre="baseline", post="week_26", members=roster)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(SchemaError, match="group_id"):
        power_inputs(scores.drop(columns="group_id"), pre="baseline", post="week_26")
    with pytest.raises(ConfigError, match="timepoint"):
        power_inputs(scores, pre="baseline", post="week_52")
    with pytest.raises(ValidationError, match="one row per member"):
        power_inputs(pd.concat([scores, scores.iloc[:1]]), pre="baseline", post="week_26")
    few = SCORES[SCORES.group_id.isin([f"balanced_g0{j}" for j in range(1, 7)])]
    with pytest.warns(SmallSampleWarning, match="only 6 groups"):
        power_inputs(few, pre="baseline", post="week_26")
