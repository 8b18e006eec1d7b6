"""The parts of an instrument definition: subscales, missing-item rules, flags, the clinical cut-off.

Also the answer-label comparison key (:func:`label_key`), the conventional item
column names (:func:`item_columns`) and the small helpers the frozen
definitions share (read-only mappings, pickling).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Protocol


class _Bad(Protocol):
    """Records one problem of the definition: ``bad(key, value, reason, fix="")``."""

    def __call__(self, key: str, value: object, reason: str, fix: str = "") -> None: ...


METHODS = ("sum", "mean", "none")
BANDS_CLOSED = ("left", "right")


def _frozen(mapping: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
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

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # mappingproxy fields cannot be pickled / deep-copied as they are
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
