"""``read_survey``: one survey export -> the canonical responses table.

Shapes (see docs/reading-data.md): **wide** (one row per member x timepoint),
**redcap** (raw export with ``record_id``, ``redcap_event_name`` and repeat
instrument rows, optionally with the data dictionary) and **qualtrics** (CSV
export with three header rows).
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, Problem, ReadError, SchemaError
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ._dates import parse_dates
from ._files import RawSheet, norm_name, read_sheets, read_table, recognise_aliases
from .attendance import _require_rows

__all__ = ["read_survey", "FORMATS", "ITEM_PATTERN", "QUALTRICS_DROPPED"]

FORMATS = ("auto", "wide", "redcap", "qualtrics")
#: item columns are ``<instrument>_<n>`` (e.g. ``phq9_1``, ``whoqol_bref_26``)
ITEM_PATTERN = re.compile(r"^[a-z][a-z0-9_]*?_\d+$")
_STR = "string[pyarrow]"
_CANON = ("member_id", "timepoint", "completed_on", "group_id")
_ALIASES = {
    "member_id": ("member_id", "member", "participant_id", "participant", "client_id", "person_id"),
    "timepoint": ("timepoint", "time_point", "wave", "survey_wave"),
    "completed_on": ("completed_on", "completion_date", "date_completed", "survey_date"),
    "group_id": ("group_id", "group"),
}
#: Qualtrics system columns dropped for privacy (respondent IP and location)
QUALTRICS_DROPPED = ("IPAddress", "LocationLatitude", "LocationLongitude")
#: Qualtrics contact columns dropped when entirely empty (anonymous links)
_QUALTRICS_EMPTY = ("RecipientLastName", "RecipientFirstName", "RecipientEmail", "ExternalReference")
_REDCAP_META = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
                "redcap_data_access_group", "redcap_survey_identifier")
_ARM = re.compile(r"_arm_\d+$")
_ITEM_TYPES = {"radio", "dropdown", "slider", "yesno", "truefalse", "calc"}


def _recognise(header: list[str]) -> dict[str, str]:
    """Auto-map common raw names ('Participant ID', 'Wave') and item columns to canonical ones."""
    out = recognise_aliases(header, _ALIASES)
    # item columns written with capitals or dashes: PHQ9_1 -> phq9_1, WHOQOL-BREF_3 -> whoqol_bref_3
    taken = set(header) | set(out.values())
    for h in header:
        if h in out or "___" in h or ITEM_PATTERN.match(h):
            continue
        n = norm_name(h)
        if ITEM_PATTERN.match(n) and n not in taken and re.match(r"^[A-Za-z][A-Za-z0-9 _-]*_\d+$", h.strip()):
            out[h] = n
            taken.add(n)
    return out


def _detect(f: pd.DataFrame) -> str:
    cols = set(f.columns)
    if {"ResponseId", "StartDate"} <= cols or {"ResponseID", "StartDate"} <= cols or _importid_rows(f):
        return "qualtrics"
    if cols & set(_REDCAP_META) or any(c.endswith("_complete") for c in cols) and "record_id" in cols:
        return "redcap"
    return "wide"


def _importid_rows(f: pd.DataFrame) -> int:
    """Number of leading Qualtrics header rows (question text, ImportId) in the data."""
    n = 0
    for i in range(min(2, len(f))):
        row = f.iloc[i]
        txt = [str(v) for v in row.to_numpy(object) if isinstance(v, str)]
        if any(t.startswith('{"ImportId"') for t in txt):
            n = i + 1
        elif i == 0 and (row.get("StartDate") == "Start Date" or row.get("ResponseId") == "Response ID"
                         or row.get("ResponseID") == "Response ID"):
            n = 1
    return n


# --------------------------------------------------------------------------
# REDCap


def _read_dictionary(dictionary, label: str) -> pd.DataFrame:
    d = dictionary if isinstance(dictionary, pd.DataFrame) else read_table(dictionary)
    ren = {c: norm_name(c) for c in d.columns if not str(c).startswith("_")}
    d = d.rename(columns=ren)
    need = {"variable_field_name", "field_type"}
    if not need <= set(d.columns):
        raise SchemaError(
            "the REDCap data dictionary lacks required columns",
            [Problem(str(getattr(dictionary, "name", dictionary)) if not isinstance(dictionary,
                                                                                    pd.DataFrame) else "dictionary",
                     1, c, None, "column missing",
                     "export the dictionary from REDCap (Project Setup > Data Dictionary > Download)")
             for c in ("Variable / Field Name", "Field Type") if norm_name(c) not in d.columns])
    choices = next((c for c in d.columns if c.startswith("choices")), None)
    out = pd.DataFrame({"field": d["variable_field_name"].astype(str).str.strip(),
                        "type": d["field_type"].astype(str).str.strip().str.lower(),
                        "form": d["form_name"].astype(str) if "form_name" in d.columns else "",
                        "choices": d[choices] if choices else None,
                        "validation": d[next((c for c in d.columns if c.startswith("text_validation_type")),
                                             "field_type")]
                        .astype(str).str.lower()})
    return out


def _parse_choices(text) -> dict[str, str]:
    """'0, Not at all | 1, Several days' -> {'not at all': '0', ...} (label -> code)."""
    if not isinstance(text, str):
        return {}
    out = {}
    for part in text.split("|"):
        code, _, lab = part.partition(",")
        if lab:
            out[" ".join(lab.split()).casefold()] = code.strip()
    return out


def _redcap(raw: RawSheet, dictionary, events, timepoint, problems) -> tuple[pd.DataFrame, list[str]]:
    f = raw.frame
    items: list[str] = []
    dic = _read_dictionary(dictionary, raw.label) if dictionary is not None else None
    # the record id: record_id, or the first dictionary field, or the first column
    if "member_id" not in f.columns:
        rid = "record_id" if "record_id" in f.columns else (
            dic["field"].iloc[0] if dic is not None and len(dic) and dic["field"].iloc[0] in f.columns
            else f.columns[0])
        f = f.rename(columns={rid: "member_id"})
    f["member_id"] = f["member_id"].astype(_STR) if not isinstance(f["member_id"].dtype, pd.StringDtype) \
        else f["member_id"]
    # timepoint from the event name
    if "timepoint" not in f.columns:
        if "redcap_event_name" in f.columns:
            ev = f["redcap_event_name"].astype(_STR)
            mapped = ev.map(dict(events)) if events else pd.Series(pd.NA, index=ev.index, dtype=object)
            stripped = ev.str.replace(_ARM, "", regex=True)
            f["timepoint"] = mapped.where(mapped.notna(), stripped).astype(_STR)
            if events:
                unknown = sorted(set(events) - set(ev.dropna().unique()))
                if unknown:
                    problems.append(Problem(raw.label, None, "redcap_event_name", ", ".join(unknown),
                                            "events= names events that are not in the export",
                                            "use the event names of the export: "
                                            + ", ".join(sorted(ev.dropna().unique()))))
        elif timepoint is None:
            raise SchemaError(f"{raw.label} has no redcap_event_name or timepoint column",
                              [Problem(raw.label, raw.header_row, "timepoint", None,
                                       "a classic (non-longitudinal) REDCap export does not say the timepoint",
                                       "pass timepoint='baseline' (one file per timepoint) or add a "
                                       "'timepoint' field")])
    # item fields
    if dic is not None:
        is_item = dic["type"].isin(_ITEM_TYPES) | ((dic["type"] == "text")
                                                   & dic["validation"].str.contains("integer|number", regex=True))
        for fld, ch in zip(dic.loc[is_item, "field"], dic.loc[is_item, "choices"]):
            if fld in f.columns:
                items.append(fld)
                lab = _parse_choices(ch)
                col = f[fld]
                if lab and not pd.api.types.is_numeric_dtype(col.dtype):
                    codes, uniq = pd.factorize(col)          # labels -> codes, per distinct value
                    mapped = np.array([lab.get(" ".join(u.split()).casefold(), u) if isinstance(u, str) else u
                                       for u in uniq] + [None], dtype=object)
                    f[fld] = pd.Series(mapped[codes], index=f.index, dtype=object)
        checkbox = set(dic.loc[dic["type"] == "checkbox", "field"])
        for c in f.columns:
            if "___" in c and c.split("___")[0] in checkbox:
                items.append(c)  # 0/1 per checked option, kept as numbers
    # merge repeat-instrument rows into one row per member x timepoint
    f = _merge_rows(f, raw, problems)
    f = f.drop(columns=[c for c in ("redcap_repeat_instrument", "redcap_repeat_instance") if c in f.columns])
    for c in f.columns:
        if c.endswith("_complete"):
            f[c] = pd.to_numeric(f[c], errors="coerce")
    return f, items


def _merge_rows(f: pd.DataFrame, raw: RawSheet, problems) -> pd.DataFrame:
    keys = ["member_id", "timepoint"] if "timepoint" in f.columns else ["member_id"]
    dup = f.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return f
    d = f.loc[dup]
    value_cols = [c for c in f.columns if c not in keys and c not in (SOURCE_FILE, SOURCE_ROW,
                                                                       "redcap_repeat_instrument",
                                                                       "redcap_repeat_instance")]
    g = d.groupby(keys, sort=False, dropna=False)
    nun = g[value_cols].nunique(dropna=True)
    conflict = nun > 1
    if conflict.to_numpy().any():
        for key, row in conflict.iterrows():  # conflicting groups only (an error path)
            key = key if isinstance(key, tuple) else (key,)
            sel = np.logical_and.reduce([d[k].to_numpy(object) == v for k, v in zip(keys, key)])
            for c in row.index[row.to_numpy()]:
                rows = d.loc[sel, SOURCE_ROW].tolist()
                col = d.loc[sel, c]
                nn = col.dropna()
                vals = nn.unique().tolist()
                at = int(d.loc[sel, SOURCE_ROW][col.notna() & (col != nn.iloc[0])].iloc[0])
                problems.append(Problem(raw.label, at, c, vals,
                                        f"member {key[0]!r} at {key[-1]!r} has different values in rows {rows} "
                                        "(repeated instrument instances?)",
                                        "keep one instance per event in the export, or give each its own event"))
        return f
    merged = g[value_cols].first()
    merged[SOURCE_ROW] = g[SOURCE_ROW].min()
    merged[SOURCE_FILE] = g[SOURCE_FILE].first()
    merged = merged.reset_index()
    out = pd.concat([f.loc[~dup], merged[f.columns.intersection(merged.columns)]], ignore_index=True)
    return out.sort_values(SOURCE_ROW, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------
# Qualtrics


def _qualtrics(raw: RawSheet, info) -> pd.DataFrame:
    f = raw.frame
    n = _importid_rows(f)
    f = f.iloc[n:].reset_index(drop=True)
    drop = [c for c in QUALTRICS_DROPPED if c in f.columns]
    drop += [c for c in _QUALTRICS_EMPTY if c in f.columns and f[c].isna().all() and c not in _CANON]
    info["dropped_columns"] += drop
    f = f.drop(columns=drop)
    if "completed_on" not in f.columns and "RecordedDate" in f.columns:
        f = f.rename(columns={"RecordedDate": "completed_on"})
    # the header rows made every column text: re-infer numbers
    for c in f.columns:
        if c in _CANON or c.startswith("_") or pd.api.types.is_numeric_dtype(f[c].dtype):
            continue
        s = f[c]
        num, bad = text_to_float(s)
        if s.notna().any() and not bad.any() and num.notna().any():
            f[c] = num
    return f


# --------------------------------------------------------------------------


_NUMERIC = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def text_to_float(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Text cells -> float64 (vectorised in Arrow); also the mask of non-blank cells that are not numbers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64"), np.zeros(len(s), bool)
    if not isinstance(s.dtype, pd.StringDtype):
        obj = s.astype(object)
        vals = obj.to_numpy()
        nums = np.fromiter((isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                            for v in vals), bool, len(vals))
        if nums.all() or (nums | obj.isna().to_numpy()).all():
            return pd.to_numeric(obj, errors="coerce").astype("float64"), np.zeros(len(s), bool)
        s = obj.map(str, na_action="ignore")
    arr = pa.array(s.astype(_STR).array)
    arr = pc.utf8_trim_whitespace(arr)
    ok = pc.match_substring_regex(arr, _NUMERIC)
    num = pc.cast(pc.if_else(ok, arr, pa.scalar(None, pa.string())), pa.float64())
    out = pd.Series(num.to_numpy(zero_copy_only=False), index=s.index, dtype="float64")
    bad = pc.and_(pc.invert(pc.fill_null(ok, True)), pc.not_equal(arr, "")).fill_null(False)
    return out, np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool)


def _to_items(f: pd.DataFrame, items: list[str], raw: RawSheet, problems, recode_99: bool, info,
              text_items: bool = False) -> None:
    for c in items:
        num, bad = text_to_float(f[c])
        if bad.any() and text_items:
            # answers in words: kept as (stripped) text for validation to map answer labels to codes
            info["text_items"].append(c)
            f[c] = f[c].astype(object).where(f[c].notna(), None)
            continue
        if bad.any():
            problems.extend(Problem(raw.label, int(r), c, v, "item response is not a number",
                                    "export numeric values (REDCap: raw data, not labels; Qualtrics: "
                                    "'Use numeric values'), or map labels to codes")
                            for r, v in zip(f.loc[bad, SOURCE_ROW], f.loc[bad, c]))
        if recode_99:
            m = (num == -99).to_numpy()
            if m.any():
                info["recoded_minus99"] += int(m.sum())
                num = num.mask(m)
        f[c] = num


def read_survey(path, format: str = "auto", *, columns: Mapping[str, str] | None = None, dictionary=None,
                events: Mapping[str, str] | None = None, sheet: str | None = None,
                timepoint: str | None = None, dayfirst: bool | None = None, text_items: bool = False) -> pd.DataFrame:
    """Read a survey export (wide, REDCap or Qualtrics) into the canonical responses table.

    Parameters
    ----------
    path
        CSV / XLSX / Parquet file.
    format
        ``"auto"`` (default), ``"wide"``, ``"redcap"`` or ``"qualtrics"``.
        Auto: ``ResponseId`` + ``StartDate`` columns or an ``{"ImportId": ...}``
        header row -> Qualtrics; ``redcap_event_name`` /
        ``redcap_repeat_instrument`` columns -> REDCap; otherwise wide.
    columns
        Raw -> canonical renames (``{"Participant ID": "member_id",
        "Q1_1": "phq9_1"}``).  Without them ``Member ID`` / ``participant_id``
        -> ``member_id``, ``wave`` -> ``timepoint``, ``completion_date`` ->
        ``completed_on`` and ``PHQ9_1`` -> ``phq9_1`` are recognised.
    dictionary
        REDCap data dictionary (path or DataFrame).  Its radio / dropdown /
        slider / yesno / truefalse / calc fields and integer/number text fields
        are items; label exports are mapped back to codes with its choices;
        checkbox columns ``field___code`` are kept as 0/1 numbers.
    events
        REDCap event -> timepoint, e.g. ``{"baseline_arm_1": "baseline"}``.
        Events not listed lose their ``_arm_<n>`` suffix.
    sheet
        Read one sheet of a workbook only (several sheets are stacked; without
        a timepoint column a sheet's name is its timepoint).
    timepoint
        The timepoint of a file that holds one (e.g. a Qualtrics survey per wave).
    dayfirst
        Reading of dates such as ``03/02/2025`` in ``completed_on``.
    text_items
        Keep item columns that hold words (answers such as "Strongly agree")
        as text instead of refusing them; their names are in
        ``df.attrs["groupeval_text_items"]``.  :func:`groupeval.load` uses it:
        validation turns answer labels into codes and reports other words.

    Returns
    -------
    DataFrame
        ``member_id`` (string), ``timepoint`` (string), ``completed_on``
        (``datetime64[ns]``, when present), ``group_id`` (string, when
        present), the item columns ``<instrument>_<n>`` as float64 (NaN =
        unanswered), other columns of the file, ``_source_file`` and
        ``_source_row`` (spreadsheet row; Qualtrics rows count the three header
        rows, so the first response is row 4; a merged REDCap row gives its
        first source row).

        ``df.attrs``: ``groupeval_shape``, ``groupeval_items`` (item columns),
        ``groupeval_dropped_columns`` (Qualtrics IP / location columns and
        empty contact columns), ``groupeval_recoded_minus99`` (Qualtrics -99
        "seen but unanswered" codes set to NaN), ``groupeval_blank_rows``.

    Raises
    ------
    ReadError
        Item values that are not numbers (all listed), REDCap rows of one
        member and event that disagree, unreadable dates, plus every
        file-level problem of :func:`read_table`.
    SchemaError
        No member id or timepoint column.
    """
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}, got {format!r}")
    sheets = read_sheets(path, sheet=sheet, columns=columns, recognise=_recognise,
                         text_names=("member_id", "timepoint", "group_id", "record_id", "redcap_event_name",
                                     "redcap_repeat_instrument"))
    _require_rows(sheets)
    problems: list[Problem] = []
    info: dict = {"dropped_columns": [], "recoded_minus99": 0, "text_items": []}
    frames = []
    shapes = set()
    for raw in sheets:
        shape = _detect(raw.frame) if format == "auto" else format
        if format == "auto" and dictionary is not None and shape == "wide":
            shape = "redcap"
        shapes.add(shape)
        if events and shape != "redcap":
            raise ConfigError(f"events= maps REDCap event names, but {raw.label} reads as a {shape} export; "
                              "drop events= or pass format='redcap'")
        items: list[str] = []
        if shape == "qualtrics":
            f = _qualtrics(raw, info)
        elif shape == "redcap":
            f, items = _redcap(raw, dictionary, events, timepoint, problems)
        else:
            f = raw.frame
        if "timepoint" not in f.columns:
            tp = timepoint if timepoint is not None else (raw.sheet if len(sheets) > 1 else None)
            if tp is None:
                raise SchemaError(
                    f"{raw.label} has no timepoint column",
                    [Problem(raw.label, raw.header_row, "timepoint", None, "required column is missing",
                             "add a timepoint column (baseline, week_12, ...), map yours with "
                             "columns={'<raw name>': 'timepoint'}, or pass timepoint='baseline'; columns found: "
                             + ", ".join(c for c in f.columns if not c.startswith("_")))])
            f = f.assign(timepoint=pd.Series(tp, index=f.index, dtype=_STR))
        elif timepoint is not None:
            raise ConfigError(f"timepoint= was given but {raw.label} has a timepoint column; drop one of them")
        if "member_id" not in f.columns:
            hint = " (Qualtrics: map the embedded-data field or ExternalReference)" if shape == "qualtrics" else ""
            raise SchemaError(
                f"{raw.label} has no member_id column",
                [Problem(raw.label, raw.header_row, "member_id", None, "required column is missing",
                         "name the column of member ids 'member_id' or pass columns={'<raw name>': 'member_id'}"
                         + hint + "; columns found: " + ", ".join(c for c in f.columns if not c.startswith("_")))])
        items = list(dict.fromkeys(items + [c for c in f.columns if ITEM_PATTERN.match(c) and c not in _CANON
                                            and not c.endswith("_complete") and not c.startswith("redcap_")]))
        _to_items(f, items, raw, problems, shape == "qualtrics", info, text_items)
        for c in ("member_id", "timepoint", "group_id"):
            if c in f.columns:
                f[c] = _text(f[c])
        if "completed_on" in f.columns:
            d, bad, _ = parse_dates(f["completed_on"], dayfirst=dayfirst, label=raw.label, column="completed_on")
            if bad.any():
                problems.extend(Problem(raw.label, int(r), "completed_on", v, "not a date",
                                        "write dates as YYYY-MM-DD")
                                for r, v in zip(f.loc[bad, SOURCE_ROW], f.loc[bad, "completed_on"]))
            f["completed_on"] = d
        frames.append((f, items))
    if problems:
        raise ReadError(f"survey file {sheets[0].label.split(' [')[0]} cannot be read", problems)
    out = frames[0][0] if len(frames) == 1 else pd.concat([x for x, _ in frames], ignore_index=True)
    items = list(dict.fromkeys(i for _, its in frames for i in its))
    lead = [c for c in _CANON if c in out.columns] + items
    tail = [SOURCE_FILE, SOURCE_ROW]
    out = out[lead + [c for c in out.columns if c not in lead and c not in tail] + tail].reset_index(drop=True)
    out.attrs = {
        "groupeval_shape": shapes.pop() if len(shapes) == 1 else "mixed",
        "groupeval_items": items,
        "groupeval_dropped_columns": info["dropped_columns"],
        "groupeval_recoded_minus99": info["recoded_minus99"],
        "groupeval_blank_rows": sum(r.blank_rows for r in sheets),
        "groupeval_text_items": list(dict.fromkeys(info["text_items"])),
    }
    return out


def _text(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.StringDtype):
        return s
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.astype(object).map(lambda x: str(int(x)) if float(x).is_integer() else str(x), na_action="ignore")
        return v.astype(_STR)
    return s.astype(object).where(s.notna(), None).map(str, na_action="ignore").astype(_STR)
