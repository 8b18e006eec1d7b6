"""Questionnaires answered in words: the registry's answer labels and their conversion in validation.

Sources of truth: the anchors of /work/shared/instruments.md (the endpoints of every scale, quoted
in the table below with their section) and the cited sources in each TOML's [labels] source; the
generated Google-Forms programme of tests/_helpers_forms.py, whose true codes are known.
"""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import groupeval as ge
from _helpers_forms import BRS_LABELS, BRS_Q, END_FILE, NAME_Q, PHQ_LABELS, PHQ_Q, START_FILE, write_forms_programme
from groupeval.base import instruments
from groupeval.base.exceptions import ConfigError, ValidationError
from groupeval.base.instruments import Instrument, label_key

# instruments.md: endpoint anchors (lowest code, highest code) per scale, with the section quoted
ENDPOINTS = {
    "brs": ("strongly disagree", 1, "strongly agree", 5),            # section 1
    "who5": ("at no time", 0, "all of the time", 5),                 # section 3
    "phq9": ("not at all", 0, "nearly every day", 3),                # section 5
    "gad7": ("not at all", 0, "nearly every day", 3),                # section 6: "same anchors as PHQ-9"
    "k10": ("none of the time", 1, "all of the time", 5),            # section 7 (Australian 1-5)
    "k6": ("none of the time", 0, "all of the time", 4),             # section 7 (0-4)
    "swemwbs": ("none of the time", 1, "all of the time", 5),        # section 8
    "swls": ("strongly disagree", 1, "strongly agree", 7),           # section 9
    "ucla3": ("hardly ever/never", 1, "often", 3),                   # section 10
    "mspss": ("very strongly disagree", 1, "very strongly agree", 7),  # section 11
    "core10": ("not at all", 0, "most or all of the time", 4),       # section 13
}
WITHOUT_LABELS = {"cdrisc10", "whoqol_bref"}   # proprietary / item-specific anchors: none shipped


def test_label_endpoints_match_instruments_md():
    for name, (lo_lab, lo, hi_lab, hi) in ENDPOINTS.items():
        codes = instruments.get(name).label_codes
        assert codes[label_key(lo_lab)] == lo, name
        assert codes[label_key(hi_lab)] == hi, name


def test_every_shipped_label_set_covers_the_item_range_once_per_anchor_and_cites_a_source():
    with_labels = {n for n in instruments.available() if instruments.get(n).answer_labels}
    assert with_labels == set(ENDPOINTS) and not (WITHOUT_LABELS & with_labels)
    for name in with_labels:
        inst = instruments.get(name)
        assert set(inst.answer_labels.values()) == set(range(inst.item_min, inst.item_max + 1)), name
        assert "[C" in inst.answer_labels_source and len(inst.answer_labels_source) > 40, name


def test_label_key_ignores_case_accents_whitespace_and_punctuation():
    assert label_key("  Strongly  AGREE! ") == label_key("strongly-agree") == "stronglyagree"
    assert label_key("Très bien") == "tresbien"
    assert label_key("Hardly ever / never") == label_key("hardly ever/never")


def test_variant_shifts_label_codes_with_item_min():
    au, us = instruments.get("k10"), instruments.get("k10", variant="us")
    assert au.label_codes["noneofthetime"] == 1 and us.label_codes["noneofthetime"] == 0
    assert us.label_codes["allofthetime"] == 4


def test_labels_in_python_and_toml_and_bad_ones_refused():
    a = Instrument("mood3", n_items=3, item_min=0, item_max=2, answer_labels=["Never", "Sometimes", "Often"])
    assert dict(a.answer_labels) == {"Never": 0, "Sometimes": 1, "Often": 2}
    b = instruments.from_toml('name = "mood3"\nn_items = 3\nitem_min = 1\nitem_max = 3\n'
                              '[labels]\nanchors = ["Never", "Sometimes", "Often"]\n'
                              'aliases = { "Hardly ever" = 1 }\nsource = "our form"\n')
    assert b.label_codes == {"never": 1, "sometimes": 2, "often": 3, "hardlyever": 1}
    assert b.answer_labels_source == "our form"
    assert pickle.loads(pickle.dumps(b)).answer_labels == b.answer_labels
    with pytest.raises(ConfigError, match="whole number from item_min=0 to item_max=2"):
        Instrument("mood3", n_items=3, item_min=0, item_max=2, answer_labels={"Never": 5})
    with pytest.raises(ConfigError, match="reads the same as"):
        Instrument("mood3", n_items=3, item_min=0, item_max=2, answer_labels={"Never": 0, "never!": 1})
    with pytest.raises(ConfigError, match="unknown key"):
        instruments.from_toml('name = "m"\nn_items = 1\nitem_min = 0\nitem_max = 1\n[labels]\nanchor = ["a"]\n')


# --------------------------------------------------------------------------- conversion
def _responses(values: dict[str, list], n: int) -> pd.DataFrame:
    return pd.DataFrame({"member_id": [f"M{i}" for i in range(n)], "timepoint": "baseline", **values})


def test_labels_become_codes_with_one_quality_line_per_column_and_label():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, size=(40, 9))
    words = {f"phq9_{k + 1}": [PHQ_LABELS[c] if rng.random() < 0.5 else PHQ_LABELS[c].upper() + "  "
                               for c in codes[:, k]] for k in range(9)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.validate(responses=_responses(words, 40))
    got = ds.responses[[f"phq9_{k}" for k in range(1, 10)]].to_numpy()
    assert np.array_equal(got, codes)
    q = ds.quality.to_frame()
    lines = q[q["reason"].str.startswith("answer labels converted to codes")]
    # one line per (column, label): spellings differing by case/space are one label
    per = pd.DataFrame(codes).apply(lambda c: c.nunique())
    assert len(lines) == per.sum()
    counted = lines["value"].str.extract(r"= (\d+) \((\d+) cell").astype(int)
    assert counted[1].sum() == codes.size


def test_unknown_word_is_an_error_that_names_the_labels_and_the_toml_fix():
    vals = {f"brs_{k}": ["Agree"] * 3 for k in range(1, 7)}
    vals["brs_2"] = ["Agree", "Somewhat agree", "Strongly agree"]
    with pytest.raises(ValidationError) as info:
        ge.validate(responses=_responses(vals, 3))
    (p,) = info.value.problems
    assert (p.row, p.column, p.value) == (3, "brs_2", "Somewhat agree")
    assert p.reason == "item response is not a number"
    assert "[labels.brs]" in p.fix and "'Strongly disagree' = 1" in p.fix


def test_user_labels_per_instrument_and_per_column_and_numbered_labels():
    vals = {f"brs_{k}": ["Agree", "4 - Agree", "Agree (4)"] for k in range(1, 7)}
    vals["brs_2"] = ["Somewhat agree", "Somewhat agree", "Agree"]
    vals["brs_3"] = ["Kind of", "Agree", "Agree"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.validate(responses=_responses(vals, 3),
                         labels={"brs": {"Somewhat agree": 4}, "brs_3": {"Kind of": 3}})
    r = ds.responses
    assert r["brs_1"].tolist() == [4, 4, 4] and r["brs_2"].tolist() == [4, 4, 4] and r["brs_3"].tolist() == [3, 4, 4]
    with pytest.raises(ValidationError, match="not the code of its label"):
        ge.validate(responses=_responses({**vals, "brs_4": ["2 - Agree", "Agree", "Agree"]}, 3),
                    labels={"brs": {"Somewhat agree": 4}, "brs_3": {"Kind of": 3}})


def test_instrument_without_labels_asks_for_them_in_the_toml():
    vals = {f"whoqol_bref_{k}": ["Good"] for k in range(1, 27)}
    with pytest.raises(ValidationError) as info:
        ge.validate(responses=_responses(vals, 1))
    assert len(info.value.problems) == 26
    assert "no answer labels for WHOQOL-BREF" in info.value.problems[0].fix


def test_read_survey_alone_still_refuses_words(tmp_path):
    fp = write_forms_programme(tmp_path / "f")
    cols = {NAME_Q: "member_id", **{BRS_Q.format(k=k): f"brs_{k}" for k in range(1, 7)}}
    with pytest.raises(ge.ReadError, match="item response is not a number"):
        ge.read_survey(fp.folder / START_FILE, columns=cols, timepoint="baseline")
    kept = ge.read_survey(fp.folder / START_FILE, columns=cols, timepoint="baseline", text_items=True)
    assert kept.attrs["groupeval_items"] == [f"brs_{k}" for k in range(1, 7)]
    assert set(kept["brs_1"].dropna()) <= set(BRS_LABELS) and kept["brs_1"].notna().all()


def test_google_forms_export_loads_with_a_columns_mapping_and_codes_are_the_truth(tmp_path):
    fp = write_forms_programme(tmp_path / "f")
    cols = {NAME_Q: "member_id", "Timestamp": "completed_on",
            **{BRS_Q.format(k=k): f"brs_{k}" for k in range(1, 7)},
            **{PHQ_Q.format(k=k): f"phq9_{k}" for k in range(1, 10)}}
    toml = (f'[programme]\ntimepoints = ["baseline", "end"]\ndayfirst = true\n[privacy]\npseudonymise = true\n'
            f'[files.attendance]\npath = "Attendance register 2025.xlsx"\ncolumns = {{ "Name" = "member_id" }}\n'
            f'[[files.surveys]]\npath = "{START_FILE}"\ntimepoint = "baseline"\n'
            f'[[files.surveys]]\npath = "{END_FILE}"\ntimepoint = "end"\n')
    (fp.folder / "groupeval.toml").write_text(toml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.load(fp.folder, columns={"surveys": cols})
    # truth: the generator's codes, member by member (pseudonyms of the register's names)
    from groupeval.base.pseudonyms import name_key, pseudonym_of, resolve_salt

    salt = resolve_salt(directory=fp.folder)
    truth = fp.brs_codes.merge(fp.phq_codes, on=["member", "timepoint"])
    truth["member_id"] = [pseudonym_of(name_key(m), salt=salt) for m in truth["member"]]
    got = ds.responses.merge(truth, on=["member_id", "timepoint"], suffixes=("", "_true"))
    assert len(got) == len(truth) == len(ds.responses)
    for c in [f"brs_{k}" for k in range(1, 7)] + [f"phq9_{k}" for k in range(1, 10)]:
        assert (got[c] == got[c + "_true"]).all(), c
    assert ge.score(ds.responses, "brs")["score"].notna().all()


def test_missing_value_text_beside_labels_is_unanswered_and_recorded_once():
    vals = {f"phq9_{k}": ["Not at all", "N/A", "Several days"] for k in range(1, 10)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.validate(responses=_responses(vals, 3))
    assert ds.responses["phq9_1"].tolist()[0] == 0 and np.isnan(ds.responses["phq9_1"].tolist()[1])
    q = ds.quality.to_frame()
    assert (q["reason"].str.contains("missing-value text")).sum() == 9          # one per cell, by validation
    assert not q["value"].astype(str).str.contains("N/A =").any()              # never taken for a label
