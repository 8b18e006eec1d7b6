"""benchmark_sentence() and plot_benchmark(): careful wording, no causal claim, the figure draws the table."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from groupeval import change  # noqa: E402
from groupeval.base import evidence  # noqa: E402
from groupeval.base.exceptions import ConfigError  # noqa: E402
from groupeval.reporting.evidence_text import benchmark_sentence  # noqa: E402
from groupeval.reporting.formatting import fmt_number  # noqa: E402
from groupeval.reporting.plot_evidence import plot_benchmark  # noqa: E402
from groupeval.statistics.benchmark import benchmark  # noqa: E402

REF = Path(__file__).parent / "reference"
CAUSAL = re.compile(r"\b(caus\w*|effective\w*|because of the group|due to the group|thanks to|led to|"
                    r"resulted in|impact\w*|effect of the group|attributable|proves?|works?)\b", re.I)


@pytest.fixture(autouse=True)
def _fresh_registry():
    evidence.reset()
    yield
    evidence.reset()
    plt.close("all")


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return pd.read_csv(REF / "benchmark_input.csv", dtype={"member_id": str, "group_id": str})


def _change(scores, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return change(scores, "baseline", "week_12", **kw)


@pytest.mark.parametrize("kw", [dict(instrument="phq9"), dict(instrument="phq9", population="perinatal"),
                                dict(instrument="core10"), dict(instrument="gad7"),
                                dict(instrument="phq9", outcome=["recovery", "hope", "abstinence"])])
def test_sentence_makes_no_causal_claim_and_states_the_design_difference(scores, kw):
    text = benchmark_sentence(benchmark(_change(scores, instrument=kw["instrument"]), **kw))
    assert not CAUSAL.search(text), CAUSAL.search(text)
    assert "uncontrolled before-and-after change" in text
    assert "different people, programmes and study designs" in text
    assert "not a test of what the group itself contributed" in text


def test_sentence_numbers_come_from_the_table(scores):
    tab = benchmark(_change(scores, instrument="phq9"), instrument="phq9", population="perinatal")
    text = benchmark_sentence(tab)
    eff = tab[tab.kind == "effect"].iloc[0]
    assert f"standardised mean change of {fmt_number(eff.programme_improvement, 2)}" in text
    lo, hi = sorted(-np.array([eff.programme_ci_low_cluster, eff.programme_ci_high_cluster]))
    assert f"95% CI {fmt_number(lo, 2)} to {fmt_number(hi, 2)}, allowing for members sharing groups" in text
    assert f"{int(eff.n)} members in {int(eff.n_groups)} groups" in text
    assert "0.37 (95% CI 0.08 to 0.66)" in text and "Huang et al. 2020; nine randomised trials" in text
    # the risk ratio is not set beside the programme, only counted
    assert "0.69" not in text and "one reference on other scales" in text
    # the published MCID is described as a threshold for individuals
    assert "5-point minimal clinically important difference for one person" in text
    assert "not for a group average" in text
    assert "Between baseline and week 12" in text and "PHQ-9" in text


def test_sentence_names_before_after_references_separately(scores):
    evidence.register_evidence("""
[[effect]]
id = "other_groups_pre_post"
domains = ["depression"]
outcome = "PHQ-9, 12 weeks"
population = "community peer support groups elsewhere"
design = "meta_analysis_pre_post"
comparison = "none (before/after)"
measure = "smcr"
estimate = -0.45
ci_low = -0.60
ci_high = -0.30
favourable = "lower"
k = 6
citation = "A user reference, 2024."
url = "https://example.org"
location = "Table 2"
instruments = ["phq9"]
label = "Users 2024"
""")
    tab = benchmark(_change(scores, instrument="phq9"), instrument="phq9", references=["other_groups_pre_post"])
    text = benchmark_sentence(tab, thresholds=False)
    assert "Before-and-after studies of other programmes report standardised changes of 0.45" in text
    assert "six before-and-after studies" in text and "minimal clinically" not in text
    ax = plot_benchmark(tab)
    gids = {ln.get_gid() for ln in ax.get_lines()}
    assert "benchmark_references_pre_post" in gids


def test_sentence_when_nothing_is_comparable_and_errors(scores):
    ch = _change(scores, instrument="phq9")
    tab = benchmark(ch, instrument="phq9", references=["huang_2020_perinatal_depression_risk"])
    text = benchmark_sentence(tab)
    assert "No published reference in the registry is on a comparable scale" in text
    with pytest.raises(ConfigError, match="metric='smcr'"):
        benchmark_sentence(benchmark(ch, instrument="phq9", metric="d_z"))
    by = benchmark(_change(scores, by="site", instrument="phq9"), instrument="phq9")
    with pytest.raises(ConfigError, match="one programme estimate"):
        benchmark_sentence(by)
    assert "north" not in benchmark_sentence(by[by.site == "north"])  # one level is fine
    with pytest.raises(ConfigError, match="benchmark"):
        benchmark_sentence(pd.DataFrame({"x": [1]}))


def test_forest_plot_draws_programme_and_comparable_references(scores):
    tab = benchmark(_change(scores, instrument="phq9"), instrument="phq9")
    ax = plot_benchmark(tab, title="PHQ-9")
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    eff = tab[tab.kind == "effect"]
    ok = eff[(eff.comparable != "no") & np.isfinite(eff.reference_smd_improvement)]
    np.testing.assert_allclose(lines["benchmark_references"].get_xdata(), ok.reference_smd_improvement)
    np.testing.assert_allclose(lines["benchmark_programme"].get_xdata(), [eff.programme_improvement.iloc[0]])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("This programme") and "PHQ-9, before/after" in labels[0]
    assert any(lab.startswith("Huang et al. 2020: depression") for lab in labels)
    assert len(labels) == 1 + len(ok)
    foot = " ".join(t.get_text() for t in ax.texts)
    assert "not the same quantity" in foot and "1 matching reference(s) on other scales not shown" in foot
    assert not CAUSAL.search(foot.replace("No causal comparison", ""))


def test_forest_plot_by_levels_small_cells_and_errors(scores):
    tab = benchmark(_change(scores, by="site", instrument="phq9"), instrument="phq9")
    ax = plot_benchmark(tab, max_references=2)
    assert len(ax.get_lines()[1].get_xdata()) == 2  # two programme points (north, south)
    small = tab.assign(n=np.where(tab.site == "north", 5.0, tab.n))
    ax2 = plot_benchmark(small, audience="funder")
    assert len([ln for ln in ax2.get_lines() if ln.get_gid() == "benchmark_programme"][0].get_xdata()) == 1
    assert any("not shown (small group)" in t.get_text() for t in ax2.texts)
    with pytest.raises(ConfigError, match="no published effects"):
        plot_benchmark(tab[tab.kind != "effect"])
    with pytest.raises(ConfigError, match="metric='smcr'"):
        plot_benchmark(benchmark(_change(scores, instrument="phq9"), instrument="phq9", metric="d_z"))
