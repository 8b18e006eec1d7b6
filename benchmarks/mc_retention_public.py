"""Monte Carlo, end to end: calibration of the public ``groupeval.retention()`` (and ``cox_model()``) defaults.

Where ``benchmarks/mc_retention_inference.py`` calls the estimators on arrays,
this script simulates whole programmes as a :class:`groupeval.Dataset`
(groups, members, weekly sessions, member x session attendance, completion
exits) and runs the public functions as a user would:
``ge.retention(ds, by="group_type")``, ``ge.retention(ds)`` and
``ge.cox_model(ds, covariates=("group_type",))``, with the default dropout
rule (3 missed sessions in a row).  Old method beside new:

* comparison of the two group types: the member-level log-rank test
  (``result.logrank``, what ``retention()`` reported before) and the default
  clustered comparison (``result.test``: robust score test clustered by group;
  no test below 6 groups, counted as "no rejection");
* the Cox group-type coefficient: Lin-Wei robust SE with a normal reference
  (``se_lin_wei``, the old default) and the default (Mancl-DeRouen, t on G - p);
* coverage of the 95 % interval of retention at 26 weeks, overall and per
  group type: Greenwood (``retention_26w_ci_low/high``) and the group-clustered
  interval (``retention_26w_ci_low_cluster/high_cluster``, t on G - 1).

Simulation (as mc_retention_inference.py, in calendar weeks): G groups of 8-16
members, two group types assigned to half the groups each, a gamma group
frailty (variance ``--theta``) on a weekly leaving hazard of 0.03 (type hazard
ratio ``--hr``), rolling enrolment over 40 weeks, members attend every weekly
session until they leave (the last attended session is floor(T) weeks after
enrolment) or complete the 30-week programme (exit ``completed`` at week 30),
and half of the groups are first recorded 4-12 weeks after they started
(members enrolled before are left-truncated; those who left before are never
seen attending).  The data cut-off (week 75) comes after every member has
completed or missed 3 sessions, so the dropout rule sees every dropout and the
true S(26) = E_Z exp(-27 lambda Z) holds exactly for the pipeline's event time.

Run (about 15 minutes with the defaults, 500 programmes x 4 numbers of groups, on the shared 2-core machine)::

    PYTHONPATH=src python benchmarks/mc_retention_public.py
    PYTHONPATH=src python benchmarks/mc_retention_public.py --reps 300 --hr 2     # power
    PYTHONPATH=src python benchmarks/mc_retention_public.py --theta 0             # no clustering
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import groupeval as ge  # noqa: E402
from groupeval.base.dataset import Dataset  # noqa: E402
from mc_retention_inference import LAMBDA0, true_retention  # noqa: E402

START = pd.Timestamp("2024-01-01")
PROGRAMME_WEEKS = 30
CUTOFF_WEEK = 75
TYPES = np.array(["drop-in", "structured"])


def simulate_dataset(rng: np.random.Generator, G: int, theta: float, hr: float) -> Dataset:
    """One programme as canonical tables (vectorised: no loop over members or sessions)."""
    types = rng.permutation(np.arange(G) % 2)
    size = rng.integers(8, 17, G)
    z = rng.gamma(1 / theta, theta, G) if theta > 0 else np.ones(G)
    window = np.where(rng.random(G) < 0.5, rng.integers(4, 13, G), 0)      # first recorded session (calendar)
    g = np.repeat(np.arange(G), size)
    n = len(g)
    enrol = np.round(rng.uniform(0, 40, n)).astype(np.int64)
    t_drop = np.floor(rng.exponential(1 / (LAMBDA0 * z[g] * hr ** types[g]))).astype(np.int64)
    completes = t_drop >= PROGRAMME_WEEKS
    last_attended = np.where(completes, PROGRAMME_WEEKS - 1, t_drop)          # offset from enrolment
    # attendance rows: every recorded session of the member's group from enrolment to exit / cut-off
    first = np.maximum(enrol, window[g])
    last = np.where(completes, enrol + PROGRAMME_WEEKS - 1, CUTOFF_WEEK)
    n_rows = np.maximum(last - first + 1, 0)
    who = np.repeat(np.arange(n), n_rows)
    week = first[who] + (np.arange(n_rows.sum()) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows))
    gid = np.char.add("G", np.char.zfill(np.arange(G).astype(str), 2))
    mid = np.char.add("M", np.char.zfill(np.arange(n).astype(str), 4))
    date = START + pd.to_timedelta(7 * week, unit="D")
    attendance = pd.DataFrame({"member_id": mid[who], "group_id": gid[g][who], "session_date": date,
                               "attended": (week - enrol[who]) <= last_attended[who]})
    s_g = np.repeat(np.arange(G), CUTOFF_WEEK - window + 1)
    s_w = window[s_g] + (np.arange(len(s_g)) - np.repeat(np.cumsum(CUTOFF_WEEK - window + 1)
                                                         - (CUTOFF_WEEK - window + 1), CUTOFF_WEEK - window + 1))
    sessions = pd.DataFrame({"group_id": gid[s_g], "session_date": START + pd.to_timedelta(7 * s_w, unit="D"),
                             "cancelled": False})
    exited = pd.Series(START + pd.to_timedelta(7 * (enrol + PROGRAMME_WEEKS), unit="D")).where(completes)
    members = pd.DataFrame({"member_id": mid, "group_id": gid[g],
                            "enrolled_on": START + pd.to_timedelta(7 * enrol, unit="D"),
                            "exited_on": exited.astype("datetime64[ns]"),
                            "exit_reason": pd.Series(["completed"] * n, dtype=object).where(completes, None)})
    groups = pd.DataFrame({"group_id": gid, "group_type": TYPES[types], "facilitation": "peer"})
    responses = pd.DataFrame({"member_id": pd.Series(dtype=object), "timepoint": pd.Series(dtype=object)})
    return Dataset(groups=groups, members=members, sessions=sessions, attendance=attendance, responses=responses,
                   cutoff=START + pd.Timedelta(weeks=CUTOFF_WEEK))


def _s26(theta: float, rate_mult: float) -> float:
    """True S(26) of one group type: P(floor(T) > 26) = E_Z exp(-27 lambda Z) under the gamma frailty."""
    s = 27 * LAMBDA0 * rate_mult
    return float(np.exp(-s)) if theta == 0 else float((1 + theta * s) ** (-1 / theta))


def _covers(lo: float, hi: float, truth: float) -> float:
    return float(lo <= truth <= hi) if np.isfinite(lo) and np.isfinite(hi) else 0.0


def one_rep(ds: Dataset, truth_overall: float, truth_type: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    by = ge.retention(ds, by="group_type", times=(26,))
    overall = ge.retention(ds, times=(26,))
    t = by.test.iloc[0]
    out["valid_test"] = float(bool(t["valid"]))
    out["rej_test"] = float(bool(t["valid"]) and t["p_value"] < 0.05)
    out["rej_logrank"] = float(by.logrank["p_value"].iloc[0] < 0.05)
    cox = ge.cox_model(ds, covariates=("group_type",)).summary.iloc[0]
    out["rej_cox_default"] = float(np.isfinite(cox["p_value"]) and cox["p_value"] < 0.05)
    out["rej_cox_lin_wei"] = float(abs(cox["coef"] / cox["se_lin_wei"]) > 1.959963984540054)
    s = overall.summary.iloc[0]
    out["cov_greenwood"] = _covers(s["retention_26w_ci_low"], s["retention_26w_ci_high"], truth_overall)
    out["cov_cluster"] = _covers(s["retention_26w_ci_low_cluster"], s["retention_26w_ci_high_cluster"],
                                 truth_overall)
    out["est_s26"] = float(s["retention_26w"])
    bs = by.summary
    truths = bs["group_type"].map(truth_type).to_numpy(float)
    out["cov_type_greenwood"] = float(np.mean([_covers(a, b, c) for a, b, c in
                                               zip(bs["retention_26w_ci_low"], bs["retention_26w_ci_high"], truths)]))
    out["cov_type_cluster"] = float(np.mean([_covers(a, b, c) for a, b, c in
                                             zip(bs["retention_26w_ci_low_cluster"],
                                                 bs["retention_26w_ci_high_cluster"], truths)]))
    out["n_members"] = float(s["n"])
    return out


ROWS = [("rej_logrank", "log-rank, member-level (old `.logrank`, chi2)"),
        ("rej_test", "default comparison `.test` (robust score, clustered; none below 6 groups)"),
        ("valid_test", "share of programmes where `.test` is computed"),
        ("rej_cox_lin_wei", "Cox group type: Lin-Wei robust SE, z (old default)"),
        ("rej_cox_default", "Cox group type: default (Mancl-DeRouen, t(G-p))"),
        ("cov_greenwood", "S(26) overall, 95% CI coverage: Greenwood (old)"),
        ("cov_cluster", "S(26) overall, coverage: group-clustered (new, t(G-1))"),
        ("cov_type_greenwood", "S(26) per group type, coverage: Greenwood"),
        ("cov_type_cluster", "S(26) per group type, coverage: group-clustered")]


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=500, help="replications per number of groups (default 500)")
    ap.add_argument("--groups", default="4,6,9,12", help="numbers of groups, comma-separated")
    ap.add_argument("--theta", type=float, default=0.5, help="variance of the gamma group frailty (default 0.5)")
    ap.add_argument("--hr", type=float, default=1.0, help="true hazard ratio of the second group type (default 1)")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    cols: dict[str, pd.Series] = {}
    extra = {}
    t0 = time.perf_counter()
    for G in (int(x) for x in args.groups.split(",")):
        truth = true_retention(args.theta, G, args.hr)
        per_type = {TYPES[0]: _s26(args.theta, 1.0), TYPES[1]: _s26(args.theta, args.hr)}
        reps = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(args.reps):  # Monte Carlo replications
                reps.append(one_rep(simulate_dataset(rng, G, args.theta, args.hr), truth, per_type))
        r = pd.DataFrame(reps)
        cols[f"G = {G}"] = r.mean()
        extra[G] = (float(r["n_members"].mean()), truth, float(r["est_s26"].mean()))
    elapsed = time.perf_counter() - t0
    res = pd.DataFrame(cols)
    table = pd.DataFrame({"statistic": [lab for _, lab in ROWS]})
    for c in res.columns:
        table[c] = [res.loc[k, c] for k, _ in ROWS]
    print(f"## Public retention() / cox_model() end to end ({args.reps} programmes per column, seed {args.seed})\n")
    print(f"gamma group frailty variance theta = {args.theta}; true type hazard ratio = {args.hr}; "
          f"{elapsed:.0f} s\n")
    print("| statistic | " + " | ".join(res.columns) + " |")
    print("|---|" + "---|" * len(res.columns))
    for _, row in table.iterrows():
        print(f"| {row['statistic']} | " + " | ".join(f"{row[c]:.3f}" for c in res.columns) + " |")
    print("\n" + "; ".join(f"G = {G}: {m:.0f} members in the curve on average, true S(26) {st:.4f}, mean KM "
                           f"S(26) {s:.4f}" for G, (m, st, s) in extra.items()))
    print(f"\nMonte Carlo SE of a 5 % rejection rate: {np.sqrt(0.05 * 0.95 / args.reps):.3f}; of 95 % coverage: "
          f"{np.sqrt(0.05 * 0.95 / args.reps):.3f}.  Rejections use p < 0.05; no test counts as no rejection, an "
          "undefined CI as not covering.")
    return table


if __name__ == "__main__":
    main()
