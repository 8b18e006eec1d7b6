"""Integer keys over days and codes: duplicates, future dates, the cut-off, and the lookups references use."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..base.schema import SOURCE_FILE, SOURCE_ROW, TABLES
from ._state import NAT, Log, Table, rows_empty

__all__ = ["days", "key", "day_offset", "grouped_unique", "duplicates", "future", "after_cutoff", "within",
           "Lookup", "member_lookup", "unique_index", "pair", "NO_FUTURE"]

NO_FUTURE = {"groups": ("start_date",), "members": ("enrolled_on", "exited_on"),
             "attendance": ("session_date",), "responses": ("completed_on",)}


def days(s: pd.Series) -> np.ndarray:
    """datetime64 -> int64 days since epoch; NaT -> INT64_MIN (dates are already normalised)."""
    v = s.to_numpy(dtype="datetime64[ns]").view(np.int64)
    out = np.floor_divide(v, 86_400_000_000_000, out=rows_empty(len(v), np.int64))
    out[v == NAT] = NAT
    return out



def key(*parts: tuple[np.ndarray, int]) -> np.ndarray:
    """Combine non-negative integer columns into one int64 key (mixed radix; in place after one copy)."""
    key = rows_empty(len(parts[0][0]), np.int64)
    key[...] = parts[0][0]
    for arr, radix in parts[1:]:
        key *= np.int64(radix)
        key += arr
    return key


def day_offset(d: np.ndarray, dmin: int) -> np.ndarray:
    """Day numbers -> days since ``dmin`` (>= 0); NaT -> 0 (such rows are reported or excluded)."""
    out = d - np.int64(dmin)
    out[d == NAT] = 0
    return out


def grouped_unique(major: np.ndarray, minor: np.ndarray, live: np.ndarray) -> bool:
    """True when no (major, minor) pair repeats, proven without a sort: every row is live, the rows
    of each ``major`` value are contiguous and ``minor`` strictly increases within them (a roster
    written member by member, sessions in order).  False means "not proven" (then sort).
    """
    if len(major) < 2 or not live.all():
        return False
    same = major[1:] == major[:-1]
    # the first value of each run; all distinct iff no value of major comes back after others
    heads = np.concatenate((major[:1], major[1:][~same]))
    seen = np.zeros(int(heads.max()) + 1, dtype=bool)
    seen[heads] = True
    if int(np.count_nonzero(seen)) != len(heads):
        return False  # some value of major comes back after others
    return bool(np.all(~same | (minor[1:] > minor[:-1])))


def duplicates(t: Table, log: Log, key: np.ndarray) -> None:
    """Exact duplicates excluded (first in file order kept); conflicting ones are errors."""
    live = t.live
    srt = np.sort(key[live] if not live.all() else key)
    if not (srt[1:] == srt[:-1]).any():  # the usual case: a sort is cheaper than hashing
        return
    dup = pd.Series(np.where(live, key, -1 - np.arange(len(key)))).duplicated(keep=False).to_numpy()
    cols = [c for c in t.df.columns if not c.startswith("_")]
    sub = t.df.loc[dup, cols + [SOURCE_FILE, SOURCE_ROW]].copy()
    sub["_k"] = key[dup]
    sub["_pos"] = np.flatnonzero(dup)
    sub = sub.sort_values([SOURCE_FILE, SOURCE_ROW, "_pos"], kind="stable")
    exact = sub.duplicated(subset=["_k", *cols], keep="first")
    ex_mask = np.zeros(len(key), bool)
    ex_mask[sub["_pos"][exact].to_numpy()] = True
    first = sub[~exact].drop_duplicates(subset=["_k", *cols]).drop_duplicates("_k")
    where = pd.Series(first[SOURCE_ROW].to_numpy(), index=first["_k"].to_numpy())
    vals = np.full(len(key), None, dtype=object)
    vals[sub["_pos"].to_numpy()] = [f"same as row {r}" for r in where.reindex(sub["_k"]).to_numpy()]
    log.record(t, ex_mask, None, "exact duplicate of an earlier row; first kept", "excluded", values=vals)
    rest = sub[~exact]
    conflict = rest["_k"].duplicated(keep=False)
    if conflict.any():
        c = rest[conflict]
        rows_by_key = c.groupby("_k")[SOURCE_ROW].agg(lambda r: ", ".join(map(str, r)))
        keycols = list(TABLES[t.name].key)
        label = "/".join(keycols)
        mask = np.zeros(len(key), bool)
        mask[c["_pos"].to_numpy()] = True
        others = np.full(len(key), None, dtype=object)
        others[c["_pos"].to_numpy()] = rows_by_key.reindex(c["_k"]).to_numpy()
        pos = c["_pos"].to_numpy()
        keyvals = t.df.iloc[pos][keycols].astype(str).agg(" / ".join, axis=1).to_numpy(dtype=object)
        vals = np.full(len(key), None, dtype=object)
        vals[pos] = [f"{k} (rows {o})" for k, o in zip(keyvals, others[pos])]
        log.row_problems(t, mask, label,
                         f"conflicting duplicates: the same {label} appears in several rows with different "
                         "values",
                         "keep one row per " + label + " and delete or correct the others", values=vals)


def future(t: Table, log: Log, today: pd.Timestamp) -> None:
    if t.name == "sessions":
        if "session_date" in t.df:
            late = (t.df["session_date"] > today).to_numpy()
            log.record(t, late, "session_date", f"session is after today ({today.date()}): not yet held",
                       "excluded")
        return
    for col in NO_FUTURE.get(t.name, ()):
        if col in t.df:
            late = (t.df[col] > today).to_numpy()
            log.row_problems(t, late & t.live, col, f"date is in the future (after {today.date()})",
                             "correct the date (a typo in the year?) or pass today= if the data are from "
                             "a later date")


def after_cutoff(t: Table, log: Log, cutoff: pd.Timestamp) -> None:
    col = {"sessions": "session_date", "attendance": "session_date", "responses": "completed_on",
           "members": "enrolled_on"}.get(t.name)
    if col and col in t.df:
        late = (t.df[col] > cutoff).to_numpy() & t.live
        log.record(t, late, col, f"after the data cut-off {cutoff.date()}", "excluded")
        t.cut |= late


def within(d: np.ndarray, pos: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    """True when ``lo[pos] <= d <= hi[pos]`` holds for every row, proven per run of equal ``pos``.

    A roster lists each member's rows together, so the rows form few runs;
    the bounds are then read once per run and compared with the run's
    smallest and largest day.  False means "not proven" (many runs, or some
    row outside its bounds): the caller then checks row by row.
    """
    n = len(pos)
    if n == 0:
        return True
    brk = np.flatnonzero(pos[1:] != pos[:-1])
    if len(brk) > n // 4:
        return False
    starts = np.empty(len(brk) + 1, dtype=np.intp)
    starts[0] = 0
    starts[1:] = brk + 1
    p = pos[starts]
    return bool((np.minimum.reduceat(d, starts) >= lo[p]).all() and (np.maximum.reduceat(d, starts) <= hi[p]).all())


class Lookup:
    """Position of each query key among ``keys`` (first occurrence), -1 if absent.

    A dense table when the key space is small (integer indexing: no hashing),
    else a hash index.
    """

    def __init__(self, keys: np.ndarray, space: int):
        self.dense = 0 < space <= 50_000_000
        if self.dense:
            self.table = np.full(max(space, 1), -1, dtype=np.int64)
            self.table[keys[::-1]] = np.arange(len(keys))[::-1]
        else:
            self.index, self.first = unique_index(keys)

    def __call__(self, q: np.ndarray) -> np.ndarray:
        if self.dense:
            if not len(q) or (q.min() >= 0 and q.max() < len(self.table)):
                return self.table[q]
            ok = (q >= 0) & (q < len(self.table))
            return np.where(ok, self.table[np.where(ok, q, 0)], -1)
        pos = self.index.get_indexer(q)
        return np.where(pos >= 0, self.first[np.maximum(pos, 0)], -1)


def member_lookup(m_code: np.ndarray, m_group: np.ndarray, q_code: np.ndarray, q_group: np.ndarray,
                   ng: int) -> np.ndarray:
    """Position in members of each (member, group) query, -1 if not enrolled there."""
    nm = int(max(m_code.max(initial=-1), q_code.max(initial=-1))) + 1
    ok_m = m_code >= 0
    if np.bincount(m_code[ok_m], minlength=1).max() > 1:  # some member enrolled in several groups
        look = Lookup(key((np.maximum(m_code, 0), 1), (np.maximum(m_group, 0), ng)), 0)
        return look(key((np.maximum(q_code, 0), 1), (np.maximum(q_group, 0), ng)))
    # member code -> position (last slot: code -1), then the group must match (-2: no position)
    table = np.full(nm + 1, -1, dtype=np.int32)
    table[m_code[ok_m]] = np.flatnonzero(ok_m)
    # member code -> its group code (-2: not a member); in the codes' own integer type (no casts per row)
    group_of = np.full(nm + 1, -2, dtype=np.promote_types(np.promote_types(m_group.dtype, q_group.dtype), np.int8))
    group_of[m_code[ok_m]] = m_group[ok_m]
    pos = np.take(table, q_code, out=rows_empty(len(q_code), np.int32), mode="wrap")
    pos[group_of[q_code] != q_group] = -1
    return pos


def unique_index(keys: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    """Index of the distinct keys and, for each, the position of its first occurrence."""
    uniq, first = np.unique(keys, return_index=True)
    return pd.Index(uniq), first


def pair(t: Table) -> np.ndarray:
    return (t.df["member_id"].astype(str) + " in " + t.df["group_id"].astype(str)).to_numpy(dtype=object)
