"""groupeval.score against hand-computed cases (rules from /work/shared/instruments.md).

Every expected value below is worked out by hand in the comment next to it;
nothing is read back from the registry.  Each instrument's missing-item rule
is tested at its boundary: exactly the allowed number of missing items
(scored, prorated) and one more (not scored).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from groupeval import instruments, score
from groupeval.base.exceptions import ConfigError, ScoringError

NA = np.nan


def frame(name: str, rows: list[list[float]], **extra) -> pd.DataFrame:
    n_items = len(rows[0])
    df = pd.DataFrame(rows, columns=[f"{name}_{i}" for i in range(1, n_items + 1)], dtype=float)
    df.insert(0, "timepoint", "baseline")
    df.insert(0, "member_id", [f"M{i:03d}" for i in range(1, len(rows) + 1)])
    for k, v in extra.items():
        df[k] = v
    return df


def nan_eq(a, b) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, abs=1e-12) for x, y in zip(a, b))


# ------------------------------------------------------------- per instrument
def test_brs_mean_with_items_2_4_6_reversed_by_hand():
    out = score(frame("brs", [
        [5, 1, 4, 2, 5, 1],      # 5, 6-1=5, 4, 6-2=4, 5, 6-1=5 -> 28/6
        [1, 5, 1, 5, 1, 5],      # all recode to 1 -> 1.0
        [3, 3, 3, 3, 3, NA],     # 5 of 6 answered: 15/5 = 3.0, prorated
        [3, 3, 3, NA, 3, NA],    # 4 of 6: below the >= 5 convention
        [4, 2, 4, 2, 4, 1],      # 4,4,4,4,4,5 = 25/6 = 4.1667 -> normal (4.31+ is high)
        [3, 3, 2, 3, 3, 3],      # 3,3,2,3,3,3 = 17/6 = 2.833 -> low
    ]), "brs")
    assert nan_eq(out["score"], [28 / 6, 1.0, 3.0, NA, 25 / 6, 17 / 6])
    assert out["n_answered"].tolist() == [6, 6, 5, 4, 6, 6]
    assert out["prorated"].tolist() == [False, False, True, False, False, False]
    assert out["band"].astype(object).where(out["band"].notna(), None).tolist() == \
        ["high", "low", "normal", None, "normal", "low"]


def test_who5_percentage_is_raw_times_4_with_raw_column():
    out = score(frame("who5", [
        [3, 4, 2, 5, 1],       # raw 15 -> 60, adequate
        [1, 1, 1, 2, 2],       # raw 7 -> 28, <= 28 likely depression
        [2, 2, 3, 2, 3],       # raw 12 -> 48, poor (raw < 13)
        [3, 3, 3, 2, 2],       # raw 13 -> 52, not poor
        [3, 3, NA, 2, 2],      # 1 missing allowed: raw = 10 * 5/4 = 12.5 -> 50, poor (12.5 < 13)
        [3, NA, NA, 2, 2],     # 2 missing: not scored
    ]), "who5")
    assert nan_eq(out["raw"], [15, 7, 12, 13, 12.5, NA])
    assert nan_eq(out["score"], [60, 28, 48, 52, 50, NA])
    assert out["band"].astype(object).tolist()[:5] == ["adequate", "likely_depression", "poor_wellbeing",
                                                       "adequate", "poor_wellbeing"]
    assert out["prorated"].tolist() == [False, False, False, False, True, False]


def test_phq9_sum_bands_item9_flag_and_prorating_by_hand():
    out = score(frame("phq9", [
        [0, 1, 2, 3, 0, 1, 2, 3, 1],       # 13 -> moderate, item 9 = 1 -> flag
        [0] * 9,                           # 0 minimal, no flag
        [3, 3, 3, 3, NA, 3, 3, 3, 0],      # 8 answered, 21 * 9/8 = 23.625 severe
        [3, 3, 3, NA, NA, 3, 3, 3, NA],    # 3 missing: not scored; item 9 missing -> NA flag
        [1, 1, 1, 1, 0, 0, 0, 0, 0],       # 4 minimal
        [1, 1, 1, 1, 1, 0, 0, 0, 0],       # 5 mild
        [2, 2, 2, 2, 1, 1, 0, 0, 0],       # 10 moderate
        [2, 2, 2, 2, 2, 2, 2, 1, 0],       # 15 moderately severe
        [3, 3, 3, 3, 2, 2, 2, 2, 0],       # 20 severe
        [2, 2, 2, 2, 2, 2, 2, 2, NA],      # 1 missing: 16 * 9/8 = 18 moderately severe
        [1, 1, 1, 1, 1, 1, 1, NA, NA],     # 2 missing: above the 1-missing convention
    ]), "phq9")
    assert nan_eq(out["score"], [13, 0, 23.625, NA, 4, 5, 10, 15, 20, 18, NA])
    assert out["band"].astype(object).where(out["band"].notna(), None).tolist() == [
        "moderate", "minimal", "severe", None, "minimal", "mild", "moderate", "moderately_severe", "severe",
        "moderately_severe", None]
    assert out["item9_flag"].tolist()[:4] == [True, False, False, pd.NA]
    assert str(out["item9_flag"].dtype) == "boolean"
    # the selectable 2-missing rule scores the last row: 7 * 9/7 = 9
    alt = score(frame("phq9", [[1, 1, 1, 1, 1, 1, 1, NA, NA]]), "phq9", missing_rule="max_two_missing")
    assert alt["score"].tolist() == [9.0]


def test_gad7_sum_and_boundaries():
    out = score(frame("gad7", [
        [1, 2, 3, 0, 1, 2, 3],      # 12 moderate
        [1, 1, 1, 1, 0, 0, 0],      # 4 minimal
        [3, 3, 3, 3, 3, NA, 0],     # 15 * 7/6 = 17.5 severe (1 missing allowed)
        [3, 3, 3, 3, NA, NA, 0],    # 2 missing: not scored
        [2, 2, 2, 2, 1, 1, 0],      # 10 moderate
        [1, 1, 1, 1, 1, 0, 0],      # 5 mild
    ]), "gad7")
    assert nan_eq(out["score"], [12, 4, 17.5, NA, 10, 5])
    assert out["band"].astype(object).tolist()[:3] == ["moderate", "minimal", "severe"]


def test_k10_australian_default_and_us_variant():
    out = score(frame("k10", [
        [1] * 10,                          # 10 low
        [2] * 10,                          # 20 moderate
        [3] * 10,                          # 30 very high
        [2, 2, 2, 2, 2, 2, 1, 1, 1, 1],    # 16 moderate
        [1, 1, 1, 1, 1, 2, 2, 2, 2, 2],    # 15 low
        [3, 3, 3, 3, 2, 2, 2, 2, 1, 1],    # 22 high
        [3, 3, 3, 3, 3, 3, 3, 3, 3, 2],    # 29 high
        [5] * 8 + [NA, NA],                # 2 missing: 40 * 10/8 = 50
        [5] * 7 + [NA, NA, NA],            # 3 missing: not scored
    ]), "k10")
    assert nan_eq(out["score"], [10, 20, 30, 16, 15, 22, 29, 50, NA])
    assert out["band"].astype(object).tolist()[:7] == ["low", "moderate", "very_high", "moderate", "low",
                                                       "high", "high"]
    us = score(frame("k10", [[0] * 10, [4] * 10, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]]),
               instruments.get("k10", variant="us"))
    assert us["score"].tolist() == [0, 40, 20]
    assert us["band"].isna().all()


def test_k10_zero_on_the_australian_scale_is_an_error_pointing_to_the_us_variant():
    with pytest.raises(ScoringError, match=r"(?s)whole numbers from 1 to 5.*variant='us'"):
        score(frame("k10", [[0] * 10]), "k10")


def test_k6_sum_and_bands():
    out = score(frame("k6", [
        [0, 1, 2, 3, 4, 3],     # 13 serious (>= 13)
        [2, 2, 2, 2, 2, 2],     # 12 moderate
        [1, 1, 1, 1, 0, 0],     # 4 low
        [4, 4, 4, 4, 4, NA],    # 20 * 6/5 = 24 (1 missing allowed)
        [4, 4, 4, 4, NA, NA],   # 2 missing: not scored
    ]), "k6")
    assert nan_eq(out["score"], [13, 12, 4, 24, NA])
    assert out["band"].astype(object).tolist()[:4] == ["serious", "moderate", "low", "serious"]


# instruments.md section 8, raw -> metric conversion table (typed from the document)
SWEMWBS_TABLE = {7: 7.00, 8: 9.51, 9: 11.25, 10: 12.40, 11: 13.33, 12: 14.08, 13: 14.75, 14: 15.32, 15: 15.84,
                 16: 16.36, 17: 16.88, 18: 17.43, 19: 17.98, 20: 18.59, 21: 19.25, 22: 19.98, 23: 20.73,
                 24: 21.54, 25: 22.35, 26: 23.21, 27: 24.11, 28: 25.03, 29: 26.02, 30: 27.03, 31: 28.13,
                 32: 29.31, 33: 30.70, 34: 32.55, 35: 35.00}


def test_swemwbs_every_raw_score_converts_by_the_published_table():
    rows = []
    for raw in range(7, 36):
        extra = raw - 7          # spread the points above 1 over the 7 items
        rows.append([1 + min(4, max(0, extra - 4 * j)) for j in range(7)])
    df = frame("swemwbs", rows)
    assert df.filter(like="swemwbs_").sum(axis=1).tolist() == list(range(7, 36))
    out = score(df, "swemwbs")
    assert out["raw"].tolist() == list(range(7, 36))
    assert out["score"].tolist() == [SWEMWBS_TABLE[r] for r in range(7, 36)]
    assert not out["prorated"].any()


def test_swemwbs_needs_every_item_unless_impute_one_is_chosen():
    df = frame("swemwbs", [
        [5, 5, 5, 5, 5, 4, NA],   # 29 * 7/6 = 33.83 -> 34 -> 32.55
        [1, 1, 1, 2, 2, 2, NA],   # 9 * 7/6 = 10.5 -> rounds half up to 11 -> 13.33
        [3, 3, 3, 3, 3, NA, NA],  # 2 missing: not scored even with impute_one
    ])
    assert score(df, "swemwbs")["score"].isna().all()
    out = score(df, "swemwbs", missing_rule="impute_one")
    assert nan_eq(out["raw"], [34, 11, NA])
    assert nan_eq(out["score"], [32.55, 13.33, NA])
    assert out["prorated"].tolist() == [True, True, False]


def test_swls_sum_bands_and_complete_data_default():
    out = score(frame("swls", [
        [7] * 5,              # 35 extremely satisfied
        [4] * 5,              # 20 neutral
        [4, 4, 4, 4, 5],      # 21 slightly satisfied
        [1] * 5,              # 5 extremely dissatisfied
        [2, 2, 2, 2, 1],      # 9 extremely dissatisfied
        [2] * 5,              # 10 dissatisfied
        [6, 6, 6, 6, 6],      # 30 satisfied
        [7, 7, 7, 7, NA],     # 1 missing: complete data required
    ]), "swls")
    assert nan_eq(out["score"], [35, 20, 21, 5, 9, 10, 30, NA])
    assert out["band"].astype(object).tolist()[:7] == [
        "extremely_satisfied", "neutral", "slightly_satisfied", "extremely_dissatisfied",
        "extremely_dissatisfied", "dissatisfied", "satisfied"]
    alt = score(frame("swls", [[7, 7, 7, 7, NA]]), "swls", missing_rule="max_20pct")
    assert alt["score"].tolist() == [35.0]


def test_ucla3_sum_and_lonely_convention():
    out = score(frame("ucla3", [[1, 2, 3], [1, 2, 2], [1, 1, 1], [3, 3, NA]]), "ucla3")
    assert nan_eq(out["score"], [6, 5, 3, NA])
    assert out["band"].astype(object).tolist()[:3] == ["lonely", "not_lonely", "not_lonely"]


def test_mspss_three_subscale_means_and_total_mean():
    items = [7, 6, 5, 4, 7, 3, 2, 1, 3, 6, 5, 4]
    miss2 = list(items)
    miss2[0] = NA   # item 1 (significant other)
    miss2[2] = NA   # item 3 (family)
    miss3 = list(miss2)
    miss3[5] = NA   # item 6 (friends)
    out = score(frame("mspss", [items, miss2, miss3]), "mspss")
    # SO items 1,2,5,10 = 7,6,7,6 -> 6.5; family 3,4,8,11 = 5,4,1,5 -> 3.75; friends 6,7,9,12 = 3,2,3,4 -> 3.0
    # total 53/12 = 4.4167 -> moderate (3.0-5.0)
    assert nan_eq(out["significant_other"], [6.5, NA, NA])
    assert nan_eq(out["family"], [3.75, NA, NA])
    assert nan_eq(out["friends"], [3.0, 3.0, NA])
    # 2 missing allowed for the total: (53 - 7 - 5)/10 = 4.1; 3 missing: not scored
    assert nan_eq(out["score"], [53 / 12, 4.1, NA])
    assert out["band"].astype(object).tolist()[:2] == ["moderate", "moderate"]
    assert list(out.columns[:7]) == ["member_id", "timepoint", "score", "significant_other", "family",
                                     "friends", "n_answered"]


def test_cdrisc10_sum_without_bands():
    out = score(frame("cdrisc10", [
        [4, 3, 2, 1, 0, 4, 3, 2, 1, 0],   # 20
        [4] * 8 + [NA, NA],               # 32 * 10/8 = 40
        [4] * 7 + [NA] * 3,               # not scored
    ]), "cdrisc10")
    assert nan_eq(out["score"], [20, 40, NA])
    assert out["band"].isna().all()


def test_core10_reverses_items_2_and_3_and_prorates_one_missing():
    out = score(frame("core10", [
        [0, 1, 2, 3, 4, 0, 1, 2, 3, 4],    # 0 + (4-1) + (4-2) + 3 + 4 + 0 + 1 + 2 + 3 + 4 = 22
        [0, 1, 2, 3, 4, 0, 1, 2, 3, NA],   # 18 * 10/9 = 20
        [0, 1, 2, 3, 4, 2, 1, 2, NA, NA],  # 2 missing: not scored
        [1, 4, 4, 1, 1, 1, 1, 1, 1, 1],    # 1+0+0+1*7 = 8 low... item 6 = 1 -> risk flag
        [1, 3, 4, 1, 1, 1, 1, 2, 1, 1],    # 1+1+0+1+1+1+1+2+1+1 = 10 low
        [1, 3, 3, 1, 1, 1, 1, 2, 1, 1],    # 11 mild (clinical cut-off 11)
    ]), "core10")
    assert nan_eq(out["score"], [22, 20, NA, 8, 10, 11])
    assert out["band"].astype(object).where(out["band"].notna(), None).tolist() == [
        "moderate_severe", "moderate_severe", None, "low", "low", "mild"]
    assert out["item6_flag"].tolist() == [False, False, True, True, True, True]


# ------------------------------------------------------------- WHOQOL-BREF
# A worked respondent (answers to Q1..Q26), scored by hand with the WHO SPSS syntax:
#   reverse Q3, Q4, Q26 (6 - x): Q3 2 -> 4, Q4 1 -> 5, Q26 2 -> 4
#   PHYS   = 4 * MEAN(Q3 4, Q4 5, Q10 4, Q15 5, Q16 2, Q17 3, Q18 4) = 4 * 27/7 = 108/7
#            0-100: (108/7 - 4) * 100/16 = 500/7
#   PSYCH  = 4 * MEAN(Q5 3, Q6 4, Q7 3, Q11 3, Q19 4, Q26 4) = 4 * 3.5 = 14 -> 62.5
#   SOCIAL = 4 * MEAN(Q20 3, Q21 2, Q22 4) = 12 -> 50
#   ENVIR  = 4 * MEAN(Q8 4, Q9 3, Q12 2, Q13 4, Q14 3, Q23 4, Q24 3, Q25 5) = 4 * 3.5 = 14 -> 62.5
WORKED = [4, 3, 2, 1, 3, 4, 3, 4, 3, 4, 3, 2, 4, 3, 5, 2, 3, 4, 4, 3, 2, 4, 4, 3, 5, 2]


def whoqol(*missing_sets: tuple[int, ...]) -> pd.DataFrame:
    rows = [list(map(float, WORKED))]
    for missing in missing_sets:
        row = list(map(float, WORKED))
        for q in missing:
            row[q - 1] = NA
        rows.append(row)
    return frame("whoqol_bref", rows)


def test_whoqol_domain_matches_WHO_syntax_by_hand():
    out = score(whoqol(), "whoqol_bref")
    r = out.iloc[0]
    assert r["physical_4_20"] == pytest.approx(108 / 7, abs=1e-12)
    assert r["physical"] == pytest.approx(500 / 7, abs=1e-12)
    assert (r["psychological_4_20"], r["psychological"]) == (14.0, 62.5)
    assert (r["social_4_20"], r["social"]) == (12.0, 50.0)
    assert (r["environment_4_20"], r["environment"]) == (14.0, 62.5)
    assert (r["overall_qol"], r["health_satisfaction"]) == (4.0, 3.0)
    assert math.isnan(r["score"]) and pd.isna(r["band"])
    assert list(out.columns) == [
        "member_id", "timepoint", "score", "physical", "psychological", "social", "environment",
        "physical_4_20", "psychological_4_20", "social_4_20", "environment_4_20", "overall_qol",
        "health_satisfaction", "n_answered", "prorated", "band"]


def test_whoqol_domain_missing_boundaries_WHO_syntax_vs_manual_text():
    df = whoqol(
        (3,),            # physical: 1 of 7 missing -> MEAN.6 ok: 4 * 23/6 -> (92/6 - 4) * 6.25
        (3, 10),         # physical: 2 missing -> syntax NaN; manual text ok: 4 * 19/5 = 15.2 -> 70
        (5, 6),          # psychological: 2 of 6 missing -> syntax NaN; manual 4 * 14/4 = 14 -> 62.5
        (21,),           # social: 1 of 3 missing -> syntax MEAN.2 ok: 4 * 3.5 = 14; manual text NaN
        (20, 21),        # social: 2 missing -> NaN under both
        (8, 9),          # environment: 2 of 8 missing -> both ok: 4 * 21/6 = 14 -> 62.5
        (8, 9, 12),      # environment: 3 missing -> NaN under both
    )
    syn = score(df, "whoqol_bref")
    man = score(df, "whoqol_bref", missing_rule="whoqol_manual_text")
    assert nan_eq(syn["physical"].iloc[1:3], [(92 / 6 - 4) * 6.25, NA])
    assert nan_eq(man["physical"].iloc[1:3], [(92 / 6 - 4) * 6.25, 70.0])
    assert nan_eq([syn["psychological"].iloc[3], man["psychological"].iloc[3]], [NA, 62.5])
    assert nan_eq([syn["social_4_20"].iloc[4], man["social_4_20"].iloc[4]], [14.0, NA])
    assert nan_eq([syn["social"].iloc[5], man["social"].iloc[5]], [NA, NA])
    assert nan_eq([syn["environment"].iloc[6], man["environment"].iloc[6]], [62.5, 62.5])
    assert nan_eq([syn["environment"].iloc[7], man["environment"].iloc[7]], [NA, NA])
    # prorated marks rows where a domain used fewer items than it has
    assert syn["prorated"].tolist() == [False, True, False, False, True, False, True, False]


def test_whoqol_assessment_needs_21_of_26_answered_and_literal_syntax_needs_22():
    # five missing, each within its domain's allowance: 21 answered
    five = (3, 5, 20, 8, 9)
    six = five + (1,)
    df = whoqol(five, six)
    syn = score(df, "whoqol_bref")
    # phys 4*23/6; psych mean(4,3,3,4,4) = 3.6 -> 14.4 -> 65; social mean(2,4) = 3 -> 12 -> 50;
    # env mean(2,4,3,4,3,5) = 3.5 -> 14 -> 62.5
    r = syn.iloc[1]
    assert r["n_answered"] == 21
    assert r["physical"] == pytest.approx((92 / 6 - 4) * 6.25, abs=1e-12)
    assert (r["psychological"], r["social"], r["environment"]) == (pytest.approx(65.0), 50.0, 62.5)
    # 20 answered: the whole assessment is dropped, Q1/Q2 included
    domains = ["physical", "psychological", "social", "environment", "overall_qol", "health_satisfaction"]
    assert syn.iloc[2][domains].isna().all()
    assert score(df, "whoqol_bref", missing_rule="whoqol_manual_text").iloc[2][domains].isna().all()
    literal = score(df, "whoqol_bref", missing_rule="whoqol_syntax_literal")
    assert literal.iloc[1][domains].isna().all()            # SELECT IF (TOTAL > 21) drops 21
    assert literal.iloc[0]["physical"] == pytest.approx(500 / 7)


# ------------------------------------------------------------- behaviour
def test_output_keeps_index_ids_and_carries_group_and_date():
    df = frame("phq9", [[1] * 9, [2] * 9], group_id=["G01", "G02"],
               completed_on=pd.to_datetime(["2025-01-06", "2025-04-01"]))
    df.index = [10, 20]
    out = score(df, "phq9")
    assert list(out.index) == [10, 20]
    assert list(out.columns) == ["member_id", "timepoint", "group_id", "completed_on", "score", "n_answered",
                                 "prorated", "band", "item9_flag"]
    assert out["completed_on"].dtype == "datetime64[ns]"
    assert out["member_id"].tolist() == ["M001", "M002"] and out["group_id"].tolist() == ["G01", "G02"]
    assert out["score"].tolist() == [9.0, 18.0]
    assert out["n_answered"].dtype == np.int64 and out["prorated"].dtype == bool
    assert isinstance(out["band"].dtype, pd.CategoricalDtype) and out["band"].cat.ordered


def test_out_of_range_and_non_whole_values_list_every_offending_cell():
    df = frame("phq9", [[1] * 9, [1] * 9, [1] * 9])
    df = df.astype({"phq9_3": object, "phq9_1": object})
    df.loc[0, "phq9_3"] = 4
    df.loc[2, "phq9_7"] = 1.5
    df.loc[2, "phq9_3"] = -1
    df.loc[1, "phq9_1"] = "two"
    with pytest.raises(ScoringError, match=r"PHQ-9 responses cannot be scored: 4 invalid item value") as exc:
        score(df, "phq9")
    probs = {(p.column, p.value) for p in exc.value.problems}
    assert probs == {("phq9_3", 4), ("phq9_7", 1.5), ("phq9_3", -1), ("phq9_1", "two")}
    msg = str(exc.value)
    assert "member_id M001" in msg and "must be whole numbers from 0 to 3" in msg and "not a number" in msg


def test_problems_carry_the_source_file_and_spreadsheet_row():
    df = frame("brs", [[1] * 6, [1, 1, 9, 1, 1, 1]], _source_file="surveys.csv", _source_row=[2, 3])
    with pytest.raises(ScoringError) as exc:
        score(df, "brs")
    (p,) = exc.value.problems
    assert (p.file, p.row, p.column, p.value) == ("surveys.csv", 3, "brs_3", 9)
    assert "surveys.csv, row 3, column 'brs_3'" in str(exc.value)


def test_blank_strings_are_unanswered_and_numeric_strings_are_read():
    df = frame("ucla3", [[1, 2, 3], [1, 1, 1]]).astype({"ucla3_1": object, "ucla3_2": "string"})
    df.loc[1, "ucla3_1"] = "  "
    df.loc[0, "ucla3_2"] = "2"
    out = score(df, "ucla3")
    assert nan_eq(out["score"], [6.0, NA])
    assert out["n_answered"].tolist() == [3, 2]


def test_nullable_integer_columns_are_accepted():
    df = frame("gad7", [[1] * 7, [2] * 7])
    df[[f"gad7_{i}" for i in range(1, 8)]] = df[[f"gad7_{i}" for i in range(1, 8)]].astype("Int64")
    df.loc[1, "gad7_2"] = pd.NA
    assert nan_eq(score(df, "gad7")["score"], [7.0, 14.0])


def test_missing_item_columns_are_a_clear_error():
    df = frame("phq9", [[1] * 9]).drop(columns=["phq9_4", "phq9_9"])
    with pytest.raises(ScoringError, match=r"lack 2 item column\(s\) of PHQ-9: \['phq9_4', 'phq9_9'\].*items="):
        score(df, "phq9")


def test_items_mapping_for_unconventional_column_names():
    raw = pd.DataFrame({"member_id": ["a"], "timepoint": ["t"], "Q1": [1], "Q2": [2], "Q3": [3]})
    by_number = score(raw, "ucla3", items={1: "Q1", 2: "Q2", 3: "Q3"})
    by_name = score(raw, "ucla3", items={"ucla3_1": "Q1", "ucla3_2": "Q2", "ucla3_3": "Q3"})
    by_list = score(raw, "ucla3", items=["Q1", "Q2", "Q3"])
    assert by_number["score"].tolist() == by_name["score"].tolist() == by_list["score"].tolist() == [6.0]
    with pytest.raises(ConfigError, match=r"items= has keys that are not items of UCLA-3: \[4\]"):
        score(raw, "ucla3", items={4: "Q1"})
    with pytest.raises(ConfigError, match="lists 2 columns but UCLA-3 has 3 items"):
        score(raw, "ucla3", items=["Q1", "Q2"])


def test_subject_and_time_columns_are_configurable_or_checked():
    df = frame("ucla3", [[1, 2, 3]]).rename(columns={"member_id": "pid", "timepoint": "wave"})
    out = score(df, "ucla3", subject="pid", time="wave")
    assert list(out.columns[:2]) == ["pid", "wave"]
    with pytest.raises(ScoringError, match=r"lack the column\(s\) \['member_id', 'timepoint'\]"):
        score(df, "ucla3")
    assert "wave" not in score(df, "ucla3", subject="pid", time=None).columns


def test_unknown_missing_rule_lists_the_rules():
    with pytest.raises(ConfigError, match=r"Unknown missing_rule 'lenient' for PHQ-9; choose one of "
                                          r"'max_20pct', 'max_two_missing', 'complete'"):
        score(frame("phq9", [[1] * 9]), "phq9", missing_rule="lenient")
    with pytest.raises(ConfigError, match=r"missing_rule=9 must be a whole number from 0 to 8"):
        score(frame("phq9", [[1] * 9]), "phq9", missing_rule=9)


def test_integer_missing_rule_and_complete_rule():
    df = frame("phq9", [[1, 1, 1, 1, 1, 1, 1, NA, NA], [1] * 8 + [NA]])
    assert nan_eq(score(df, "phq9", missing_rule=2)["score"], [9.0, 9.0])
    assert nan_eq(score(df, "phq9", missing_rule="complete")["score"], [NA, NA])


def test_responses_must_be_a_dataframe():
    with pytest.raises(ConfigError, match="responses must be a pandas DataFrame, got list"):
        score([[1, 2, 3]], "ucla3")


def test_empty_responses_give_an_empty_frame_with_the_columns():
    out = score(frame("ucla3", [[1, 2, 3]]).iloc[:0], "ucla3")
    assert len(out) == 0 and {"score", "n_answered", "prorated", "band"} <= set(out.columns)


# ------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.just(9)),
              elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, np.nan])))
def test_phq9_equals_an_independent_pandas_prorating(matrix):
    df = frame("phq9", matrix.tolist())
    items = df.filter(like="phq9_")
    answered = items.notna().sum(axis=1)
    expected = (items.mean(axis=1) * 9).where(answered >= 8)
    out = score(df, "phq9")
    assert np.allclose(out["score"], expected, equal_nan=True, rtol=0, atol=1e-12)
    # complete rows are exact integer sums, never floating-point approximations
    complete = answered == 9
    assert (out.loc[complete, "score"] == items[complete].sum(axis=1)).all()


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 20), st.just(26)),
              elements=st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])))
def test_whoqol_domains_stay_in_range_and_equal_transformed_4_20(matrix):
    out = score(frame("whoqol_bref", matrix.tolist()), "whoqol_bref")
    for d in ("physical", "psychological", "social", "environment"):
        v, v4 = out[d].dropna(), out[f"{d}_4_20"].dropna()
        assert ((v >= 0) & (v <= 100)).all() and ((v4 >= 4) & (v4 <= 20)).all()
        assert np.allclose(out[d], (out[f"{d}_4_20"] - 4) * 100 / 16, equal_nan=True)
    assert (out.loc[out["n_answered"] < 21, ["physical", "overall_qol"]].isna()).all().all()
