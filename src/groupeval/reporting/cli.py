"""The ``groupeval`` command line: ``validate``, ``sample`` and ``report``.

Bad input never produces a Python traceback: a :class:`GroupevalError` is
printed with every problem it lists and the command exits with status 1.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..base.exceptions import GroupevalError

AUDIENCES = ("program", "research", "funder", "public")


def _print_dataset(dataset, out=None) -> None:
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
    quality = dataset.quality
    counts = dataset.meta.get("row_counts") or {}
    read = sum(c.get("read", 0) for c in counts.values())
    excluded = sum(c.get("excluded", 0) for c in counts.values())
    inferred = sum(c.get("inferred", 0) for c in counts.values())
    if counts:
        print(f"Rows read: {read:,}; excluded: {excluded:,}; inferred: {inferred:,} "
              f"(read - excluded + inferred = kept).", file=out)
    if len(quality) == 0:
        print("Data quality: no rows excluded or repaired.", file=out)
        return
    print(f"Data quality: {len(quality):,} report entries. By kind:", file=out)
    table = quality.by_reason()
    for rec in table.itertuples(index=False):
        where = f"{rec.file}: " if rec.file else ""
        print(f"  {rec.n:>7,}  {rec.action:<9} {where}{rec.reason}", file=out)
    print("Run with --quality-csv FILE to write every entry (file, row, column, value, reason, action).",
          file=out)


def _cmd_validate(args: argparse.Namespace) -> int:
    from ..validation.load import load

    dataset = load(args.path, allow_identifiers=args.allow_identifiers)
    _print_dataset(dataset)
    if args.quality_csv:
        dataset.quality.to_frame().to_csv(args.quality_csv, index=False)
        print(f"Quality report written to {args.quality_csv}")
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
                           pdf=args.pdf, docx=args.docx)
    except KeyboardInterrupt:
        print("groupeval report: interrupted; no report files were written.", file=sys.stderr)
        return 130
    extra = [s for s, on in ((".pdf", args.pdf), (".docx", args.docx)) if on]
    print(f"Report written to {out}" + (f" (and {', '.join(out.stem + e for e in extra)})" if extra else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groupeval",
        description="Retention and outcome statistics and reports for peer-led support groups.",
    )
    parser.add_argument("--version", action="version", version=f"groupeval {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="read and validate a programme's files; print counts and problems",
                       description="Read a folder (groups, members, sessions, attendance, surveys files) or a "
                                   "groupeval TOML config, validate it, and print row counts per table and every "
                                   "data-quality problem by kind. Exits 1 if the data cannot be used.")
    p.add_argument("path", help="folder of programme files, or a .toml config")
    p.add_argument("--allow-identifiers", action="store_true",
                   help="accept files with names/contact columns (they are still removed from every output)")
    p.add_argument("--quality-csv", metavar="FILE", help="write the full quality report to this CSV")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("sample", help="write a synthetic sample programme as real-looking files",
                       description="Write a synthetic programme (12 groups, 26 weeks, attendance workbook, "
                                   "REDCap survey export, TOML config) into DIRECTORY.")
    p.add_argument("directory", help="folder to write (created if needed)")
    p.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    p.set_defaults(func=_cmd_sample)

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
    p.add_argument("--pdf", action="store_true", help="also write <stem>.pdf (printed by headless Chromium)")
    p.add_argument("--docx", action="store_true",
                   help="also write <stem>.docx (summary, citable sentences, methods, key tables; python-docx)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GroupevalError as err:
        print(f"groupeval {args.command}: error\n{err}", file=sys.stderr)
        return 1
    except FileNotFoundError as err:
        print(f"groupeval {args.command}: error\n{err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
