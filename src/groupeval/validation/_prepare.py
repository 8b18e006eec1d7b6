"""Preparation: the readers' :class:`~groupeval.io.SourceTable` objects (or plain frames) -> working tables.

Also the structural rules that need no value parsing: the identifier guard,
required columns, empty tables and blank rows.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import IdentifierError, SchemaError
from ..base.identifiers import find_identifier_columns
from ..base.schema import SOURCE_FILE, SOURCE_ROW, TABLES
from ..base.vocab import ABSENT, EXCUSED, LATE, PRESENT, norm_name
from ..io import SourceTable, as_source
from ..io._aliases import TABLE_ALIASES
from ._state import INTERNAL, Log, Table, distinct_files, files_of

__all__ = ["prepare", "check_identifiers", "check_structure", "drop_blank_rows"]

_KIND = {"attendance": "attendance", "responses": "responses"}
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})$")
_YES_NO = PRESENT | LATE | ABSENT | EXCUSED


def _canonical_renames(name: str, columns: list[str]) -> dict[str, str]:
    """Canonical names matched case/space-insensitively ("Member ID " -> member_id), then by alias ("Group")."""
    spec = TABLES[name]
    canon = {c: c for c in (*spec.required, *spec.optional)}
    renames: dict[str, str] = {}
    for c in columns:
        n = norm_name(c)
        if c not in canon and n in canon and canon[n] not in columns and canon[n] not in renames.values():
            renames[c] = canon[n]
    present = set(columns) | set(renames.values())
    for target, aliases in TABLE_ALIASES.get(name, {}).items():
        if target in present:
            continue
        hits = [c for c in columns if c not in renames and norm_name(c) in aliases]
        if len(hits) == 1:
            renames[hits[0]] = target
            present.add(target)
    return renames


def _working_frame(name: str, src: SourceTable, label: str, log: Log) -> pd.DataFrame:
    """The source's table with provenance and (attendance) working columns, canonical column names."""
    df = src.table.copy(deep=False)  # only whole columns are (re)assigned below
    df.columns = [str(c) for c in df.columns]
    dup = pd.Index(df.columns)[pd.Index(df.columns).duplicated()].unique().tolist()
    if dup:
        log.problem(SchemaError, label, 1, ", ".join(dup), None, "column name(s) appear more than once in the header",
                    "give every column a distinct name")
        df = df.loc[:, ~pd.Index(df.columns).duplicated()]
    df = df.drop(columns=[c for c in (SOURCE_FILE, SOURCE_ROW) if c in df.columns])
    df[SOURCE_FILE] = pd.Series(src.file, index=df.index)
    df[SOURCE_ROW] = pd.Series(src.row, index=df.index)
    renames = _canonical_renames(name, [c for c in df.columns if not c.startswith("_")])
    if renames:
        df = df.rename(columns=renames)
    if name == "attendance":
        df["_signin"] = str(src.shape or "").lower() == "signin"
        if str(src.shape or "").lower() == "wide" and src.column is not None:
            df["_wide_col"] = pd.Series(np.asarray(src.column, dtype=object), index=df.index)
        df["_blank"] = (src.blank_cell if src.blank_cell is not None else np.zeros(len(df), bool))
    return df


def _record_notes(src: SourceTable, log: Log) -> int:
    """The reader's notes as quality entries; returns the source rows they exclude."""
    excluded = 0
    for n in src.notes:
        log.summary(n.file, n.column, n.value, n.reason, n.action, row=n.row)
        if n.action == "excluded":
            excluded += int(n.count)
    return excluded


def prepare(name: str, raw: Any, log: Log) -> Table:
    """Concatenate the table's sources, add provenance, canonicalise column names."""
    if raw is None:
        return Table(name, _empty_raw(name), given=False)
    frames = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    parts = []
    cancelled: list[tuple[object, object]] = []
    identifiers: dict[str, str] = {}
    skipped = 0
    for k, obj in enumerate(frames):
        label = name if len(frames) == 1 else f"{name}[{k}]"
        src = as_source(obj, _KIND.get(name, "table"), label)
        parts.append(_working_frame(name, src, label, log))
        skipped += _record_notes(src, log)
        cancelled.extend(src.cancelled)
        identifiers.update(src.identifiers)
    out = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True, sort=False)
    if not (isinstance(out.index, pd.RangeIndex) and out.index.start == 0 and out.index.step == 1):
        out = out.reset_index(drop=True)
    t = Table(name, out, given=True)
    t.skipped, t.cancelled, t.identifiers = skipped, cancelled, identifiers
    return t


def _empty_raw(name: str) -> pd.DataFrame:
    spec = TABLES[name]
    cols = {c: pd.Series(dtype=object) for c in spec.required}
    cols[SOURCE_FILE] = pd.Series(dtype=object)
    cols[SOURCE_ROW] = pd.Series(dtype="int64")
    df = pd.DataFrame(cols)
    if name == "attendance":
        df["_signin"] = pd.Series(dtype=bool)
        df["_blank"] = pd.Series(dtype=bool)
    return df


def check_identifiers(t: Table, log: Log, allow: bool) -> None:
    """Columns holding names, contact details or other direct identifiers: refused, or dropped if allowed."""
    found = find_identifier_columns(t.df, known=t.identifiers, exclude=INTERNAL)
    if not found:
        return
    file = files_of(t)
    if not allow:
        cols = ", ".join(f"{c!r} ({k})" for c, k in found.items())
        log.problem(IdentifierError, file, None, ", ".join(found), None,
                    f"the {t.name} table holds direct identifiers: {cols}",
                    "delete these columns (groupeval never needs names or contact details; members are "
                    "identified by member_id), or pass allow_identifiers=True to drop them on load")
    else:
        for c, kind in found.items():
            log.summary(file, c, None, f"direct identifier column ({kind}) removed: allow_identifiers=True "
                        "accepts the file but identifiers never reach a Dataset or output", "repaired")
    t.df = t.df.drop(columns=list(found))


def _looks_like_value(name: str) -> bool:
    """A header cell that looks like data (a number, a date, a yes/no value, an id like G1)."""
    t = str(name).strip()
    if re.fullmatch(r"[-+]?\d+([.,]\d+)?", t) or t.lower() in _YES_NO:
        return True
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}([ T].*)?", t) or _DMY.match(t):
        return True
    return bool(re.fullmatch(r"[A-Za-z]{1,3}\d+", t))


def check_structure(t: Table, log: Log) -> None:
    """Required columns present (or a hint that the header row is missing); some data rows."""
    if not t.given:
        return
    spec = TABLES[t.name]
    missing = [c for c in spec.required if c not in t.df.columns]
    if t.name == "attendance" and "attended" in missing and "status" in t.df.columns:
        missing.remove("attended")
    file = files_of(t) if missing or len(t.df) == 0 else t.name
    if missing:
        have = [c for c in t.df.columns if not c.startswith("_")]
        datalike = [c for c in have if _looks_like_value(c)]
        if datalike and len(datalike) * 2 >= len(have):
            log.problem(SchemaError, file, 1, ", ".join(missing), ", ".join(have[:6]),
                        f"the {t.name} file seems to have no header row: its first row holds values "
                        f"({', '.join(datalike[:3])}) and the required column(s) {', '.join(missing)} are missing",
                        "add a header row naming the columns (e.g. " + ", ".join(spec.required) + ")")
        else:
            log.problem(SchemaError, file, None, ", ".join(missing), None,
                        f"the {t.name} table lacks required column(s) {', '.join(missing)} "
                        f"(columns present: {', '.join(have) or 'none'})",
                        "rename the matching columns with columns={'Your header': '" + missing[0] +
                        "'} or add them")
        t.usable = False
    if len(t.df) == 0:
        log.problem(SchemaError, file, None, None, None, f"the {t.name} table has no data rows",
                    "check that the right file was given and that it was saved with its data")
        t.usable = False


def _blankish(s: pd.Series) -> np.ndarray:
    """Missing, or text that is empty after stripping spaces."""
    na = s.isna().to_numpy()
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        nn = np.flatnonzero(~na)
        if len(nn):
            codes, uniques = pd.factorize(s.iloc[nn], use_na_sentinel=True)
            empty_u = np.array([isinstance(u, str) and not u.strip() for u in np.asarray(uniques, dtype=object)],
                               dtype=bool)
            na[nn] = empty_u[np.maximum(codes, 0)] & (codes >= 0)
    return na


def drop_blank_rows(t: Table, log: Log) -> None:
    """Rows whose every data cell is empty are excluded (recorded)."""
    data_cols = [c for c in t.df.columns if not c.startswith("_")]
    if not data_cols or not len(t.df):
        return
    cand = None  # all rows
    # narrow the candidates column by column (non-text columns first: cheapest); usually none survive
    data_cols.sort(key=lambda c: t.df[c].dtype == object or isinstance(t.df[c].dtype, pd.StringDtype))
    for c in data_cols:
        if cand is None:
            cand = np.flatnonzero(_blankish(t.df[c]))
        else:
            cand = cand[_blankish(t.df[c].iloc[cand])]
        if not len(cand):
            return
    mask = np.zeros(len(t.df), dtype=bool)
    if cand is not None:
        mask[cand] = True
    log.record(t, mask, None, "blank row (every cell empty)", "excluded")


def first_file(df: pd.DataFrame, label: str) -> str:
    if SOURCE_FILE in df and len(df):
        files = distinct_files(df[SOURCE_FILE])
        return files[0] if files else label
    return label
