"""Benchmark: ``groupeval report`` end to end (CLI, as a user runs it).

    python benchmarks/bench_report.py            # sample + 10 000 members
    python benchmarks/bench_report.py --quick    # sample only

Targets (issue 6, "Performance"): ``groupeval report data/sample --out
report.html`` < 30 s; a 10 000-member programme < 2 min, on a 2-core machine.
Prints wall time and the peak resident memory of the report process.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _report(data: Path, out: Path, audience: str = "program") -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "groupeval", "report", str(data), "--out", str(out),
                           "--audience", audience, "--quiet"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, file=sys.stderr)
        raise SystemExit(f"groupeval report failed on {data}")
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024  # MiB (Linux: KiB)
    return wall, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="only the sample programme")
    ap.add_argument("--members", type=int, default=10_000)
    args = ap.parse_args()
    print(f"groupeval report benchmark (python {sys.version.split()[0]}, {os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        tmp = Path(tmp)
        sample = ROOT / "data" / "sample"
        if not any(sample.glob("*")):
            from groupeval.sample import write_sample

            sample = write_sample(tmp / "sample", seed=2025)
        wall, peak = _report(sample, tmp / "sample" / "report.html")
        flag = "OK" if wall < 30 else "SLOW"
        print(f"sample programme ({sample}): groupeval report {wall:6.1f} s  peak RSS {peak:7.0f} MiB  "
              f"[target < 30 s: {flag}]")
        wall_f, _ = _report(sample, tmp / "sample_funder" / "report.html", audience="funder")
        print(f"sample programme, --audience funder:      {wall_f:6.1f} s")
        if args.quick:
            return
        from groupeval.sample import generate, write_programme

        t0 = time.perf_counter()
        ds = generate(2025, n_members=args.members)
        big = write_programme(ds, tmp / "big")
        t_write = time.perf_counter() - t0
        n_att = len(ds.attendance)
        del ds
        wall, peak = _report(big, tmp / "big" / "report.html")
        flag = "OK" if wall < 120 else "SLOW"
        print(f"{args.members:,} members ({n_att:,} attendance rows; generating + writing files "
              f"{t_write:.1f} s, not counted): groupeval report {wall:6.1f} s  peak RSS {peak:7.0f} MiB  "
              f"[target < 120 s: {flag}]")


if __name__ == "__main__":
    main()
