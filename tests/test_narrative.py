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
from groupeval.reporting.formatting import fmt_df, round_half_up

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
    assert text.startswith("PHQ-9 scores improved between baseline and week 26")
    assert f"they fell by {r(abs(row.mean_change), 1)} points" in text
    assert "(lower scores are better)" in text
    assert f"among the {row.n} members" in text


def test_plain_change_sentence_says_changed_little_when_ci_covers_zero():
    row = pd.Series({"pre": "baseline", "post": "week_12", "n": 30, "mean_pre": 10.0, "mean_post": 9.8,
                     "mean_change": -0.2, "ci_low": -1.1, "ci_high": 0.7, "t": -0.45, "df": 29, "p_value": 0.65,
                     "d_z": -0.08, "d_z_ci_low": -0.44, "d_z_ci_high": 0.28, "improved_direction": "lower"})
    text = N.change_sentence(row, instrument="phq9", style="plain")
    assert text == ("PHQ-9 scores changed little between baseline and week 12 among the 30 members who answered "
                    "at both times: the average change of −0.2 points could be due to chance.")


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
    expected = [s.n, s.events,
                pct(s.retention_12w), 95, pct(s.retention_12w_ci_low), pct(s.retention_12w_ci_high), 12,
                pct(s.retention_26w), 95, pct(s.retention_26w_ci_low), pct(s.retention_26w_ci_high), 26]
    assert got[:len(expected)] == expected
    assert s.median_weeks == s.median_weeks  # reached in this sample
    assert got[len(expected):len(expected) + 3] == [r(s.median_weeks, 0), 95, r(s.median_ci_low, 0)]
    assert "95% CI [" in text and ("not reached]" in text) == np.isnan(s.median_ci_high)


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
    assert N.retention_sentence(table, style="plain") == (
        "Two in three members who came at least once were still attending 12 weeks later, and one in three "
        "after 26 weeks.")
    assert N.retention_sentence(table, times=(12, 52), style="plain").endswith(
        "and it is too early to say how many were still attending after 52 weeks.")
    apa = N.retention_sentence(table)
    assert apa.endswith("the median time to dropout was 20 weeks.")   # first time with S <= .5
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
        "Of the 100 members who filled in the PHQ-9 at baseline and week 26, two in five (40%) improved "
        "reliably and moved from the clinical into the non-clinical range, one in five (20%) improved "
        "reliably, three in ten (30%) showed no reliable change, one in ten (10%) got reliably worse and "
        "none got reliably worse and moved into the clinical range.")


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
    assert "the PHQ-9 (Kroenke et al., 2001) and the WHO-5 (Topp et al., 2015)" in para
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
    assert text == ("In 12-step groups, PHQ-9 scores at week 26 were 3.8 points lower than at baseline "
                    "(95% CI [−5.0, −2.7], p < .001; linear mixed model of all available scores, 219 members in "
                    "12 groups).")
    text = N.mixed_model_sentence(mm, level="12-step", timepoint="week_12", instrument="phq9", digits=2)
    assert numbers(text)[:7] == [12, 12, 1.37, 95, -2.35, -0.39, 0.006]   # "12-step", "week 12", ...
    plain = N.mixed_model_sentence(mm, level="postpartum depression", instrument="phq9", style="plain")
    assert plain.endswith("PHQ-9 scores at week 26 were not clearly different from baseline.")
    with pytest.raises(ConfigError, match="the model is by 'group_type'; pass level="):
        N.mixed_model_sentence(mm)


def test_logrank_sentence_numbers_equal_result_logrank(sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = groupeval.retention(sample_ds, by="group_type")
        overall = groupeval.retention(sample_ds)
    lr = res.logrank.iloc[0]
    text = N.logrank_sentence(res)
    assert numbers(text) == [lr.df, r(lr.statistic, 2), r(lr.p_value, 3)]
    assert text.startswith("Retention differed between group types" if lr.p_value < 0.05
                           else "Retention did not differ clearly between group types")
    assert "could be due to chance" in N.logrank_sentence(res, style="plain", alpha=min(lr.p_value / 2, 0.05))
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
    expected = []
    for _, m in cg.adjusted_means.iterrows():
        expected += [r(m.adjusted_mean, 1), 95, r(m.ci_low, 1), r(m.ci_high, 1)]
    # level names such as "12-step" contribute their own number before each mean
    got_means = [x for x in got[5:] if x not in (12.0,)][:len(expected)]
    assert got_means == expected
    plain = N.compare_groups_sentence(cg, instrument="phq9", style="plain")
    assert ("could be due to chance" in plain) == (o["p_value"] >= 0.05)
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
    assert "multiply imputed by chained equations (statsmodels MICE, 20 imputations)" in text
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
    m = re.search(r"clustered in groups \(cluster-robust\), the mean change has 95% CI \[(\S+), (\S+)\]", text)
    assert m, text
    assert m.group(1) == fmt_number(row["ci_low_cluster"].iloc[0], 1)
    assert m.group(2) == fmt_number(row["ci_high_cluster"].iloc[0], 1)
