"""Item responses -> questionnaire scores.

:func:`score` turns a responses table (one row per member x timepoint, item
columns ``<instrument>_<n>``) into scores using an instrument from
:mod:`groupeval.instruments`: reverse-keying, sum / mean / linear transform /
lookup table, subscales, prorating under the instrument's missing-item rule,
severity bands and item flags.  It is vectorised over the item matrix
(numpy); there is no loop over rows.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, Problem, ScoringError
from ..base.instruments import Instrument, MissingRule, get
from ..base.schema import SOURCE_FILE, SOURCE_ROW

__all__ = ["score", "item_matrix", "resolve_items", "resolve_missing_rule"]

CARRY = ("group_id", "completed_on")


def resolve_missing_rule(inst: Instrument, missing_rule: str | int | MissingRule | None) -> MissingRule:
    """The :class:`MissingRule` selected by ``missing_rule`` (None: the instrument's default).

    ``missing_rule`` may be a rule name of the instrument (``"complete"`` always
    exists), a :class:`MissingRule`, or a whole number ``m``: at most ``m``
    items missing for the main score and for every subscale (capped at the
    subscale's item count minus one), with no whole-assessment rule.
    """
    if missing_rule is None:
        return inst.default_missing_rule
    if isinstance(missing_rule, MissingRule):
        return missing_rule
    if isinstance(missing_rule, (int, np.integer)) and not isinstance(missing_rule, bool):
        m = int(missing_rule)
        if not 0 <= m < inst.n_items:
            raise ConfigError(f"missing_rule={m} must be a whole number from 0 to {inst.n_items - 1} "
                              f"for {inst.label} ({inst.n_items} items)")
        subs = {s.name: min(m, len(s.items) - 1) for s in inst.subscale_specs if s.transform_of is None}
        return MissingRule(f"max_missing_{m}", max_missing=m, subscale_max_missing=subs, convention=True,
                           description=f"at most {m} item(s) missing per score (user choice)")
    if isinstance(missing_rule, str) and missing_rule in inst.missing_rules:
        return inst.missing_rules[missing_rule]
    allowed = ", ".join(repr(k) for k in inst.missing_rules)
    raise ConfigError(f"Unknown missing_rule {missing_rule!r} for {inst.label}; choose one of {allowed}, "
                      "or a whole number of items allowed to be missing")


def resolve_items(responses: pd.DataFrame, inst: Instrument,
                  items: Mapping[Any, str] | Sequence[str] | None = None) -> list[str]:
    """Column names of the instrument's items in item order (1..n_items).

    ``items`` maps item numbers (``{1: "Q1"}``) or conventional names
    (``{"phq9_1": "Q1"}``) to the columns that hold them, or lists all
    columns in item order.  Unmapped items use the ``<name>_<n>`` convention.
    """
    cols = list(inst.items)
    if items is not None:
        if isinstance(items, Mapping):
            bad = []
            for key, col in items.items():
                if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 1 <= key <= inst.n_items:
                    cols[int(key) - 1] = col
                elif isinstance(key, str) and key in inst.items:
                    cols[inst.items.index(key)] = col
                else:
                    bad.append(key)
            if bad:
                raise ConfigError(
                    f"items= has keys that are not items of {inst.label}: {bad!r}; use item numbers "
                    f"1..{inst.n_items} or names {inst.items[0]}..{inst.items[-1]}")
        elif isinstance(items, Sequence) and not isinstance(items, str):
            if len(items) != inst.n_items:
                raise ConfigError(f"items= lists {len(items)} columns but {inst.label} has {inst.n_items} items; "
                                  "list one column per item in item order, or pass a mapping")
            cols = list(items)
        else:
            raise ConfigError("items= must be a mapping {item number or name: column} or a list of columns")
    missing = [c for c in cols if c not in responses.columns]
    if missing:
        present = [c for c in responses.columns if str(c).startswith(inst.name + "_")]
        hint = f" Columns starting with {inst.name + '_'!r}: {present}." if present else ""
        raise ScoringError(
            f"The responses lack {len(missing)} item column(s) of {inst.label}: {missing}.{hint} "
            f"Name item columns {inst.items[0]}..{inst.items[-1]} or map yours with items={{1: 'your column', ...}}",
            [Problem(None, None, c, None, f"item column of {inst.label} is missing",
                     "rename the column or pass items=") for c in missing])
    return cols


def _row_labels(responses: pd.DataFrame, rows: np.ndarray, subject: str | None, time: str | None):
    """file, spreadsheet row and a 'who' text for problem rows."""
    def pick(col: str | None) -> list:
        if col is None or col not in responses.columns:
            return [None] * len(rows)
        return responses[col].iloc[rows].astype(object).where(responses[col].iloc[rows].notna(), None).tolist()

    files, srows, subj, tps = pick(SOURCE_FILE), pick(SOURCE_ROW), pick(subject), pick(time)
    idx = responses.index[rows].tolist()
    out = []
    for f, r, i, s, t in zip(files, srows, idx, subj, tps):
        who = f"index {i!r}"
        if s is not None:
            who += f", {subject} {s!s}"
        if t is not None:
            who += f", {time} {t!s}"
        row = None if r is None or (isinstance(r, float) and np.isnan(r)) else int(r)
        out.append((None if f is None else str(f), row, who))
    return out


def item_matrix(responses: pd.DataFrame, columns: Sequence[str], inst: Instrument, *,
                subject: str | None = "member_id", time: str | None = "timepoint") -> np.ndarray:
    """The raw item responses as a float matrix (rows x items), NaN = unanswered.

    Raises :class:`ScoringError` naming every cell that is not a number, not
    a whole number, or outside ``item_min..item_max``.
    """
    n = len(responses)
    problems: list[Problem] = []
    # column-major: each item column is copied contiguously, no intermediate frame
    X = np.empty((n, len(columns)), dtype=float, order="F")
    for j, col in enumerate(columns):  # loop over item columns (a handful), not rows
        s = responses[col]
        if isinstance(s.dtype, np.dtype) and pd.api.types.is_float_dtype(s.dtype):
            X[:, j] = s.to_numpy()
        elif pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            X[:, j] = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            text = s.astype("string").str.strip()
            blank = text.eq("").fillna(False).to_numpy(dtype=bool)
            num = pd.to_numeric(text.mask(text.eq("")), errors="coerce")
            X[:, j] = num.to_numpy(dtype=float, na_value=np.nan)
            bad_rows = np.flatnonzero(s.notna().to_numpy() & ~blank & num.isna().to_numpy())
            if len(bad_rows):
                vals = s.to_numpy()[bad_rows]
                for (f, r, who), v in zip(_row_labels(responses, bad_rows, subject, time), vals):
                    problems.append(Problem(f, r, col, v, f"{who}: not a number",
                                            "enter the numeric response code or leave the cell empty"))
    # cheap whole-matrix checks first; the cell-by-cell mask only when something is wrong
    suspect = False
    if X.size:
        with np.errstate(invalid="ignore"):
            lo, hi = np.fmin.reduce(X, axis=None), np.fmax.reduce(X, axis=None)  # NaN-ignoring
            suspect = bool(lo < inst.item_min or hi > inst.item_max)
            if not suspect:
                frac = np.floor(X)
                np.subtract(X, frac, out=frac)  # in [0, 1), NaN where unanswered
                suspect = bool(np.fmax.reduce(frac, axis=None) > 0)
                del frac
    X_check = X if suspect else None
    bad = None
    if X_check is not None:
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(X) & ((X < inst.item_min) | (X > inst.item_max) | (X != np.floor(X)))
    if bad is not None and bad.any():
        rows, js = np.nonzero(bad)
        labels = _row_labels(responses, rows, subject, time)
        for (f, r, who), j, v in zip(labels, js.tolist(), X[rows, js]):
            v_out = int(v) if float(v).is_integer() else float(v)
            problems.append(Problem(
                f, r, columns[j], v_out,
                f"{who}: {inst.label} item responses must be whole numbers from {inst.item_min} to {inst.item_max}",
                "correct the value, or blank it if the item was not answered"
                + (" (K10 US 0-4 coding: use get('k10', variant='us'))" if inst.name == "k10" else "")))
    if problems:
        # spreadsheet order when rows are known (stable: cells without a row keep their order)
        problems.sort(key=lambda p: (p.row is None, p.row or 0, columns.index(p.column)))
        raise ScoringError(f"{inst.label} responses cannot be scored: {len(problems)} invalid item value(s)",
                           problems)
    return X


def _finish(total: np.ndarray, n_ans: np.ndarray, k: int, method: str, max_missing: int,
            valid: np.ndarray, round_raw: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(value, prorated) of a sum/mean over k items from the answered total and count."""
    ok = valid & (n_ans >= k - max_missing) & (n_ans > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "sum":
            # sum * k / n_answered: exact for complete rows, prorated otherwise
            value = np.where(n_ans == k, total, total * k / n_ans)
            if round_raw:
                value = np.floor(value + 0.5)
        else:
            value = total / n_ans
    value = np.where(ok, value, np.nan)
    return value, ok & (n_ans < k)


def _bands(values: np.ndarray, inst: Instrument) -> pd.Categorical:
    labels = [lab for _, lab in inst.bands]
    if not labels:
        return pd.Categorical.from_codes(np.full(len(values), -1), categories=[], ordered=True)
    edges = np.array([lo for lo, _ in inst.bands])
    side: Literal["left", "right"] = "right" if inst.bands_closed == "left" else "left"
    codes = np.searchsorted(edges, values, side=side) - 1
    if inst.bands_closed == "right":
        codes = np.where(values == edges[0], 0, codes)
    codes = np.where(np.isnan(values) | (codes < 0), -1, codes)
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)


def score(responses: pd.DataFrame, instrument: str | Instrument, *,
          items: Mapping[Any, str] | Sequence[str] | None = None,
          missing_rule: str | int | MissingRule | None = None,
          subject: str | None = "member_id", time: str | None = "timepoint") -> pd.DataFrame:
    r"""Score item responses with an instrument.

    Parameters
    ----------
    responses : DataFrame
        One row per member x timepoint with item columns ``<name>_<n>``
        (raw responses on the instrument's own range; NaN = unanswered).
    instrument : str or Instrument
        Registry name (``"phq9"``) or an :class:`~groupeval.instruments.Instrument`.
    items : mapping or list, optional
        Where the items are when the columns do not follow ``<name>_<n>``:
        ``{1: "Q1", 2: "Q2", ...}``, ``{"phq9_1": "Q1", ...}`` or a list of
        ``n_items`` column names in item order.
    missing_rule : str, int or MissingRule, optional
        The missing-item rule; default the instrument's (``instrument.missing_rule``).
        A name from ``instrument.missing_rules`` (``"complete"`` always
        exists; WHOQOL-BREF: ``"whoqol_syntax"`` (default),
        ``"whoqol_manual_text"``, ``"whoqol_syntax_literal"``) or a whole
        number of items that may be missing.
    subject, time : str or None
        Columns identifying the member and the timepoint, copied to the
        output (``time=None`` for data without timepoints).

    Returns
    -------
    DataFrame
        One row per input row (same index), unrounded:

        * ``member_id``, ``timepoint`` (the ``subject`` / ``time`` columns),
          ``group_id`` and ``completed_on`` when present;
        * ``score``: the main score (NaN when the missing rule is not met;
          always NaN for WHOQOL-BREF, which has no total);
        * the ``raw_column`` when the instrument has one (WHO-5 and SWEMWBS:
          ``raw``, the raw sum before the transform / lookup);
        * one column per subscale (``instrument.subscales``; WHOQOL-BREF:
          ``physical``, ``psychological``, ``social``, ``environment`` on
          0-100, the same with suffix ``_4_20`` on 4-20, ``overall_qol`` (Q1)
          and ``health_satisfaction`` (Q2) raw 1-5);
        * ``n_answered``: items answered (of all ``n_items``);
        * ``prorated``: True when any score in the row was computed from fewer
          items than it has;
        * ``band``: ordered categorical severity band of ``score`` (NaN when
          the instrument has no bands or the score is NaN);
        * flag columns (PHQ-9 ``item9_flag``, CORE-10 ``item6_flag``):
          nullable boolean, NA when the item is unanswered.

    Raises
    ------
    ScoringError
        Item columns missing; or any response not a whole number within
        ``item_min..item_max`` (every offending cell is listed with its row).
    ConfigError
        Unknown instrument, missing rule or ``items=`` key.

    Notes
    -----
    Reverse-keyed items are recoded :math:`x' = \text{item\_min} + \text{item\_max} - x`.
    For a score over :math:`k` items of which :math:`a` are answered, with
    :math:`a \ge k - m` (:math:`m` = allowed missing items),

    .. math:: \text{sum} = \frac{k}{a}\sum_{answered} x', \qquad \text{mean} = \frac{1}{a}\sum_{answered} x'

    then ``score = aggregate * scale + shift`` or a lookup table of the raw
    sum (SWEMWBS).  WHOQOL-BREF domains follow the WHO SPSS syntax:
    ``4 * MEAN.n(items)`` on 4-20, then :math:`(d - 4) \times 100/16`.

    In R: no single equivalent; for a sum score ``rowSums(items)`` and
    for prorating ``rowMeans(items, na.rm = TRUE) * k``.

    Examples
    --------
    >>> import pandas as pd, groupeval as ge
    >>> df = pd.DataFrame({"member_id": ["M1"], "timepoint": ["baseline"],
    ...                    **{f"phq9_{i}": [1] for i in range(1, 10)}})
    >>> ge.score(df, "phq9")[["score", "n_answered", "prorated", "band"]]
       score  n_answered  prorated  band
    0    9.0           9     False  mild
    """
    inst = get(instrument)
    if not isinstance(responses, pd.DataFrame):
        raise ConfigError(f"responses must be a pandas DataFrame, got {type(responses).__name__}")
    rule = resolve_missing_rule(inst, missing_rule)
    id_missing = [c for c in (subject, time) if c is not None and c not in responses.columns]
    if id_missing:
        raise ScoringError(
            f"The responses lack the column(s) {id_missing}; pass subject=/time= naming your id and timepoint "
            "columns (time=None for data without timepoints)",
            [Problem(None, None, c, None, "identifier column is missing", "rename it or pass subject=/time=")
             for c in id_missing])
    cols = resolve_items(responses, inst, items)
    X_raw = item_matrix(responses, cols, inst, subject=subject, time=time)
    n = len(responses)
    flags = {f.name: X_raw[:, f.item - 1].copy() for f in inst.flags}
    missing = np.isnan(X_raw)  # column-major like X_raw
    # reverse-key and zero the unanswered cells in place (X_raw is our own column-major copy)
    X = X_raw
    for j in inst.reverse:  # a few columns
        X[:, j - 1] = (inst.item_min + inst.item_max) - X[:, j - 1]
    np.copyto(X, 0.0, where=missing)
    # every score is a sum over an item set: column sums of the (contiguous) item columns
    units: list[tuple[str, tuple[int, ...], str, int]] = []
    sub_max = dict(rule.subscale_max_missing)
    if inst.method != "none":
        units.append(("score", tuple(range(1, inst.n_items + 1)), inst.method, rule.max_missing))
    for sp in inst.subscale_specs:
        if sp.transform_of is None:
            units.append((sp.name, sp.items, sp.method, sub_max.get(sp.name, 0)))
    miss_u8 = missing.view(np.uint8)
    n_answered = inst.n_items - miss_u8.sum(axis=1, dtype=np.int64)
    totals, counts = [], []
    for _, its, _, _ in units:  # a handful of item sets
        idx = np.asarray(its) - 1
        totals.append(X[:, idx].sum(axis=1))
        counts.append(len(idx) - miss_u8[:, idx].sum(axis=1, dtype=np.int64))
    del missing, miss_u8
    valid = np.ones(n, dtype=bool)
    if rule.min_answered_total is not None:
        valid = n_answered >= rule.min_answered_total

    out: dict[str, Any] = {}
    for c in (subject, time, *CARRY):
        if c is not None and c in responses.columns and c not in out:
            out[c] = responses[c].array
    prorated = np.zeros(n, dtype=bool)
    unit_values: dict[str, np.ndarray] = {}
    for u, (name, its, method, max_missing) in enumerate(units):
        round_raw = rule.round_raw and name == "score"
        v, pro = _finish(totals[u], counts[u], len(its), method, max_missing, valid, round_raw)
        unit_values[name] = v
        prorated |= pro
    if inst.method == "none":
        out["score"] = np.full(n, np.nan)
    else:
        raw = unit_values["score"]
        if inst.lookup is not None:
            keys = np.array(sorted(inst.lookup))
            table = np.array([inst.lookup[k] for k in keys])
            exact = ~np.isnan(raw) & (np.floor(raw) == raw)
            pos = np.clip(np.where(exact, raw - keys[0], 0), 0, len(table) - 1).astype(np.int64)
            main = np.where(exact, table[pos], np.nan)  # a non-whole prorated raw sum has no entry
        else:
            main = raw * inst.scale + inst.shift
        out["score"] = main
        if inst.raw_column:
            out[inst.raw_column] = raw
    values: dict[str, np.ndarray] = {}
    for s in inst.subscale_specs:
        if s.transform_of is None:
            values[s.name] = unit_values[s.name] * s.scale + s.shift
    for s in inst.subscale_specs:
        if s.transform_of is not None:
            values[s.name] = values[s.transform_of] * s.scale + s.shift
    for s in inst.subscale_specs:
        out[s.name] = values[s.name]
    out["n_answered"] = n_answered
    out["prorated"] = prorated
    out["band"] = _bands(np.asarray(out["score"], dtype=float), inst)
    for f in inst.flags:
        x = flags[f.name]
        out[f.name] = pd.arrays.BooleanArray(np.nan_to_num(x, nan=-np.inf) >= f.at_least, np.isnan(x))
    return pd.DataFrame(out, index=responses.index)
