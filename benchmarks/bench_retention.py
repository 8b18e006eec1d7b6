"""Benchmark: attendance_summary + retention on 1 million members (~15 M attendance rows).

Run:  python benchmarks/bench_retention.py [--members 1000000] [--ids category|string]

Builds canonical frames directly with numpy (weekly groups of ~20, rolling
enrolment, ~5 % cancelled sessions, geometric dropout, present/absent/
excused/late marks), writes them to Parquet in a temp folder, then times in
separate subprocesses (so each peak RSS is its own):

1. groupeval: ``attendance_summary(ds)`` + ``retention(ds)``;
2. a hand-written DuckDB query computing the same per-member figures
   (sessions offered / attended, first / last attended, the 3-consecutive-
   misses dropout date, excused absences skipped) on the same frames.

Prints seconds and peak resident memory (ru_maxrss) for both, and the
ratio.  Targets (issue 4): groupeval < 30 s, < 4 GiB, <= 2x DuckDB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make(n_members: int, seed: int = 1, ids: str = "category") -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    weeks = 26
    per_group = 20
    n_groups = max(1, n_members // per_group)
    start = np.datetime64("2025-01-06", "D")
    g_start = start + rng.integers(0, 7, n_groups).astype("timedelta64[D]")
    # sessions
    sg = np.repeat(np.arange(n_groups), weeks)
    sw = np.tile(np.arange(weeks), n_groups)
    sdate = g_start[sg] + (7 * sw).astype("timedelta64[D]")
    canc = (rng.random(len(sg)) < 0.05) & (sw > 0)
    # members
    mg = np.arange(n_members) % n_groups
    late = rng.random(n_members) < 0.1
    w0 = np.where(late, 0, rng.integers(0, 12, n_members))
    enr = g_start[mg] + (7 * w0 - np.where(late, rng.integers(1, 60, n_members), 0)).astype("timedelta64[D]")
    stay = rng.geometric(0.05, n_members)
    leave = w0 + stay                                   # stops attending from this week
    has_exit = (rng.random(n_members) < 0.3) & (leave < weeks)
    exit_w = np.minimum(leave, weeks - 1)
    exited = np.where(has_exit, g_start[mg] + (7 * exit_w).astype("timedelta64[D]"), np.datetime64("NaT"))
    reason = np.where(has_exit, np.where(rng.random(n_members) < 0.5, "dropped", "moved"), None)
    # attendance: each member x non-cancelled session from w0 to exit (or the end)
    last_w = np.where(has_exit, exit_w, weeks - 1)
    n_rows = last_w - w0 + 1
    am = np.repeat(np.arange(n_members), n_rows)
    off = np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
    aw = np.arange(n_rows.sum()) - off + np.repeat(w0, n_rows)
    s_idx = mg[am] * weeks + aw
    ok = ~canc[s_idx]
    am, aw, s_idx = am[ok], aw[ok], s_idx[ok]
    r = rng.random(len(am))
    active = aw < leave[am]
    present = active & (r < 0.72)
    excused = ~present & (r < 0.76)
    status = np.where(present, np.where(r < 0.68, "present", "late"), np.where(excused, "excused", "absent"))
    mid_labels = np.char.add("M", np.arange(n_members).astype("U8"))
    gid_labels = np.char.add("G", np.arange(n_groups).astype("U6"))

    def idcol(labels, codes):
        cat = pd.Categorical.from_codes(codes, categories=pd.Index(labels, dtype=object))
        return cat if ids == "category" else pd.array(cat.astype(str), dtype="string[pyarrow]")

    groups = pd.DataFrame({"group_id": gid_labels.astype(object),
                           "group_type": np.array(["12-step", "cancer survivors", "postpartum depression",
                                                   "mental-health recovery"], dtype=object)[np.arange(n_groups) % 4],
                           "facilitation": np.where(np.arange(n_groups) % 3, "peer", "co-facilitated").astype(object)})
    sessions = pd.DataFrame({"group_id": idcol(gid_labels, sg), "session_date": sdate.astype("datetime64[ns]"),
                             "cancelled": canc})
    members = pd.DataFrame({"member_id": mid_labels.astype(object), "group_id": idcol(gid_labels, mg),
                            "enrolled_on": enr.astype("datetime64[ns]"), "exited_on": exited.astype("datetime64[ns]"),
                            "exit_reason": pd.Categorical(reason, categories=["completed", "dropped", "moved",
                                                                              "other"])})
    attendance = pd.DataFrame({"member_id": idcol(mid_labels, am), "group_id": idcol(gid_labels, mg[am]),
                               "session_date": sdate[s_idx].astype("datetime64[ns]"), "attended": present,
                               "status": pd.Categorical(status, categories=["present", "absent", "excused", "late"])})
    return {"groups": groups, "members": members, "sessions": sessions, "attendance": attendance}


DUCKDB_SQL = """
WITH cut AS (SELECT max(session_date) AS c FROM sessions),
held AS (SELECT group_id::VARCHAR AS group_id, session_date FROM sessions WHERE NOT cancelled),
mem AS (SELECT member_id::VARCHAR AS member_id, group_id::VARCHAR AS group_id, enrolled_on,
               CASE WHEN exited_on <= (SELECT c FROM cut) THEN exited_on ELSE (SELECT c FROM cut) END AS end_on
        FROM members),
sched AS (SELECT m.member_id, m.group_id, h.session_date
          FROM mem m JOIN held h ON h.group_id = m.group_id
           AND h.session_date >= m.enrolled_on AND h.session_date <= m.end_on),
att AS (SELECT member_id::VARCHAR AS member_id, group_id::VARCHAR AS group_id, session_date, attended,
               (status::VARCHAR = 'excused' AND NOT attended) AS excused FROM attendance),
marks AS (SELECT s.member_id, s.session_date, coalesce(a.attended, false) AS att, coalesce(a.excused, false) AS exc
          FROM sched s LEFT JOIN att a USING (member_id, group_id, session_date)),
kept AS (SELECT * FROM marks WHERE NOT exc),
runs AS (SELECT *, sum(att::INT) OVER (PARTITION BY member_id ORDER BY session_date
                                       ROWS UNBOUNDED PRECEDING) AS n_att_so_far FROM kept),
runs2 AS (SELECT *, row_number() OVER (PARTITION BY member_id, n_att_so_far ORDER BY session_date) - 1 AS missed_run
          FROM runs)
SELECT member_id,
       count(*) AS sessions_offered,
       sum(att::INT) AS sessions_attended,
       sum(att::INT) / count(*) AS attendance_rate,
       min(session_date) FILTER (WHERE att) AS first_attended,
       max(session_date) FILTER (WHERE att) AS last_attended,
       min(session_date) FILTER (WHERE NOT att AND n_att_so_far > 0 AND missed_run = 3) AS dropped_on
FROM runs2 GROUP BY member_id
"""


def _rss_now() -> float:
    """Current resident set size in GiB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def _child(kind: str, folder: str) -> None:
    tables = {n: pd.read_parquet(Path(folder) / f"{n}.parquet") for n in ("groups", "members", "sessions",
                                                                           "attendance")}
    rss0 = _rss_now()
    if kind == "groupeval":
        import warnings

        ti = time.perf_counter()
        import lifelines  # noqa: F401  (import cost reported separately: ~2-4 s, once per process)

        import groupeval as ge
        from groupeval.base.dataset import Dataset

        import_s = time.perf_counter() - ti

        ds = Dataset(groups=tables["groups"], members=tables["members"], sessions=tables["sessions"],
                     attendance=tables["attendance"], responses=pd.DataFrame({"member_id": [], "timepoint": []}))
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            summ = ge.attendance_summary(ds)
            t1 = time.perf_counter()
            res = ge.retention(ds)
        t2 = time.perf_counter()
        out = {"seconds": t2 - t0, "attendance_summary_s": t1 - t0, "retention_s": t2 - t1, "import_s": import_s,
               "rows": int(len(summ)), "dropped": int((summ["status"] == "dropped").sum()),
               "retention_26w": float(res.summary["retention_26w"].iloc[0])}
    else:
        import duckdb

        con = duckdb.connect()
        con.execute("PRAGMA threads=2")
        for n, df in tables.items():
            con.register(n, df)
        t0 = time.perf_counter()
        res = con.execute(DUCKDB_SQL).df()
        t2 = time.perf_counter()
        out = {"seconds": t2 - t0, "rows": int(len(res))}
    out["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # whole process
    out["rss_after_load_gib"] = rss0                                                   # data in memory
    out["peak_increase_gib"] = out["peak_rss_gib"] - rss0  # upper bound of the computation's extra memory
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--ids", choices=["category", "string"], default="category")
    ap.add_argument("--child", choices=["groupeval", "duckdb"])
    ap.add_argument("--folder")
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.folder)
        return
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        tables = make(a.members, ids=a.ids)
        for n, df in tables.items():
            df.to_parquet(Path(tmp) / f"{n}.parquet", index=False)
        print(f"generated {a.members:,} members, {len(tables['attendance']):,} attendance rows, "
              f"{len(tables['sessions']):,} sessions ({a.ids} ids) in {time.perf_counter() - t:.1f} s")
        del tables
        results = {}
        for kind in ("groupeval", "duckdb"):
            p = subprocess.run([sys.executable, __file__, "--child", kind, "--folder", tmp],
                               capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
            if p.returncode:
                print(p.stderr)
                raise SystemExit(p.returncode)
            results[kind] = json.loads(p.stdout.strip().splitlines()[-1])
            print(f"{kind:10s}: {json.dumps(results[kind])}")
        ratio = results["groupeval"]["seconds"] / results["duckdb"]["seconds"]
        print(f"groupeval attendance_summary + retention: {results['groupeval']['seconds']:.2f} s, "
              f"peak RSS {results['groupeval']['peak_rss_gib']:.2f} GiB; DuckDB per-member query: "
              f"{results['duckdb']['seconds']:.2f} s, peak RSS {results['duckdb']['peak_rss_gib']:.2f} GiB; "
              f"ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
