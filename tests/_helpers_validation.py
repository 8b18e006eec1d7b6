"""A small hand-made programme for the validation / load tests.

Every table is a DataFrame of *text* cells (as a user's CSV holds them), so a
test can break one cell and write the folder with :func:`write`.  The
expected canonical tables are known by hand: 2 groups, 3 members, 12
sessions (one cancelled), 14 attendance rows, 4 survey rows.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

TODAY = "2025-06-01"
G1_DATES = ["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27", "2025-02-03", "2025-02-10"]  # Mondays
G2_DATES = ["2025-01-08", "2025-01-15", "2025-01-22", "2025-01-29", "2025-02-05", "2025-02-12"]  # Wednesdays
CANCELLED = ("G1", "2025-01-27")


def base_programme() -> dict[str, pd.DataFrame]:
    groups = pd.DataFrame({"group_id": ["G1", "G2"], "group_type": ["12-step", "cancer survivors"],
                           "facilitation": ["peer", "co-facilitated"], "site": ["North", "South"]})
    members = pd.DataFrame({
        "member_id": ["M01", "M02", "M03"], "group_id": ["G1", "G1", "G2"],
        "enrolled_on": ["2025-01-06", "2025-01-13", "2025-01-08"],
        "exited_on": ["", "2025-02-03", ""], "exit_reason": ["", "dropped", ""],
        "age_band": ["30-44", "18-29", "45-64"]})
    sessions = pd.DataFrame({
        "group_id": ["G1"] * 6 + ["G2"] * 6, "session_date": G1_DATES + G2_DATES,
        "cancelled": ["TRUE" if d == CANCELLED[1] else "FALSE" for d in G1_DATES] + ["FALSE"] * 6})
    g1_open = [d for d in G1_DATES if d != CANCELLED[1]]
    att = []
    for d, st in zip(g1_open, ["present", "present", "absent", "late", "present"]):
        att.append(("M01", "G1", d, st))
    for d, st in zip(["2025-01-13", "2025-01-20", "2025-02-03"], ["present", "absent", "absent"]):
        att.append(("M02", "G1", d, st))
    for d, st in zip(G2_DATES, ["present", "excused", "present", "present", "absent", "present"]):
        att.append(("M03", "G2", d, st))
    attendance = pd.DataFrame(att, columns=["member_id", "group_id", "session_date", "status"])
    surveys = pd.DataFrame({
        "member_id": ["M01", "M02", "M03", "M01"], "timepoint": ["baseline", "baseline", "baseline", "week_12"],
        "completed_on": ["2025-01-06", "2025-01-13", "2025-01-08", "2025-03-31"],
        **{f"phq9_{i}": [str((i + k) % 4) for k in range(4)] for i in range(1, 10)}})
    return {"groups": groups, "members": members, "sessions": sessions, "attendance": attendance,
            "surveys": surveys}


def write(folder: Path, prog: dict[str, pd.DataFrame], toml: str | None = None) -> Path:
    """Write the programme as CSV files (one per table) and optionally a groupeval.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in prog.items():
        if df is not None:
            df.to_csv(folder / f"{name}.csv", index=False)
    if toml is not None:
        (folder / "groupeval.toml").write_text(toml, encoding="utf-8")
    return folder


def row_of(df: pd.DataFrame, **match) -> int:
    """Spreadsheet row (header = 1) of the first row matching ``match``."""
    mask = pd.Series(True, index=df.index)
    for k, v in match.items():
        mask &= df[k] == v
    return int(mask.to_numpy().nonzero()[0][0]) + 2
