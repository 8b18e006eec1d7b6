"""The command line as a programme manager uses it: exit codes and messages, never a traceback."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from groupeval.reporting.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def test_validate_sample_prints_counts_and_exits_zero(capsys):
    assert main(["validate", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    for table in ("groups", "members", "sessions", "attendance", "responses"):
        assert table in out
    assert "12 groups" in out and "baseline, week_12, week_26" in out


def test_validate_writes_quality_csv(tmp_path, capsys):
    target = tmp_path / "quality.csv"
    assert main(["validate", str(SAMPLE), "--quality-csv", str(target)]) == 0
    header = target.read_text().splitlines()[0]
    assert header == "file,row,column,value,reason,action,fix"


def test_validate_bad_data_lists_every_problem_without_traceback(tmp_path, capsys):
    folder = tmp_path / "bad"
    shutil.copytree(SAMPLE, folder)
    members = folder / "members.csv"
    lines = members.read_text().splitlines()
    # break two different rows in two different ways
    header = lines[0].split(",")
    enrolled = header.index("Enrolled")
    row2 = lines[1].split(",")
    row2[enrolled] = "not a date"
    lines[1] = ",".join(row2)
    row3 = lines[2].split(",")
    row3[enrolled] = "2025-02-31"
    lines[2] = ",".join(row3)
    members.write_text("\n".join(lines) + "\n")
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "members.csv" in err and "row 2" in err and "row 3" in err
    assert "not a date" in err and "2025-02-31" in err


def test_validate_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err


def test_sample_then_validate_round_trip(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "prog"), "--seed", "7"]) == 0
    assert (tmp_path / "prog" / "groupeval.toml").exists()
    assert main(["validate", str(tmp_path / "prog")]) == 0
    assert "12 groups" in capsys.readouterr().out


def test_console_script_help_runs_in_a_subprocess():
    exe = shutil.which("groupeval")
    cmd = [exe] if exe else [sys.executable, "-m", "groupeval"]
    for sub in ([], ["validate"], ["sample"], ["report"]):
        res = subprocess.run(cmd + sub + ["--help"], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        assert "usage: groupeval" in res.stdout


def test_report_on_invalid_data_prints_validation_errors_not_a_traceback(tmp_path, capsys):
    folder = tmp_path / "bad"
    shutil.copytree(SAMPLE, folder)
    (folder / "groups.csv").write_text("")
    assert main(["report", str(folder), "--out", str(tmp_path / "r.html"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "groups.csv" in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_report_help_offers_pdf_and_docx(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["report", "--help"])
    out = capsys.readouterr().out
    assert "--pdf" in out and "--docx" in out and "--audience" in out


def test_report_without_the_extra_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "docx", None)  # python-docx not installed
    assert main(["report", str(SAMPLE), "--out", str(tmp_path / "r.html"), "--docx", "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['groupeval report: the report needs python-docx: pip install "groupeval[report]"']
    assert not (tmp_path / "r.html").exists()


def test_report_out_folder_is_refused_in_one_line(tmp_path, capsys):
    assert main(["report", str(SAMPLE), "--out", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "is a folder" in err and "Traceback" not in err
