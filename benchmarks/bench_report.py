"""Benchmark: ``groupeval report`` end to end (the command, as a user runs it), against the import floor.

    python benchmarks/bench_report.py                  # floor, sample (HTML; + PDF + DOCX; funder), 10 000 members
    python benchmarks/bench_report.py --quick          # floor and the sample only
    python benchmarks/bench_report.py --members 200000 # a large programme (progress lines shown as it runs)

The floor is a fresh Python that imports pandas, matplotlib, statsmodels and lifelines (what any report
must load), timed in the same run.  Goals (issues 11 and 13.3): the sample report within 2x the floor and
under 10 s; PDF + DOCX add under 5 s; a 10 000-member programme under 30 s; 200 000 members under 5
minutes with progress shown throughout.  Wall times are medians of ``--repeat`` alternating runs.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = "import pandas, matplotlib, statsmodels.api, lifelines"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


CPU: dict[int, float] = {}  # CPU seconds (user + system) of the last run, in CPU[0]


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _time(cmd: list[str], *, show: bool = False) -> float:
    """Wall seconds of ``cmd``; its CPU seconds (user + system) go to ``CPU[0]``."""
    c0 = _cpu_children()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=not show, text=True, env=_env())
    wall = time.perf_counter() - t0
    CPU[0] = _cpu_children() - c0
    if proc.returncode != 0:
        print(proc.stdout or "", proc.stderr or "", file=sys.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return wall


def _report(data: Path, out: Path, *extra: str, show: bool = False) -> list[str]:
    return [sys.executable, "-m", "groupeval", "report", str(data), "--out", str(out), *extra,
            *([] if show else ["--quiet"])]


def _median(runs: list[float]) -> float:
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="floor and the sample only")
    ap.add_argument("--members", type=int, default=10_000, help="size of the large programme (default 10 000)")
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs per measurement (default 3)")
    args = ap.parse_args()
    print(f"groupeval report benchmark (python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f})")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        tmp_path = Path(tmp)
        sample = ROOT / "data" / "sample"
        if not any(sample.glob("*")):
            from groupeval.sample import write_sample

            sample = write_sample(tmp_path / "sample", seed=2025)
        floor, html, full = [], [], []
        cpu: dict[str, list[float]] = {"floor": [], "html": [], "full": []}
        for k in range(args.repeat):  # alternate, so a busy moment hits all three alike
            floor.append(_time([sys.executable, "-c", FLOOR]))
            cpu["floor"].append(CPU[0])
            html.append(_time(_report(sample, tmp_path / f"s{k}" / "report.html")))
            cpu["html"].append(CPU[0])
            full.append(_time(_report(sample, tmp_path / f"f{k}" / "report.html", "--pdf", "--docx")))
            cpu["full"].append(CPU[0])
        f, h, x = _median(floor), _median(html), _median(full)
        cf, ch, cx = (_median(cpu[k]) for k in ("floor", "html", "full"))
        print(f"import floor ({FLOOR}): {f:6.2f} s wall, {cf:6.2f} s CPU")
        print(f"sample report, HTML + tables:      {h:6.2f} s wall = {h / f:4.2f} x floor; {ch:6.2f} s CPU = "
              f"{ch / cf:4.2f} x floor  [goal <= 2x and < 10 s: {'OK' if h <= 2 * f and h < 10 else 'NOT MET'}]")
        print(f"  + --pdf --docx:                  {x:6.2f} s wall (adds {x - h:5.2f} s); {cx:6.2f} s CPU (adds "
              f"{cx - ch:5.2f} s; Chromium's own CPU included) [goal < 5 s: {'OK' if x - h < 5 else 'NOT MET'}]")
        fu = _time(_report(sample, tmp_path / "funder" / "report.html", "--audience", "funder"))
        print(f"sample report, --audience funder:  {fu:6.2f} s  = {fu / f:4.2f} x floor")
        if args.quick:
            return
        from groupeval.sample import generate, write_programme

        t0 = time.perf_counter()
        ds = generate(2025, n_members=args.members)
        big = write_programme(ds, tmp_path / "big")
        t_write = time.perf_counter() - t0
        n_att = len(ds.attendance)
        del ds
        goal = 30.0 if args.members <= 10_000 else 300.0
        print(f"{args.members:,} members ({n_att:,} attendance rows; generating + writing the files {t_write:.1f} s, "
              "not counted); progress as the command prints it:")
        wall = _time(_report(big, tmp_path / "big" / "report.html", show=True), show=True)
        print(f"{args.members:,} members: groupeval report {wall:6.1f} s  = {wall / f:5.1f} x floor  "
              f"[goal < {goal:.0f} s: {'OK' if wall < goal else 'NOT MET'}]")


if __name__ == "__main__":
    main()
