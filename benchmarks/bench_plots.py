"""Time the figures and sentences of the reporting layer.

    python benchmarks/bench_plots.py            # sample size and a 10 000-member programme
    python benchmarks/bench_plots.py --quick    # sample size only

Prints, per programme size, the wall time of building each figure (drawing
+ saving a 150-dpi PNG) and of writing every sentence and the methods
paragraph, plus the peak resident memory of the process.  The statistics are
computed once beforehand and not timed here (see the other benchmarks).
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import groupeval as ge  # noqa: E402
from groupeval import narrative as N  # noqa: E402
from groupeval import plotting as P  # noqa: E402
from groupeval import sample  # noqa: E402


def _time(label: str, fn, out: Path, rows: list) -> None:
    t0 = time.perf_counter()
    ax = fn()
    if ax is not None and hasattr(ax, "figure"):
        ax.figure.savefig(out / f"{label}.png", dpi=150)
        plt.close(ax.figure)
    rows.append((label, time.perf_counter() - t0))


def run(n_members: int | None, seed: int = 1) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        kw = {} if n_members is None else {"n_members": n_members}
        ds = sample.generate(seed=seed, **kw)
        scores = ge.score(ds.responses, "phq9")
        eng = ge.attendance_summary(ds)
        ret = ge.retention(ds, by="group_type")
        ret1 = ge.retention(ds)
        ch = ge.change(scores, "baseline", "week_26", by="group_type", data=ds, instrument="phq9")
        ch1 = ge.change(scores, "baseline", "week_26", instrument="phq9")
        rc = ge.reliable_change(scores, "phq9", "baseline", "week_26")
        dr = ge.dose_response(scores, eng, data=ds, itt=False)
        flow = ge.participant_flow(ds)
        coh = ge.cohort_table(ds)
        prep = time.perf_counter() - t0
    n = len(ds.members)
    print(f"\n== {n:,} members, {len(ds.attendance):,} attendance rows (statistics prepared in {prep:.1f} s)")
    rows: list[tuple[str, float]] = []
    group = str(ds.groups["group_id"].iloc[0])
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = Path(tmp)
        _time("plot_retention", lambda: ret.plot(), out, rows)
        _time("plot_attendance_heatmap", lambda: P.plot_attendance_heatmap(ds, group), out, rows)
        _time("plot_cohort_heatmap", lambda: P.plot_cohort_heatmap(coh), out, rows)
        _time("plot_reliable_change", lambda: rc.plot(), out, rows)
        _time("plot_forest", lambda: P.plot_forest(ch), out, rows)
        _time("plot_dose_response", lambda: dr.plot(), out, rows)
        _time("plot_flow", lambda: P.plot_flow(flow), out, rows)
        t0 = time.perf_counter()
        texts = [N.change_sentence(ch1, instrument="phq9"), *N.change_sentences(ch, instrument="phq9"),
                 N.retention_sentence(ret1), *[N.retention_sentence(ret, level=lv) for lv in ret.levels],
                 N.reliable_change_sentence(rc), N.attendance_sentence(eng), N.dose_response_sentence(dr),
                 N.methods_paragraph(instruments=["phq9"], retention=ret, change=ch, reliable_change=rc)]
        rows.append((f"narrative ({len(texts)} texts)", time.perf_counter() - t0))
    for label, secs in rows:
        print(f"  {label:<28s} {secs:7.3f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {'total':<28s} {sum(s for _, s in rows):7.3f} s; peak process RSS so far {peak:.0f} MiB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="sample size only")
    args = ap.parse_args(argv)
    run(None)
    if not args.quick:
        run(10_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
