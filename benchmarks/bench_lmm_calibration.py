"""Monte Carlo calibration of the nested LMM tests (groupeval.statistics.lmm).

Run:  ``PYTHONPATH=src python benchmarks/bench_lmm_calibration.py [--reps 400] [--groups 6]``

Under the null of no group-level effect, data are simulated as in the reference case (e):
``--groups`` groups (half of type A, half B), 10-16 members each, 4 timepoints, random group
and member intercepts (sd 0.6 and 1, residual sd 1), a member-level covariate.  For each
replicate the model ``y ~ time_f + group_type + x1 + (1|group) + (1|group:member)`` is fitted
by REML and the group_type coefficient is tested with Satterthwaite, Kenward-Roger, residual
and z df; the time contrast (a within-member effect, also null) with Satterthwaite.
Prints the rejection rate at 5% with its Monte Carlo standard error.  With few groups the
z and residual-df tests are anti-conservative; Satterthwaite and KR should be close to 5%
(KR typically slightly conservative when the group variance is often estimated as 0).
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

from groupeval.statistics.lmm import fit_nested


def simulate(rng: np.random.Generator, n_groups: int) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]:
    sizes = rng.integers(10, 17, n_groups)
    g = np.repeat(np.arange(n_groups), sizes)
    m = np.arange(len(g))
    T = 4
    gi = np.repeat(g, T)
    mi = np.repeat(m, T)
    ti = np.tile(np.arange(T), len(g))
    x1 = rng.normal(45, 12, len(g))[mi]
    y = 10 + rng.normal(0, 0.6, n_groups)[gi] + rng.normal(0, 1, len(g))[mi] + 0.05 * (x1 - 45) + rng.normal(
        0, 1, len(gi))
    X = pd.DataFrame({"(Intercept)": 1.0, "time_f1": (ti == 1) * 1.0, "time_f2": (ti == 2) * 1.0,
                      "time_f3": (ti == 3) * 1.0, "group_typeB": (gi >= n_groups // 2) * 1.0, "x1": x1})
    return y, X, gi, mi


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--groups", type=int, default=6)
    ap.add_argument("--seed", type=int, default=2024)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    methods = ("satterthwaite", "kenward-roger", "residual", "z")
    rej: dict[str, list[bool]] = {k: [] for k in methods}
    rej_time: list[bool] = []
    singular = 0
    for _ in range(a.reps):
        y, X, g, m = simulate(rng, a.groups)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_nested(y, X, g, m)
        singular += fit.is_singular
        row = np.zeros(X.shape[1])
        row[4] = 1.0
        for k in methods:
            rej[k].append(fit.contrast(row, df=k).p_value.iloc[0] < 0.05)
        L = np.zeros((3, X.shape[1]))
        L[0, 1] = L[1, 2] = L[2, 3] = 1.0
        rej_time.append(fit.f_test(L).p_value.iloc[0] < 0.05)
    print(f"{a.reps} replicates, {a.groups} groups; singular fits: {singular / a.reps:.3f}")
    for k in methods:
        r = float(np.mean(rej[k]))
        se = np.sqrt(r * (1 - r) / a.reps)
        print(f"group_type (between groups), {k:<14s}: rejection rate {r:.4f} (MC se {se:.4f})")
    r = float(np.mean(rej_time))
    print(f"time_f (within members, 3 df F), satterthwaite: rejection rate {r:.4f} "
          f"(MC se {np.sqrt(r * (1 - r) / a.reps):.4f})")


if __name__ == "__main__":
    main()
