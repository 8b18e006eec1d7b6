"""Validation rules: the readers' tables in, canonical tables plus a quality report out.

This is the entry point of the *validation* layer of docs/design.md.  It
knows the canonical tables (:mod:`groupeval.base.schema`) but no instrument
registry: item ranges come in as plain ``{prefix: (min, max)}``.
:func:`validate_tables` is pure (no file access); :func:`groupeval.validate`
and :func:`groupeval.load` (:mod:`.load`) call it.  Its input is, per table,
:class:`~groupeval.io.SourceTable` objects from the readers, or DataFrames
(turned into one by :func:`groupeval.io.as_source`).

Every rule either

* collects a :class:`~groupeval.exceptions.Problem` (the data cannot be used
  as it is; all problems of all tables are raised together at the end), or
* repairs / excludes / infers rows and records each in the quality report
  (``file``, ``row``, ``column``, ``value``, ``reason``, ``action``).

The rules live by concern: preparation and structure (:mod:`._prepare`),
values (:mod:`._coerce`), identifiers across tables (:mod:`._ids`), keys,
duplicates and dates (:mod:`._keys`), references (:mod:`._references`),
inference and the final tables (:mod:`._infer`).  The table of rules is in
``docs/validation.md``.  The invariant kept for every table is ``read -
excluded + inferred == kept`` where ``excluded`` counts the quality-report
entries with ``action == "excluded"`` for that table (an entry for rows a
reader skipped counts the rows it stands for); :func:`validate_tables`
returns these counts.

Implementation notes: no Python loop runs over rows.  String columns are
factorised once and cleaned on their (few) distinct values; identifiers and
dates become integer codes, so duplicate, enrolment and schedule checks are
integer joins.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..base.dataset import QualityReport
from ..base.exceptions import GroupevalError, Problem, ValidationError
from ..base.identifiers import find_identifier_columns
from ..base.schema import TABLE_NAMES
from ..base.vocab import norm_name
from ._coerce import coerce, item_columns
from ._ids import unify_ids
from ._infer import UNSPECIFIED, finish_table, infer
from ._keys import after_cutoff, day_offset, days, duplicates, future, grouped_unique, key
from ._prepare import check_identifiers, check_structure, drop_blank_rows, prepare
from ._references import Space, references
from ._state import INTERNAL, NAT, STRING_DTYPE, Log, Table, raise_problems

__all__ = ["validate_tables", "ValidatedTables", "STRING_DTYPE", "find_identifier_columns",
           "normalise_column_name", "raise_problems", "item_columns", "UNSPECIFIED"]

#: the one column-name normaliser (:func:`groupeval.base.vocab.norm_name`), under its old name here
normalise_column_name = norm_name


@dataclass(frozen=True)
class ValidatedTables:
    """What :func:`validate_tables` returns.

    Attributes
    ----------
    tables
        The five canonical tables, by name.
    quality
        Every excluded, repaired or inferred row (and dropped column).
    row_counts
        ``{table: {"read", "excluded", "inferred", "kept"}}`` with
        ``read - excluded + inferred == kept``.
    timepoints
        The survey timepoints, in order.
    """

    tables: dict[str, pd.DataFrame]
    quality: QualityReport
    row_counts: dict[str, dict[str, int]]
    timepoints: tuple[str, ...]


def _structure(ts: dict[str, Table], log: Log, allow_identifiers: bool) -> None:
    """Identifiers, required columns, empty tables, blank rows."""
    for t in ts.values():
        if t.given:
            check_identifiers(t, log, allow_identifiers)
            check_structure(t, log)
            if t.usable:
                drop_blank_rows(t, log)


def _space(ts: dict[str, Table], cats: dict[str, Any]) -> Space:
    """Day numbers of the session dates (computed once) and the sizes of the key space."""
    day_of: dict[tuple[str, str], np.ndarray] = {}
    for t in (ts["sessions"], ts["attendance"]):
        if t.usable:
            day_of[t.name, "session_date"] = days(t.df["session_date"])
    known = [(d, d != NAT) for d in day_of.values()]
    dmin = min((int(d.min(where=ok, initial=np.iinfo(np.int64).max)) for d, ok in known if ok.any()), default=0)
    dmax = max((int(d.max()) for d, ok in known if ok.any()), default=0)
    return Space(max(len(cats["group_id"]), 1), dmax - dmin + 1, dmin, day_of)


def _duplicate_keys(ts: dict[str, Table], log: Log, space: Space, nm: int) -> dict[str, np.ndarray]:
    """Duplicates of every table, found on keys built from integer codes; returns the keys."""
    g, m, s, a, r = (ts[n] for n in TABLE_NAMES)
    ng, nd = space.ng, space.nd
    keys: dict[str, np.ndarray] = {}
    if g.usable:
        keys["groups"] = np.maximum(g.df["_group_id"].to_numpy(), 0)
        duplicates(g, log, keys["groups"])
    if m.usable:
        keys["members"] = key((np.maximum(m.df["_member_id"].to_numpy(), 0), nm),
                              (np.maximum(m.df["_group_id"].to_numpy(), 0), ng))
        duplicates(m, log, keys["members"])
    if s.usable:
        keys["sessions"] = key((np.maximum(s.df["_group_id"].to_numpy(), 0), ng),
                               (day_offset(space.days["sessions", "session_date"], space.dmin), nd))
        duplicates(s, log, keys["sessions"])
    if a.usable:
        a_day = day_offset(space.days["attendance", "session_date"], space.dmin)
        # (group, day) is the session key; (member, group, day) the row's
        keys["attendance_session"] = key((np.maximum(a.df["_group_id"].to_numpy(), 0), ng), (a_day, nd))
        a_mc = np.maximum(a.df["_member_id"].to_numpy(), 0)
        if not grouped_unique(a_mc, keys["attendance_session"], a.live):
            duplicates(a, log, key((a_mc, nm), (keys["attendance_session"], ng * nd)))
    if r.usable:
        tp = pd.factorize(r.df["timepoint"])[0]
        n_tp = max(int(tp.max()) + 1, 1) if len(tp) else 1
        keys["responses"] = key((np.maximum(r.df["_member_id"].to_numpy(), 0), nm), (np.maximum(tp, 0), n_tp))
        duplicates(r, log, keys["responses"])
    return keys


def _final(ts: dict[str, Table], log: Log, timepoints: Sequence[str] | None) -> ValidatedTables:
    out: dict[str, pd.DataFrame] = {}
    counts: dict[str, dict[str, int]] = {}
    for name, t in ts.items():
        cols = [c for c in t.df.columns
                if not (c.startswith("_source_") or c in (*INTERNAL, "_member_id", "_group_id"))]
        out[name] = finish_table(name, t.df, cols, t.live if t.excluded.any() else None)
        counts[name] = {"read": int(t.read + t.skipped),
                        "excluded": int(t.skipped + t.prior_excluded + t.excluded.sum()),
                        "inferred": int(t.inferred), "kept": int(len(out[name]))}
    r = ts["responses"]
    tps = r.timepoints if r.timepoints is not None else tuple(timepoints or ())
    qf = pd.concat(log.quality, ignore_index=True) if log.quality else None
    if qf is not None:  # file order, then spreadsheet row; whole-file entries last
        qf["_r"] = pd.to_numeric(qf["row"], errors="coerce")
        qf = qf.sort_values(["file", "_r", "column"], na_position="last", kind="stable").drop(columns="_r")
    return ValidatedTables(out, QualityReport(qf), counts, tps)


def validate_tables(tables: Mapping[str, Any], *, timepoints: Sequence[str] | None = None,
                    item_ranges: Mapping[str, tuple[float, float]] | None = None,
                    cutoff: Any = None, today: Any = None, allow_identifiers: bool = False,
                    unenrolled: str = "error", dayfirst: bool | None = None,
                    timepoint_aliases: Mapping[str, str] | None = None,
                    extra_problems: Sequence[tuple[type[GroupevalError], Problem]] = ()) -> ValidatedTables:
    """Check and coerce raw tables into canonical ones; raise every problem at once.

    Parameters
    ----------
    tables
        ``{"groups"|"members"|"sessions"|"attendance"|"responses": SourceTable,
        DataFrame, a list of them, or None}``.  Frames may carry the
        provenance columns ``_source_file``/``_source_row``; frames without
        them are labelled with the table name and row = position + 2 (as if
        written to a CSV with a header).  An attendance source whose shape is
        ``"signin"`` is a sign-in log.
    timepoints
        Allowed survey timepoints in order; ``None`` infers them from the data
        (ordered by median ``completed_on``, then naturally: ``week_4`` before
        ``week_12``); two spellings that both look like the baseline are then
        an error.
    item_ranges
        ``{prefix: (min, max)}``: columns ``<prefix>_<n>`` are item responses
        and must be whole numbers in the range.
    cutoff
        Data cut-off: rows after it are excluded (recorded).
    today
        Dates after ``today`` (default: the current date) are errors.
    allow_identifiers
        False (default): identifier columns are an :class:`IdentifierError`.
        True: they are dropped and the drop is recorded.
    unenrolled
        ``"error"`` (default) or ``"exclude"``: attendance or responses of a
        member not enrolled in that group.
    dayfirst
        How to read ``03/02/2025``; ``None`` infers it per column and asks
        when it cannot be told.
    timepoint_aliases
        ``{spelling: timepoint}`` renames applied to survey timepoints first
        (``{"pre": "baseline"}``); each renamed row is recorded.
    extra_problems
        Problems found earlier (e.g. by the readers), raised together with
        these.

    Returns
    -------
    ValidatedTables
        ``tables``, ``quality``, ``row_counts`` (``read``, ``excluded``,
        ``inferred``, ``kept`` per table), ``timepoints``.

    Raises
    ------
    IdentifierError, SchemaError, ValidationError
        One error listing every problem of every table.
    """
    if unenrolled not in ("error", "exclude"):
        raise ValidationError(f"unenrolled must be 'error' or 'exclude', got {unenrolled!r}.")
    unknown = set(tables) - set(TABLE_NAMES)
    if unknown:
        raise ValidationError(f"unknown table(s) {sorted(unknown)}; expected some of {', '.join(TABLE_NAMES)}.")
    today_ = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today).normalize()
    cut = None if cutoff is None else pd.Timestamp(cutoff).normalize()
    log = Log()
    log.problems.extend(extra_problems)
    ts = {name: prepare(name, tables.get(name), log) for name in TABLE_NAMES}
    _structure(ts, log, allow_identifiers)
    for t in ts.values():
        if t.usable:
            coerce(t, log, dayfirst=dayfirst, item_ranges=dict(item_ranges or {}), timepoints=timepoints,
                   timepoint_aliases=timepoint_aliases)
    cats = unify_ids(ts, log)
    cats["group_id"] = pd.Index(cats["group_id"].to_numpy(zero_copy_only=False), dtype=object)
    space = _space(ts, cats)
    for t in ts.values():  # future dates and cut-off
        if t.usable:
            future(t, log, today_)
            if cut is not None:
                after_cutoff(t, log, cut)
    keys = _duplicate_keys(ts, log, space, max(len(cats["member_id"]), 1))
    references(ts, log, keys, space, unenrolled)
    # stop here if anything is wrong: every problem of every table at once
    try:
        raise_problems(log.problems, "The data cannot be used as it is")
    except GroupevalError as err:  # the repairs found so far travel with the error (CLI --quality-csv)
        err.quality = QualityReport(pd.concat(log.quality, ignore_index=True)) if log.quality else QualityReport()
        raise
    infer(ts, log, cats, data_cutoff=cut, dmin=space.dmin, nd=space.nd)
    return _final(ts, log, timepoints)
