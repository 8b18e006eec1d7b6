"""The evidence registry (groupeval.base.evidence): shipped entries, schema validation, user files."""
from __future__ import annotations

import math
import re
from importlib import resources

import pytest

from groupeval.base import evidence
from groupeval.base import instruments as instr
from groupeval.base.exceptions import ConfigError

GOOD = """
[[effect]]
id = "our_pilot_2023_recovery"
domains = ["recovery"]
outcome = "QPR total, 12 weeks"
population = "adults in community peer support groups"
population_tags = ["mental_health"]
design = "pre_post"
comparison = "none (before/after)"
measure = "smcr"
estimate = 0.41
ci_low = 0.22
ci_high = 0.60
favourable = "higher"
citation = "Our pilot evaluation report, 2023."
url = "https://example.org/report.pdf"
location = "Table 3, p. 14"
"""


@pytest.fixture(autouse=True)
def _fresh_registry():
    evidence.reset()
    yield
    evidence.reset()


def test_shipped_files_are_package_data_and_load():
    names = sorted(p.name for p in resources.files("groupeval.base.evidence").joinpath("data").iterdir())
    assert {"peer_support_mental_health.toml", "perinatal.toml", "cancer.toml", "mutual_help_alcohol.toml",
            "instrument_reference_points.toml"} <= set(names)
    assert len(evidence.effects()) >= 10
    assert len(evidence.reference_points()) >= 4


@pytest.mark.parametrize("entry", [*evidence.effects(), *evidence.reference_points()], ids=lambda e: e.id)
def test_every_shipped_entry_has_citation_doi_location_and_population(entry):
    assert len(entry.citation) > 40 and re.search(r"(19|20)\d\d", entry.citation)
    assert re.fullmatch(r"10\.\d{4,9}/\S+", entry.doi), entry.doi
    assert len(entry.location) > 5
    assert len(entry.population) > 5
    assert entry.confidence in ("C", "C-2")
    if entry.confidence == "C-2":  # read in a secondary source: it must be named
        assert entry.checked_in
    assert entry.label and entry.source_file.startswith("evidence/data/")


@pytest.mark.parametrize("e", evidence.effects(), ids=lambda e: e.id)
def test_every_shipped_effect_is_complete_and_consistent(e):
    assert e.domains and e.design in evidence.DESIGNS and e.comparison
    assert e.measure in evidence.MEASURES and e.favourable in ("higher", "lower")
    assert e.ci_low <= e.estimate <= e.ci_high and e.ci_level == 0.95
    if e.measure in evidence.RATIO_MEASURES:
        assert e.ci_low > 0
    assert e.direction_note  # the sign convention of the source is spelled out
    # k and n are given where verified, otherwise the note says so
    if e.k is None or e.n is None:
        assert "not verified" in e.note or "not stated" in e.note or "k is empty" in e.note, e.id


def test_published_numbers_are_as_printed_in_their_sources():
    # spot checks against the excerpts the entries cite (docs/evidence.md lists all)
    e = evidence.get("lyons_2021_group_recovery_post")
    assert (e.estimate, e.ci_low, e.ci_high, e.k, e.n, e.format) == (0.18, 0.07, 0.29, 5, 1265, "group")
    e = evidence.get("huang_2020_perinatal_depression_risk")
    assert (e.measure, e.estimate, e.ci_low, e.ci_high) == ("rr", 0.69, 0.49, 0.96)
    e = evidence.get("kelly_2020_aa_tsf_continuous_abstinence_12m")
    assert (e.estimate, e.ci_low, e.ci_high, e.doi) == (1.21, 1.03, 1.42, "10.1002/14651858.CD012880.pub2")
    p = evidence.get("core10_rci_barkham_2013")
    assert (p.value, p.ci_level, p.instrument) == (6.0, 0.90, "core10")


def test_reference_points_do_not_duplicate_the_instrument_registry():
    for p in evidence.reference_points():
        inst = instr.get(p.instrument)  # every point names a registered instrument
        assert p.kind == "change_threshold"  # norms and cut-offs stay in the instrument registry
        if inst.clinical_cutoff is not None:
            assert not math.isclose(p.value, inst.clinical_cutoff.value) or p.threshold_type != "cutoff"


def test_instrument_domains_cover_every_registered_instrument():
    for name in instr.available():
        assert evidence.instrument_domains(name), name
    assert evidence.instrument_domains("phq9") == ("depression",)
    assert evidence.instrument_domains("no_such") == ()


def test_tables_have_one_row_per_entry():
    t = evidence.effect_table()
    assert len(t) == len(evidence.effects()) and t["id"].is_unique
    assert {"measure", "estimate", "ci_low", "ci_high", "k", "n", "doi", "location"} <= set(t.columns)
    assert len(evidence.reference_point_table()) == len(evidence.reference_points())


def test_user_toml_text_registers_and_can_be_removed():
    ids = evidence.register_evidence(GOOD)
    assert ids == ("our_pilot_2023_recovery",)
    e = evidence.get("our_pilot_2023_recovery")
    assert e.design == "pre_post" and e.confidence == "user" and e.label == "Our et al. 2023"
    with pytest.raises(ConfigError, match="already registered"):
        evidence.register_evidence(GOOD)
    evidence.register_evidence(GOOD.replace("0.41", "0.40"), overwrite=True)
    assert evidence.get("our_pilot_2023_recovery").estimate == 0.40
    evidence.unregister("our_pilot_2023_recovery")
    with pytest.raises(ConfigError, match="Unknown evidence id"):
        evidence.get("our_pilot_2023_recovery")


def test_load_evidence_files_resolves_paths_relative_to_the_config(tmp_path):
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "ours.toml").write_text(GOOD, encoding="utf-8")
    ids = evidence.load_evidence_files(["refs/ours.toml"], base_dir=tmp_path)
    assert ids == ("our_pilot_2023_recovery",)
    assert evidence.get("our_pilot_2023_recovery").source_file.endswith("ours.toml")


def test_load_evidence_files_checks_every_file_before_registering_any(tmp_path):
    (tmp_path / "good.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.toml").write_text(GOOD.replace('measure = "smcr"', 'measure = "eta2"'), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        evidence.load_evidence_files(["good.toml", "bad.toml", "missing.toml"], base_dir=tmp_path)
    text = str(exc.value)
    assert "eta2" in text and "missing.toml" in text and "does not exist" in text
    with pytest.raises(ConfigError):
        evidence.get("our_pilot_2023_recovery")  # nothing was registered


def test_malformed_user_toml_names_every_problem_at_once():
    bad = (GOOD.replace('measure = "smcr"', 'measure = "eta2"')
           .replace('favourable = "higher"', 'favourable = "up"')
           .replace("ci_low = 0.22", "ci_low = 0.45")
           .replace('location = "Table 3, p. 14"\n', "")
           .replace('url = "https://example.org/report.pdf"', 'colour = "blue"'))
    with pytest.raises(ConfigError) as exc:
        evidence.from_toml(bad)
    cols = {p.column for p in exc.value.problems}
    assert {"effect 'our_pilot_2023_recovery'.measure", "effect 'our_pilot_2023_recovery'.favourable",
            "effect 'our_pilot_2023_recovery'.location", "effect 'our_pilot_2023_recovery'.colour",
            "effect 'our_pilot_2023_recovery'.doi"} <= cols
    msg = str(exc.value)
    assert "allowed: smd" in msg and "required key is missing" in msg and "unknown key" in msg
    # the interval problem is found even though other keys are bad too
    bad2 = GOOD.replace("ci_low = 0.22", "ci_low = 0.45")
    with pytest.raises(ConfigError, match="interval must contain the estimate"):
        evidence.from_toml(bad2)


@pytest.mark.parametrize("edit, fragment", [
    (('estimate = 0.41', 'estimate = "0.41"'), "must be a finite number"),
    (('measure = "smcr"', 'measure = "rr"'), None),  # rr with a positive interval is fine
    (('estimate = 0.41\nci_low = 0.22', 'estimate = 0.41\nci_low = -0.22\nk = 0'), "positive whole number"),
    (('id = "our_pilot_2023_recovery"', 'id = "Our Pilot"'), "lower-case letters"),
    (('url = "https://example.org/report.pdf"', 'doi = "https://doi.org/10.1/x"'), "bare DOI"),
    (('domains = ["recovery"]', 'domains = []'), "list of non-empty strings"),
    (('design = "pre_post"', 'design = "anecdote"'), "allowed: meta_analysis_rct"),
])
def test_each_schema_rule_has_a_clear_message(edit, fragment):
    text = GOOD.replace(*edit)
    if fragment is None:
        assert evidence.from_toml(text).effects[0].measure == "rr"
    else:
        with pytest.raises(ConfigError, match=re.escape(fragment)):
            evidence.from_toml(text)


def test_ratio_measures_must_be_positive_and_not_logged():
    text = GOOD.replace('measure = "smcr"', 'measure = "or"').replace("ci_low = 0.22", "ci_low = -0.1")
    with pytest.raises(ConfigError, match="must be positive"):
        evidence.from_toml(text)


def test_not_toml_and_missing_file_and_empty_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        evidence.from_toml("[[effect]\nid = ")
    with pytest.raises(ConfigError, match="does not exist"):
        evidence.from_toml(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="defines no"):
        evidence.from_toml("title = 'x'\n")


def test_duplicate_ids_within_one_file_and_unknown_top_level_keys():
    with pytest.raises(ConfigError, match="defined twice"):
        evidence.from_toml(GOOD + GOOD)
    with pytest.raises(ConfigError, match="unknown top-level key"):
        evidence.from_toml(GOOD + '\n[meta]\nauthor = "me"\n')


def test_user_reference_point_and_instrument_domains():
    text = """
[instrument_domains]
qpr = ["recovery"]

[[reference_point]]
id = "qpr_rci_ours"
instrument = "qpr"
kind = "change_threshold"
threshold_type = "reliable_change"
value = 7.5
ci_level = 0.95
population = "our validation sample"
citation = "Our psychometrics note, 2024."
url = "https://example.org/qpr.pdf"
location = "p. 3"
"""
    evidence.register_evidence(text)
    assert evidence.instrument_domains("qpr") == ("recovery",)
    assert [p.id for p in evidence.reference_points("qpr")] == ["qpr_rci_ours"]
    with pytest.raises(ConfigError, match="positive magnitude"):
        evidence.from_toml(text.replace("value = 7.5", "value = -7.5"))
