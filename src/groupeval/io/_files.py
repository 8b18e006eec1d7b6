"""Reading one file into a DataFrame: format, encoding and delimiter sniffing.

This is the bottom of the io layer.  It knows nothing about attendance or
surveys; it turns a CSV / XLSX / Parquet file into DataFrames whose columns
carry the header text, renames raw columns to canonical ones, and adds the
provenance columns ``_source_file`` and ``_source_row`` (the row number as
the user sees it in a spreadsheet: header = row 1, first data row = row 2).

CSV goes through :func:`pyarrow.csv.read_csv` (several times faster than
pandas' default parser on millions of rows).
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, Problem, ReadError
from ..base.schema import SOURCE_FILE, SOURCE_ROW

__all__ = ["read_table", "RawSheet", "read_sheets", "norm_name", "DELIMITERS", "ENCODINGS",
           "CSV_SUFFIXES", "EXCEL_SUFFIXES", "PARQUET_SUFFIXES"]

DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
_SUPPORTED = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES

#: canonical columns always read as text (identifiers keep leading zeros)
DEFAULT_TEXT = frozenset({"member_id", "group_id", "record_id", "timepoint"})
#: how many leading rows may be a title above the header
_MAX_TITLE_ROWS = 20
_SNIFF_BYTES = 1 << 16
#: CSV files larger than this are parsed from a memory map when they are plain UTF-8
_DIRECT_BYTES = 1 << 20


def norm_name(name: object) -> str:
    """Normalise a column name for matching: lower case, non-alphanumerics as ``_``.

    ``"Member ID"`` -> ``"member_id"``, ``" Session-Date "`` -> ``"session_date"``.
    """
    s = re.sub(r"[^0-9a-z]+", "_", str(name).strip().casefold())
    return s.strip("_")


def recognise_aliases(header: list[str], aliases: Mapping[str, tuple[str, ...] | list[str]]) -> dict[str, str]:
    """Auto-map raw column names to canonical ones through ``aliases``.

    ``aliases`` maps a canonical name to normalised raw spellings
    (:func:`norm_name`), e.g. ``{"member_id": ("member_id", "participant_id")}``.
    A canonical name already in the header is left alone; an alias matched by
    more than one raw column is ambiguous and not used.
    """
    present = set(header)
    normed: dict[str, list[str]] = {}
    for h in header:
        normed.setdefault(norm_name(h), []).append(h)
    out: dict[str, str] = {}
    for canon, names in aliases.items():
        if canon in present:
            continue
        for a in names:
            hits = [h for h in normed.get(a, []) if h not in out]
            if len(hits) == 1:
                out[hits[0]] = canon
                break
    return out


def _squash(name: object) -> str:
    """Case- and whitespace-insensitive key used by ``columns=`` matching."""
    return "".join(str(name).split()).casefold()


def _col_letter(i: int) -> str:
    """0-based column index -> spreadsheet letter (0 -> A, 26 -> AA)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


@dataclass
class RawSheet:
    """One table read from a file, before any shape-specific processing.

    ``frame`` has string column labels (renamed to canonical names where a
    mapping applied) and the provenance columns.  ``label`` is the value of
    ``_source_file`` (the file name, plus ``[sheet]`` for multi-sheet workbooks).
    """

    label: str
    sheet: str | None
    frame: pd.DataFrame
    header_row: int
    renamed: dict[str, str] = field(default_factory=dict)
    raw_header: list[str] = field(default_factory=list)
    blank_rows: int = 0
    #: columns parsed as calendar dates (no time of day: already normalised to the day)
    day_columns: frozenset = frozenset()


# --------------------------------------------------------------------------
# header helpers


def _header_text(value: object) -> str:
    """A header cell as text: Excel dates become ISO dates, 3.0 becomes '3'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.strftime("%Y-%m-%d")
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}([ T][\d:.]+)?|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})$")


def _looks_like_data(text: str) -> bool:
    return bool(_NUMBER_RE.match(text) or _DATE_RE.match(text))


def _check_header(header: list[str], label: str, header_row: int) -> None:
    """Raise ReadError when the header looks like data or repeats a name."""
    filled = [h for h in header if h != ""]
    if filled and all(_looks_like_data(h) for h in filled):
        raise ReadError(
            f"{label} has no header row",
            [Problem(label, header_row, None, ", ".join(filled[:6]),
                     "the first row holds numbers or dates, not column names",
                     "add a first row with column names (e.g. member_id, group_id, session_date); "
                     "in a wide attendance sheet the column of member ids needs a header too (member_id)")],
        )
    seen: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        if h != "":
            seen.setdefault(h, []).append(i)
    dups = {h: idx for h, idx in seen.items() if len(idx) > 1}
    if dups:
        raise ReadError(
            f"{label} has duplicated column names",
            [Problem(label, header_row, h, None,
                     f"the column name appears {len(idx)} times (columns "
                     + ", ".join(_col_letter(i) for i in idx) + ")",
                     "give each column a unique name or delete the copies")
             for h, idx in dups.items()],
        )


def _find_header(rows: list[list[str]]) -> int:
    """Index of the header among the first rows: the first with >= 2 filled cells.

    Title rows above the header ("Tuesday group attendance") hold one cell at
    most.  Falls back to the first non-empty row.
    """
    first_nonempty = None
    for i, row in enumerate(rows[:_MAX_TITLE_ROWS]):
        n = sum(1 for c in row if c != "")
        if n and first_nonempty is None:
            first_nonempty = i
        if n >= 2:
            return i
    return 0 if first_nonempty is None else first_nonempty


# --------------------------------------------------------------------------
# column mapping


def resolve_columns(header: Iterable[str], columns: Mapping[str, str] | None, label: str) -> dict[str, str]:
    """Match the keys of ``columns=`` to raw header names (exact, then insensitive)."""
    if not columns:
        return {}
    if not isinstance(columns, Mapping):
        raise ConfigError(f"columns= must be a mapping of raw column name -> canonical name, "
                          f"got {type(columns).__name__}")
    header = list(header)
    exact = set(header)
    loose: dict[str, list[str]] = {}
    for h in header:
        loose.setdefault(_squash(h), []).append(h)
    rename: dict[str, str] = {}
    problems = []
    for raw, canon in columns.items():
        if not isinstance(canon, str) or not canon:
            problems.append(Problem(label, None, str(raw), canon, "the canonical name must be a non-empty string",
                                    "write columns={'Raw name': 'member_id'}"))
            continue
        if raw in exact:
            rename[raw] = canon
            continue
        cands = loose.get(_squash(raw), [])
        if len(cands) == 1:
            rename[cands[0]] = canon
        elif len(cands) > 1:
            problems.append(Problem(label, None, str(raw), None,
                                    f"columns= key matches several columns ignoring case/spaces: {cands}",
                                    "use the exact column name"))
        else:
            problems.append(Problem(label, None, str(raw), None,
                                    "columns= names a column the file does not have",
                                    "use one of the available columns: " + ", ".join(repr(h) for h in header if h)))
    if problems:
        raise ConfigError(f"columns= mapping does not fit {label}", problems)
    return rename


def _apply_rename(header: list[str], rename: Mapping[str, str], label: str, header_row: int) -> list[str]:
    new = [rename.get(h, h) for h in header]
    seen: dict[str, list[str]] = {}
    for old, n in zip(header, new):
        if n != "":
            seen.setdefault(n, []).append(old)
    clash = {n: olds for n, olds in seen.items() if len(olds) > 1}
    if clash:
        raise ConfigError(
            f"renaming columns of {label} gives two columns the same name",
            [Problem(label, header_row, n, None, f"columns {olds} would all be called {n!r}",
                     "map only one of them to this name (or drop the other one)")
             for n, olds in clash.items()],
        )
    return new


Recogniser = Callable[[list[str]], Mapping[str, str]]


def _rename_plan(raw_header: list[str], columns, recognise: Recogniser | None, label: str,
                 header_row: int) -> tuple[dict[str, str], list[str]]:
    rename = resolve_columns(raw_header, columns, label)
    mapped = [rename.get(h, h) for h in raw_header]
    if recognise is not None:
        auto = recognise(mapped)
        # auto-recognition never overrides an explicit mapping
        for h, m in zip(raw_header, mapped):
            if h not in rename and m in auto:
                rename[h] = auto[m]
    final = _apply_rename(raw_header, rename, label, header_row)
    return rename, final


# --------------------------------------------------------------------------
# CSV


def _decode_check(data: bytes, label: str) -> tuple[bytes, str]:
    """Return UTF-8 bytes (without BOM) and the encoding the file was in."""
    if data.startswith(b"\xef\xbb\xbf"):
        body = data[3:]
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _encoding_error(label, data, e.start + 3) from None
        return body, "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel "Unicode text"
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError as e:
            raise _encoding_error(label, data, e.start) from None
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise ReadError(f"{label} is not a text CSV file",
                        [Problem(label, None, None, None, "the file holds binary data (NUL bytes)",
                                 "save it as CSV (UTF-8) or give it its real extension (.xlsx, .parquet)")])
    if data.isascii():
        return data, "utf-8"
    try:
        data.decode("utf-8")
        return data, "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252").encode("utf-8"), "cp1252"
    except UnicodeDecodeError as e:
        raise _encoding_error(label, data, e.start) from None


def _encoding_error(label: str, data: bytes, pos: int) -> ReadError:
    line = data.count(b"\n", 0, pos) + 1
    snippet = data[max(0, pos - 10): pos + 10]
    return ReadError(f"{label} has an encoding groupeval cannot read",
                     [Problem(label, line, None, repr(snippet),
                              f"byte {data[pos]:#04x} is not valid UTF-8 or Windows-1252 (cp1252)",
                              "re-save the file as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8)")])


def _sniff_delimiter(sample: str) -> str:
    """Pick the delimiter among , ; TAB | that splits the first lines most consistently."""
    lines = sample.splitlines()
    if len(sample) >= _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # last line may be cut
    lines = [ln for ln in lines[:50] if ln.strip()]
    if not lines:
        return ","
    best, best_key = ",", (-1, -1, -1, -1)
    text = "\n".join(lines)
    for d in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=d))
        except csv.Error:
            continue
        counts = [len(r) for r in rows if any(c.strip() for c in r)]
        if not counts:
            continue
        width = max(set(counts), key=counts.count)
        consistent = sum(c == width for c in counts)
        # ties: the delimiter under which the header (an early row) already has the common width
        key = (int(width > 1), -counts.index(width), consistent, width)
        if key > best_key:
            best, best_key = d, key
    return best


class _NotPlain(Exception):
    """A memory-mapped CSV needs the general path (re-encoding, repairs or an error report)."""


def _plain_head(head: bytes) -> bool:
    """True when the start of a file is UTF-8 without BOM, NUL bytes or an Excel ``sep=`` line."""
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        return False
    if re.match(rb"sep=(.)\r?\n", head[:8]):
        return False
    if head.isascii():
        return True
    try:  # a character cut at the end of the sample is fine
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _read_csv(path: Path, label: str, columns, recognise, text_names, csv_text_names=()) -> RawSheet:
    import pyarrow as pa

    # Large plain UTF-8 files are parsed straight from a memory map (no copy into Python, no
    # whole-file encoding pass: pyarrow checks UTF-8 itself).  Anything unusual - invalid UTF-8,
    # rows of the wrong length, a parse error - falls back to the general path below, which
    # re-encodes, and reports problems exactly as before.
    if path.stat().st_size > _DIRECT_BYTES:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
        if _plain_head(head):
            try:
                return _parse_csv(pa.memory_map(str(path)).read_buffer(), head, None, label, columns, recognise,
                                  text_names, csv_text_names, direct=True)
            except _NotPlain:
                pass
    data = path.read_bytes()
    if len(data) < _SNIFF_BYTES and not data.strip().strip(b"\xef\xbb\xbf"):
        raise ReadError(f"{label} is empty", [Problem(label, None, None, None, "the file has no content",
                                                     "export the table again, with its header row")])
    data, _enc = _decode_check(data, label)
    m = re.match(rb"sep=(.)\r?\n", data[:8])
    if m:  # Excel's delimiter hint line; Excel does not show it as a row
        data = data[m.end():]
    return _parse_csv(data, data[:_SNIFF_BYTES], m.group(1).decode() if m else None, label, columns, recognise,
                      text_names, csv_text_names)


def _parse_csv(data, head: bytes, delim: str | None, label: str, columns, recognise, text_names, csv_text_names,
               direct: bool = False) -> RawSheet:
    """Parse UTF-8 CSV ``data`` (bytes, or a pyarrow buffer when ``direct``) into a RawSheet."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    sample = head.decode("utf-8", errors="replace")
    delim = delim or _sniff_delimiter(sample)
    # header row (skip title rows above it)
    head_rows = []
    lines_after = []  # physical lines read after each record (quoted cells may span lines)
    reader = csv.reader(io.StringIO(sample), delimiter=delim)
    for r in reader:
        head_rows.append([c.strip() for c in r])
        lines_after.append(reader.line_num)
        if len(head_rows) >= _MAX_TITLE_ROWS:
            break
    hidx = _find_header(head_rows)
    raw_header = head_rows[hidx] if head_rows else []
    header_row = hidx + 1
    if not any(raw_header):
        raise ReadError(f"{label} is empty", [Problem(label, None, None, None, "the file has no content",
                                                     "export the table again, with its header row")])
    _check_header(raw_header, label, header_row)
    rename, final = _rename_plan(raw_header, columns, recognise, label, header_row)
    # unique names for pyarrow: blanks become unnamed_<letter>
    names = [f if f != "" else f"unnamed_{_col_letter(i)}" for i, f in enumerate(final)]
    text = set(text_names) | DEFAULT_TEXT
    col_types = {n: pa.string() for n in names if n in text}
    # code columns (attendance marks) are read as text as written (no type inference: 1.0 stays "1.0");
    # their few distinct values are classified later (dictionary-encoding them while parsing costs more)
    col_types.update({n: pa.string() for n in names if n in set(csv_text_names)})
    bad_rows: list = []

    def _bad(row):
        bad_rows.append(row)
        return "skip"

    def parse(newlines_in_values: bool):
        bad_rows.clear()
        return pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(skip_rows=lines_after[hidx], column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=newlines_in_values,
                                              ignore_empty_lines=False, invalid_row_handler=_bad),
            convert_options=pacsv.ConvertOptions(column_types=col_types, strings_can_be_null=True,
                                                 quoted_strings_can_be_null=True),
        )

    # Fast path: parse as if no quoted cell holds a line break (multi-threaded chunking
    # is then exact).  It was right iff every physical line gave one record; otherwise,
    # or on any parse problem, parse again allowing line breaks inside quoted cells.
    table = None
    arr = np.frombuffer(data, dtype=np.uint8)
    if not _has_byte(data, arr, b'"'):
        nl = False
    else:
        nl = True
        try:
            fast = parse(False)
            n_lines = _count_newlines(arr) + (0 if arr[-1:].tobytes() == b"\n" else 1)
            if not bad_rows and fast.num_rows + lines_after[hidx] == n_lines:
                table = fast
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    if table is None:
        try:
            table = parse(nl)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:  # pragma: no cover - pyarrow message varies
            if direct:
                raise _NotPlain from None
            fix = "check that every row has the same number of fields and quotes are closed"
            raise ReadError(f"{label} cannot be parsed as CSV",
                            [Problem(label, None, None, None, str(e).splitlines()[0], fix)]) from None
    if direct and (bad_rows or any(pa.types.is_binary(t) or pa.types.is_large_binary(t)
                                   for t in table.schema.types)):
        raise _NotPlain  # invalid UTF-8 (pyarrow reads such a column as binary) or ragged rows
    if bad_rows:
        raise _ragged_error(data, delim, hidx, len(names), label)
    frame = _arrow_to_pandas(table, {SOURCE_ROW: np.arange(header_row + 1, header_row + 1 + table.num_rows,
                                                          dtype=np.int64)})
    return _finish(RawSheet(label, None, frame, header_row, rename, raw_header,
                            day_columns=_day_columns(table)), label)


def _day_columns(table) -> frozenset:
    import pyarrow as pa

    return frozenset(n for n, t in zip(table.column_names, table.schema.types) if pa.types.is_date(t))


_STEP = 1 << 18  # bytes per numpy slice: cache-sized


def _count_newlines(arr: np.ndarray) -> int:
    """Number of ``\\n`` bytes of a uint8 array (numpy on slices: ~3x faster than ``bytes.count``)."""
    return int(sum(np.count_nonzero(arr[i:i + _STEP] == 10) for i in range(0, len(arr), _STEP)))


def _has_byte(data, arr: np.ndarray, byte: bytes) -> bool:
    if isinstance(data, bytes):
        return byte in data
    b = byte[0]
    return any(bool((arr[i:i + _STEP] == b).any()) for i in range(0, len(arr), _STEP))


def _ragged_error(data: bytes, delim: str, hidx: int, width: int, label: str) -> ReadError:
    problems = []
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace")), delimiter=delim)
    for i, r in enumerate(reader):
        if i <= hidx or not r:
            continue
        if len(r) != width:
            problems.append(Problem(label, i + 1, None, delim.join(r)[:60],
                                    f"the row has {len(r)} fields but the header has {width}",
                                    "remove the extra separators or quote values that contain the delimiter "
                                    f"{delim!r}"))
    return ReadError(f"{label} has rows of the wrong length", problems)


def _arrow_to_pandas(table, extra: Mapping | None = None) -> pd.DataFrame:
    """A pyarrow table as a DataFrame (strings Arrow-backed, dates datetime64[ns]), plus ``extra`` columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = {}
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_date(t) or pa.types.is_timestamp(t):
            if pa.types.is_timestamp(t) and t.tz is not None:
                col = pc.local_timestamp(col)
            col = col.cast(pa.timestamp("ns"))
            cols[name] = pd.Series(col.to_numpy(), dtype="datetime64[ns]")
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            cols[name] = pd.Series(col.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"),
                                                                pa.large_string(): pd.StringDtype("pyarrow")}.get))
        elif pa.types.is_null(t):
            cols[name] = pd.Series(np.full(len(col), np.nan), dtype="float64")
        else:
            cols[name] = col.to_pandas()
    cols.update(extra or {})
    return pd.DataFrame(cols, copy=False)


# --------------------------------------------------------------------------
# Excel


def _read_excel(path: Path, sheet, columns, recognise, text_names) -> list[RawSheet]:
    from zipfile import BadZipFile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, OSError, KeyError, ValueError) as e:
        raise ReadError(f"{path.name} cannot be opened as an Excel workbook",
                        [Problem(path.name, None, None, None, f"{type(e).__name__}: {e}",
                                 "open it in Excel and save it again as .xlsx")]) from None
    try:
        names = wb.sheetnames
        if sheet is not None:
            if sheet not in names:
                raise ConfigError(f"{path.name} has no sheet {sheet!r}",
                                  [Problem(path.name, None, None, sheet, "no such sheet",
                                           "use one of: " + ", ".join(repr(n) for n in names))])
            names = [sheet]
        out = []
        multi = len(wb.sheetnames) > 1
        # with several sheets a columns= key need only match on the sheets that have it
        matched: set | None = set() if len(names) > 1 and columns else None
        headers: list[str] = []
        for name in names:
            label = f"{path.name} [{name}]" if multi else path.name
            rows = [list(r) for r in wb[name].iter_rows(values_only=True)]
            raw = _excel_sheet(rows, label, name, columns, recognise, text_names, matched)
            if raw is not None:
                out.append(raw)
                headers += [h for h in raw.raw_header if h not in headers]
    finally:
        wb.close()
    if matched is not None and set(columns) - matched:
        resolve_columns(headers, {k: v for k, v in columns.items() if k not in matched}, path.name)
    if not out:
        raise ReadError(f"{path.name} is empty", [Problem(path.name, None, None, None,
                                                         "no sheet holds a header and data rows",
                                                         "put a header row and data on a sheet")])
    return out


def _excel_sheet(rows, label, sheet_name, columns, recognise, text_names, matched=None) -> RawSheet | None:
    # drop trailing empty rows
    while rows and all(c is None or (isinstance(c, str) and not c.strip()) for c in rows[-1]):
        rows.pop()
    if not rows:
        return None
    width = max(len(r) for r in rows)
    head_text = [[_header_text(c) for c in r] for r in rows[:_MAX_TITLE_ROWS]]
    hidx = _find_header(head_text)
    raw_header = head_text[hidx] + [""] * (width - len(head_text[hidx]))
    header_row = hidx + 1
    _check_header(raw_header, label, header_row)
    if matched is not None:
        keys = {_squash(h) for h in raw_header} | set(raw_header)
        columns = {k: v for k, v in columns.items() if k in keys or _squash(k) in keys}
        matched.update(columns)
    rename, final = _rename_plan(raw_header, columns, recognise, label, header_row)
    names = [f if f != "" else f"unnamed_{_col_letter(i)}" for i, f in enumerate(final)]
    body = rows[hidx + 1:]
    body = [r + [None] * (width - len(r)) if len(r) < width else r for r in body]
    arr = np.empty((len(body), width), dtype=object)
    if body:
        arr[:] = body
    text = set(text_names) | DEFAULT_TEXT
    cols = {}
    for j, n in enumerate(names):
        cols[n] = _excel_column(arr[:, j], n in text)
    frame = pd.DataFrame(cols, copy=False)
    frame[SOURCE_ROW] = np.arange(header_row + 1, header_row + 1 + len(frame), dtype=np.int64)
    return _finish(RawSheet(label, sheet_name, frame, header_row, rename, raw_header), label)


def _to_text(s: pd.Series) -> pd.Series:
    """Cells -> text ids: 1001.0 -> '1001', datetimes -> ISO dates, blanks -> <NA>."""
    def conv(v):
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, (datetime, date)):
            return _header_text(v)
        return str(v)
    return s.map(conv, na_action="ignore").astype("string[pyarrow]")


def _excel_column(values: np.ndarray, as_text: bool) -> pd.Series:
    """An object array of Excel cells -> a typed Series (blank strings become missing)."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    s = pd.Series(values, dtype=object)
    if kind in ("string", "mixed", "mixed-integer"):
        is_str = np.frompyfunc(lambda v: isinstance(v, str) and not v.strip(), 1, 1)(values).astype(bool)
        if is_str.any():
            s = s.where(~is_str, None)
            kind = pd.api.types.infer_dtype(s, skipna=True)
    if as_text:
        return _to_text(s)
    if kind == "empty":
        return pd.Series(np.full(len(s), np.nan), dtype="float64")
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(s)
    if kind == "boolean":
        return s.astype("boolean")
    if kind in ("datetime", "date", "datetime64"):
        return pd.to_datetime(s).astype("datetime64[ns]")
    if kind == "string":
        return s.astype("string[pyarrow]")
    return s  # mixed cells stay as objects; shape readers interpret them


# --------------------------------------------------------------------------
# Parquet


def _read_parquet(path: Path, columns, recognise, text_names) -> RawSheet:
    import pyarrow as pa
    import pyarrow.parquet as pq

    label = path.name
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise ReadError(f"{label} cannot be read as Parquet",
                        [Problem(label, None, None, None, str(e).splitlines()[0],
                                 "write the file again with pandas.DataFrame.to_parquet or pyarrow")]) from None
    raw_header = [str(c) for c in table.column_names]
    _check_header(raw_header, label, 1)
    rename, final = _rename_plan(raw_header, columns, recognise, label, 1)
    table = table.rename_columns(final)
    frame = _arrow_to_pandas(table)
    text = set(text_names) | DEFAULT_TEXT
    for n in frame.columns:
        if n in text and not isinstance(frame[n].dtype, pd.StringDtype):
            frame[n] = _to_text(frame[n].astype(object).where(frame[n].notna(), None))
    frame[SOURCE_ROW] = np.arange(2, 2 + len(frame), dtype=np.int64)
    return _finish(RawSheet(label, None, frame, 1, rename, raw_header, day_columns=_day_columns(table)), label)


# --------------------------------------------------------------------------


def _finish(raw: RawSheet, label: str) -> RawSheet:
    f = raw.frame
    data_cols = [c for c in f.columns if c != SOURCE_ROW]
    # unnamed columns with no values are formatting debris: drop them
    empty_unnamed = [c for c in data_cols if c.startswith("unnamed_") and f[c].isna().all()]
    if empty_unnamed:
        f = f.drop(columns=empty_unnamed)
        data_cols = [c for c in data_cols if c not in empty_unnamed]
    # fully blank rows hold no data (Excel formatting, blank CSV lines); a column
    # without missing values proves there are none (the usual case: no row-wise pass)
    if data_cols and len(f) and all(f[c].hasnans for c in data_cols):
        blank = f[data_cols].isna().all(axis=1).to_numpy()
        if blank.any():
            raw.blank_rows = int(blank.sum())
            f = f.loc[~blank].reset_index(drop=True)
    cols = {c: f[c] for c in f.columns if c != SOURCE_ROW}
    cols[SOURCE_FILE] = pd.Series(const_str(label, len(f)), index=f.index)
    cols[SOURCE_ROW] = f[SOURCE_ROW]
    raw.frame = pd.DataFrame(cols, copy=False)
    return raw


def const_str(value: str, n: int):
    """n copies of one string as a pyarrow-backed string array, built in C."""
    import pyarrow as pa

    return pd.arrays.ArrowStringArray(pa.repeat(pa.scalar(value, pa.string()), n))


def _check_path(path) -> Path:
    try:
        p = Path(path)
    except TypeError:
        raise ConfigError(f"path must be a file path (str or pathlib.Path), got {type(path).__name__}") from None
    if not p.exists():
        parent = p.parent if str(p.parent) else Path(".")
        near = sorted(x.name for x in parent.glob("*")) if parent.is_dir() else []
        fix = "check the path" + (f"; files in {parent}: {', '.join(near[:20])}" if near else "")
        raise ReadError(f"file not found: {p}", [Problem(str(p), None, None, None, "the file does not exist", fix)])
    if p.is_dir():
        raise ReadError(f"{p} is a folder, not a file",
                        [Problem(str(p), None, None, None, "expected a file",
                                 "name a file inside it, or use groupeval.load(folder) for a whole programme")])
    if p.suffix.lower() not in _SUPPORTED:
        raise ReadError(f"{p.name}: unknown file type {p.suffix!r}",
                        [Problem(p.name, None, None, p.suffix, "groupeval reads CSV, XLSX and Parquet files",
                                 "save the file as one of: " + ", ".join(_SUPPORTED))])
    return p


def read_sheets(path, *, sheet: str | None = None, columns: Mapping[str, str] | None = None,
                recognise: Recogniser | None = None, text_names: Iterable[str] = (),
                csv_text_names: Iterable[str] = ()) -> list[RawSheet]:
    """Read a file into one :class:`RawSheet` per table (one per sheet for workbooks).

    ``recognise`` receives the (already ``columns=``-mapped) header and returns
    extra renames (auto-recognised canonical names); ``text_names`` are
    canonical names read as text; ``csv_text_names`` (CSV only) columns read as
    text without type inference (attendance marks).
    """
    p = _check_path(path)
    suffix = p.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(p, sheet, columns, recognise, text_names)
    if sheet is not None:
        raise ConfigError(f"sheet= only applies to Excel workbooks, not {p.name}")
    if suffix in PARQUET_SUFFIXES:
        return [_read_parquet(p, columns, recognise, text_names)]
    return [_read_csv(p, p.name, columns, recognise, text_names, tuple(csv_text_names))]


def read_table(path, *, sheet: str | None = None, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a CSV, XLSX or Parquet file into a DataFrame with provenance columns.

    Parameters
    ----------
    path
        ``.csv`` / ``.tsv`` / ``.txt`` (delimiter sniffed among ``, ; TAB |``;
        encoding sniffed among UTF-8, UTF-8 with BOM, Windows-1252 and UTF-16
        with BOM), ``.xlsx`` / ``.xlsm`` or ``.parquet``.
    sheet
        Excel only: the sheet to read.  By default every sheet is read and the
        sheets are stacked (``_source_file`` then names the sheet, e.g.
        ``"attendance.xlsx [G01]"``).
    columns
        Renames raw column names to canonical ones, e.g.
        ``{"Participant ID": "member_id"}``.  Keys match the header exactly
        first, then ignoring case and whitespace.  A key that matches no column
        raises :class:`~groupeval.ConfigError` listing the available columns.

    Returns
    -------
    DataFrame
        The file's columns (header text as names; ``member_id``, ``group_id``,
        ``record_id`` and ``timepoint`` read as text so ids keep leading
        zeros; other types inferred), plus ``_source_file`` (file name) and
        ``_source_row`` (spreadsheet row number: header = row 1).  Rows that are
        entirely blank are skipped (their count is in
        ``df.attrs["groupeval_blank_rows"]``); a title line above the header
        (a row with a single filled cell) is skipped too.

    Raises
    ------
    ReadError
        Missing file, unknown extension, empty file, no header row, duplicated
        column names, unreadable encoding, rows with the wrong number of fields.
    ConfigError
        ``columns=`` names a column that does not exist, or two columns would
        get the same name.

    Notes
    -----
    In R: ``readr::read_csv(path)`` / ``readxl::read_excel(path)`` (without the
    sniffing and provenance columns).
    """
    sheets = read_sheets(path, sheet=sheet, columns=columns)
    frames = [s.frame for s in sheets]
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    df.attrs["groupeval_blank_rows"] = sum(s.blank_rows for s in sheets)
    df.attrs["groupeval_renamed"] = {k: v for s in sheets for k, v in s.renamed.items()}
    return df
