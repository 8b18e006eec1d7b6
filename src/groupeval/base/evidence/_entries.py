"""What the evidence registry holds: :class:`Effect`, :class:`ReferencePoint`, :class:`EvidenceSet`, and the
vocabularies their fields are checked against (measures, designs, formats, confidence tags, threshold types)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

#: Effect measures an entry may use.  ``smd`` / ``hedges_g`` / ``cohen_d``: a
#: between-group standardised mean difference; ``smcr``: a within-group
#: standardised mean change (raw-score standardisation, Becker 1988); ``md``: a
#: raw mean difference on the outcome's own scale; ``rr`` / ``or``: risk / odds ratio.
MEASURES = ("smd", "hedges_g", "cohen_d", "smcr", "md", "rr", "or")
STANDARDISED_MEASURES = ("smd", "hedges_g", "cohen_d", "smcr")
DIFFERENCE_MEASURES = ("smd", "hedges_g", "cohen_d", "smcr", "md")
RATIO_MEASURES = ("rr", "or")
#: Study designs.  ``meta_analysis_rct``: pooled randomised trials;
#: ``meta_analysis_rct_quasi``: randomised and quasi-randomised trials;
#: ``meta_analysis_controlled``: controlled comparisons whose design mix was not
#: verified; ``rct`` / ``controlled_study``: one study; ``pre_post`` /
#: ``meta_analysis_pre_post``: uncontrolled before/after (the programme's own design);
#: ``observational``: cohort or cross-sectional comparison.
DESIGNS = ("meta_analysis_rct", "meta_analysis_rct_quasi", "meta_analysis_controlled", "rct",
           "controlled_study", "pre_post", "meta_analysis_pre_post", "observational")
WITHIN_GROUP_DESIGNS = ("pre_post", "meta_analysis_pre_post")
FORMATS = ("group", "one_to_one", "mixed", "mutual_help", "online", "unspecified")
#: ``C``: the number was read in the primary source; ``C-2``: only in a secondary
#: source that quotes it (``checked_in`` names it) -- the tags of shared/instruments.md.
CONFIDENCE = ("C", "C-2", "user")
THRESHOLD_TYPES = ("mcid", "reliable_change", "sem")
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class Effect:
    """One published (or user-supplied) benchmark effect.

    Attributes
    ----------
    id : str
        Unique snake_case identifier.
    domains : tuple of str
        Outcome domains the effect speaks to (``"recovery"``, ``"depression"``...).
    outcome : str
        The outcome as the source names it, with its timepoint.
    population, population_tags
        Who was studied, in words and as lower-case tags used for matching
        (``"perinatal"``, ``"severe_mental_illness"``...).
    intervention, format, design, comparison
        What was compared with what (``design`` in :data:`DESIGNS`, ``format`` in :data:`FORMATS`).
    measure : str
        One of :data:`MEASURES`.
    estimate, ci_low, ci_high, ci_level
        The number exactly as published, with its interval and level.
    k, n : int or None
        Studies pooled and participants (``None`` when the source does not say or it was not verified).
    favourable : {"higher", "lower"}
        Which direction of ``estimate`` favours the intervention in the source's convention.
    citation, doi, url, location
        Full reference, DOI (or a URL when there is none), and where the number is printed (page, table, abstract).
    checked_in : str
        The secondary source the number was read in, when not the primary one.
    confidence : str
        One of :data:`CONFIDENCE`.
    instruments : tuple of str
        groupeval instrument names the pooled studies used, where known.
    label : str
        Short label for tables and figures ("Lyons et al. 2021").
    """

    id: str
    domains: tuple[str, ...]
    outcome: str
    population: str
    design: str
    comparison: str
    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    favourable: str
    citation: str
    location: str
    ci_level: float = 0.95
    k: int | None = None
    n: int | None = None
    doi: str = ""
    url: str = ""
    population_tags: tuple[str, ...] = ()
    intervention: str = ""
    format: str = "unspecified"
    instruments: tuple[str, ...] = ()
    instrument_note: str = ""
    timepoint: str = ""
    heterogeneity: str = ""
    direction_note: str = ""
    checked_in: str = ""
    confidence: str = "user"
    label: str = ""
    note: str = ""
    source_file: str = ""


@dataclass(frozen=True)
class ReferencePoint:
    """A published threshold for change on one instrument (MCID, reliable change index).

    ``value`` is a magnitude in the instrument's score units (always positive);
    ``ci_level`` is the confidence of a reliable-change index (CORE-10: 0.90).
    """

    id: str
    instrument: str
    kind: str
    threshold_type: str
    value: float
    population: str
    citation: str
    location: str
    description: str = ""
    unit: str = ""
    ci_level: float | None = None
    doi: str = ""
    url: str = ""
    confidence: str = "user"
    checked_in: str = ""
    label: str = ""
    note: str = ""
    source_file: str = ""


@dataclass(frozen=True)
class EvidenceSet:
    """What one TOML file defines: effects, reference points and instrument domains."""

    effects: tuple[Effect, ...] = ()
    reference_points: tuple[ReferencePoint, ...] = ()
    instrument_domains: Mapping[str, tuple[str, ...]] | None = None


_EFFECT_REQUIRED = ("id", "domains", "outcome", "population", "design", "comparison", "measure", "estimate",
                    "ci_low", "ci_high", "favourable", "citation", "location")
_EFFECT_KEYS = {f.name for f in fields(Effect)} - {"source_file"}
_POINT_REQUIRED = ("id", "instrument", "kind", "threshold_type", "value", "population", "citation", "location")
_POINT_KEYS = {f.name for f in fields(ReferencePoint)} - {"source_file"}
