"""``build_report`` end to end: privacy on a small-group programme, exact numbers, errors, the command.

Each build (in-process, a few seconds) is done once per session (``tests/_helpers_report.py``) and
shared with ``test_browser.py``.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import openpyxl
import pandas as pd
import pytest

import groupeval as ge
from _helpers_report import (
    COUNT_HEADERS,
    COUNT_NAME,
    PEOPLE_NUMBER,
    SECTIONS,
    built_report,
    html_text,
    programme_dir,
    read_tables,
)
from groupeval.base.exceptions import ConfigError, GroupevalError
from groupeval.reporting.privacy import assert_no_identifiers
from groupeval.reporting.report import ReportError, build_report, tables_paths

pytestmark = pytest.mark.slow

MIN_CELL = 11


def _table(tables, stem):
    return next(t for name, t in tables.items() if name.split("_", 1)[1] == stem)

def _load(kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ge.load(programme_dir(kind))


# --------------------------------------------------------------------------- funder, small groups
@pytest.fixture(scope="module")
def funder_small():
    return built_report("small", "funder", MIN_CELL)


def test_small_group_programme_really_has_small_cells():
    # Guard: the privacy tests below would be empty if the data had no small counts.
    ds = _load("small")
    sizes = ds.members.merge(ds.groups, on="group_id").groupby("group_type").size()
    assert (sizes < 2 * MIN_CELL).all() and len(ds.members) < 80


def test_funder_csv_tables_show_no_count_below_min_cell(funder_small):
    tables = read_tables(funder_small)
    assert len(tables) >= 8
    hidden_somewhere = False
    for name, t in tables.items():
        for col in t.columns:
            if COUNT_NAME.match(col):
                assert f"{col}_suppressed" in t.columns, f"{name}: count column {col} is not suppressible"
        for flag in [c for c in t.columns if c.endswith("_suppressed")]:
            col = flag.removesuffix("_suppressed")
            values = pd.to_numeric(t[col], errors="coerce")
            if COUNT_NAME.match(col):
                bad = values[(values > 0) & (values < MIN_CELL)]
                assert bad.empty, f"{name}.{col} shows counts {bad.tolist()} below {MIN_CELL}"
            flagged = t[flag].astype(bool)
            assert values[flagged].isna().all(), f"{name}.{col}: a flagged cell still has a value"
            hidden_somewhere |= bool(flagged.any())
    assert hidden_somewhere


def test_funder_tables_recover_nothing_from_shown_totals(funder_small):
    # Every table by group type has an "All members" row: in each count column, if any group's cell is
    # hidden then at least two are (or the total is hidden), so no cell = total - sum(others).
    for name, t in read_tables(funder_small).items():
        if "group_type" not in t.columns or not t["group_type"].eq("All members").any():
            continue
        if "timepoint" in t.columns:
            continue  # per-timepoint totals are dropped for funders (helper rows)
        body = t[t["group_type"] != "All members"]
        total = t[t["group_type"] == "All members"].iloc[0]
        for flag in [c for c in t.columns if c.endswith("_suppressed")]:
            col = flag.removesuffix("_suppressed")
            if not COUNT_NAME.match(col):
                continue
            n_hidden = int(body[flag].astype(bool).sum())
            assert n_hidden != 1 or bool(total[flag]), f"{name}.{col}: one hidden cell beside a shown total"


def test_funder_sentences_and_html_tables_show_no_small_counts(funder_small):
    html = funder_small.read_text(encoding="utf-8")
    text = html_text(html)
    for m in PEOPLE_NUMBER.finditer(text):
        n = int(next(g for g in m.groups() if g).replace(",", ""))
        assert n == 0 or n >= MIN_CELL, f"small count in text: ...{text[max(0, m.start() - 80):m.end() + 20]}..."
    assert f"&lt;{MIN_CELL}" in html  # the marker of hidden cells is used
    # table cells under people-count headers
    checked = 0
    for table in re.findall(r'<table class="ge-table">.*?</table>', html, flags=re.S):
        heads = [html_text(h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, flags=re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]:
            cells = [html_text(c).strip() for c in re.findall(r"<td>(.*?)</td>", row, flags=re.S)]
            for head, cell in zip(heads, cells):
                if head.lower() in COUNT_HEADERS and re.fullmatch(r"[\d,]+", cell):
                    checked += 1
                    assert int(cell.replace(",", "")) == 0 or int(cell.replace(",", "")) >= MIN_CELL, (head, cell)
    assert checked > 20
    # a hidden share, mean or p value says why; "<11" is only ever a count of people
    assert "—, fewer than 11 people" in html or "—†" in html


def test_no_member_ids_in_any_output_of_any_audience(funder_small):
    ds = _load("small")
    folder, xlsx = tables_paths(funder_small)
    assert_no_identifiers([funder_small, folder, xlsx], ds, id_pattern=r"\bM\d{4}\b")
    program = built_report("sample", "program")
    folder, xlsx = tables_paths(program)
    assert_no_identifiers([program, folder, xlsx], _load("sample"), id_pattern=r"\bM\d{4}\b")


def test_funder_report_keeps_its_sections_and_figures(funder_small):
    html = funder_small.read_text(encoding="utf-8")
    for s in SECTIONS:
        assert f">{s}<" in html, s
    assert "data:image/png;base64," in html
    assert "<pre" not in html and "<script" not in html  # no code, nothing that runs


def test_title_block_says_what_is_true_about_privacy(funder_small):
    text = html_text(funder_small.read_text(encoding="utf-8"))
    assert "No individual can be identified" not in text  # not a promise suppression alone can keep
    assert "names no one and shows no member's data" in text and "fewer than 11 people" in text


# --------------------------------------------------------------------------- program, sample
@pytest.fixture(scope="module")
def program_sample():
    return built_report("sample", "program", MIN_CELL)


def test_report_files_written_beside_the_html(program_sample):
    folder, xlsx = tables_paths(program_sample)
    csvs = sorted(p.name for p in folder.glob("*.csv"))
    assert csvs[0] == "01_participant_flow.csv" and any(c.endswith("_change_phq9.csv") for c in csvs)
    wb = openpyxl.load_workbook(xlsx, read_only=True)
    assert wb.sheetnames[0] == "README" and len(wb.sheetnames) == len(csvs) + 1
    assert not list(program_sample.parent.glob(".groupeval-*"))  # no staging folder left behind


def test_report_tables_equal_the_library_results_exactly(program_sample):
    ds = _load("sample")
    tables = read_tables(program_sample)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phq = ge.score(ds.responses, "phq9")
        by = ge.change(phq, "baseline", "week_26", by="group_type", dataset=ds, instrument="phq9")
        overall = ge.change(phq, "baseline", "week_26", instrument="phq9")
        ret = ge.retention(ds).summary
        flow = ge.participant_flow(ds, {n: ge.score(ds.responses, n) for n in ds.meta["instruments"]})
    t = _table(tables, "change_phq9")
    cols = ["n", "mean_pre", "mean_post", "mean_change", "ci_low", "ci_high", "t", "p_value", "d_z", "d_z_ci_low"]
    np.testing.assert_array_equal(t.iloc[:-1][cols].to_numpy(float), by[cols].to_numpy(float))
    np.testing.assert_array_equal(t.iloc[-1][cols].to_numpy(float), overall[cols].iloc[0].to_numpy(float))
    r = _table(tables, "retention_by_group_type").iloc[-1]
    assert r["retention_26w"] == ret["retention_26w"].iloc[0] and r["n"] == ret["n"].iloc[0]
    assert _table(tables, "participant_flow")["n"].tolist() == flow["n"].tolist()


def test_program_report_sentences_quote_the_library(program_sample):
    ds = _load("sample")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        overall = ge.change(ge.score(ds.responses, "phq9"), "baseline", "week_26", instrument="phq9").iloc[0]
    text = html_text(program_sample.read_text(encoding="utf-8"))
    from groupeval import formatting as F

    # sentences lead with the group-clustered interval when it is defined (issue 9.5)
    lo, hi = ((overall["ci_low_cluster"], overall["ci_high_cluster"]) if np.isfinite(overall["ci_low_cluster"])
              else (overall["ci_low"], overall["ci_high"]))
    expected = f"mean change {F.fmt_number(overall['mean_change'], 1)}, {F.fmt_ci(lo, hi, 1)}"
    assert expected in text


# --------------------------------------------------------------------------- errors
def test_invalid_data_raise_the_validation_error_not_a_traceback(tmp_path, capsys):
    from groupeval.reporting.cli import main

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "groups.csv").write_text("group_id,group_type\nG01,12-step\n")
    (bad / "members.csv").write_text("member_id,group_id\nM0001,G01\n")  # no enrolled_on
    (bad / "attendance.csv").write_text("member_id,group_id,session_date,attended\nM0001,G01,2025-01-06,1\n")
    with pytest.raises(GroupevalError, match="enrolled_on"):
        build_report(bad, tmp_path / "r.html", progress=False)
    assert not (tmp_path / "r.html").exists()
    assert main(["report", str(bad), "--out", str(tmp_path / "r.html"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "enrolled_on" in err and "Traceback" not in err


def test_bad_arguments_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="audience must be one of"):
        build_report(tmp_path, tmp_path / "r.html", audience="board")
    with pytest.raises(ConfigError, match="min_cell must be a whole number"):
        build_report(tmp_path, tmp_path / "r.html", min_cell=0)


# --------------------------------------------------------------------------- the command behaves (11.8)
def test_out_that_is_a_folder_or_unwritable_is_refused_before_any_work(tmp_path, capsys):
    from groupeval.reporting.cli import main

    nowhere = tmp_path / "no-data-here"  # refused before the data are even looked at
    with pytest.raises(ReportError, match="is a folder"):
        build_report(nowhere, tmp_path, progress=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ReportError, match="not writable"):
        build_report(nowhere, blocker / "sub" / "report.html", progress=False)
    assert main(["report", str(nowhere), "--out", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "is a folder" in err and "Traceback" not in err and "no-data-here" not in err


def test_ctrl_c_ends_with_one_line_and_leaves_the_previous_report_intact(tmp_path, capsys, monkeypatch):
    from groupeval.reporting import cli
    from groupeval.reporting.report import export

    data = programme_dir("small")
    out = tmp_path / "report.html"
    assert cli.main(["report", str(data), "--out", str(out), "--quiet"]) == 0
    folder, xlsx = tables_paths(out)
    before = {p: p.read_bytes() for p in [out, xlsx, *folder.glob("*.csv")]}
    capsys.readouterr()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export.pd.DataFrame, "to_excel", interrupted)  # Ctrl-C while the workbook is written
    assert cli.main(["report", str(data), "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["groupeval report: interrupted; no report files were written."]
    assert {p: p.read_bytes() for p in before} == before  # nothing half-written, nothing replaced
    assert not list(tmp_path.glob(".groupeval-*"))


def test_a_group_type_called_all_members_does_not_break_the_totals(tmp_path):
    ds = _load("small")
    g = ds.groups.copy()
    g.loc[g.index[:2], "group_type"] = "All members"
    out = build_report(None, tmp_path / "r.html", dataset=ds.replace(groups=g), progress=False)
    att = _table(read_tables(out), "attendance_by_group_type")
    assert (att["group_type"] == "All members").sum() == 1 and att["group_type"].iloc[-1] == "All members"
    assert "All members (group type)" in set(att["group_type"])
    body = att[att["group_type"] != "All members"]
    assert body["members"].sum() == att["members"].iloc[-1] == len(ds.members)


def test_pdf_and_docx_are_written_beside_the_html(tmp_path):
    import shutil

    if shutil.which("chromium") is None and shutil.which("chromium-browser") is None:
        pytest.skip("chromium not installed")
    out = build_report(programme_dir("small"), tmp_path / "r.html", audience="funder", progress=False, pdf=True,
                       docx=True)
    assert out.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    import docx

    d = docx.Document(str(out.with_suffix(".docx")))
    text = "\n".join(p.text for p in d.paragraphs)
    assert "Summary for the board" in text and "Methods" in text and "References" in text
    assert len(d.tables) >= 4
    cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
    assert "<11" in cells  # the same hidden cells as the HTML
    html_cells = re.findall(r"<td>(.*?)</td>", out.read_text(encoding="utf-8"))
    assert cells.count("<11") <= html_cells.count("&lt;11")  # the key tables only, same marks
