"""Identifiers across tables: spellings unified (case, spaces), every row coded as an integer."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._state import STRING_DTYPE, Log, Table, rows_empty
from ._text import arrow_distinct, from_codes

__all__ = ["unify_ids", "ID_OWNER"]

ID_OWNER = {"member_id": "members", "group_id": "groups"}
_PARALLEL_ROWS = 200_000  # dictionary-encode id columns on two threads from this many rows on


def _ws_key(trimmed: Any) -> Any:
    """Comparison key of trimmed spellings: runs of whitespace as one space, lower case."""
    import pyarrow.compute as pc

    # the regex only where some value holds whitespace other than single spaces (rare in ids);
    # plain substring searches find them (RE2's \s is one of these five)
    if any(pc.any(pc.match_substring(trimmed, w)).as_py() for w in ("  ", "\t", "\n", "\r", "\f")):
        trimmed = pc.replace_substring_regex(trimmed, r"\s+", " ")
    return pc.utf8_lower(trimmed)


def _distinct_all(tables: dict[str, Table]) -> dict[tuple[str, str], Any]:
    """``arrow_distinct`` of every identifier column of every usable table, keyed (column, table).

    The columns are independent and pyarrow hashes without holding the GIL,
    so a large programme has them encoded on two threads (the biggest first);
    the results are the same as one after the other.
    """
    jobs = [(idcol, t.name, t.df[idcol]) for idcol in ID_OWNER for t in tables.values()
            if t.usable and idcol in t.df.columns]
    if sum(len(s) for *_, s in jobs) < _PARALLEL_ROWS or len(jobs) < 2:
        return {(c, n): arrow_distinct(s) for c, n, s in jobs}
    from concurrent.futures import ThreadPoolExecutor

    jobs.sort(key=lambda j: -len(j[2]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [((c, n), pool.submit(arrow_distinct, s)) for c, n, s in jobs]
        return {k: f.result() for k, f in futures}


class _Union:
    """The distinct spellings of one id column over all tables that use it."""

    def __init__(self, users: list[Table], per: dict[str, Any]):
        import pyarrow as pa
        import pyarrow.compute as pc

        enc = pa.concat_arrays([per[t.name][1] for t in users]).dictionary_encode()
        self.raw = enc.dictionary
        to_u = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        bounds = np.cumsum([0] + [len(per[t.name][1]) for t in users])
        #: per table: position in the union of each of its distinct values
        self.seg = {t.name: to_u[bounds[i]:bounds[i + 1]] for i, t in enumerate(users)}
        trimmed = pc.utf8_trim_whitespace(self.raw)
        self.trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
        self.key = _ws_key(self.trimmed)
        # the union values are distinct; so are the trimmed ones when trimming changed nothing
        self.trim_same = bool(pc.all(pc.equal(self.trimmed, self.raw)).as_py() is not False)


def _fast_categories(u: _Union, sort: bool) -> tuple[Any, np.ndarray | None, Any]:
    """One spelling per key (no case variants): (categories, code per union value or None, target)."""
    import pyarrow.compute as pc

    categories = u.trimmed.drop_null() if u.trim_same else pc.unique(u.trimmed.drop_null())
    order = None
    if sort:
        order = pc.array_sort_indices(categories)
        categories = categories.take(order)
    ucode = None
    if u.trim_same:  # categories are the valid union values: their codes without a hash lookup
        valid = u.trimmed.is_valid().to_numpy(zero_copy_only=False)
        rank = np.cumsum(valid, dtype=np.int64) - 1
        if order is not None:
            inv = np.empty(len(categories), dtype=np.int64)
            inv[order.to_numpy()] = np.arange(len(categories))
            rank = inv[np.maximum(rank, 0)] if len(inv) else rank
        ucode = np.append(np.where(valid, rank, -1).astype(np.int32), np.int32(-1))
    return categories, ucode, u.trimmed


def _voted_categories(u: _Union, users: list[Table], per: dict[str, Any], owner: str,
                      sort: bool) -> tuple[Any, None, Any]:
    """Case / space variants: the owner's spelling, else the most frequent, ties alphabetical."""
    import pyarrow as pa

    counts = np.zeros(len(u.raw), dtype=np.int64)
    owned = np.zeros(len(u.raw), dtype=bool)
    for t in users:  # the tables (a handful)
        codes = per[t.name][0]
        n = np.bincount(codes[codes >= 0], minlength=len(per[t.name][1]))
        ok = u.seg[t.name] >= 0
        np.add.at(counts, u.seg[t.name][ok], n[ok])
        if t.name == owner:
            owned[u.seg[t.name][ok]] = True
    sp = pd.DataFrame({"key": u.key.to_numpy(zero_copy_only=False),
                       "spelling": u.trimmed.to_numpy(zero_copy_only=False),
                       "n": counts, "owner": owned}).dropna(subset=["spelling"])
    agg = sp.groupby(["key", "spelling"], as_index=False, sort=False).agg(n=("n", "sum"), owner=("owner", "max"))
    agg = agg.sort_values(["key", "owner", "n", "spelling"], ascending=[True, False, False, True], kind="stable")
    best = agg.drop_duplicates("key").set_index("key")["spelling"]
    values = best.to_numpy(dtype=object)
    if sort:
        values = np.sort(values)
    target = pa.array(best.reindex(u.key.to_numpy(zero_copy_only=False)).to_numpy(dtype=object),
                      type=pa.string(), from_pandas=True)
    return pa.array(values, type=pa.string()), None, target


def _assign(t: Table, idcol: str, owner: str, codes: np.ndarray, seg: np.ndarray, ucode: np.ndarray,
            has_u: np.ndarray, changed_u: np.ndarray, categories: Any, log: Log) -> None:
    """A table's id column: repairs recorded, empties reported, the integer code column added."""
    has = has_u[seg]
    changed = changed_u[seg]
    # per distinct value of the table, with one extra slot for code -1 (missing): row arrays by one take
    if changed.any():
        rows = np.append(changed, False)[codes]
        log.record(t, rows, idcol, "identifier differs from another spelling only by case or "
                   f"spaces; unified to the spelling used in the {owner} table (or the most common one)", "repaired")
    any_missing = bool((codes < 0).any()) or not has.all()
    if any_missing:
        missing = np.append(~has, True)[codes]
        log.row_problems(t, missing & t.live, idcol, f"{idcol} is empty",
                         f"fill in {idcol} for every row (or delete the row)")
    full = np.take(np.append(ucode[seg], np.int32(-1)), codes, out=rows_empty(len(codes), np.int32),
                   mode="wrap")  # code -1 reads the last slot, as indexing does
    t.df["_" + idcol] = full
    if changed.any() or any_missing or t.df[idcol].dtype != STRING_DTYPE:
        t.df[idcol] = from_codes(full, categories).set_axis(t.df.index)


def unify_ids(tables: dict[str, Table], log: Log) -> dict[str, Any]:
    """Unify identifier spellings that differ only by case or spaces, across all tables.

    The canonical spelling of a key is the one used in the owning table
    (``members`` for member ids, ``groups`` for group ids), else the most
    frequent one, ties broken alphabetically (so row order never matters).
    Adds integer code columns ``_member_id``/``_group_id`` (-1 = empty).
    Each table's column is dictionary-encoded once; the spellings are cleaned
    on the union of the distinct values of all tables (pyarrow compute), and
    the codes of the rows come from a single take per table.  Returns the
    categories (pyarrow arrays) per id column.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cats: dict[str, Any] = {}
    distinct = _distinct_all(tables)
    for idcol, owner in ID_OWNER.items():
        users = sorted((t for t in tables.values() if t.usable and idcol in t.df.columns),
                       key=lambda t: t.name != owner)  # owner first
        if not users:
            cats[idcol] = pa.array([], type=pa.string())
            continue
        per = {t.name: distinct[idcol, t.name] for t in users}
        u = _Union(users, per)
        spellings = u.trimmed.drop_null() if u.trim_same else pc.unique(u.trimmed.drop_null())
        sort = idcol == "group_id"
        if len(spellings) == len(pc.unique(u.key.drop_null())):
            categories, ucode, target = _fast_categories(u, sort)
        else:
            categories, ucode, target = _voted_categories(u, users, per, owner, sort)
        cats[idcol] = categories
        # per union value (+ one slot for "not in the union" = missing): code, spelling changed, present
        if ucode is None:
            ucode = np.append(pc.fill_null(pc.index_in(target, value_set=categories), -1).to_numpy(
                zero_copy_only=False).astype(np.int32), np.int32(-1))
        has_u = np.append(target.is_valid().to_numpy(zero_copy_only=False), False)
        changed_u = np.append(pc.fill_null(pc.not_equal(u.raw, target), False).to_numpy(zero_copy_only=False),
                              False) & has_u
        for t in users:
            _assign(t, idcol, owner, per[t.name][0], u.seg[t.name], ucode, has_u, changed_u, categories, log)
    return cats
