"""Benchmark of the outcome statistics (run: ``python benchmarks/bench_outcomes.py``).

* ``change``, ``reliable_change`` and ``icc`` on 1 million members (2 timepoints);
  target < 5 s each.
* ``mixed_model`` on 1 000 .. 30 000 members x 3 timepoints (target < 60 s at
  10 000), with R's ``lme4::lmer`` on the same data in the same run (when
  ``Rscript`` is available) and the ratio.

Options: ``--sizes 1000,3000,10000`` (mixed-model sizes), ``--big 1000000``,
``--no-r`` (skip R).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd

from groupeval import icc, mixed_model
from groupeval.base.exceptions import SmallSampleWarning
from groupeval.statistics.change import change
from groupeval.statistics.reliable_change import reliable_change


def simulate(n_members: int, timepoints=("baseline", "week_12", "week_26"), group_size=15, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_groups = max(2, n_members // group_size)
    g = rng.integers(0, n_groups, n_members)
    u_g = rng.normal(0, 1.5, n_groups)[g]
    u_m = rng.normal(0, 3, n_members)
    T = len(timepoints)
    eff = np.array([0.0, -2.0, -3.5][:T])
    mi = np.repeat(np.arange(n_members), T)
    ti = np.tile(np.arange(T), n_members)
    y = 16 + u_g[mi] + u_m[mi] + eff[ti] + rng.normal(0, 2.5, n_members * T)
    ids = pd.Series(np.char.add("M", np.arange(n_members).astype(str)), dtype="string")
    gids = pd.Series(np.char.add("G", g.astype(str)), dtype="string")
    return pd.DataFrame({"member_id": ids.to_numpy()[mi], "group_id": gids.to_numpy()[mi],
                         "timepoint": np.asarray(timepoints)[ti], "score": np.round(y)})


def timed(label, fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    dt = time.perf_counter() - t
    print(f"  {label:<48s} {dt:8.2f} s")
    return out, dt


R_SCRIPT = r"""
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c("character", "character", "character", "numeric"))
d$timepoint <- factor(d$timepoint, levels = c("baseline", "week_12", "week_26"))
t0 <- proc.time()[["elapsed"]]
m <- lmer(score ~ timepoint + (1 | group_id / member_id), data = d, REML = TRUE)
cat(proc.time()[["elapsed"]] - t0, fixef(m)[3], "\n")
"""


def run_r(df: pd.DataFrame) -> tuple[float, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "d.csv")
        script = os.path.join(tmp, "fit.R")
        df.to_csv(csv, index=False)
        with open(script, "w") as fh:
            fh.write(R_SCRIPT)
        res = subprocess.run(["Rscript", script, csv], capture_output=True, text=True, timeout=1800)
        if res.returncode:
            print("  R failed:", res.stderr[-500:])
            return None
        secs, est = res.stdout.split()
        return float(secs), float(est)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", type=int, default=1_000_000)
    ap.add_argument("--sizes", default="1000,3000,10000,30000")
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore", SmallSampleWarning)
    print(f"python {sys.version.split()[0]}, pandas {pd.__version__}, numpy {np.__version__}, cpus {os.cpu_count()}")

    print(f"\n1) {args.big:,} members x 2 timepoints (change, reliable_change, icc)")
    t = time.perf_counter()
    big = simulate(args.big, timepoints=("baseline", "week_26"))
    print(f"  (simulated {len(big):,} rows in {time.perf_counter() - t:.1f} s)")
    inst = SimpleNamespace(name="toy", higher_is_better=False, reliability={"alpha": 0.9, "test_retest": 0.85},
                           norms={"clinical": (20.0, 6.0), "functional": (8.0, 5.0)})
    results = {}
    _, results["change"] = timed("change()", change, big)
    big["half"] = np.where(np.arange(len(big)) % 2, "a", "b")
    _, results["change_by"] = timed("change(by=<2 levels>)", change, big, by="half")
    _, results["reliable_change"] = timed("reliable_change()", reliable_change, big, inst)
    _, results["icc"] = timed("icc() (per timepoint)", icc, big)
    del big

    print("\n2) mixed_model vs lme4::lmer, members x 3 timepoints, ~15 members per group")
    for n in [int(s) for s in args.sizes.split(",") if s]:
        d = simulate(n, seed=n)
        res, dt = timed(f"mixed_model() n_members={n:,} ({len(d):,} rows)", mixed_model, d)
        py_est = res.fixed.set_index("term").loc["timepoint[T.week_26]", "estimate"]
        line = f"    python {dt:.2f} s ({res.method}, {res.optimizer})"
        if not args.no_r:
            r = run_r(d)
            if r:
                line += (f"; lme4 {r[0]:.2f} s; ratio python/R = {dt / r[0]:.1f}x; "
                         f"|diff week_26| = {abs(py_est - r[1]):.2e}")
        print(line)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nmax RSS of the process: {rss:.0f} MiB")
    ok = all(results[k] < 5 for k in ("change", "reliable_change", "icc"))
    print("targets (< 5 s at 1M):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
