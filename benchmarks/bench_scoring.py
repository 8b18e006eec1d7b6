"""Benchmark: groupeval.score on 1 million survey rows of a 26-item instrument.

Run: python benchmarks/bench_scoring.py [--rows 1000000] [--repeat 3]
Target (issue 3): WHOQOL-BREF (26 items, 10 output scores) on 1,000,000 rows in < 2 s
on the 2-core machine.  Also times PHQ-9 and SWEMWBS (lookup table) and
reliability() on a realistic survey size, and reports peak memory.
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

import groupeval
from groupeval import instruments


def make_responses(name: str, n_rows: int, seed: int = 1, missing: float = 0.03) -> pd.DataFrame:
    inst = instruments.get(name)
    rng = np.random.default_rng(seed)
    X = rng.integers(inst.item_min, inst.item_max + 1, size=(n_rows, inst.n_items)).astype(float)
    X[rng.random(X.shape) < missing] = np.nan
    df = pd.DataFrame(X, columns=list(inst.items))
    df.insert(0, "timepoint", pd.Categorical(rng.choice(["baseline", "week_12", "week_26"], n_rows)))
    df.insert(0, "member_id", pd.array([f"M{i:07d}" for i in range(n_rows)], dtype="string"))
    return df


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"groupeval {groupeval.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
    for name in ("whoqol_bref", "phq9", "swemwbs"):
        df = make_responses(name, args.rows)
        groupeval.score(df.head(100), name)  # warm-up (registry load)
        t = best_of(lambda df=df, name=name: groupeval.score(df, name), args.repeat)
        tracemalloc.start()
        out = groupeval.score(df, name)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        flag = "  (target < 2 s)" if name == "whoqol_bref" else ""
        print(f"score({name}): {args.rows:,} rows x {instruments.get(name).n_items} items -> "
              f"{out.shape[1]} columns: {t:.3f} s best of {args.repeat}, peak traced memory "
              f"{peak / 2**20:.0f} MiB{flag}")
    df = make_responses("whoqol_bref", 5_000)
    t = best_of(lambda: groupeval.reliability(df, "whoqol_bref"), 1)
    print(f"reliability(whoqol_bref): 5,000 rows, 3 timepoints x 4 domains: {t:.3f} s")


if __name__ == "__main__":
    main()
