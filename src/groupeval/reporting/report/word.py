"""The report as a Word document a grant writer edits (python-docx).

It holds the board summary, the citable sentences of the appendix, the
methods paragraph, the references and the key tables (participant flow,
attendance, retention, change per questionnaire), with the same numbers and
the same hidden cells as the HTML.  Text is inserted as text (Word has no
markup to inject); figures are the same PNGs as the HTML's.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .document import Bullets, Figure, Paragraph, ReportDocument, Table
from .html import table_notes

__all__ = ["write_docx", "KEY_TABLES"]

#: Tables copied into the Word document (prefixes of table keys).
KEY_TABLES = ("participant_flow", "attendance_by_group_type", "retention_by_group_type", "change_",
              "reliable_change_")


def _table(document: Any, t: Table, min_cell: int) -> None:
    from docx.shared import Pt

    document.add_paragraph(t.title, style="Caption")
    cols = t.displayed()
    rows = t.rows(min_cell)
    table = document.add_table(rows=1 + len(rows), cols=len(cols))
    table.style = "Light Grid Accent 1"
    for j, c in enumerate(cols):
        table.rows[0].cells[j].text = c.label
    for i, row in enumerate(rows, start=1):
        for j, text in enumerate(row):
            table.rows[i].cells[j].text = text
    for row in table.rows:
        for cell in row.cells:
            for p in cell.paragraphs:
                for r in p.runs:
                    r.font.size = Pt(8)
    for n in table_notes(t, min_cell):
        document.add_paragraph(n, style="Normal").runs[0].font.size = Pt(8)


def _blocks(document: Any, blocks: list[Any], min_cell: int, *, tables: bool, figures: bool) -> None:
    from docx.shared import Cm

    for b in blocks:
        if isinstance(b, Paragraph):
            document.add_paragraph(b.text)
        elif isinstance(b, Bullets):
            for item in b.items:
                document.add_paragraph(item, style="List Bullet")
        elif isinstance(b, Table) and tables and b.key.startswith(KEY_TABLES):
            _table(document, b, min_cell)
        elif isinstance(b, Figure) and figures:
            document.add_picture(io.BytesIO(b.png), width=Cm(15))


def write_docx(doc: ReportDocument, path: Path) -> Path:
    """Write the Word document to ``path``."""
    import docx

    document = docx.Document()
    document.add_heading(doc.title, level=0)
    document.add_paragraph(doc.subtitle)
    document.add_paragraph(doc.privacy_note)
    for s in doc.part("summary"):
        document.add_heading(s.title, level=1)
        _blocks(document, s.blocks, doc.min_cell, tables=True, figures=True)
    document.add_page_break()
    for s in doc.part("appendix"):
        document.add_heading(s.title, level=1 if s.level == 2 else 2)
        _blocks(document, s.blocks, doc.min_cell, tables=True, figures=False)
    document.add_paragraph(doc.produced)
    document.save(str(path))
    return path
