"""Registry of scored questionnaires (instruments).

Every instrument is plain data: a TOML file under ``instruments/data/`` is
parsed into a frozen :class:`Instrument`.  No item wording is shipped, only
what is needed to score: item count, response range, reverse-keyed items,
scoring method, subscales, missing-item rules, bands, the clinical
cut-off, reliability and normative values with their sources, the answer labels (scale anchors such
as "Not at all" = 0, with their source, for surveys answered in words), the licence note, and
``conventions`` that say which rules are package conventions rather than official rules.

>>> from groupeval import instruments
>>> phq9 = instruments.get("phq9")
>>> phq9.label, phq9.n_items, phq9.item_min, phq9.item_max, phq9.higher_is_better
('PHQ-9', 9, 0, 3, False)
>>> instruments.available()[:3]
('brs', 'cdrisc10', 'core10')

Users define their own instrument in Python (:class:`Instrument` with a few
keywords, then :func:`register`) or in TOML (:func:`from_toml`).  Definitions
are validated; a bad definition raises :class:`~groupeval.exceptions.ConfigError`
naming every bad key.

This package module holds the registry (:func:`get`, :func:`register`, :func:`table`
...); the definition itself is in ``_definition.py`` (:class:`Instrument`), its
parts in ``_parts.py`` (:class:`Subscale`, :class:`MissingRule`, :class:`Flag`,
:class:`ClinicalCutoff`, :func:`label_key`), its checks in ``_checks.py`` and the
TOML reading in ``_toml.py`` (:func:`from_toml`, :func:`from_dict`); every public
name is importable from here.
"""
from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError
from ._definition import Instrument
from ._parts import BANDS_CLOSED as BANDS_CLOSED
from ._parts import METHODS as METHODS
from ._parts import ClinicalCutoff, Flag, MissingRule, Subscale, item_columns, label_key
from ._toml import from_dict, from_toml

if TYPE_CHECKING:
    import pandas as pd


__all__ = [
    "Instrument",
    "Subscale",
    "MissingRule",
    "Flag",
    "ClinicalCutoff",
    "get",
    "available",
    "register",
    "unregister",
    "from_toml",
    "from_dict",
    "item_columns",
    "label_key",
    "table",
]

# ------------------------------------------------------------------ registry
_REGISTRY: dict[str, Instrument] = {}
_BUILTIN_LOADED = False


def _load_builtin() -> None:
    global _BUILTIN_LOADED
    if _BUILTIN_LOADED:
        return
    folder = resources.files(__package__).joinpath("data")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            inst = from_dict(tomllib.loads(entry.read_text(encoding="utf-8")), source=f"instruments/data/{entry.name}")
            _REGISTRY.setdefault(inst.name, inst)
    _BUILTIN_LOADED = True


def available() -> tuple[str, ...]:
    """Names of the registered instruments, sorted."""
    _load_builtin()
    return tuple(sorted(_REGISTRY))


def get(name: str | Instrument, *, variant: str | None = None) -> Instrument:
    """The registered instrument called ``name`` (``variant=`` applies e.g. K10 ``"us"``).

    An :class:`Instrument` passed in is returned as is (with the variant applied).
    """
    if isinstance(name, Instrument):
        return name if variant is None else name.variant(variant)
    _load_builtin()
    if not isinstance(name, str) or name.lower() not in _REGISTRY:
        raise ConfigError(
            f"Unknown instrument {name!r}; available: {', '.join(available())}. "
            "Define your own with groupeval.instruments.Instrument(...) or from_toml(...) and register() it.")
    inst = _REGISTRY[name.lower()]
    return inst if variant is None else inst.variant(variant)


def register(instrument: Instrument | str | Path | Mapping[str, Any], *, overwrite: bool = False) -> Instrument:
    """Add an instrument to the registry and return it.

    ``instrument`` is an :class:`Instrument`, a path to / text of a TOML
    definition, or the TOML-shaped mapping.  Registering a name that exists
    raises :class:`ConfigError` unless ``overwrite=True``.
    """
    _load_builtin()
    if isinstance(instrument, Mapping):
        instrument = from_dict(instrument)
    elif not isinstance(instrument, Instrument):
        instrument = from_toml(instrument)
    if instrument.name in _REGISTRY and not overwrite:
        raise ConfigError(f"An instrument called {instrument.name!r} is already registered; "
                          "pass overwrite=True to replace it or choose another name")
    _REGISTRY[instrument.name] = instrument
    return instrument


def unregister(name: str) -> None:
    """Remove a registered instrument (built-ins come back on the next process start)."""
    _load_builtin()
    if name not in _REGISTRY:
        raise ConfigError(f"No instrument called {name!r} is registered")
    del _REGISTRY[name]


def table() -> pd.DataFrame:
    """One row per registered instrument: what it measures and how it is scored.

    Columns: ``name``, ``label``, ``n_items``, ``item_min``, ``item_max``,
    ``reverse`` (comma-separated item numbers), ``method``, ``score_min``,
    ``score_max``, ``higher_is_better``, ``subscales`` (comma-separated
    names), ``missing_rule`` (default rule name), ``max_missing`` (items that
    may be missing for the main score), ``missing_rule_is_convention``,
    ``n_bands``, ``clinical_cutoff`` (value of :attr:`Instrument.clinical_cutoff`,
    NaN when none), ``alpha``, ``test_retest``, ``citation``, ``licence``.
    """
    import pandas as pd

    rows = []
    for name in available():
        inst = get(name)
        rule = inst.default_missing_rule
        rows.append({
            "name": inst.name, "label": inst.label, "n_items": inst.n_items, "item_min": inst.item_min,
            "item_max": inst.item_max, "reverse": ",".join(map(str, inst.reverse)), "method": inst.method,
            "score_min": inst.score_min, "score_max": inst.score_max, "higher_is_better": inst.higher_is_better,
            "subscales": ",".join(inst.subscales), "missing_rule": rule.name, "max_missing": rule.max_missing,
            "missing_rule_is_convention": rule.convention, "n_bands": len(inst.bands),
            "clinical_cutoff": inst.clinical_cutoff.value if inst.clinical_cutoff is not None else math.nan,
            "alpha": inst.reliability["alpha"], "test_retest": inst.reliability["test_retest"],
            "citation": inst.citation, "licence": inst.licence,
        })
    return pd.DataFrame(rows)
