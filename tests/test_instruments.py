"""The instrument registry: contents checked against /work/shared/instruments.md
(values typed here from that document, not read back from the registry),
the attribute contract other helpers rely on, user-defined instruments in
Python and TOML, and validation of definitions."""
from __future__ import annotations

import dataclasses
import math
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import groupeval
from groupeval import instruments
from groupeval.base.exceptions import ConfigError
from groupeval.base.instruments import Instrument, MissingRule, Subscale

NAMES = ("brs", "cdrisc10", "core10", "gad7", "k10", "k6", "mspss", "phq9", "swemwbs", "swls",
         "ucla3", "who5", "whoqol_bref")

# instruments.md section 0 (quick summary table) + the instrument sections:
# name: (label, n_items, item_min, item_max, reverse, higher_is_better, score_min, score_max)
SUMMARY = {
    "brs": ("BRS", 6, 1, 5, (2, 4, 6), True, 1, 5),
    "cdrisc10": ("CD-RISC-10", 10, 0, 4, (), True, 0, 40),
    "who5": ("WHO-5", 5, 0, 5, (), True, 0, 100),
    "whoqol_bref": ("WHOQOL-BREF", 26, 1, 5, (3, 4, 26), True, 0, 100),
    "phq9": ("PHQ-9", 9, 0, 3, (), False, 0, 27),
    "gad7": ("GAD-7", 7, 0, 3, (), False, 0, 21),
    "k10": ("K10", 10, 1, 5, (), False, 10, 50),
    "k6": ("K6", 6, 0, 4, (), False, 0, 24),
    "swemwbs": ("SWEMWBS", 7, 1, 5, (), True, 7, 35),
    "swls": ("SWLS", 5, 1, 7, (), True, 5, 35),
    "ucla3": ("UCLA-3", 3, 1, 3, (), False, 3, 9),
    "mspss": ("MSPSS", 12, 1, 7, (), True, 1, 7),
    "core10": ("CORE-10", 10, 0, 4, (2, 3), False, 0, 40),
}


def test_available_lists_the_13_contract_instruments():
    assert instruments.available() == NAMES


def test_instrument_definitions_are_shipped_as_toml_package_data():
    folder = resources.files("groupeval.base.instruments").joinpath("data")
    shipped = sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml"))
    assert shipped == sorted(f"{n}.toml" for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_registry_matches_instruments_md_summary_table(name):
    inst = instruments.get(name)
    label, n, lo, hi, rev, better, smin, smax = SUMMARY[name]
    assert (inst.name, inst.label, inst.n_items, inst.item_min, inst.item_max) == (name, label, n, lo, hi)
    assert inst.reverse == rev
    assert inst.higher_is_better is better
    assert (inst.score_min, inst.score_max) == (smin, smax)


@pytest.mark.parametrize("name", NAMES)
def test_contract_attributes_have_the_agreed_shapes(name):
    inst = instruments.get(name)
    assert set(inst.reliability) == {"alpha", "test_retest"}
    assert all(v is None or 0 < v <= 1 for v in inst.reliability.values())
    assert set(inst.norms) == {"clinical", "functional"}
    for v in inst.norms.values():
        assert v is None or (len(v) == 2 and v[1] > 0)
    assert isinstance(inst.citation, str) and len(inst.citation) > 20
    assert isinstance(inst.licence, str) and inst.licence
    assert isinstance(dict(inst.subscales), dict)
    for cols in inst.subscales.values():
        assert all(1 <= i <= inst.n_items for i in cols)
    assert inst.missing_rule in inst.missing_rules
    assert "complete" in inst.missing_rules
    assert isinstance(dict(inst.conventions), dict)
    assert inst.items == tuple(f"{name}_{i}" for i in range(1, inst.n_items + 1))
    hash(inst)  # frozen and hashable


def test_instruments_are_frozen():
    inst = instruments.get("phq9")
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.n_items = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        inst.reliability["alpha"] = 0.5  # type: ignore[index]


def test_no_item_wording_is_shipped():
    # item text would appear as long quoted sentences; definitions hold numbers and notes only
    folder = resources.files("groupeval.base.instruments").joinpath("data")
    for p in folder.iterdir():
        text = p.read_text(encoding="utf-8").lower()
        for phrase in ("little interest or pleasure", "feeling down, depressed", "i tend to bounce back",
                       "i have felt cheerful", "how would you rate your quality of life"):
            assert phrase not in text, (p.name, phrase)


def test_values_with_sources_from_instruments_md():
    # CORE-10 section 13: alpha .90; norms general population 4.7 (4.8), counselling 19.7 (7.7)
    core = instruments.get("core10")
    assert core.reliability["alpha"] == 0.90
    assert core.norms == {"functional": (4.7, 4.8), "clinical": (19.7, 7.7)}
    assert "norms.functional" in core.sources and "reliability.alpha" in core.sources
    # SWLS section 9: alpha .87, 2-month test-retest .82
    assert dict(instruments.get("swls").reliability) == {"alpha": 0.87, "test_retest": 0.82}
    # PHQ-9 section 5: alpha .89; test-retest unconfirmed -> None
    assert dict(instruments.get("phq9").reliability) == {"alpha": 0.89, "test_retest": None}
    # MSPSS section 11: alpha .88, retest .85; three subscales
    mspss = instruments.get("mspss")
    assert dict(mspss.reliability) == {"alpha": 0.88, "test_retest": 0.85}
    assert dict(mspss.subscales) == {"significant_other": (1, 2, 5, 10), "family": (3, 4, 8, 11),
                                     "friends": (6, 7, 9, 12)}
    # WHOQOL-BREF section 4: domain items and Hawthorne 2006 norms on 0-100
    who = instruments.get("whoqol_bref")
    assert who.subscales["physical"] == (3, 4, 10, 15, 16, 17, 18)
    assert who.subscales["psychological"] == (5, 6, 7, 11, 19, 26)
    assert who.subscales["social"] == (20, 21, 22)
    assert who.subscales["environment"] == (8, 9, 12, 13, 14, 23, 24, 25)
    assert who.subscales["overall_qol"] == (1,) and who.subscales["health_satisfaction"] == (2,)
    assert who.subscale_norms["physical"]["functional"] == (73.5, 18.1)
    assert who.subscale_norms["environment"]["functional"] == (75.1, 13.0)
    # SWEMWBS section 8: clinical sample Shah 2018 baseline 19.28 (3.921)
    assert instruments.get("swemwbs").norms["clinical"] == (19.28, 3.921)


def test_unconfirmed_rules_are_marked_as_conventions():
    for name in ("brs", "who5", "phq9", "gad7", "k10", "k6", "mspss", "cdrisc10"):
        inst = instruments.get(name)
        assert inst.default_missing_rule.convention, name
        assert "missing_rule" in inst.conventions, name
    # CORE-10's prorating rule is official (CORE System Trust), the WHO syntax is official
    assert not instruments.get("core10").default_missing_rule.convention
    assert not instruments.get("whoqol_bref").default_missing_rule.convention
    assert "score" in instruments.get("whoqol_bref").conventions


def test_whoqol_missing_rules_follow_the_who_syntax_and_the_manual_text():
    rules = instruments.get("whoqol_bref").missing_rules
    syntax, manual, literal = rules["whoqol_syntax"], rules["whoqol_manual_text"], rules["whoqol_syntax_literal"]
    # MEAN.6 of 7, MEAN.5 of 6, MEAN.2 of 3, MEAN.6 of 8
    assert dict(syntax.subscale_max_missing) == {"physical_4_20": 1, "psychological_4_20": 1,
                                                 "social_4_20": 1, "environment_4_20": 2}
    assert dict(manual.subscale_max_missing) == {"physical_4_20": 2, "psychological_4_20": 2,
                                                 "social_4_20": 0, "environment_4_20": 2}
    assert syntax.min_answered_total == 21 and manual.min_answered_total == 21
    assert literal.min_answered_total == 22
    assert instruments.get("whoqol_bref").missing_rule == "whoqol_syntax"


def test_k10_us_variant_scores_items_0_to_4():
    us = instruments.get("k10", variant="us")
    assert (us.item_min, us.item_max, us.score_min, us.score_max) == (0, 4, 0, 40)
    assert us.bands == ()  # ABS bands are defined on 10-50 only
    assert us.variant_name == "us"
    assert instruments.get("k10").variant("us") == us
    with pytest.raises(ConfigError, match="has no variant 'uk'; variants: 'us'"):
        instruments.get("k10", variant="uk")


def test_get_unknown_instrument_lists_available_names():
    with pytest.raises(ConfigError, match=r"Unknown instrument 'phq10'; available: brs, cdrisc10"):
        instruments.get("phq10")


def test_get_accepts_an_instrument_and_is_case_insensitive():
    inst = instruments.get("PHQ9")
    assert instruments.get(inst) is inst


def test_top_level_exports():
    assert groupeval.Instrument is Instrument
    assert callable(groupeval.score) and callable(groupeval.reliability)


# --------------------------------------------------------------- user-defined
def test_user_instrument_in_a_few_python_lines_scores():
    mood = Instrument("mood4", n_items=4, item_min=0, item_max=3, reverse=(2,), higher_is_better=False,
                      missing_rule=1)
    df = pd.DataFrame({"member_id": ["a", "b", "c"], "timepoint": "t0",
                       "mood4_1": [3, 1, np.nan], "mood4_2": [0, 2, np.nan], "mood4_3": [2, np.nan, 1],
                       "mood4_4": [1, 1, 1]})
    out = groupeval.score(df, mood)
    # a: 3 + (3-0) + 2 + 1 = 9; b: (1 + 1 + 1) * 4/3 = 4 (prorated); c: 2 missing > 1 allowed
    assert out["score"].tolist()[:2] == [9.0, 4.0]
    assert math.isnan(out["score"].iloc[2])
    assert out["prorated"].tolist() == [False, True, False]
    assert (mood.score_min, mood.score_max) == (0, 12)


def test_register_and_get_a_user_instrument_then_refuse_duplicates():
    mood = Instrument("mood5", n_items=5, item_min=1, item_max=5, method="mean")
    try:
        assert instruments.register(mood) is mood
        assert instruments.get("mood5") is mood
        assert "mood5" in instruments.available()
        with pytest.raises(ConfigError, match="already registered; pass overwrite=True"):
            instruments.register(mood)
        instruments.register(dataclasses.replace(mood, label="Mood 5"), overwrite=True)
        assert instruments.get("mood5").label == "Mood 5"
    finally:
        instruments.unregister("mood5")
    assert "mood5" not in instruments.available()


TOML = '''
name = "hope3"
label = "Hope-3"
n_items = 3
item_min = 1
item_max = 7
reverse = [3]
higher_is_better = true
citation = "Example et al. 2020"

[score]
method = "mean"

[subscales.agency]
items = [1, 2]
method = "mean"

[missing]
default = "one"
[missing.rules.one]
max_missing = 1
subscales = { agency = 1 }
description = "one item may be missing"

[bands]
closed = "left"
levels = [ { lower = 1, label = "low" }, { lower = 4, label = "high" } ]

[reliability]
alpha = 0.8
alpha_source = "made up for the test"

[norms.functional]
mean = 5.0
sd = 1.0
'''


def test_user_instrument_from_toml_text_and_file(tmp_path):
    inst = instruments.from_toml(TOML)
    assert (inst.name, inst.label, inst.n_items, inst.reverse, inst.method) == ("hope3", "Hope-3", 3, (3,), "mean")
    assert inst.subscales == {"agency": (1, 2)}
    assert inst.reliability["alpha"] == 0.8 and inst.sources["reliability.alpha"] == "made up for the test"
    assert inst.norms["functional"] == (5.0, 1.0) and inst.norms["clinical"] is None
    path = tmp_path / "hope3.toml"
    path.write_text(TOML, encoding="utf-8")
    assert instruments.from_toml(path) == inst
    df = pd.DataFrame({"member_id": ["a"], "timepoint": ["t"], "hope3_1": [7], "hope3_2": [np.nan],
                       "hope3_3": [2]})
    out = groupeval.score(df, inst)
    # items 7, -, 8-2=6 -> mean 6.5; agency: item 1 only (1 of 2 missing allowed) = 7
    assert out.loc[0, "score"] == 6.5 and out.loc[0, "agency"] == 7.0
    assert out.loc[0, "band"] == "high" and bool(out.loc[0, "prorated"])


def test_register_accepts_a_toml_path(tmp_path):
    path = tmp_path / "hope3.toml"
    path.write_text(TOML, encoding="utf-8")
    try:
        assert instruments.register(path).name == "hope3"
        assert instruments.get("hope3").n_items == 3
    finally:
        instruments.unregister("hope3")


def test_invalid_toml_definition_names_every_bad_key_at_once():
    bad = TOML.replace('n_items = 3', 'n_items = 3\nitems_min = 1').replace('method = "mean"\n\n[subscales',
                                                                          'method = "median"\n\n[subscales')
    bad = bad.replace("items = [1, 2]", "items = [1, 4]").replace("alpha = 0.8", "alpha = 8")
    with pytest.raises(ConfigError, match=r"Invalid instrument definition 'hope3' in TOML text \(4 problem") as exc:
        instruments.from_toml(bad)
    by_key = {p.column: p for p in exc.value.problems}
    assert set(by_key) == {"items_min", "method", "subscales.agency.items", "reliability.alpha"}
    assert by_key["items_min"].reason == "unknown key"
    assert by_key["method"].value == "median" and "one of 'sum', 'mean', 'none'" in by_key["method"].reason
    assert by_key["subscales.agency.items"].value == [4] and "from 1 to n_items=3" in by_key[
        "subscales.agency.items"].reason
    assert all(p.file == "TOML text" for p in exc.value.problems)


def test_invalid_python_definition_lists_all_problems():
    with pytest.raises(ConfigError) as exc:
        Instrument("Bad name", n_items=3, item_min=5, item_max=1, reverse=(4,), method="avg",
                   reliability={"alpha": 1.5}, norms={"functional": (3.0, 0.0)}, missing_rule="nope")
    err = exc.value
    keys = {p.column for p in err.problems}
    assert keys >= {"name", "item_max", "reverse", "method", "reliability.alpha", "norms.functional",
                    "missing_rule"}
    assert "Invalid instrument definition 'Bad name'" in str(err)


def test_missing_rule_must_allow_fewer_missing_than_items():
    with pytest.raises(ConfigError, match=r"max_missing must be a whole number from 0 to n_items-1=2"):
        Instrument("tiny", n_items=3, item_min=0, item_max=1,
                   missing_rules={"r": MissingRule("r", max_missing=3)}, missing_rule="r")


def test_lookup_table_must_cover_every_raw_sum():
    with pytest.raises(ConfigError, match=r"lookup must map every raw sum 2..4"):
        Instrument("lk", n_items=2, item_min=1, item_max=2, lookup={2: 0.0, 3: 1.0})


def test_not_valid_toml_is_a_config_error():
    with pytest.raises(ConfigError, match="is not valid TOML"):
        instruments.from_toml("name = \n")
    with pytest.raises(ConfigError, match="does not exist"):
        instruments.from_toml("no_such_file.toml")


def test_subscale_shorthand_and_transform_of():
    inst = Instrument("two", n_items=4, item_min=1, item_max=5, method="mean",
                      subscale_specs=(Subscale("a_raw", (1, 2)), Subscale("a", (), transform_of="a_raw",
                                                                          scale=25.0, shift=-25.0)),
                      missing_rule=0)
    assert inst.subscales == {"a_raw": (1, 2), "a": (1, 2)}
    df = pd.DataFrame({"member_id": ["m"], "timepoint": ["t"], "two_1": [5], "two_2": [3], "two_3": [1],
                       "two_4": [1]})
    out = groupeval.score(df, inst)
    assert out.loc[0, "a_raw"] == 4.0 and out.loc[0, "a"] == 75.0


def test_table_summarises_every_instrument():
    t = instruments.table()
    assert t["name"].tolist() == list(NAMES)
    row = t.set_index("name").loc["core10"]
    assert (row["label"], row["reverse"], row["max_missing"], bool(row["missing_rule_is_convention"])) == \
        ("CORE-10", "2,3", 1, False)
    assert t.set_index("name").loc["mspss", "subscales"] == "significant_other,family,friends"


@pytest.mark.parametrize("name", ["whoqol_bref", "swemwbs", "k10"])
def test_instruments_survive_pickle_and_deepcopy(name):
    import copy
    import pickle

    inst = instruments.get(name)
    for clone in (pickle.loads(pickle.dumps(inst)), copy.deepcopy(inst)):
        assert clone == inst and clone is not inst
        assert clone.missing_rules[clone.missing_rule] == inst.default_missing_rule
