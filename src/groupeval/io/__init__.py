"""The io layer: files -> canonical pandas tables (no validation).

``read_table`` reads any CSV / XLSX / Parquet file; ``read_attendance`` and
``read_survey`` turn attendance sheets and survey exports into the canonical
``attendance`` and ``responses`` tables.  Each has a ``*_source`` twin that
returns the typed :class:`SourceTable` (table + provenance + the facts of the
file's shape + the reader's notes) that validation consumes.  See
docs/reading-data.md.

May import: :mod:`groupeval.base`.
"""
from ._csv import peek_header, sniff_delimiter
from ._dates import ParsedDates, parse_dates, read_dates
from ._files import peek_columns, read_table, read_table_source
from ._notes import Note
from ._source import BLANK_CELL, SOURCE_COLUMN, SheetFacts, SourceTable, as_source
from .attendance import read_attendance, read_attendance_source
from .survey import read_survey, read_survey_source

__all__ = ["read_table", "read_attendance", "read_survey", "read_table_source", "read_attendance_source",
           "read_survey_source", "SourceTable", "SheetFacts", "Note", "as_source", "parse_dates", "read_dates",
           "ParsedDates", "peek_header", "peek_columns", "sniff_delimiter", "SOURCE_COLUMN", "BLANK_CELL"]
