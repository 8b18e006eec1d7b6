"""Writing the report's files safely: formula-free CSV/XLSX, temporary names, one rename at the end.

* Spreadsheet formulas are neutralised: a text cell starting with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading
  apostrophe (CSV) or as an explicit text cell (XLSX, ``t="s"``/inline
  string, never ``<f>``), as OWASP's CSV-injection guidance recommends.
* Every file is written under a temporary name in the target folder and
  renamed into place only when all of them are complete (:class:`Outputs`),
  so an interrupted run (Ctrl-C) leaves no half-written table and two runs
  into one folder never interleave inside one file.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .document import ReportDocument, Table
from .errors import ReportError

__all__ = ["neutralise", "neutralise_frame", "Outputs", "write_tables", "tables_paths", "check_writable"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text value a spreadsheet will not run: formula-like text gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise every text cell and column name of ``frame`` (numbers are left as numbers)."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def tables_paths(out: str | Path) -> tuple[Path, Path]:
    """Where the tables of the HTML report ``out`` go: (CSV folder, XLSX workbook)."""
    out = Path(out)
    folder = out.with_name(out.stem + "_tables")
    return folder, folder.with_name(folder.name + ".xlsx")


def check_writable(out: Path) -> None:
    """Refuse an output that is a folder, or whose folder cannot be created or written (before any work)."""
    if out.exists() and out.is_dir():
        raise ReportError(f"--out {out} is a folder; give a file name, e.g. {out / 'report.html'}.")
    parent = out.parent
    probe_dir = parent
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir() or not os.access(probe_dir, os.W_OK | os.X_OK):
        raise ReportError(f"cannot write to {parent}: the folder is not writable. Choose another --out.")
    if out.exists() and not os.access(out, os.W_OK):
        raise ReportError(f"cannot overwrite {out}: the file is read-only. Choose another --out.")


class Outputs:
    """Files of one report run: staged under temporary names in the target folder, committed together."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=".groupeval-", dir=folder))
        self._moves: list[tuple[Path, Path]] = []

    def path(self, final: Path) -> Path:
        """A temporary path for ``final`` (same file system, so the rename is atomic)."""
        tmp = self.staging / f"{len(self._moves):03d}_{final.name}"
        self._moves.append((tmp, final))
        return tmp

    def commit(self) -> None:
        for tmp, final in self._moves:
            if tmp.is_dir():
                if final.exists():
                    shutil.rmtree(final) if final.is_dir() else final.unlink()
                os.replace(tmp, final)
            elif tmp.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


@contextmanager
def staged(folder: Path) -> Iterator[Outputs]:
    """Stage files; commit on success, discard on any error or Ctrl-C."""
    outs = Outputs(folder)
    try:
        yield outs
    except BaseException:
        outs.discard()
        raise
    outs.commit()


def _sheet_name(k: int, key: str) -> str:
    return f"{k:02d}_{key}"[:31]


def write_tables(doc: ReportDocument, outputs: Outputs, folder: Path, xlsx: Path) -> dict[str, Path]:
    """One CSV per table (unrounded, hidden cells empty, ``*_suppressed`` flags) and one XLSX workbook."""
    tables: list[Table] = doc.tables()
    tmp_folder = outputs.path(folder)
    tmp_folder.mkdir()
    paths: dict[str, Path] = {}
    frames = {}
    for k, t in enumerate(tables, start=1):
        frame = neutralise_frame(t.export_frame())
        frames[_sheet_name(k, t.key)] = (t, frame)
        name = f"{k:02d}_{t.key}.csv"
        frame.to_csv(tmp_folder / name, index=False)
        paths[t.key] = folder / name
    readme = pd.DataFrame({"sheet": list(frames), "title": [neutralise(t.title) for t, _ in frames.values()]})
    info = pd.DataFrame({"sheet": ["", "audience", "min_cell", "suppression"],
                         "title": ["", doc.audience, str(doc.min_cell),
                                   "counts below min_cell, every count that would let one be worked out, and "
                                   "estimates resting on fewer people are empty; <col>_suppressed marks them"
                                   if doc.audience in ("funder", "public") else "none (internal audience)"]})
    tmp_x = outputs.path(xlsx)
    xw = pd.ExcelWriter(tmp_x, engine="openpyxl")
    try:
        pd.concat([readme, info], ignore_index=True).to_excel(xw, sheet_name="README", index=False)
        for sheet, (_, frame) in frames.items():
            out = frame.copy()
            for c in out.columns:  # Excel has no nullable ints
                if pd.api.types.is_extension_array_dtype(out[c].dtype) and out[c].dtype.kind in "iub":
                    out[c] = out[c].astype(float)
            out.to_excel(xw, sheet_name=sheet, index=False)
        for ws in xw.book.worksheets:  # openpyxl reads "=..." as a formula: force every text cell to text
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"
    except BaseException:
        # interrupted (Ctrl-C) or failed: do not close the writer, which would save a partial workbook
        raise
    xw.close()
    paths["_xlsx"] = xlsx
    return paths


def _is_nan(v: Any) -> bool:
    try:
        return bool(np.isnan(v))
    except (TypeError, ValueError):
        return False
