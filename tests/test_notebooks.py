"""The three shipped notebooks execute from top to bottom (CI runs them; marked slow, run by default).

01 (walkthrough) and 03 (funder summary) are executed here with nbclient;
02 (the evaluation report) is executed by ``build_report`` in the shared,
cached build of ``_helpers_report`` (the same notebook, with parameters).
"""
from __future__ import annotations

import warnings

import pytest

import groupeval as ge
from _helpers_report import PEOPLE_NUMBER, SECTIONS, built_report, html_text, programme_dir
from groupeval import formatting as F
from groupeval.reporting.report import execute_notebook, export_html, notebook_path
from groupeval.reporting.report.evaluation import Evaluation

pytestmark = pytest.mark.slow


def _outputs(nb, kind):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if kind in out.get("data", {}):
                yield out["data"][kind]


def test_01_researcher_walkthrough_runs_on_the_written_sample(tmp_path):
    nb = execute_notebook(notebook_path("01_researcher_walkthrough"), {}, cwd=tmp_path, progress=False)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert len(list(_outputs(nb, "image/png"))) >= 4  # KM, reliable change, means, dose-response
    html = "\n".join(_outputs(nb, "text/html"))
    assert "alpha" in html and "mean_change" in html and "retention_12w" in html


def test_02_evaluation_report_runs_with_parameters():
    html = built_report("sample", "program").read_text(encoding="utf-8")
    for s in SECTIONS:
        assert f">{s}<" in html
    assert html.count("data:image/png;base64,") >= 8


def test_03_funder_summary_quotes_the_library_and_hides_small_counts(tmp_path):
    data = programme_dir("sample")
    nb = execute_notebook(notebook_path("03_funder_summary"), {"data_path": str(data), "audience": "funder"},
                          cwd=tmp_path, progress=False)
    text = html_text(export_html(nb))
    assert "Key findings" in text and "References" in text
    # the numbers are the library's: recompute independently on the same (attenders-only) data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = Evaluation(ge.load(data), audience="funder").dataset
        phq = ge.change(ge.score(ds.responses, "phq9"), "baseline", "week_26", instrument="phq9").iloc[0]
        ret = ge.retention(ds).summary.iloc[0]
    # sentences lead with the group-clustered interval when it is defined (issue 9.5)
    lo, hi = ((phq["ci_low_cluster"], phq["ci_high_cluster"]) if phq["ci_low_cluster"] == phq["ci_low_cluster"]
              else (phq["ci_low"], phq["ci_high"]))
    assert f"mean change {F.fmt_number(phq['mean_change'], 1)}, {F.fmt_ci(lo, hi, 1)}" in text
    assert f"d_z = {F.fmt_number(phq['d_z'], 2)}" in text
    assert f"{F.fmt_percent(ret['retention_12w'])} (95% CI [" in text
    for m in PEOPLE_NUMBER.finditer(text):
        n = int(next(g for g in m.groups() if g).replace(",", ""))
        assert n == 0 or n >= 11, text[max(0, m.start() - 80):m.end() + 20]
