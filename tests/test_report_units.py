"""Report pipeline pieces: parameters, packaged notebooks, offline HTML, suppressed table export."""
from __future__ import annotations

from importlib import resources

import nbformat
import openpyxl
import pandas as pd
import pytest

from groupeval.base.exceptions import ConfigError, IdentifierError
from groupeval.reporting.report import (
    NOTEBOOKS,
    ReportError,
    ReportTables,
    check_offline,
    format_table_html,
    inject_parameters,
    notebook_path,
    tables_paths,
)


def test_notebooks_are_package_data_found_by_importlib_resources():
    for name in NOTEBOOKS:
        res = resources.files("groupeval.reporting.report") / "notebooks" / name
        assert res.is_file(), name
        assert notebook_path(name.removesuffix(".ipynb")).samefile(str(res))
        nb = nbformat.read(str(res), as_version=4)
        nbformat.validate(nb)
        # stored WITHOUT outputs
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb.cells if c.cell_type == "code"), name
        assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1, name
    with pytest.raises(ConfigError, match="unknown notebook 'nope'"):
        notebook_path("nope")


def test_parameters_injected_after_the_parameters_cell_papermill_style():
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell("audience = 'program'")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), p, nbformat.v4.new_code_cell("x = 1")]
    out = inject_parameters(nb, {"audience": "funder", "min_cell": 11, "path": "a'b"})
    assert [c.metadata.get("tags", []) for c in out.cells][2] == ["injected-parameters", "remove-input"]
    ns: dict = {}
    exec(out.cells[2].source, ns)  # noqa: S102 - our own generated code
    assert ns["audience"] == "funder" and ns["min_cell"] == 11 and ns["path"] == "a'b"
    out2 = inject_parameters(out, {"audience": "public"})  # re-injection replaces, never stacks
    assert sum("injected-parameters" in c.metadata.get("tags", []) for c in out2.cells) == 1
    with pytest.raises(ConfigError, match="not a Python identifier"):
        inject_parameters(nb, {"a-b": 1})


def test_check_offline_rejects_cdn_scripts_and_allows_links():
    check_offline('<a href="https://doi.org/10.1037/0022-006X.59.1.12">doi</a><img src="data:image/png;base64,AA">')
    with pytest.raises(ReportError, match="external resources"):
        check_offline('<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js">')
    with pytest.raises(ReportError, match="external resources"):
        check_offline("<link rel='stylesheet' href='//fonts.example.org/x.css'>")
    with pytest.raises(ReportError, match="external resources"):
        check_offline("<style>@font-face { src: url('https://fonts.example.org/a.woff2'); }</style>")
    with pytest.raises(ReportError, match="external resources"):
        check_offline('<style>@import "https://example.org/x.css";</style>')
    check_offline("<style>/* see https://meyerweb.com/eric/tools/color-blend */</style>")


def test_tables_paths_beside_the_html(tmp_path):
    folder, xlsx = tables_paths(tmp_path / "out" / "report.html")
    assert folder == tmp_path / "out" / "report_tables" and xlsx == tmp_path / "out" / "report_tables.xlsx"


def _change_table():
    return pd.DataFrame({"group_type": ["12-step", "postpartum depression", "All"], "n": [40, 6, 46],
                         "mean_change": [-2.5, -4.0, -2.7], "ci_low": [-3.0, -6.0, -3.2]})


def test_report_tables_suppress_for_funder_and_write_csv_and_xlsx(tmp_path):
    rt = ReportTables(tmp_path / "r_tables", audience="funder", min_cell=11, display=False)
    kept = rt.add("Change by group type", _change_table(), title="PHQ-9 change", count_columns=["n"],
                  estimates={"mean_change": "n", "ci_low": "n"},
                  totals={"row": lambda t: t["group_type"].eq("All")})
    # 6 is primary; the "All" row total would give it back -> 40 hidden too (complementary)
    assert kept["n"].isna().tolist() == [True, True, False]
    assert kept["mean_change"].isna().tolist() == [True, True, False]
    paths = rt.write()
    csv = pd.read_csv(paths["change_by_group_type"])
    assert paths["change_by_group_type"].name == "01_change_by_group_type.csv"
    assert csv["n"].isna().tolist() == [True, True, False] and csv["n_suppressed"].tolist() == [True, True, False]
    wb = openpyxl.load_workbook(paths["_xlsx"], read_only=True)
    assert wb.sheetnames == ["README", "01_change_by_group_type"]
    rows = list(wb["01_change_by_group_type"].iter_rows(values_only=True))
    assert rows[1][1] is None and rows[3][1] == 46
    readme = [r for r in wb["README"].iter_rows(values_only=True)]
    assert ("audience", "funder") in readme and ("min_cell", "11") in readme


def test_report_tables_program_audience_keeps_everything(tmp_path):
    rt = ReportTables(tmp_path / "t", audience="program", display=False)
    kept = rt.add("x", _change_table(), title="x", count_columns=["n"], estimates={"mean_change": "n"})
    pd.testing.assert_frame_equal(kept, _change_table())


def test_report_tables_refuse_member_ids(tmp_path):
    rt = ReportTables(tmp_path / "t", audience="research", display=False)
    with pytest.raises(IdentifierError, match="member-level identifier column"):
        rt.add("members", pd.DataFrame({"member_id": ["M0001"], "n": [1]}), title="x", count_columns="n")


def test_format_table_html_marks_hidden_cells_and_rounds_only_for_display():
    kept = ReportTables(None, audience="public", display=False).add(
        "t", pd.DataFrame({"g": ["a", "b"], "n": [3, 1234], "p_value": [0.0004, 0.04567]}),
        title="T", count_columns="n")
    html = format_table_html(kept, caption="T & co", min_cell=11)
    assert "<caption>T &amp; co</caption>" in html and "&lt;11" in html and "1,234" in html
    assert "&lt; .001" in html and ">.046<" in html
    assert kept.loc[1, "p_value"] == 0.04567  # the kept table stays unrounded


def test_quality_table_shows_file_names_only_and_never_a_member_id():
    import warnings

    from groupeval.base.dataset import QualityReport
    from groupeval.reporting.privacy import find_identifiers
    from groupeval.reporting.report.evaluation import Evaluation
    from groupeval.sample import generate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = generate(3, n_groups=4)
    ds = ds.replace(quality=QualityReport.from_records([
        {"file": "/home/alice/data/members.csv", "row": 3, "column": "member_id", "value": "M0001",
         "reason": "duplicate of M0001", "action": "excluded"}]))
    q = Evaluation(ds, audience="program").quality_table
    assert q["file"].tolist() == ["members.csv"] and q["reason"].tolist() == ["duplicate of [member id]"]
    assert find_identifiers(q, ds) == []
