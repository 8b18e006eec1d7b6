"""REDCap exports: the data dictionary, events and arms, repeating instruments, choice fields.

The **data dictionary** (classic ``Variable / Field Name`` ... columns, or the
API's ``field_name``, ``select_choices_or_calculations`` ...) decides what a
column is:

* radio / dropdown fields with numeric codes, yesno, truefalse, slider and
  checkbox options are **items** (numbers);
* radio / dropdown fields with letter or text codes (``a, Carnation``) are
  text columns holding the code;
* text fields validated as numbers become numbers (``36,5`` reads as 36.5
  for the ``*_comma_decimal`` validations); calc fields too;
* text, notes, date, phone, e-mail, file, calc and descriptive fields are
  never items, whatever their name (``telephone_1`` is not item 1 of an
  instrument ``telephone``).

Exports of choice **labels** ("Yes", "Checked", "Not at all") are mapped back
to the codes, and every mapping is noted.  Fields flagged ``Identifier? = y``
are reported to the identifier guard.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, Problem, SchemaError
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ..base.vocab import norm_name
from ._aliases import is_item_name
from ._notes import Note
from ._sheet import MAX_LISTED, RawSheet

__all__ = ["Dictionary", "read_dictionary", "redcap_frame", "REDCAP_META", "is_redcap", "parse_choices"]

REDCAP_META = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
               "redcap_data_access_group", "redcap_survey_identifier")
_ARM = re.compile(r"_arm_(\d+)$")
_STR = "string[pyarrow]"
_NUM = re.compile(r"^\s*[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?\s*$")
#: label exports of the binary field types (and checkbox options), case-insensitive
_BINARY_LABELS = {"yesno": {"yes": "1", "no": "0"}, "truefalse": {"true": "1", "false": "0"},
                  "checkbox": {"checked": "1", "unchecked": "0"}}
#: dictionary column -> its normalised spellings (classic export, API metadata)
_DICT_COLUMNS = {"field": ("variable_field_name", "field_name"), "type": ("field_type",),
                 "form": ("form_name",), "choices": ("choices_calculations_or_slider_labels",
                                                     "select_choices_or_calculations"),
                 "validation": ("text_validation_type_or_show_slider_number",), "identifier": ("identifier",)}


def parse_choices(text: object) -> dict[str, str]:
    """'0, Not at all | 1, Several days' -> {'0': 'Not at all', '1': 'Several days'} (code -> label)."""
    if not isinstance(text, str):
        return {}
    out = {}
    for part in text.split("|"):
        code, sep, lab = part.partition(",")
        if sep and code.strip():
            out[code.strip()] = " ".join(lab.split())
    return out


@dataclass(frozen=True)
class Field:
    """One field of a REDCap data dictionary."""

    name: str
    type: str
    form: str = ""
    choices: Mapping[str, str] = field(default_factory=dict)
    validation: str = ""
    identifier: bool = False

    @property
    def numeric_codes(self) -> bool:
        return bool(self.choices) and all(_NUM.match(c) for c in self.choices)

    @property
    def is_item(self) -> bool:
        if self.type in ("radio", "dropdown"):
            return self.numeric_codes or not self.choices
        return self.type in ("yesno", "truefalse", "slider")

    @property
    def is_number(self) -> bool:
        """A text field validated as a number (or a calc field)."""
        return (self.type == "text" and (self.validation.startswith("number") or self.validation == "integer")) \
            or self.type == "calc"


@dataclass(frozen=True)
class Dictionary:
    fields: Mapping[str, Field]
    first: str | None

    def checkbox_of(self, column: str) -> Field | None:
        base, sep, _ = column.partition("___")
        f = self.fields.get(base) if sep else None
        return f if f is not None and f.type == "checkbox" else None


def _dictionary_label(dictionary: Any) -> str:
    return "dictionary" if isinstance(dictionary, pd.DataFrame) else str(getattr(dictionary, "name", dictionary))


def read_dictionary(dictionary: Any) -> Dictionary:
    """A REDCap data dictionary (path or DataFrame; classic or API column names)."""
    from ._files import read_table

    d = dictionary if isinstance(dictionary, pd.DataFrame) else read_table(dictionary)
    by_norm = {norm_name(c): c for c in d.columns if not str(c).startswith("_")}
    cols = {k: next((by_norm[n] for n in names if n in by_norm), None) for k, names in _DICT_COLUMNS.items()}
    if cols["field"] is None or cols["type"] is None:
        label = _dictionary_label(dictionary)
        raise SchemaError(
            "the REDCap data dictionary lacks required columns",
            [Problem(label, 1, c, None, "column missing",
                     "export the dictionary from REDCap (Project Setup > Data Dictionary > Download), or the "
                     "API metadata (field_name, field_type, ...)")
             for c, k in (("Variable / Field Name", "field"), ("Field Type", "type")) if cols[k] is None])

    def text(key: str) -> list[str]:
        c = cols[key]
        if c is None:
            return [""] * len(d)
        return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
                for v in d[c].astype(object)]

    names, types, forms, choices, valid, ident = (text(k) for k in _DICT_COLUMNS)
    fields = {n: Field(n, t.lower(), fm, parse_choices(ch), v.lower(), i.lower() in ("y", "yes", "1"))
              for n, t, fm, ch, v, i in zip(names, types, forms, choices, valid, ident) if n}
    return Dictionary(fields, next(iter(fields), None))


def is_redcap(columns: Any) -> bool:
    cols = set(columns)
    return bool(cols & set(REDCAP_META)) or (any(c.endswith("_complete") for c in cols) and "record_id" in cols)


# --------------------------------------------------------------------------- events, arms, repeats


def _member(f: pd.DataFrame, dic: Dictionary | None) -> pd.DataFrame:
    """The record id becomes member_id: record_id, or the dictionary's first field, or the first column."""
    if "member_id" not in f.columns:
        rid = "record_id" if "record_id" in f.columns else (
            dic.first if dic is not None and dic.first in f.columns else f.columns[0])
        f = f.rename(columns={rid: "member_id"})
    if not isinstance(f["member_id"].dtype, pd.StringDtype):
        f["member_id"] = f["member_id"].astype(object).where(f["member_id"].notna(), None).map(
            lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v), na_action="ignore"
        ).astype(_STR)
    return f


def _arms_problem(raw: RawSheet, f: pd.DataFrame, stripped: pd.Series, arm: pd.Series) -> Problem | None:
    both = pd.DataFrame({"m": f["member_id"], "e": stripped, "a": arm}).dropna()
    n_arms = both.groupby(["m", "e"], sort=False)["a"].nunique()
    multi = n_arms[n_arms > 1]
    if not len(multi):
        return None
    who = ", ".join(f"{m!r} ({e})" for m, e in list(multi.index)[:10])
    return Problem(raw.label, None, "redcap_event_name", who,
                   "records appear in several arms of the same event, so the event alone does not say the "
                   "timepoint",
                   "pass events= mapping each event of each arm to its own timepoint (e.g. "
                   "{'event_1_arm_1': 'baseline', 'event_1_arm_2': 'baseline_arm_2'}), or export one arm")


def _events(raw: RawSheet, f: pd.DataFrame, events: Mapping[str, str] | None, problems: list[Problem]) -> None:
    """Timepoint from the event name (events= first, else without ``_arm_<n>``)."""
    ev = f["redcap_event_name"].astype(_STR)
    mapped = ev.map(dict(events)) if events else pd.Series(pd.NA, index=ev.index, dtype=object)
    stripped = ev.str.replace(_ARM, "", regex=True)
    f["timepoint"] = mapped.where(mapped.notna(), stripped).astype(_STR)
    present = sorted(ev.dropna().unique())
    if events:
        unknown = sorted(set(events) - set(present))
        if unknown:
            problems.append(Problem(raw.label, None, "redcap_event_name", ", ".join(unknown),
                                    "events= names events that are not in the export",
                                    "use the event names of the export: " + ", ".join(present)))
    unmapped = mapped.isna()
    if unmapped.any():
        p = _arms_problem(raw, f.loc[unmapped], stripped[unmapped], ev[unmapped].str.extract(_ARM)[0])
        if p is not None:
            problems.append(p)


def _repeat_timepoint(spec: Any, instrument: str, instance: int, event: str) -> str | None:
    if isinstance(spec, str):
        return spec.format(instance=instance, instrument=instrument, event=event)
    got = spec.get(instance, spec.get(str(instance)))
    return None if got is None else str(got)


def check_repeat_timepoints(spec: Any) -> None:
    """``repeat_timepoints=``: a mapping instance -> timepoint, or a template with ``{instance}``."""
    if spec is None:
        return
    if isinstance(spec, str):
        if "{instance}" not in spec:
            raise ConfigError("repeat_timepoints= as text must contain {instance}, e.g. 'visit_{instance}' "
                              "(also {instrument} and {event} may be used)")
        return
    if not isinstance(spec, Mapping) or not spec or not all(str(k).strip().isdigit() for k in spec):
        raise ConfigError("repeat_timepoints= must map instance numbers to timepoints, e.g. "
                          "{1: 'baseline', 2: 'week_12'} (TOML: repeat_timepoints = { 1 = \"baseline\" }), or be a "
                          "template such as 'visit_{instance}'")


def _instances_problem(raw: RawSheet, f: pd.DataFrame) -> Problem:
    rep = f["redcap_repeat_instrument"].notna() & (f["redcap_repeat_instrument"].astype(str) != "")
    names = ", ".join(sorted(set(f.loc[rep, "redcap_repeat_instrument"].astype(str))))
    top = int(pd.to_numeric(f["redcap_repeat_instance"], errors="coerce").max())
    return Problem(raw.label, None, "redcap_repeat_instance", names,
                   f"repeating instrument(s) {names} have several instances per record (up to {top}) with "
                   "different values; groupeval cannot tell which timepoint each is",
                   "say how instances map to timepoints: repeat_timepoints={1: 'baseline', 2: 'week_12'} (TOML: "
                   "repeat_timepoints = { 1 = \"baseline\", 2 = \"week_12\" }) or repeat_timepoints='visit_{instance}'")


def _several_instances(f: pd.DataFrame) -> bool:
    return "redcap_repeat_instance" in f.columns and bool(
        (pd.to_numeric(f["redcap_repeat_instance"], errors="coerce") > 1).any())


def _repeats(raw: RawSheet, f: pd.DataFrame, spec: Any, timepoint: str | None, problems: list[Problem],
             notes: list[Note]) -> pd.DataFrame:
    """Repeating-instrument rows: timepoints from ``repeat_timepoints=`` (several instances need it)."""
    if "redcap_repeat_instrument" not in f.columns:
        return f
    rep = f["redcap_repeat_instrument"].notna().to_numpy() & (f["redcap_repeat_instrument"].astype(str) != "")
    inst = pd.to_numeric(f.get("redcap_repeat_instance"), errors="coerce")
    if not rep.any() or (spec is None and not (inst[rep] > 1).any()):
        return f  # at most one instance per record: merged into the record's row
    if spec is None:
        return f  # merged if the instances agree; else the conflicts and _instances_problem say what to do
    has_event = "timepoint" in f.columns
    event = f["timepoint"].astype(object) if has_event else pd.Series("", index=f.index, dtype=object)
    tps = [_repeat_timepoint(spec, str(i), int(n), str(e)) if r else None
           for r, i, n, e in zip(rep, f["redcap_repeat_instrument"].astype(object), inst.fillna(0), event)]
    missing = [(r, n) for r, n, t, x in zip(f[SOURCE_ROW], inst, tps, rep) if x and t is None]
    if missing:
        problems.append(Problem(raw.label, int(missing[0][0]), "redcap_repeat_instance",
                                ", ".join(sorted({str(int(n)) for _, n in missing})),
                                "repeat_timepoints= gives no timepoint for these instances",
                                "add them to repeat_timepoints="))
        return f
    f = f.copy()
    if has_event or timepoint is not None:  # non-repeating rows keep their event (or the given timepoint)
        base_tp = event if has_event else pd.Series(timepoint, index=f.index, dtype=object)
        f["timepoint"] = pd.Series(np.where(rep, np.array(tps, dtype=object), base_tp.to_numpy(dtype=object)),
                                   index=f.index).astype(_STR)
        return f
    return _spread_base_rows(raw, f, rep, tps, notes)


def _spread_base_rows(raw: RawSheet, f: pd.DataFrame, rep: np.ndarray, tps: list[str | None],
                      notes: list[Note]) -> pd.DataFrame:
    """Fields of a record's non-repeating row carried onto each of its repeat rows (the base row goes).

    A record without any repeat row has no timepoint: its row is excluded (one note for all such rows).
    """
    base = f.loc[~rep].drop_duplicates("member_id").set_index("member_id")
    reps = f.loc[rep].copy()
    alone = ~rep & ~f["member_id"].isin(set(reps["member_id"])).to_numpy()
    if alone.any():
        ids = f.loc[alone, "member_id"].astype(str).tolist()
        notes.append(Note(raw.file, int(f.loc[alone, SOURCE_ROW].iloc[0]), "member_id", ", ".join(ids[:20]),
                          f"{len(ids)} record(s) without any repeated-instrument row: no timepoint, so their "
                          "row is excluded (pass timepoint= to keep the non-repeating rows as a timepoint of "
                          "their own)", "excluded", int(alone.sum())))
    reps["timepoint"] = pd.array([t for t, r in zip(tps, rep) if r], dtype=_STR)
    for c in f.columns:
        if c in ("member_id", "timepoint", SOURCE_FILE, SOURCE_ROW) or c.startswith("redcap_repeat"):
            continue
        fill = reps["member_id"].map(base[c]) if c in base.columns else None
        if fill is not None and fill.notna().any():
            reps[c] = reps[c].where(reps[c].notna(), fill)
    return reps.reset_index(drop=True)


# --------------------------------------------------------------------------- choice and number fields


def _cell_text(v: object) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return " ".join(str(v).split())


def _labels_to_codes(raw: RawSheet, f: pd.DataFrame, col: str, codes: Mapping[str, str], problems: list[Problem],
                     notes: list[Note], what: str) -> None:
    """Map the labels of a choice column to its codes (``codes``: label -> code); other values are problems."""
    s = f[col]
    code_set = set(codes.values())
    by_label = {" ".join(lab.split()).casefold(): code for lab, code in codes.items()}
    k, uniq = pd.factorize(s)
    out, mapped, unknown = [], [], []
    for i, u in enumerate(uniq):  # distinct values only
        key = _cell_text(u)
        if key in code_set:
            out.append(key)
        elif key.casefold() in by_label:
            out.append(by_label[key.casefold()])
            mapped.append(i)
        else:
            out.append(key)
            unknown.append(i)
    if unknown:
        bad = np.isin(k, unknown)
        problems.extend(Problem(raw.label, int(r), col, v, f"not one of the {what}'s choices",
                                "use the codes or labels of the data dictionary: " +
                                ", ".join(f"{c} = {lab}" for lab, c in list(codes.items())[:12]))
                        for r, v in zip(f.loc[bad, SOURCE_ROW][:MAX_LISTED], s[bad][:MAX_LISTED]))
    if not mapped:
        return
    n = int(np.isin(k, mapped).sum())
    notes.append(Note(raw.file, None, col, n, "REDCap choice labels mapped to their codes with the data "
                      "dictionary (count in value)", "repaired"))
    f[col] = pd.Series(np.array(out + [None], dtype=object)[k], index=f.index, dtype=object)


def _number(raw: RawSheet, f: pd.DataFrame, fld: Field, notes: list[Note]) -> None:
    """A number field to float64 (comma decimals where validated so); left as text if some value is not."""
    s = f[fld.name]
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return
    text = s.astype(object).where(s.notna(), None).map(str, na_action="ignore").str.strip()
    comma = "comma" in fld.validation
    fixed = text.str.replace(",", ".", regex=False) if comma else text
    num = pd.to_numeric(fixed, errors="coerce")
    bad = text.notna() & (text != "") & num.isna()
    if bad.any():
        notes.append(Note(raw.file, int(f.loc[bad, SOURCE_ROW].iloc[0]), fld.name, str(text[bad].iloc[0]),
                          f"the data dictionary validates {fld.name} as {fld.validation or fld.type}, but "
                          f"{int(bad.sum())} value(s) are not numbers: the column is kept as text", "flagged"))
        return
    f[fld.name] = num.astype("float64")


def _apply_dictionary(raw: RawSheet, f: pd.DataFrame, dic: Dictionary, problems: list[Problem],
                      notes: list[Note]) -> list[str]:
    """Dictionary-driven conversions; returns the item columns (file order)."""
    items: list[str] = []
    for col in list(f.columns):
        fld = dic.fields.get(col)
        box = dic.checkbox_of(col) if fld is None else None
        if box is not None:
            _labels_to_codes(raw, f, col, _BINARY_LABELS["checkbox"], problems, notes, "checkbox")
            items.append(col)
        elif fld is None:
            if is_item_name(col) and "___" not in col and col not in ("member_id", "timepoint"):
                items.append(col)  # a field the dictionary does not know: an item by its name, as without one
            continue
        elif fld.type in _BINARY_LABELS:
            _labels_to_codes(raw, f, col, _BINARY_LABELS[fld.type], problems, notes, "field")
            items.append(col)
        elif fld.type in ("radio", "dropdown") and fld.choices:
            _labels_to_codes(raw, f, col, {lab: c for c, lab in fld.choices.items()}, problems, notes, "field")
            if fld.numeric_codes:
                items.append(col)
        elif fld.is_item:
            items.append(col)
        elif fld.is_number:
            _number(raw, f, fld, notes)
    return items


def redcap_frame(raw: RawSheet, dictionary: Any, events: Mapping[str, str] | None, timepoint: str | None,
                 repeat_timepoints: Any, problems: list[Problem],
                 notes: list[Note]) -> tuple[pd.DataFrame, list[str] | None, dict[str, str]]:
    """(frame, item columns or None without a dictionary, identifier fields) of a REDCap export."""
    dic = read_dictionary(dictionary) if dictionary is not None else None
    f = _member(raw.frame.copy(deep=False), dic)
    before = len(problems)
    if "timepoint" not in f.columns:
        if "redcap_event_name" in f.columns:
            _events(raw, f, events, problems)
        elif timepoint is None and repeat_timepoints is None and not _several_instances(f):
            raise SchemaError(f"{raw.label} has no redcap_event_name or timepoint column",
                              [Problem(raw.label, raw.header_row, "timepoint", None,
                                       "a classic (non-longitudinal) REDCap export does not say the timepoint",
                                       "pass timepoint='baseline' (one file per timepoint) or add a "
                                       "'timepoint' field")])
    f = _repeats(raw, f, repeat_timepoints, timepoint, problems, notes)
    items = _apply_dictionary(raw, f, dic, problems, notes) if dic is not None else None
    ident = {c: "identifier (REDCap dictionary)" for c, fld in (dic.fields.items() if dic else ())
             if fld.identifier and c in f.columns and c != "member_id"}
    if len(problems) == before:  # rows of unknown timepoints (arms, instances) are not merged
        f = merge_rows(f, raw, problems)
        if len(problems) > before and repeat_timepoints is None and _several_instances(f):
            problems.insert(before, _instances_problem(raw, f))
    f = f.drop(columns=[c for c in ("redcap_repeat_instrument", "redcap_repeat_instance") if c in f.columns])
    for c in f.columns:
        if c.endswith("_complete"):
            f[c] = pd.to_numeric(f[c], errors="coerce")
    return f, items, ident


def merge_rows(f: pd.DataFrame, raw: RawSheet, problems: list[Problem]) -> pd.DataFrame:
    """Rows of one member x timepoint (repeat instrument rows) merged: first non-blank value of each field."""
    keys = ["member_id", "timepoint"] if "timepoint" in f.columns else ["member_id"]
    dup = f.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return f
    d = f.loc[dup]
    value_cols = [c for c in f.columns if c not in keys and c not in (SOURCE_FILE, SOURCE_ROW,
                                                                       "redcap_repeat_instrument",
                                                                       "redcap_repeat_instance")]
    g = d.groupby(keys, sort=False, dropna=False)
    conflict = g[value_cols].nunique(dropna=True) > 1
    if conflict.to_numpy().any():
        _conflict_problems(d, keys, conflict, raw, problems)
        return f
    merged = g[value_cols].first()
    merged[SOURCE_ROW] = g[SOURCE_ROW].min()
    merged[SOURCE_FILE] = g[SOURCE_FILE].first()
    merged = merged.reset_index()
    out = pd.concat([f.loc[~dup], merged[f.columns.intersection(merged.columns)]], ignore_index=True)
    return out.sort_values(SOURCE_ROW, kind="stable").reset_index(drop=True)


def _conflict_problems(d: pd.DataFrame, keys: list[str], conflict: pd.DataFrame, raw: RawSheet,
                       problems: list[Problem]) -> None:
    for key, row in conflict.iterrows():  # conflicting groups only (an error path)
        key = key if isinstance(key, tuple) else (key,)
        sel = np.logical_and.reduce([d[k].to_numpy(object) == v for k, v in zip(keys, key)])
        for c in row.index[row.to_numpy()]:
            rows = d.loc[sel, SOURCE_ROW].tolist()
            col = d.loc[sel, c]
            nn = col.dropna()
            at = int(d.loc[sel, SOURCE_ROW][col.notna() & (col != nn.iloc[0])].iloc[0])
            problems.append(Problem(raw.label, at, c, nn.unique().tolist(),
                                    f"member {key[0]!r} at {key[-1]!r} has different values in rows {rows} "
                                    "(repeated instrument instances?)",
                                    "keep one instance per event in the export, give each its own event, or say "
                                    "which timepoint each instance is with repeat_timepoints="))
