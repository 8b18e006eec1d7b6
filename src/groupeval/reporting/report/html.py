"""The report as one self-contained HTML file (jinja2, autoescaped; figures embedded; nothing fetched)."""
from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources
from typing import Any

from .document import LINKED_MARK, Bullets, Figure, Paragraph, ReportDocument, Table

__all__ = ["render_html", "check_offline", "table_notes"]


@cache
def _template() -> Any:
    import jinja2

    text = (resources.files("groupeval.reporting.report") / "templates" / "report.html.j2").read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)
    return env.from_string(text)


@cache
def _css() -> str:
    return (resources.files("groupeval.reporting.report") / "templates" / "report.css").read_text("utf-8")


def table_notes(table: Table, min_cell: int) -> list[str]:
    """The notes under a table: its own note, then what its marks mean (only the marks it uses)."""
    notes = [table.note] if table.note else []
    kinds = {(c, h.kind) for c, v in table.hidden.items() for h in v if h is not None}
    counts = set(table.count_keys)
    if any(k == "small" and c in counts for c, k in kinds):
        notes.append(f"<{min_cell}: fewer than {min_cell} people (not shown, to protect privacy).")
    if any(k == "linked" for _, k in kinds):
        notes.append(f"{LINKED_MARK}: not shown so that a number of fewer than {min_cell} people cannot be worked "
                     "out from the other figures.")
    return notes


def _block(b: Any, min_cell: int) -> dict[str, Any]:
    if isinstance(b, Paragraph):
        return {"kind": "paragraph", "text": b.text, "style": b.style}
    if isinstance(b, Bullets):
        return {"kind": "bullets", "entries": list(b.items)}
    if isinstance(b, Figure):
        return {"kind": "figure", "data": base64.b64encode(b.png).decode("ascii"), "alt": b.alt,
                "caption": b.caption, "single": True}
    if isinstance(b, Table):
        return {"kind": "table", "title": b.title, "head": [c.label for c in b.displayed()],
                "rows": b.rows(min_cell), "notes": table_notes(b, min_cell)}
    raise TypeError(f"unknown report block {type(b).__name__}")


def render_html(doc: ReportDocument, *, footer: str = "",
                parts_shown: tuple[str, ...] = ("summary", "appendix")) -> str:
    """The report as HTML text (every user string escaped by the template); ``parts_shown`` picks parts."""
    parts = []
    for name in parts_shown:
        secs = [{"id": s.id, "title": s.title, "level": s.level,
                 "blocks": [_block(b, doc.min_cell) for b in s.blocks]} for s in doc.part(name)]
        parts.append({"name": name, "sections": secs})
    html_text = _template().render(doc=doc, parts=parts, css=_css(), footer=footer)
    check_offline(html_text)
    return html_text


_EXTERNAL = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//"
                       r"|url\(\s*[\"']?(https?:)?//|@import\s+[\"']?(url\()?[\"']?(https?:)?//", re.I)


def check_offline(html_text: str) -> None:
    """Raise :class:`~._run.ReportError` if the HTML would fetch a script, style sheet, font or image."""
    from .errors import ReportError

    # only markup can fetch: tags and style sheets (escaped text such as a group type "url(//x)" cannot)
    markup = " ".join(re.findall(r"<[^>]*>", html_text)
                      + re.findall(r"<style\b[^>]*>(.*?)</style>", html_text, flags=re.S | re.I))
    hits = sorted({m.group(0)[:120] for m in _EXTERNAL.finditer(markup)})
    if hits:
        raise ReportError("The report HTML is not self-contained; it references external resources: "
                          + "; ".join(hits))
