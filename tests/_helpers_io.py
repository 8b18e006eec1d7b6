"""Writers for the io tests: canonical tables -> files in every accepted shape.

They use only the csv module, openpyxl and pyarrow (never groupeval's readers),
so reading a written file back and comparing it with the canonical table it
came from is an independent round trip.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

MARK_STYLES = {
    # style: (present, absent, excused, late) ; None = style cannot express it
    "10": ("1", "0", None, None),
    "PAEL": ("P", "A", "E", "L"),
    "YN": ("Y", "N", None, None),
    "words": ("present", "absent", "excused", "late"),
    "x": ("x", None, None, None),
    "check": ("✓", None, None, None),
    "heavy_check": ("✔", None, None, None),
}

CANON_ATT = ["member_id", "group_id", "session_date", "attended", "status"]


def canonical_attendance(seed: int = 0, n_members: int = 12, n_sessions: int = 8, statuses=("present", "absent"),
                         n_groups: int = 2, join_leave: bool = True) -> pd.DataFrame:
    """A canonical attendance table: members of a few groups, weekly sessions.

    With ``join_leave`` members join late / leave early, so wide sheets have
    cells where the member was not scheduled.
    """
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2025-01-06")
    for m in range(n_members):
        g = f"G{m % n_groups + 1:02d}"
        first = int(rng.integers(0, 3)) if join_leave else 0
        last = n_sessions - int(rng.integers(0, 3)) if join_leave else n_sessions
        for s in range(first, last):
            st = statuses[int(rng.integers(0, len(statuses)))]
            rows.append((f"M{m + 1:04d}", g, start + pd.Timedelta(weeks=s), st in ("present", "late"), st))
    df = pd.DataFrame(rows, columns=CANON_ATT)
    df["session_date"] = df["session_date"].astype("datetime64[ns]")
    # every session has someone present (an all-blank column of a presence-only
    # sheet is read as a session that did not take place)
    nobody = ~df.groupby(["group_id", "session_date"])["attended"].transform("any")
    first = nobody & ~df.duplicated(["group_id", "session_date"])
    df.loc[first, ["attended", "status"]] = [True, "present"]
    return df


def sort_att(df: pd.DataFrame) -> pd.DataFrame:
    out = df[CANON_ATT].copy()
    out["member_id"] = out["member_id"].astype(str)
    out["group_id"] = out["group_id"].astype(str)
    out["status"] = out["status"].astype(str)
    out["attended"] = out["attended"].astype(bool)
    return out.sort_values(["member_id", "group_id", "session_date"]).reset_index(drop=True)


def _fmt_date(d: pd.Timestamp, style: str) -> str:
    if style == "iso":
        return d.strftime("%Y-%m-%d")
    if style == "dmy":
        return d.strftime("%d/%m/%Y")
    if style == "mdy":
        return d.strftime("%m/%d/%Y")
    raise ValueError(style)


def write_csv_rows(path: Path, header: list, rows: list[list], *, encoding="utf-8", delimiter=","):
    enc = "utf-8-sig" if encoding == "utf-8-bom" else encoding
    with open(path, "w", encoding=enc, newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)


def write_roster(df: pd.DataFrame, path: Path, *, encoding="utf-8", delimiter=",", mark="status",
                 date_style="iso", extra=None):
    """A long roster; ``mark`` = "status" (words), "attended" (TRUE/FALSE) or "PAEL"."""
    header = ["Member ID", "Group", "Session date"]
    if mark == "status":
        header.append("status")
        marks = df["status"].tolist()
    elif mark == "attended":
        header.append("attended")
        marks = ["TRUE" if a else "FALSE" for a in df["attended"]]
    else:
        p, a, e, late = MARK_STYLES[mark]
        header.append("Mark")
        marks = [{"present": p, "absent": a, "excused": e, "late": late}[s] for s in df["status"]]
    rows = [[m, g, _fmt_date(d, date_style), k] for m, g, d, k in
            zip(df["member_id"], df["group_id"], df["session_date"], marks)]
    if extra is not None:
        header.append(extra[0])
        rows = [r + [v] for r, v in zip(rows, extra[1])]
    if path.suffix == ".xlsx":
        import openpyxl
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(header)
        for r in rows:
            ws.append(r)
        wb.save(path)
    elif path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        cols = list(zip(*rows)) if rows else [[] for _ in header]
        pq.write_table(pa.table({h: list(c) for h, c in zip(header, cols)}), path)
    else:
        write_csv_rows(path, header, rows, encoding=encoding, delimiter=delimiter)


def write_signin(df: pd.DataFrame, path: Path, *, delimiter=","):
    pres = df[df["attended"]]
    rows = [[m, g, d.strftime("%Y-%m-%d") + " 18:0" + str(i % 10)] for i, (m, g, d) in
            enumerate(zip(pres["member_id"], pres["group_id"], pres["session_date"]))]
    write_csv_rows(path, ["member_id", "group_id", "Date"], rows, delimiter=delimiter)


def _wide_cells(df: pd.DataFrame, style: str):
    p, a, e, late = MARK_STYLES[style]
    dates = sorted(df["session_date"].unique())
    members = sorted(df["member_id"].unique())
    cell = {}
    for m, d, s in zip(df["member_id"], df["session_date"], df["status"]):
        v = {"present": p, "absent": a, "excused": e, "late": late}[s]
        cell[(m, pd.Timestamp(d))] = v  # None for presence-only absences = blank
    return members, [pd.Timestamp(d) for d in dates], cell


def write_wide_workbook(df: pd.DataFrame, path: Path, *, style="PAEL", header="excel", title_row=False):
    """One wide sheet per group; header dates as real Excel dates or text (dmy / mdy / iso)."""
    import openpyxl
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for g, sub in df.groupby("group_id"):
        ws = wb.create_sheet(g)
        if title_row:
            ws.append([f"Attendance - group {g}"])
            ws.append([])
        members, dates, cell = _wide_cells(sub, style)
        hdr = [dt.datetime(d.year, d.month, d.day) if header == "excel" else _fmt_date(d, header) for d in dates]
        ws.append(["Member ID", "Name"] + hdr)
        for m in members:
            ws.append([m, f"person {m[-2:]}"] + [cell.get((m, d)) for d in dates])
    wb.save(path)


def write_wide_csv(df: pd.DataFrame, path: Path, *, style="10", header="iso", encoding="utf-8", delimiter=","):
    members, dates, cell = _wide_cells(df, style)
    hdr = ["member_id", "group_id"] + [_fmt_date(d, header) for d in dates]
    grp = df.groupby("member_id")["group_id"].first()
    rows = [[m, grp[m]] + [cell.get((m, d)) or "" for d in dates] for m in members]
    write_csv_rows(path, hdr, rows, encoding=encoding, delimiter=delimiter)


# ---------------------------------------------------------------------------- surveys

TIMEPOINTS = ("baseline", "week_12", "week_26")


def canonical_responses(seed: int = 0, n_members: int = 10, missing: float = 0.1) -> pd.DataFrame:
    """member x timepoint rows with PHQ-9 (0..3) and BRS (1..5) items, some unanswered."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(n_members):
        for t, tp in enumerate(TIMEPOINTS):
            if rng.random() < 0.2 and t > 0:
                continue
            rec = {"member_id": f"M{m + 1:04d}", "timepoint": tp,
                   "completed_on": pd.Timestamp("2025-01-06") + pd.Timedelta(weeks=[0, 12, 26][t])
                   + pd.Timedelta(days=int(rng.integers(0, 5)))}
            for i in range(1, 10):
                rec[f"phq9_{i}"] = np.nan if rng.random() < missing else float(rng.integers(0, 4))
            for i in range(1, 7):
                rec[f"brs_{i}"] = np.nan if rng.random() < missing else float(rng.integers(1, 6))
            rows.append(rec)
    df = pd.DataFrame(rows)
    df["completed_on"] = df["completed_on"].astype("datetime64[ns]")
    return df


ITEMS = [f"phq9_{i}" for i in range(1, 10)] + [f"brs_{i}" for i in range(1, 7)]


def sort_resp(df: pd.DataFrame) -> pd.DataFrame:
    cols = ["member_id", "timepoint", "completed_on"] + ITEMS
    out = df[cols].copy()
    out["member_id"] = out["member_id"].astype(str)
    out["timepoint"] = out["timepoint"].astype(str)
    out[ITEMS] = out[ITEMS].astype("float64")
    return out.sort_values(["member_id", "timepoint"]).reset_index(drop=True)


def _num(v):
    return "" if pd.isna(v) else str(int(v))


PHQ_CHOICES = "0, Not at all | 1, Several days | 2, More than half the days | 3, Nearly every day"
BRS_CHOICES = "1, Strongly disagree | 2, Disagree | 3, Neutral | 4, Agree | 5, Strongly agree"


def write_redcap(df: pd.DataFrame, path: Path, dict_path: Path, *, repeat_brs=True, labels=False):
    """REDCap raw export: one row per record x event (PHQ-9 form, completed_on) and, with
    ``repeat_brs``, the BRS form on a separate repeat-instrument row of the same event."""
    phq = [f"phq9_{i}" for i in range(1, 10)]
    brs = [f"brs_{i}" for i in range(1, 7)]
    header = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
              "completed_on"] + phq + ["phq9_complete"] + brs + ["brs_complete"]
    phq_lab = {str(i): lab.split(", ", 1)[1] for i, lab in enumerate(PHQ_CHOICES.split(" | "))}
    rows = []
    for rec in df.to_dict("records"):
        ev = f"{rec['timepoint']}_arm_1"
        pv = [(phq_lab[_num(rec[c])] if labels and _num(rec[c]) else _num(rec[c])) for c in phq]
        base = [rec["member_id"], ev, "", "", rec["completed_on"].strftime("%Y-%m-%d")] + pv + ["2"]
        bv = [_num(rec[c]) for c in brs]
        if repeat_brs:
            rows.append(base + [""] * 6 + [""])
            rows.append([rec["member_id"], ev, "brs", "1", ""] + [""] * 9 + [""] + bv + ["2"])
        else:
            rows.append(base + bv + ["2"])
    write_csv_rows(path, header, rows)
    dheader = ["Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
               "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
               "Text Validation Min", "Text Validation Max", "Identifier?"]
    drows = [["record_id", "intake", "", "text", "Record ID", "", "", "", "", "", ""],
             ["completed_on", "phq9", "", "text", "Date", "", "", "date_ymd", "", "", ""]]
    drows += [[c, "phq9", "", "radio", f"PHQ item {c}", PHQ_CHOICES, "", "", "", "", ""] for c in phq]
    drows += [[c, "brs", "", "radio", f"BRS item {c}", BRS_CHOICES, "", "", "", "", ""] for c in brs]
    write_csv_rows(dict_path, dheader, drows)


def write_qualtrics(df: pd.DataFrame, path: Path, *, item_names=None):
    """Qualtrics CSV export: names row, question-text row, ImportId row, then responses."""
    items = ITEMS
    names = item_names or items
    meta = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
            "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
            "ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel", "UserLanguage"]
    header = meta + names + ["member_id", "timepoint"]
    text = ["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)",
            "Finished", "Recorded Date", "Response ID", "Recipient Last Name", "Recipient First Name",
            "Recipient Email", "External Data Reference", "Location Latitude", "Location Longitude",
            "Distribution Channel", "User Language"]
    text += [f"Question {n}\nOver the last 2 weeks, how often?" for n in names] + ["member_id", "timepoint"]
    imp = [json.dumps({"ImportId": h}) for h in header]
    rows = []
    for k, rec in enumerate(df.to_dict("records")):
        d = rec["completed_on"]
        rows.append([d.strftime("%Y-%m-%d 09:00:00"), d.strftime("%Y-%m-%d 09:07:00"), "0", f"10.0.0.{k % 250}",
                     "100", "420", "1", d.strftime("%Y-%m-%d 09:07:03"), f"R_{k:06d}", "", "", "", "",
                     "51.5", "-0.1", "anonymous", "EN"]
                    + [("-99" if pd.isna(rec[c]) and k % 2 else _num(rec[c])) for c in items]
                    + [rec["member_id"], rec["timepoint"]])
    write_csv_rows(path, header, [text, imp] + rows)
