"""Value rules: every column to its canonical type, on the distinct values of the column.

Dates go through the io layer's one date parser (:func:`groupeval.io.read_dates`);
yes/no columns through the one mark vocabulary (:func:`groupeval.base.vocab.parse_bool`),
so a value ``read_attendance`` accepts (``✅``) is accepted here too.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..base.exceptions import ValidationError
from ..base.schema import ATTENDANCE_STATUS, EXIT_REASONS, FACILITATION, FORMAT, TABLES
from ..base.vocab import is_missing_text, norm_name, parse_bool
from ..io import read_dates
from ..io._dates import MAX_YEAR, MIN_YEAR
from ._state import Log, Table, files_of, rows_empty
from ._text import clean_text_values, coerce_text, factorize, from_codes, text_codes

__all__ = ["coerce", "item_columns", "natural_key"]

_VOCAB = {"exit_reason": EXIT_REASONS, "facilitation": FACILITATION, "format": FORMAT,
          "status": ATTENDANCE_STATUS}
_STATUS_ATTENDED = {"present": True, "late": True, "absent": False, "excused": False}
#: spellings of a first (baseline) survey wave
_BASELINE = re.compile(r"^(baseline|base_line|pre|pre_?test|pre_?intervention|pre_?programme|pre_?program|intake|"
                       r"screen|screening|entry|enrol+ment|t_?0|time_?0|week_?0|wave_?0|visit_?0|month_?0)$")


def coerce(t: Table, log: Log, *, dayfirst: bool | None, item_ranges: Mapping[str, tuple[float, float]],
           timepoints: Sequence[str] | None, timepoint_aliases: Mapping[str, str] | None = None) -> None:
    """Coerce every canonical column of ``t`` (problems and repairs logged)."""
    spec = TABLES[t.name]
    df = t.df
    for col, kind in spec.kinds.items():
        if col not in df.columns or kind == "id":  # ids are unified across tables later
            continue
        if kind in ("string", "category"):
            if kind == "category" and col in _VOCAB:
                _check_vocab(t, log, col)
            else:
                df[col] = coerce_text(df[col])
        elif kind == "date":
            _coerce_dates(t, log, col, col in spec.required, dayfirst)
        elif kind == "bool" and col != "attended":  # attended is handled with status below
            val, miss, bad = parse_bool(df[col])
            log.row_problems(t, bad & t.live, col, "not a yes/no value", "use TRUE/FALSE, yes/no or 1/0")
            df[col] = val & ~miss & ~bad
    if t.name == "attendance":
        _coerce_attended(t, log)
    if t.name == "sessions" and "cancelled" not in df.columns:
        df["cancelled"] = False
    if t.name == "responses":
        _coerce_timepoints(t, log, timepoints, timepoint_aliases or {})
        _coerce_items(t, log, item_ranges)


def _coerce_dates(t: Table, log: Log, col: str, required: bool, dayfirst: bool | None) -> None:
    df = t.df
    live = t.live
    p = read_dates(df[col], dayfirst=dayfirst)
    if p.bad.any():  # (masks are combined only when some value is bad: no row-sized work otherwise)
        bad = p.bad & ~p.out_of_range
        numeric = bad & pd.to_numeric(df[col], errors="coerce").notna().to_numpy()
        log.row_problems(t, bad & ~numeric & live, col, "not a date that can be read",
                         "write dates as YYYY-MM-DD (or DD/MM/YYYY with dayfirst=True)")
        log.row_problems(t, numeric & live, col, "a number, not a date",
                         "if it is an Excel date serial, format the column as a date in the spreadsheet; "
                         "otherwise write dates as YYYY-MM-DD")
        log.row_problems(t, p.out_of_range & live, col,
                         f"the date is outside the years groupeval can hold ({MIN_YEAR} to {MAX_YEAR})",
                         "correct the year (a typo such as 3025 for 2025?)")
    if p.ambiguous is not None:
        log.problem(ValidationError, files_of(t), None, col, p.ambiguous,
                    "dates could be day-first or month-first (e.g. 03/02/2025 is 3 February or "
                    "March 2)", "pass dayfirst=True (DD/MM/YYYY) or dayfirst=False (MM/DD/YYYY), "
                    "or set dayfirst in the [programme] table of the TOML config")
    if p.conflict is not None:
        log.problem(ValidationError, files_of(t), None, col, f"{p.conflict[0]} and {p.conflict[1]}",
                    "dates are written both day-first and month-first: one only makes sense day-first, "
                    "another only month-first", "write all dates the same way, preferably as YYYY-MM-DD")
    if p.other_format.any():
        shown = np.full(len(df), None, dtype=object)
        idx = np.flatnonzero(p.other_format)
        read_as = pd.DatetimeIndex(p.dates.to_numpy()[idx]).strftime("%Y-%m-%d")
        shown[idx] = [f"{v} (read as {d})" for v, d in zip(df[col].to_numpy(dtype=object)[idx], read_as)]
        log.record(t, p.other_format, col, f"date written in another format than the rest of the column "
                   f"({p.majority})", "repaired", values=shown)
    if p.dates is not df[col]:  # (setting a column copies it)
        df[col] = p.dates
    if required and p.blank.any():
        log.row_problems(t, p.blank & live, col, f"{col} is empty", f"fill in {col} for every row")


def _vocab_key(v: str) -> str:
    return re.sub(r"[\s_\-]+", "-", v.strip().lower())


def _check_vocab(t: Table, log: Log, col: str) -> None:
    """Text cleaned (stripped, blank = missing) and matched to the vocabulary, per distinct value."""
    s = t.df[col]
    allowed = _VOCAB[col]
    codes, uniques = text_codes(s)
    clean = clean_text_values(uniques)
    keymap = {_vocab_key(a): a for a in allowed}
    mapped = np.array([keymap.get(_vocab_key(u)) if u is not None else None for u in clean], dtype=object)
    bad_u = np.array([u is not None and m is None for u, m in zip(clean, mapped)], dtype=bool)
    # one extra slot for code -1 (missing): row arrays by a single take
    bad = np.append(bad_u, False)[codes] if bad_u.any() else None  # per row only when some value is bad
    if bad is not None and bad.any():
        log.row_problems(t, bad & t.live, col, f"{col} must be one of {', '.join(allowed)}",
                         f"recode {col} to one of: {', '.join(allowed)} (or leave it blank)",
                         values=np.append(clean, np.array([None], dtype=object))[codes])
    t.df[col] = from_codes(codes, mapped).set_axis(s.index)
    t.coded[col] = (codes, mapped)  # reused (status -> attended) without factorising again


def _status_attended(t: Table) -> tuple[np.ndarray, np.ndarray]:
    """Per row: does the status say whether the member attended, and what it says."""
    codes, uniques = t.coded["status"] if "status" in t.coded else factorize(t.df["status"])
    u_val = [_STATUS_ATTENDED.get(u) for u in uniques]
    u_has = np.array([v is not None for v in u_val] + [False], dtype=bool)  # last slot: code -1
    # per distinct status, then one take per row array
    from_status = np.take(u_has, codes, out=rows_empty(len(codes), bool), mode="wrap")  # -1: last slot
    status_val = np.take(np.array([bool(v) for v in u_val] + [False], dtype=bool), codes,
                         out=rows_empty(len(codes), bool), mode="wrap")
    return from_status, status_val


def _coerce_attended(t: Table, log: Log) -> None:
    """``attended`` from its own column, or from ``status`` (present/late = True)."""
    df = t.df
    live = t.live
    has_status = "status" in df.columns
    if has_status:
        from_status, status_val = _status_attended(t)
    if "attended" not in df.columns:
        # missing after the vocabulary mapping = no status among present/absent/excused/late
        st_missing = ~from_status if "status" in t.coded else df["status"].isna().to_numpy()
        log.row_problems(t, st_missing & live, "status", "status is empty", "fill in every mark")
        df["attended"] = status_val
        return
    val, miss, bad = parse_bool(df["attended"])
    clean = not miss.any() and not bad.any()  # the usual case: every mark read (no masks to combine)
    if has_status:
        conflict = from_status & (val != status_val)
        if not clean:
            conflict &= ~miss & ~bad
        log.row_problems(t, conflict & live, "attended",
                         "attended contradicts status (present/late mean attended; absent/excused do not)",
                         "correct attended or status")
        if not clean:
            val = np.where(miss & from_status, status_val, val)
            miss = miss & ~from_status
    if not clean:
        log.row_problems(t, bad & live, "attended", "not an attendance mark that can be read",
                         "use TRUE/FALSE, 1/0, yes/no or present/absent/excused/late")
        log.row_problems(t, miss & ~bad & live, "attended", "attended is empty",
                         "fill in every mark, or delete rows for sessions the member was not scheduled for")
    df["attended"] = val if val.dtype == bool else val.astype(bool)


def natural_key(tp: str) -> tuple[int, tuple[tuple[int, object], ...]]:
    head = 0 if re.match(r"^(baseline|pre|intake|screen)", tp.lower()) else 1
    parts = re.split(r"(\d+)", tp.lower())
    return (head, tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts))


def _inferred_order(t: Table, codes: np.ndarray, clean: np.ndarray) -> tuple[str, ...]:
    """Timepoints in order: by median ``completed_on``, then naturally (``week_4`` before ``week_12``)."""
    df = t.df
    counts = np.bincount(codes[codes >= 0], minlength=len(clean))
    sp = pd.DataFrame({"spelling": clean, "n": counts}).dropna()
    sp["key"] = sp["spelling"].str.casefold()
    sp = sp.groupby(["key", "spelling"], as_index=False)["n"].sum()
    sp = sp.sort_values(["key", "n", "spelling"], ascending=[True, False, True], kind="stable")
    present = sp.drop_duplicates("key")["spelling"].tolist()
    order: dict[str, float] = {}
    if "completed_on" in df.columns and pd.api.types.is_datetime64_any_dtype(df["completed_on"]):
        keys = pd.Series(clean[np.maximum(codes, 0)] if len(clean) else np.full(len(codes), None),
                         dtype=object).where(codes >= 0)
        med = pd.Series(df["completed_on"].to_numpy()).groupby(keys.str.casefold()).median()
        order = {k: v.value for k, v in med.dropna().items()}
    return tuple(sorted(present, key=lambda p: (order.get(p.casefold(), np.inf), natural_key(p))))


def _baseline_question(t: Table, log: Log, present: Iterable[str]) -> None:
    """Two spellings that both look like the first wave ("pre" beside "Baseline"): ask, never guess."""
    firsts = sorted({p for p in present if _BASELINE.match(norm_name(p))})
    if len(firsts) > 1:
        log.problem(ValidationError, files_of(t), None, "timepoint", ", ".join(firsts),
                    f"the timepoints {' and '.join(repr(f) for f in firsts)} all look like the first (baseline) "
                    "survey; groupeval does not guess whether they are the same wave",
                    "if they are the same, map one to the other with timepoint_aliases={"
                    f"{firsts[1]!r}: {firsts[0]!r}}} (TOML: [programme] timepoint_aliases); if they are "
                    "different waves, list all timepoints in order with timepoints=[...]")


def _apply_aliases(t: Table, log: Log, codes: np.ndarray, clean: np.ndarray,
                   aliases: Mapping[str, str]) -> np.ndarray:
    """``timepoint_aliases`` applied to the distinct spellings (each changed row recorded)."""
    if not aliases:
        return clean
    amap = {k.strip().casefold(): v for k, v in aliases.items()}
    new = np.array([amap.get(c.casefold(), c) if c is not None else None for c in clean], dtype=object)
    changed = np.array([a is not None and a != b for a, b in zip(new, clean)], dtype=bool)
    if changed.any():
        log.record(t, (codes >= 0) & np.append(changed, False)[codes], "timepoint",
                   "timepoint renamed by timepoint_aliases", "repaired")
    return new


def _coerce_timepoints(t: Table, log: Log, timepoints: Sequence[str] | None, aliases: Mapping[str, str]) -> None:
    df = t.df
    codes, uniques = factorize(df["timepoint"])
    raw_clean = clean_text_values(uniques)
    clean = _apply_aliases(t, log, codes, raw_clean, aliases)
    if timepoints is None:
        timepoints = _inferred_order(t, codes, clean)
        _baseline_question(t, log, timepoints)
    canon = {tp.strip().casefold(): tp for tp in timepoints}
    mapped = np.array([None if c is None else canon.get(c.casefold()) for c in clean], dtype=object)
    known = np.array([m is not None for m in mapped], dtype=bool)
    c0 = np.maximum(codes, 0)
    live = t.live
    unknown = (codes >= 0) & ~known[c0] if len(known) else np.zeros(len(df), bool)
    log.row_problems(t, unknown & live, "timepoint",
                     f"unknown timepoint (expected one of: {', '.join(timepoints)})",
                     "recode the timepoint, or list it in [programme] timepoints of the TOML config / "
                     "timepoints= (in order)")
    log.row_problems(t, (codes < 0) & live, "timepoint", "timepoint is empty", "fill in the timepoint")
    # spelled otherwise than the canonical name (aliased spellings are recorded already)
    changed = np.array([m is not None and u != m and a == b for u, m, a, b in zip(uniques, mapped, clean, raw_clean)],
                       dtype=bool)
    if changed.any():
        rows = (codes >= 0) & changed[c0]
        log.record(t, rows, "timepoint", "timepoint spelled with different case or spaces; unified", "repaired")
    df["timepoint"] = from_codes(codes, mapped).set_axis(df.index)
    t.timepoints = tuple(timepoints)


_ITEM_RE = re.compile(r"^(?P<prefix>[a-z][a-z0-9_]*?)_(?P<n>\d+)$")


def item_columns(columns: Iterable[str], prefix: str) -> list[str]:
    """Columns named ``<prefix>_<n>`` (n = 1, 2, ...), in item order."""
    pat = re.compile(rf"^{re.escape(prefix)}_(\d+)$")
    found = [(int(m.group(1)), c) for c in columns if (m := pat.match(str(c)))]
    return [c for _, c in sorted(found)]


def _coerce_items(t: Table, log: Log, item_ranges: Mapping[str, tuple[float, float]]) -> None:
    df = t.df
    live = t.live
    for prefix, (lo, hi) in item_ranges.items():
        for col in item_columns(df.columns, prefix):
            s = df[col]
            if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                num = pd.to_numeric(s, errors="coerce").astype("float64")
                nonnum = np.zeros(len(s), bool)
            else:
                txt = coerce_text(s)
                na_text = np.frompyfunc(is_missing_text, 1, 1)(txt.to_numpy(dtype=object, na_value=None)).astype(bool)
                if na_text.any():
                    log.record(t, na_text, col, "missing-value text in an item cell read as unanswered", "repaired")
                    txt = txt.mask(na_text)
                num = pd.to_numeric(txt.astype(object), errors="coerce").astype("float64")
                nonnum = (txt.notna() & num.isna()).to_numpy(dtype=bool, na_value=False)
            v = num.to_numpy()
            log.row_problems(t, nonnum & live, col, "item response is not a number",
                             f"enter the coded value ({lo:g} to {hi:g}) or leave the cell empty",
                             values=s.to_numpy(dtype=object))
            out = ~np.isnan(v) & ((v < lo) | (v > hi) | (v != np.round(v)))
            log.row_problems(t, out & live, col,
                             f"item response outside the instrument's range {lo:g} to {hi:g}",
                             "correct the value (a code such as 99 for 'refused' must be left empty); "
                             "groupeval does not guess what was meant")
            df[col] = num
