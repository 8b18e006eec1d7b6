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

This package module holds the registry; the entries and their vocabularies are
defined in ``_entries.py`` and read from TOML in ``_parse.py`` (every public
name is importable from here).

>>> from groupeval.base import evidence
>>> e = evidence.get("lyons_2021_group_recovery_post")
>>> e.measure, e.estimate, e.ci_low, e.ci_high, e.favourable
('smd', 0.18, 0.07, 0.29, 'higher')
>>> evidence.instrument_domains("phq9")
('depression',)
"""
from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError, Problem
from ._entries import (
    CONFIDENCE,
    DESIGNS,
    DIFFERENCE_MEASURES,
    FORMATS,
    MEASURES,
    RATIO_MEASURES,
    STANDARDISED_MEASURES,
    THRESHOLD_TYPES,
    WITHIN_GROUP_DESIGNS,
    Effect,
    EvidenceSet,
    ReferencePoint,
)
from ._parse import from_dict, from_toml

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
