"""Shared, cached report builds for the report/browser tests (one build per audience per session)."""
from __future__ import annotations

import atexit
import functools
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd

_ROOT = Path(tempfile.mkdtemp(prefix="groupeval-test-reports-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)

#: Sections every evaluation report has.
SECTIONS = ("Summary for the board", "What these results can and cannot tell you", "Technical appendix",
            "Who took part", "Attendance and retention", "Outcomes", "What differs by group type", "Data quality",
            "Methods", "References")


#: Column names that count people in the report tables (every one must be suppressible).
COUNT_NAME = re.compile(r"^(n|n_lost|n_observed|n_pre_only|n_post_only|members|attended_once|never_attended|"
                        r"dropped|completed|active|events|censored|late_entries|at_risk|rows)$")
#: Table headers (lower case) of columns that count people.
COUNT_HEADERS = {"people", "not continuing from the stage before", "enrolments", "came at least once", "never came",
                 "stopped coming", "completed", "still attending", "members who came",
                 "did not stop (completed, still attending)", "members with both surveys", "members",
                 "members answering", "rows"}
#: Sentence fragments that state a number of people.
PEOPLE_NUMBER = re.compile(
    r"(?<![\d.,\[])(\d[\d,]*)\s+(?:\(\d|of\s+)?(?:members?|people|participants?|persons?|dropped out|"
    r"completed|stopped|were still|still attending|recovered|improved|deteriorated|showed)"
    r"|\bn = (\d[\d,]*)|\bOf (?:the )?(\d[\d,]*)\b")

@functools.cache
def small_groups_dataset(seed: int = 7):
    """A programme of 8 groups of 4-9 members: many counts below 11, so suppression must bite."""
    import warnings

    from groupeval.sample import generate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return generate(seed, n_groups=8, members_per_group=(4, 9))


@functools.cache
def programme_dir(kind: str) -> Path:
    """Folder of programme files: ``"sample"`` (seed 2025) or ``"small"`` (tiny groups)."""
    from groupeval.sample import generate, write_programme

    d = _ROOT / f"data_{kind}"
    ds = generate(2025) if kind == "sample" else small_groups_dataset()
    write_programme(ds, d)
    return d


@functools.cache
def built_report(kind: str, audience: str, min_cell: int = 11, pdf: bool = False, docx: bool = False) -> Path:
    """Build (once per session) the report of ``programme_dir(kind)`` for ``audience`` (in-process)."""
    from groupeval.reporting.report import build_report

    out = _ROOT / f"{kind}_{audience}_{min_cell}_{int(pdf)}{int(docx)}" / "report.html"
    return build_report(programme_dir(kind), out, audience=audience, min_cell=min_cell, progress=False, pdf=pdf,
                        docx=docx)


def html_text(html: str) -> str:
    """Visible text of the HTML (tags, styles and data URIs removed)."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", " ", html)
    text = re.sub(r"<[^>]+>", " ", html)
    import html as _h

    return re.sub(r"\s+", " ", _h.unescape(text))


def read_tables(report: Path) -> dict[str, pd.DataFrame]:
    from groupeval.reporting.report import tables_paths

    folder, _ = tables_paths(report)
    return {p.stem: pd.read_csv(p, float_precision="round_trip") for p in sorted(folder.glob("*.csv"))}
