"""Inference (groups, members, sessions, sign-in absences) and the final canonical tables."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..base.schema import SOURCE_FILE, SOURCE_ROW, TABLE_NAMES, TABLES
from ._keys import days
from ._state import STRING_DTYPE, Log, Table, distinct_files
from ._text import clean_text_values, id_key

__all__ = ["infer", "finish_table", "UNSPECIFIED"]

#: ``group_type`` of groups inferred because no groups table was given
UNSPECIFIED = "unspecified"


def _cancelled_sessions(a: Table, cats: dict[str, pd.Index]) -> pd.DataFrame:
    """Sessions the sheets mark cancelled (wide columns, roster rows), as rows of the sessions table."""
    canc = pd.DataFrame(a.cancelled, columns=["raw", "session_date"])
    keys = id_key(clean_text_values(canc["raw"].to_numpy(dtype=object)))
    known = pd.Series(np.arange(len(cats["group_id"])), index=id_key(cats["group_id"].to_numpy(dtype=object)))
    canc["_group_id"] = known.reindex(keys).to_numpy()
    canc = canc.dropna(subset=["_group_id"])
    canc["_group_id"] = canc["_group_id"].astype(np.int64)
    canc["group_id"] = cats["group_id"].to_numpy(dtype=object)[canc["_group_id"].to_numpy()]
    canc["session_date"] = pd.to_datetime(canc["session_date"]).dt.normalize()
    canc["cancelled"] = True
    canc[SOURCE_FILE], canc[SOURCE_ROW] = None, pd.NA
    return canc.drop(columns="raw")


def _infer_sessions(s: Table, a: Table, att: pd.DataFrame, cats: dict[str, pd.Index], log: Log, dmin: int,
                    nd: int) -> None:
    """Every date on which a group has an attendance row (+ sessions the sheets mark cancelled)."""
    k = pd.Series(att["_group_id"].to_numpy() * np.int64(nd) + (days(att["session_date"]) - dmin))
    first = k.drop_duplicates().index.to_numpy()
    u = att.iloc[first]
    new = pd.DataFrame({"group_id": u["group_id"].to_numpy(), "session_date": u["session_date"].to_numpy(),
                        "cancelled": False, "_group_id": u["_group_id"].to_numpy(),
                        SOURCE_FILE: u[SOURCE_FILE].to_numpy(), SOURCE_ROW: pd.NA})
    if a.cancelled:
        new = pd.concat([new, _cancelled_sessions(a, cats)], ignore_index=True)
        new = new.drop_duplicates(["_group_id", "session_date"], keep="first")
    new = new.sort_values(["_group_id", "session_date"], kind="stable").reset_index(drop=True)
    per = new.groupby("group_id", observed=True).agg(n=("session_date", "size"), n_cancelled=("cancelled", "sum"),
                                                      file=(SOURCE_FILE, "first"))
    for gid, rec in per.iterrows():  # one entry per group (a handful)
        extra = f", {int(rec.n_cancelled)} cancelled" if rec.n_cancelled else ""
        log.summary(rec.file, "session_date", int(rec.n),
                    f"sessions of group {gid} inferred from the attendance dates (no sessions table{extra})")
    new[SOURCE_FILE] = None
    s.df, s.usable, s.excluded, s.inferred = new, True, np.zeros(len(new), bool), len(new)


def _infer_members(m: Table, att: pd.DataFrame, log: Log) -> None:
    """Members from attendance: enrolled on the first session on record, no exit date."""
    first = att.groupby(["member_id", "group_id"], observed=True, sort=True)["session_date"].min().reset_index()
    first = first.rename(columns={"session_date": "enrolled_on"})
    first["exited_on"] = pd.Series(pd.NaT, index=first.index, dtype="datetime64[ns]")
    first[SOURCE_FILE], first[SOURCE_ROW] = None, pd.NA
    files = ", ".join(sorted(map(str, pd.unique(att[SOURCE_FILE].astype(str)))))
    log.summary(files, "enrolled_on", len(first), "members inferred from the attendance (no members table): "
                "enrolled_on = first session on record, no exit date")
    m.df, m.usable, m.excluded, m.inferred = first, True, np.zeros(len(first), bool), len(first)


def _infer_groups(g: Table, cats: dict[str, pd.Index], log: Log) -> None:
    """Groups from the group ids used anywhere, with group_type "unspecified"."""
    ids = cats["group_id"]
    if not len(ids):
        return
    new = pd.DataFrame({"group_id": pd.array(ids.to_numpy(dtype=object), dtype=STRING_DTYPE),
                        "group_type": pd.array([UNSPECIFIED] * len(ids), dtype=STRING_DTYPE),
                        SOURCE_FILE: None, SOURCE_ROW: pd.NA})
    log.summary(None, "group_type", len(new), "groups inferred from the group ids used (no groups table); "
                f"group_type {UNSPECIFIED!r}")
    g.df, g.usable, g.excluded, g.inferred = new, True, np.zeros(len(new), bool), len(new)


def infer(ts: dict[str, Table], log: Log, cats: dict[str, Any], *, data_cutoff: pd.Timestamp | None, dmin: int,
          nd: int) -> None:
    """Tables not given are inferred from the others; sign-in logs get their absences."""
    g, m, s, a, _ = (ts[n] for n in TABLE_NAMES)
    need = a.usable and (not s.given or not m.given)
    att = (a.df.loc[a.live] if a.excluded.any() else a.df) if need else None
    if not s.given and att is not None and len(att):
        _infer_sessions(s, a, att, cats, log, dmin, nd)
    if not m.given and att is not None and len(att):
        _infer_members(m, att, log)
    if not g.given:
        _infer_groups(g, cats, log)
    if a.usable and a.df["_signin"].any() and m.usable and s.usable:
        _infer_signin_absences(ts, log, data_cutoff=data_cutoff)


def _infer_signin_absences(ts: dict[str, Table], log: Log, *, data_cutoff: pd.Timestamp | None) -> None:
    """Sign-in logs: an absence at every scheduled session within the enrolment with no sign-in."""
    m, s, a = ts["members"], ts["sessions"], ts["attendance"]
    sign = a.df.loc[a.live & a.df["_signin"].to_numpy(dtype=bool)]
    groups = pd.unique(sign["group_id"])
    mem = m.df.loc[m.live & m.df["group_id"].isin(groups).to_numpy(dtype=bool),
                   ["member_id", "group_id", "enrolled_on"] + (["exited_on"] if "exited_on" in m.df else [])]
    ses = s.df.loc[s.live & ~s.df["cancelled"].to_numpy(dtype=bool), ["group_id", "session_date"]]
    ses = ses[ses["group_id"].isin(groups).to_numpy(dtype=bool)]
    end = data_cutoff if data_cutoff is not None else ses["session_date"].max()
    grid = mem.merge(ses, on="group_id", how="inner")
    upper = grid["exited_on"].fillna(end) if "exited_on" in grid else pd.Series(end, index=grid.index)
    upper = upper.where(upper <= end, end)
    grid = grid[(grid["session_date"] >= grid["enrolled_on"]) & (grid["session_date"] <= upper)]
    seen = a.df.loc[a.live, ["member_id", "group_id", "session_date"]]
    grid = grid.merge(seen.assign(_seen=True), on=["member_id", "group_id", "session_date"], how="left")
    new = grid[grid["_seen"].isna()][["member_id", "group_id", "session_date"]].copy()
    if not len(new):
        return
    new["attended"] = False
    if "status" in a.df:
        new["status"] = pd.array(["absent"] * len(new), dtype=STRING_DTYPE)
    files = ", ".join(distinct_files(sign[SOURCE_FILE]))
    new[SOURCE_FILE] = files  # provenance of inferred rows: the sign-in log(s), no row of their own
    new[SOURCE_ROW] = 0
    new["_signin"] = True
    new["_blank"] = False
    for gid, n in new.groupby("group_id", observed=True).size().items():  # one entry per group
        log.summary(files, "attended", int(n), f"absences of group {gid} inferred from the sign-in log: "
                    "scheduled sessions within the member's enrolment with no sign-in")
    kept = a.df.loc[a.live]
    for c in kept.columns.difference(new.columns):  # typed missing values: the dtypes stay as they are
        new[c] = kept[c].iloc[:0].reindex(pd.RangeIndex(len(new))).set_axis(new.index)
    new = new.astype({c: kept[c].dtype for c in ("member_id", "group_id", "session_date", "attended")
                      if c in kept})
    a.df = pd.concat([kept, new[kept.columns]], ignore_index=True, sort=False)
    a.inferred = len(new)
    # re-base the exclusion mask on the new frame; excluded rows were already recorded
    a.prior_excluded += int(a.excluded.sum())
    a.excluded = np.zeros(len(a.df), dtype=bool)



def finish_table(name: str, df: pd.DataFrame, cols: list[str], keep: np.ndarray | None) -> pd.DataFrame:
    """The final table: columns ``cols`` of the rows ``keep`` (None: all), canonical dtypes and column
    order (required, optional, then extra columns), a fresh RangeIndex.

    Built column by column: each column is converted or taken once; numpy-backed
    and other mutable columns are copied (the Dataset shares no memory with the
    input frames), immutable Arrow-backed ones are shared.
    """
    spec = TABLES[name]
    front = [c for c in (*spec.required, *spec.optional) if c in cols]
    order = front + [c for c in cols if c not in front]
    rows = None if keep is None else np.flatnonzero(keep)
    data = {}
    for col in order:
        s = df[col]
        kind = spec.kinds.get(col)
        if kind in ("id", "string", "category") and s.dtype != STRING_DTYPE:
            s = s.astype(STRING_DTYPE)
        elif kind == "date" and s.dtype != "datetime64[ns]":
            s = s.astype("datetime64[ns]")
        elif kind == "bool" and s.dtype != bool:
            s = s.astype(bool)
        arr = s.array
        if isinstance(s.dtype, (pd.StringDtype, pd.ArrowDtype)) and getattr(s.dtype, "storage", "pyarrow") == "pyarrow":
            data[col] = arr if rows is None else arr.take(rows)  # immutable Arrow buffers: shared
        elif isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
            data[col] = arr.copy() if rows is None else arr.take(rows)
        else:
            v = s.to_numpy()
            data[col] = v.copy() if rows is None else v[rows]
    n = len(df) if rows is None else len(rows)
    return pd.DataFrame(data, index=pd.RangeIndex(n), columns=order, copy=False)
