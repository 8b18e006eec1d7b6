"""groupeval.statistics.robust against R's clubSandwich 0.5.8 and sandwich (tests/reference/cr2_clubsandwich.R).

Tolerance: every estimate, SE, covariance entry, df, CI bound, F statistic and p-value agrees with the R
value to a RELATIVE tolerance of 1e-6 (``rtol=1e-6``), with an absolute floor of 1e-9 times the largest
value of the same kind for entries that are zero in theory (off-diagonal covariances, estimates near 0).
The reference CSVs hold 17 significant digits.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from groupeval.base.exceptions import ConfigError, ValidationError
from groupeval.statistics.robust import cluster_robust, cluster_robust_formula

REF = Path(__file__).resolve().parent / "reference"
RTOL = 1e-6
DATASETS = ["mean6", "mean9", "mean7eq", "ancova9", "ancova12", "ancova8", "ancova6", "single", "single_nopre",
            "dose_w", "dose_wcl", "big_clusters", "big_clusters_w"]
TYPES = {"CR2": "CR2", "CR1": "CR1", "CR0": "CR0"}
WEIGHTED = {"dose_w", "dose_wcl", "big_clusters_w"}
# contrasts whose cluster-robust variance is not identified (estimated from one group's rows alone):
# clubSandwich prints an SE of ~1e-9 and an arbitrary df there; groupeval returns NaN with a note
NOT_IDENTIFIED = {("single_nopre", "meanD")}


def close(actual, desired, rtol: float = RTOL, floor: float = 1e-9) -> None:
    actual = np.asarray(actual, dtype=float)
    desired = np.asarray(desired, dtype=float)
    scale = np.nanmax(np.abs(desired)) if np.isfinite(desired).any() else 1.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=floor * scale)


@pytest.fixture(scope="module")
def ref() -> dict[str, pd.DataFrame]:
    return {k: pd.read_csv(REF / f"cr2_ref_{k}.csv") for k in ("coef", "contrast", "contrast_L", "wald", "wald_L",
                                                               "vcov")}


def load_input(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = pd.read_csv(REF / f"cr2_input_{name}.csv", dtype={"cluster": str})
    X = d.drop(columns=["cluster", "y", "w"])
    return d, X


def fit_of(name: str, vtype: str):
    d, X = load_input(name)
    w = d["w"].to_numpy() if name in WEIGHTED else None
    return cluster_robust(X, d["y"], d["cluster"], weights=w, type=vtype)


def contrast_matrix(Llong: pd.DataFrame, terms: list[str], key: str) -> pd.DataFrame:
    m = Llong.pivot_table(index=key, columns="term", values="weight", aggfunc="first", sort=False)
    return m.reindex(columns=terms)


# ---------------------------------------------------------------------------
@pytest.mark.parametrize("vtype", list(TYPES))
@pytest.mark.parametrize("name", DATASETS)
def test_vcov_against_clubSandwich_vcovCR(ref, name, vtype):
    fit = fit_of(name, vtype)
    r = ref["vcov"].query("dataset == @name and vcov_type == @vtype")
    V = r.pivot(index="row", columns="col", values="value").reindex(index=list(fit.names), columns=list(fit.names))
    close(fit.vcov.to_numpy(), V.to_numpy())


@pytest.mark.parametrize("name", DATASETS)
def test_cr1_against_sandwich_vcovCL_HC1(ref, name):
    fit = fit_of(name, "CR1")
    r = ref["vcov"].query("dataset == @name and vcov_type == 'vcovCL_HC1'")
    V = r.pivot(index="row", columns="col", values="value").reindex(index=list(fit.names), columns=list(fit.names))
    close(fit.vcov.to_numpy(), V.to_numpy())


@pytest.mark.parametrize("vtype", list(TYPES))
@pytest.mark.parametrize("name", DATASETS)
def test_coef_test_satterthwaite_against_clubSandwich(ref, name, vtype):
    fit = fit_of(name, vtype)
    r = ref["coef"].query("dataset == @name and vcov_type == @vtype").set_index("term").loc[list(fit.names)]
    tab = fit.coef_test(df_method="satterthwaite")
    close(tab["estimate"], r["estimate"])
    close(tab["se"], r["se"])
    close(tab["t"], r["t"])
    close(tab["df"], r["df_satterthwaite"])
    close(tab["p_value"], r["p_satterthwaite"], floor=0)
    assert (tab["df_method"] == "satterthwaite").all() and (tab["vcov_type"] == vtype).all()
    assert (tab["n_clusters"] == fit.n_clusters).all()


@pytest.mark.parametrize("vtype", ["CR1", "CR0"])
@pytest.mark.parametrize("name", DATASETS)
def test_coef_test_naive_t_against_clubSandwich(ref, name, vtype):
    fit = fit_of(name, vtype)
    r = ref["coef"].query("dataset == @name and vcov_type == @vtype").set_index("term").loc[list(fit.names)]
    tab = fit.coef_test()  # CR0 / CR1 default: t(G - 1)
    assert (tab["df_method"] == "G-1").all()
    close(tab["df"], r["df_naive"])
    close(tab["p_value"], r["p_naive"], floor=0)


@pytest.mark.parametrize("test", ["Satterthwaite", "naive-t"])
@pytest.mark.parametrize("vtype", list(TYPES))
@pytest.mark.parametrize("name", DATASETS)
def test_linear_contrast_against_clubSandwich(ref, name, vtype, test):
    fit = fit_of(name, vtype)
    Lm = contrast_matrix(ref["contrast_L"].query("dataset == @name"), list(fit.names), "contrast")
    r = ref["contrast"].query("dataset == @name and vcov_type == @vtype and test == @test").set_index("contrast")
    r = r.loc[Lm.index]
    tab = fit.contrast(Lm, ci=0.90, df_method="satterthwaite" if test == "Satterthwaite" else "G-1")
    tab = tab.set_index("term")
    assert list(tab.index) == list(Lm.index)
    bad = [c for c in Lm.index if (name, c) in NOT_IDENTIFIED]
    ok = [c for c in Lm.index if c not in bad]
    for c in bad:
        row = tab.loc[c]
        assert np.isnan(row["se"]) and np.isnan(row["df"]) and np.isnan(row["p_value"]) and np.isnan(row["ci_low"])
        assert "single cluster" in row["note"]
        assert r.loc[c, "se"] < 1e-6 * abs(r.loc[c, "estimate"])  # what clubSandwich returns instead
        close(row["estimate"], r.loc[c, "estimate"])
    t, rr = tab.loc[ok], r.loc[ok]
    close(t["estimate"], rr["estimate"])
    close(t["se"], rr["se"])
    close(t["df"], rr["df"])
    close(t["ci_low"], rr["ci_low_90"])
    close(t["ci_high"], rr["ci_high_90"])
    close(t["p_value"], rr["p_value"], floor=0)
    assert (t["note"] == "").all()


@pytest.mark.parametrize("vtype", list(TYPES))
@pytest.mark.parametrize("name", DATASETS)
def test_wald_test_htz_chisq_naiveF_against_clubSandwich(ref, name, vtype):
    fit = fit_of(name, vtype)
    Ls = ref["wald_L"].query("dataset == @name")
    r = ref["wald"].query("dataset == @name and vcov_type == @vtype")
    names = {"HTZ": "HTZ", "chi-sq": "chi-sq", "Naive-F": "naive-F"}
    for h, Lh in Ls.groupby("hypothesis", sort=False):
        L = contrast_matrix(Lh, list(fit.names), "row")
        res = fit.wald_test(L.to_numpy(), test=list(names.values())).set_index("test")
        rh = r.loc[r["hypothesis"] == h].set_index("test")
        assert (rh["error"].isna() | (rh["error"] == "")).all()
        for rt, gt in names.items():
            close(res.loc[gt, "f"], rh.loc[rt, "f"])
            close(res.loc[gt, "delta"], rh.loc[rt, "delta"])
            assert res.loc[gt, "df_num"] == rh.loc[rt, "df_num"]
            if np.isfinite(rh.loc[rt, "df_denom"]):
                close(res.loc[gt, "df_denom"], rh.loc[rt, "df_denom"])
            else:
                assert np.isinf(res.loc[gt, "df_denom"])
            close(res.loc[gt, "p_value"], rh.loc[rt, "p_value"], floor=0)
        assert (res["vcov_type"] == vtype).all() and (res["n_clusters"] == fit.n_clusters).all()


# ---------------------------------------------------------------------------
# the shipped sample through the formula interface (the brief's headline numbers)
# ---------------------------------------------------------------------------
def r_name(patsy_name: str) -> str:
    if patsy_name == "Intercept":
        return "(Intercept)"
    if patsy_name.startswith("group_type[T."):
        return "group_type" + patsy_name[len("group_type[T."):-1]
    return patsy_name


def test_sample_omnibus_htz_against_clubSandwich(ref):
    d = pd.read_csv(REF / "cr2_sample_input.csv", dtype={"group_id": str})
    fit = cluster_robust_formula("post ~ pre + group_type", d, "group_id")
    fit1 = cluster_robust_formula("post ~ pre + group_type", d, "group_id", type="CR1")
    idx = [i for i, n in enumerate(fit.names) if n.startswith("group_type[")]
    L = np.eye(len(fit.names))[idx]
    r = ref["wald"].query("dataset == 'sample'").set_index(["vcov_type", "test"])
    htz = fit.wald_test(L).iloc[0]
    close(htz["p_value"], r.loc[("CR2", "HTZ"), "p_value"])
    assert abs(htz["p_value"] - 0.316) < 0.001  # clubSandwich: F = 1.81, df = (3, 3.10), p = .316
    naive = fit1.wald_test(L, test="naive-F").iloc[0]
    close(naive["f"], r.loc[("CR1", "Naive-F"), "f"])
    assert abs(naive["f"] - 3.77) < 0.005 and naive["df_denom"] == 11  # today's groupeval omnibus
    tab = fit.coef_test().set_index("term")
    rc = ref["coef"].query("dataset == 'sample' and vcov_type == 'CR2'").set_index("term")
    rc = rc.loc[[r_name(n) for n in tab.index]]
    close(tab["se"], rc["se"])
    close(tab["df"], rc["df_satterthwaite"])
    assert fit.n == 145 and fit.n_clusters == 12


def test_formula_drops_missing_rows_and_keeps_design_info():
    import patsy

    d = pd.read_csv(REF / "cr2_sample_input.csv", dtype={"group_id": str})
    full = cluster_robust_formula("post ~ pre + group_type", d, "group_id")
    dm = d.copy()
    extra = dm.iloc[:3].copy()
    extra.loc[extra.index[0], "pre"] = np.nan
    extra.loc[extra.index[1], "post"] = np.nan
    extra.loc[extra.index[2], "group_id"] = None
    dm = pd.concat([dm, extra], ignore_index=True)
    fit = cluster_robust_formula("post ~ pre + group_type", dm, "group_id")
    assert fit.n == full.n and list(fit.rows) == list(range(len(d)))
    close(fit.vcov.to_numpy(), full.vcov.to_numpy(), rtol=1e-12)
    # contrast rows from the design: adjusted means of two types at the mean baseline
    levels = sorted(d["group_type"].unique())
    rows = np.vstack([np.asarray(patsy.dmatrix(fit.design_info, d.assign(group_type=lv, pre=d["pre"].mean()))).mean(0)
                      for lv in levels[:2]])
    tab = fit.contrast(rows[1] - rows[0])
    ct = fit.coef_test().set_index("term").loc[f"group_type[T.{levels[1]}]"]
    close(tab["estimate"].iloc[0], ct["estimate"], rtol=1e-12)
    close(tab["df"].iloc[0], ct["df"], rtol=1e-9)


# ---------------------------------------------------------------------------
# closed forms and invariances
# ---------------------------------------------------------------------------
def test_cr2_intercept_only_equal_clusters_closed_form():
    # y ~ 1 with G clusters of equal size: I - H_gg = I - J/N, so CR2 = G/(G-1) CR0 and the Satterthwaite df
    # of the mean is exactly G - 1 (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018, sec. 3)
    d, X = load_input("mean7eq")
    G = d["cluster"].nunique()
    e = d["y"] - d["y"].mean()
    cr0 = (e.groupby(d["cluster"]).sum() ** 2).sum() / len(d) ** 2
    fit = cluster_robust(X, d["y"], d["cluster"])
    close(fit.vcov.iloc[0, 0], G / (G - 1) * cr0, rtol=1e-12)
    close(fit.coef_test()["df"].iloc[0], G - 1, rtol=1e-10)
    # HTZ with one constraint is the Satterthwaite t test squared
    w = fit.wald_test([[1.0]]).iloc[0]
    close(w["df_denom"], G - 1, rtol=1e-10)
    close(w["f"], fit.coef_test()["t"].iloc[0] ** 2, rtol=1e-10)


def test_htz_single_constraint_equals_satterthwaite_t():
    fit = fit_of("dose_w", "CR2")
    ct = fit.coef_test().set_index("term").loc["exposure"]
    w = fit.wald_test({"exposure": 1.0}).iloc[0]
    close(w["df_denom"], ct["df"], rtol=1e-10)
    close(w["p_value"], ct["p_value"], rtol=1e-10)


def test_cr2_unit_and_scaled_weights_equal_ols():
    d, X = load_input("ancova9")
    ols = cluster_robust(X, d["y"], d["cluster"])
    unit = cluster_robust(X, d["y"], d["cluster"], weights=np.ones(len(d)))  # the 2p-wide WLS algebra
    close(unit.vcov.to_numpy(), ols.vcov.to_numpy(), rtol=1e-9)
    close(unit.coef_test()["df"], ols.coef_test()["df"], rtol=1e-9)
    dw, Xw = load_input("dose_w")
    a = cluster_robust(Xw, dw["y"], dw["cluster"], weights=dw["w"])
    b = cluster_robust(Xw, dw["y"], dw["cluster"], weights=dw["w"] * 37.5)
    close(a.vcov.to_numpy(), b.vcov.to_numpy(), rtol=1e-10)
    close(a.coef_test()["df"], b.coef_test()["df"], rtol=1e-10)


def test_cr2_invariant_to_reparametrisation():
    d, X = load_input("ancova12")
    fit = cluster_robust(X, d["y"], d["cluster"])
    T = np.eye(X.shape[1])
    T[0, 1] = 20.0  # intercept at pre = 20
    T[2, 3] = -1.0
    fit2 = cluster_robust(X.to_numpy() @ np.linalg.inv(T), d["y"], d["cluster"])
    L = np.eye(X.shape[1])
    tab1 = fit.contrast(T)  # T beta
    tab2 = fit2.contrast(L)
    close(tab1["se"], tab2["se"], rtol=1e-9)
    close(tab1["df"], tab2["df"], rtol=1e-9)


def test_cluster_order_and_labels_do_not_matter():
    d, X = load_input("ancova8")
    fit = cluster_robust(X, d["y"], d["cluster"])
    perm = np.random.default_rng(5).permutation(len(d))
    codes = pd.factorize(d["cluster"])[0]
    fit2 = cluster_robust(X.iloc[perm], d["y"].iloc[perm], codes[perm] * 10 + 3)
    close(fit2.vcov.to_numpy(), fit.vcov.to_numpy(), rtol=1e-10)
    close(fit2.coef_test()["df"], fit.coef_test()["df"], rtol=1e-10)


# ---------------------------------------------------------------------------
# edge cases
# ---------------------------------------------------------------------------
def test_fewer_than_two_clusters_is_a_validation_error():
    with pytest.raises(ValidationError, match="at least 2 clusters"):
        cluster_robust(np.ones((5, 1)), np.arange(5.0), ["a"] * 5)
    d = pd.DataFrame({"y": [1.0, 2, 3, 4], "g": ["a", "a", None, None]})
    with pytest.raises(ValidationError, match="at least 2 clusters"):
        cluster_robust_formula("y ~ 1", d, "g")


def test_exact_fit_gives_nan_t_and_p_with_reason():
    rng = np.random.default_rng(1)
    x = rng.normal(size=30)
    X = np.column_stack([np.ones(30), x])
    y = 2.0 + 0.5 * x
    fit = cluster_robust(X, y, np.repeat(np.arange(6), 5))
    tab = fit.coef_test()
    assert fit.exact_fit
    assert (tab["se"] == 0).all() and tab["t"].isna().all() and tab["p_value"].isna().all()
    assert not np.isinf(tab[["t", "p_value", "ci_low", "ci_high"]].to_numpy()).any()
    assert tab["note"].str.contains("exactly").all()
    w = fit.wald_test(np.eye(2)[1:]).iloc[0]
    assert np.isnan(w["p_value"]) and "exactly" in w["note"]


def test_not_identified_wald_constraint_is_nan_with_reason():
    fit = fit_of("single_nopre", "CR2")
    mean_d = {"(Intercept)": 1.0, "typeD": 1.0}
    w = fit.wald_test(mean_d).iloc[0]
    assert np.isnan(w["p_value"]) and "single cluster" in w["note"]


def test_bad_arguments_raise_groupeval_errors():
    d, X = load_input("ancova9")
    with pytest.raises(ConfigError, match="type must be"):
        cluster_robust(X, d["y"], d["cluster"], type="HC3")
    Xc = X.assign(dup=X["pre"] * 2)
    with pytest.raises(ValidationError, match="collinear"):
        cluster_robust(Xc, d["y"], d["cluster"])
    with pytest.raises(ValidationError, match="weights"):
        cluster_robust(X, d["y"], d["cluster"], weights=np.r_[0.0, np.ones(len(d) - 1)])
    fit = cluster_robust(X, d["y"], d["cluster"])
    with pytest.raises(ConfigError, match="columns"):
        fit.contrast(np.ones(3))
    with pytest.raises(ConfigError, match="unknown term"):
        fit.contrast({"nope": 1.0})
    with pytest.raises(ConfigError, match="all zero"):
        fit.contrast(np.zeros(X.shape[1]))
    with pytest.raises(ConfigError, match="linearly dependent"):
        fit.wald_test(np.vstack([np.eye(X.shape[1])[2], np.eye(X.shape[1])[2]]))
    with pytest.raises(ConfigError, match="ci must be"):
        fit.coef_test(ci=95)
    with pytest.raises(ConfigError, match="test must be"):
        fit.wald_test(np.eye(X.shape[1])[2:], test="HTA")


def test_constant_response_is_an_exact_fit_but_tiny_noise_is_not():
    g = np.repeat(np.arange(5), 4)
    const = cluster_robust(np.ones((20, 1)), np.full(20, 7.3), g)
    assert const.exact_fit and np.isnan(const.coef_test()["t"].iloc[0])
    rng = np.random.default_rng(3)
    noisy = cluster_robust(np.ones((20, 1)), 1e3 + 1e-6 * rng.normal(size=20), g)
    assert not noisy.exact_fit and np.isfinite(noisy.coef_test()["p_value"].iloc[0])
