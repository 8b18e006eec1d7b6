"""Benchmark of the readers against pyarrow.csv.read_csv on the same file.

Run:  python benchmarks/bench_io.py [n_members]   (default 100_000 -> ~1.5 M attendance rows)

Writes, in a temporary folder, a long roster CSV (member x session with a
P/A/E/L mark, ISO dates) and a wide CSV (one row per member, one column per
session date), then times:

* ``pyarrow.csv.read_csv`` of each file (the baseline the issue names),
* ``groupeval.read_attendance`` of each file,

best of 3 runs each, and the peak resident memory of the process.
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv

from groupeval.io import read_attendance


def make_files(d: Path, n_members: int, n_sessions: int = 26, seed: int = 0) -> tuple[Path, Path, int]:
    rng = np.random.default_rng(seed)
    n_groups = max(1, n_members // 15)
    group = np.array([f"G{i:05d}" for i in range(n_groups)])[rng.integers(0, n_groups, n_members)]
    member = np.array([f"M{i:07d}" for i in range(n_members)])
    start = pd.Timestamp("2025-01-06")
    dates = pd.date_range(start, periods=n_sessions, freq="7D")
    first = rng.integers(0, 6, n_members)
    last = n_sessions - rng.integers(0, 10, n_members)
    grid = np.arange(n_sessions)[None, :]
    scheduled = (grid >= first[:, None]) & (grid < last[:, None])
    marks = rng.choice(np.array(["P", "A", "E", "L"]), size=(n_members, n_sessions), p=[0.65, 0.25, 0.05, 0.05])
    r, c = np.nonzero(scheduled)
    roster = pd.DataFrame({"member_id": member[r], "group_id": group[r],
                           "session_date": dates[c].strftime("%Y-%m-%d"), "status": marks[r, c]})
    p_roster = d / "attendance_roster.csv"
    roster.to_csv(p_roster, index=False)
    wide = pd.DataFrame(np.where(scheduled, marks, ""), columns=dates.strftime("%Y-%m-%d"))
    wide.insert(0, "group_id", group)
    wide.insert(0, "member_id", member)
    p_wide = d / "attendance_wide.csv"
    wide.to_csv(p_wide, index=False)
    return p_roster, p_wide, len(roster)


def best_of(fn, n=3):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    n_members = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        p_roster, p_wide, n_rows = make_files(d, n_members)
        print(f"{n_members:,} members, {n_rows:,} roster rows "
              f"({p_roster.stat().st_size / 1e6:.1f} MB roster CSV, {p_wide.stat().st_size / 1e6:.1f} MB wide CSV)")
        for label, path in (("roster", p_roster), ("wide", p_wide)):
            t_pa, _ = best_of(lambda path=path: pacsv.read_csv(path))
            t_ge, df = best_of(lambda path=path: read_attendance(path))
            print(f"{label:6s}: pyarrow.csv.read_csv {t_pa:6.3f} s | read_attendance {t_ge:6.3f} s "
                  f"| ratio {t_ge / t_pa:4.2f}x | rows out {len(df):,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
