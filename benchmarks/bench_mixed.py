"""Benchmark of ``groupeval.mixed_model`` (the public function) against statsmodels and lme4.

Run:  ``PYTHONPATH=src python benchmarks/bench_mixed.py`` (options below).

Model: ``score ~ timepoint + x1 + x2 + (1 | group) + (1 | group:member)`` by REML on simulated
members x 3 timepoints (timepoint categorical: baseline / week_12 / week_26; member-level x1,
observation-level x2), 15 members per group, ids as strings (as ``groupeval.score`` returns them).
For each size, one fresh child process times, alternating, median of ``--repeats``:

* ``mixed_model`` -- the public function on the long scores table: design from the DataFrame,
  the native REML engine with its optimiser fallback, and the inference it reports by default
  (Satterthwaite df for every fixed effect, the 3 estimated means, 2 changes and the type III
  F tests);
* ``engine`` -- ``lmm.fit_nested`` alone on ready arrays (no inference);
* ``statsmodels`` -- statsmodels' MixedLM on the same arrays (skipped above ``--sm-max`` members).

The child reports its peak RSS (``resource.getrusage``) after data generation and after the
``mixed_model`` runs (before statsmodels runs).  Where ``Rscript`` exists, ``lme4::lmer`` is timed
inside R on the same data (written to a CSV and read by R; ``system.time`` around ``lmer`` only,
after a warm-up fit on a subset; median of the repeats) and, up to ``--r-df-max`` members,
``lmerTest``'s fit plus ``summary(m, ddf = "Satterthwaite")`` (the R equivalent of what
``mixed_model`` returns).  Prints ratios and the log-log scaling exponent of time vs members.

Goals (issue 13): ``mixed_model`` <= 0.5 x lme4's fit time at 10k and 100k members;
1M members in < 30 s and < 4 GiB.

Options: ``--sizes 1000,10000,100000,1000000``, ``--repeats 3``, ``--sm-max 30000``,
``--r-max 1000000``, ``--r-df-max 10000``, ``--no-r``, ``--group-size 15``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

TIMEPOINTS = np.array(["baseline", "week_12", "week_26"], dtype=object)


def simulate(n_members: int, group_size: int = 15, seed: int = 0) -> pd.DataFrame:
    """Long scores: member_id, group_id, timepoint (strings), score, x1 (member-level), x2."""
    rng = np.random.default_rng(seed)
    T = len(TIMEPOINTS)
    n_groups = max(2, n_members // group_size)
    g = np.sort(rng.integers(0, n_groups, n_members))
    u_g = rng.normal(0, 0.7, n_groups)[g]
    u_m = rng.normal(0, 1.2, n_members)
    x1 = np.round(rng.normal(45, 12, n_members))
    mi = np.repeat(np.arange(n_members), T)
    ti = np.tile(np.arange(T), n_members)
    x2 = rng.normal(size=n_members * T)
    y = 10 + u_g[mi] + u_m[mi] - 0.8 * ti + 0.05 * (x1[mi] - 45) + 0.4 * x2 + rng.normal(0, 1, n_members * T)
    mid = pd.Series(np.arange(n_members)).map("M{:07d}".format).to_numpy()
    gid = pd.Series(np.arange(n_groups)).map("G{:06d}".format).to_numpy()
    return pd.DataFrame({"member_id": mid[mi], "group_id": gid[g][mi], "timepoint": TIMEPOINTS[ti], "score": y,
                         "x1": x1[mi], "x2": x2})


def _arrays(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    tc = pd.Categorical(d.timepoint, categories=TIMEPOINTS).codes
    X = np.column_stack([np.ones(len(d)), tc == 1, tc == 2, d.x1, d.x2]).astype(float)
    return (d.score.to_numpy(), X, pd.factorize(d.group_id)[0], pd.factorize(d.member_id)[0])


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def child(n: int, repeats: int, sm_max: int, group_size: int, csv: str | None) -> None:
    """One size in a fresh process; prints one JSON line."""
    from groupeval import mixed_model
    from groupeval.statistics.lmm import fit_nested

    warm = simulate(300, group_size, seed=1)
    mixed_model(warm, covariates=["x1", "x2"])  # warm-up (scipy's lazy imports)
    d = simulate(n, group_size)
    if csv:
        d.to_csv(csv, index=False)
    y, X, grp, mem = _arrays(d)
    rss_data = _rss_gib()
    t_pub, t_eng, t_sm = [], [], []
    rss_pub = 0.0
    res = fit = None
    sm_llf = None
    for r in range(repeats):
        t0 = time.perf_counter()
        res = mixed_model(d, covariates=["x1", "x2"])
        t_pub.append(time.perf_counter() - t0)
        if r == 0:
            rss_pub = _rss_gib()
        t0 = time.perf_counter()
        fit = fit_nested(y, X, grp, mem)
        t_eng.append(time.perf_counter() - t0)
        if n <= sm_max:
            import statsmodels.api as sm

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                out = sm.MixedLM(y, X, groups=grp, exog_re=np.ones((len(y), 1)),
                                 exog_vc={"member": _member_vc(grp, mem)}).fit(reml=True)
                t_sm.append(time.perf_counter() - t0)
                sm_llf = float(out.llf)
    assert res is not None and fit is not None
    print(json.dumps({"n": n, "n_obs": len(y), "n_groups": res.n_groups, "mixed_model": t_pub, "engine": t_eng,
                      "statsmodels": t_sm, "rss_data_gib": rss_data, "rss_mixed_model_gib": rss_pub,
                      "loglik": res.loglik, "loglik_engine": fit.loglik, "sm_loglik": sm_llf,
                      "converged": res.converged, "w26_df": float(res.changes["df"].iloc[-1])}))


def _member_vc(grp: np.ndarray, mem: np.ndarray) -> dict:
    """statsmodels' exog_vc: per group, an indicator matrix of its members."""
    from scipy import sparse

    out = {}
    order = np.argsort(grp, kind="stable")
    labels, starts = np.unique(grp[order], return_index=True)
    ends = np.append(starts[1:], len(grp))
    for g, a, b in zip(labels, starts, ends, strict=True):  # statsmodels' own interface is per group
        idx = order[a:b]
        codes, _ = pd.factorize(mem[idx])
        out[g] = sparse.csr_matrix((np.ones(len(idx)), (np.arange(len(idx)), codes))).toarray()
    return out


R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(lmerTest)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- as.integer(args[2])
with_df <- as.logical(args[3])
f <- score ~ timepoint + x1 + x2 + (1 | group_id) + (1 | group_id:member_id)
d$timepoint <- factor(d$timepoint, levels = c("baseline", "week_12", "week_26"))
d$group_id <- factor(d$group_id); d$member_id <- factor(d$member_id)
invisible(lme4::lmer(f, data = d[seq_len(min(nrow(d), 3000)), ]))   # warm-up
invisible(gc(reset = TRUE))
tt <- numeric(reps)
for (i in seq_len(reps)) tt[i] <- system.time(m <- lme4::lmer(f, data = d))[["elapsed"]]
g <- gc()
td <- NA_real_
if (with_df) {
  td <- numeric(reps)
  for (i in seq_len(reps)) td[i] <- system.time({
    mt <- lmerTest::lmer(f, data = d); s <- summary(mt, ddf = "Satterthwaite")})[["elapsed"]]
}
cat(sprintf("RESULT %s %.17g %.6g %s\n", paste(format(tt, digits = 6), collapse = ","), as.numeric(logLik(m)),
            sum(g[, ncol(g)]), paste(format(td, digits = 6), collapse = ",")))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sm-max", type=int, default=30000)
    ap.add_argument("--r-max", type=int, default=1000000)
    ap.add_argument("--r-df-max", type=int, default=10000)
    ap.add_argument("--group-size", type=int, default=15)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--csv", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.repeats, a.sm_max, a.group_size, a.csv)
        return
    sizes = [int(s) for s in a.sizes.split(",")]
    rscript = None if a.no_r else shutil.which("Rscript")
    tmp = tempfile.mkdtemp(prefix="bench_mixed_")
    rfile = os.path.join(tmp, "bench.R")
    with open(rfile, "w") as fh:
        fh.write(R_SCRIPT)
    rows = []
    for n in sizes:
        csv = os.path.join(tmp, f"d{n}.csv") if (rscript and n <= a.r_max) else None
        cmd = [sys.executable, __file__, "--child", str(n), "--repeats", str(a.repeats), "--sm-max", str(a.sm_max),
               "--group-size", str(a.group_size)] + (["--csv", csv] if csv else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        res = json.loads(out.strip().splitlines()[-1])
        r_times: list[float] = []
        r_df: list[float] = []
        r_ll = r_mem = None
        if csv and rscript:
            ro = subprocess.run([rscript, rfile, csv, str(a.repeats), "TRUE" if n <= a.r_df_max else "FALSE"],
                                capture_output=True, text=True)
            line = [s for s in ro.stdout.splitlines() if s.startswith("RESULT")]
            if line:
                parts = line[0].split()
                r_times = [float(v) for v in parts[1].split(",")]
                r_ll, r_mem = float(parts[2]), float(parts[3])
                r_df = [float(v) for v in parts[4].split(",") if v != "NA"]
            else:
                print(f"R failed at {n}: {ro.stderr[-500:]}")
            os.remove(csv)

        def med(v: list[float]) -> float:
            return float(np.median(v)) if v else float("nan")

        row = {"members": n, "obs": res["n_obs"], "groups": res["n_groups"], "mixed_model_s": med(res["mixed_model"]),
               "engine_s": med(res["engine"]), "statsmodels_s": med(res["statsmodels"]), "lme4_s": med(r_times),
               "lmerTest_df_s": med(r_df), "rss_data_gib": res["rss_data_gib"],
               "rss_mixed_model_gib": res["rss_mixed_model_gib"],
               "lme4_gc_max_mb": r_mem if r_mem is not None else float("nan"),
               "loglik": res["loglik"], "loglik_lme4": r_ll if r_ll is not None else float("nan"),
               "loglik_statsmodels": res["sm_loglik"] if res["sm_loglik"] is not None else float("nan"),
               "converged": res["converged"]}
        row["mixed_model/lme4"] = row["mixed_model_s"] / row["lme4_s"]
        row["engine/lme4"] = row["engine_s"] / row["lme4_s"]
        row["mixed_model/statsmodels"] = row["mixed_model_s"] / row["statsmodels_s"]
        rows.append(row)
        print(pd.DataFrame([row]).to_string(index=False), flush=True)
    tab = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    print("\n" + tab.to_string(index=False))
    if len(tab) >= 2:
        for col in ("mixed_model_s", "engine_s", "lme4_s", "statsmodels_s"):
            ok = tab[col].notna()
            if ok.sum() >= 2:
                slope = np.polyfit(np.log(tab.members[ok]), np.log(tab[col][ok]), 1)[0]
                print(f"scaling exponent ({col} ~ members^k): k = {slope:.3f}")
    print("goals: mixed_model/lme4 <= 0.5 at 10k and 100k; 1M members < 30 s and < 4 GiB (rss_mixed_model_gib)")


if __name__ == "__main__":
    main()
