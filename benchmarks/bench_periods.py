"""Benchmark: period_summary and compare_periods on a large synthetic programme.

Run:  PYTHONPATH=src python benchmarks/bench_periods.py [--members 20000] [--weeks 78]

Generates ``groupeval.sample.generate(n_members=..., weeks=...)`` and times, after one warm-up call:

1. ``period_summary`` over every calendar quarter (``basis="calendar"``: one attendance pass per period);
2. ``period_summary`` over the monthly enrolment cohorts (``basis="enrolment"``);
3. ``compare_periods`` of two quarters, calendar basis, with BRS outcomes.

Prints seconds per step.  No target is set; the per-period cost is one attendance_summary pass plus a few
CR2 fits and Kaplan–Meier curves.
"""
from __future__ import annotations

import argparse
import time
import warnings

import groupeval as ge
from groupeval.statistics import periods as P


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=20000)
    ap.add_argument("--weeks", type=int, default=78)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    ds = ge.sample.generate(seed=3, n_members=a.members, weeks=a.weeks)
    sc = ge.score(ds.responses, "brs")
    print(f"generate + score: {time.perf_counter() - t:.1f} s ({len(ds.members)} members, "
          f"{len(ds.attendance)} attendance rows, {len(ds.groups)} groups)")
    P.period_summary(ds, "2025-Q2", basis="calendar")  # warm-up (imports, caches)
    quarters = P.periods_covered(ds)
    t = time.perf_counter()
    P.period_summary(ds, quarters, basis="calendar", scores=sc)
    print(f"period_summary, calendar, {len(quarters)} quarters: {time.perf_counter() - t:.2f} s")
    months = P.periods_covered(ds, "month", basis="enrolment")
    t = time.perf_counter()
    P.period_summary(ds, months, basis="enrolment", scores=sc)
    print(f"period_summary, enrolment, {len(months)} monthly cohorts: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    P.compare_periods(ds, "2025-Q3", "2025-Q2", basis="calendar", scores=sc)
    print(f"compare_periods, calendar, two quarters: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
