"""The report never crashes on a real programme's shape (issue 11.1), for every audience.

A property-style grid: 1, 2, 3, 5 groups; one group per type; no group types (missing, "unspecified");
5 to 400 members; surveys at one timepoint or none; attendance only; no dropouts; everyone dropped; no
follow-up. Each report is built in-process; it must exist, every section must show its result or say
in words why not, and no traceback, NaN, None, inf or empty table may reach the HTML. The quick subset
runs in the local loop; the full grid (every shape x every audience) is marked slow.
"""
from __future__ import annotations

import re

import pytest

from _helpers_report import html_text
from _helpers_shapes import QUICK, SHAPES, shape
from groupeval.reporting.report import build_report

AUDIENCES = ("program", "research", "funder", "public")
BAD_WORDS = re.compile(r"(?<![\w-])(nan|NaN|None|inf|-inf|Infinity|Traceback|∞)(?![\w-])")


def check_report(path):
    html = path.read_text(encoding="utf-8")
    text = html_text(html)
    bad = [text[max(0, m.start() - 60):m.end() + 20] for m in BAD_WORDS.finditer(text)]
    assert not bad, bad
    assert "<tbody></tbody>" not in html, "an empty table"
    for table in re.findall(r"<table.*?</table>", html, flags=re.S):
        assert re.search(r"<tbody><tr>", table), "a table without rows"
    # every section has something after its heading: a paragraph, a list, a table or a figure
    for sec in re.findall(r"<section\b.*?(?=<section\b|</div>\s*(?:<div|</main>))", html, flags=re.S):
        heading = re.search(r"<h[23]>(.*?)</h[23]>", sec, flags=re.S)
        body = sec[heading.end():] if heading else sec
        if re.search(r"class=\"level2\"", sec) and not re.search(r"<(p|ul|table|figure|li)\b", body):
            nxt = True  # a level-2 heading directly followed by its level-3 subsections
            assert nxt
        elif not re.search(r"<(p|ul|table|figure)\b", body):
            raise AssertionError(f"section {heading.group(1) if heading else '?'} is empty")
    for title in ("Summary for the board", "What these results can and cannot tell you", "Technical appendix",
                  "Who took part", "Attendance and retention", "Outcomes", "Data quality", "Methods"):
        assert f">{title}<" in html, title


def _build(tmp_path, name, audience):
    out = build_report(None, tmp_path / f"{name}_{audience}" / "report.html", dataset=shape(name),
                       audience=audience, progress=False)
    check_report(out)
    return out


@pytest.mark.parametrize("name", QUICK)
@pytest.mark.parametrize("audience", ("program", "funder"))
def test_report_builds_on_programme_shape(tmp_path, name, audience):
    _build(tmp_path, name, audience)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(SHAPES) - set(QUICK)))
@pytest.mark.parametrize("audience", AUDIENCES)
def test_report_builds_on_every_programme_shape_for_every_audience(tmp_path, name, audience):
    _build(tmp_path, name, audience)


@pytest.mark.slow
@pytest.mark.parametrize("name", QUICK)
@pytest.mark.parametrize("audience", ("research", "public"))
def test_quick_shapes_for_the_other_audiences(tmp_path, name, audience):
    _build(tmp_path, name, audience)


def test_shapes_are_what_they_say():
    # guards: the grid would test nothing if the shapes did not have the property they are named for
    from groupeval.reporting.report.evaluation import Evaluation

    assert shape("one_group").groups["group_id"].nunique() == 1
    three = Evaluation(shape("three_groups_one_per_type"))
    assert len(three.types) == 3 and set(three.groups_per_type.values()) == {1}
    assert not Evaluation(shape("no_group_types_missing")).by_type
    assert not Evaluation(shape("no_group_types_unspecified")).by_type
    assert len(shape("five_members").members) == 5
    assert len(shape("four_hundred_members").members) == 400
    assert shape("one_timepoint").timepoints == ("baseline",) and len(shape("one_timepoint").responses)
    assert len(shape("no_surveys").responses) == 0
    e = Evaluation(shape("everyone_dropped")).engagement
    assert (e["status"] == "dropped").all()
    e = Evaluation(shape("no_dropouts")).engagement
    assert not (e["status"] == "dropped").any()
    nf = Evaluation(shape("no_follow_up"))
    assert not nf.has_follow_up and nf.window_weeks <= 3
