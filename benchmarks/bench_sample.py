"""Benchmark of the sample generator and writer.

Run: ``python benchmarks/bench_sample.py``.  Each case runs in a fresh
subprocess and prints its wall time and the subprocess's peak resident
memory (``resource.getrusage``, includes the ~150 MiB of imported libraries):

* ``generate()`` at the default size, 10 000 and 100 000 members;
* ``write_programme`` (wide attendance workbook + REDCap export + TOML) of the
  default sample and of a 10 000-member programme.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CASE = textwrap.dedent("""
    import json, resource, sys, tempfile, time
    from groupeval import sample
    kind, n = sys.argv[1], (int(sys.argv[2]) or None)
    if kind == "generate":
        t0 = time.perf_counter()
        ds = sample.generate(seed=1, n_members=n)
        dt = time.perf_counter() - t0
    else:
        ds = sample.generate(seed=1, n_members=n)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            sample.write_programme(ds, tmp)
            dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": dt, "peak_rss_mib": rss, "members": len(ds.members),
                      "attendance": len(ds.attendance), "responses": len(ds.responses)}))
""")


def run(kind: str, n: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CASE, kind, str(n)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    print("groupeval.sample benchmark (each case in a fresh process)")
    print(f"{'case':<34}{'seconds':>9}{'peak RSS MiB':>14}{'members':>10}{'attendance':>12}{'responses':>11}")
    for kind, n in [("generate", 0), ("generate", 10_000), ("generate", 100_000), ("write", 0), ("write", 10_000)]:
        r = run(kind, n)
        label = f"{'generate' if kind == 'generate' else 'write_programme'}({'default' if not n else f'{n:,}'})"
        print(f"{label:<34}{r['seconds']:>9.2f}{r['peak_rss_mib']:>14.0f}{r['members']:>10,}"
              f"{r['attendance']:>12,}{r['responses']:>11,}")


if __name__ == "__main__":
    main()
