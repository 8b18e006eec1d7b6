"""Benchmark: ``groupeval.load`` on a 100 000-member programme vs ``pyarrow.csv.read_csv``.

Writes a synthetic programme (groups.csv, members.csv, sessions.csv and a long
roster attendance.csv of ~1.5 million rows) with numpy + pyarrow, then times,
in the same run and each in a fresh subprocess (so peak memory is measured per
task with ``resource.getrusage``), interleaved ``--repeat`` times:

* baseline: ``pyarrow.csv.read_csv("attendance.csv")``
* ``groupeval.io.read_attendance("attendance.csv")`` (the reader alone)
* ``groupeval.load(folder)`` (read every file + validate: the full cost)

Each task's imports happen before the clock starts (for all three alike); the
call is timed in wall-clock time and in CPU time of the whole process (all
threads: pyarrow parses on several), and the best of the repeats is reported.
On a shared machine the CPU ratio is the steadier figure.

Run: ``python benchmarks/bench_load.py [--members 100000] [--repeat 3] [--keep DIR]``.
Goal (issue 2): load <= 3x the baseline, peak memory < 1 GiB.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_programme(folder: Path, n_members: int = 100_000, seed: int = 1) -> dict:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    n_groups = max(n_members // 20, 1)
    weeks = 26
    start = np.datetime64("2024-01-01") + rng.integers(0, 180, n_groups)          # group start (a Monday-ish)
    gid = np.char.add("G", np.char.zfill(np.arange(n_groups).astype(str), 5))
    types = np.array(["12-step", "cancer survivors", "postpartum depression", "mental-health recovery"])
    pacsv.write_csv(pa.table({"group_id": gid, "group_type": types[np.arange(n_groups) % 4],
                              "facilitation": np.where(np.arange(n_groups) % 2, "peer", "co-facilitated"),
                              "start_date": start.astype("datetime64[D]")}), folder / "groups.csv")
    # sessions: weekly, a few cancelled
    s_g = np.repeat(np.arange(n_groups), weeks)
    s_w = np.tile(np.arange(weeks), n_groups)
    s_date = start[s_g] + 7 * s_w
    cancelled = rng.random(len(s_g)) < 0.02
    pacsv.write_csv(pa.table({"group_id": gid[s_g], "session_date": s_date.astype("datetime64[D]"),
                              "cancelled": cancelled}), folder / "sessions.csv")
    # members: enrol in the first 12 weeks, almost half leave early
    m_g = rng.integers(0, n_groups, n_members)
    join_w = rng.integers(0, 12, n_members)
    stay = np.where(rng.random(n_members) < 0.45, rng.integers(1, 18, n_members), weeks)
    last_w = np.minimum(join_w + stay, weeks) - 1
    exited = np.where(last_w < weeks - 1, start[m_g] + 7 * last_w, np.datetime64("NaT"))
    mid = np.char.add("M", np.char.zfill(np.arange(n_members).astype(str), 6))
    pacsv.write_csv(pa.table({
        "member_id": mid, "group_id": gid[m_g], "enrolled_on": (start[m_g] + 7 * join_w).astype("datetime64[D]"),
        "exited_on": pa.array(exited.astype("datetime64[D]"), mask=np.isnat(exited)),
        "exit_reason": pa.array(np.where(np.isnat(exited), None, "dropped")),
        "age_band": rng.choice(["18-29", "30-44", "45-64", "65+"], n_members)}), folder / "members.csv")
    # attendance: one row per member x non-cancelled session within enrolment
    n_s = last_w - join_w + 1
    rep = np.repeat(np.arange(n_members), n_s)
    week = join_w[rep] + (np.arange(n_s.sum()) - np.repeat(np.cumsum(n_s) - n_s, n_s))
    sess_idx = m_g[rep] * weeks + week
    keep = ~cancelled[sess_idx]
    rep, week = rep[keep], week[keep]
    status = rng.choice(np.array(["present", "absent", "excused", "late"]), len(rep), p=[0.62, 0.25, 0.05, 0.08])
    pacsv.write_csv(pa.table({"member_id": mid[rep], "group_id": gid[m_g[rep]],
                              "session_date": (start[m_g[rep]] + 7 * week).astype("datetime64[D]"),
                              "status": status}), folder / "attendance.csv")
    return {"members": n_members, "groups": n_groups, "sessions": len(s_g), "attendance_rows": int(len(rep)),
            "attendance_mb": round((folder / "attendance.csv").stat().st_size / 2**20, 1)}


_CHILD = r"""
import json, resource, sys, time, warnings
task, folder = sys.argv[1], sys.argv[2]
# imports first, outside the timing (a user has them imported already); the timed call
# itself is measured in wall time and in CPU time of the whole process (all threads)
if task == "arrow":
    import pyarrow.csv as pacsv
    def call():
        return pacsv.read_csv(folder + "/attendance.csv").num_rows
elif task == "reader":
    from groupeval.io import read_attendance
    import pyarrow.csv
    def call():
        return len(read_attendance(folder + "/attendance.csv"))
else:
    import groupeval
    import groupeval.io  # the readers load() imports on first use: module import time is not load's work
    from groupeval.validation.load import load
    import pyarrow.csv
    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return len(load(folder, today="2030-01-01").attendance)
c0, t0 = time.process_time(), time.perf_counter()
n = call()
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
print(json.dumps({"task": task, "seconds": dt, "cpu": cpu, "rows": n, "peak_mib": peak}))
"""


def run(task: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, task, str(folder)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", help="write the programme here (and reuse it if present)")
    args = ap.parse_args(argv)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="groupeval-bench-"))
    t0 = time.perf_counter()
    if not (folder / "attendance.csv").exists():
        info = write_programme(folder, args.members)
        print(f"wrote {info} to {folder} in {time.perf_counter() - t0:.1f} s")
    runs: dict[str, list[dict]] = {"arrow": [], "reader": [], "load": []}
    for _ in range(args.repeat):  # interleaved, so a busy machine slows all three alike
        for task in runs:
            runs[task].append(run(task, folder))
    best = {t: {"wall": min(r["seconds"] for r in rs), "cpu": min(r["cpu"] for r in rs),
                "peak": max(r["peak_mib"] for r in rs), "rows": rs[0]["rows"]} for t, rs in runs.items()}
    label = {"arrow": "pyarrow.csv.read_csv(attendance.csv)", "reader": "groupeval.io.read_attendance alone",
             "load": "groupeval.load(folder) (read + validate)"}
    print(f"best of {args.repeat} fresh processes each (imports outside the timing; cpu = all threads):")
    for t, b in best.items():
        print(f"  {label[t]:42s} wall {b['wall']:6.3f} s  cpu {b['cpu']:6.3f} s  "
              f"rows {b['rows']:>9,}  peak RSS {b['peak']:5.0f} MiB")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    a, r, g = best["arrow"], best["reader"], best["load"]
    print(f"ratio read_attendance / read_csv: {r['wall'] / a['wall']:.2f}x wall, {r['cpu'] / a['cpu']:.2f}x cpu")
    print(f"ratio load / read_csv:            {g['wall'] / a['wall']:.2f}x wall, {g['cpu'] / a['cpu']:.2f}x cpu"
          f"   (goal <= 3x)")
    print(f"peak memory of load: {g['peak']:.0f} MiB   (goal < 1024 MiB)")


if __name__ == "__main__":
    main()
