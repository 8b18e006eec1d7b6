"""Design of :func:`groupeval.mixed_model`: codes, the fixed-effects matrix, numeric time and contrast rows.

Internal to :mod:`groupeval.statistics.mixed`.  Everything is built from integer codes with
numpy (no patsy, no per-row Python): the scores are factorised once per column, the design
matrix is filled column by column, and the contrast rows of the estimated means, the changes
and the type III tests are written in closed form from the coding (the covariate columns of a
mean are their averages over the model's rows).

Term naming follows patsy's treatment coding: ``Intercept``, ``timepoint[T.week_12]``
(categorical time) or ``timepoint`` (linear time), ``group_type[T.b]``, numeric covariates by
name, categorical covariates ``site[T.b]``, interactions ``timepoint[T.week_12]:group_type[T.b]``.
The first level (of time: the first timepoint; of other factors: the first in sorted order) is
the reference.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, DataQualityWarning, Problem, ValidationError
from ._common import attach_columns, check_frame, time_levels

__all__ = ["MixedDesign", "build_design", "nested_member_count", "time_numbers", "WEEKS_PER"]

#: Weeks per unit when a timepoint label names its unit (``week_12``, ``month_6``, ``day_10``, ``year_1``).
WEEKS_PER = {"day": 1.0 / 7.0, "week": 1.0, "month": 52.0 / 12.0, "year": 52.0}
_ZERO = re.compile(r"^(baseline|base|pre|pretest|pre_test|intake|start|enrol+ment|screening)$")
_UNIT_FIRST = re.compile(r"^(?:fu_?|follow_?up_?)?(days?|d|weeks?|wk|w|months?|mo|m|years?|yr|y)_?(\d+(?:\.\d+)?)$")
_NUMBER_FIRST = re.compile(r"^(\d+(?:\.\d+)?)_?(days?|d|weeks?|wk|w|months?|mo|m|years?|yr|y)(?:_?fu|_?follow_?up)?$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def _unit(token: str) -> float:
    t = token.lower()
    if t.startswith("d"):
        return WEEKS_PER["day"]
    if t.startswith("w"):
        return WEEKS_PER["week"]
    if t.startswith("y"):
        return WEEKS_PER["year"]
    return WEEKS_PER["month"]


def time_numbers(levels: Sequence[str], time_map: Mapping[Any, Any] | None = None) -> dict[str, float]:
    """Numeric time (weeks) of each timepoint label, from ``time_map`` or from the labels themselves.

    Labels are read case-insensitively with spaces and hyphens as ``_``: ``baseline``, ``pre``,
    ``intake``, ``start`` are 0; ``week_12``, ``wk12``, ``w12``, ``12_weeks`` are 12;
    ``month_6`` is 6 x 52/12 weeks, ``day_10`` 10/7 weeks, ``year_1`` 52 weeks; labels that are
    all plain numbers are taken as they are (in their own unit).  ``time_map`` (label -> number,
    any unit) overrides the reading and must cover every timepoint.

    Raises
    ------
    ConfigError
        A label cannot be read (all listed), a mapped value is not a finite number, or two
        timepoints share a value.
    """
    levels = [str(lv) for lv in levels]
    if time_map is not None:
        tm = {str(k): v for k, v in dict(time_map).items()}
        missing = [lv for lv in levels if lv not in tm]
        if missing:
            raise ConfigError("`time_map` does not give every timepoint a number",
                              [Problem(None, None, None, lv, "timepoint missing from `time_map`",
                                       f"add {lv!r}: <time in your unit, e.g. weeks since baseline>")
                               for lv in missing])
        out: dict[str, float] = {}
        bad = []
        for lv in levels:
            try:
                v = float(tm[lv])
            except (TypeError, ValueError):
                v = float("nan")
            if not np.isfinite(v):
                bad.append(lv)
            out[lv] = v
        if bad:
            raise ConfigError(f"`time_map` values must be finite numbers; not for {bad}.")
    else:
        norm = {lv: re.sub(r"[\s\-]+", "_", lv.strip().lower()) for lv in levels}
        if all(_NUMBER.match(v) for v in norm.values()):
            out = {lv: float(norm[lv]) for lv in levels}
        else:
            out, bad = {}, []
            for lv in levels:
                s = norm[lv]
                m1, m2 = _UNIT_FIRST.match(s), _NUMBER_FIRST.match(s)
                if _ZERO.match(s):
                    out[lv] = 0.0
                elif m1:
                    out[lv] = float(m1.group(2)) * _unit(m1.group(1))
                elif m2:
                    out[lv] = float(m2.group(1)) * _unit(m2.group(2))
                else:
                    bad.append(lv)
            if bad:
                raise ConfigError("cannot read a time in weeks from the timepoint label(s)",
                                  [Problem(None, None, None, lv, "no unit and number in the label (e.g. week_12)",
                                           "pass time_map={timepoint: weeks, ...} for every timepoint")
                                   for lv in bad])
    vals = list(out.values())
    if len(set(vals)) < len(vals):
        raise ConfigError(f"two timepoints have the same numeric time {out}; give each a distinct value in "
                          "`time_map`.")
    return out


def _factorise(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 for missing) and the labels as strings, without converting every row to str."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64), [str(u) for u in uniq]


def _recode(codes: np.ndarray, labels: list[str], order: list[str]) -> np.ndarray:
    """Map codes over ``labels`` to positions in ``order`` (-1 where missing or not in order)."""
    pos = {lv: i for i, lv in enumerate(order)}
    lut = np.array([pos.get(lv, -1) for lv in labels] + [-1], dtype=np.int64)
    return lut[codes]  # code -1 picks the trailing -1


def _contiguous(codes: np.ndarray) -> np.ndarray:
    """Relabel non-negative integer codes to 0..k-1 keeping their order (O(n), no hashing)."""
    present = np.bincount(codes) > 0
    if present.all():
        return codes.astype(np.int64, copy=False)
    return (np.cumsum(present) - 1)[codes].astype(np.int64)


def nested_member_count(gcode: np.ndarray, mcode: np.ndarray) -> int:
    """Number of (group, member) pairs: members nested in groups, as lme4's ``group:member``."""
    n_m = int(mcode.max()) + 1
    first = np.empty(n_m, dtype=np.int64)
    first[mcode] = gcode
    if np.array_equal(first[mcode], gcode):  # each member in one group (the usual case): O(n)
        return n_m
    return int(len(pd.unique(gcode * n_m + mcode)))


@dataclass(frozen=True)
class _Factor:
    """A categorical column of the model: codes 0..k-1 over ``levels`` (first = reference)."""

    name: str
    codes: np.ndarray
    levels: list[str]


@dataclass(frozen=True)
class MixedDesign:
    """Everything :func:`groupeval.mixed_model` fits and tests, as arrays."""

    y: np.ndarray
    X: np.ndarray
    names: list[str]
    gcode: np.ndarray
    mcode: np.ndarray
    tcode: np.ndarray
    levels: list[str]
    time: str
    time_as: str
    weeks: dict[str, float] | None
    t_numeric: np.ndarray | None
    by: str | None
    bcode: np.ndarray | None
    by_levels: list[str] | None
    terms: dict[str, list[int]]
    factor_groups: dict[str, dict[str, int]]
    group_level: dict[str, bool]
    n_dropped: int
    dropped_note: str
    col_means: np.ndarray
    formula: str
    cov_terms: list[str] = field(default_factory=list)

    # -- contrast rows --------------------------------------------------------------
    def cell_row(self, b: int | None, t: int | None, w: float | None = None) -> np.ndarray:
        """Design row of the mean at by level ``b`` and timepoint ``t`` (or numeric time ``w``).

        Covariate columns hold their means over the model's rows.
        """
        row = self.col_means.copy()
        row[0] = 1.0
        if self.time_as == "categorical":
            tcols = self.terms[self.time]
            row[tcols] = 0.0
            if t is not None and t > 0:
                row[tcols[t - 1]] = 1.0
            tval = None
        else:
            tval = w if w is not None else (self._week(t) if t is not None else 0.0)
            row[self.terms[self.time][0]] = tval
        if self.by is not None and self.by_levels is not None:
            bcols = self.terms[self.by]
            row[bcols] = 0.0
            if b is not None and b > 0:
                row[bcols[b - 1]] = 1.0
            icols = self.terms[f"{self.time}:{self.by}"]
            row[icols] = 0.0
            if b is not None and b > 0:
                if self.time_as == "categorical":
                    if t is not None and t > 0:
                        row[icols[(b - 1) * (len(self.levels) - 1) + (t - 1)]] = 1.0
                else:
                    row[icols[b - 1]] = float(tval if tval is not None else 0.0)
        return row

    def _week(self, t: int) -> float:
        assert self.weeks is not None
        return float(self.weeks[self.levels[t]])

    def mean_rows(self) -> tuple[np.ndarray, list[tuple[str | None, str]]]:
        """One row per (by level, timepoint): the estimated mean."""
        rows, keys = [], []
        for b, blab in (enumerate(self.by_levels) if self.by_levels is not None else [(None, None)]):
            for t, tlab in enumerate(self.levels):
                rows.append(self.cell_row(b, t))
                keys.append((blab, tlab))
        return np.vstack(rows), keys

    def change_rows(self) -> tuple[np.ndarray, list[tuple[str | None, str, str]]]:
        """Each timepoint minus the first, within each by level."""
        rows, keys = [], []
        for b, blab in (enumerate(self.by_levels) if self.by_levels is not None else [(None, None)]):
            ref = self.cell_row(b, 0)
            for t in range(1, len(self.levels)):
                rows.append(self.cell_row(b, t) - ref)
                keys.append((blab, self.levels[t], self.levels[0]))
        return np.vstack(rows), keys

    def type3_rows(self) -> dict[str, np.ndarray]:
        """Contrast matrix of each term's type III hypothesis (as lmerTest's ``anova(type = 3)``).

        Time and ``by``, when both are in the model with their interaction, are tested on the
        unweighted averages of the cell means over the other factor's levels (SAS type III);
        with linear time, ``by`` differences are at time 0 and the time effect is the average
        slope.  The interaction and the covariates are tested on their own columns.
        """
        p = len(self.names)
        out: dict[str, np.ndarray] = {}
        T = len(self.levels)
        blev = list(range(len(self.by_levels))) if self.by_levels is not None else [None]
        if self.time_as == "categorical":
            base = np.mean([self.cell_row(b, 0) for b in blev], axis=0)
            out[self.time] = np.vstack([np.mean([self.cell_row(b, t) for b in blev], axis=0) - base
                                        for t in range(1, T)])
        else:
            out[self.time] = np.mean([self.cell_row(b, None, 1.0) - self.cell_row(b, None, 0.0) for b in blev],
                                     axis=0)[None, :]
        if self.by is not None and self.by_levels is not None:
            def avg(b: int) -> np.ndarray:
                if self.time_as == "categorical":
                    return np.mean([self.cell_row(b, t) for t in range(T)], axis=0)
                return self.cell_row(b, None, 0.0)

            a0 = avg(0)
            out[self.by] = np.vstack([avg(b) - a0 for b in range(1, len(self.by_levels))])
            icols = self.terms[f"{self.time}:{self.by}"]
            out[f"{self.time}:{self.by}"] = np.eye(p)[icols]
        for c in self.cov_terms:
            out[c] = np.eye(p)[self.terms[c]]
        return out


class _Columns:
    """The design matrix as it is built: columns, their names, and which term owns which columns."""

    def __init__(self, gcode: np.ndarray, keep: np.ndarray) -> None:
        self.gcode, self.keep = gcode, keep
        self.n_g = int(gcode.max()) + 1
        self.cols: list[np.ndarray] = [np.ones(len(gcode))]
        self.names = ["Intercept"]
        self.terms: dict[str, list[int]] = {}
        self.factor_groups: dict[str, dict[str, int]] = {}
        self.group_level: dict[str, bool] = {}

    def add(self, term: str, arrays: list[np.ndarray], labels: list[str]) -> None:
        self.terms[term] = list(range(len(self.names), len(self.names) + len(labels)))
        self.cols.extend(arrays)
        self.names.extend(labels)

    def relevel(self, f: _Factor) -> tuple[np.ndarray, list[str]]:
        """A factor's codes on the kept rows, renumbered over the levels that occur there."""
        codes = f.codes[self.keep]
        used = np.flatnonzero(np.bincount(codes, minlength=len(f.levels)) > 0)
        return _contiguous(codes), [f.levels[i] for i in used]

    def groups_per(self, codes: np.ndarray, k: int) -> np.ndarray:
        """Number of groups with rows in each of the k levels (O(n): a k x G presence table)."""
        present = np.bincount(codes * self.n_g + self.gcode, minlength=k * self.n_g) > 0
        return present.reshape(k, self.n_g).sum(axis=1)

    def is_group_level(self, values: np.ndarray) -> bool:
        """True when the value is the same on every row of a group (O(n), no sort)."""
        last = np.empty(self.n_g, dtype=values.dtype)
        last[self.gcode] = values  # one of each group's values
        return bool(np.array_equal(values, last[self.gcode]))

    def add_factor(self, name: str, codes: np.ndarray, levels: list[str]) -> None:
        self.add(name, [(codes == k).astype(float) for k in range(1, len(levels))],
                 [f"{name}[T.{lv}]" for lv in levels[1:]])
        self.factor_groups[name] = dict(zip(levels, self.groups_per(codes, len(levels)).tolist(), strict=True))
        self.group_level[name] = self.is_group_level(codes)

    def matrix(self) -> np.ndarray:
        X = np.empty((len(self.gcode), len(self.cols)))
        for j, arr in enumerate(self.cols):
            X[:, j] = arr
        self.cols.clear()
        return X


def _scored_frame(scores: pd.DataFrame, dataset: Any, *, dv: str, time: str, covariates: list[str], group: str,
                  subject: str, by: str | None) -> pd.DataFrame:
    """The scores with the group, ``by`` and covariate columns attached; checks names and the score dtype."""
    check_frame(scores, [subject, time, dv])
    clash = [c for c in covariates if c in (time, dv, subject, group, by)]
    if clash:
        raise ConfigError(f"covariate(s) {clash} are already in the model (time, score, member, group or by); "
                          "drop them from `covariates`.")
    need = [c for c in [group, *covariates, by] if c]
    df = attach_columns(scores, need, dataset, subject=subject, group=group)
    if not pd.api.types.is_numeric_dtype(df[dv]) or pd.api.types.is_bool_dtype(df[dv]):
        raise ValidationError(f"column {dv!r} must hold numeric scores; got dtype {df[dv].dtype}. Pass `dv=` "
                              "naming the score column.")
    return df


def _time_codes(tcol: pd.Series, time_values: Sequence[str] | None, dataset: Any) -> tuple[np.ndarray, list[str]]:
    """Each row's timepoint code in the timepoint order (-1 where missing) and the ordered labels."""
    t_raw, t_lab = _factorise(tcol)  # each column is hashed once; the rest works on integer codes
    if isinstance(tcol.dtype, pd.CategoricalDtype):
        present = pd.Series(pd.Categorical(t_lab, categories=[str(c) for c in tcol.cat.categories]))
    else:
        present = pd.Series(t_lab, dtype=object)
    levels = time_levels(present, time_values, dataset)
    return _recode(t_raw, t_lab, levels), levels


def _predictors(df: pd.DataFrame, by: str | None, covariates: list[str], miss_cols: dict[str, np.ndarray]
                ) -> tuple[dict[str, np.ndarray], list[_Factor], _Factor | None]:
    """Numeric covariates, factor covariates and the ``by`` factor; each one's missing rows go to ``miss_cols``."""
    factors: list[_Factor] = []
    numeric: dict[str, np.ndarray] = {}
    by_f: _Factor | None = None
    for c in [*([by] if by else []), *covariates]:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col) and c != by:
            v = col.to_numpy(dtype=float, na_value=np.nan)
            numeric[c] = v
            miss_cols[c] = ~np.isfinite(v)
        else:
            raw, lab = _factorise(col)
            f = _Factor(c, _recode(raw, lab, sorted(set(lab))), sorted(set(lab)))
            miss_cols[c] = f.codes < 0
            if c == by:
                by_f = f
            else:
                factors.append(f)
    return numeric, factors, by_f


def _incomplete_rows(ok: np.ndarray, miss_cols: dict[str, np.ndarray]) -> tuple[np.ndarray, int, str]:
    """Rows with a score but a missing grouping or covariate value: left out, counted and warned."""
    incomplete = np.zeros(len(ok), dtype=bool)
    what = []
    for c, mask in miss_cols.items():
        hit = ok & mask
        if hit.any():
            what.append(c)
            incomplete |= hit
    n_dropped = int(incomplete.sum())
    note = ""
    if n_dropped:
        note = f"{n_dropped} score row(s) left out for missing {', '.join(what)}"
        warnings.warn(f"mixed_model: {note}.", DataQualityWarning, stacklevel=4)
    return incomplete, n_dropped, note


def _add_covariates(b: _Columns, covariates: list[str], numeric: dict[str, np.ndarray],
                    factors: list[_Factor]) -> list[str]:
    for c in covariates:
        if c in numeric:
            v = numeric[c][b.keep]
            if np.ptp(v) == 0:
                raise ValidationError(f"covariate {c!r} is constant among the rows with scores; drop it.")
            b.add(c, [v], [c])
            b.group_level[c] = b.is_group_level(v)
        else:
            codes, lv = b.relevel(next(f for f in factors if f.name == c))
            if len(lv) < 2:
                raise ValidationError(f"covariate {c!r} has a single level ({lv}) among the rows with scores; "
                                      "drop it.")
            b.add_factor(c, codes, lv)
    return list(covariates)


def _add_interaction(b: _Columns, *, time: str, by: str, time_as: str, levels: list[str], by_levels: list[str],
                     bcode: np.ndarray, t_numeric: np.ndarray | None) -> None:
    nb, T = len(by_levels) - 1, len(levels)
    bd = [(bcode == k).astype(float) for k in range(1, nb + 1)]
    if time_as == "categorical":
        # time varies fastest within each by level (R's and patsy's column order)
        arrays = [b.cols[b.terms[time][t]] * bd[k] for k in range(nb) for t in range(T - 1)]
        labels = [f"{time}[T.{levels[t + 1]}]:{by}[T.{by_levels[k + 1]}]" for k in range(nb) for t in range(T - 1)]
    else:
        if t_numeric is None:  # pragma: no cover - linear time always has its numbers
            raise ValidationError("linear time needs numeric timepoints.")
        arrays = [t_numeric * bd[k] for k in range(nb)]
        labels = [f"{time}:{by}[T.{by_levels[k + 1]}]" for k in range(nb)]
    b.add(f"{time}:{by}", arrays, labels)


def build_design(scores: pd.DataFrame, dataset: Any, *, dv: str, time: str, covariates: Sequence[str],
                 group: str, subject: str, time_values: Sequence[str] | None, by: str | None, time_as: str,
                 time_map: Mapping[Any, Any] | None, need_numeric_time: bool) -> MixedDesign:
    """Codes, design matrix and numeric time of the mixed model; rows with a missing value are left out (warned)."""
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    df = _scored_frame(scores, dataset, dv=dv, time=time, covariates=covariates, group=group, subject=subject, by=by)
    y_all = df[dv].to_numpy(dtype=float, na_value=np.nan)
    tcode_all, levels = _time_codes(df[time], time_values, dataset)
    g_raw = pd.factorize(df[group], use_na_sentinel=True)[0].astype(np.int64)  # codes only: no labels needed
    m_raw = pd.factorize(df[subject], use_na_sentinel=True)[0].astype(np.int64)
    ok = np.isfinite(y_all) & (tcode_all >= 0)
    miss_cols: dict[str, np.ndarray] = {group: g_raw < 0, subject: m_raw < 0}
    numeric, factors, by_f = _predictors(df, by, covariates, miss_cols)
    incomplete, n_dropped, note = _incomplete_rows(ok, miss_cols)
    keep = np.flatnonzero(ok & ~incomplete)
    tcode = tcode_all[keep]
    used_levels = np.flatnonzero(np.bincount(tcode, minlength=len(levels)) > 0)
    if len(used_levels) < 2:
        raise ValidationError(f"the mixed model needs scores at two or more timepoints; found {levels}.")
    y = y_all[keep]
    if len(used_levels) < len(levels):  # a timepoint whose every score row was left out
        levels = [levels[i] for i in used_levels]
        tcode = _contiguous(tcode)
    gcode, mcode = _contiguous(g_raw[keep]), _contiguous(m_raw[keep])
    weeks, t_numeric = None, None
    if time_as == "linear" or need_numeric_time:
        weeks = time_numbers(levels, time_map)
        t_numeric = np.array([weeks[lv] for lv in levels])[tcode]
    b = _Columns(gcode, keep)
    if time_as == "categorical":
        b.add(time, [(tcode == k).astype(float) for k in range(1, len(levels))],
              [f"{time}[T.{lv}]" for lv in levels[1:]])
    else:
        if t_numeric is None:  # pragma: no cover - computed above for linear time
            raise ValidationError("linear time needs numeric timepoints.")
        b.add(time, [t_numeric], [time])
    bcode, by_levels = None, None
    if by_f is not None and by is not None:
        bcode, by_levels = b.relevel(by_f)
        if len(by_levels) < 2:
            raise ValidationError(f"`by={by!r}` has a single level ({by_levels}) among the rows with scores; "
                                  "a comparison needs two or more.")
        b.add_factor(by, bcode, by_levels)
    cov_terms = _add_covariates(b, covariates, numeric, factors)
    if bcode is not None and by_levels is not None and by is not None:
        _add_interaction(b, time=time, by=by, time_as=time_as, levels=levels, by_levels=by_levels, bcode=bcode,
                         t_numeric=t_numeric)
    X = b.matrix()
    rhs = [time + ("" if time_as == "categorical" else " (numeric)")]
    if by:
        rhs = [f"{rhs[0]} * {by}"]
    formula = f"{dv} ~ " + " + ".join([*rhs, *covariates])
    return MixedDesign(y=y, X=X, names=b.names, gcode=gcode, mcode=mcode, tcode=tcode, levels=levels, time=time,
                       time_as=time_as, weeks=weeks, t_numeric=t_numeric, by=by, bcode=bcode, by_levels=by_levels,
                       terms=b.terms, factor_groups=b.factor_groups, group_level=b.group_level,
                       n_dropped=n_dropped, dropped_note=note, col_means=X.mean(axis=0), formula=formula,
                       cov_terms=cov_terms)
