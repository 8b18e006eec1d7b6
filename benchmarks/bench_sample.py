"""Benchmark of the sample generator and writer.

Run: ``python benchmarks/bench_sample.py``.  Prints wall time and peak
traced memory of ``groupeval.sample.generate`` at several scales and of
``write_programme`` (wide attendance workbook + REDCap export) for the default
sample and a 10 000-member programme.
"""
from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

from groupeval import sample


def timed(label: str, fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{label:<48} {dt:7.2f} s   peak {peak:7.1f} MiB")
    return out


def main() -> None:
    print("groupeval.sample benchmark")
    for n in (None, 10_000, 100_000):
        label = f"generate(n_members={n})" if n else "generate() default (12 groups)"
        ds = timed(label, lambda n=n: sample.generate(seed=1, n_members=n))
        print(f"{'':<48} members={len(ds.members):,} attendance={len(ds.attendance):,} "
              f"responses={len(ds.responses):,}")
    with tempfile.TemporaryDirectory() as tmp:
        small = sample.generate(seed=1)
        timed("write_programme(default sample)", lambda: sample.write_programme(small, Path(tmp) / "a"))
        mid = sample.generate(seed=1, n_members=10_000)
        timed("write_programme(10 000 members)", lambda: sample.write_programme(mid, Path(tmp) / "b"))


if __name__ == "__main__":
    main()
