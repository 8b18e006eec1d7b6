"""narrative.py: every number in a sentence is the library's result, rounded.

The numbers are parsed back out of the sentences and compared with the
result objects' values rounded by :func:`groupeval.reporting.formatting.round_half_up`
(so a hand-typed or wrong number fails).  The bare-table retention path is
checked against lifelines (S(t) at chosen times, median); plain-language
wording against hand-computed fractions; funder mode against the rule "no
count of people below min_cell, and no hidden count recoverable from a
shown total".
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import groupeval
from groupeval import narrative as N
from groupeval.base.exceptions import ConfigError, SchemaError
from groupeval.reporting.formatting import fmt_df, fmt_number, round_half_up

NUM = re.compile(r"(?<![\w\-−])−?(?:\d[\d,]*(?:\.\d+)?|\.\d+)")


def numbers(text: str) -> list[float]:
    """Every number in a sentence, in order (typographic minus understood; 'PHQ-9' is not a number)."""
    return [float(t.replace("−", "-").replace(",", "")) for t in NUM.findall(text)]


def people_counts(text: str) -> list[int]:
    """Whole numbers that count people: drop percentages, CI levels, weeks, timepoints, decimals, df."""
    t = re.sub(r"\d+(?:\.\d+)?%", " ", text)
    t = re.sub(r"\d+(?:\.\d+)? weeks?", " ", t)
    t = re.sub(r"week \d+", " ", t)
    t = re.sub(r"[A-Z][\w-]*-\d+", " ", t)          # instrument labels (PHQ-9, WHO-5)
    t = re.sub(r"t\(\d+\)", " ", t)
    t = re.sub(r"\d[\d,]* groups?", " ", t)        # counts of groups, not people
    t = re.sub(r"CR\d|G − 1|ICC\(1\)", " ", t)      # method names
    t = re.sub(r"than the \d+ needed", " ", t)      # the documented at-risk threshold, not a count
    t = re.sub(r"(?<!\d)\.?\d+\.\d+|(?<![\d.])\.\d+", " ", t)  # decimals and .xxx
    return [int(x.replace(",", "")) for x in re.findall(r"(?<![\w.])\d[\d,]*(?![\w.])", t)]


def r(x, d):
    return round_half_up(float(x), d)


# ---------------------------------------------------------------------------
# fixtures: real results from the statistics layer
# ---------------------------------------------------------------------------
def _scores(n=181, shift=-3.2, seed=3):
    rng = np.random.default_rng(seed)
    pre = rng.normal(11.2, 4, n)
    post = pre + shift + rng.normal(0, 4.5, n)
    gt = np.where(np.arange(n) < n - 9, np.where(np.arange(n) % 2, "12-step", "cancer survivors"),
                  "postpartum depression")
    return pd.DataFrame({"member_id": [f"M{i:04d}" for i in range(n)] * 2,
                         "timepoint": ["baseline"] * n + ["week_26"] * n,
                         "score": np.r_[pre, post], "group_type": np.r_[gt, gt]})


@pytest.fixture(scope="module")
def change_table():
    from groupeval.statistics.change import change

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return change(_scores(), "baseline", "week_26", instrument="phq9")


@pytest.fixture(scope="module")
def rc_result():
    from groupeval.statistics.reliable_change import reliable_change

    return reliable_change(_scores(), "phq9", "baseline", "week_26", reliability=0.84,
                           norms={"clinical": (14.0, 4.0), "functional": (3.0, 3.5)})


@pytest.fixture(scope="module")
def sample_ds():
    from groupeval import sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sample.generate(seed=1)


# ---------------------------------------------------------------------------
# change
# ---------------------------------------------------------------------------
def test_apa_change_sentence_numbers_equal_change_result_rounded(change_table):
    row = change_table.iloc[0]
    text = N.change_sentence(change_table, instrument="phq9")
    assert text.startswith("PHQ-9 scores fell from ")
    expected = [r(row.mean_pre, 1), r(row.sd_pre, 1), r(row.mean_post, 1), r(row.sd_post, 1), 26, row.n,
                r(row.mean_change, 1), 95, r(row.ci_low, 1), r(row.ci_high, 1), row.df, r(row.t, 2)]
    got = numbers(text)
    assert got[:len(expected)] == expected
    assert row.p_value < 0.001 and "p < .001" in text
    assert got[len(expected):] == [0.001, r(row.d_z, 2), 95, r(row.d_z_ci_low, 2), r(row.d_z_ci_high, 2)]


def test_apa_change_sentence_exact_p_and_two_decimals_for_short_scales():
    from groupeval.statistics.change import change

    rng = np.random.default_rng(5)
    n = 40
    pre = rng.normal(3.0, 0.6, n)
    post = pre + 0.12 + rng.normal(0, 0.6, n)
    sc = pd.DataFrame({"member_id": [f"M{i:04d}" for i in range(n)] * 2,
                       "timepoint": ["baseline"] * n + ["week_12"] * n, "score": np.r_[pre, post]})
    row = change(sc, "baseline", "week_12", instrument="brs").iloc[0]
    text = N.change_sentence(row, instrument="brs")   # BRS spans 1-5: two decimals
    assert 0.001 < row.p_value < 0.999
    assert f"p = .{int(r(row.p_value, 3) * 1000):03d}" in text
    got = numbers(text)
    assert got[:4] == [r(row.mean_pre, 2), r(row.sd_pre, 2), r(row.mean_post, 2), r(row.sd_post, 2)]


def test_change_sentences_one_per_group_with_group_lead_and_funder_suppression():
    from groupeval.statistics.change import change

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = change(_scores(), "baseline", "week_26", by="group_type", instrument="phq9")
    texts = N.change_sentences(tab, instrument="phq9")
    assert [t.split(",")[0] for t in texts] == [f"In {g} groups" for g in tab["group_type"]]
    for text, (_, row) in zip(texts, tab.iterrows()):
        assert int(re.search(r"\(n = (\d+)\)", text).group(1)) == row.n
    funder = N.change_sentences(tab, instrument="phq9", audience="funder")
    small = tab["n"] < 11
    assert small.any()
    for text, is_small in zip(funder, small):
        assert ("fewer than 11 members" in text) == is_small
        assert all(c >= 11 for c in people_counts(text))


def test_plain_change_sentence_says_improved_for_a_fall_in_phq9(change_table):
    row = change_table.iloc[0]
    text = N.change_sentence(change_table, instrument="phq9", style="plain")
    # no grouping information: the member-level interval decides (it excludes zero here)
    assert row.ci_high < 0 and np.isnan(row.ci_low_cluster)
    assert text.startswith("Patient Health Questionnaire-9 scores improved between baseline and 26 weeks")
    assert f"they fell by {r(abs(row.mean_change), 1)} points (likely between {r(-row.ci_high, 1)} and " \
           f"{r(-row.ci_low, 1)})" in text
    assert "(lower scores are better)" in text
    assert f"among the {row.n} members" in text


def test_plain_change_sentence_says_changed_little_when_ci_covers_zero():
    row = pd.Series({"pre": "baseline", "post": "week_12", "n": 30, "mean_pre": 10.0, "mean_post": 9.8,
                     "mean_change": -0.2, "ci_low": -1.1, "ci_high": 0.7, "t": -0.45, "df": 29, "p_value": 0.65,
                     "d_z": -0.08, "d_z_ci_low": -0.44, "d_z_ci_high": 0.28, "improved_direction": "lower"})
    text = N.change_sentence(row, instrument="phq9", style="plain")
    assert text == ("Patient Health Questionnaire-9 scores changed little between baseline and 12 weeks among the "
                    "30 members who answered at both times: the average change of −0.2 points could be due to "
                    "chance.")


def test_change_sentence_errors_name_the_fix(change_table):
    with pytest.raises(ConfigError, match="takes one row; got a table of 2 rows"):
        N.change_sentence(pd.concat([change_table, change_table]))
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['d_z'"):
        N.change_sentence(change_table.drop(columns=["d_z"]).iloc[0])
    with pytest.raises(ConfigError, match="`style` must be one of 'apa', 'plain', got 'tabloid'"):
        N.change_sentence(change_table, style="tabloid")


# ---------------------------------------------------------------------------
# retention
# ---------------------------------------------------------------------------
def test_retention_sentence_numbers_equal_retention_summary(sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = groupeval.retention(sample_ds)
    s = res.summary.iloc[0]
    text = N.retention_sentence(res)
    got = numbers(text)
    pct = lambda x: r(100 * x, 0)  # noqa: E731
    # the sentence shows the group-clustered interval (retention() gives it beside Greenwood's)
    expected = [s.n, s.events,
                pct(s.retention_12w), 95, pct(s.retention_12w_ci_low_cluster), pct(s.retention_12w_ci_high_cluster),
                12, pct(s.retention_26w), 95, pct(s.retention_26w_ci_low_cluster),
                pct(s.retention_26w_ci_high_cluster), 26]
    assert got[:len(expected)] == expected
    window = N.data_window(res)
    assert window == (res.members.time_weeks - res.members.entry_weeks).max()
    if s.median_weeks > window:   # reached only by late entrants, beyond the data window: not reported
        assert (f"the median time to dropout was not reached within the data window ({r(window, 0):.0f} weeks)"
                in text)
    else:
        assert got[len(expected):len(expected) + 3] == [r(s.median_weeks, 0), 95, r(s.median_ci_low, 0)]


def test_retention_sentence_from_a_bare_table_matches_lifelines():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(8)
    d = np.ceil(rng.exponential(25, 150)).clip(1, 40)
    e = (rng.random(150) < 0.75) & (d < 40)
    kmf = KaplanMeierFitter().fit(d, e)
    et = kmf.event_table.loc[lambda x: (x.observed + x.censored) > 0]
    ci = kmf.confidence_interval_.loc[et.index]
    table = pd.DataFrame({"time": et.index.to_numpy(float), "at_risk": et.at_risk.to_numpy(),
                          "events": et.observed.to_numpy(), "censored": et.censored.to_numpy(),
                          "retention": kmf.survival_function_.loc[et.index].iloc[:, 0].to_numpy(),
                          "ci_low": ci.iloc[:, 0].to_numpy(), "ci_high": ci.iloc[:, 1].to_numpy()})
    text = N.retention_sentence(table, times=(12, 26))
    got = numbers(text)
    s12, s26 = kmf.survival_function_at_times([12, 26]).to_numpy()
    assert got[0] == 150 and got[1] == int(e.sum())
    assert got[2] == r(100 * s12, 0) and got[7] == r(100 * s26, 0)
    assert got[-1] == r(kmf.median_survival_time_, 0)


def test_plain_retention_sentence_by_hand():
    # 9 members: 3 drop at week 5 (S = 6/9), 3 at week 20 (S = 3/9), 3 censored at week 30
    table = pd.DataFrame({"time": [5.0, 20.0, 30.0], "at_risk": [9, 6, 3], "events": [3, 3, 0],
                          "censored": [0, 0, 3], "retention": [2 / 3, 1 / 3, 1 / 3],
                          "ci_low": [0.3, 0.1, 0.1], "ci_high": [0.9, 0.6, 0.6]})
    assert N.retention_sentence(table, style="plain", min_at_risk=1) == (
        "Two in three members who came at least once (67%, likely between 30% and 90%) were still attending "
        "12 weeks later, and one in three (33%, likely between 10% and 60%) after 26 weeks.")
    assert N.retention_sentence(table, times=(12, 52), style="plain", min_at_risk=1).endswith(
        "and it is too early to say how many were still attending after 52 weeks.")
    apa = N.retention_sentence(table, min_at_risk=1)
    assert apa.endswith("the median time to dropout was 20 weeks.")   # first time with S <= .5
    # with the documented threshold (10 at risk) nothing of these 9 members is an estimate
    default = N.retention_sentence(table)
    assert "is not estimated at 12 weeks or 26 weeks (fewer members were still followed than the 10 needed)" \
        in default
    assert default.endswith("the median time to dropout is not estimated (fewer members were still followed "
                            "when retention fell to half than the 10 needed).")
    assert "%" not in default
    funder = N.retention_sentence(table, audience="funder")
    assert funder == "Retention is not reported: it would rest on fewer than 11 members who came at least once."


def test_retention_sentence_needs_level_for_a_stratified_result(sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = groupeval.retention(sample_ds, by="group_type")
    with pytest.raises(ConfigError, match="stratified by 'group_type'; pass level="):
        N.retention_sentence(res)
    for level, (_, s) in zip(res.levels, res.summary.iterrows()):
        text = N.retention_sentence(res, level=level, audience="funder")
        assert text.startswith(f"In {level} groups, Kaplan–Meier retention of the {s.n} members")
        assert all(c >= 11 for c in people_counts(text))


# ---------------------------------------------------------------------------
# reliable change
# ---------------------------------------------------------------------------
def test_apa_reliable_change_sentence_numbers_equal_summary(rc_result):
    text = N.reliable_change_sentence(rc_result)
    got = numbers(text)
    summ = rc_result.summary
    total = int(summ["n"].sum())
    assert got[0] == total and got[1] == 26
    expected = []
    for _, row in summ.iterrows():
        if row.n > 0:
            expected += [row.n, r(100 * row.share, 1), 95, r(100 * row.share_ci_low, 1),
                         r(100 * row.share_ci_high, 1)]
    tail = [r(rc_result.min_reliable_change, 2), r(rc_result.reliability, 2), r(rc_result.cutoff_value, 2)]
    assert got[2:] == expected + tail


def test_funder_reliable_change_hides_small_and_complementary_categories(rc_result):
    text = N.reliable_change_sentence(rc_result, audience="funder")
    summ = rc_result.summary
    small = summ[(summ.n > 0) & (summ.n < 11)]
    assert len(small)  # the fixture has a small category
    assert all(c >= 11 for c in people_counts(text))
    hidden = text.count("fewer than 11") + text.count("a withheld number")
    assert hidden >= 2   # never exactly one hidden part beside a shown total
    for _, row in small.iterrows():
        assert f" {int(row.n)} (" not in text


def test_plain_reliable_change_sentence_by_hand():
    class RC:
        instrument, pre, post = "phq9", "baseline", "week_26"
        summary = pd.DataFrame({"category": ["recovered", "improved", "unchanged", "deteriorated", "harmed"],
                                "n": [40, 20, 30, 10, 0], "share": [0.4, 0.2, 0.3, 0.1, 0.0],
                                "share_ci_low": [0.3, 0.1, 0.2, 0.05, 0.0],
                                "share_ci_high": [0.5, 0.3, 0.4, 0.2, 0.04]})

    assert N.reliable_change_sentence(RC(), style="plain") == (
        "Of the 100 members who filled in the Patient Health Questionnaire-9 at baseline and 26 weeks, two in "
        "five (40%) improved reliably and moved out of the clinical range, one in five (20%) improved reliably, "
        "three in ten (30%) showed no reliable change, one in ten (10%) got worse and none got worse and moved "
        "into the clinical range.")


# ---------------------------------------------------------------------------
# attendance
# ---------------------------------------------------------------------------
def test_attendance_sentence_by_hand():
    summ = pd.DataFrame({"sessions_offered": [10, 10, 20, 5], "sessions_attended": [5, 10, 15, 0],
                         "attendance_rate": [0.5, 1.0, 0.75, 0.0],
                         "status": ["dropped", "completed", "active", "dropped"]})
    # mean of rates = 2.25 / 4 = 56.25%; pooled = 30 / 45 = 66.67%
    assert N.attendance_sentence(summ) == (
        "The 4 members attended on average 56.3% of the sessions offered to them (pooled rate 66.7%); 1 "
        "completed, 2 dropped out and 1 were still attending at the data cut-off.")
    assert N.attendance_sentence(summ, audience="funder") == "Attendance is not reported: fewer than 11 members."


def test_attendance_sentence_numbers_equal_attendance_summary(sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summ = groupeval.attendance_summary(sample_ds)
    got = numbers(N.attendance_sentence(summ))
    counts = summ["status"].value_counts()
    assert got == [len(summ), r(100 * summ["attendance_rate"].mean(), 1),
                   r(100 * summ["sessions_attended"].sum() / summ["sessions_offered"].sum(), 1),
                   counts["completed"], counts["dropped"], counts["active"]]


# ---------------------------------------------------------------------------
# methods paragraph
# ---------------------------------------------------------------------------
def test_methods_paragraph_names_methods_instruments_rule_versions_and_references(change_table, rc_result):
    import lifelines
    import statsmodels

    from groupeval.base.instruments import get
    from groupeval.statistics.dropout import Dropout

    text = N.methods_paragraph(instruments=["phq9", "who5"], retention=True, change=change_table,
                               reliable_change=rc_result, dropout=Dropout(consecutive_missed=4))
    para, refs = text.split("\n\nReferences\n")
    assert "missing 4 consecutive scheduled sessions" in para
    assert "Kaplan–Meier" in para and "(Kaplan & Meier, 1958)" in para
    assert ("the Patient Health Questionnaire-9 (PHQ-9; Kroenke et al., 2001) and the WHO-5 Well-Being Index "
            "(WHO-5; Topp et al., 2015)") in para
    assert f"groupeval {groupeval.__version__}" in para
    assert f"pandas {pd.__version__}" in para
    assert f"statsmodels {statsmodels.__version__}" in para
    assert f"lifelines {lifelines.__version__}" in para
    assert f"reliability {f'{r(rc_result.reliability, 2):.2f}'.lstrip('0')}" in para
    assert f"at least {r(rc_result.min_reliable_change, 2):.2f} points" in para
    ref_lines = refs.splitlines()
    assert get("phq9").citation in ref_lines and get("who5").citation in ref_lines
    assert any(line.startswith("Jacobson NS, Truax P.") for line in ref_lines)
    assert "fewer than 11 people" not in para
    funder = N.methods_paragraph(instruments=["phq9"], audience="funder", with_references=False)
    assert "counts of fewer than 11 people" in funder and "References" not in funder


def test_methods_paragraph_rejects_unknown_instruments():
    with pytest.raises(ConfigError, match=r"unknown instrument\(s\) \['phq99'\]"):
        N.methods_paragraph(instruments=["phq99"])


@pytest.mark.parametrize("ref, cite", [
    ("Kroenke K, Spitzer RL, Williams JBW. The PHQ-9. J Gen Intern Med 2001;16:606-613.", "Kroenke et al., 2001"),
    ("Kaplan EL, Meier P. Nonparametric estimation. J Am Stat Assoc 1958;53:457-481.", "Kaplan & Meier, 1958"),
    ("Wilson EB. Probable inference. J Am Stat Assoc 1927;22:209-212.", "Wilson, 1927"),
    ("WHOQOL Group. Development of the WHOQOL-BREF. Psychol Med 1998;28:551-558.", "WHOQOL Group, 1998"),
    ("Barkham M, Bewick B, Mullin T, et al. The CORE-10. Counsell Psychother Res 2013;13:3-13.",
     "Barkham et al., 2013"),
])
def test_in_text_citation_by_hand(ref, cite):
    assert N.in_text_citation(ref) == cite


def test_sentences_never_contain_member_ids(change_table, rc_result, sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = groupeval.retention(sample_ds)
        summ = groupeval.attendance_summary(sample_ds)
    texts = [N.change_sentence(change_table, instrument="phq9"), N.reliable_change_sentence(rc_result),
             N.retention_sentence(res), N.attendance_sentence(summ),
             N.methods_paragraph(instruments=["phq9"], retention=res)]
    assert not any(re.search(r"M\d{4}", t) for t in texts)


def test_citation_cff_is_cff_1_2_0_with_the_package_version_and_title():
    from pathlib import Path

    yaml = pytest.importorskip("yaml")  # PyYAML comes with jupyter (a dependency)
    cff = yaml.safe_load((Path(__file__).resolve().parents[1] / "CITATION.cff").read_text(encoding="utf-8"))
    # required keys of the CFF 1.2.0 schema (validated with `cffconvert --validate` 2.0.0)
    assert {"cff-version", "message", "title", "authors"} <= set(cff)
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == groupeval.__version__ == "0.1.0"
    assert cff["authors"] == [{"name": "groupeval developers"}]
    assert cff["title"].split(":")[0] == "groupeval"
    assert cff["title"].split(": ", 1)[1] in N.METHOD_REFERENCES["groupeval"]


def test_reliable_change_sentence_flags_a_cutoff_outside_the_score_range():
    class RC:
        instrument, pre, post, method = "phq9", "baseline", "week_26", "jt"
        min_reliable_change, reliability, cutoff_value = 6.37, 0.89, -2.1
        summary = pd.DataFrame({"category": ["recovered", "improved", "unchanged", "deteriorated", "harmed"],
                                "n": [0, 46, 68, 12, 0], "share": [0, 46 / 126, 68 / 126, 12 / 126, 0],
                                "share_ci_low": [0, .3, .4, .05, 0], "share_ci_high": [.03, .45, .6, .16, .03]})

    text = N.reliable_change_sentence(RC())
    assert "clinical cut-off −2.10, outside the score range 0–27, so no member can cross it" in text


def test_methods_paragraph_reports_a_gee_fallback_of_the_mixed_model():
    class MM:
        method = "gee"
        method_description = "GEE (Gaussian, exchangeable within group, cluster-robust SEs by group)"

    class MM2:
        method = "mixedlm"
        method_description = "linear mixed model (statsmodels MixedLM, REML, lbfgs)"

    text = N.methods_paragraph(mixed_model=MM(), with_references=False)
    assert "because it did not converge, generalised estimating equations" in text
    text = N.methods_paragraph(mixed_model=MM2(), with_references=False)
    assert "restricted maximum likelihood" in text and "lbfgs" in text


# ---------------------------------------------------------------------------
# dose-response and mixed model
# ---------------------------------------------------------------------------
def test_dose_response_sentence_numbers_equal_summary(sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = groupeval.score(sample_ds.responses, "phq9")
        res = groupeval.dose_response(scores, groupeval.attendance_summary(sample_ds), data=sample_ds, itt=False)
    for analysis in ("as_treated", "completers"):
        row = res.summary.query("analysis == @analysis and term == 'exposure_slope'").iloc[0]
        text = N.dose_response_sentence(res, analysis=analysis, instrument="phq9")
        got = numbers(text)
        assert got == [26, r(abs(row.estimate), 2), r(row.estimate, 2), 95, r(row.ci_low, 2), r(row.ci_high, 2),
                       r(row.p_value, 3), row.n, row.n_groups]
        plain = N.dose_response_sentence(res, analysis=analysis, instrument="phq9", style="plain")
        clear = not (row.ci_low <= 0 <= row.ci_high)
        assert ("ended with better PHQ-9 scores" in plain) == (clear and row.estimate < 0)
        assert ("could be due to chance" in plain) == (not clear)
    with pytest.raises(ConfigError, match="no exposure slope for analysis 'itt'; available: as_treated, completers"):
        N.dose_response_sentence(res, analysis="itt")


def _mm():
    class MM:   # the documented shape of MixedModelResult (groupeval.statistics.mixed)
        by = "group_type"
        method = "mixedlm"
        n_members, n_groups = 219, 12
        changes = pd.DataFrame({"group_type": ["12-step"] * 2 + ["postpartum depression"] * 2,
                                "timepoint": ["week_12", "week_26"] * 2, "reference": "baseline",
                                "difference": [-1.374, -3.8451, -0.42, 0.31], "se": [0.5, 0.6, 0.7, 0.8],
                                "ci_low": [-2.35, -5.02, -1.79, -1.26], "ci_high": [-0.39, -2.67, 0.95, 1.88],
                                "p_value": [0.006, 0.00001, 0.55, 0.70]})
    return MM()


def test_mixed_model_sentence_numbers_equal_changes_by_hand():
    mm = _mm()
    text = N.mixed_model_sentence(mm, level="12-step", instrument="phq9")
    # an older result without df: the z inference is named as such
    assert text == ("In 12-step groups, PHQ-9 scores at week 26 were 3.8 points lower than at baseline "
                    "(95% CI [−5.0, −2.7], p < .001, Wald z test (large-sample, ignores the small number of "
                    "groups); linear mixed model of all available scores, 219 members in 12 groups).")
    text = N.mixed_model_sentence(mm, level="12-step", timepoint="week_12", instrument="phq9", digits=2)
    assert numbers(text)[:7] == [12, 12, 1.37, 95, -2.35, -0.39, 0.006]   # "12-step", "week 12", ...
    plain = N.mixed_model_sentence(mm, level="postpartum depression", instrument="phq9", style="plain")
    assert plain.endswith("Patient Health Questionnaire-9 scores at 26 weeks were not clearly different from "
                          "baseline.")
    with pytest.raises(ConfigError, match="the model is by 'group_type'; pass level="):
        N.mixed_model_sentence(mm)


def test_logrank_sentence_numbers_equal_result_logrank(sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = groupeval.retention(sample_ds, by="group_type")
        overall = groupeval.retention(sample_ds)
    lr = res.logrank.iloc[0]
    test = res.test.iloc[0]          # the clustered comparison leads, the member-level log-rank follows
    text = N.logrank_sentence(res)
    assert numbers(text) == [test.df, r(test.statistic, 2), r(test.p_value, 3), test.n_groups,
                             lr.df, r(lr.statistic, 2), r(lr.p_value, 3)]
    assert text.startswith("Retention differed between group types" if test.p_value < 0.05
                           else "Retention did not differ clearly between group types")
    assert "could be due to chance" in N.logrank_sentence(res, style="plain", alpha=min(test.p_value / 2, 0.05))
    with pytest.raises(ConfigError, match="needs a retention result fitted with by="):
        N.logrank_sentence(overall)


def test_compare_groups_and_icc_sentences_numbers_equal_results(sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = groupeval.score(sample_ds.responses, "phq9")
        cg = groupeval.compare_groups(scores, sample_ds)
        ic = groupeval.icc(scores[scores["timepoint"] == "baseline"])
    o = cg.omnibus
    text = N.compare_groups_sentence(cg, instrument="phq9")
    got = numbers(text)
    assert got[:5] == [26, o["df1"], float(fmt_df(o["df2"])), r(o["f"], 2), r(o["p_value"], 3)]
    g = o.get("n_groups", cg.n_clusters)
    assert f"{g} groups)" in text
    for _, m in cg.adjusted_means.iterrows():
        assert (f"{m.level} {fmt_number(m.adjusted_mean, 1)} (95% CI [{fmt_number(m.ci_low, 1)}, "
                f"{fmt_number(m.ci_high, 1)}])") in text
    plain = N.compare_groups_sentence(cg, instrument="phq9", style="plain")
    assert ("could be due to chance" in plain) == (o["p_value"] >= 0.05)
    assert "cluster-robust" not in plain and "F(" not in plain
    row = ic.iloc[0]
    text = N.icc_sentence(ic, instrument="phq9")   # numbers()[0] is the 1 of "ICC(1)"
    assert numbers(text)[1:] == [r(row.icc, 2), 95, r(row.ci_low, 2), r(row.ci_high, 2), row.n_groups, row.n,
                             r(row.design_effect, 2), r(row.mean_group_size, 1)]


def test_compare_groups_sentence_lists_holm_significant_pairs_and_hides_small_levels():
    class CG:
        by, post, correction = "group_type", "week_26", "holm"
        omnibus = {"f": 9.5, "df1": 2, "df2": 11.0, "p_value": 0.004}
        adjusted_means = pd.DataFrame({"level": ["12-step", "peer support", "tiny"],
                                       "adjusted_mean": [8.0, 5.0, 7.0], "se": 1.0, "ci_low": [7.0, 4.0, 5.0],
                                       "ci_high": [9.0, 6.0, 9.0], "n": [40, 35, 6]})
        contrasts = pd.DataFrame({"level_a": ["peer support", "tiny", "tiny"],
                                  "level_b": ["12-step", "12-step", "peer support"],
                                  "difference": [-3.0, -1.0, 2.0], "p_adjusted": [0.003, 0.04, 0.2]})

    text = N.compare_groups_sentence(CG(), instrument="phq9", audience="funder")
    assert "tiny" not in text and "one smaller type not shown" in text
    assert text.endswith("Pairwise differences after Holm correction: peer support vs 12-step −3.0, p = .003.")
    plain = N.compare_groups_sentence(CG(), instrument="phq9", style="plain")
    assert plain.endswith("members of peer support groups ended with the best scores.")   # PHQ-9: lower is better


def test_change_sentence_with_fewer_than_two_pairs_says_so():
    row = pd.Series({"pre": "baseline", "post": "week_12", "n": 1, "mean_pre": 10.0, "mean_post": 9.8,
                     "mean_change": -0.2, "ci_low": np.nan, "ci_high": np.nan, "t": np.nan, "df": np.nan,
                     "p_value": np.nan, "d_z": np.nan, "d_z_ci_low": np.nan, "d_z_ci_high": np.nan})
    assert N.change_sentence(row, instrument="phq9") == (
        "PHQ-9 scores at baseline and week 12 are not reported: only one member answered both times.")
    assert N.change_sentence(row.replace({1: 0}), instrument="phq9").endswith("no members answered both times.")


def test_methods_paragraph_describes_imputation_and_dose_response():
    class Imp:
        pooled = {"m": 20, "fmi": 0.3}

    class DR:
        summary = pd.DataFrame({"analysis": ["as_treated", "completers", "itt"], "term": "exposure_slope"})

    text = N.methods_paragraph(imputation=Imp(), dose_response=DR())
    assert "multiply imputed by chained equations (statsmodels MICE, 20 imputations; van Buuren & " \
           "Groothuis-Oudshoorn, 2011" in text
    assert "(Rubin, 1987)" in text and "Rubin DB. Multiple Imputation for Nonresponse in Surveys" in text
    assert "for all enrolled members (intention to treat)" in text


def test_funder_sentences_on_a_programme_of_small_groups_show_no_count_below_min_cell():
    from groupeval import sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = sample.generate(seed=4, n_groups=8, members_per_group=(4, 9))
        scores = groupeval.score(ds.responses, "phq9")
        ret = groupeval.retention(ds, by="group_type")
        ret1 = groupeval.retention(ds)
        ch = groupeval.change(scores, "baseline", "week_26", by="group_type", dataset=ds, instrument="phq9")
        ch1 = groupeval.change(scores, "baseline", "week_26", instrument="phq9")
        rc = groupeval.reliable_change(scores, "phq9", "baseline", "week_26")
        eng = groupeval.attendance_summary(ds)
    texts = [*N.change_sentences(ch, instrument="phq9", audience="funder"),
             N.change_sentence(ch1, instrument="phq9", audience="funder"),
             N.retention_sentence(ret1, audience="funder"),
             *[N.retention_sentence(ret, level=lv, audience="funder") for lv in ret.levels],
             N.reliable_change_sentence(rc, audience="funder"),
             N.reliable_change_sentence(rc, audience="funder", style="plain"),
             N.attendance_sentence(eng, audience="funder"),
             N.attendance_sentence(eng, audience="funder", style="plain")]
    assert any("fewer than 11" in t for t in texts)   # the small groups did trigger suppression
    for t in texts:
        assert all(c >= 11 for c in people_counts(t) if c != 0), t


def test_change_sentence_reports_the_cluster_robust_ci_from_change():
    import re
    import warnings

    import groupeval as ge
    from groupeval.reporting.formatting import fmt_number

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.sample.generate(seed=3)
        scores = ge.score(ds.responses, "phq9")
        row = ge.change(scores, "baseline", "week_26", instrument="phq9")
    text = N.change_sentence(row, instrument="phq9")
    # the cluster-aware interval leads, with its method; the member-level t-test follows
    m = re.search(r"mean change (\S+), 95% CI \[(\S+), (\S+)\], (?:t\((\S+)\) = \S+, )?p (?:=|<) \S+ "
                  r"\((CR\d) cluster-robust", text)
    assert m, text
    assert m.group(2) == fmt_number(row["ci_low_cluster"].iloc[0], 1)
    assert m.group(3) == fmt_number(row["ci_high_cluster"].iloc[0], 1)
    assert m.group(4) == fmt_number(row["df_cluster"].iloc[0], 1) and m.group(5) == "CR2"
    assert text.index("cluster-robust") < text.index("member-level paired t-test")


# ---------------------------------------------------------------------------
# issue 9.5: sentences lead with the cluster-aware result and never over-claim
# ---------------------------------------------------------------------------
def _change_row(**over):
    """A change() row carrying the CR2 fields of the statistics interface (docs/INTERFACE-stats)."""
    row = {"pre": "baseline", "post": "week_26", "n": 181, "n_pre_only": 93, "mean_pre": 11.2449, "sd_pre": 4.0631,
           "mean_post": 8.0237, "sd_post": 4.4987, "mean_change": -3.2212, "sd_change": 4.7, "ci_low": -3.9101,
           "ci_high": -2.5323, "t": -9.1043, "df": 180.0, "p_value": 1.2e-16, "d_z": -0.6767, "d_z_ci_low": -0.8371,
           "d_z_ci_high": -0.5149, "improved_direction": "lower", "n_groups": 9, "se_cluster": 0.52,
           "ci_low_cluster": -4.4149, "ci_high_cluster": -2.0275, "p_value_cluster": 0.00061, "t_cluster": -6.2131,
           "df_cluster": 6.8349, "cluster_method": "CR2", "cluster_note": ""}
    row.update(over)
    return pd.Series(row)


def test_apa_change_sentence_leads_with_cr2_result_and_its_numbers_equal_the_row():
    row = _change_row()
    text = N.change_sentence(row, instrument="phq9")
    assert "(CR2 cluster-robust, Satterthwaite df, 9 groups)" in text
    assert text.index("CR2") < text.index("member-level paired t-test")
    expected = [r(row.mean_pre, 1), r(row.sd_pre, 1), r(row.mean_post, 1), r(row.sd_post, 1), 26, row.n,
                r(row.mean_change, 1), 95, r(row.ci_low_cluster, 1), r(row.ci_high_cluster, 1),
                r(row.df_cluster, 1), r(row.t_cluster, 2), 0.001, row.n_groups,   # p < .001; 9 groups
                row.df, r(row.t, 2), 0.001, r(row.d_z, 2), 95, r(row.d_z_ci_low, 2), r(row.d_z_ci_high, 2)]
    assert numbers(text) == expected
    # exact p when it is not tiny
    text = N.change_sentence(_change_row(p_value_cluster=0.0384), instrument="phq9")
    assert "t(6.8) = −6.21, p = .038 (CR2" in text


def test_change_sentence_before_cr2_names_cr1_and_omits_the_cluster_t():
    row = _change_row().drop(["t_cluster", "df_cluster", "cluster_method", "cluster_note"])
    text = N.change_sentence(row, instrument="phq9")
    assert "95% CI [−4.4, −2.0], p < .001 (CR1 cluster-robust, G − 1 df, 9 groups)" in text


@pytest.mark.parametrize("seed", range(40))
def test_sentences_say_improved_only_when_the_cluster_ci_excludes_zero(seed):
    rng = np.random.default_rng(seed)
    change = rng.normal(0, 1.5)
    half_member, half_cluster = rng.uniform(0.2, 1.5), rng.uniform(0.2, 4.0)
    lo_c, hi_c = change - half_cluster, change + half_cluster
    row = _change_row(mean_change=change, mean_post=11.2449 + change, ci_low=change - half_member,
                      ci_high=change + half_member, ci_low_cluster=lo_c, ci_high_cluster=hi_c,
                      t=change / half_member * 2, t_cluster=change / half_cluster * 2.4)
    plain = N.change_sentence(row, instrument="phq9", style="plain")
    apa = N.change_sentence(row, instrument="phq9")
    excludes = not (lo_c <= 0 <= hi_c)
    assert ("improved" in plain) == (excludes and change < 0)     # PHQ-9: lower is better
    assert ("worsened" in plain) == (excludes and change > 0)
    assert ("could be due to chance" in plain) == (not excludes)
    assert "improved" not in apa and "effect" not in apa


def test_member_ci_excluding_zero_does_not_make_a_claim_when_the_cluster_ci_spans_zero():
    row = _change_row(ci_low_cluster=-6.1, ci_high_cluster=0.4, p_value_cluster=0.071)
    assert row.ci_high < 0   # the member-level interval alone would say "improved"
    plain = N.change_sentence(row, instrument="phq9", style="plain")
    assert "changed little" in plain and "improved" not in plain
    # undefined cluster interval with 5 groups: no claim either way, and no numbers of a test
    row = _change_row(ci_low_cluster=np.nan, ci_high_cluster=np.nan, p_value_cluster=np.nan, t_cluster=np.nan,
                      df_cluster=np.nan, n_groups=5, cluster_note="fewer groups than parameters")
    plain = N.change_sentence(row, instrument="phq9", style="plain")
    assert "improved" not in plain and "could not be worked out" in plain
    apa = N.change_sentence(row, instrument="phq9")
    assert "no interval allowing for members clustered in groups could be computed (fewer groups than " \
           "parameters)" in apa


def test_undefined_change_results_give_sentences_without_infinities():
    # every member changed by the same amount: t = -inf in numpy, no variance between groups either
    row = _change_row(mean_change=-2.0, sd_change=0.0, ci_low=-2.0, ci_high=-2.0, t=-np.inf, df=2.0,
                      p_value=0.0, d_z=-np.inf, d_z_ci_low=np.nan, d_z_ci_high=np.nan, n=3, n_groups=3,
                      ci_low_cluster=np.nan, ci_high_cluster=np.nan, p_value_cluster=np.nan, t_cluster=np.nan,
                      df_cluster=np.nan, cluster_note="every change is equal: no variance")
    for style in ("apa", "plain"):
        text = N.change_sentence(row, instrument="phq9", style=style)
        assert not re.search(r"∞|inf|nan|None|n/a", text), text
    apa = N.change_sentence(row, instrument="phq9")
    assert "no t-test (every member's score changed by the same amount)" in apa
    assert "t(2)" not in apa and "d_z" not in apa


def test_one_group_uses_the_member_level_interval_and_says_why():
    row = _change_row(n_groups=1, ci_low_cluster=np.nan, ci_high_cluster=np.nan, p_value_cluster=np.nan,
                      t_cluster=np.nan, df_cluster=np.nan, cluster_note="one group: no between-group variance")
    apa = N.change_sentence(row, instrument="phq9")
    assert "(member-level paired t-test; one group: no between-group variance, so the result describes these " \
           "members only)" in apa
    assert N.change_sentence(row, instrument="phq9", style="plain").startswith(
        "Patient Health Questionnaire-9 scores improved")


def test_change_caveat_describes_change_not_effect_completers_and_regression_to_the_mean():
    row = _change_row()
    apa = N.change_caveat(row)
    assert apa == ("Uncontrolled pre–post design: the change cannot be attributed to the groups; members with a "
                   "baseline score only (93) are not included (completers-only analysis); part of it may be "
                   "regression to the mean.")
    assert "93" not in N.change_caveat(row, audience="funder")
    plain = N.change_sentence(row, instrument="phq9", style="plain", caveats=True)
    assert plain.endswith("There was no comparison group, so this shows how scores changed, not what the groups "
                          "caused; the 93 members who answered only at the start are not counted; scores that "
                          "start high or low also tend to move toward the average on their own.")


def test_plain_sentences_use_full_names_and_timepoint_labels_without_jargon():
    row = _change_row()
    plain = N.change_sentence(row, instrument="brs", style="plain", timepoints={"week_26": "6 months"}, digits=1)
    assert plain.startswith("Brief Resilience Scale scores ") and "baseline and 6 months" in plain
    for jargon in ("d_z", "cluster-robust", "CR2", "Satterthwaite", "week_26", "t(", "p ="):
        assert jargon not in plain
    apa = N.change_sentence(row, instrument="brs", timepoints={"week_26": "6 months"})
    assert apa.startswith("BRS scores ") and "at 6 months" in apa


@pytest.mark.parametrize("tp, label", [("week_26", "26 weeks"), ("week_1", "1 week"), ("week_0", "the start"),
                                       ("month_6", "6 months"), ("m3", "3 months"), ("year_1", "1 year"),
                                       ("baseline", "baseline"), ("follow_up", "follow-up"),
                                       ("week_12.5", "12.5 weeks"), ("exit_survey", "exit survey")])
def test_timepoint_label_derives_how_people_write_timepoints(tp, label):
    assert N.timepoint_label(tp) == label


def test_timepoint_label_mapping_and_intervals_in_words():
    assert N.timepoint_label("week_26", {"week_26": "6 months"}) == "6 months"
    assert N.fmt_ci_words(0.4149, 0.5797, percent=True) == "between 41% and 58%"
    assert N.fmt_ci_words(2.03, 4.41, digits=1, unit="points") == "between 2.0 and 4.4 points"
    assert N.fmt_ci_words(np.nan, 0.5) == ""
    assert N.fmt_share(0.5349) == "53%" == groupeval.formatting.fmt_percent(0.5349)
    assert N.category_label("harmed") == "Got worse, into the clinical range"
    assert N.category_label("deteriorated") == "Got worse" and N.category_label("deteriorated", "apa") == \
        "Deteriorated"


# ---------------------------------------------------------------------------
# retention: one rule for the sentence and the table
# ---------------------------------------------------------------------------
def _km(times, at_risk, events, censored, cluster=False):
    s = np.cumprod(1 - np.asarray(events, float) / np.asarray(at_risk, float))
    t = pd.DataFrame({"time": np.asarray(times, float), "at_risk": at_risk, "events": events,
                      "censored": censored, "retention": s, "ci_low": s * 0.85, "ci_high": np.minimum(1, s * 1.1)})
    if cluster:
        t["ci_low_cluster"] = s * 0.75
        t["ci_high_cluster"] = np.minimum(1, s * 1.15)
    return t


def test_retention_estimates_rule_beyond_follow_up_and_few_at_risk():
    table = _km([4, 10, 18, 24], [60, 50, 30, 8], [5, 10, 12, 2], [5, 8, 10, 6])
    est = N.retention_estimates(table, (2, 12, 24, 30))
    assert est["estimated"].tolist() == [True, True, False, False]
    assert est["reason"].tolist() == ["", "", "fewer members were still followed than the 10 needed",
                                      "after the last follow-up (24 weeks)"]
    assert est["at_risk"].tolist() == [60, 30, 8, 0]
    np.testing.assert_allclose(est["retention"], [1.0, table.retention[1], table.retention[3], table.retention[3]])
    funder = N.retention_estimates(table, (12,), min_cell=35)
    assert funder["estimated"].tolist() == [True] and funder["shown"].tolist() == [False]
    assert funder["reason"].tolist() == ["too few members were still followed to report"]


def test_retention_sentence_and_estimates_agree_on_what_is_reported(sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = groupeval.retention(sample_ds)
    times = (12, 26, 40, 200)
    est = N.retention_estimates(res, times)
    assert est["estimated"].tolist()[-1] is False
    text = N.retention_sentence(res, times=times)
    for _, row in est.iterrows():
        lo, hi = (row.ci_low_cluster, row.ci_high_cluster) if row.ci_method == "group-clustered" else \
            (row.ci_low, row.ci_high)
        shown = f"{N.fmt_share(row.retention)} (95% CI [{N.fmt_share(lo)}, {N.fmt_share(hi)}]) " \
                f"at {groupeval.formatting.fmt_weeks(row.time)}"
        assert (shown in text) == bool(row.shown), (shown, text)
    assert f"200 weeks (beyond the data window ({r(N.data_window(res), 0):.0f} weeks))" in text


def test_retention_sentence_prefers_the_group_clustered_ci():
    table = _km([4, 10, 18, 24], [60, 50, 30, 25], [5, 10, 12, 2], [5, 8, 10, 6], cluster=True)
    text = N.retention_sentence(table, times=(12,))
    s12 = table.retention[1]
    assert numbers(text)[2:7] == [r(100 * s12, 0), 95, r(100 * s12 * 0.75, 0), r(100 * s12 * 1.15, 0), 12]
    assert text.endswith("the confidence intervals allow for members clustered in groups.")
    plain = N.retention_sentence(table, times=(12,), style="plain")
    assert f"likely between {r(100 * s12 * 0.75, 0):.0f}% and {r(100 * s12 * 1.15, 0):.0f}%" in plain


def test_median_not_estimated_with_few_at_risk_or_a_statistics_reason():
    table = _km([4, 10, 18, 24], [60, 50, 12, 6], [15, 10, 10, 2], [0, 28, 0, 4])
    med = N.median_estimate(table)
    assert med["median"] == 18 and med["estimated"] and med["at_risk"] == 12
    med = N.median_estimate(table, min_at_risk=13)
    assert not med["estimated"] and med["reason"] == ("fewer members were still followed when retention fell "
                                                      "to half than the 13 needed")

    class Res:   # a RetentionResult whose statistics already withheld the median
        by = None
        table = _km([4, 10, 18, 24], [60, 50, 12, 6], [15, 10, 10, 2], [0, 28, 0, 4])
        summary = pd.DataFrame({"n": [60], "events": [37], "median_weeks": [np.nan], "median_ci_low": [np.nan],
                                "median_ci_high": [np.nan], "median_reason": ["7 members at risk at the median"]})

    text = N.retention_sentence(Res(), times=(4,))
    assert text.endswith("the median time to dropout is not estimated (7 members at risk at the median).")


def test_retention_sentence_on_an_empty_curve_says_so():
    empty = _km([], [], [], [])
    assert N.retention_sentence(empty) == "Retention is not reported: no member has attended a session yet."


# ---------------------------------------------------------------------------
# comparisons: clustered test first, no number when there is no valid test
# ---------------------------------------------------------------------------
class _RetBy:
    by = "group_type"
    logrank = pd.DataFrame({"statistic": [12.3149], "df": [3], "p_value": [0.0064]})
    test = {"method": "robust score test, clustered by group", "statistic": 1.2049, "df": 3.0, "df_denom": 8.0,
            "p_value": 0.3686, "n_groups": 12, "valid": True, "reason": ""}


def test_retention_comparison_leads_with_the_clustered_test():
    res = _RetBy()
    text = N.retention_comparison_sentence(res)
    assert text == ("Retention did not differ clearly between group types (robust score test, clustered by group, "
                    "F(3, 8) = 1.20, p = .369, 12 groups); the member-level log-rank χ²(3) = 12.31, p = .006 is "
                    "secondary, as it ignores the grouping.")
    assert N.logrank_sentence(res) == text
    assert "could be due to chance" in N.retention_comparison_sentence(res, style="plain")


def test_retention_comparison_without_a_valid_test_prints_no_number():
    res = _RetBy()
    res.test = {**_RetBy.test, "valid": False, "statistic": np.nan, "p_value": np.nan,
                "reason": "one group per group type: no between-group comparison can be made"}
    text = N.retention_comparison_sentence(res)
    assert text == ("Retention is not compared between group types: one group per group type: no between-group "
                    "comparison can be made.")
    assert not re.search(r"\d", text)
    plain = N.retention_comparison_sentence(res, style="plain")
    assert not re.search(r"\d", plain) and "cannot test" in plain


def test_retention_comparison_of_an_older_result_labels_the_log_rank_as_member_level():
    class Old:
        by = "group_type"
        logrank = _RetBy.logrank

    text = N.retention_comparison_sentence(Old())
    assert text.endswith("(member-level test: it does not allow for members clustered in groups).")
    plain = N.retention_comparison_sentence(Old(), style="plain")
    assert "may be due to chance" in plain and "different lengths" in plain


def _cg(**omni):
    class CG:
        by, post, correction, n_clusters = "group_type", "week_26", "holm", 12
        omnibus = {"f": 1.2311, "df1": 3, "df2": 4.2188, "p_value": 0.3162, "test": "HTZ", "n_groups": 12,
                   "vcov_type": "CR2", "valid": True, "reason": "", **omni}
        adjusted_means = pd.DataFrame({"level": ["12-step", "peer support", "online"], "adjusted_mean": [8.0, 5.0, 7.0],
                                       "se": 1.0, "ci_low": [7.0, 4.0, 5.0], "ci_high": [9.0, 6.0, 9.0],
                                       "n": [40, 35, 30], "n_groups": [4, 4, 4]})
        contrasts = pd.DataFrame({"level_a": ["peer support"], "level_b": ["12-step"], "difference": [-3.0],
                                  "p_adjusted": [0.003], "df": [5.1]})
    return CG()


def test_compare_groups_sentence_reports_htz_with_its_df_and_groups():
    text = N.compare_groups_sentence(_cg(), instrument="phq9")
    assert text.startswith("Adjusted for baseline, PHQ-9 scores at week 26 did not differ clearly between group "
                           "types (F(3, 4.2) = 1.23, p = .316; HTZ Wald test, CR2 cluster-robust, 12 groups); ")
    assert "Pairwise" not in text    # no pairs are listed when the omnibus test is not significant
    few = _cg()
    few.adjusted_means = few.adjusted_means.assign(n_groups=[1, 2, 9])
    assert "some group types have fewer than 3 groups, so this comparison is imprecise" in \
        N.compare_groups_sentence(few, instrument="phq9")


def test_compare_groups_without_a_valid_test_prints_no_number():
    cg = _cg(valid=False, f=np.nan, p_value=np.nan, df2=np.nan, reason="one group per level: no test exists")
    text = N.compare_groups_sentence(cg, instrument="phq9")
    assert text == "Adjusted PHQ-9 scores at week 26 are not compared between group types: one group per level: no " \
                   "test exists."
    plain = N.compare_groups_sentence(cg, instrument="phq9", style="plain")
    assert "cannot test" in plain
    for t in (text.replace("PHQ-9", "").replace("week 26", ""), plain.replace("Questionnaire-9", "").replace(
            "26 weeks", "")):
        assert not re.search(r"\d", t), t


def test_mixed_model_sentence_reports_satterthwaite_t_and_never_raises_on_nan():
    mm = _mm()
    mm.changes = mm.changes.assign(df=[9.41, 8.02, 7.7, 7.9], t=[-2.81, -6.412, -0.6, 0.39],
                                   df_method="Satterthwaite")
    text = N.mixed_model_sentence(mm, level="12-step", instrument="phq9")
    assert "(95% CI [−5.0, −2.7], t(8.0) = −6.41, p < .001, Satterthwaite df; linear mixed model" in text
    nan = _mm()
    nan.changes = nan.changes.assign(difference=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan)
    nan.notes = ["2 members: the model is not identified"]
    for style in ("apa", "plain"):
        text = N.mixed_model_sentence(nan, level="12-step", instrument="phq9", style=style)
        assert "could not estimate the change" in text and not re.search(r"∞|nan|n/a", text)
    unconv = _mm()
    unconv.converged = False
    assert "did not converge" in N.mixed_model_sentence(unconv, level="12-step", instrument="phq9")


def test_mixed_model_sentence_on_two_members_does_not_raise():
    sc = pd.DataFrame({"member_id": ["a", "b", "a", "b"], "timepoint": ["baseline", "baseline", "week_26", "week_26"],
                       "score": [10.0, 12, 8, 9], "group_id": "G1"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            mm = groupeval.mixed_model(sc)
        except groupeval.GroupevalError:   # a statistics layer that refuses the fit is fine too
            return
    text = N.mixed_model_sentence(mm, instrument="phq9")
    assert "1 group" in text and "1 groups" not in text


def test_icc_sentence_on_an_undefined_icc_has_no_numbers():
    ic = pd.DataFrame({"timepoint": ["baseline"], "icc": [np.nan], "ci_low": [np.nan], "ci_high": [np.nan],
                       "n_groups": [1], "n": [9], "mean_group_size": [9.0], "design_effect": [np.nan],
                       "note": ["one group: no between-group variance"]})
    assert N.icc_sentence(ic, instrument="phq9") == ("At baseline, the intraclass correlation of PHQ-9 scores "
                                                    "within groups could not be estimated (one group: no "
                                                    "between-group variance).")


# ---------------------------------------------------------------------------
# methods paragraph: every method used, each with its reference
# ---------------------------------------------------------------------------
def test_every_method_key_has_its_references():
    for key, m in N.METHODS.items():
        for ref in m.refs:
            assert ref in N.METHOD_REFERENCES, (key, ref)
    wanted = {"bell_mccaffrey": "Bell & McCaffrey, 2002", "pustejovsky_tipton": "Pustejovsky & Tipton, 2018",
              "satterthwaite": "Satterthwaite, 1946", "kuznetsova": "Kuznetsova et al., 2017",
              "kenward_roger": "Kenward & Roger, 1997", "bates": "Bates et al., 2015", "holm": "Holm, 1979",
              "benjamini_hochberg": "Benjamini & Hochberg, 1995", "kaplan_meier": "Kaplan & Meier, 1958",
              "greenwood": "Greenwood, 1926", "lin_wei": "Lin & Wei, 1989", "jacobson_truax": "Jacobson & Truax, 1991",
              "van_buuren": "van Buuren & Groothuis-Oudshoorn, 2011", "rubin": "Rubin, 1987"}
    for key, cite in wanted.items():
        assert N.in_text_citation(N.METHOD_REFERENCES[key]) == cite


def test_methods_paragraph_lists_exactly_the_declared_methods_with_references():
    class Declared:
        def __init__(self, methods, **kw):
            self.methods = methods
            self.__dict__.update(kw)

    results = {"change": Declared(("paired_t", "d_z", "cr2", "satterthwaite")),
               "compare_groups": Declared(("ancova", "cr2", "satterthwaite", "htz", "holm"), by="group_type"),
               "retention": Declared(("kaplan_meier", "greenwood", "km_cluster_variance", "robust_score_logrank",
                                      "logrank"), dropout=None),
               "mixed_model": Declared(("lmm_reml", "satterthwaite_lmm")),
               "imputation": Declared(("mice", "rubin"), pooled={"m": 20}),
               "reliable_change": Declared(("jacobson_truax", "wilson"))}
    text = N.methods_paragraph(**results, methods=("kenward_roger",))
    para, refs = text.split("\n\nReferences\n")
    ref_lines = refs.splitlines()
    used = set(N.methods_used(**results)) | {"kenward_roger"}
    for key in used:
        for ref in N.METHODS[key].refs:
            assert N.reference_text(ref) in ref_lines, key
            assert N.in_text_citation(N.reference_text(ref)) in para, key
    for name in ("CR2 (bias-reduced linearisation)", "HTZ small-sample Wald test", "Holm's correction",
                 "robust score (log-rank) test", "Kenward–Roger", "Satterthwaite degrees of freedom"):
        assert name in para
    assert "Wilcoxon" not in para and "CR1" not in para     # not declared, not named
    assert "not an effect of the groups" in para and "regression to the mean (Barnett et al., 2005)" in para


def test_methods_paragraph_infers_methods_of_real_results(sample_ds, change_table, rc_result):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = groupeval.score(sample_ds.responses, "phq9")
        ch = groupeval.change(scores, "baseline", "week_26", data=sample_ds, instrument="phq9")
        cg = groupeval.compare_groups(scores, sample_ds)
        mm = groupeval.mixed_model(scores, data=sample_ds)
        ret = groupeval.retention(sample_ds, by="group_type")
    text = N.methods_paragraph(instruments=["phq9"], retention=ret, change=ch, reliable_change=rc_result,
                               compare_groups=cg, mixed_model=mm)
    para, refs = text.split("\n\nReferences\n")
    for cite in ("Jacobson & Truax, 1991", "Holm, 1979", "Vickers & Altman, 2001", "Kaplan & Meier, 1958",
                 "Greenwood, 1926", "Mantel, 1966", "Wilson, 1927"):
        assert cite in para, cite
    assert "analysis of covariance" in para and "Holm's correction" in para
    keys = N.result_methods(ch, "change")
    assert "cr1" in keys or "cr2" in keys
    assert ("CR1 cluster-robust variance" in para) == ("cr1" in keys)
    if "z" in mm.fixed.columns and "df" not in mm.fixed.columns:   # before Satterthwaite: the z inference is named
        assert "Wald z tests" in para


# ---------------------------------------------------------------------------
# board summary (issue 11.5)
# ---------------------------------------------------------------------------
def test_board_summary_is_plain_and_agrees_with_the_estimates(sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = groupeval.score(sample_ds.responses, "phq9")
        ch = groupeval.change(scores, "baseline", "week_26", data=sample_ds, instrument="phq9")
        rc = groupeval.reliable_change(scores, "phq9", "baseline", "week_26")
        ret = groupeval.retention(sample_ds)
        eng = groupeval.attendance_summary(sample_ds)
    paras = N.board_summary(engagement=eng, retention=ret, change={"phq9": ch}, reliable_change={"phq9": rc},
                            timepoints={"week_26": "6 months"})
    text = " ".join(paras)
    assert len(paras) == 3
    assert "Patient Health Questionnaire-9" in text and "6 months" in text
    for jargon in ("d_z", "cluster-robust", "CR1", "CR2", "week_26", "week 26", "harmed", "deteriorated", "t(",
                   "p =", "p <", "Kaplan", "95% CI"):
        assert jargon not in text, jargon
    est = N.retention_estimates(ret, (12, 26))
    for _, row in est[est.shown].iterrows():   # the same formatting function as a table's share column
        lo, hi = (row.ci_low_cluster, row.ci_high_cluster) if row.ci_method == "group-clustered" else \
            (row.ci_low, row.ci_high)
        assert re.search(rf"{N.fmt_share(row.retention)}(?:, | \(| of the members who came at least once \()likely "
                         rf"between {N.fmt_share(lo)} and {N.fmt_share(hi)}\)", text), text
    assert "no comparison group" in paras[-1] and "12 groups" in paras[-1]
    funder = N.board_summary(engagement=eng, retention=ret, change={"phq9": ch}, reliable_change={"phq9": rc},
                             audience="funder")
    assert all(c >= 11 for p in funder for c in people_counts(p) if c != 0)


def test_board_summary_with_nothing_says_so():
    paras = N.board_summary()
    assert paras[0].startswith("There are no results to summarise yet")


@pytest.mark.parametrize("share, words", [(2 / 3, "two in three"), (0.5, "half"), (0.14, ""), (0.64, ""),
                                          (0.78, "about four in five"), (0.02, "fewer than one in twenty"),
                                          (0.0, "none"), (1.0, "all")])
def test_share_words_only_when_the_fraction_is_close_to_the_percentage(share, words):
    assert N.share_words(share) == words


def test_board_summary_ignores_a_label_column_of_the_overall_row():
    row = _change_row().to_frame().T.assign(group_type="All members")
    paras = N.board_summary(change={"phq9": row})
    assert paras[0].startswith("Patient Health Questionnaire-9 scores improved") and "All members" not in paras[0]
    with pytest.raises(ConfigError, match="pass the programme-wide row"):
        N.board_summary(change={"phq9": pd.concat([row, row])})


def test_no_sentence_prints_nan_inf_or_none_on_degenerate_results():
    nan_row = _change_row(**{c: np.nan for c in ("ci_low", "ci_high", "t", "df", "p_value", "d_z", "d_z_ci_low",
                                                 "d_z_ci_high", "ci_low_cluster", "ci_high_cluster",
                                                 "p_value_cluster", "t_cluster", "df_cluster", "sd_change")},
                         cluster_note="no variance", n=2)
    empty_rc = type("RC", (), {"instrument": "phq9", "pre": "baseline", "post": "week_26",
                               "summary": pd.DataFrame({"category": ["improved"], "n": [0], "share": [np.nan],
                                                        "share_ci_low": [np.nan], "share_ci_high": [np.nan]})})()
    eng = pd.DataFrame({"sessions_offered": [0], "sessions_attended": [0], "attendance_rate": [np.nan],
                        "status": ["active"]})
    texts = [N.change_sentence(nan_row, instrument="phq9", style=s) for s in ("apa", "plain")]
    texts += [N.reliable_change_sentence(empty_rc), N.attendance_sentence(eng)]
    texts += [N.compare_groups_sentence(_cg(valid=False, f=np.nan, p_value=np.nan, reason="no test"), style=s)
              for s in ("apa", "plain")]
    for t in texts:
        assert t and not re.search(r"\bnan\b|\binf\b|∞|None|n/a", t), t


def test_every_method_key_a_statistics_result_can_list_has_words_and_references():
    # Source of truth: the method keys written in src/groupeval/statistics (result .methods tuples);
    # each must be in narrative METHODS so the methods paragraph names it with its source.
    import ast
    from pathlib import Path

    from groupeval.reporting.narrative.citations import METHOD_REFERENCES, METHODS

    src = Path(groupeval.__file__).parent / "statistics"
    keys: set[str] = set()
    for path in src.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target = None
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in ("methods", "keys")
                                                    for t in node.targets):
                target = node.value
            elif isinstance(node, ast.keyword) and node.arg == "methods":
                target = node.value
            compared = {id(c) for sub in (ast.walk(target) if target is not None else ())
                        if isinstance(sub, ast.Compare) for c in ast.walk(sub)}
            for sub in ast.walk(target) if target is not None else ():
                if (isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub.value.isidentifier()
                        and id(sub) not in compared):
                    keys.add(sub.value)
    keys |= {"cr2", "cr1", "mancl_derouen", "lin_wei", "mice_fixed", "mice_group_means"}  # built from values
    keys.discard("mice_")  # the prefix of the f-string that builds mice_fixed / mice_group_means
    missing = sorted(k for k in keys if k not in METHODS)
    assert not missing, f"add these method keys to reporting/narrative/citations.py METHODS: {missing}"
    unknown_refs = sorted(r for m in METHODS.values() for r in m.refs if r not in METHOD_REFERENCES)
    assert not unknown_refs, unknown_refs


def test_change_sentence_without_an_instrument_says_scores_once():
    row = pd.Series({"pre": "baseline", "post": "week_26", "n": 30, "mean_pre": 10.0, "mean_post": 12.0,
                     "sd_pre": 2.0, "sd_post": 2.0, "mean_change": 2.0, "ci_low": 1.0, "ci_high": 3.0, "t": 4.0,
                     "df": 29.0, "p_value": 0.001, "d_z": 0.7, "d_z_ci_low": 0.3, "d_z_ci_high": 1.1})
    text = N.change_sentence(row)
    assert text.startswith("Scores rose") and "Scores scores" not in text
