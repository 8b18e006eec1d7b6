"""Report pieces in-process: Evaluation, packaged notebooks, offline HTML, escaping, safe CSV/XLSX, staging."""
from __future__ import annotations

import re
import warnings
import zipfile
from importlib import resources

import nbformat
import numpy as np
import pandas as pd
import pytest

from groupeval.base.exceptions import ConfigError
from groupeval.reporting.report import ReportError, check_offline, tables_paths
from groupeval.reporting.report._run import NOTEBOOKS, notebook_path
from groupeval.reporting.report.document import Column, Paragraph, ReportDocument, Section, Table, cell_text
from groupeval.reporting.report.evaluation import ALL_LABEL, NO_TYPE_LABEL, Evaluation, timepoint_label
from groupeval.reporting.report.export import neutralise, neutralise_frame, staged, write_tables
from groupeval.reporting.report.html import render_html
from groupeval.reporting.report.plan import LINKED, PRIMARY, Hidden


def _sample(seed=3, **kw):
    from groupeval.sample import generate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return generate(seed, **kw)


# --------------------------------------------------------------------------- notebooks
def test_notebooks_are_package_data_with_one_parameters_cell_and_no_outputs():
    for name in NOTEBOOKS:
        res = resources.files("groupeval.reporting.report") / "notebooks" / name
        assert res.is_file(), name
        assert notebook_path(name.removesuffix(".ipynb")).samefile(str(res))
        nb = nbformat.read(str(res), as_version=4)
        nbformat.validate(nb)
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb.cells if c.cell_type == "code"), name
        assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1, name
        src = "\n".join(c.source for c in nb.cells)
        assert "example-salt" not in src and "salt=\"" not in src and "salt='" not in src, name
        assert ".head()" not in src, name  # no member-level rows displayed
    with pytest.raises(ConfigError, match="unknown notebook 'nope'"):
        notebook_path("nope")


# --------------------------------------------------------------------------- Evaluation in-process
def test_evaluation_runs_in_process_and_its_numbers_are_the_librarys():
    import groupeval as ge

    ds = _sample(3, n_groups=4)
    ev = Evaluation(ds).compute_all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phq = ge.score(ds.responses, "phq9")
        overall = ge.change(phq, "baseline", "week_26", instrument="phq9")
    ch = ev.change("phq9")
    assert ch["group_type"].iloc[-1] == ALL_LABEL and len(ch) == 5
    np.testing.assert_array_equal(ch.iloc[-1][["n", "mean_change", "ci_low"]].to_numpy(float),
                                  overall.iloc[0][["n", "mean_change", "ci_low"]].to_numpy(float))
    assert ev.retention is not None and ev.flow is not None and ev.problems.get("change:phq9") is None


def test_group_types_missing_or_spelled_like_the_total_row_are_plain_labels():
    ds = _sample(4, n_groups=4)
    g = ds.groups.copy()
    g["group_type"] = g["group_type"].astype("string")
    g.loc[g.index[0], "group_type"] = pd.NA
    g.loc[g.index[1], "group_type"] = "all members"
    ev = Evaluation(ds.replace(groups=g))
    assert NO_TYPE_LABEL in ev.types and "All members (group type)" in ev.types and ALL_LABEL not in ev.types


def test_one_timepoint_says_why_change_is_not_shown():
    ds = _sample(5, n_groups=2)
    ds = ds.replace(responses=ds.responses[ds.responses["timepoint"] == "baseline"], timepoints=("baseline",))
    ev = Evaluation(ds).compute_all()
    assert ev.change("phq9") is None
    assert "one timepoint only" in ev.why_not("change:phq9") and "baseline" in ev.why_not("change:phq9")
    assert ev.compare("phq9") is None and ev.mixed("phq9") is None


def test_a_failing_analysis_is_recorded_not_raised(monkeypatch):
    from groupeval.statistics import retention as R

    def boom(*a, **k):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(R, "retention", boom)
    ev = Evaluation(_sample(6, n_groups=3))
    assert ev.retention is None
    assert "could not be estimated" in ev.why_not("retention") and "Singular" in ev.errors["retention"]


def test_retention_times_stay_inside_the_data_window():
    ds = _sample(7, n_groups=2, weeks=16)
    ev = Evaluation(ds)
    assert max(ev.retention_times) <= ev.window_weeks + 0.5 and 26.0 not in ev.retention_times


def test_timepoint_labels_as_people_write_them():
    assert timepoint_label("week_26") == "26 weeks" and timepoint_label("month_1") == "1 month"
    assert timepoint_label("baseline") == "baseline" and timepoint_label("week_6", {"week_6": "6 weeks in"}) == \
        "6 weeks in"


def test_quality_table_shows_file_names_only_and_never_a_member_id():
    from groupeval.base.dataset import QualityReport
    from groupeval.reporting.privacy import find_identifiers

    ds = _sample(3, n_groups=4)
    ds = ds.replace(quality=QualityReport.from_records([
        {"file": "/home/alice/data/members.csv", "row": 3, "column": "member_id", "value": "M0001",
         "reason": "duplicate of M0001", "action": "excluded"}]))
    q = Evaluation(ds, audience="program").quality_table
    assert q["file"].tolist() == ["members.csv"] and q["reason"].tolist() == ["duplicate of [member id]"]
    assert find_identifiers(q, ds) == []


# --------------------------------------------------------------------------- cells and HTML
def test_cell_marks_say_why_and_never_put_lt11_on_an_estimate():
    count, share, mean = Column("n", "n", "count"), Column("s", "s", "percent", 0), Column("m", "m", "number", 1)
    small, linked = Hidden(PRIMARY, ""), Hidden(LINKED, "")
    assert cell_text(count, 5, small, 11) == "<11" and cell_text(count, 40, linked, 11) == "—†"
    assert cell_text(share, 0.5, small, 11) == "—, fewer than 11 people"
    assert cell_text(mean, 3.0, linked, 11) == "—†"
    assert cell_text(share, 0.456, None, 11) == "46%" and cell_text(mean, np.nan, None, 11) == "not estimable"
    assert cell_text(mean, np.inf, None, 11, "not reached") == "not reached"


HOSTILE = ['<img src=x onerror=alert(1)>', '<svg onload=alert(2)>', '<iframe srcdoc="<script>alert(3)</script>">',
           '[click](javascript:alert(4))', '"><script>alert(5)</script>', "=HYPERLINK(\"http://x\",\"y\")"]


def _doc(text: str) -> ReportDocument:
    t = Table("t", text, [Column("g", text, "text"), Column("n", "n", "count")],
              pd.DataFrame({"g": [text], "n": [12]}))
    sec = Section("s", text, [Paragraph(text), t], part="summary")
    return ReportDocument(title=text, subtitle=text, privacy_note="", sections=[sec], min_cell=11, audience="program")


@pytest.mark.parametrize("text", HOSTILE)
def test_every_user_string_is_escaped_in_the_html(text):
    html = render_html(_doc(text))
    assert "<script" not in html.split("</style>", 1)[1].lower()
    assert not re.search(r"<(img|svg|iframe)\b", html, flags=re.I)
    assert 'href="javascript' not in html.lower() and "<a " not in html
    assert "Content-Security-Policy" in html  # and nothing could run or load even if it were not escaped


def test_check_offline_rejects_cdn_scripts_but_not_escaped_text():
    check_offline('<a href="https://doi.org/10.1037/0022-006X.59.1.12">doi</a><img src="data:image/png;base64,AA">')
    check_offline("<p>url(//evil.example/x) and @import 'https://x'</p>")  # text, not markup
    with pytest.raises(ReportError, match="external resources"):
        check_offline('<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js">')
    with pytest.raises(ReportError, match="external resources"):
        check_offline("<style>@font-face { src: url('https://fonts.example.org/a.woff2'); }</style>")


# --------------------------------------------------------------------------- CSV / XLSX
def test_formulas_are_neutralised():
    for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(v) == "'" + v
    assert neutralise("ok") == "ok" and neutralise(-3) == -3  # numbers stay numbers
    f = neutralise_frame(pd.DataFrame({"=bad": ["=HYPERLINK(\"x\")", "fine"], "n": [-1, 2]}))
    assert list(f.columns) == ["'=bad", "n"] and f["'=bad"].tolist()[0].startswith("'=") and f["n"].tolist() == [-1, 2]


def test_xlsx_and_csv_have_no_live_formula(tmp_path):
    doc = _doc(HOSTILE[-1])
    out = tmp_path / "r.html"
    folder, xlsx = tables_paths(out)
    with staged(tmp_path) as outputs:
        write_tables(doc, outputs, folder, xlsx)
    with zipfile.ZipFile(xlsx) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml
    csv = next(folder.glob("*.csv")).read_text(encoding="utf-8")
    assert not re.search(r"(^|,)[=+\-@]", csv, flags=re.M)


def test_staged_outputs_are_discarded_on_error(tmp_path):
    target = tmp_path / "report.html"
    with pytest.raises(RuntimeError):
        with staged(tmp_path) as outputs:
            outputs.path(target).write_text("half")
            raise RuntimeError("stop")
    assert not target.exists() and not list(tmp_path.glob(".groupeval-*"))


def test_progress_keeps_talking_during_a_long_step():
    import io
    import time

    from groupeval.reporting.report import Progress

    buf = io.StringIO()
    say = Progress(buf, heartbeat=0.2)
    say("fitting the mixed model")
    time.sleep(0.7)
    say.close()
    lines = buf.getvalue().splitlines()
    assert lines[0].endswith("fitting the mixed model")
    assert any("still working: fitting the mixed model" in ln for ln in lines[1:])
