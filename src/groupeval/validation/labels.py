"""Surveys answered in words: answer labels ("Strongly agree") -> item codes.

Google Forms, Microsoft Forms and label exports write the chosen answer
option, not its code.  :func:`code_answer_labels` turns every item column
whose cells are such labels into codes, with the labels of the instrument's
registry entry (:attr:`groupeval.instruments.Instrument.answer_labels`) and
any the user gives (``labels=`` / ``[labels.<instrument>]`` in the TOML).
Labels are matched with :func:`groupeval.instruments.label_key` (case,
accents, whitespace and punctuation ignored); ``"4 - Agree"`` and
``"Agree (4)"`` are read when the number is the label's code.

Every conversion is recorded: one quality-report line per file, column and
label, with the number of cells.  A word that is no label of the
instrument is a problem (one per cell, all raised together by validation),
never a guess.  The work is done per distinct value of a column.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, GroupevalError, Problem, ValidationError
from ..base.instruments import Instrument, label_key
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ..base.vocab import is_missing_text
from ..io import SourceTable

__all__ = ["code_answer_labels", "check_label_maps", "WORD_REASON"]

#: reason of a problem cell: an item answer that is a word no label map knows
WORD_REASON = "item response is not a number"
_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")
_CODE_FIRST = re.compile(r"^\s*([+-]?\d+)\s*[-=:.)\u2013\u2014]\s*(.+?)\s*$")
_CODE_LAST = re.compile(r"^\s*(.+?)\s*[(\[]\s*([+-]?\d+)\s*[)\]]\s*$")


def check_label_maps(labels: Any, where: str = "labels=") -> dict[str, dict[str, int]]:
    """``{instrument or item column: {label: code}}`` checked; ConfigError naming every bad entry."""
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise ConfigError(f"{where} must map an instrument name (or item column) to {{label: code}}, e.g. "
                          "{'brs': {'Somewhat agree': 4}}")
    out: dict[str, dict[str, int]] = {}
    problems = []
    for name, table in labels.items():
        if not isinstance(table, Mapping) or not table:
            problems.append(Problem(where, None, str(name), None, "must be a table of label = code",
                                    f'[labels.{name}]\n"Strongly agree" = 5'))
            continue
        clean: dict[str, int] = {}
        for lab, code in table.items():
            if (isinstance(code, bool) or not isinstance(code, (int, float)) or not float(code).is_integer()
                    or not label_key(lab)):
                problems.append(Problem(where, None, f"{name}.{lab}", code,
                                        "each answer label needs a whole-number code",
                                        f'"{lab}" = 3  (the number the answer stands for)'))
                continue
            clean[str(lab)] = int(code)
        out[str(name).strip().lower()] = clean
    if problems:
        raise ConfigError(f"{where} has problems", problems)
    return out


def _key_map(labels: Mapping[str, int]) -> dict[str, int]:
    return {label_key(k): int(v) for k, v in labels.items()}


def _maps_for(prefix: str, instrument: Instrument | None,
              user: Mapping[str, Mapping[str, int]]) -> tuple[dict[str, int], dict[str, str], str]:
    """Key -> code for an instrument (shipped labels, then the user's), key -> label as written there,
    and a description of where the labels came from."""
    keys: dict[str, int] = {}
    shown: dict[str, str] = {}
    whence = []
    if instrument is not None and instrument.answer_labels:
        keys.update(_key_map(instrument.answer_labels))
        shown.update({label_key(k): k for k in instrument.answer_labels})
        whence.append(f"the {instrument.label} answer labels")
    if prefix in user:
        keys.update(_key_map(user[prefix]))
        shown.update({label_key(k): k for k in user[prefix]})
        whence.append(f"your [labels.{prefix}]")
    return keys, shown, " and ".join(whence)


def _lookup(text: str, keys: Mapping[str, int]) -> tuple[int | None, str | None, str]:
    """(code, matched key, how) for one distinct cell text; code None when it is no label."""
    k = label_key(text)
    if k in keys:
        return keys[k], k, "label"
    for pat, num_first in ((_CODE_FIRST, True), (_CODE_LAST, False)):
        m = pat.match(text)
        if m:
            num, lab = (m.group(1), m.group(2)) if num_first else (m.group(2), m.group(1))
            lk = label_key(lab)
            if lk in keys:
                if int(num) == keys[lk]:
                    return keys[lk], lk, "label"
                return None, lk, "mismatch"
    return None, None, "unknown"


def code_answer_labels(frames: Iterable[Any], *, instruments: Mapping[str, Instrument | None],
                       labels: Mapping[str, Mapping[str, int]] | None = None,
                       item_ranges: Mapping[str, tuple[float, float]] | None = None,
                       ) -> tuple[list[Any], list[tuple[type[GroupevalError], Problem]], pd.DataFrame]:
    """Convert answer labels in the item columns of response frames to codes.

    Parameters
    ----------
    frames
        Raw responses tables: the readers' :class:`~groupeval.io.SourceTable`
        objects, or DataFrames (their ``_source_file`` / ``_source_row``
        columns, when present, name the cells of problems).
    instruments
        Item-column prefix -> its :class:`Instrument` (None for a prefix known
        only from ``item_ranges`` / user labels).
    labels
        User label maps: ``{instrument name or item column: {label: code}}``;
        a column's own map is used before its instrument's, and both before
        the shipped labels.
    item_ranges
        ``{prefix: (min, max)}``: a converted code outside it stays a problem
        for the range rule of validation (nothing is clipped).

    Returns
    -------
    frames, problems, quality
        The frames with converted columns (other columns untouched; a column
        that still holds words keeps NaN in their cells, and each such cell is
        a problem), the problems (``ValidationError``), and the quality-report
        lines, one per file, column and label: ``row`` = NA, ``value`` =
        ``"<label> = <code> (<n> cell(s))"``, ``reason`` = ``"answer labels
        converted to codes (with <where the labels come from>)"``, ``action``
        = ``"repaired"``.
    """
    user = {k: dict(v) for k, v in (labels or {}).items()}
    prefixes = list(dict.fromkeys([*instruments, *(item_ranges or {}),
                                   *(u.rsplit("_", 1)[0] if re.search(r"_\d+$", u) else u for u in user)]))
    problems: list[tuple[type[GroupevalError], Problem]] = []
    quality: list[dict[str, Any]] = []
    out = []
    for obj in frames:
        df = obj.table if isinstance(obj, SourceTable) else obj
        if not isinstance(df, pd.DataFrame):
            out.append(obj)
            continue
        changed: dict[str, pd.Series] = {}
        for col in df.columns:
            m = re.match(r"^(?P<p>[a-z][a-z0-9_]*?)_(?P<n>\d+)$", re.sub(r"[^0-9a-z]+", "_",
                                                                         str(col).strip().lower()).strip("_"))
            if m is None or m.group("p") not in prefixes:
                continue
            s = df[col]
            if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                continue
            prefix = m.group("p")
            inst = instruments.get(prefix)
            keys, shown, whence = _maps_for(prefix, inst, user)
            colname = re.sub(r"[^0-9a-z]+", "_", str(col).strip().lower()).strip("_")
            if colname in user:  # the column's own labels win
                keys.update(_key_map(user[colname]))
                shown.update({label_key(k): k for k in user[colname]})
                whence = (whence + " and " if whence else "") + f"your [labels.{colname}]"
            res = _convert_column(df, col, s, keys)
            if res is None:
                continue
            values, words, codes_rows, key_rows = res
            changed[col] = values
            files, rows = _provenance(obj, df)
            conv = codes_rows >= 0
            if conv.any():
                tab = pd.DataFrame({"file": pd.Series(files[conv], dtype=object).map(lambda f: str(f).split(" [")[0]),
                                    "key": key_rows[conv], "code": codes_rows[conv]})
                for (file, key, code), n in tab.groupby(["file", "key", "code"], sort=True).size().items():
                    quality.append({"file": file, "row": pd.NA, "column": str(col),
                                    "value": f"{shown.get(key, key)} = {int(code)} ({int(n)} cell(s))",
                                    "reason": f"answer labels converted to codes (with {whence})",
                                    "action": "repaired"})
            bad_rows = np.flatnonzero(words != "")
            if len(bad_rows):
                name = inst.label if inst is not None else prefix
                known = ", ".join(f"{shown[k]!r} = {c}" for k, c in sorted(keys.items(), key=lambda kv: kv[1])
                                  if k in shown)
                raw = s.to_numpy(dtype=object)
                for r in bad_rows:  # problem cells only (an error path: every one is reported)
                    kind = words[r]
                    if kind == "mismatch":
                        reason = "answer gives a number that is not the code of its label"
                        fix = (f"check the form: in {whence or name} the label has another code; correct the "
                               "answer options of the form or give your codes under [labels." + prefix + "]")
                    else:
                        reason = WORD_REASON
                        if keys:
                            fix = (f"this word is not one of {whence} ({known}); if it is one of your form's "
                                   f"answer options, add it with its code under [labels.{prefix}] in "
                                   "groupeval.toml (or labels= in Python)")
                        else:
                            fix = (f"groupeval has no answer labels for {name}; list your form's answer options "
                                   f"with their codes under [labels.{prefix}] in groupeval.toml, e.g. "
                                   f"\"{raw[r]}\" = 3 (or labels={{'{prefix}': {{...}}}} in Python)")
                    problems.append((ValidationError, Problem(str(files[r]), int(rows[r]), str(col), raw[r],
                                                              reason, fix)))
        if changed:
            df = _replace_columns(df, changed)
        out.append(obj.with_table(df) if isinstance(obj, SourceTable) else df)
    qf = pd.DataFrame(quality, columns=["file", "row", "column", "value", "reason", "action"])
    return out, problems, qf


def _provenance(obj: Any, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(file label, spreadsheet row) of every row of a SourceTable or a DataFrame."""
    if isinstance(obj, SourceTable):
        return np.asarray(obj.file, dtype=object), np.asarray(obj.row)
    files = df[SOURCE_FILE].to_numpy(dtype=object) if SOURCE_FILE in df else np.full(len(df), "responses",
                                                                                      dtype=object)
    rows = df[SOURCE_ROW].to_numpy() if SOURCE_ROW in df else np.arange(2, len(df) + 2)
    return files, rows


def _replace_columns(df: pd.DataFrame, changed: Mapping[str, pd.Series]) -> pd.DataFrame:
    df = df.copy(deep=False)
    for c, v in changed.items():
        df[c] = v
    return df


def _convert_column(df: pd.DataFrame, col: str, s: pd.Series, keys: Mapping[str, int]):
    """Per distinct value: numbers stay, labels become codes, other words are marked.

    Returns None when the column holds no word at all; otherwise (values as
    float64 with NaN for the marked words, per row: "" / "unknown" /
    "mismatch", per row the code used (-1: none), per row the matched key).
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if not len(uniques):
        return None
    u_val = np.full(len(uniques) + 1, np.nan)
    u_word = np.full(len(uniques) + 1, "", dtype=object)
    u_code = np.full(len(uniques) + 1, -1, dtype=np.int64)
    u_key = np.full(len(uniques) + 1, None, dtype=object)
    u_keep = np.zeros(len(uniques) + 1, dtype=bool)  # cells left as written (missing-value text)
    any_word = False
    for i, v in enumerate(uniques):  # distinct values only
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
            u_val[i] = float(v)
            continue
        t = str(v).strip()
        if not t:
            continue
        if is_missing_text(t):  # "N/A", "#N/A", "NULL": validation reads them as unanswered and records it
            u_val[i] = np.nan
            u_keep[i] = True
            continue
        if _NUMBER.match(t):
            u_val[i] = float(t.replace(",", "."))
            continue
        any_word = True
        code, key, how = _lookup(t, keys)
        if code is not None:
            u_val[i], u_code[i], u_key[i] = float(code), code, key
        else:
            u_word[i] = how
    if not any_word:
        return None
    idx = np.where(codes >= 0, codes, len(uniques))
    values = pd.Series(u_val[idx], index=df.index, dtype="float64", name=col)
    if u_keep.any():  # keep missing-value text as written, for validation's own record of it
        raw = s.astype(object).to_numpy()
        values = pd.Series(np.where(u_keep[idx], raw, values.to_numpy(dtype=object)), index=df.index, name=col,
                           dtype=object)
    return values, u_word[idx], u_code[idx], u_key[idx]
