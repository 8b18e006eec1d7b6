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
"""
from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from ..exceptions import ConfigError, Problem

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

METHODS = ("sum", "mean", "none")
BANDS_CLOSED = ("left", "right")


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def label_key(text: object) -> str:
    """Comparison key of an answer label: case, accents, whitespace and punctuation ignored.

    ``"  Strongly  AGREE! "`` and ``"strongly-agree"`` both give ``"stronglyagree"``;
    ``"Très bien"`` gives ``"tresbien"``.  Labels are matched on these keys.
    """
    t = unicodedata.normalize("NFKD", str(text))
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).casefold()
    return _NOT_ALNUM.sub("", t)


@dataclass(frozen=True)
class Subscale:
    """One subscale (an output column besides ``score``).

    The value is ``aggregate(items) * scale + shift`` where ``aggregate`` is
    the sum (prorated: mean of answered items times the number of items) or
    the mean of the answered items.  A subscale with ``transform_of`` is a
    linear transform of another subscale (same items, same missing status),
    e.g. WHOQOL-BREF's 0-100 domain from its 4-20 domain.
    """

    name: str
    items: tuple[int, ...]
    method: str = "mean"
    scale: float = 1.0
    shift: float = 0.0
    transform_of: str | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class MissingRule:
    """How many items may be unanswered before a score is not computed.

    ``max_missing`` applies to the main score; ``subscale_max_missing`` maps
    subscale names to their own limits (subscales not named allow none
    missing).  ``min_answered_total`` voids *every* score of a row that
    answered fewer items of the whole instrument (WHOQOL-BREF's 80 % rule).
    A score computed from fewer items than it has is *prorated*: a sum is
    ``mean(answered) * n_items``, a mean is the mean of the answered items.
    ``round_raw`` rounds the prorated raw sum to a whole number before a
    lookup table is applied (``floor(x + 0.5)``).
    """

    name: str
    max_missing: int = 0
    subscale_max_missing: Mapping[str, int] = field(default_factory=dict)
    min_answered_total: int | None = None
    round_raw: bool = False
    convention: bool = True
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "subscale_max_missing", _frozen(self.subscale_max_missing))

    def __hash__(self) -> int:
        return hash((self.name, self.max_missing, self.min_answered_total))

    def __reduce__(self):  # mappingproxy fields cannot be pickled / deep-copied as they are
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        kw["subscale_max_missing"] = dict(self.subscale_max_missing)
        return (_rebuild, (MissingRule, kw))


@dataclass(frozen=True)
class Flag:
    """A boolean column set when item ``item`` (raw, before reverse-keying) >= ``at_least``."""

    name: str
    item: int
    at_least: float
    description: str = ""


@dataclass(frozen=True)
class ClinicalCutoff:
    """Published boundary between the clinical and the non-clinical range of the main score.

    ``value`` is on the scale of the main ``score`` (as :func:`groupeval.score`
    returns it, e.g. the WHO-5 *percentage*) and **belongs to the clinical
    range**:

    * lower is better (PHQ-9, GAD-7, K6, CORE-10): a score is *clinical*
      when ``score >= value`` ("caseness") and *non-clinical* when
      ``score < value``;
    * higher is better (WHO-5): *clinical* when ``score <= value``,
      *non-clinical* when ``score > value``.

    In one formula, with ``f = +1`` if higher is better else ``-1``: a score
    is non-clinical exactly when ``f * (score - value) > 0``, the rule
    :func:`groupeval.reliable_change` applies to every cut-off.  A published
    rule whose boundary value is non-clinical (WHO-5 "raw < 13") is stored as
    the value that gives the same classification on every score the package
    can produce; ``source`` says how.

    Attributes
    ----------
    value : float
        The cut-off on the main score's scale.
    source : str
        Where the value comes from, with the confidence tag of instruments.md.
    convention : bool
        True when the value (or its use as the clinical boundary) is a package
        convention rather than a published rule.
    description : str
        What the boundary means (e.g. "probable major depression").
    """

    value: float
    source: str = ""
    convention: bool = False
    description: str = ""

    def is_clinical(self, scores: Any, higher_is_better: bool) -> Any:
        """Boolean array: which ``scores`` lie in the clinical range (NaN -> False)."""
        import numpy as np

        x = np.asarray(scores, dtype=float)
        return (x <= self.value) if higher_is_better else (x >= self.value)


_CUTOFF_KEYS = ("value", "source", "convention", "description")


@dataclass(frozen=True)
class Instrument:
    """A scored questionnaire.

    Item columns are ``<name>_<n>`` (n = 1..n_items) unless mapped with
    ``score(..., items=...)``.  Only the first few fields are needed to
    define a simple instrument::

        Instrument("mood4", n_items=4, item_min=0, item_max=3, method="sum",
                   higher_is_better=False, reverse=(2,))

    Attributes
    ----------
    name : str
        Registry name; also the item-column prefix.
    label : str
        Display name, e.g. ``"PHQ-9"``.
    n_items, item_min, item_max : int
        Number of items and the response range of every item.
    reverse : tuple of int
        Reverse-keyed items (1-based), recoded ``item_min + item_max - x``.
    higher_is_better : bool
        Direction of the main ``score``.
    method : {"sum", "mean", "none"}
        Aggregation for the main score (``"none"``: no single main score,
        ``score`` is NaN, e.g. WHOQOL-BREF).
    scale, shift : float
        Linear transform of the aggregate: ``score = aggregate * scale + shift``.
    lookup : mapping int -> float or None
        Raw-sum -> score table (SWEMWBS); applied instead of the transform.
    raw_column : str or None
        Name of an extra output column holding the raw aggregate before the
        transform / lookup (WHO-5, SWEMWBS: ``"raw"``).
    score_min, score_max : float
        Range of the main ``score``.
    subscales : mapping str -> tuple of int
        Output column name -> item numbers (derived from ``subscale_specs``).
    subscale_specs : tuple of Subscale
        Full subscale definitions.
    missing_rules : mapping str -> MissingRule
        Selectable missing-item rules; ``missing_rule`` names the default.
    bands : tuple of (float, str)
        ``(lower, label)`` pairs in increasing order.  With
        ``bands_closed="left"`` a label covers ``lower <= score < next lower``;
        with ``"right"`` it covers ``lower < score <= next lower`` (the first
        band also includes its lower bound).
    flags : tuple of Flag
        Item-level safety flags (PHQ-9 item 9).
    clinical_cutoff : ClinicalCutoff or None
        Published boundary between the clinical and non-clinical range of the
        main score (the value itself is clinical: lower is better -> clinical
        when ``score >= value``; higher is better -> clinical when
        ``score <= value``); ``None`` where the sources give none.  Used by
        :func:`groupeval.reliable_change` when normative means are missing.
        A number or a mapping with ``value``, ``source``, ``convention``,
        ``description`` is accepted when defining an instrument.
    reliability : mapping
        ``{"alpha": float | None, "test_retest": float | None}`` for the main score.
    norms : mapping
        ``{"clinical": (mean, sd) | None, "functional": (mean, sd) | None}``.
    subscale_reliability, subscale_norms : mapping
        The same per subscale, where known.
    sources : mapping str -> str
        Where each reliability / norm / band value comes from.
    citation, licence : str
    conventions : mapping str -> str
        Rules that are package conventions (the literature gives no official
        rule, or instruments.md marks it UNCONFIRMED) with the reason;
        override them with ``score(..., missing_rule=...)`` or your own
        :class:`Instrument`.
    variants : mapping str -> mapping
        Named sets of field overrides (K10: ``"us"`` 0-4 scoring); see
        :meth:`variant`.  A variant that moves ``item_min`` without giving
        its own ``answer_labels`` shifts the codes of the labels with it (the
        same anchors, coded from another start).
    answer_labels : mapping str -> int
        Response-option labels (the scale anchors, e.g. PHQ-9 ``"Not at all"``
        -> 0 ... ``"Nearly every day"`` -> 3) -> item code; several labels may
        share a code (other spellings).  Used by :func:`groupeval.validate`
        to turn surveys answered in words into codes; matched with
        :func:`label_key` (case, accents, whitespace and punctuation ignored).
        Empty when no citable source gives them.  A list of labels in order is
        accepted when defining an instrument (codes ``item_min``, ``item_min + 1``, ...).
    answer_labels_source : str
        Where the labels come from.
    """

    name: str
    n_items: int
    item_min: int
    item_max: int
    method: str = "sum"
    higher_is_better: bool = True
    reverse: tuple[int, ...] = ()
    label: str = ""
    title: str = ""
    scale: float = 1.0
    shift: float = 0.0
    lookup: Mapping[int, float] | None = None
    raw_column: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    subscale_specs: tuple[Subscale, ...] = ()
    missing_rules: Mapping[str, MissingRule] = field(default_factory=dict)
    missing_rule: str = "complete"
    bands: tuple[tuple[float, str], ...] = ()
    bands_closed: str = "left"
    flags: tuple[Flag, ...] = ()
    clinical_cutoff: ClinicalCutoff | None = None
    reliability: Mapping[str, float | None] = field(default_factory=dict)
    norms: Mapping[str, tuple[float, float] | None] = field(default_factory=dict)
    subscale_reliability: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    subscale_norms: Mapping[str, Mapping[str, tuple[float, float] | None]] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    citation: str = ""
    licence: str = ""
    conventions: Mapping[str, str] = field(default_factory=dict)
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    variant_name: str | None = None
    description: str = ""
    answer_labels: Mapping[str, int] = field(default_factory=dict)
    answer_labels_source: str = ""

    # ------------------------------------------------------------------ init
    def __post_init__(self) -> None:
        s = object.__setattr__
        _normalise_shorthands(self)
        _validate_instrument(self)
        s(self, "reverse", tuple(int(i) for i in self.reverse))
        if self.clinical_cutoff is not None:
            s(self, "clinical_cutoff", replace(self.clinical_cutoff, value=float(self.clinical_cutoff.value)))
        if not self.label:
            s(self, "label", self.name)
        if self.lookup is not None:
            s(self, "lookup", _frozen({int(k): float(v) for k, v in self.lookup.items()}))
        rules = dict(self.missing_rules)
        if "complete" not in rules:
            rules["complete"] = MissingRule("complete", max_missing=0, convention=False,
                                            description="every item must be answered")
        s(self, "missing_rules", _frozen(rules))
        s(self, "bands", tuple((float(lo), str(lab)) for lo, lab in self.bands))
        rel: dict[str, float | None] = {"alpha": None, "test_retest": None}
        rel.update(self.reliability)
        s(self, "reliability", _frozen(rel))
        norms: dict[str, tuple[float, float] | None] = {"clinical": None, "functional": None}
        norms.update({k: (None if v is None else (float(v[0]), float(v[1]))) for k, v in self.norms.items()})
        s(self, "norms", _frozen(norms))
        s(self, "subscale_reliability", _frozen({k: _frozen(v) for k, v in self.subscale_reliability.items()}))
        s(self, "subscale_norms", _frozen({k: _frozen(v) for k, v in self.subscale_norms.items()}))
        s(self, "sources", _frozen(self.sources))
        s(self, "conventions", _frozen(self.conventions))
        s(self, "variants", _frozen({k: _frozen(v) for k, v in self.variants.items()}))
        s(self, "answer_labels", _frozen({str(k): int(v) for k, v in self.answer_labels.items()}))
        lo, hi = self._natural_range()
        if self.score_min is None:
            s(self, "score_min", lo)
        if self.score_max is None:
            s(self, "score_max", hi)

    def __hash__(self) -> int:
        return hash((self.name, self.variant_name, self.n_items, self.item_min, self.item_max))

    def __reduce__(self):  # mappingproxy fields cannot be pickled / deep-copied as they are
        return (_rebuild, (Instrument, _plain(_instrument_to_dict(self))))

    def _natural_range(self) -> tuple[float, float]:
        if self.method == "none":
            return (math.nan, math.nan)
        if self.lookup:
            vals = list(self.lookup.values())
            return (min(vals), max(vals))
        k = self.n_items if self.method == "sum" else 1
        a = self.item_min * k * self.scale + self.shift
        b = self.item_max * k * self.scale + self.shift
        return (float(min(a, b)), float(max(a, b)))

    # ------------------------------------------------------------ properties
    @property
    def subscales(self) -> Mapping[str, tuple[int, ...]]:
        """Output column name -> item numbers, for every subscale column."""
        by_name = {s.name: s for s in self.subscale_specs}
        out = {}
        for s in self.subscale_specs:
            items = s.items if s.transform_of is None else by_name[s.transform_of].items
            out[s.name] = tuple(items)
        return MappingProxyType(out)

    @property
    def items(self) -> tuple[str, ...]:
        """Conventional item column names ``<name>_1 .. <name>_<n_items>``."""
        return item_columns(self.name, self.n_items)

    @property
    def default_missing_rule(self) -> MissingRule:
        return self.missing_rules[self.missing_rule]

    @property
    def label_codes(self) -> Mapping[str, int]:
        """:func:`label_key` of every answer label -> its item code."""
        return MappingProxyType({label_key(k): v for k, v in self.answer_labels.items()})

    def variant(self, name: str) -> Instrument:
        """The instrument with the named variant's overrides applied (e.g. K10 ``"us"``)."""
        if name == self.variant_name:
            return self
        if name not in self.variants:
            allowed = ", ".join(repr(v) for v in self.variants) or "none"
            raise ConfigError(f"instrument {self.name!r} has no variant {name!r}; variants: {allowed}")
        overrides = dict(self.variants[name])
        data = _instrument_to_dict(self)
        # the score range follows the overridden item range unless given
        data["score_min"] = overrides.pop("score_min", None)
        data["score_max"] = overrides.pop("score_max", None)
        if "answer_labels" not in overrides and "item_min" in overrides:
            shift = int(overrides["item_min"]) - int(self.item_min)
            data["answer_labels"] = {k: v + shift for k, v in self.answer_labels.items()}
        data.update(overrides)
        data["variant_name"] = name
        return Instrument(**data)

    def __repr__(self) -> str:
        v = f", variant={self.variant_name!r}" if self.variant_name else ""
        return (f"Instrument({self.name!r}{v}, label={self.label!r}, n_items={self.n_items}, "
                f"items {self.item_min}-{self.item_max}, method={self.method!r}, "
                f"score {self.score_min:g}-{self.score_max:g}, higher_is_better={self.higher_is_better})")


def _normalise_shorthands(inst: Instrument) -> None:
    """Accept the few-lines forms: ``subscale_specs={"a": (1, 2)}``,
    ``missing_rules={"r": {"max_missing": 1}}`` and ``missing_rule=1``."""
    s = object.__setattr__
    specs = inst.subscale_specs
    if isinstance(specs, Mapping):
        out = []
        for name, d in specs.items():
            if isinstance(d, Mapping):
                out.append(Subscale(name, tuple(d.get("items", ())), d.get("method", "mean"),
                                    d.get("scale", 1.0), d.get("shift", 0.0),
                                    d.get("transform_of"), d.get("min"), d.get("max")))
            else:
                out.append(Subscale(name, tuple(d), "mean" if inst.method != "sum" else "sum"))
        s(inst, "subscale_specs", tuple(out))
    else:
        s(inst, "subscale_specs", tuple(specs))
    rules = {}
    for name, r in dict(inst.missing_rules or {}).items():
        if isinstance(r, Mapping):
            r = MissingRule(name, r.get("max_missing", 0), dict(r.get("subscales", {})),
                            r.get("min_answered_total"), bool(r.get("round_raw", False)),
                            bool(r.get("convention", True)), r.get("description", ""), r.get("source", ""))
        rules[name] = r
    mr = inst.missing_rule
    if isinstance(mr, int) and not isinstance(mr, bool):
        name = f"max_{mr}_missing"
        subs = {sp.name: min(mr, max(len(sp.items) - 1, 0)) for sp in inst.subscale_specs if sp.transform_of is None}
        rules.setdefault(name, MissingRule(name, mr, subs, description=f"at most {mr} item(s) missing"))
        s(inst, "missing_rule", name)
    s(inst, "missing_rules", rules)
    s(inst, "flags", tuple(inst.flags))
    s(inst, "bands", tuple(tuple(b) for b in inst.bands))
    labels = inst.answer_labels
    if isinstance(labels, Sequence) and not isinstance(labels, (str, bytes)):
        start = inst.item_min if isinstance(inst.item_min, int) else 0
        s(inst, "answer_labels", {str(lab): start + i for i, lab in enumerate(labels)})
    elif labels is None:
        s(inst, "answer_labels", {})
    cc = inst.clinical_cutoff
    if isinstance(cc, Mapping) and "value" in cc and set(cc) <= set(_CUTOFF_KEYS):
        s(inst, "clinical_cutoff", ClinicalCutoff(cc["value"], str(cc.get("source", "")),
                                                  cc.get("convention", False), str(cc.get("description", ""))))
    elif isinstance(cc, (int, float)) and not isinstance(cc, bool):
        s(inst, "clinical_cutoff", ClinicalCutoff(cc))


def item_columns(prefix: str, n_items: int) -> tuple[str, ...]:
    """``("<prefix>_1", ..., "<prefix>_<n_items>")``."""
    return tuple(f"{prefix}_{i}" for i in range(1, n_items + 1))


def _plain(value: Any) -> Any:
    """Mappings (incl. read-only proxies) -> dicts, recursively."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _rebuild(cls: type, kwargs: dict[str, Any]) -> Any:
    return cls(**kwargs)


def _instrument_to_dict(inst: Instrument) -> dict[str, Any]:
    return {f.name: getattr(inst, f.name) for f in fields(inst)}


# ---------------------------------------------------------------- validation
def _validate_instrument(inst: Instrument) -> None:
    problems: list[Problem] = []

    def bad(key: str, value: object, reason: str, fix: str = "") -> None:
        problems.append(Problem(None, None, key, value, reason, fix))

    if not isinstance(inst.name, str) or not inst.name.isidentifier() or inst.name != inst.name.lower():
        bad("name", inst.name, "name must be a lower-case identifier (letters, digits, _)",
            "use e.g. 'phq9' - it is also the item-column prefix")
    if not isinstance(inst.n_items, int) or isinstance(inst.n_items, bool) or inst.n_items < 1:
        bad("n_items", inst.n_items, "n_items must be a positive whole number")
    for key in ("item_min", "item_max"):
        v = getattr(inst, key)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not float(v).is_integer():
            bad(key, v, f"{key} must be a whole number")
    if (isinstance(inst.item_min, (int, float)) and isinstance(inst.item_max, (int, float))
            and inst.item_min >= inst.item_max):
        bad("item_max", inst.item_max, "item_max must be greater than item_min")
    if inst.method not in METHODS:
        bad("method", inst.method, f"method must be one of {', '.join(map(repr, METHODS))}")
    n = inst.n_items if isinstance(inst.n_items, int) else 0

    def check_items(key: str, items: Sequence[Any]) -> None:
        try:
            items = list(items)
        except TypeError:
            bad(key, items, "must be a list of item numbers")
            return
        wrong = [i for i in items if not isinstance(i, int) or isinstance(i, bool) or not 1 <= i <= n]
        if wrong:
            bad(key, wrong, f"item numbers must be whole numbers from 1 to n_items={n}")
        if len(set(items)) != len(items):
            bad(key, items, "item numbers are repeated")

    check_items("reverse", inst.reverse)
    if not isinstance(inst.higher_is_better, bool):
        bad("higher_is_better", inst.higher_is_better, "must be true or false")
    for key in ("scale", "shift"):
        v = getattr(inst, key)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            bad(key, v, f"{key} must be a finite number")
    if inst.lookup is not None:
        if inst.method != "sum":
            bad("lookup", "...", "a lookup table needs method='sum' (it maps raw sums)")
        try:
            keys = sorted(int(k) for k in inst.lookup)
            want = list(range(n * int(inst.item_min), n * int(inst.item_max) + 1))
            if keys != want:
                bad("lookup", f"{len(keys)} entries", f"lookup must map every raw sum {want[0]}..{want[-1]}")
        except (TypeError, ValueError):
            bad("lookup", inst.lookup, "lookup keys must be whole raw sums")
    # subscales
    names = [s.name for s in inst.subscale_specs if isinstance(s, Subscale)]
    base_names = [s.name for s in inst.subscale_specs if isinstance(s, Subscale) and s.transform_of is None]
    base_len = {s.name: len(s.items) for s in inst.subscale_specs if isinstance(s, Subscale)}
    reserved = {"score", "n_answered", "prorated", "band", "member_id", "timepoint", "group_id",
                "completed_on", inst.raw_column, *(f.name for f in inst.flags)}
    for s in inst.subscale_specs:
        if not isinstance(s, Subscale):
            bad("subscales", s, "each subscale must be a Subscale")
            continue
        key = f"subscales.{s.name}"
        if not s.name.isidentifier():
            bad(key, s.name, "subscale names must be identifiers (they become column names)")
        if s.name in reserved:
            bad(key, s.name, "subscale name clashes with an output column")
        if s.method not in ("sum", "mean"):
            bad(key + ".method", s.method, "subscale method must be 'sum' or 'mean'")
        for attr in ("scale", "shift"):
            v = getattr(s, attr)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                bad(f"{key}.{attr}", v, f"{attr} must be a finite number")
        if s.transform_of is not None:
            if s.transform_of not in base_names:
                bad(key + ".transform_of", s.transform_of,
                    "transform_of must name another subscale that has its own items",
                    f"subscales with items: {base_names}")
        else:
            if not s.items:
                bad(key + ".items", s.items, "a subscale needs at least one item")
            check_items(key + ".items", s.items)
    if len(set(names)) != len(names):
        bad("subscales", names, "subscale names are repeated")
    # missing rules
    for rname, rule in dict(inst.missing_rules).items():
        key = f"missing.rules.{rname}"
        if not isinstance(rule, MissingRule):
            bad(key, rule, "must be a MissingRule")
            continue
        if not isinstance(rule.max_missing, int) or rule.max_missing < 0 or rule.max_missing >= max(n, 1):
            bad(key + ".max_missing", rule.max_missing,
                f"max_missing must be a whole number from 0 to n_items-1={n - 1}")
        for sname, m in dict(rule.subscale_max_missing).items():
            if sname not in base_names:
                bad(key + ".subscales", sname, "names no subscale with its own items (a transform_of "
                    "subscale follows its source)", f"subscales with items: {base_names}")
            elif not isinstance(m, int) or isinstance(m, bool) or not 0 <= m < base_len[sname]:
                bad(key + f".subscales.{sname}", m,
                    f"must be a whole number from 0 to {base_len[sname] - 1} "
                    f"(the subscale has {base_len[sname]} items)")
        if rule.min_answered_total is not None and not (isinstance(rule.min_answered_total, int)
                                                        and 0 <= rule.min_answered_total <= n):
            bad(key + ".min_answered_total", rule.min_answered_total, f"must be a whole number from 0 to {n}")
    rule_names = set(dict(inst.missing_rules)) | {"complete"}
    if inst.missing_rule not in rule_names:
        bad("missing_rule", inst.missing_rule, "default missing rule is not defined",
            f"define it under [missing.rules] or use one of {sorted(rule_names)}")
    # bands
    try:
        lows = [float(lo) for lo, _ in inst.bands]
        if lows != sorted(lows) or len(set(lows)) != len(lows):
            bad("bands", inst.bands, "band lower bounds must be strictly increasing")
    except (TypeError, ValueError):
        bad("bands", inst.bands, "bands must be (lower, label) pairs")
    if inst.bands_closed not in BANDS_CLOSED:
        bad("bands_closed", inst.bands_closed, "must be 'left' or 'right'")
    for f in inst.flags:
        if not isinstance(f, Flag) or not (isinstance(f.item, int) and 1 <= f.item <= n):
            bad("flags", f, f"flag item must be a number from 1 to {n}")
    for key in inst.reliability:
        if key not in ("alpha", "test_retest"):
            bad(f"reliability.{key}", key, "reliability keys are 'alpha' and 'test_retest'")
    for key, v in dict(inst.reliability).items():
        if v is not None and not (isinstance(v, (int, float)) and 0 < v <= 1):
            bad(f"reliability.{key}", v, "reliability must be a number in (0, 1] or absent")
    for key, v in dict(inst.norms).items():
        if key not in ("clinical", "functional"):
            bad(f"norms.{key}", key, "norm keys are 'clinical' and 'functional'")
        elif v is not None:
            try:
                _mean, sd = v
                if not (float(sd) > 0):
                    raise ValueError
            except (TypeError, ValueError):
                bad(f"norms.{key}", v, "a norm is (mean, sd) with sd > 0")
    _validate_cutoff(inst, bad)
    _validate_labels(inst, bad)
    if problems:
        raise ConfigError(f"Invalid instrument definition {inst.name!r}", problems)


def _validate_labels(inst: Instrument, bad: Any) -> None:
    """``answer_labels``: text -> a whole code within the item range; no key with two codes."""
    labels = inst.answer_labels
    if not isinstance(labels, Mapping):
        bad("answer_labels", labels, "answer labels must map label text to an item code",
            'e.g. answer_labels = {"Not at all": 0, "Several days": 1}')
        return
    seen: dict[str, tuple[str, int]] = {}
    for lab, code in labels.items():
        if not isinstance(lab, str) or not label_key(lab):
            bad("answer_labels", lab, "an answer label must be text with at least one letter or digit")
            continue
        if (not isinstance(code, (int, float)) or isinstance(code, bool) or not float(code).is_integer()
                or not (isinstance(inst.item_min, (int, float)) and isinstance(inst.item_max, (int, float))
                        and inst.item_min <= code <= inst.item_max)):
            bad(f"answer_labels.{lab}", code,
                f"the code of an answer label must be a whole number from item_min={inst.item_min} "
                f"to item_max={inst.item_max}")
            continue
        key = label_key(lab)
        if key in seen and seen[key][1] != int(code):
            bad(f"answer_labels.{lab}", code, f"the label reads the same as {seen[key][0]!r} (case, spaces and "
                f"punctuation are ignored) but has another code ({seen[key][1]})",
                "give each label one code")
        seen.setdefault(key, (lab, int(code)))


def _validate_cutoff(inst: Instrument, bad: Any) -> None:
    """``clinical_cutoff``: a finite number inside the score range, leaving both ranges non-empty."""
    cc = inst.clinical_cutoff
    if cc is None:
        return
    if isinstance(cc, Mapping):
        unknown = sorted(set(cc) - set(_CUTOFF_KEYS))
        for k in unknown:
            bad(f"clinical_cutoff.{k}", cc[k], "unknown key", f"allowed: {', '.join(_CUTOFF_KEYS)}")
        if "value" not in cc:
            bad("clinical_cutoff.value", None, "a clinical cut-off needs a 'value' on the main score's scale")
            return
        cc = ClinicalCutoff(cc["value"], convention=cc.get("convention", False))  # check the value too
    if not isinstance(cc, ClinicalCutoff):
        bad("clinical_cutoff", cc, "must be a number, a ClinicalCutoff or a table with "
            f"{', '.join(_CUTOFF_KEYS)}", "e.g. clinical_cutoff = { value = 10, source = \"...\" }")
        return
    v = cc.value
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        bad("clinical_cutoff.value", v, "the clinical cut-off must be a finite number on the main score's scale")
        return
    if not isinstance(cc.convention, bool):
        bad("clinical_cutoff.convention", cc.convention, "must be true or false")
    if inst.method == "none":
        bad("clinical_cutoff.value", v, "the instrument has no main score (method='none'), so a clinical "
            "cut-off on it has no meaning", "remove clinical_cutoff")
        return
    try:
        lo, hi = inst._natural_range()
        lo = float(inst.score_min) if inst.score_min is not None else lo
        hi = float(inst.score_max) if inst.score_max is not None else hi
    except (TypeError, ValueError, AttributeError):
        return  # the range itself is invalid and reported elsewhere
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return
    if inst.higher_is_better is True and not (lo <= v < hi):
        bad("clinical_cutoff.value", v, f"must lie in [{lo:g}, {hi:g}) for a higher-is-better score: "
            "scores <= the cut-off are clinical, scores above it non-clinical, and both ranges must exist",
            "give the cut-off on the main score's scale")
    elif inst.higher_is_better is False and not (lo < v <= hi):
        bad("clinical_cutoff.value", v, f"must lie in ({lo:g}, {hi:g}] for a lower-is-better score: "
            "scores >= the cut-off are clinical, scores below it non-clinical, and both ranges must exist",
            "give the cut-off on the main score's scale")


# ------------------------------------------------------------------ TOML
_TOP_KEYS = {"name", "label", "title", "description", "n_items", "item_min", "item_max", "reverse",
             "higher_is_better", "citation", "licence", "score", "subscales", "missing", "bands",
             "flags", "reliability", "norms", "conventions", "variants", "clinical_cutoff", "labels"}


def from_dict(data: Mapping[str, Any], *, source: str = "definition") -> Instrument:
    """Build an :class:`Instrument` from the TOML-shaped mapping (see :func:`from_toml`)."""
    problems: list[Problem] = []
    name = data.get("name", "?")

    def bad(key: str, value: object, reason: str, fix: str = "") -> None:
        problems.append(Problem(source, None, key, value, reason, fix))

    unknown = sorted(set(data) - _TOP_KEYS)
    for k in unknown:
        bad(k, data[k], "unknown key", f"allowed keys: {', '.join(sorted(_TOP_KEYS))}")
    for k in ("name", "n_items", "item_min", "item_max"):
        if k not in data:
            bad(k, None, "required key is missing")
    if any(p.reason == "required key is missing" for p in problems):
        raise ConfigError(f"Invalid instrument definition {name!r} in {source}", problems)

    score = dict(data.get("score", {}))
    allowed_score = {"method", "scale", "shift", "lookup", "raw_column", "min", "max"}
    for k in sorted(set(score) - allowed_score):
        bad(f"score.{k}", score[k], "unknown key", f"allowed: {', '.join(sorted(allowed_score))}")
    lookup = score.get("lookup")
    if lookup is not None:
        try:
            lookup = {int(k): float(v) for k, v in dict(lookup).items()}
        except (TypeError, ValueError):
            bad("score.lookup", lookup, "lookup must map raw sums (as keys) to numbers")
            lookup = None

    subs: list[Subscale] = []
    allowed_sub = {"items", "method", "scale", "shift", "transform_of", "min", "max"}
    for sname, sdef in dict(data.get("subscales", {})).items():
        if not isinstance(sdef, Mapping):
            bad(f"subscales.{sname}", sdef, "must be a table with 'items'")
            continue
        for k in sorted(set(sdef) - allowed_sub):
            bad(f"subscales.{sname}.{k}", sdef[k], "unknown key", f"allowed: {', '.join(sorted(allowed_sub))}")
        subs.append(Subscale(sname, tuple(sdef.get("items", ())), sdef.get("method", "mean"),
                             sdef.get("scale", 1.0), sdef.get("shift", 0.0),
                             sdef.get("transform_of"), sdef.get("min"), sdef.get("max")))

    missing = dict(data.get("missing", {}))
    rules: dict[str, MissingRule] = {}
    allowed_rule = {"max_missing", "subscales", "min_answered_total", "round_raw", "convention",
                    "description", "source"}
    for rname, rdef in dict(missing.get("rules", {})).items():
        for k in sorted(set(rdef) - allowed_rule):
            bad(f"missing.rules.{rname}.{k}", rdef[k], "unknown key", f"allowed: {', '.join(sorted(allowed_rule))}")
        rules[rname] = MissingRule(rname, rdef.get("max_missing", 0), dict(rdef.get("subscales", {})),
                                   rdef.get("min_answered_total"), bool(rdef.get("round_raw", False)),
                                   bool(rdef.get("convention", True)), rdef.get("description", ""),
                                   rdef.get("source", ""))
    for k in sorted(set(missing) - {"default", "rules"}):
        bad(f"missing.{k}", missing[k], "unknown key", "allowed: default, rules")

    bands_def = data.get("bands", {})
    bands: list[tuple[float, str]] = []
    closed = "left"
    sources: dict[str, str] = {}
    if bands_def:
        closed = bands_def.get("closed", "left")
        for b in bands_def.get("levels", []):
            if not isinstance(b, Mapping) or "lower" not in b or "label" not in b:
                bad("bands.levels", b, "each band needs 'lower' and 'label'")
                continue
            bands.append((b["lower"], b["label"]))
        if bands_def.get("source"):
            sources["bands"] = bands_def["source"]
        for k in sorted(set(bands_def) - {"closed", "levels", "source"}):
            bad(f"bands.{k}", bands_def[k], "unknown key", "allowed: closed, levels, source")

    flags = []
    for fname, fdef in dict(data.get("flags", {})).items():
        if "item" not in fdef or "at_least" not in fdef:
            bad(f"flags.{fname}", fdef, "a flag needs 'item' and 'at_least'")
            continue
        flags.append(Flag(fname, fdef["item"], fdef["at_least"], fdef.get("description", "")))

    def value_and_source(table: Mapping, prefix: str) -> dict:
        rel: dict[str, Any] = {}
        for key in ("alpha", "test_retest"):
            if key in table:
                rel[key] = table[key]
            if f"{key}_source" in table:
                sources[f"{prefix}{key}"] = table[f"{key}_source"]
        for k in sorted(set(table) - {"alpha", "test_retest", "alpha_source", "test_retest_source",
                                       "subscales", "note"}):
            bad(f"{prefix}{k}", table[k], "unknown key", "allowed: alpha, test_retest, *_source, note")
        if table.get("note"):
            sources[f"{prefix}note"] = table["note"]
        return rel

    def norms_of(table: Mapping, prefix: str) -> dict:
        out: dict[str, Any] = {}
        for key in ("clinical", "functional"):
            if key in table:
                t = table[key]
                if not isinstance(t, Mapping) or "mean" not in t or "sd" not in t:
                    bad(f"{prefix}{key}", t, "a norm needs 'mean' and 'sd'")
                    continue
                out[key] = (t["mean"], t["sd"])
                if t.get("source"):
                    sources[f"{prefix}{key}"] = t["source"]
        for k in sorted(set(table) - {"clinical", "functional", "subscales", "note"}):
            bad(f"{prefix}{k}", table[k], "unknown key", "allowed: clinical, functional, note, subscales")
        if table.get("note"):
            sources[f"{prefix}note"] = table["note"]
        return out

    rel_table = dict(data.get("reliability", {}))
    reliability = value_and_source(rel_table, "reliability.")
    sub_rel = {s: value_and_source(t, f"reliability.subscales.{s}.")
               for s, t in dict(rel_table.get("subscales", {})).items()}
    norms_table = dict(data.get("norms", {}))
    norms = norms_of(norms_table, "norms.")
    sub_norms = {s: norms_of(t, f"norms.subscales.{s}.") for s, t in dict(norms_table.get("subscales", {})).items()}

    answer_labels, labels_source = _labels_of(data.get("labels", {}), data.get("item_min"), bad)

    cutoff = data.get("clinical_cutoff")
    if isinstance(cutoff, Mapping):
        cutoff = dict(cutoff)
        if cutoff.get("source"):
            sources["clinical_cutoff"] = str(cutoff["source"])

    variants = {}
    plain = {"item_min", "item_max", "label", "title", "description", "higher_is_better", "score_min",
             "score_max", "scale", "shift", "conventions", "clinical_cutoff"}
    for vname, vdef in dict(data.get("variants", {})).items():
        translated: dict[str, Any] = {}
        for k, val in dict(vdef).items():
            if k in plain:
                translated[k] = dict(val) if k in ("conventions", "clinical_cutoff") and isinstance(val,
                                                                                                    Mapping) else val
            elif k == "bands" and isinstance(val, Mapping):
                translated["bands"] = tuple((b["lower"], b["label"]) for b in val.get("levels", []))
                translated["bands_closed"] = val.get("closed", "left")
            elif k == "norms" and isinstance(val, Mapping):
                translated["norms"] = {kk: (t["mean"], t["sd"]) for kk, t in val.items()}
            elif k == "reliability" and isinstance(val, Mapping):
                translated["reliability"] = {kk: val[kk] for kk in ("alpha", "test_retest") if kk in val}
            else:
                bad(f"variants.{vname}.{k}", val, "this key cannot be overridden in a variant",
                    f"allowed: {', '.join(sorted(plain | {'bands', 'norms', 'reliability'}))}")
        variants[vname] = translated

    inst = None
    try:
        inst = Instrument(
            name=data["name"], n_items=data["n_items"], item_min=data["item_min"], item_max=data["item_max"],
            method=score.get("method", "sum"), higher_is_better=data.get("higher_is_better", True),
            reverse=tuple(data.get("reverse", ())), label=data.get("label", ""), title=data.get("title", ""),
            scale=score.get("scale", 1.0), shift=score.get("shift", 0.0), lookup=lookup,
            raw_column=score.get("raw_column"), score_min=score.get("min"), score_max=score.get("max"),
            subscale_specs=tuple(subs), missing_rules=rules, missing_rule=missing.get("default", "complete"),
            bands=tuple(bands), bands_closed=closed, flags=tuple(flags), clinical_cutoff=cast(Any, cutoff),
            reliability=reliability,
            norms=norms, subscale_reliability=sub_rel, subscale_norms=sub_norms, sources=sources,
            citation=data.get("citation", ""), licence=data.get("licence", ""),
            conventions=dict(data.get("conventions", {})), variants=variants,
            description=data.get("description", ""),
            answer_labels=answer_labels, answer_labels_source=labels_source,
        )
    except ConfigError as exc:  # value problems found by the Instrument's own validation
        problems.extend(Problem(source, None, p.column, p.value, p.reason, p.fix) for p in exc.problems)
    except (TypeError, ValueError) as exc:  # wrong types that slipped past the key checks
        problems.append(Problem(source, None, None, None, f"cannot build the instrument: {exc}"))
    if problems or inst is None:
        raise ConfigError(f"Invalid instrument definition {name!r} in {source}", problems)
    return inst


_LABEL_KEYS = {"anchors", "aliases", "source", "note"}


def _labels_of(table: Any, item_min: Any, bad: Any) -> tuple[dict[str, Any], str]:
    """The ``[labels]`` table: ``anchors`` (in order, coded from item_min) and/or ``aliases`` (label = code)."""
    if not table:
        return {}, ""
    if not isinstance(table, Mapping):
        bad("labels", table, "[labels] must be a table with anchors = [...] and/or aliases = {...}")
        return {}, ""
    for k in sorted(set(table) - _LABEL_KEYS):
        bad(f"labels.{k}", table[k], "unknown key", f"allowed: {', '.join(sorted(_LABEL_KEYS))}")
    anchors = table.get("anchors", [])
    aliases = table.get("aliases", {})
    if not isinstance(anchors, list) or not all(isinstance(a, str) for a in anchors):
        bad("labels.anchors", anchors, "anchors must be a list of label texts, lowest code first")
        anchors = []
    if not isinstance(aliases, Mapping):
        bad("labels.aliases", aliases, 'aliases must map label text to a code, e.g. { "Over half the days" = 2 }')
        aliases = {}
    start = item_min if isinstance(item_min, int) and not isinstance(item_min, bool) else 0
    out: dict[str, Any] = {a: start + i for i, a in enumerate(anchors)}
    for lab, code in aliases.items():
        if lab in out and out[lab] != code:
            bad(f"labels.aliases.{lab}", code, "the label is also an anchor with another code")
        out[str(lab)] = code
    return out, str(table.get("source", ""))


def from_toml(source: str | Path) -> Instrument:
    """Read an instrument definition from a TOML file (a path) or TOML text.

    Minimal example::

        name = "mood4"
        label = "Mood-4"
        n_items = 4
        item_min = 0
        item_max = 3
        reverse = [2]
        higher_is_better = false
        [score]
        method = "sum"
        [missing]
        default = "one_missing"
        [missing.rules.one_missing]
        max_missing = 1

    See ``docs/instruments.md`` for every key.
    """
    label = "TOML text"
    text: str
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and "=" not in source):
        path = Path(source)
        if not path.exists():
            raise ConfigError(f"Instrument file {str(path)!r} does not exist; pass a path to a .toml file or TOML text")
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
