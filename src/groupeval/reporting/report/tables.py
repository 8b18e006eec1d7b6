"""Tables shown in a report: suppressed for the audience, displayed, and exported.

:class:`ReportTables` is what the report notebooks use for every table they
show: ``add`` applies :func:`groupeval.privacy.suppress` for funder/public
audiences, refuses member-level identifiers, displays the table as HTML
(rounded only here, through :mod:`groupeval.formatting`) and keeps the
unrounded, suppressed table; ``write`` saves one CSV per table and one XLSX
workbook (a sheet per table plus a ``README`` sheet).
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...base.exceptions import ConfigError, IdentifierError, Problem
from ..privacy import FLAG_SUFFIX, check_audience, needs_suppression, suppress

__all__ = ["ReportTables", "format_table_html"]

#: Columns that must never reach a report table.
FORBIDDEN_COLUMNS = ("member_id",)


def _slug(name: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")
    if not s:
        raise ConfigError(f"table name {name!r} has no letters or digits; use e.g. 'retention_by_group_type'.")
    return s


def _fmt_value(col: str, v: Any) -> str:
    from .. import formatting as F

    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        if col in ("p_value", "p") or col.endswith("_p") or col.startswith("p_value"):
            return F.fmt_p(v, prefix=False)
        if float(v).is_integer() and abs(v) >= 1000:
            return f"{int(v):,}"
        return F.fmt_number(v, 2)
    return str(v)


def format_table_html(table: pd.DataFrame, *, caption: str | None = None, min_cell: int = 11,
                      labels: Mapping[str, str] | None = None, note: str | None = None) -> str:
    """Rounded HTML for a (possibly suppressed) table; hidden cells show ``<min_cell``."""
    from .. import formatting as F

    flags = [c for c in table.columns if c.endswith(FLAG_SUFFIX) and c[: -len(FLAG_SUFFIX)] in table.columns]
    data = table.drop(columns=flags)
    labels = dict(labels or {})
    head = "".join(f"<th>{html.escape(labels.get(c, F.plain_label(c) if hasattr(F, 'plain_label') else c))}</th>"
                   for c in data.columns)
    hidden = {c[: -len(FLAG_SUFFIX)]: table[c].to_numpy(bool) for c in flags}
    marker = f"&lt;{min_cell}"
    rows = []
    for i in range(len(data)):  # display only: report tables have a handful of rows
        cells = []
        for c in data.columns:
            if c in hidden and hidden[c][i]:
                cells.append(f"<td>{marker}</td>")
            else:
                cells.append(f"<td>{html.escape(_fmt_value(c, data[c].iloc[i]))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    out = f'<table class="ge-table">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    if note:
        out += f'<p class="ge-note">{html.escape(note)}</p>'
    return out


class ReportTables:
    """Collects, suppresses, shows and exports a report's tables.

    Parameters
    ----------
    out_dir
        Folder for the CSV files (created).  The workbook is written beside
        it as ``<out_dir>.xlsx`` (``report_tables/`` -> ``report_tables.xlsx``).
    audience
        ``program`` / ``research`` (no suppression) or ``funder`` / ``public``.
    min_cell
        Smallest count of people shown to funder/public audiences (default 11).
    display
        Show each added table in the notebook (default True).
    """

    def __init__(self, out_dir: str | Path | None, *, audience: str = "program", min_cell: int = 11,
                 display: bool = True):
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.audience = check_audience(audience)
        self.min_cell = int(min_cell)
        self.display = display
        self.tables: dict[str, pd.DataFrame] = {}
        self.titles: dict[str, str] = {}

    @property
    def suppressing(self) -> bool:
        return needs_suppression(self.audience)

    def add(self, name: str, table: pd.DataFrame, *, title: str, count_columns: str | Sequence[str] = (),
            estimates: Mapping[str, str | Sequence[str]] | None = None, totals: Any = None,
            relations: Sequence[Any] = (), force: Any = None, denominators: Mapping[str, str] | None = None,
            show: Sequence[str] | None = None,
            internal_only: Sequence[str] = (), drop_rows: Any = None,
            labels: Mapping[str, str] | None = None, note: str | None = None) -> pd.DataFrame:
        """Suppress (funder/public), check, show and keep one table; returns the kept table.

        ``count_columns``, ``estimates``, ``totals``, ``relations``, ``force`` and ``denominators`` are passed
        to :func:`groupeval.privacy.suppress`.  ``show`` limits the columns
        displayed (the exported CSV/XLSX keep them all).  ``internal_only``
        columns are removed for funder/public audiences after suppression
        (counts that would let small numbers be worked out by comparing
        tables, e.g. members with only a baseline survey).  ``drop_rows``
        (function of the table -> boolean mask) removes helper rows, such as
        totals that exist only to drive complementary suppression, after
        suppression and only for funder/public audiences.  A table with a ``member_id``
        column is refused (:class:`~groupeval.exceptions.IdentifierError`):
        report tables are aggregates.
        """
        slug = _slug(name)
        bad = [c for c in table.columns if str(c) in FORBIDDEN_COLUMNS]
        if bad:
            raise IdentifierError(f"Report table {name!r} has member-level identifier column(s) {bad}",
                                  [Problem(name, None, c, None, "member ids never go into a report",
                                           "aggregate the table or drop the column") for c in bad])
        kept = suppress(table.reset_index(drop=True), count_columns=list(count_columns) if not
                        isinstance(count_columns, str) else [count_columns], min_cell=self.min_cell,
                        audience=self.audience, totals=totals, estimates=estimates,
                        relations=relations, force=force, denominators=denominators) \
            if (count_columns and len(table)) else table.reset_index(drop=True).copy()
        if self.suppressing and drop_rows is not None:
            kept = kept[~np.asarray(drop_rows(kept), dtype=bool)].reset_index(drop=True)
        if self.suppressing and internal_only:
            drop = [c for c in internal_only if c in kept.columns]
            kept = kept.drop(columns=drop + [c + FLAG_SUFFIX for c in drop if c + FLAG_SUFFIX in kept.columns])
        self.tables[slug] = kept
        self.titles[slug] = title
        if self.display:
            from IPython.display import HTML, display

            shown = kept
            if show is not None:
                cols = [c for c in show if c in kept.columns]
                cols += [c + FLAG_SUFFIX for c in cols if c + FLAG_SUFFIX in kept.columns]
                shown = kept[cols]
            display(HTML(format_table_html(shown, caption=title, min_cell=self.min_cell, labels=labels,
                                           note=note)))
        return kept

    def write(self) -> dict[str, Path]:
        """Write ``NN_<name>.csv`` per table into ``out_dir`` and ``<out_dir>.xlsx`` beside it.

        CSVs hold the unrounded values with hidden cells empty and the
        ``*_suppressed`` flag columns; the workbook has the same sheets plus
        ``README`` (audience, min_cell, table list).
        """
        if self.out_dir is None:
            raise ConfigError("ReportTables was created without out_dir; nothing to write.")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for k, (slug, t) in enumerate(self.tables.items(), start=1):
            p = self.out_dir / f"{k:02d}_{slug}.csv"
            t.to_csv(p, index=False)
            paths[slug] = p
        xlsx = self.out_dir.with_name(self.out_dir.name + ".xlsx")
        readme = pd.DataFrame({
            "sheet": [f"{k:02d}_{s}"[:31] for k, s in enumerate(self.tables, start=1)],
            "title": list(self.titles.values()),
        })
        info = pd.DataFrame({"sheet": ["", "audience", "min_cell", "suppression"],
                             "title": ["", self.audience, str(self.min_cell),
                                       ("counts below min_cell, cells that would reveal them from totals, and "
                                        "estimates resting on them are empty; <col>_suppressed flags mark them")
                                       if self.suppressing else "none (internal audience)"]})
        with pd.ExcelWriter(xlsx, engine="openpyxl") as xw:
            pd.concat([readme, info], ignore_index=True).to_excel(xw, sheet_name="README", index=False)
            for k, (slug, t) in enumerate(self.tables.items(), start=1):
                out = t.copy()
                for c in out.columns:  # Excel has no time zones / nullable ints
                    if pd.api.types.is_extension_array_dtype(out[c].dtype) and out[c].dtype.kind in "iub":
                        out[c] = out[c].astype("float")
                out.to_excel(xw, sheet_name=f"{k:02d}_{slug}"[:31], index=False)
        paths["_xlsx"] = xlsx
        return paths
