"""Write cr2_sample_input.csv: the shipped sample's BRS baseline -> week_26 ANCOVA frame.

Run from the repository root:
    PYTHONPATH=src python tests/reference/cr2_sample_input.py

The rows are those ``groupeval.compare_groups(brs, ds, pre="baseline", post="week_26",
by="group_type")`` fits (members with both scores and a group type), with columns
post, pre, group_type, group_id.  cr2_clubsandwich.R reads this file.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import groupeval as ge
from groupeval._stats import attach_columns, paired_frame

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.load(ROOT / "data" / "sample")
        brs = ge.score(ds.responses, "brs")
    sc = attach_columns(brs, ["group_id", "group_type"], ds, subject="member_id", group="group_id")
    wide, _ = paired_frame(sc, "baseline", "week_26", dv="score", keep=["group_id", "group_type"])
    d = wide.loc[wide["pre"].notna() & wide["post"].notna() & wide["group_type"].notna()]
    d = d[["post", "pre", "group_type", "group_id"]].reset_index(drop=True)
    d.to_csv(HERE / "cr2_sample_input.csv", index=False, float_format="%.17g")
    print(f"wrote {len(d)} rows, {d['group_id'].nunique()} groups")


if __name__ == "__main__":
    main()
