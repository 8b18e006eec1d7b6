"""The three shipped notebooks execute from top to bottom with papermill (CI runs them; marked slow).

01 (walkthrough) on the written sample must show no member id, no free-text note and no salt;
02 (the evaluation report) and 03 (the funder summary) are run with parameters injected by papermill.
"""
from __future__ import annotations

import re
import warnings

import pytest

import groupeval as ge
from _helpers_report import PEOPLE_NUMBER, html_text, programme_dir
from groupeval import formatting as F
from groupeval.reporting.report._run import execute_notebook
from groupeval.reporting.report.evaluation import Evaluation

pytestmark = pytest.mark.slow


def _outputs(nb, kind):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if kind in out.get("data", {}):
                yield out["data"][kind]
            elif kind == "text/plain" and out.get("output_type") == "stream":
                yield out.get("text", "")


def _all_text(nb):
    return "\n".join(list(_outputs(nb, "text/html")) + list(_outputs(nb, "text/plain")))


def test_01_researcher_walkthrough_shows_no_member_ids_notes_or_salt(tmp_path):
    from groupeval.base.dataset import QualityReport
    from groupeval.sample import write_programme

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.sample.generate(2025)
    # a programme whose quality report carries what real files carry: ids, e-mails, phone numbers in notes
    notes = QualityReport.from_records([{"file": "members.csv", "row": 5, "column": "notes",
                                         "value": "Called Jane Doe at 555-123-4567, jane@example.org",
                                         "reason": "free text in an unknown column", "action": "flagged"}])
    data = write_programme(ds.replace(quality=notes), tmp_path / "prog")
    nb = execute_notebook("01_researcher_walkthrough", {"data_path": str(data)}, cwd=tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert len(list(_outputs(nb, "image/png"))) >= 4
    text = _all_text(nb)
    assert "alpha" in text and "mean_change" in text and "retention_12w" in text
    assert not re.search(r"\bM\d{4}\b", text), "a member id reached the notebook's output"
    assert "555-123-4567" not in text and "jane@example.org" not in text and "example-salt" not in text


def test_02_evaluation_report_runs_with_parameters(tmp_path):
    nb = execute_notebook("02_evaluation_report", {"data_path": str(programme_dir("sample")),
                                                   "audience": "program"}, cwd=tmp_path)
    html = "\n".join(_outputs(nb, "text/html"))
    for s in ("Summary for the board", "Technical appendix", "Methods"):
        assert f">{s}<" in html
    assert html.count("data:image/png;base64,") >= 4


def test_03_funder_summary_quotes_the_library_and_hides_small_counts(tmp_path):
    data = programme_dir("sample")
    nb = execute_notebook("03_funder_summary", {"data_path": str(data), "audience": "funder"}, cwd=tmp_path)
    text = html_text("\n".join(_outputs(nb, "text/html"))) + "\n".join(_outputs(nb, "text/plain"))
    assert "Summary for the board" in text and "Kaplan EL, Meier P" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = Evaluation(ge.load(data), audience="funder").dataset
        phq = ge.change(ge.score(ds.responses, "phq9"), "baseline", "week_26", instrument="phq9").iloc[0]
    assert f"scores fell by {F.fmt_number(abs(phq['mean_change']), 1)} points on average" in text
    for m in PEOPLE_NUMBER.finditer(text):
        n = int(next(g for g in m.groups() if g).replace(",", ""))
        assert n == 0 or n >= 11, text[max(0, m.start() - 80):m.end() + 20]
