"""One suppression plan for a whole report: every count of people, every relation between them.

A report shows the same counts in several places (a table, another table, a
figure label, a sentence) and many counts are linked by arithmetic (a row
total, "All members" = the sum of the group-type rows, enrolled = attended +
never came, a share times its denominator).  Suppressing each table on its
own leaks: a count hidden in one table is shown in another, or follows by
subtraction from numbers shown elsewhere.  :class:`SuppressionPlan` is
decided **once per report**, over every count the report exposes:

1. every count of people is registered under a *key* (``count``); the same
   key in two places is the same number, so it is hidden in both or neither;
2. every linear relation the report lets a reader form is registered
   (``relation``: ``sum(coef * count) == 0``, e.g. ``members - attended -
   never == 0``);
3. :meth:`decide` hides every count ``0 < n < min_cell`` (primary
   suppression), then hides further counts until no hidden count can be
   worked out from the shown ones: no relation has exactly one hidden count,
   and no hidden count is fixed by the system of all relations together
   (a hidden count ``x_i`` is fixed when the unit vector ``e_i`` lies in the
   row space of the relation matrix restricted to the hidden counts; checked
   with the null space of that matrix);
4. estimates (shares, means, medians, SEs, p values) ask the plan, through
   :meth:`estimate_reason`, whether they may be shown: not when a count they
   rest on is below ``min_cell`` ("fewer than 11 people") and not when they
   would give back a hidden count (a share with its denominator).

The relation matrix is small (a few hundred counts for a report), so the
null space is computed with a dense SVD at each step.

References
----------
Federal Committee on Statistical Methodology (2005). *Statistical Policy
Working Paper 22: Report on Statistical Disclosure Limitation Methodology*
(2nd ed.), chapter 4 (primary and complementary suppression; linear
relations an intruder can solve).
Centers for Medicare & Medicaid Services (2020). CMS cell size suppression
policy.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ...base.exceptions import ConfigError

__all__ = ["SuppressionPlan", "Hidden", "PRIMARY", "LINKED"]

#: Why a count is hidden: it is a count of fewer than ``min_cell`` people.
PRIMARY = "small"
#: Why a count is hidden: it would let a hidden count be worked out.
LINKED = "linked"


@dataclass(frozen=True)
class Hidden:
    """Why a value is not shown: ``kind`` is :data:`PRIMARY` or :data:`LINKED`, ``text`` the words."""

    kind: str
    text: str


@dataclass
class SuppressionPlan:
    """Counts of people, the relations between them, and which ones a report may show.

    Parameters
    ----------
    min_cell
        Smallest count of people shown (default 11, the CMS rule).
    active
        False for internal audiences: every count is shown, nothing is hidden.
    """

    min_cell: int = 11
    active: bool = True
    _index: dict[Hashable, int] = field(default_factory=dict, repr=False)
    _values: list[float] = field(default_factory=list, repr=False)
    _relations: list[dict[int, int]] = field(default_factory=list, repr=False)
    _exposed: list[bool] = field(default_factory=list, repr=False)
    _hidden: np.ndarray | None = field(default=None, repr=False)
    _primary: np.ndarray | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ registering
    def count(self, key: Hashable, value: float, *, exposed: bool = True) -> Hashable:
        """Register a count of people under ``key`` (idempotent; a second, different value is an error).

        ``exposed=False``: the count is not printed anywhere but takes part in
        relations (e.g. people enrolled in two groups, the difference between
        enrolments and people).  Such a count is protected only when it is
        small: working out a large one reveals nobody.
        """
        v = float(value) if value is not None and not _isnan(value) else np.nan
        if key in self._index:
            i = self._index[key]
            old = self._values[i]
            if not (np.isnan(old) and np.isnan(v)) and old != v:
                raise ConfigError(f"count {key!r} registered twice with different values ({old:g} and {v:g}).")
            self._exposed[i] = self._exposed[i] or exposed
            return key
        if self._hidden is not None:
            raise ConfigError(f"count {key!r} registered after the plan was decided.")
        self._index[key] = len(self._values)
        self._values.append(v)
        self._exposed.append(bool(exposed))
        return key

    def relation(self, terms: Mapping[Hashable, int]) -> None:
        """Register ``sum(coef * count[key]) == 0`` (keys registered first; unknown keys are ignored)."""
        rel = {self._index[k]: int(c) for k, c in terms.items() if k in self._index and c}
        if len(rel) >= 2:
            self._relations.append(rel)

    def total(self, parts: Iterable[Hashable], total: Hashable) -> None:
        """Register ``sum(parts) == total``."""
        terms: dict[Hashable, int] = {}
        for p in parts:
            terms[p] = terms.get(p, 0) + 1
        terms[total] = terms.get(total, 0) - 1
        self.relation(terms)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._index

    def value(self, key: Hashable) -> float:
        """The true (unsuppressed) count."""
        return self._values[self._index[key]]

    # ------------------------------------------------------------------ deciding
    def decide(self) -> SuppressionPlan:
        """Primary then complementary suppression over every registered count (once)."""
        values = np.asarray(self._values, dtype=float)
        known = ~np.isnan(values)
        exposed = np.asarray(self._exposed, dtype=bool)
        if not self.active:
            self._hidden = np.zeros(len(values), bool)
            self._primary = self._hidden.copy()
            return self
        small = known & (values > 0) & (values < self.min_cell)
        primary = small & exposed
        hidden = primary.copy()
        rels = [r for r in self._relations if all(known[i] for i in r)]
        coef = np.zeros((len(rels), len(values)))
        for r, rel in enumerate(rels):
            for i, c in rel.items():
                coef[r, i] = c
        cost = np.where(values > 0, values, np.nanmax(values, initial=0.0) + 1.0)
        cost = np.where(known & exposed, cost, np.inf)
        # an unprinted difference of 0 (the same people counted in two tables) is guessable: it is known
        guessable = ~exposed & known & (values == 0)
        while True:
            unknown = hidden | (~exposed & ~guessable)
            protected = hidden | (small & ~exposed)
            target = _exposed_relation(coef, unknown, protected)
            if target is None:
                target = _fixed_by_system(coef, unknown, protected)
            if target is None:
                break
            cand = (coef[target] != 0) & ~unknown & known
            if not cand.any():  # nothing left to hide in that relation (cannot happen for a true relation)
                coef[target] = 0
                continue
            nz = coef != 0
            involved = nz & (nz & protected[None, :]).any(axis=1)[:, None]
            fixes = involved.sum(axis=0)
            # the count closing most open relations first, then the smallest (hide as little as possible)
            order = np.lexsort((np.arange(len(values)), cost, -fixes))
            hidden[order[cand[order]][0]] = True
        self._hidden = hidden & exposed
        self._primary = primary
        return self

    def _require_decided(self) -> np.ndarray:
        if self._hidden is None:
            raise ConfigError("the suppression plan is not decided yet; call decide() after registering counts.")
        return self._hidden

    def hidden(self, key: Hashable) -> Hidden | None:
        """Why the count ``key`` is not shown, or None when it is shown (unknown keys are shown)."""
        hidden = self._require_decided()
        i = self._index.get(key)
        if i is None or not hidden[i]:
            return None
        assert self._primary is not None  # noqa: S101 - set together with _hidden
        if self._primary[i]:
            return Hidden(PRIMARY, f"fewer than {self.min_cell} people")
        return Hidden(LINKED, f"not shown so that a number of fewer than {self.min_cell} people cannot be "
                              "worked out from the other figures")

    def is_shown(self, *keys: Hashable) -> bool:
        """True when every count in ``keys`` is shown."""
        return all(self.hidden(k) is None for k in keys)

    def estimate_reason(self, rests_on: Sequence[Hashable] = (), reveals: Sequence[Hashable] = ()) -> Hidden | None:
        """Why an estimate may not be shown, or None.

        ``rests_on``: the counts of people the estimate is computed from (a
        mean of ``n`` people, a Kaplan-Meier estimate on those still at
        risk): below ``min_cell`` the estimate is not shown.  ``reveals``:
        counts the estimate gives back together with shown numbers (a share
        gives its numerator from its denominator): hidden when any is hidden.
        """
        self._require_decided()
        if not self.active:
            return None
        for k in rests_on:
            if k in self._index:
                v = self.value(k)
                if not np.isnan(v) and v < self.min_cell:
                    return Hidden(PRIMARY, f"fewer than {self.min_cell} people")
        for k in (*rests_on, *reveals):
            if self.hidden(k) is not None:
                return Hidden(LINKED, f"not shown so that a number of fewer than {self.min_cell} people "
                                      "cannot be worked out")
        return None

    # ------------------------------------------------------------------ inspection
    @property
    def keys(self) -> list[Hashable]:
        return list(self._index)

    @property
    def n_hidden(self) -> int:
        return int(self._require_decided().sum())

    def relations(self) -> list[dict[Hashable, int]]:
        """The registered relations, by key (for tests and documentation)."""
        names = list(self._index)
        return [{names[i]: c for i, c in rel.items()} for rel in self._relations]


def _isnan(x: object) -> bool:
    try:
        return bool(np.isnan(float(x)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _exposed_relation(coef: np.ndarray, unknown: np.ndarray, protected: np.ndarray) -> int | None:
    """First relation whose one unknown count is protected (it follows from the others by subtraction)."""
    if not len(coef):
        return None
    nz = coef != 0
    n_unknown = (nz & unknown[None, :]).sum(axis=1)
    n_protected = (nz & protected[None, :]).sum(axis=1)
    bad = np.flatnonzero((n_unknown == 1) & (n_protected == 1))
    return int(bad[0]) if len(bad) else None


def _fixed_by_system(coef: np.ndarray, unknown: np.ndarray, protected: np.ndarray,
                     tol: float = 1e-9) -> int | None:
    """A relation through a protected count that the whole system of relations determines, else None.

    With ``A`` the relation matrix restricted to the unknown counts, the shown
    counts move to the right-hand side; unknown count ``i`` is determined when
    every null vector of ``A`` has component 0 at ``i``.
    """
    h = np.flatnonzero(unknown)
    if not len(coef) or not len(h) or not protected.any():
        return None
    rows = np.flatnonzero((coef[:, h] != 0).any(axis=1))
    if not len(rows):
        return None
    A = coef[np.ix_(rows, h)]
    _, s, vt = np.linalg.svd(A, full_matrices=True)
    rank = int((s > tol * max(1.0, s.max(initial=0.0))).sum())
    null = vt[rank:]  # rows span the null space
    fixed = np.ones(len(h), bool) if not len(null) else (np.abs(null) < 1e-8).all(axis=0)
    for j in np.flatnonzero(fixed & protected[h]):
        cell = h[j]
        # a relation through this count that still has a shown count to hide
        through = rows[(coef[rows, cell] != 0) & ((coef[rows] != 0) & ~unknown[None, :]).any(axis=1)]
        if len(through):
            return int(through[0])
    return None
