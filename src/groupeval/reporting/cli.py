"""The ``groupeval`` command line: ``init``, ``validate``, ``report`` and ``sample``.

Written for people who do not code.  Bad input never produces a Python
traceback: the problems of a :class:`GroupevalError` are grouped by kind, each
with its count, the columns it concerns, the first three examples and what
to do; ``--quality-csv FILE`` writes every problem and every repair to a
spreadsheet.  ``groupeval validate | head`` ends quietly.

One function per subcommand (``_cmd_<name>``) and one ``_add_<name>_parser``
per subcommand keep the commands independent of each other.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from ..base.exceptions import GroupevalError, Problem

AUDIENCES = ("program", "research", "funder", "public")
QUALITY_CSV_COLUMNS = ("file", "row", "column", "value", "reason", "action", "fix")
_EXAMPLES = 3


# --------------------------------------------------------------------------- printing a dataset
def _print_dataset(dataset: Any, out: TextIO | None = None) -> None:
    out = sys.stdout if out is None else out
    name = dataset.meta.get("programme") or dataset.meta.get("source") or "dataset"
    print(f"Validated {name}", file=out)
    counts = dataset.counts()
    width = max(len(t) for t in counts["table"])
    for table, rows in zip(counts["table"], counts["rows"]):
        print(f"  {table:<{width}}  {rows:>9,} rows", file=out)
    members = dataset.members["member_id"].nunique() if len(dataset.members) else 0
    groups = dataset.groups["group_id"].nunique() if len(dataset.groups) else 0
    print(f"  {members:,} members in {groups:,} groups; timepoints: "
          f"{', '.join(dataset.timepoints) or 'none'}", file=out)
    if dataset.meta.get("pseudonymised"):
        print("  Members are keyed by salted pseudonyms (P-...): no name is kept.", file=out)
    quality = dataset.quality
    row_counts = dataset.meta.get("row_counts") or {}
    read = sum(c.get("read", 0) for c in row_counts.values())
    excluded = sum(c.get("excluded", 0) for c in row_counts.values())
    inferred = sum(c.get("inferred", 0) for c in row_counts.values())
    if row_counts:
        print(f"Rows read: {read:,}; excluded: {excluded:,}; inferred: {inferred:,} "
              f"(read - excluded + inferred = kept).", file=out)
    _print_near_duplicates(dataset, out)
    if len(quality) == 0:
        print("Data quality: no rows excluded or repaired.", file=out)
        return
    print(f"Data quality: {len(quality):,} report entries. By kind:", file=out)
    table = quality.by_reason()
    for rec in table.itertuples(index=False):
        where = f"{rec.file}: " if rec.file else ""
        print(f"  {rec.n:>7,}  {rec.action:<9} {where}{plain_fix(str(rec.reason))}", file=out)
    print("Run with --quality-csv FILE to write every entry (file, row, column, value, reason, action).",
          file=out)


def _print_near_duplicates(dataset: Any, out: TextIO) -> None:
    near = dataset.meta.get("near_duplicates")
    if near is None or not len(near):
        return
    print(f"{len(near)} pair(s) of people may be one person (their names are alike but not the same). "
          "They are kept apart; please check:", file=out)
    for rec in near.head(20).itertuples(index=False):
        print(f"  {rec.pseudonym_a} ({rec.where_a})  ~  {rec.pseudonym_b} ({rec.where_b})  "
              f"[{rec.kind}, similarity {rec.similarity:.2f}]", file=out)
    if len(near) > 20:
        print(f"  ... and {len(near) - 20} more (see the quality report)", file=out)
    print("  Open the files at those rows to see who they are. If a pair is one person, add to groupeval.toml:\n"
          "    [privacy]\n    same_person = [[\"P-...\", \"P-...\"]]\n"
          "  and if they are two people:  not_same = [[\"P-...\", \"P-...\"]]", file=out)


# --------------------------------------------------------------------------- printing problems
#: reason (regular expression) -> headline; {n} problems, {k} columns
_HEADLINES: tuple[tuple[str, str], ...] = (
    (r"^item response is not a number", "{n} answer(s) in {k} column(s) are words, not numbers"),
    (r"^answer gives a number that is not the code", "{n} answer(s) in {k} column(s) give a number that "
                                                     "contradicts their label"),
    (r"^item response outside the instrument", "{n} answer(s) in {k} column(s) are outside the questionnaire's "
                                               "range"),
    (r"not a date|not a valid date|column header is not a valid date", "{n} date(s) in {k} column(s) cannot be "
                                                                      "read"),
    (r"^dates could be day-first|reads both ways", "dates in {k} column(s) could be day-first or month-first"),
    (r"^unrecognised attendance mark", "{n} attendance mark(s) in {k} column(s) are not recognised"),
    (r"direct identifiers", "{n} file(s) hold names or contact details"),
    (r"not in the members table", "{n} row(s) come from people who are not in the members list"),
    (r"^conflicting duplicates", "{n} row(s) repeat another row with different values"),
    (r" is empty$", "{n} required cell(s) in {k} column(s) are empty"),
    (r"date is in the future", "{n} date(s) in {k} column(s) are in the future"),
    (r"lacks required column|required column is missing", "{n} file(s) lack a required column"),
)


def _headline(reason: str, n: int, k: int) -> str:
    for pattern, text in _HEADLINES:
        if re.search(pattern, reason):
            return text.format(n=f"{n:,}", k=f"{k:,}")
    return f"{n:,} problem(s): {reason}"


_PY_FIXES: tuple[tuple[str, str], ...] = (
    (r"\ballow_identifiers=True\b", "allow_identifiers = true (in [privacy] of groupeval.toml)"),
    (r"\bpass dayfirst=True\b", "set dayfirst = true in [programme] of groupeval.toml"),
    (r"\bdayfirst=False\b", "dayfirst = false"),
    (r"\bdayfirst=True\b", "dayfirst = true"),
    (r"\bunenrolled='exclude'", 'unenrolled = "exclude" (in [programme] of groupeval.toml)'),
    (r"\bpass today=", "set today = (in [programme] of groupeval.toml)"),
    (r"\btimepoints=", "timepoints = [...] in [programme]"),
    (r"\(or labels=\{[^)]*\}\} in Python\)|\(or labels= in Python\)", ""),
    (r"\bpass timepoint='([^']*)'", r'set timepoint = "\1" for the file in groupeval.toml'),
    (r"columns=\{'([^']*)': '([^']*)'\}", r'columns = { "\1" = "\2" } in the file section of groupeval.toml'),
    (r"\bcolumns=", "columns = {...} in groupeval.toml"),
    (r"\bpass (\w+)=", r"set \1 = "),
    (r"\bTrue\b", "true"),
    (r"\bFalse\b", "false"),
)


def plain_fix(text: str) -> str:
    """A fix written for Python users, reworded for the configuration file (no Python syntax)."""
    out = text or ""
    for pattern, repl in _PY_FIXES:
        out = re.sub(pattern, repl, out)
    return re.sub(r"\s{2,}", " ", out).strip()


def _where(p: Problem) -> str:
    parts = []
    if p.row is not None:
        parts.append(f"row {p.row}")
    if p.column:
        parts.append(f"column {p.column}")
    head = ", ".join(parts)
    text = "" if p.value is None else str(p.value)
    if len(text) > 80:
        text = text[:77] + "..."
    val = f": {text}" if text else ""
    return (head + val) if head else (str(p.value) if p.value is not None else "")


def format_problems(err: GroupevalError, command: str) -> str:
    """The error as a programme manager reads it: problems grouped by kind, counts, 3 examples, the fix."""
    problems = list(err.problems)
    message = err.message
    if not problems and "\n" in message.strip():
        # e.g. a report notebook that failed: its first line says what failed; the rest is for developers
        message = message.strip().splitlines()[0] + " (run again with --debug for the details)"
    lines = [f"groupeval {command}: {message.rstrip('.')}."]
    if not problems:
        return "\n".join(lines)
    groups: dict[str, list[Problem]] = {}
    for p in problems:
        groups.setdefault(p.reason, []).append(p)
    kinds = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    lines.append(f"{len(problems):,} problem(s) of {len(kinds)} kind(s):")
    for i, (reason, ps) in enumerate(kinds, start=1):
        cols = list(dict.fromkeys(p.column for p in ps if p.column))
        files = list(dict.fromkeys(str(p.file).split(" [")[0] for p in ps if p.file))
        lines.append("")
        lines.append(f"{i}. {_headline(reason, len(ps), max(len(cols), 1))}")
        if not re.search(re.escape(reason[:20]), lines[-1]):
            lines.append(f"   ({reason})")
        elif len(lines[-1]) > 240:
            lines[-1] = lines[-1][:237] + "..."
        if files:
            lines.append(f"   in {', '.join(files[:4])}" + (f" and {len(files) - 4} more file(s)"
                                                            if len(files) > 4 else ""))
        if cols:
            shown = ", ".join(cols[:8]) + (f" and {len(cols) - 8} more" if len(cols) > 8 else "")
            lines.append(f"   column(s): {shown}")
        examples = [e for e in (_where(p) for p in ps[:_EXAMPLES]) if e]
        if examples:
            lines.append(f"   first {len(examples)}: " + "; ".join(examples))
        fixes = list(dict.fromkeys(plain_fix(p.fix) for p in ps if p.fix))
        if fixes:
            lines.append(f"   fix: {fixes[0]}")
            for extra in fixes[1:3]:
                lines.append(f"        or: {extra}")
    lines.append("")
    lines.append("Run again with --quality-csv FILE to get every problem (file, row, column, value, reason, fix) "
                 "as a spreadsheet.")
    return "\n".join(lines)


def write_quality_csv(target: str | os.PathLike, *, quality: Any = None,
                      problems: Sequence[Problem] = ()) -> int:
    """Every problem (action ``error``) and every repair / exclusion / inference to one CSV; rows written."""
    rows = [(p.file, p.row, p.column, p.value, p.reason, "error", plain_fix(p.fix)) for p in problems]
    if quality is not None and len(quality):
        frame = quality.to_frame()
        for rec in frame.itertuples(index=False):
            rows.append((rec.file, rec.row, rec.column, rec.value, rec.reason, rec.action, ""))
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(QUALITY_CSV_COLUMNS)
        for r in rows:
            w.writerow(["" if v is None or (isinstance(v, float) and v != v) or str(v) == "<NA>" else v for v in r])
    return len(rows)


# --------------------------------------------------------------------------- subcommands
def _load_options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if getattr(args, "allow_identifiers", False):
        opts["allow_identifiers"] = True
    if getattr(args, "pseudonymise", False):
        opts["pseudonymise"] = True
    return opts


def _cmd_validate(args: argparse.Namespace) -> int:
    from ..validation.load import load

    try:
        dataset = load(args.path, **_load_options(args))
    except GroupevalError as err:
        if not args.quality_csv:
            raise
        n = write_quality_csv(args.quality_csv, quality=err.quality, problems=err.problems)
        return _fail(err, args, note=f"Every problem and repair ({n:,} rows) written to {args.quality_csv}")
    _print_dataset(dataset)
    if args.quality_csv:
        n = write_quality_csv(args.quality_csv, quality=dataset.quality)
        print(f"Quality report ({n:,} rows) written to {args.quality_csv}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from ..sample import write_sample

    path = write_sample(args.directory, seed=args.seed)
    print(f"Sample programme (seed {args.seed}) written to {path}")
    print(f"Next: groupeval validate {path}   or   groupeval report {path} --out report.html")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    """``groupeval report``: refuse a bad --out before any work; Ctrl-C ends with one line and no files."""
    try:
        from .report import build_report, missing_extra
    except ModuleNotFoundError as err:  # an optional dependency of the report is not installed
        print(f"groupeval report: needs {err.name}: pip install \"groupeval[report]\"", file=sys.stderr)
        return 1
    fix = missing_extra(docx=args.docx)
    if fix:
        print(f"groupeval report: {fix}", file=sys.stderr)
        return 1
    try:
        out = build_report(args.path, args.out, audience=args.audience, min_cell=args.min_cell,
                           programme=args.programme, period=args.period, progress=not args.quiet,
                           pdf=args.pdf, docx=args.docx, load_options=_load_options(args) or None)
    except KeyboardInterrupt:
        print("groupeval report: interrupted; no report files were written.", file=sys.stderr)
        return 130
    extra = [s for s, on in ((".pdf", args.pdf), (".docx", args.docx)) if on]
    print(f"Report written to {out}" + (f" (and {', '.join(out.stem + e for e in extra)})" if extra else ""))
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    from ..validation.inspect import write_config

    target, plan = write_config(args.folder, force=args.force, name=args.name)
    print(f"Wrote {target}")
    for f in plan.files:
        what = f.kind or "not used"
        extra = f" ({f.shape})" if f.shape else ""
        print(f"  {f.path.name}: {what}{extra}")
        for note in f.notes:
            print(f"      - {note}")
    if plan.decided:
        print("Decided:")
        for d in plan.decided:
            print(f"  - {d}")
    if plan.undecided:
        print(f"Could not decide ({len(plan.undecided)}): edit {target.name} where it says so")
        for u in plan.undecided:
            print(f"  - {u}")
    else:
        print("Everything could be decided; check the guesses in the file all the same.")
    print(f"Next: groupeval validate {args.folder}    then: groupeval report {args.folder} --out report.html")
    return 0


# --------------------------------------------------------------------------- parser
def _add_init_parser(sub: Any) -> None:
    p = sub.add_parser("init", help="look at a folder of raw files and write a groupeval.toml for them",
                       description="Inspect FOLDER (attendance registers, survey exports such as Google or "
                                   "Microsoft Forms downloads, member lists), guess which file is which and which "
                                   "column is which, and write a commented groupeval.toml you can edit. Prints "
                                   "what it could not decide. Never overwrites an existing groupeval.toml "
                                   "unless --force is given.")
    p.add_argument("folder", help="folder with the programme's files")
    p.add_argument("--force", action="store_true", help="replace an existing groupeval.toml")
    p.add_argument("--name", help="programme name written into the file (default: the folder name)")
    p.set_defaults(func=_cmd_init)


def _add_validate_parser(sub: Any) -> None:
    p = sub.add_parser("validate", help="read and validate a programme's files; print counts and problems",
                       description="Read a folder (groups, members, sessions, attendance, surveys files) or a "
                                   "groupeval TOML config, validate it, and print row counts per table and every "
                                   "data-quality problem by kind. Exits 1 if the data cannot be used.")
    p.add_argument("path", help="folder of programme files, or a .toml config")
    p.add_argument("--allow-identifiers", action="store_true",
                   help="accept files with names/contact columns (they are still removed from every output)")
    p.add_argument("--pseudonymise", action="store_true",
                   help="members are keyed by name or e-mail: replace the keys by salted pseudonyms before "
                        "validation (same as [privacy] pseudonymise = true)")
    p.add_argument("--quality-csv", metavar="FILE",
                   help="write every problem and every repair (file, row, column, value, reason, action, fix) to "
                        "this CSV, also when the data cannot be used")
    p.set_defaults(func=_cmd_validate)


def _add_sample_parser(sub: Any) -> None:
    p = sub.add_parser("sample", help="write a synthetic sample programme as real-looking files",
                       description="Write a synthetic programme (12 groups, 26 weeks, attendance workbook, "
                                   "REDCap survey export, TOML config) into DIRECTORY.")
    p.add_argument("directory", help="folder to write (created if needed)")
    p.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    p.set_defaults(func=_cmd_sample)


def _add_report_parser(sub: Any) -> None:
    p = sub.add_parser("report", help="build the evaluation report (self-contained HTML + tables)",
                       description="Validate the data, analyse it and write a self-contained HTML report (a "
                                   "board summary and a technical appendix) plus its tables as CSV and XLSX "
                                   "beside it; optionally a PDF and a Word document.")
    p.add_argument("path", help="folder of programme files, or a .toml config")
    p.add_argument("--out", required=True, metavar="FILE", help="HTML file to write, e.g. report.html")
    p.add_argument("--audience", choices=AUDIENCES, default="program",
                   help="program/research: full detail; funder/public: small cells suppressed (default program)")
    p.add_argument("--min-cell", type=int, default=11, metavar="N",
                   help="smallest count of people shown in funder/public outputs (default 11)")
    p.add_argument("--programme", help="programme name shown in the report")
    p.add_argument("--period", help="reporting period shown in the report, e.g. '2025'")
    p.add_argument("--pseudonymise", action="store_true",
                   help="members are keyed by name or e-mail: replace the keys by salted pseudonyms before "
                        "validation (same as [privacy] pseudonymise = true)")
    p.add_argument("--pdf", action="store_true", help="also write <stem>.pdf (printed by headless Chromium)")
    p.add_argument("--docx", action="store_true",
                   help="also write <stem>.docx (summary, citable sentences, methods, key tables; python-docx)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groupeval",
        description="Retention and outcome statistics and reports for peer-led support groups.",
    )
    parser.add_argument("--version", action="version", version=f"groupeval {__version__}")
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_init_parser(sub)
    _add_validate_parser(sub)
    _add_sample_parser(sub)
    _add_report_parser(sub)
    return parser


# --------------------------------------------------------------------------- entry point
def _quiet_broken_pipe() -> None:
    """The reader of our output went away (``groupeval validate | head``): stop without a message."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout without a file descriptor
        pass


def _fail(err: GroupevalError, args: argparse.Namespace, note: str | None = None) -> int:
    """Print a GroupevalError the plain way (grouped problems) on stderr; exit status 1."""
    try:
        print(format_problems(err, args.command), file=sys.stderr)
        if note:
            print(note, file=sys.stderr)
    except BrokenPipeError:  # pragma: no cover
        pass
    return 1


def _show_warning(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    """Warnings as one plain line (no file names or source lines); data-quality ones are in the summary."""
    from ..base.exceptions import DataQualityWarning

    if issubclass(category, DataQualityWarning):
        return
    print(f"note: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    previous = warnings.showwarning
    if not args.debug:
        warnings.showwarning = _show_warning
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 0
    except GroupevalError as err:
        if args.debug and not err.problems:
            raise
        return _fail(err, args)
    except FileNotFoundError as err:
        print(f"groupeval {args.command}: a file was not found: {err.filename or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"groupeval {args.command}: stopped.", file=sys.stderr)
        return 130
    except Exception as err:  # an internal error: a short message, the traceback only with --debug
        if args.debug:
            raise
        # the message itself is not shown: it could quote a cell of the data (a name)
        print(f"groupeval {args.command}: internal error ({type(err).__name__}). This is a bug in groupeval, "
              "not in your data; please report it (run again with --debug to see the details).", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
