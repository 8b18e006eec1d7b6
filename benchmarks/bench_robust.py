"""Speed and memory of groupeval.statistics.robust at scale (run: ``python benchmarks/bench_robust.py``).

Fits ``y ~ pre + type`` (6 terms; 4 group types) on N rows in G clusters of unequal size (about N / G members
each), unweighted and weighted, with CR2, then the Satterthwaite coef_test, 6 pairwise contrasts and the
3-constraint HTZ test.  Prints wall-clock seconds per step and the peak resident memory.

Options: ``--rows 1000000`` ``--clusters 200,2000,5000`` ``--reps 1`` (timings are the best of reps).
Target: < 5 s per fit at 1M rows and thousands of clusters (no n_g x n_g or G x G matrices).
"""
from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from groupeval.statistics.robust import cluster_robust


def simulate(n: int, G: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = rng.gamma(2.0, 1.0, G)
    g = np.sort(rng.choice(G, n, p=size / size.sum()))
    gtype = rng.integers(0, 4, G)
    u = rng.normal(0, 0.4, G)
    pre = rng.normal(20, 4, n) + u[g]
    y = 5 + 0.6 * pre + u[g] + rng.normal(0, 3, n)
    t = gtype[g]
    X = np.column_stack([np.ones(n), pre] + [(t == k).astype(float) for k in (1, 2, 3)]
                        + [rng.normal(size=n)])
    w = rng.uniform(0.5, 2.0, n)
    return X, y, g, w


def best(fn: Callable[..., Any], args: tuple[Any, ...], reps: int) -> tuple[float, Any]:
    out = None
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--clusters", default="200,2000,5000")
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    L_pairs = np.zeros((6, 6))
    pairs = [(2, None), (3, None), (4, None), (2, 3), (2, 4), (3, 4)]
    for i, (a, b) in enumerate(pairs):
        L_pairs[i, a] = 1.0
        if b is not None:
            L_pairs[i, b] = -1.0
    L_omni = np.eye(6)[2:5]
    print("| rows | clusters | max members | weights | fit s | coef_test s | 6 contrasts s | HTZ s |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|")
    for G in [int(x) for x in args.clusters.split(",")]:
        X, y, g, w = simulate(args.rows, G)
        big = int(np.bincount(g).max())
        for weighted in (False, True):
            tf, fit = best(partial(cluster_robust, weights=w if weighted else None), (X, y, g), args.reps)
            tc, _ = best(fit.coef_test, (), args.reps)
            tl, _ = best(fit.contrast, (L_pairs,), args.reps)
            th, _ = best(fit.wald_test, (L_omni,), args.reps)
            print(f"| {args.rows:,} | {G:,} | {big:,} | {'yes' if weighted else 'no'} | {tf:.2f} | {tc:.3f} | "
                  f"{tl:.3f} | {th:.3f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
