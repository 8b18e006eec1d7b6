"""Monte Carlo check of groupeval.statistics.power: simulated against computed power.

Run: ``PYTHONPATH=src python benchmarks/mc_power.py [--reps 20000] [--seed 1]``
(about 5 s on one core at 20 000 replicates).

Members are simulated nested in groups with the stated ICC (group effect
``sqrt(icc) * u_j``, member effect ``sqrt(1 - icc) * e_ij``, total variance 1),
analysed the way the formulas assume, and the share of replicates with
p < alpha is compared with :func:`power` (t with the design's df, and the
normal approximation).  The MC standard error is ``sqrt(p (1 - p) / reps)``.

Scenarios
---------
1. cluster randomised, 6 groups of 10 per arm, ICC 0.05, d = 0.5: two-sample t
   on group means (df 2(k - 1));
2. the same with no effect (type I error);
3. cluster randomised, 12 groups per arm, unequal sizes (gamma, mean 12, CV
   0.6), ICC 0.05, d = 0.4: size-weighted arm means (every member counts
   once) with the cluster-robust variance k/(k-1) sum m_j^2 (ybar_j - ybar)^2 /
   (sum m_j)^2 per arm, t with 2(k - 1) df (the analysis Eldridge et al. 2006
   give their design effect for); 3b the same with no effect;
4. single arm, 12 groups of 15 enrolled, ICC of the change 0.05, 30% random
   attrition, d_z solved for 80% power: one-sample t on group mean changes
   (df k - 1); 4b the same with ``cv_group_size`` = sqrt(a / (m (1 - a))), the CV
   that random (binomial) attrition gives equal enrolled groups;
5. single arm, few groups: 5 groups of 8, ICC 0.1, d_z = 0.6;
6. two arm, intervention delivered in 6 groups of 10 (ICC 0.05), 60
   independent controls, d = 0.5: Welch-type t with the Satterthwaite df;
7. cluster randomised proportion, 10 groups of 20 per arm, 30% vs 45%,
   ICC 0.05 (beta-binomial group proportions): t on group proportions.

The lead may later replace these simulators with groupeval's own ``sample``
generator.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats

from groupeval.statistics.power import power


def _pvalue_t(t: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    return 2 * stats.t.sf(np.abs(t), df)


def cluster_equal(rng: np.random.Generator, reps: int, k: int, m: int, icc: float, d: float) -> np.ndarray:
    u = rng.standard_normal((reps, 2, k)) * np.sqrt(icc)
    e = rng.standard_normal((reps, 2, k, m)) * np.sqrt(1 - icc)
    means = u + e.mean(axis=3)
    means[:, 0] += d
    a, b = means[:, 0], means[:, 1]
    sp = ((k - 1) * a.var(axis=1, ddof=1) + (k - 1) * b.var(axis=1, ddof=1)) / (2 * k - 2)
    t = (a.mean(1) - b.mean(1)) / np.sqrt(sp * 2 / k)
    return _pvalue_t(t, 2 * k - 2)


def gamma_sizes(rng: np.random.Generator, shape: tuple[int, ...], mean: float, cv: float) -> np.ndarray:
    return np.maximum(1, np.rint(rng.gamma(1 / cv**2, mean * cv**2, size=shape))).astype(int)


def cluster_unequal(rng: np.random.Generator, reps: int, k: int, mean: float, cv: float, icc: float,
                    d: float) -> np.ndarray:
    sizes = gamma_sizes(rng, (reps, 2, k), mean, cv)
    mmax = int(sizes.max())
    mask = np.arange(mmax) < sizes[..., None]
    e = rng.standard_normal((reps, 2, k, mmax)) * np.sqrt(1 - icc)
    ybar = u = rng.standard_normal((reps, 2, k)) * np.sqrt(icc)
    ybar = u + (e * mask).sum(axis=3) / sizes
    ybar[:, 0] += d
    w = sizes.astype(float)
    arm = (w * ybar).sum(axis=2) / w.sum(axis=2)
    var = k / (k - 1) * (w**2 * (ybar - arm[..., None]) ** 2).sum(axis=2) / w.sum(axis=2) ** 2
    t = (arm[:, 0] - arm[:, 1]) / np.sqrt(var.sum(axis=1))
    return _pvalue_t(t, 2 * k - 2)


def single_arm(rng: np.random.Generator, reps: int, k: int, m: int, icc: float, d_z: float,
               attrition: float) -> np.ndarray:
    u = rng.standard_normal((reps, k, 1)) * np.sqrt(icc)
    change = d_z + u + rng.standard_normal((reps, k, m)) * np.sqrt(1 - icc)
    kept = rng.random((reps, k, m)) >= attrition
    n = kept.sum(axis=2)
    gm = np.where(n > 0, (change * kept).sum(axis=2) / np.maximum(n, 1), np.nan)
    kk = (n > 0).sum(axis=1)
    mean = np.nanmean(gm, axis=1)
    sd = np.nanstd(gm, axis=1, ddof=1)
    t = mean / (sd / np.sqrt(kk))
    return _pvalue_t(t, kk - 1)


def partially_nested(rng: np.random.Generator, reps: int, k: int, m: int, n2: int, icc: float,
                     d: float) -> np.ndarray:
    u = rng.standard_normal((reps, k)) * np.sqrt(icc)
    gm = d + u + (rng.standard_normal((reps, k, m)) * np.sqrt(1 - icc)).mean(axis=2)
    ctrl = rng.standard_normal((reps, n2))
    v1 = gm.var(axis=1, ddof=1) / k
    v2 = ctrl.var(axis=1, ddof=1) / n2
    df = (v1 + v2) ** 2 / (v1**2 / (k - 1) + v2**2 / (n2 - 1))
    t = (gm.mean(1) - ctrl.mean(1)) / np.sqrt(v1 + v2)
    return _pvalue_t(t, df)


def cluster_binary(rng: np.random.Generator, reps: int, k: int, m: int, icc: float, p1: float,
                   p0: float) -> np.ndarray:
    # beta-binomial: group proportion ~ Beta(p s, (1-p) s) with s = 1/icc - 1 has ICC = icc
    s = 1 / icc - 1
    p = np.stack([rng.beta(p1 * s, (1 - p1) * s, (reps, k)), rng.beta(p0 * s, (1 - p0) * s, (reps, k))], axis=1)
    share = rng.binomial(m, p) / m
    a, b = share[:, 0], share[:, 1]
    sp = (a.var(axis=1, ddof=1) + b.var(axis=1, ddof=1)) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (a.mean(1) - b.mean(1)) / np.sqrt(sp * 2 / k)
    return _pvalue_t(np.nan_to_num(t), 2 * k - 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    reps, alpha = args.reps, 0.05
    t0 = time.perf_counter()
    rows = []

    def record(name: str, pvals: np.ndarray, **kw: object) -> None:
        sim = float(np.mean(pvals < alpha))
        t = power(**kw, test="t")["power"].iloc[0]  # type: ignore[arg-type]
        z = power(**kw, test="normal")["power"].iloc[0]  # type: ignore[arg-type]
        rows.append({"scenario": name, "simulated": sim, "mc_se": np.sqrt(sim * (1 - sim) / reps),
                     "power_t": t, "power_normal": z, "t_minus_sim": t - sim})

    record("1 cluster, 6x10/arm, icc .05, d .5", cluster_equal(rng, reps, 6, 10, 0.05, 0.5),
           design="cluster_randomised", effect=0.5, n_groups=6, members_per_group=10, icc=0.05)
    record("2 cluster, same, d 0 (type I)", cluster_equal(rng, reps, 6, 10, 0.05, 0.0),
           design="cluster_randomised", effect=0.0, n_groups=6, members_per_group=10, icc=0.05)
    big = gamma_sizes(rng, (400_000,), 12, 0.6)
    record("3 cluster, 12/arm, sizes cv .6, icc .05, d .4", cluster_unequal(rng, reps, 12, 12, 0.6, 0.05, 0.4),
           design="cluster_randomised", effect=0.4, n_groups=12, members_per_group=float(big.mean()), icc=0.05,
           cv_group_size=float(big.std(ddof=0) / big.mean()))
    record("3b cluster, same sizes, d 0 (type I)", cluster_unequal(rng, reps, 12, 12, 0.6, 0.05, 0.0),
           design="cluster_randomised", effect=0.0, n_groups=12, members_per_group=float(big.mean()), icc=0.05,
           cv_group_size=float(big.std(ddof=0) / big.mean()))
    d_z = float(power("single_arm", effect=None, n_groups=12, members_per_group=15, icc=0.05, attrition=0.3,
                      power=0.8)["effect"].iloc[0])
    record(f"4 single arm, 12x15, icc .05, 30% attrition, d_z {d_z:.3f}",
           single_arm(rng, reps, 12, 15, 0.05, d_z, 0.3), design="single_arm", effect=d_z, n_groups=12,
           members_per_group=15, icc=0.05, attrition=0.3)
    record("4b as 4, power() given the CV of analysed sizes", single_arm(rng, reps, 12, 15, 0.05, d_z, 0.3),
           design="single_arm", effect=d_z, n_groups=12, members_per_group=15, icc=0.05, attrition=0.3,
           cv_group_size=float(np.sqrt(0.3 / (15 * 0.7))))
    record("5 single arm, 5x8, icc .1, d_z .6", single_arm(rng, reps, 5, 8, 0.1, 0.6, 0.0),
           design="single_arm", effect=0.6, n_groups=5, members_per_group=8, icc=0.1)
    record("6 two arm nested, 6x10 vs 60, icc .05, d .5", partially_nested(rng, reps, 6, 10, 60, 0.05, 0.5),
           design="two_arm", effect=0.5, n_groups=6, members_per_group=10, icc=0.05)
    record("7 cluster proportion, 10x20/arm, .45 vs .30, icc .05",
           cluster_binary(rng, reps, 10, 20, 0.05, 0.45, 0.30), design="cluster_randomised",
           outcome="proportion", scale="proportion", p_ref=0.30, effect=0.15, n_groups=10, members_per_group=20,
           icc=0.05)
    out = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_colwidth", 60, "display.float_format", "{:.4f}".format):
        print(out.to_string(index=False))
    print(f"\n{reps} replicates per scenario, seed {args.seed}, {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
