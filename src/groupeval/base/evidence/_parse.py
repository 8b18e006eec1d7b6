"""Reading evidence definitions (TOML text, a file or the parsed mapping) into an :class:`EvidenceSet`.

Every problem of a definition is collected by :class:`_Checker` and raised at
once in one :class:`~groupeval.exceptions.ConfigError`.
"""
from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError, Problem
from ._entries import (
    _EFFECT_KEYS,
    _ID_CHARS,
    _POINT_KEYS,
    CONFIDENCE,
    DESIGNS,
    FORMATS,
    MEASURES,
    RATIO_MEASURES,
    THRESHOLD_TYPES,
    Effect,
    EvidenceSet,
    ReferencePoint,
)

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
