"""The io layer: files -> canonical pandas tables (no validation).

``read_table`` reads any CSV / XLSX / Parquet file; ``read_attendance`` and
``read_survey`` turn attendance sheets and survey exports into the canonical
``attendance`` and ``responses`` tables.  See docs/reading-data.md.

May import: :mod:`groupeval.base`.
"""
from ._dates import parse_dates
from ._files import read_table
from .attendance import BLANK_CELL, SOURCE_COLUMN, read_attendance
from .survey import read_survey

__all__ = ["read_table", "read_attendance", "read_survey", "parse_dates", "SOURCE_COLUMN", "BLANK_CELL"]
