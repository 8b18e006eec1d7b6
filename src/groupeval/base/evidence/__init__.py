"""Registry of published benchmark effects and per-instrument reference points.

The programme beside the published evidence needs two kinds of reference, both
plain data in TOML files under ``evidence/data/`` (the same pattern as the
instrument registry):

* **effects** (``[[effect]]`` tables): pooled results of published reviews of
  peer support, e.g. a standardised mean difference for recovery, a risk ratio
  for abstinence.  Each carries its measure, estimate and interval, the number
  of studies and people, the population, design and comparison, the outcome
  domain(s), which direction of the estimate favours the intervention, the
  full citation and DOI, and where in the source the number is printed.
* **reference points** (``[[reference_point]]`` tables): published thresholds
  for one instrument (a minimal clinically important difference, a reliable
  change index).  Normative means and clinical cut-offs are *not* repeated
  here: they live in the instrument registry (:mod:`groupeval.instruments`)
  and :func:`groupeval.benchmark` reads them from there by instrument name.

An ``[instrument_domains]`` table says which outcome domains each instrument
measures (``phq9 = ["depression"]``), so that a programme's PHQ-9 change can
be matched to depression effects.

Users add their own references with :func:`register_evidence` (a path or TOML
text, same schema) or, through ``groupeval.toml``'s ``[evidence] files = [...]``,
with :func:`load_evidence_files`.  Every definition is validated; a malformed
one raises :class:`~groupeval.exceptions.ConfigError` naming every bad key.

>>> from groupeval.base import evidence
>>> e = evidence.get("lyons_2021_group_recovery_post")
>>> e.measure, e.estimate, e.ci_low, e.ci_high, e.favourable
('smd', 0.18, 0.07, 0.29, 'higher')
>>> evidence.instrument_domains("phq9")
('depression',)
"""
from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError, Problem

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Effect",
    "ReferencePoint",
    "EvidenceSet",
    "MEASURES",
    "DIFFERENCE_MEASURES",
    "RATIO_MEASURES",
    "STANDARDISED_MEASURES",
    "DESIGNS",
    "WITHIN_GROUP_DESIGNS",
    "FORMATS",
    "CONFIDENCE",
    "THRESHOLD_TYPES",
    "from_toml",
    "from_dict",
    "register_evidence",
    "load_evidence_files",
    "unregister",
    "reset",
    "get",
    "effects",
    "reference_points",
    "instrument_domains",
    "effect_table",
    "reference_point_table",
]

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
_TOP_KEYS = {"effect", "reference_point", "instrument_domains"}


def _label_from_citation(citation: str) -> str:
    """"Huang R, Yan C, ... 2020 ..." -> "Huang et al. 2020" (first word and first 4-digit year)."""
    first = citation.replace(",", " ").split()[0] if citation.strip() else "?"
    years = [w.strip(".;:()") for w in citation.replace(";", " ").split()]
    year = next((y[:4] for y in years if len(y) >= 4 and y[:4].isdigit() and y[:2] in ("19", "20")), "")
    return f"{first} et al. {year}".strip()


class _Checker:
    """Collects every problem of one definition before raising."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def bad(self, where: str, value: object, reason: str, fix: str = "") -> None:
        self.problems.append(Problem(self.source, None, where, value, reason, fix))

    def text(self, d: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
        if key not in d:
            if required:
                self.bad(f"{where}.{key}", None, "required key is missing")
            return ""
        v = d[key]
        if not isinstance(v, str) or (required and not v.strip()):
            self.bad(f"{where}.{key}", v, "must be a non-empty string" if required else "must be a string")
            return ""
        return v

    def number(self, d: Mapping[str, Any], key: str, where: str, *, required: bool) -> float:
        if key not in d:
            if required:
                self.bad(f"{where}.{key}", None, "required key is missing")
            return math.nan
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            self.bad(f"{where}.{key}", v, "must be a finite number", "write it as e.g. 0.24 (no quotes)")
            return math.nan
        return float(v)

    def count(self, d: Mapping[str, Any], key: str, where: str) -> int | None:
        if key not in d:
            return None
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            self.bad(f"{where}.{key}", v, "must be a positive whole number", "leave the key out when unknown")
            return None
        return int(v)

    def strings(self, d: Mapping[str, Any], key: str, where: str, *, required: bool) -> tuple[str, ...]:
        if key not in d:
            if required:
                self.bad(f"{where}.{key}", None, "required key is missing", 'give a list, e.g. ["recovery"]')
            return ()
        v = d[key]
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v) or (required and not v):
            self.bad(f"{where}.{key}", v, "must be a list of non-empty strings", 'e.g. ["recovery", "hope"]')
            return ()
        return tuple(x.strip().lower() for x in v)

    def choice(self, d: Mapping[str, Any], key: str, where: str, allowed: Sequence[str], *, required: bool,
               default: str = "") -> str:
        v = self.text(d, key, where, required=required)
        if not v:
            return default
        if v not in allowed:
            self.bad(f"{where}.{key}", v, "not an allowed value", f"allowed: {', '.join(allowed)}")
            return default
        return v

    def ident(self, d: Mapping[str, Any], where: str) -> str:
        v = self.text(d, "id", where, required=True)
        if v and (set(v) - _ID_CHARS or v[0].isdigit()):
            self.bad(f"{where}.id", v, "an id must be lower-case letters, digits and underscores",
                     "e.g. 'smith_2021_recovery'")
        return v

    def link(self, d: Mapping[str, Any], where: str) -> tuple[str, str]:
        doi = self.text(d, "doi", where, required=False).strip()
        url = self.text(d, "url", where, required=False).strip()
        if not doi and not url:
            self.bad(f"{where}.doi", None, "a reference needs a DOI (or a url when it has none)",
                     'add doi = "10.xxxx/..." or url = "https://..."')
        if doi.lower().startswith(("http", "doi:")):
            self.bad(f"{where}.doi", doi, "write the bare DOI", 'e.g. doi = "10.1186/1471-244X-14-39"')
        return doi, url


def _effect(d: Any, where: str, chk: _Checker) -> Effect | None:
    if not isinstance(d, Mapping):
        chk.bad(where, d, "each [[effect]] must be a table of keys")
        return None
    n_before = len(chk.problems)
    eid = chk.ident(d, where)
    where = f"effect {eid!r}" if eid else where
    for k in sorted(set(d) - _EFFECT_KEYS):
        chk.bad(f"{where}.{k}", d[k], "unknown key", f"allowed keys: {', '.join(sorted(_EFFECT_KEYS))}")
    measure = chk.choice(d, "measure", where, MEASURES, required=True)
    est = chk.number(d, "estimate", where, required=True)
    lo = chk.number(d, "ci_low", where, required=True)
    hi = chk.number(d, "ci_high", where, required=True)
    level = chk.number(d, "ci_level", where, required=False)
    level = 0.95 if math.isnan(level) and "ci_level" not in d else level
    if not math.isnan(level) and not 0 < level < 1:
        chk.bad(f"{where}.ci_level", level, "must be between 0 and 1", "e.g. 0.95")
    if not any(math.isnan(x) for x in (est, lo, hi)) and not lo <= est <= hi:
        chk.bad(f"{where}.ci_low", (lo, est, hi),
                "the interval must contain the estimate (ci_low <= estimate <= ci_high)",
                "check the order and the signs of the three numbers")
    if measure in RATIO_MEASURES and not any(math.isnan(x) for x in (est, lo, hi)) and min(est, lo, hi) <= 0:
        chk.bad(f"{where}.estimate", (lo, est, hi), f"a {measure} and its interval must be positive",
                "give the ratio itself, not its logarithm")
    doi, url = chk.link(d, where)
    fields_ = dict(
        id=eid, domains=chk.strings(d, "domains", where, required=True),
        outcome=chk.text(d, "outcome", where, required=True),
        population=chk.text(d, "population", where, required=True),
        design=chk.choice(d, "design", where, DESIGNS, required=True),
        comparison=chk.text(d, "comparison", where, required=True), measure=measure,
        estimate=est, ci_low=lo, ci_high=hi, ci_level=level,
        favourable=chk.choice(d, "favourable", where, ("higher", "lower"), required=True),
        citation=chk.text(d, "citation", where, required=True),
        location=chk.text(d, "location", where, required=True),
        k=chk.count(d, "k", where), n=chk.count(d, "n", where), doi=doi, url=url,
        population_tags=chk.strings(d, "population_tags", where, required=False),
        intervention=chk.text(d, "intervention", where, required=False),
        format=chk.choice(d, "format", where, FORMATS, required=False, default="unspecified"),
        instruments=chk.strings(d, "instruments", where, required=False),
        instrument_note=chk.text(d, "instrument_note", where, required=False),
        timepoint=chk.text(d, "timepoint", where, required=False),
        heterogeneity=chk.text(d, "heterogeneity", where, required=False),
        direction_note=chk.text(d, "direction_note", where, required=False),
        checked_in=chk.text(d, "checked_in", where, required=False),
        confidence=chk.choice(d, "confidence", where, CONFIDENCE, required=False, default="user"),
        note=chk.text(d, "note", where, required=False), source_file=chk.source,
    )
    label = chk.text(d, "label", where, required=False)
    fields_["label"] = label or _label_from_citation(str(fields_["citation"]))
    if len(chk.problems) > n_before:
        return None
    return Effect(**fields_)  # type: ignore[arg-type]


def _point(d: Any, where: str, chk: _Checker) -> ReferencePoint | None:
    if not isinstance(d, Mapping):
        chk.bad(where, d, "each [[reference_point]] must be a table of keys")
        return None
    n_before = len(chk.problems)
    pid = chk.ident(d, where)
    where = f"reference_point {pid!r}" if pid else where
    for k in sorted(set(d) - _POINT_KEYS):
        chk.bad(f"{where}.{k}", d[k], "unknown key", f"allowed keys: {', '.join(sorted(_POINT_KEYS))}")
    value = chk.number(d, "value", where, required=True)
    if not math.isnan(value) and value <= 0:
        chk.bad(f"{where}.value", value, "a threshold for change is a positive magnitude",
                "give e.g. 5 for 'a change of 5 points', whatever the instrument's direction")
    level: float | None = None
    if "ci_level" in d:
        level = chk.number(d, "ci_level", where, required=True)
        if not math.isnan(level) and not 0 < level < 1:
            chk.bad(f"{where}.ci_level", level, "must be between 0 and 1", "e.g. 0.90")
    doi, url = chk.link(d, where)
    fields_ = dict(
        id=pid, instrument=chk.text(d, "instrument", where, required=True).lower(),
        kind=chk.choice(d, "kind", where, ("change_threshold",), required=True),
        threshold_type=chk.choice(d, "threshold_type", where, THRESHOLD_TYPES, required=True),
        value=value, population=chk.text(d, "population", where, required=True),
        citation=chk.text(d, "citation", where, required=True),
        location=chk.text(d, "location", where, required=True),
        description=chk.text(d, "description", where, required=False),
        unit=chk.text(d, "unit", where, required=False), ci_level=level, doi=doi, url=url,
        confidence=chk.choice(d, "confidence", where, CONFIDENCE, required=False, default="user"),
        checked_in=chk.text(d, "checked_in", where, required=False),
        note=chk.text(d, "note", where, required=False), source_file=chk.source,
    )
    label = chk.text(d, "label", where, required=False)
    fields_["label"] = label or _label_from_citation(str(fields_["citation"]))
    if len(chk.problems) > n_before:
        return None
    return ReferencePoint(**fields_)  # type: ignore[arg-type]


def from_dict(data: Mapping[str, Any], *, source: str = "definition") -> EvidenceSet:
    """Build an :class:`EvidenceSet` from the TOML-shaped mapping (see :func:`from_toml`).

    Raises :class:`ConfigError` listing every problem (unknown keys, missing
    required keys, an interval that does not contain its estimate, a measure
    or design outside the vocabulary, duplicate ids within the file).
    """
    chk = _Checker(source)
    if not isinstance(data, Mapping):
        raise ConfigError(f"Evidence definition in {source} must be a TOML table")
    for k in sorted(set(data) - _TOP_KEYS):
        chk.bad(k, data[k], "unknown top-level key",
                "use [[effect]], [[reference_point]] or [instrument_domains] tables")
    raw_effects = data.get("effect", [])
    raw_points = data.get("reference_point", [])
    if not isinstance(raw_effects, list):
        chk.bad("effect", raw_effects, "write each effect as an [[effect]] table (double brackets)")
        raw_effects = []
    if not isinstance(raw_points, list):
        chk.bad("reference_point", raw_points, "write each point as a [[reference_point]] table (double brackets)")
        raw_points = []
    effs = [_effect(d, f"effect #{i + 1}", chk) for i, d in enumerate(raw_effects)]
    pts = [_point(d, f"reference_point #{i + 1}", chk) for i, d in enumerate(raw_points)]
    domains: dict[str, tuple[str, ...]] | None = None
    if "instrument_domains" in data:
        table = data["instrument_domains"]
        if not isinstance(table, Mapping):
            chk.bad("instrument_domains", table, "must be a table: instrument name = [domains]")
        else:
            domains = {}
            for name in table:
                got = chk.strings(table, name, "instrument_domains", required=True)
                if got:
                    domains[str(name).lower()] = got
    made: list[Effect | ReferencePoint | None] = [*effs, *pts]
    ids = [x.id for x in made if x is not None]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        chk.bad(f"id {dup!r}", dup, "the same id is defined twice in this file", "give every entry its own id")
    if not raw_effects and not raw_points and domains is None:
        chk.bad("", None, "the file defines no [[effect]], [[reference_point]] or [instrument_domains]",
                "see docs/evidence.md for the schema")
    if chk.problems:
        raise ConfigError(f"Invalid evidence definition in {source}", chk.problems)
    return EvidenceSet(tuple(e for e in effs if e is not None), tuple(p for p in pts if p is not None), domains)


def from_toml(source: str | Path) -> EvidenceSet:
    """Parse (without registering) an evidence file: a path, or TOML text.

    Minimal user entry::

        [[effect]]
        id = "our_pilot_2023_recovery"
        domains = ["recovery"]
        outcome = "QPR total, 12 weeks"
        population = "adults in community peer support groups, one city"
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

    See ``docs/evidence.md`` for every key.
    """
    label = "TOML text"
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and "=" not in source):
        path = Path(source)
        if not path.exists():
            raise ConfigError(f"Evidence file {str(path)!r} does not exist; pass a path to a .toml file or TOML text")
        text = path.read_text(encoding="utf-8")
        label = str(path)
    else:
        text = str(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label} is not valid TOML: {exc}") from None
    return from_dict(data, source=label)


# ------------------------------------------------------------------ registry
_EFFECTS: dict[str, Effect] = {}
_POINTS: dict[str, ReferencePoint] = {}
_DOMAINS: dict[str, tuple[str, ...]] = {}
_BUILTIN_LOADED = False


def _add(es: EvidenceSet, *, overwrite: bool) -> tuple[str, ...]:
    entries: list[Effect | ReferencePoint] = [*es.effects, *es.reference_points]
    clashes = [x.id for x in entries if x.id in _EFFECTS or x.id in _POINTS]
    if clashes and not overwrite:
        raise ConfigError(
            "Evidence ids already registered: " + ", ".join(repr(c) for c in clashes)
            + "; choose other ids or pass overwrite=True to replace them")
    for c in clashes:
        _EFFECTS.pop(c, None)
        _POINTS.pop(c, None)
    for e in es.effects:
        _EFFECTS[e.id] = e
    for p in es.reference_points:
        _POINTS[p.id] = p
    if es.instrument_domains:
        _DOMAINS.update(es.instrument_domains)
    return tuple(x.id for x in entries)


def _load_builtin() -> None:
    global _BUILTIN_LOADED
    if _BUILTIN_LOADED:
        return
    folder = resources.files(__package__).joinpath("data")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            es = from_dict(tomllib.loads(entry.read_text(encoding="utf-8")), source=f"evidence/data/{entry.name}")
            _add(es, overwrite=False)
    _BUILTIN_LOADED = True


def register_evidence(path: str | Path | Mapping[str, Any], *, overwrite: bool = False) -> tuple[str, ...]:
    """Add the effects and reference points of a TOML file (path or text, or the parsed mapping).

    Returns the ids added.  An id that is already registered raises
    :class:`ConfigError` unless ``overwrite=True``.  An ``[instrument_domains]``
    table adds or replaces the domains of the instruments it names.
    """
    _load_builtin()
    es = from_dict(path, source="mapping") if isinstance(path, Mapping) else from_toml(path)
    return _add(es, overwrite=overwrite)


def load_evidence_files(files: Iterable[str | Path], *, base_dir: str | Path | None = None,
                        overwrite: bool = False) -> tuple[str, ...]:
    """Register every file of a ``groupeval.toml`` ``[evidence] files = [...]`` list.

    Relative paths are taken from ``base_dir`` (the folder of the config file).
    All files are read and checked first; nothing is registered unless all are
    valid, and the error lists the problems of every file.
    """
    if isinstance(files, (str, Path)):
        files = [files]
    _load_builtin()
    sets: list[EvidenceSet] = []
    problems: list[Problem] = []
    for f in files:
        p = Path(f)
        if base_dir is not None and not p.is_absolute():
            p = Path(base_dir) / p
        if not p.exists():
            problems.append(Problem(str(p), None, None, None, "evidence file does not exist",
                                    "check the path in [evidence] files (relative to groupeval.toml)"))
            continue
        try:
            sets.append(from_toml(p))
        except ConfigError as exc:
            problems.extend(exc.problems or [Problem(str(p), None, None, None, exc.message)])
    if problems:
        raise ConfigError("Invalid [evidence] files", problems)
    added: list[str] = []
    for es in sets:
        added.extend(_add(es, overwrite=overwrite))
    return tuple(added)


def unregister(entry_id: str) -> None:
    """Remove a registered effect or reference point (built-ins return after :func:`reset`)."""
    _load_builtin()
    if entry_id in _EFFECTS:
        del _EFFECTS[entry_id]
    elif entry_id in _POINTS:
        del _POINTS[entry_id]
    else:
        raise ConfigError(f"No evidence entry called {entry_id!r} is registered")


def reset() -> None:
    """Forget user entries and reload the shipped registry."""
    global _BUILTIN_LOADED
    _EFFECTS.clear()
    _POINTS.clear()
    _DOMAINS.clear()
    _BUILTIN_LOADED = False
    _load_builtin()


def get(entry_id: str) -> Effect | ReferencePoint:
    """The registered effect or reference point with this id."""
    _load_builtin()
    if entry_id in _EFFECTS:
        return _EFFECTS[entry_id]
    if entry_id in _POINTS:
        return _POINTS[entry_id]
    raise ConfigError(f"Unknown evidence id {entry_id!r}; see groupeval.base.evidence.effect_table() "
                      "and reference_point_table() for the registered ids")


def effects() -> tuple[Effect, ...]:
    """Every registered effect, sorted by id."""
    _load_builtin()
    return tuple(_EFFECTS[k] for k in sorted(_EFFECTS))


def reference_points(instrument: str | None = None) -> tuple[ReferencePoint, ...]:
    """Registered reference points (of one instrument when ``instrument`` is given), sorted by id."""
    _load_builtin()
    pts = [_POINTS[k] for k in sorted(_POINTS)]
    if instrument is not None:
        pts = [p for p in pts if p.instrument == instrument.lower()]
    return tuple(pts)


def instrument_domains(name: str | None = None) -> Any:
    """Outcome domains of an instrument (a tuple; empty when unknown), or the whole mapping for ``None``."""
    _load_builtin()
    if name is None:
        return dict(_DOMAINS)
    return _DOMAINS.get(str(name).lower(), ())


def _frame(rows: Sequence[Any]) -> pd.DataFrame:
    import pandas as pd

    out = []
    for r in rows:
        d = asdict(r)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = ", ".join(v)
        out.append(d)
    return pd.DataFrame(out)


def effect_table() -> pd.DataFrame:
    """One row per registered effect, every field as a column (lists joined with ", ")."""
    return _frame(effects())


def reference_point_table() -> pd.DataFrame:
    """One row per registered reference point, every field as a column."""
    return _frame(reference_points())
