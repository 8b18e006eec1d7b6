"""``groupeval init``: guessing a configuration from a folder of raw files.

Sources of truth: the generated Google-Forms programme (its layout is known) and the shipped
sample programme, whose hand-written groupeval.toml gives the counts a correct guess must give.
"""
from __future__ import annotations

import re
import shutil
import tomllib
import warnings
from pathlib import Path

import pandas as pd
import pytest

import groupeval as ge
from _helpers_forms import END_FILE, PHQ_LABELS, START_FILE, write_forms_programme
from groupeval.base.exceptions import ConfigError
from groupeval.reporting.cli import main
from groupeval.validation.inspect import inspect_folder, render_toml, write_config

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def _load(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ge.load(folder)


def test_init_reads_a_google_forms_programme_and_validate_passes(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GROUPEVAL_SALT", raising=False)
    fp = write_forms_programme(tmp_path / "prog")
    assert main(["init", str(fp.folder)]) == 0
    out = capsys.readouterr().out
    assert "Wrote" in out and "Everything could be decided" in out
    cfg = tomllib.loads((fp.folder / "groupeval.toml").read_text())
    assert cfg["programme"]["timepoints"] == ["baseline", "end"] and cfg["programme"]["dayfirst"] is True
    assert cfg["privacy"]["pseudonymise"] is True
    (att,) = cfg["files"]["attendance"]
    assert att["format"] == "wide" and att["columns"] == {"Name": "member_id"}
    surveys = {s["path"]: s for s in cfg["files"]["surveys"]}
    assert surveys[START_FILE]["timepoint"] == "baseline" and surveys[END_FILE]["timepoint"] == "end"
    cols = surveys[START_FILE]["columns"]
    assert sorted(v for v in cols.values() if v.startswith("brs_")) == [f"brs_{k}" for k in range(1, 7)]
    assert sorted(v for v in cols.values() if v.startswith("phq9_")) == sorted(f"phq9_{k}" for k in range(1, 10))
    assert cols["Your first name"] == "member_id" and cols["Timestamp"] == "completed_on"
    assert cols["Which group do you come to?"] == "group_id"
    ds = _load(fp.folder)
    assert ds.members["member_id"].nunique() == 20 and set(ds.timepoints) == {"baseline", "end"}
    assert main(["validate", str(fp.folder)]) == 0


def test_init_writes_no_name_and_never_overwrites(tmp_path, capsys):
    fp = write_forms_programme(tmp_path / "prog")
    target, plan = write_config(fp.folder)
    text = target.read_text()
    for n in fp.names:
        assert not re.search(r"(?<!\w)" + re.escape(n) + r"(?!\w)", text, re.IGNORECASE), n
    with pytest.raises(ConfigError, match="already exists"):
        write_config(fp.folder)
    assert main(["init", str(fp.folder)]) == 1
    assert "--force" in capsys.readouterr().err
    target.write_text("# my edits\n")
    assert main(["init", str(fp.folder), "--force"]) == 0
    assert "# my edits" not in target.read_text()


def test_init_on_the_sample_gives_the_counts_of_its_own_config(tmp_path):
    folder = tmp_path / "sample"
    folder.mkdir()
    for p in SAMPLE.iterdir():
        if p.suffix in (".csv", ".xlsx"):
            shutil.copy(p, folder / p.name)
    write_config(folder)
    guessed = _load(folder)
    reference = _load(SAMPLE)
    assert dict(zip(guessed.counts()["table"], guessed.counts()["rows"])) == \
        dict(zip(reference.counts()["table"], reference.counts()["rows"]))
    assert guessed.timepoints == reference.timepoints
    assert set(guessed.meta["instruments"]) == set(reference.meta["instruments"])


def test_init_says_what_it_could_not_decide(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    # a survey whose name says nothing about its round, with 16 columns answered with PHQ-9/GAD-7 labels
    rows = {"Timestamp": ["2025-03-03 10:00:00"] * 4, "Member code": ["M1", "M2", "M3", "M4"]}
    for k in range(16):
        rows[f"Question {k + 1}"] = [PHQ_LABELS[(k + i) % 4] for i in range(4)]
    pd.DataFrame(rows).to_csv(folder / "export.csv", index=False)
    plan = inspect_folder(folder)
    text = " ".join(plan.undecided)
    assert "does not say which survey round" in text
    assert "PHQ-9" in text and "GAD-7" in text and "no single questionnaire" in text
    assert "no attendance file found" in text
    toml = render_toml(plan)
    assert "STILL TO DECIDE" in toml
    tomllib.loads(toml)


def test_init_recognises_a_sign_in_form_and_an_ambiguous_date_order(tmp_path):
    folder = tmp_path / "signin"
    folder.mkdir()
    pd.DataFrame({"Timestamp": ["03/02/2025 18:01:00", "03/02/2025 18:05:00", "10/02/2025 18:02:00"],
                  "Your name": ["Ann", "Zoë", "Ann"], "Group": ["Tuesday"] * 3}
                 ).to_csv(folder / "Sign-in (Responses).csv", index=False)
    plan = inspect_folder(folder)
    (f,) = plan.files
    assert (f.kind, f.shape) == ("attendance", "signin")
    assert f.columns == {"Your name": "member_id", "Timestamp": "session_date", "Group": "group_id"}
    assert plan.pseudonymise and plan.dayfirst is True
    assert any("4 February or 2 April" in u for u in plan.undecided)
