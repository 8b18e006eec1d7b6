"""Privacy for outputs: small-cell suppression, salted pseudonyms, identifier checks.

Three tools, used by the report pipeline and available to users:

* :func:`suppress` hides every cell of a table that counts fewer than
  ``min_cell`` people (default 11, as the US Centers for Medicare & Medicaid
  Services do), every cell from which a hidden one could be recovered by
  subtraction from a shown total (complementary suppression), and every
  estimate (mean, share, CI, rate) that rests on a hidden count.  It works on
  one table; a whole report (many tables, figures and sentences showing the
  same counts) is suppressed by one plan decided once over all of them:
  :class:`groupeval.reporting.report.plan.SuppressionPlan`.
* :func:`pseudonymise` replaces member ids with stable salted pseudonyms
  (HMAC-SHA256, truncated): the same id and salt always give the same
  pseudonym; without the salt the id cannot be recovered by hashing guesses.
* :func:`assert_no_identifiers` scans text, tables or files (HTML, CSV, XLSX)
  for member ids, names, e-mail addresses and phone numbers and raises
  :class:`~groupeval.exceptions.IdentifierError` listing every hit.

Audiences: ``"program"`` and ``"research"`` outputs are internal and are not
suppressed; ``"funder"`` and ``"public"`` outputs are.  Member ids never
appear in any audience's output.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, IdentifierError, Problem
from ..base.identifiers import find_identifier_columns
from ..base.pseudonyms import SALT_ENV, SALT_FILE, new_salt, pseudonymise, resolve_salt  # noqa: F401 (re-exported)

__all__ = [
    "AUDIENCES",
    "SUPPRESSING_AUDIENCES",
    "DEFAULT_MIN_CELL",
    "SALT_ENV",
    "SALT_FILE",
    "check_audience",
    "needs_suppression",
    "suppress",
    "suppression_mask",
    "mask_display",
    "pseudonymise",
    "new_salt",
    "resolve_salt",
    "find_identifiers",
    "assert_no_identifiers",
]

AUDIENCES = ("program", "research", "funder", "public")
SUPPRESSING_AUDIENCES = ("funder", "public")
DEFAULT_MIN_CELL = 11
#: Suffix of the boolean flag column added for every suppressible column.
FLAG_SUFFIX = "_suppressed"


# --------------------------------------------------------------------------- audiences
def check_audience(audience: str) -> str:
    """Return ``audience`` if it is one of :data:`AUDIENCES`, else raise ConfigError."""
    if audience not in AUDIENCES:
        raise ConfigError(
            f"audience must be one of {', '.join(repr(a) for a in AUDIENCES)}, got {audience!r}. "
            "Use 'program' or 'research' for internal reports and 'funder' or 'public' for "
            "reports that leave the programme (small cells suppressed)."
        )
    return audience


def needs_suppression(audience: str) -> bool:
    """True for the audiences whose outputs are suppressed (``funder``, ``public``)."""
    return check_audience(audience) in SUPPRESSING_AUDIENCES


def _check_min_cell(min_cell: Any) -> int:
    if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)) or min_cell < 1:
        raise ConfigError(f"min_cell must be a whole number of at least 1, got {min_cell!r}. "
                          f"The default is {DEFAULT_MIN_CELL} (as CMS).")
    return int(min_cell)


# --------------------------------------------------------------------------- suppression
def _as_list(x: Any) -> list:
    if x is None:
        return []
    if isinstance(x, str) or not isinstance(x, Iterable):
        return [x]
    return list(x)


def _relations(table: pd.DataFrame, count_columns: list[str], totals: Any) -> list[tuple[list[int], int | None]]:
    """Additive relations ``sum(parts) = total`` as flat cell indices.

    Cells are numbered row-major over ``table[count_columns]``.
    """
    if totals is None:
        return []
    if isinstance(totals, str):
        totals = {"column": totals}
    if not isinstance(totals, Mapping):
        raise ConfigError("totals must be None, the name of a row-total column, or a dict with keys "
                          f"'column', 'row' and/or 'within'; got {totals!r}.")
    unknown = set(totals) - {"column", "row", "within"}
    if unknown:
        raise ConfigError(f"totals has unknown key(s) {sorted(unknown)}; allowed: 'column' (name of the "
                          "count column holding each row's total), 'row' (index label of the row holding "
                          "column totals), 'within' (column whose levels each have their own total row).")
    n_rows, n_cols = len(table), len(count_columns)
    rel: list[tuple[list[int], int | None]] = []
    total_col = totals.get("column")
    if total_col is not None:
        if total_col not in count_columns:
            raise ConfigError(f"totals['column']={total_col!r} must be one of count_columns {count_columns}.")
        j_tot = count_columns.index(total_col)
        parts_j = [j for j in range(n_cols) if j != j_tot]
        for i in range(n_rows):  # one relation per table row (tables shown in reports are small)
            rel.append(([i * n_cols + j for j in parts_j], i * n_cols + j_tot))
    if "row" in totals:
        label = totals["row"]
        within = totals.get("within")
        is_total = np.asarray(table.index == label) if not callable(label) else np.asarray(label(table), bool)
        if not is_total.any():
            raise ConfigError(f"totals['row']={label!r} matches no row of the table (index: "
                              f"{list(table.index)[:10]}).")
        blocks = (np.zeros(n_rows, int) if within is None
                  else pd.factorize(table[within])[0])
        for b in np.unique(blocks):
            rows = np.flatnonzero(blocks == b)
            tot = rows[is_total[rows]]
            if len(tot) != 1:
                raise ConfigError(f"each block of totals['within']={within!r} needs exactly one total row; "
                                  f"block {b} has {len(tot)}.")
            parts = rows[~is_total[rows]]
            for j in range(n_cols):
                rel.append(([int(i) * n_cols + j for i in parts], int(tot[0]) * n_cols + j))
    elif "within" in totals:
        raise ConfigError("totals['within'] needs totals['row'] (the label of each block's total row).")
    return rel


def _complementary(values: np.ndarray, suppressed: np.ndarray,
                   relations: list[tuple[list[int], int | None]]) -> np.ndarray:
    """Extend ``suppressed`` until no relation has exactly one hidden cell.

    A relation ``sum(parts) = total`` with exactly one hidden cell lets the
    hidden value be recovered by subtraction.  Greedy repair, one cell at a
    time: in the first such relation hide the shown part that also repairs
    the most other such relations, then the smallest positive one; only when
    no part is left is the total hidden.  Repeat until no relation has
    exactly one hidden cell (it terminates: cells only ever become hidden).
    """
    if not relations:
        return suppressed
    n_cells = values.size
    # incidence matrices: relations x cells
    part_m = np.zeros((len(relations), n_cells), bool)
    tot_m = np.zeros((len(relations), n_cells), bool)
    for r, (parts, tot) in enumerate(relations):
        part_m[r, parts] = True
        if tot is not None:
            tot_m[r, tot] = True
    member = part_m | tot_m
    known = ~np.isnan(values)
    member &= known[None, :]          # missing cells are not shown and carry no information
    part_m &= known[None, :]
    tot_m &= known[None, :]
    # cost of hiding a cell: positive values first (hiding a zero protects little), then small ones
    cost = np.where(values > 0, values, np.nanmax(np.abs(values), initial=0) + 1 + 0 * values)
    s = suppressed.copy()
    while True:
        n_hidden = (member & s[None, :]).sum(axis=1)
        bad = n_hidden == 1
        if not bad.any():
            return s
        # how many currently recoverable relations each cell would fix if hidden
        fixes = (member & bad[:, None]).sum(axis=0)
        first = int(np.flatnonzero(bad)[0])
        cand = part_m[first] & ~s
        if not cand.any():
            cand = tot_m[first] & ~s
        if not cand.any():  # the relation has a single known cell: nothing left to hide
            bad[first] = False
            member[first] = False
            continue
        # most relations fixed first, then the smallest (positive) value, then position
        order = np.lexsort((np.arange(n_cells), cost, -fixes))
        pick = order[cand[order]][0]
        s[pick] = True


def suppression_mask(table: pd.DataFrame, *, count_columns: Sequence[str], min_cell: int = DEFAULT_MIN_CELL,
                     totals: Any = None, relations: Sequence[tuple[Sequence[tuple[int, str]], tuple[int, str]]] = (),
                     suppress_zero: bool = False, force: Any = None) -> pd.DataFrame:
    """Boolean frame (rows of ``table`` x ``count_columns``): True where a count is hidden.

    Primary suppression hides counts ``0 < n < min_cell`` (also 0 when
    ``suppress_zero``); complementary suppression then hides further cells
    so that no additive relation given by ``totals`` has exactly one hidden
    cell.  See :func:`suppress` for the parameters.
    """
    min_cell = _check_min_cell(min_cell)
    cols = _as_list(count_columns)
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ConfigError(f"count_columns {missing} are not columns of the table; its columns are "
                          f"{list(table.columns)}.")
    block = table[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    values = block.to_numpy().ravel()
    lower = -np.inf if suppress_zero else 0
    primary = (values < min_cell) & (values > lower) & ~np.isnan(values)
    if force is not None:
        f = np.asarray(force, dtype=bool)
        if f.ndim == 1:
            f = np.repeat(f[:, None], len(cols), axis=1)
        if f.shape != block.shape:
            raise ConfigError(f"force must have one value per row ({len(table)}) or per cell {block.shape}; "
                              f"got shape {f.shape}.")
        primary |= f.ravel() & ~np.isnan(values)
    rel = _relations(table, cols, totals)
    for parts, tot in relations or ():
        try:
            rel.append(([int(i) * len(cols) + cols.index(c) for i, c in parts],
                        int(tot[0]) * len(cols) + cols.index(tot[1])))
        except (ValueError, TypeError, IndexError):
            raise ConfigError(f"relations entries must be ([(row_position, count_column), ...], (row_position, "
                              f"count_column)) with columns from count_columns {cols}; got {(parts, tot)!r}.") from None
    bad_pos = [i for parts, tot in relations or () for i, _ in [*parts, tot] if not 0 <= int(i) < len(table)]
    if bad_pos:
        raise ConfigError(f"relations refer to row positions {sorted(set(bad_pos))} outside 0..{len(table) - 1}.")
    hidden = _complementary(values, primary, rel)
    return pd.DataFrame(hidden.reshape(block.shape), index=table.index, columns=cols)


def suppress(table: pd.DataFrame, *, count_columns: str | Sequence[str], min_cell: int = DEFAULT_MIN_CELL,
             audience: str = "funder", totals: Any = None,
             estimates: Mapping[str, str | Sequence[str]] | None = None,
             relations: Sequence[tuple[Sequence[tuple[int, str]], tuple[int, str]]] = (),
             suppress_zero: bool = False, force: Any = None,
             denominators: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Hide small counts, the cells that would reveal them, and estimates resting on them.

    Parameters
    ----------
    table
        A tidy table (one row per category/stratum).
    count_columns
        Columns that count people (e.g. ``n``, ``events``, ``at_risk``).
    min_cell
        Smallest count shown (default 11, as CMS's cell-size suppression policy).
    audience
        ``"funder"`` / ``"public"`` suppress; ``"program"`` / ``"research"``
        return an unchanged copy.
    totals
        The additive structure of the counts, used for complementary suppression:

        * ``None`` — no totals are shown (primary suppression only);
        * ``"total"`` or ``{"column": "total"}`` — in every row the count column
          ``total`` is the sum of the other count columns;
        * ``{"row": label}`` — the row with index ``label`` holds the column sums
          of all other rows (``label`` may also be a function of the table
          returning a boolean mask); with ``"within": col`` each level of ``col``
          has its own total row;
        * both keys together for a cross-table with margins.
    relations
        Further additive relations, each ``([(row_position, column), ...],
        (row_position, column))`` meaning the parts sum to the total — e.g. a
        participant flow where ``n`` of stage *k-1* = ``n`` + ``n_lost`` of
        stage *k*.
    estimates
        ``{estimate_column: count_column(s)}``: the estimate (mean, share, CI
        bound, rate) is hidden in every row where one of its count columns is
        hidden — a mean resting on fewer than ``min_cell`` people, or a share
        whose numerator is hidden (``share * n`` would give it back).
    suppress_zero
        Also hide zero counts (default False: a zero reveals nobody, as in
        CMS's 1-10 rule).
    denominators
        ``{estimate_column: column}``: the estimate is also hidden where that
        column (the number of people the estimate rests on, e.g. the number
        still at risk at 26 weeks for a Kaplan-Meier estimate) is below
        ``min_cell``.  The denominator column itself is left as it is
        (drop it from the output if it should not be shown).
    force
        Boolean per row (or per row x count column): hide these counts too,
        as if primary — e.g. to repeat in one table the cells hidden in
        another table that shows the same counts.

    Returns
    -------
    DataFrame
        A copy of ``table`` where hidden values are missing (count columns
        become nullable ``Int64`` when whole, estimates ``NaN``), plus one
        boolean column ``<column>_suppressed`` for every count and estimate
        column (True where hidden; primary and complementary suppression are
        deliberately not distinguished).  ``result.attrs["suppression"]``
        records ``audience``, ``min_cell``, ``n_hidden``.  For ``program`` and
        ``research`` an unchanged copy is returned (no flag columns).

    Notes
    -----
    Primary suppression hides every count :math:`0 < n < m` (:math:`m` =
    ``min_cell``).  Complementary suppression: for every relation
    :math:`\\sum_i n_i = N` of the table (row and column totals), if exactly one
    of :math:`n_1, \\dots, n_k, N` is hidden it could be recovered by
    subtraction, so the smallest shown positive part is hidden too (the total
    only when no part is left); this is repeated until every relation has
    zero or at least two hidden cells.  This is the classic heuristic of
    statistical agencies; it blocks exact recovery by subtraction from one
    total, not interval bounds from linear programming on large cross-tables.

    References
    ----------
    Centers for Medicare & Medicaid Services (2020). CMS cell suppression
    policy (cells of 1 to 10 are not displayed).
    Federal Committee on Statistical Methodology (2005). Statistical Policy
    Working Paper 22: Report on statistical disclosure limitation methodology.

    Examples
    --------
    >>> t = pd.DataFrame({"stayed": [40, 25], "dropped": [5, 30], "total": [45, 55]},
    ...                  index=["peer", "co-facilitated"])
    >>> suppress(t, count_columns=["stayed", "dropped", "total"], totals="total")[["stayed", "dropped", "total"]]
                    stayed  dropped  total
    peer              <NA>     <NA>     45
    co-facilitated      25       30     55
    """
    check_audience(audience)
    min_cell = _check_min_cell(min_cell)
    cols = _as_list(count_columns)
    estimates = dict(estimates or {})
    denominators = dict(denominators or {})
    missing = [c for c in list(estimates) + [c for v in estimates.values() for c in _as_list(v)]
               + list(denominators) + list(denominators.values()) if c not in table.columns]
    if missing:
        raise ConfigError(f"estimates name columns {sorted(set(missing))} that the table does not have; "
                          f"its columns are {list(table.columns)}.")
    out = table.copy()
    if not needs_suppression(audience):
        out.attrs["suppression"] = {"audience": audience, "min_cell": min_cell, "n_hidden": 0, "applied": False}
        return out
    mask = suppression_mask(table, count_columns=cols, min_cell=min_cell, totals=totals, relations=relations,
                            suppress_zero=suppress_zero, force=force)
    for c in cols:
        num = pd.to_numeric(out[c], errors="coerce")
        whole = num.dropna().eq(num.dropna().round()).all()
        col = num.astype("Int64") if whole else num.astype(float)
        out[c] = col.mask(mask[c].to_numpy())
        out[c + FLAG_SUFFIX] = mask[c].to_numpy()
    for est in dict.fromkeys([*estimates, *denominators]):
        deps = _as_list(estimates.get(est))
        bad_deps = [d for d in deps if d not in mask.columns]
        if bad_deps:
            raise ConfigError(f"estimates[{est!r}] depends on {bad_deps}, which are not in count_columns {cols}.")
        hide = mask[deps].any(axis=1).to_numpy() if deps else np.zeros(len(out), bool)
        if est in denominators:
            den = pd.to_numeric(table[denominators[est]], errors="coerce").to_numpy(float)
            hide = hide | (den < min_cell)
        out[est] = pd.to_numeric(out[est], errors="coerce").astype(float).mask(hide)
        out[est + FLAG_SUFFIX] = hide
    n_hidden = int(mask.to_numpy().sum())
    out.attrs["suppression"] = {"audience": audience, "min_cell": min_cell, "n_hidden": n_hidden, "applied": True,
                                "count_columns": list(cols)}
    return out


def mask_display(table: pd.DataFrame, *, marker: str | None = None, min_cell: int = DEFAULT_MIN_CELL,
                 formatters: Mapping[str, Any] | None = None, estimate_marker: str | None = None) -> pd.DataFrame:
    """A display copy of a suppressed table: hidden cells show a mark, flag columns dropped.

    Hidden counts of people show ``marker`` (default ``"<{min_cell}"``, e.g.
    ``"<11"``; a complementary-suppressed count shows the same mark, so it
    means "not shown to protect privacy").  Hidden estimates (means, shares,
    CIs, p values) are not counts and never show ``"<11"``: they show
    ``estimate_marker`` (default ``"—, not shown: fewer than 11 people"``).
    Which columns are counts comes from :func:`suppress` (``attrs``); without
    it every hidden cell shows ``marker``.  ``formatters`` maps column ->
    function(value) -> str for shown values.
    """
    marker = f"<{min_cell}" if marker is None else marker
    estimate_marker = (f"—, not shown: fewer than {min_cell} people" if estimate_marker is None
                       else estimate_marker)
    counts = (table.attrs.get("suppression") or {}).get("count_columns")
    formatters = dict(formatters or {})
    flags = [c for c in table.columns if c.endswith(FLAG_SUFFIX) and c[: -len(FLAG_SUFFIX)] in table.columns]
    out = table.drop(columns=flags).astype(object)
    for c in out.columns:
        f = formatters.get(c)
        if f is not None:
            out[c] = [("" if pd.isna(v) else f(v)) if not isinstance(v, str) else v for v in table[c]]
    for flag in flags:
        c = flag[: -len(FLAG_SUFFIX)]
        out.loc[table[flag].to_numpy(bool), c] = marker if counts is None or c in counts else estimate_marker
    return out


# --------------------------------------------------------------------------- identifier checks
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{3,4}(?!\w|\.\d)"  # 555-123-4567, (020) 123 4567
    r"|(?<![\w.])\+\d{6,14}(?!\w|\.\d)"                                          # +441234567890
    r"|(?<![\w.])0\d{9,10}(?!\w|\.\d)"                                           # 07700900123
)
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")


def _identifier_columns(frame: pd.DataFrame) -> dict[str, str]:
    return find_identifier_columns(frame.columns)


def _texts_of(obj: Any) -> list[tuple[str, str]]:
    """(where, text) pairs for a string, DataFrame, path or a list of them."""
    if isinstance(obj, (list, tuple)):
        return [pair for o in obj for pair in _texts_of(o)]
    if isinstance(obj, pd.DataFrame):
        cols = " ".join(str(c) for c in obj.columns)
        idx = " ".join(str(i) for i in obj.index) if not isinstance(obj.index, pd.RangeIndex) else ""
        body = obj.astype(str).to_csv(index=False, header=False, sep="\t")
        return [("table", cols + "\n" + idx + "\n" + body)]
    if isinstance(obj, pd.Series):
        return _texts_of(obj.to_frame())
    if isinstance(obj, os.PathLike) or (isinstance(obj, str) and len(obj) < 4096 and "\n" not in obj
                                        and Path(obj).suffix and Path(obj).exists()):
        path = Path(obj)
        if path.is_dir():
            return [pair for p in sorted(path.rglob("*")) if p.is_file() for pair in _texts_of(p)]
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            parts = []
            for ws in wb.worksheets:
                rows = ("\t".join("" if v is None else str(v) for v in row) for row in ws.iter_rows(values_only=True))
                parts.append((f"{path.name}[{ws.title}]", ws.title + "\n" + "\n".join(rows)))
            wb.close()
            return parts
        if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".pdf", ".parquet"):
            return []
        return [(path.name, path.read_text(encoding="utf-8", errors="replace"))]
    return [("text", str(obj))]


def find_identifiers(obj: Any, dataset: Any = None, *, ids: Iterable[str] | None = None,
                     id_pattern: str | None = None) -> list[Problem]:
    """Every member id, name, e-mail or phone number found in ``obj``.

    Parameters
    ----------
    obj
        Text, a DataFrame/Series, a path (HTML, CSV, TXT, XLSX, or a folder of
        them) or a list of these.  Embedded ``data:...;base64`` images are
        skipped (their characters can match ids by chance).
    dataset
        A :class:`~groupeval.Dataset`: its ``members.member_id`` values are
        searched as whole words, and so are the values of any identifier-like
        columns (names, e-mail, phone, address, birth date) it carries.
    ids
        Further strings to look for (whole words).
    id_pattern
        A regular expression for ids (e.g. ``r"\\bM\\d{4}\\b"``).

    Returns
    -------
    list of Problem
        One per kind of hit and place (``file`` = where, ``value`` = the hit).
    """
    needles: dict[str, str] = {}
    if dataset is not None:
        members = getattr(dataset, "members", None)
        if members is not None and "member_id" in members:
            for v in members["member_id"].dropna().astype(str).unique():
                needles[v] = "member id"
        for name in ("members", "groups", "responses"):
            table = getattr(dataset, name, None)
            if isinstance(table, pd.DataFrame):
                for col, kind in _identifier_columns(table).items():
                    for v in table[col].dropna().astype(str).unique():
                        if len(v.strip()) >= 3:
                            needles[v.strip()] = kind
    for v in ids or ():
        needles[str(v)] = "member id"
    big = None
    if needles:
        alts = sorted(map(re.escape, needles), key=len, reverse=True)
        big = re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?!\w|\.\d)")
    user = re.compile(id_pattern) if id_pattern else None
    problems: list[Problem] = []
    for where, text in _texts_of(obj):
        text = _DATA_URI.sub(" ", text)
        hits: dict[tuple[str, str], int] = {}
        if big is not None:
            for m in big.finditer(text):
                hits[(needles[m.group(0)], m.group(0))] = hits.get((needles[m.group(0)], m.group(0)), 0) + 1
        if user is not None:
            for m in user.finditer(text):
                hits[("id pattern", m.group(0))] = 1
        for m in _EMAIL.finditer(text):
            hits[("email", m.group(0))] = 1
        for m in _PHONE.finditer(text):
            hits[("phone", m.group(0))] = 1
        for (kind, value), _ in hits.items():
            problems.append(Problem(where, None, None, value, f"output contains a {kind}",
                                    "remove or pseudonymise it before sharing"))
        if isinstance(obj, pd.DataFrame):
            for col, kind in _identifier_columns(obj).items():
                problems.append(Problem(where, None, col, None, f"output has a {kind} column",
                                        "drop the column"))
    return problems


def assert_no_identifiers(obj: Any, dataset: Any = None, *, ids: Iterable[str] | None = None,
                          id_pattern: str | None = None) -> None:
    """Raise :class:`~groupeval.exceptions.IdentifierError` if ``obj`` holds any identifier.

    Same arguments as :func:`find_identifiers`; every hit is listed.  Usable
    in tests and before sharing an output::

        assert_no_identifiers(Path("report.html"), dataset)
    """
    problems = find_identifiers(obj, dataset, ids=ids, id_pattern=id_pattern)
    if problems:
        raise IdentifierError("Output contains member identifiers or contact details", problems)
