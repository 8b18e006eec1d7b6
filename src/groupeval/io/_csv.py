"""CSV files: the one encoding and delimiter sniffer, and parsing with pyarrow.

CSV goes through :func:`pyarrow.csv.read_csv` (several times faster than
pandas' default parser on millions of rows).  Before that:

* the **encoding** is told among UTF-8, UTF-8 with BOM, UTF-16 with BOM and
  Windows-1252 (:func:`decode`).  A file that is UTF-8 but for a few stray
  bytes (one ``0xFF``) stays UTF-8: the bytes are replaced by ``�`` and each
  replacement is noted, never re-decoded as cp1252 (``Café`` stays ``Café``);
* the **delimiter** is picked among ``, ; TAB |`` (:func:`sniff_delimiter`);
* line ends may be ``\\n``, ``\\r\\n`` or ``\\r`` alone (old Mac files).

:func:`peek_header` gives a file's column names cheaply, with the same
sniffing, for ``load``'s matching of a flat ``columns=`` mapping to files.
"""
from __future__ import annotations

import codecs
import csv
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..base.exceptions import Problem, ReadError
from ..base.schema import SOURCE_ROW
from ._header import MAX_TITLE_ROWS, check_header, find_header, name_blanks, rename_plan
from ._notes import Note
from ._sheet import RawSheet, ReadOptions, arrow_to_pandas, finish, missing_text_to_null

__all__ = ["decode", "sniff_delimiter", "peek_header", "read_csv", "DELIMITERS", "ENCODINGS", "CSV_SUFFIXES"]

DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_SNIFF_BYTES = 1 << 16
#: CSV files larger than this are parsed from a memory map when they are plain UTF-8
_DIRECT_BYTES = 1 << 20
_BLOCK = 1 << 24
#: stray invalid bytes a UTF-8 file may hold and still be read as UTF-8 (each replacement noted)
_MAX_STRAY = 20


def _encoding_error(label: str, data: bytes, pos: int, reason: str | None = None) -> ReadError:
    line = data.count(b"\n", 0, pos) + 1
    snippet = data[max(0, pos - 10): pos + 10]
    return ReadError(f"{label} has an encoding groupeval cannot read",
                     [Problem(label, line, None, repr(snippet),
                              reason or f"byte {data[pos]:#04x} is not valid UTF-8 or Windows-1252 (cp1252)",
                              "re-save the file as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8)")])


def _stray_bytes(data: bytes) -> list[int]:
    """Positions of invalid UTF-8 sequences (at most ``_MAX_STRAY + 1`` are looked for)."""
    bad: list[int] = []
    pos = 0
    while len(bad) <= _MAX_STRAY:
        try:
            data[pos:].decode("utf-8")
            break
        except UnicodeDecodeError as e:
            bad.append(pos + e.start)
            pos += e.end
    return bad


def _utf8_with_strays(data: bytes, label: str) -> tuple[bytes, list[Note]] | None:
    """A UTF-8 file with a few invalid bytes: repaired (each noted); None when it is not UTF-8 at all."""
    kept = data.decode("utf-8", errors="ignore")
    if len(kept.encode("utf-8")) == len(kept):  # no valid multi-byte character: not evidence of UTF-8
        return None
    bad = _stray_bytes(data)
    if len(bad) > _MAX_STRAY:
        raise _encoding_error(label, data, bad[0], "the file mixes UTF-8 text with bytes of another encoding")
    notes = [Note(label, data.count(b"\n", 0, p) + 1, None, repr(data[max(0, p - 10): p + 10]),
                  f"byte {data[p]:#04x} is not valid UTF-8 in a file that is otherwise UTF-8: replaced by '�'",
                  "repaired") for p in bad]
    return data.decode("utf-8", errors="replace").encode("utf-8"), notes


def decode(data: bytes, label: str) -> tuple[bytes, str, list[Note]]:
    """Return UTF-8 bytes (without BOM), the encoding the file was in, and notes of repaired bytes."""
    if data.startswith(b"\xef\xbb\xbf"):
        body = data[3:]
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as e:
            repaired = _utf8_with_strays(body, label)
            if repaired is None:
                raise _encoding_error(label, data, e.start + 3) from None
            return repaired[0], "utf-8-sig", repaired[1]
        return body, "utf-8-sig", []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel "Unicode text"
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-16", []
        except UnicodeDecodeError as e:
            raise _encoding_error(label, data, e.start) from None
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise ReadError(f"{label} is not a text CSV file",
                        [Problem(label, None, None, None, "the file holds binary data (NUL bytes)",
                                 "save it as CSV (UTF-8) or give it its real extension (.xlsx, .parquet)")])
    if data.isascii():
        return data, "utf-8", []
    try:
        data.decode("utf-8")
        return data, "utf-8", []
    except UnicodeDecodeError:
        pass
    repaired = _utf8_with_strays(data, label)
    if repaired is not None:
        return repaired[0], "utf-8", repaired[1]
    try:
        return data.decode("cp1252").encode("utf-8"), "cp1252", []
    except UnicodeDecodeError as e:
        raise _encoding_error(label, data, e.start) from None


def _rows(text: str, delimiter: str, limit: int | None = None) -> tuple[list[list[str]], list[int]]:
    """CSV records of ``text`` (any line ends) and the physical lines read after each."""
    csv.field_size_limit(sys.maxsize)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    rows: list[list[str]] = []
    after: list[int] = []
    try:
        for r in reader:
            rows.append([c.strip() for c in r])
            after.append(reader.line_num)
            if limit is not None and len(rows) >= limit:
                break
    except csv.Error:  # an unclosed quote at the end of a sample: the rows read so far
        pass
    return rows, after


def sniff_delimiter(sample: str) -> str:
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
        rows, _ = _rows(text, d)
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


def peek_header(path: Path) -> list[str] | None:
    """Column names of a CSV file's header row (title rows skipped), sniffed as :func:`read_csv` does."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
        text = decode(head, path.name)[0].decode("utf-8", errors="replace")
    except (OSError, ReadError):
        return None
    m = re.match(r"sep=(.)\r?\n", text[:8])
    if m:
        text = text[m.end():]
    rows, _ = _rows(text, m.group(1) if m else sniff_delimiter(text), MAX_TITLE_ROWS)
    return rows[find_header(rows)] if rows else None


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


def read_csv(path: Path, label: str, opts: ReadOptions) -> RawSheet:
    """Read one CSV file into a :class:`RawSheet`."""
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
                return _parse(pa.memory_map(str(path)).read_buffer(), head, None, label, opts, direct=True)
            except _NotPlain:
                pass
    data = path.read_bytes()
    if len(data) < _SNIFF_BYTES and not data.strip().strip(b"\xef\xbb\xbf"):
        raise ReadError(f"{label} is empty", [Problem(label, None, None, None, "the file has no content",
                                                     "export the table again, with its header row")])
    data, _enc, notes = decode(data, label)
    m = re.match(rb"sep=(.)\r?\n", data[:8])
    if m:  # Excel's delimiter hint line; Excel does not show it as a row
        data = data[m.end():]
    raw = _parse(data, data[:_SNIFF_BYTES], m.group(1).decode() if m else None, label, opts)
    raw.notes[:0] = notes
    return raw


_STEP = 1 << 18  # bytes per numpy slice: cache-sized


def _count_newlines(arr: np.ndarray) -> int:
    """Number of ``\\n`` bytes of a uint8 array (numpy on slices: ~3x faster than ``bytes.count``)."""
    return int(sum(np.count_nonzero(arr[i:i + _STEP] == 10) for i in range(0, len(arr), _STEP)))


def _has_byte(data: Any, arr: np.ndarray, byte: bytes) -> bool:
    if isinstance(data, bytes):
        return byte in data
    b = byte[0]
    return any(bool((arr[i:i + _STEP] == b).any()) for i in range(0, len(arr), _STEP))


def _ragged_error(data: Any, delim: str, hidx: int, header: list[str], label: str) -> ReadError:
    rows, after = _rows(bytes(data).decode("utf-8", errors="replace"), delim)
    width = len(header)
    body = [(after[i - 1] + 1 if i else 1, r) for i, r in enumerate(rows) if i > hidx and r]
    short = {len(r) for _, r in body}
    if len(short) == 1 and (n := short.pop()) < width:  # every row short by the same columns
        unused = [h for h in header[n:] if h]
        return ReadError(f"{label} has rows of the wrong length", [Problem(
            label, None, None, ", ".join(unused),
            f"every data row has {n} fields but the header has {width}: the last header column(s) "
            "have no data",
            "delete the unused column name(s) from the header row, or end every row with the missing "
            f"separator(s) {delim!r}")])
    problems = [Problem(label, line, None, delim.join(r)[:60],
                        f"the row has {len(r)} fields but the header has {width}",
                        "remove the extra separators, quote values that contain the delimiter "
                        f"{delim!r}, or add the missing fields")
                for line, r in body if len(r) != width]
    return ReadError(f"{label} has rows of the wrong length", problems)


def _day_columns(table: Any) -> frozenset[str]:
    import pyarrow as pa

    return frozenset(n for n, t in zip(table.column_names, table.schema.types) if pa.types.is_date(t))


class _Parser:
    """pyarrow's parse of one CSV body, with its fallbacks (quoted line breaks, big cells, time zones)."""

    def __init__(self, data: Any, delim: str, skip: int, names: list[str], col_types: dict[str, Any]):
        self.data, self.delim, self.skip, self.names, self.col_types = data, delim, skip, names, col_types
        self.bad_rows: list[Any] = []
        self.block = _BLOCK

    def _bad(self, row: Any) -> str:
        self.bad_rows.append(row)
        return "skip"

    def parse(self, newlines_in_values: bool) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        self.bad_rows.clear()
        return pacsv.read_csv(
            pa.BufferReader(self.data),
            read_options=pacsv.ReadOptions(skip_rows=self.skip, column_names=self.names, block_size=self.block),
            parse_options=pacsv.ParseOptions(delimiter=self.delim, newlines_in_values=newlines_in_values,
                                              ignore_empty_lines=False, invalid_row_handler=self._bad),
            convert_options=pacsv.ConvertOptions(column_types=self.col_types, strings_can_be_null=True,
                                                 quoted_strings_can_be_null=True, null_values=[""]),
        )

    def parse_all(self, label: str, direct: bool) -> Any:
        import pyarrow as pa

        # Fast path: parse as if no quoted cell holds a line break (multi-threaded chunking
        # is then exact).  It was right iff every physical line gave one record; otherwise,
        # or on any parse problem, parse again allowing line breaks inside quoted cells.
        arr = np.frombuffer(self.data, dtype=np.uint8)
        nl = _has_byte(self.data, arr, b'"')
        if nl:
            try:
                fast = self.parse(False)
                n_lines = _count_newlines(arr) + (0 if arr[-1:].tobytes() == b"\n" else 1)
                if not self.bad_rows and fast.num_rows + self.skip == n_lines:
                    return fast
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                pass
        for _ in range(2):
            try:
                return self.parse(nl)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as e:  # pragma: no cover - pyarrow message varies
                msg = str(e).splitlines()[0]
                if "straddl" in msg and self.block < len(arr) + 1:  # a cell bigger than a block: one block
                    self.block = len(arr) + 1
                    continue
                if direct:
                    raise _NotPlain from None
                fix = "check that every row has the same number of fields and quotes are closed"
                raise ReadError(f"{label} cannot be parsed as CSV",
                                [Problem(label, None, None, None, msg, fix)]) from None
        raise AssertionError("unreachable")  # pragma: no cover


def _zoned_as_text(table: Any, parser: _Parser, label: str) -> Any:
    """Time stamps with offsets (pyarrow converts them to UTC) read again as text: the local date is kept."""
    import pyarrow as pa

    zoned = [n for n, t in zip(table.column_names, table.schema.types)
             if pa.types.is_timestamp(t) and t.tz is not None]
    if not zoned:
        return table
    parser.col_types.update({n: pa.string() for n in zoned})
    return parser.parse_all(label, False)


def _parse(data: Any, head: bytes, delim: str | None, label: str, opts: ReadOptions, direct: bool = False) -> RawSheet:
    """Parse UTF-8 CSV ``data`` (bytes, or a pyarrow buffer when ``direct``) into a RawSheet."""
    import pyarrow as pa

    sample = head.decode("utf-8", errors="replace")
    delim = delim or sniff_delimiter(sample)
    head_rows, lines_after = _rows(sample, delim, MAX_TITLE_ROWS)
    hidx = find_header(head_rows)
    raw_header = head_rows[hidx] if head_rows else []
    header_row = hidx + 1
    if not any(raw_header):
        raise ReadError(f"{label} is empty", [Problem(label, None, None, None, "the file has no content",
                                                     "export the table again, with its header row")])
    extra = 0
    if opts.header_plan is not None:
        raw_header, extra = opts.header_plan(head_rows, hidx)
    check_header(raw_header, label, header_row, opts.columns)
    raw_header = name_blanks(raw_header)
    rename, names = rename_plan(raw_header, opts.columns, opts.recognise, label, header_row)
    as_text = opts.as_text(names)
    col_types = {n: pa.string() for n in as_text}
    skip = lines_after[min(hidx + extra, len(lines_after) - 1)]
    parser = _Parser(data, delim, skip, names, col_types)
    table = parser.parse_all(label, direct)
    if direct and (parser.bad_rows or any(pa.types.is_binary(t) or pa.types.is_large_binary(t)
                                          for t in table.schema.types)):
        raise _NotPlain  # invalid UTF-8 (pyarrow reads such a column as binary) or ragged rows
    if parser.bad_rows:
        raise _ragged_error(data, delim, hidx + extra, names, label)
    table = _zoned_as_text(table, parser, label)
    table, masks = missing_text_to_null(table, as_text)
    first = header_row + extra + 1
    frame = arrow_to_pandas(table, label, first,
                            {SOURCE_ROW: np.arange(first, first + table.num_rows, dtype=np.int64)})
    raw = RawSheet(label, None, frame, header_row, rename, raw_header, day_columns=_day_columns(table),
                   missing_text=masks, extra_header_rows=extra)
    return finish(raw)
