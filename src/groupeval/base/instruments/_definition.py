"""The frozen :class:`Instrument` (a scored questionnaire) and the short forms accepted when defining one."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from ..exceptions import ConfigError
from ._checks import _validate_instrument
from ._parts import (
    _CUTOFF_KEYS,
    ClinicalCutoff,
    Flag,
    MissingRule,
    Subscale,
    _frozen,
    _plain,
    _rebuild,
    item_columns,
    label_key,
)


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

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # mappingproxy fields cannot be pickled / deep-copied as they are
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


def _instrument_to_dict(inst: Instrument) -> dict[str, Any]:
    return {f.name: getattr(inst, f.name) for f in fields(inst)}
