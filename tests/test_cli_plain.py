"""Errors for people who do not code: grouped, counted, no Python syntax; every problem in --quality-csv.

Source of truth: a generated forms programme broken in known ways (the number of bad cells is
known), and the CLI run in-process and as a subprocess.
"""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from _helpers_forms import BRS_Q, END_FILE, START_FILE, write_forms_programme
from groupeval.base.exceptions import GroupevalError, Problem, ValidationError
from groupeval.reporting import cli
from groupeval.reporting.cli import format_problems, main, plain_fix

ROOT = Path(__file__).resolve().parents[1]
PY_SYNTAX = ("=True", "=False", ".problems", "Traceback", "labels={", "columns={", "attribute")


def _broken_programme(tmp_path):
    """The forms programme where every BRS answer is written in words no label set knows."""
    fp = write_forms_programme(tmp_path / "prog")
    assert main(["init", str(fp.folder)]) == 0
    n_bad = 0
    for name in (START_FILE, END_FILE):
        df = pd.read_csv(fp.folder / name, dtype=str, keep_default_na=False)
        for k in range(1, 7):
            col = BRS_Q.format(k=k)
            df[col] = df[col].map({"Strongly disagree": "Totally no", "Disagree": "No", "Neutral": "Meh",
                                   "Agree": "Yes", "Strongly agree": "Totally yes"})
            n_bad += int((df[col] != "").sum())
        df.to_csv(fp.folder / name, index=False)
    return fp, n_bad


def test_words_that_are_no_labels_are_one_grouped_message_with_count_examples_and_fix(tmp_path, capsys,
                                                                                         monkeypatch):
    monkeypatch.delenv("GROUPEVAL_SALT", raising=False)
    fp, n_bad = _broken_programme(tmp_path)
    capsys.readouterr()
    assert main(["validate", str(fp.folder)]) == 1
    err = capsys.readouterr().err
    assert f"1. {n_bad} answer(s) in 6 column(s) are words, not numbers" in err
    assert "first 3:" in err and "fix:" in err and "[labels.brs]" in err
    for bad in PY_SYNTAX:
        assert bad not in err, bad
    for n in fp.names:
        assert f" {n} " not in err


def test_quality_csv_holds_every_error_and_every_repair(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GROUPEVAL_SALT", raising=False)
    fp, n_bad = _broken_programme(tmp_path)
    target = tmp_path / "out" / "quality.csv"
    assert main(["validate", str(fp.folder), "--quality-csv", str(target)]) == 1
    assert f"written to {target}" in capsys.readouterr().err
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert set(rows[0]) == {"file", "row", "column", "value", "reason", "action", "fix"}
    errors = [r for r in rows if r["action"] == "error"]
    assert len(errors) == n_bad and all(r["fix"] for r in errors)
    repairs = [r for r in rows if r["action"] == "repaired"]
    assert any(r["reason"].startswith("answer labels converted to codes (with the PHQ-9") for r in repairs)
    assert any("pseudonyms" in r["reason"] for r in repairs)
    text = target.read_text(encoding="utf-8")
    for n in fp.names:
        assert f",{n}," not in text and f" {n} " not in text


def test_plain_fix_rewrites_python_for_the_config_file():
    assert plain_fix("pass dayfirst=True (DD/MM/YYYY)") == "set dayfirst = true in [programme] of groupeval.toml " \
                                                          "(DD/MM/YYYY)"
    assert "allow_identifiers = true (in [privacy]" in plain_fix("or pass allow_identifiers=True to drop them")
    assert plain_fix("rename with columns={'Your header': 'member_id'} or add them") == \
        'rename with columns = { "Your header" = "member_id" } in the file section of groupeval.toml or add them'
    for bad in ("=True", "={"):
        assert bad not in plain_fix("pass unenrolled='exclude' or columns={'a': 'b'} or today=...")


def test_many_problems_of_several_kinds_are_counted_per_kind():
    probs = [Problem("a.csv", r, "brs_1", "Sort of", "item response is not a number", "add [labels.brs]")
             for r in range(2, 760)]
    probs += [Problem("b.csv", 4, "session_date", "2025-13-01", "not a date that can be read",
                      "write dates as YYYY-MM-DD")]
    text = format_problems(ValidationError("The data cannot be used as it is", probs), "validate")
    assert "759 problem(s) of 2 kind(s)" in text
    assert "1. 758 answer(s) in 1 column(s) are words, not numbers" in text
    assert "2. 1 date(s) in 1 column(s) cannot be read" in text
    assert text.count("row ") < 12          # three examples per kind, not 759 lines


def test_internal_errors_and_multi_line_messages_stay_short(tmp_path, capsys, monkeypatch):
    def boom(args):
        raise KeyError("Ann Lee")

    monkeypatch.setattr(cli, "_cmd_validate", boom)   # main() builds its parser afresh: the patch is used
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "internal error (KeyError)" in err and "Ann Lee" not in err and "Traceback" not in err
    e = GroupevalError("The report notebook failed in cell 'x': KeyError: 'group_type'\nTraceback ...\n  File y")
    assert "\n" not in format_problems(e, "report") and "--debug" in format_problems(e, "report")


def test_broken_pipe_ends_quietly_in_process(monkeypatch, capsys):
    class Closed(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "_quiet_broken_pipe", lambda: None)
    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["validate", str(ROOT / "data" / "sample")]) == 0


def test_validate_piped_into_a_reader_that_stops_ends_quietly():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, "-m", "groupeval", "validate", str(ROOT / "data" / "sample")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()                      # like `| head` exiting before groupeval writes
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert code == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


@pytest.mark.parametrize("argv", [["init", "--help"], ["validate", "--help"], ["report", "--help"]])
def test_new_options_are_in_the_help(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    out = capsys.readouterr().out
    if argv[0] == "init":
        assert "--force" in out
    else:
        assert "--pseudonymise" in out
    if argv[0] == "validate":
        assert "when the data cannot be used" in " ".join(out.split())


def test_warnings_are_one_plain_line(tmp_path, capsys, monkeypatch):
    from groupeval.base.exceptions import SmallSampleWarning

    def warn(args):
        warnings.warn("only 3 people in group G1", SmallSampleWarning, stacklevel=2)
        time.sleep(0)
        return 0

    monkeypatch.setattr(cli, "_cmd_validate", warn)
    assert main(["validate", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err.strip() == "note: only 3 people in group G1"
