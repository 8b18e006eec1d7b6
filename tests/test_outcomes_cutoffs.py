"""Clinical cut-offs in reliable_change(): the instrument's published clinical
(caseness) cut-off, an explicit number, and the warning when Jacobson-Truax
criterion a falls outside the score range.

Sources of truth: hand-computed cases (reliability 0.875 with sd = 4 gives
SE = sqrt(2) and Sdiff = 2 exactly, so RC = change / 2; with sd = 20, Sdiff
= 10), the cut-off values typed from /work/shared/instruments.md (not read
back from the registry), and, for WHO-5, the official rule "raw < 13"
applied to every response pattern groupeval.score can score.
"""
from __future__ import annotations

import dataclasses
import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import groupeval
from groupeval import instruments
from groupeval.base.exceptions import ConfigError, DataQualityWarning
from groupeval.base.instruments import ClinicalCutoff, Instrument
from groupeval.statistics.reliable_change import reliable_change

REF = Path(__file__).parent / "reference"
Z = 1.959963984540054


def _long(pre: dict, post: dict) -> pd.DataFrame:
    ids = list(pre)
    return pd.DataFrame({"member_id": ids * 2, "timepoint": ["baseline"] * len(ids) + ["week_26"] * len(ids),
                         "score": [float(pre[i]) for i in ids] + [float(post[i]) for i in ids]})


def _categories(res) -> dict:
    return dict(zip(res.members["member_id"], res.members["category"].astype(str)))


# ---------------------------------------------------------------------------
# registry values against instruments.md
# ---------------------------------------------------------------------------
# instruments.md: PHQ-9 section 5 ">= 10" [C]; GAD-7 section 6 ">= 10" [C]; K6 section 7 ">= 13 (0-24)" [C];
# CORE-10 section 13 "clinical cut-off 11.0" [C]; WHO-5 section 3 "raw < 13" (official) [C], on the
# percentage scale <= 50 (the literature's value, identical to raw < 13 on attainable scores, see below).
EXPECTED = {"phq9": 10.0, "gad7": 10.0, "k6": 13.0, "core10": 11.0, "who5": 50.0}


@pytest.mark.parametrize("name", instruments.available())
def test_registry_clinical_cutoffs_match_instruments_md(name):
    cc = instruments.get(name).clinical_cutoff
    if name not in EXPECTED:
        # K10 (bands only), BRS, CD-RISC-10, MSPSS, SWEMWBS, SWLS, UCLA-3, WHOQOL-BREF: no cut-off in the document
        assert cc is None
        return
    assert isinstance(cc, ClinicalCutoff)
    assert cc.value == EXPECTED[name]
    assert "[C]" in cc.source and cc.convention is False
    assert instruments.get(name).sources["clinical_cutoff"] == cc.source
    assert instruments.table().set_index("name").loc[name, "clinical_cutoff"] == EXPECTED[name]


def test_k10_has_no_cutoff_in_either_scoring():
    assert instruments.get("k10").clinical_cutoff is None
    assert instruments.get("k10", variant="us").clinical_cutoff is None


def test_who5_cutoff_50_reproduces_the_official_raw_below_13_rule_on_every_scorable_pattern():
    """All 6^5 complete answer patterns and all 5 * 6^4 patterns with one item missing
    (the default rule prorates them): percentage <= 50 exactly when raw < 13."""
    full = np.array(list(itertools.product(range(6), repeat=5)), dtype=float)
    one_missing = []
    for k in range(5):
        x = full[full[:, k] == 0].copy()  # 6^4 patterns of the other items
        x[:, k] = np.nan
        one_missing.append(x)
    items = np.vstack([full, *one_missing])
    df = pd.DataFrame(items, columns=[f"who5_{i}" for i in range(1, 6)])
    df.insert(0, "member_id", [f"m{i}" for i in range(len(df))])
    df.insert(1, "timepoint", "t0")
    out = groupeval.score(df, "who5")
    assert out["score"].notna().all() and len(out) == 6**5 + 5 * 6**4
    cc = instruments.get("who5").clinical_cutoff
    clinical = cc.is_clinical(out["score"], higher_is_better=True)
    official = (out["raw"] < 13).to_numpy()  # WHO scoring guidance, on the raw 0-25 sum
    np.testing.assert_array_equal(clinical, official)
    # the boundary case that rules out 48: a prorated raw 12.5 (percentage 50) is < 13, hence clinical
    assert ((out["raw"] == 12.5) & (out["score"] == 50.0)).any()
    assert not np.array_equal(out["score"].to_numpy() <= 48, official)


def test_core10_cutoff_11_and_criterion_c_classify_every_attainable_score_alike():
    # complete scores are whole numbers; one missing item gives 10 * s / 9
    scores = np.unique(np.r_[np.arange(41.0), 10 * np.arange(37.0) / 9])
    cc = instruments.get("core10").clinical_cutoff
    c = (4.8 * 19.7 + 7.7 * 4.7) / 12.5  # instruments.md 16.1: 10.46
    np.testing.assert_array_equal(cc.is_clinical(scores, higher_is_better=False), scores >= c)


# ---------------------------------------------------------------------------
# PHQ-9 by hand (lower is better, caseness >= 10)
# ---------------------------------------------------------------------------
PHQ_PRE = {"m1": 15, "m2": 15, "m3": 8, "m4": 10, "m5": 12, "m6": 9, "m7": 20, "m8": 14}
PHQ_POST = {"m1": 6, "m2": 10, "m3": 2, "m4": 4, "m5": 9, "m6": 15, "m7": 24, "m8": 9}
# RC = change / 2:  -4.5, -2.5, -3, -3, -1.5, +3, +2, -2.5
PHQ_EXPECTED = {
    "m1": "recovered",     # reliable improvement, 15 (clinical) -> 6 (non-clinical)
    "m2": "improved",      # reliable, but post 10 is still clinical (the cut-off value is clinical)
    "m3": "improved",      # reliable, but pre 8 was not clinical: not "recovered" (J&T rule)
    "m4": "recovered",     # pre exactly 10 is clinical
    "m5": "unchanged",     # crosses 10 but |RC| = 1.5 < 1.96
    "m6": "harmed",        # reliable worsening from non-clinical 9 to clinical 15
    "m7": "deteriorated",  # reliable worsening within the clinical range
    "m8": "recovered",     # 14 -> 9
}


def test_phq9_default_uses_published_caseness_cutoff_by_hand():
    res = reliable_change(_long(PHQ_PRE, PHQ_POST), "phq9", reliability=0.875, sd=4.0)
    assert res.se_measurement == pytest.approx(np.sqrt(2), rel=1e-12)
    assert res.sdiff == pytest.approx(2.0, rel=1e-12)
    assert res.cutoff == "clinical" and res.cutoff_value == 10.0
    assert res.members["rci"].tolist() == pytest.approx([-4.5, -2.5, -3, -3, -1.5, 3, 2, -2.5], rel=1e-12)
    assert _categories(res) == PHQ_EXPECTED
    m = res.members.set_index("member_id")
    assert m.loc["m2", "post_functional"] == False  # noqa: E712  (10 is clinical)
    assert m.loc["m4", "pre_functional"] == False  # noqa: E712
    assert m.loc["m3", "pre_functional"] == True  # noqa: E712
    assert res.recovery_possible is True
    sett = res.settings.set_index("name")["value"]
    assert sett["cutoff"] == "clinical" and sett["cutoff_clinical"] == 10.0
    assert sett["cutoff_reason"].startswith("auto: no clinical and functional norms for PHQ-9")
    assert "Kroenke 2001 [C]" in sett["cutoff_source"]
    assert np.isnan(sett["cutoff_b"]) and np.isnan(sett["cutoff_c"])


def test_explicit_clinical_equals_auto_and_a_is_still_available():
    data = _long(PHQ_PRE, PHQ_POST)
    auto = reliable_change(data, "phq9", reliability=0.875, sd=4.0)
    expl = reliable_change(data, "phq9", reliability=0.875, sd=4.0, cutoff="clinical")
    assert _categories(expl) == _categories(auto) and expl.cutoff_reason == "cutoff='clinical' was asked for"
    a = reliable_change(data, "phq9", reliability=0.875, sd=4.0, cutoff="a")
    x1 = np.array(list(PHQ_PRE.values()), dtype=float)
    assert a.cutoff == "a" and a.cutoff_value == pytest.approx(x1.mean() - 2 * x1.std(ddof=1), rel=1e-12)
    assert a.cutoffs["clinical"] == 10.0


def test_explicit_number_is_a_user_cutoff_by_hand():
    res = reliable_change(_long(PHQ_PRE, PHQ_POST), "phq9", reliability=0.875, sd=4.0, cutoff=12)
    assert (res.cutoff, res.cutoff_value, res.cutoff_source) == ("user", 12.0, "given by the user")
    cats = _categories(res)
    assert cats["m2"] == "recovered"    # 15 -> 10 now crosses 12
    assert cats["m6"] == "harmed"      # 9 -> 15: non-clinical (< 12) to clinical (>= 12)
    assert cats["m5"] == "unchanged"   # 12 -> 9 crosses 12 but is not reliable
    # the whole table by the documented rule
    pre = np.array(list(PHQ_PRE.values()), float)
    post = np.array(list(PHQ_POST.values()), float)
    rc = (post - pre) / 2
    want = np.select([(rc < -Z) & (pre >= 12) & (post < 12), rc < -Z, (rc > Z) & (pre < 12) & (post >= 12), rc > Z],
                     ["recovered", "improved", "harmed", "deteriorated"], "unchanged")
    assert [cats[k] for k in PHQ_PRE] == want.tolist()


def test_recovered_rule_matches_closed_form_on_the_reference_data():
    long = pd.read_csv(REF / "outcomes_input.csv", dtype={"member_id": str, "group_id": str})
    res = reliable_change(long, "phq9")
    m = res.members
    rc = (m["post"] - m["pre"]) / res.sdiff
    recovered = (rc < -Z) & (m["pre"] >= 10) & (m["post"] < 10)
    assert (m["category"] == "recovered").to_numpy().tolist() == recovered.tolist()
    assert res.summary.set_index("category").loc["recovered", "n"] == recovered.sum() > 0


# ---------------------------------------------------------------------------
# WHO-5 by hand (higher is better, clinical <= 50 on the percentage)
# ---------------------------------------------------------------------------
def test_who5_direction_higher_is_better_by_hand():
    pre = {"w1": 40, "w2": 28, "w3": 60, "w4": 48, "w5": 64, "w6": 50, "w7": 52, "w8": 20}
    post = {"w1": 64, "w2": 50, "w3": 84, "w4": 52, "w5": 40, "w6": 72, "w7": 28, "w8": 0}
    res = reliable_change(_long(pre, post), "who5", reliability=0.875, sd=20.0)
    assert res.sdiff == pytest.approx(10.0, rel=1e-12)  # RC = change / 10
    assert res.cutoff == "clinical" and res.cutoff_value == 50.0
    assert _categories(res) == {
        "w1": "recovered",     # +2.4, 40 clinical -> 64 not
        "w2": "improved",      # +2.2, but 50 (raw 12.5 < 13) is still clinical
        "w3": "improved",      # +2.4 from the non-clinical range
        "w4": "unchanged",     # +0.4
        "w5": "harmed",        # -2.4, 64 -> 40
        "w6": "recovered",     # +2.2, pre 50 is clinical
        "w7": "harmed",        # -2.4, 52 (raw 13, not clinical) -> 28
        "w8": "deteriorated",  # -2.0 within the clinical range
    }
    # the same classification with the official rule applied to raw = percentage / 4
    m = res.members
    pre_c, post_c = m["pre"] / 4 < 13, m["post"] / 4 < 13
    assert (~m["pre_functional"] == pre_c).all() and (~m["post_functional"] == post_c).all()


# ---------------------------------------------------------------------------
# criterion a outside the score range
# ---------------------------------------------------------------------------
def test_criterion_a_below_the_phq9_range_warns_that_recovery_cannot_be_assessed():
    no_cut = dataclasses.replace(instruments.get("phq9"), clinical_cutoff=None)
    data = _long({"a": 2, "b": 4, "c": 6, "d": 8, "e": 10}, {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4})
    with pytest.warns(DataQualityWarning, match=r"cut-off 'a' = -0\.3246 .*outside the PHQ-9 score range 0-27: "
                                                r"no possible score is on the non-clinical side"):
        res = reliable_change(data, no_cut, reliability=0.875, sd=4.0)
    assert res.cutoff == "a"
    assert res.cutoff_value == pytest.approx(6 - 2 * np.sqrt(10), rel=1e-12)  # mean 6, SD sqrt(10)
    assert res.recovery_possible is False
    assert res.summary.set_index("category").loc["recovered", "n"] == 0
    assert "auto: no functional norms and no published clinical cut-off for PHQ-9" in res.cutoff_reason
    assert "pre-treatment sample" in res.cutoff_source


def test_criterion_a_above_the_brs_range_warns_for_higher_is_better():
    pre = {"a": 1.5, "b": 2.0, "c": 2.5, "d": 3.0, "e": 4.5}
    post = {k: v + 0.5 for k, v in pre.items()}
    x1 = np.array(list(pre.values()))
    assert x1.mean() + 2 * x1.std(ddof=1) > 5  # a = 5.002 > score_max 5
    with pytest.warns(DataQualityWarning, match=r"outside the BRS score range 1-5"):
        res = reliable_change(_long(pre, post), "brs", reliability=0.8)
    assert res.cutoff == "a" and res.recovery_possible is False


def test_criterion_a_inside_the_range_gives_no_warning():
    no_cut = dataclasses.replace(instruments.get("phq9"), clinical_cutoff=None)
    data = _long({"a": 10, "b": 12, "c": 14, "d": 16, "e": 18}, {"a": 4, "b": 6, "c": 8, "d": 10, "e": 12})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        res = reliable_change(data, no_cut, reliability=0.875, sd=4.0)
    assert res.cutoff == "a" and res.cutoff_value == pytest.approx(14 - 2 * np.sqrt(10), rel=1e-12)
    assert res.recovery_possible is True


def test_a_number_outside_the_range_warns():
    with pytest.warns(DataQualityWarning, match=r"cut-off 'user' = 30 .* no possible score is on the clinical side"):
        res = reliable_change(_long(PHQ_PRE, PHQ_POST), "phq9", reliability=0.875, sd=4.0, cutoff=30)
    assert res.recovery_possible is False


# ---------------------------------------------------------------------------
# choices, errors and other criteria
# ---------------------------------------------------------------------------
def test_norms_take_precedence_core10_auto_stays_criterion_c_and_clinical_is_11():
    data = _long({"a": 25, "b": 18, "c": 12}, {"a": 10, "b": 17, "c": 20})
    auto = reliable_change(data, "core10", reliability="alpha", sd="clinical")
    assert auto.cutoff == "c" and auto.cutoff_reason == "auto: clinical and functional norms exist"
    clin = reliable_change(data, "core10", reliability="alpha", sd="clinical", cutoff="clinical")
    assert clin.cutoff_value == 11.0 and "Barkham 2013 [C]" in clin.cutoff_source
    assert _categories(clin) == _categories(auto) == {"a": "recovered", "b": "unchanged", "c": "deteriorated"}


def test_user_norms_with_both_populations_override_the_published_cutoff():
    res = reliable_change(_long(PHQ_PRE, PHQ_POST), "phq9", reliability=0.875, sd=4.0,
                          norms={"clinical": (14.0, 4.0), "functional": (3.0, 3.5)})
    assert res.cutoff == "c" and res.cutoff_value == pytest.approx((3.5 * 14 + 4 * 3) / 7.5, rel=1e-12)


def test_hageman_arrindell_uses_the_published_value_unshrunk():
    res = reliable_change(_long(PHQ_PRE, PHQ_POST), "phq9", reliability=0.875, sd=4.0, method="ha")
    assert res.cutoff == "clinical" and res.cutoff_value == 10.0


def test_bad_cutoff_arguments_are_config_errors():
    data = _long(PHQ_PRE, PHQ_POST)
    with pytest.raises(ConfigError, match=r"`cutoff` must be one of 'auto', 'a', 'b', 'c', 'clinical'; got 'd'"):
        reliable_change(data, "phq9", cutoff="d")
    with pytest.raises(ConfigError, match=r"`cutoff` must be one of .*; got True"):
        reliable_change(data, "phq9", cutoff=True)
    with pytest.raises(ConfigError, match=r"`cutoff` must be a finite number .*; got nan"):
        reliable_change(data, "phq9", cutoff=float("nan"))
    with pytest.raises(ConfigError, match=r"cutoff='clinical' needs the instrument's published clinical cut-off, "
                                          r"but BRS has none in the registry"):
        reliable_change(_long({"a": 2, "b": 3}, {"a": 4, "b": 4}), "brs", reliability=0.8, cutoff="clinical")


# ---------------------------------------------------------------------------
# user-defined instruments
# ---------------------------------------------------------------------------
def test_user_instrument_cutoff_in_python_and_toml_is_used_by_reliable_change():
    mood = Instrument("mood4", n_items=4, item_min=0, item_max=3, higher_is_better=False, clinical_cutoff=6)
    assert mood.clinical_cutoff == ClinicalCutoff(6.0)
    res = reliable_change(_long({"a": 9, "b": 7}, {"a": 2, "b": 6}), mood, reliability=0.875, sd=1.0)
    # Sdiff = 0.5: a -14 recovered (9 -> 2 crosses 6); b -2 reliable, 6 is clinical -> improved
    assert res.cutoff == "clinical" and _categories(res) == {"a": "recovered", "b": "improved"}
    toml = ('name = "hope3"\nn_items = 3\nitem_min = 1\nitem_max = 7\nhigher_is_better = true\n'
            '[score]\nmethod = "mean"\n'
            '[clinical_cutoff]\nvalue = 3.5\nsource = "made up for the test"\nconvention = true\n')
    hope = instruments.from_toml(toml)
    assert hope.clinical_cutoff == ClinicalCutoff(3.5, "made up for the test", True)
    res = reliable_change(_long({"a": 2.0, "b": 5.0}, {"a": 6.0, "b": 7.0}), hope, reliability=0.875, sd=1.0)
    assert res.cutoff_source.endswith("made up for the test [package convention]")
    assert _categories(res) == {"a": "recovered", "b": "improved"}


def test_invalid_cutoff_definitions_name_every_problem():
    with pytest.raises(ConfigError, match=r"clinical_cutoff\.value.*must lie in \(0, 27\] for a lower-is-better"):
        dataclasses.replace(instruments.get("phq9"), clinical_cutoff=0)
    with pytest.raises(ConfigError, match=r"must lie in \[0, 100\) for a higher-is-better"):
        dataclasses.replace(instruments.get("who5"), clinical_cutoff=100)
    bad = ('name = "x3"\nn_items = 3\nitem_min = 0\nitem_max = 3\n[clinical_cutoff]\nvalue = "ten"\nsorce = "a"\n')
    with pytest.raises(ConfigError, match=r"Invalid instrument definition 'x3' in TOML text \(2 problem") as exc:
        instruments.from_toml(bad)
    assert {p.column for p in exc.value.problems} == {"clinical_cutoff.sorce", "clinical_cutoff.value"}
    with pytest.raises(ConfigError, match=r"no main score \(method='none'\)"):
        dataclasses.replace(instruments.get("whoqol_bref"), clinical_cutoff=50)


def test_a_variant_may_override_the_cutoff_and_an_out_of_range_one_is_refused():
    toml = ('name = "v3"\nn_items = 3\nitem_min = 0\nitem_max = 3\nhigher_is_better = false\n'
            '[clinical_cutoff]\nvalue = 5\n'
            '[variants.wide]\nitem_max = 6\nclinical_cutoff = { value = 10, source = "wide form" }\n'
            '[variants.narrow]\nitem_max = 1\n')
    inst = instruments.from_toml(toml)
    assert inst.clinical_cutoff.value == 5.0
    assert inst.variant("wide").clinical_cutoff == ClinicalCutoff(10.0, "wide form")
    with pytest.raises(ConfigError, match=r"clinical_cutoff\.value.*must lie in \(0, 3\]"):
        inst.variant("narrow")  # score range 0-3 cannot hold the cut-off 5
