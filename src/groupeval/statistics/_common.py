"""Shared helpers of the statistics layer (owner: outcomes/models).

Small, vectorised building blocks used by the outcome and model modules of the
statistics layer (other statistics modules may import them too):

* input checks that raise :class:`~groupeval.exceptions.SchemaError` /
  :class:`~groupeval.exceptions.ConfigError` listing every problem;
* :func:`resolve_instrument` (a registry name or any object with the
  instrument contract's attributes);
* :func:`paired_frame` (long scores -> one row per member with ``pre`` and
  ``post``), :func:`attach_columns` (join group / member attributes);
* closed-form interval helpers: :func:`wilson_ci`, :func:`nct_ci`,
  :func:`hedges_j`, :func:`rubin_pool` (defined in :mod:`._intervals`,
  re-exported here);
* few groups: the thresholds :data:`MIN_GROUPS` / :data:`MIN_GROUPS_PER_LEVEL`,
  :func:`cluster_mean` (CR2 / CR1 variance and df of a mean, closed form) and
  :func:`p_adjust` (Holm, Benjamini-Hochberg, Bonferroni as R's ``p.adjust``);
  cluster-robust regressions live in :mod:`groupeval.statistics.robust`.

Nothing here rounds.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import ConfigError, Problem, SchemaError, ValidationError
from ._intervals import hedges_j, nct_ci, nct_ci_vec, rubin_pool, wilson_ci

__all__ = [
    "check_frame", "check_choice", "resolve_instrument", "instrument_name", "paired_frame", "attach_columns",
    "wilson_ci", "nct_ci", "nct_ci_vec", "hedges_j", "rubin_pool", "design_info_of", "MIN_GROUPS",
    "MIN_GROUPS_PER_LEVEL", "VCOV_TYPES", "check_vcov", "cluster_mean", "p_adjust", "dataset_arg", "ci_arg",
    "check_ci", "time_levels", "formula_term"
]


# ---------------------------------------------------------------------------
# argument and input checks
# ---------------------------------------------------------------------------
def check_frame(df: Any, columns: Iterable[str], *, what: str = "scores", fix: str = "") -> None:
    """Raise :class:`SchemaError` unless ``df`` is a DataFrame holding ``columns``.

    Every missing column is listed at once.
    """
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"`{what}` must be a pandas DataFrame, got {type(df).__name__}.")
    missing = [c for c in dict.fromkeys(columns) if c is not None and c not in df.columns]
    if missing:
        problems = [Problem(None, None, c, None, f"`{what}` has no column {c!r}",
                            fix or f"pass a table with a {c!r} column or name the right column with the "
                                   f"matching keyword (available: {', '.join(map(str, df.columns))})")
                    for c in missing]
        raise SchemaError(f"`{what}` lacks required column(s)", problems)


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise :class:`ConfigError` naming the argument, the allowed values and what was given."""
    if value not in allowed:
        allowed_txt = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"`{name}` must be one of {allowed_txt}; got {value!r}.")


def resolve_instrument(instrument: Any) -> Any:
    """Return an instrument object from a registry name or an instrument-like object.

    Any object with ``higher_is_better``, ``reliability`` and ``norms``
    attributes (the instrument contract) is accepted as is, so users and
    tests can pass their own.
    """
    if instrument is None:
        return None
    if isinstance(instrument, str):
        try:
            from ..base import instruments
        except ImportError as exc:  # pragma: no cover - registry not installed
            raise ConfigError(f"cannot look up instrument {instrument!r}: the instrument registry is "
                              f"unavailable ({exc}). Pass an Instrument object instead.") from exc
        try:
            return instruments.get(instrument)
        except Exception as exc:  # registry raises its own error type; re-raise ours
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"unknown instrument {instrument!r}: {exc}") from exc
    missing = [a for a in ("higher_is_better",) if not hasattr(instrument, a)]
    if missing:
        raise ConfigError(f"`instrument` must be a registry name or an Instrument; the object given "
                          f"({type(instrument).__name__}) lacks {', '.join(missing)}.")
    return instrument


def instrument_name(instrument: Any) -> str | None:
    if instrument is None:
        return None
    return getattr(instrument, "name", None) or getattr(instrument, "label", None)


def _timepoint_problem(scores: pd.DataFrame, time: str, tp: str, role: str) -> Problem:
    present = pd.unique(scores[time].dropna().astype(str))
    return Problem(None, None, time, tp, f"`{role}` timepoint {tp!r} does not occur in the scores",
                   f"use one of {', '.join(map(repr, present[:20]))}")


def paired_frame(scores: pd.DataFrame, pre: str, post: str, *, dv: str = "score",
                 subject: str = "member_id", time: str = "timepoint",
                 keep: Sequence[str] = ()) -> tuple[pd.DataFrame, dict[str, int]]:
    """Long scores -> one row per subject with ``pre`` and ``post`` values.

    Parameters
    ----------
    scores
        Long table with ``subject``, ``time`` and ``dv``.
    pre, post
        The two timepoints.
    keep
        Extra columns carried over (taken from the ``pre`` row, or the
        ``post`` row when the subject has no ``pre`` row).

    Returns
    -------
    (frame, counts)
        ``frame`` has ``subject``, ``pre``, ``post`` (NaN where missing) and
        the ``keep`` columns, one row per subject seen at either timepoint.
        ``counts`` gives ``n_pre`` (subjects with a pre value), ``n_post``,
        ``n_paired``, ``n_pre_only``, ``n_post_only``.

    Raises
    ------
    SchemaError
        Missing columns.
    ConfigError
        ``pre`` equals ``post`` or a timepoint does not occur.
    ValidationError
        A subject has two rows at the same timepoint (all listed).
    """
    check_frame(scores, [subject, time, dv, *keep])
    if pre == post:
        raise ConfigError(f"`pre` and `post` are the same timepoint ({pre!r}); choose two different timepoints.")
    # factorise the (few) timepoint labels once instead of comparing millions of strings
    tcodes, tuniq = pd.factorize(scores[time], use_na_sentinel=True)
    tlabels = np.asarray([str(u) for u in tuniq], dtype=object)
    problems = [_timepoint_problem(scores, time, t, role) for t, role in ((pre, "pre"), (post, "post"))
                if t not in set(tlabels)]
    if problems:
        raise ConfigError("timepoint not found", problems)
    if not pd.api.types.is_numeric_dtype(scores[dv]):
        raise SchemaError(f"column {dv!r} must be numeric (scores), got dtype {scores[dv].dtype}; "
                          f"pass `dv=` naming a numeric score column.")
    c_pre = np.flatnonzero(tlabels == pre)
    c_post = np.flatnonzero(tlabels == post)
    is_pre = np.isin(tcodes, c_pre)
    is_post = np.isin(tcodes, c_post)
    rows = np.flatnonzero(is_pre | is_post)
    role = is_post[rows].astype(np.int64)  # 0 = pre, 1 = post
    ids = scores[subject].to_numpy()[rows]
    codes, uniq = pd.factorize(ids)
    n_u = len(uniq)
    if (codes < 0).any():
        raise ValidationError(f"{int((codes < 0).sum())} score row(s) have no {subject!r}",
                              [Problem(None, None, subject, None, "missing member id",
                                       "give every score row its member id")])
    cnt = np.bincount(codes * 2 + role, minlength=2 * n_u)
    if (cnt > 1).any():
        bad = np.flatnonzero(cnt > 1)
        probs = [Problem(None, None, subject, f"{uniq[k // 2]} @ {(pre, post)[k % 2]}",
                         "more than one score for this member at this timepoint",
                         "keep one row per member and timepoint (e.g. the first completed survey)")
                 for k in bad.tolist()]
        raise ValidationError("scores are not one row per member and timepoint", probs)
    vals = pd.to_numeric(scores[dv], errors="coerce").to_numpy(dtype=float)[rows]
    pre_v = np.full(n_u, np.nan)
    post_v = np.full(n_u, np.nan)
    pos_pre = np.full(n_u, -1, dtype=np.int64)
    pos_post = np.full(n_u, -1, dtype=np.int64)
    r0, r1 = role == 0, role == 1
    pre_v[codes[r0]] = vals[r0]
    post_v[codes[r1]] = vals[r1]
    pos_pre[codes[r0]] = np.flatnonzero(r0)
    pos_post[codes[r1]] = np.flatnonzero(r1)
    # a missing score counts as no score; keep columns come from the row that has one (pre first)
    src = np.where(~np.isnan(pre_v) | np.isnan(post_v), np.where(pos_pre >= 0, pos_pre, pos_post), pos_post)
    uniq = np.asarray(uniq, dtype=object)
    if pd.api.types.infer_dtype(uniq, skipna=False) != "string":  # ids are strings (DESIGN); convert others
        uniq = uniq.astype(str).astype(object)
    out = pd.DataFrame({subject: uniq, "pre": pre_v, "post": post_v})
    seen = ~(np.isnan(pre_v) & np.isnan(post_v))
    for c in keep:
        out[c] = scores[c].iloc[rows[src]].to_numpy() if len(src) else scores[c].iloc[:0].to_numpy()
    out = out.loc[seen].reset_index(drop=True)
    has_pre, has_post = ~np.isnan(out["pre"].to_numpy()), ~np.isnan(out["post"].to_numpy())
    counts = {"n_pre": int(has_pre.sum()), "n_post": int(has_post.sum()),
              "n_paired": int((has_pre & has_post).sum()),
              "n_pre_only": int((has_pre & ~has_post).sum()),
              "n_post_only": int((~has_pre & has_post).sum())}
    return out, counts


def attach_columns(frame: pd.DataFrame, columns: Sequence[str], data: Any = None, *,
                   subject: str = "member_id", group: str = "group_id",
                   what: str = "scores") -> pd.DataFrame:
    """Add ``columns`` missing from ``frame`` from ``data.members`` or ``data.groups``.

    Member attributes (e.g. ``age_band``) join on ``subject``; group
    attributes (``group_type``, ``facilitation``) join on ``group``.  A
    missing ``group`` column is first taken from ``data.members``.  Raises
    :class:`SchemaError` listing every column that cannot be found.
    """
    need = [c for c in dict.fromkeys(columns) if c and c not in frame.columns]
    if not need:
        return frame
    out = frame
    members = getattr(data, "members", None) if data is not None else None
    groups = getattr(data, "groups", None) if data is not None else None
    problems: list[Problem] = []
    if isinstance(members, pd.DataFrame) and subject in members.columns:
        mcols = [c for c in need if c in members.columns and c != subject]
        if group in need or (any(c not in members.columns for c in need) and group not in out.columns):
            if group in members.columns and group not in mcols:
                mcols.append(group)
        mcols = [c for c in mcols if c not in out.columns]
        if mcols:
            m = members[[subject, *mcols]].copy()
            m[subject] = m[subject].astype("string")
            if m[subject].duplicated().any():
                # a member enrolled in several groups: keep the first enrolment
                sort_col = "enrolled_on" if "enrolled_on" in members.columns else None
                if sort_col:
                    m = m.assign(_e=members[sort_col].values).sort_values("_e", kind="stable").drop(columns="_e")
                m = m.drop_duplicates(subject)
            out = out.assign(**{subject: out[subject].astype("string")}).merge(m, on=subject, how="left")
    if isinstance(groups, pd.DataFrame) and "group_id" in groups.columns and group in out.columns:
        gcols = [c for c in need if c in groups.columns and c not in out.columns and c != "group_id"]
        if gcols:
            g = groups[["group_id", *gcols]].drop_duplicates("group_id").copy()
            g["group_id"] = g["group_id"].astype("string")
            out = out.assign(**{group: out[group].astype("string")}).merge(
                g.rename(columns={"group_id": group}), on=group, how="left")
    for c in need:
        if c not in out.columns:
            where = "scores" if data is None else "scores, data.members or data.groups"
            problems.append(Problem(None, None, c, None, f"column {c!r} is not in {where}",
                                    "pass `data=` (the Dataset) so group and member attributes can be joined, "
                                    "or add the column to the scores"))
    if problems:
        raise SchemaError(f"cannot find the columns asked for in `{what}`", problems)
    return out


# ---------------------------------------------------------------------------
# few groups: thresholds and the cluster-robust mean
# ---------------------------------------------------------------------------
#: Fewer groups than this in a comparison (overall) gives a SmallSampleWarning:
#: CR2 tests keep their level from about 4 groups (benchmarks/mc_cluster_inference.py),
#: but their df and power are small.
MIN_GROUPS = 6
#: Fewer groups than this in a compared level (e.g. a group type) gives a
#: SmallSampleWarning; with a single group in a level, no cluster-aware test of
#: that level exists (its effect is confounded with that one group) and none is reported.
MIN_GROUPS_PER_LEVEL = 3
#: Cluster-robust variance types offered wherever groupeval clusters by group.
VCOV_TYPES = ("CR2", "CR1")


def check_vcov(vcov: str) -> str:
    """Validate the ``vcov=`` keyword (``"CR2"`` default, ``"CR1"`` as an option)."""
    v = str(vcov).upper()
    if v not in VCOV_TYPES:
        raise ConfigError(f"`vcov` must be one of {', '.join(map(repr, VCOV_TYPES))}; got {vcov!r}.")
    return v


def cluster_mean(resid: np.ndarray, level: np.ndarray, cluster: np.ndarray, n_levels: int, *,
                 vcov: str = "CR2") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Cluster-robust variance and df of a mean, for every level at once.

    ``resid`` are the deviations of each value from its level's mean,
    ``level`` the level code (0 .. ``n_levels`` - 1) and ``cluster`` the
    group code of each value.  This is the intercept-only regression of the
    values on 1 within each level, so the closed forms are exact:

    .. math::
        V_{CR2} = \frac{1}{n^2}\sum_g \frac{S_g^2}{1 - n_g/n},\qquad
        \nu = \frac{n^2}{\sum_g n_g^2 + \big(\sum_g b_g\big)^2 - \sum_g b_g^2},\quad
        b_g = \frac{n_g^2}{n - n_g}

    with :math:`S_g` the sum of the residuals of group :math:`g`: the CR2
    adjustment :math:`(I - H_{gg})^{-1/2}` acts on the constant direction of a
    group only, and :math:`\nu` is the Bell & McCaffrey (2002) Satterthwaite df
    (equal sizes give :math:`\nu = G - 1`).  ``vcov="CR1"``:
    :math:`V = \frac{G}{G-1}\sum_g S_g^2/n^2` with df :math:`G - 1`.

    Returns
    -------
    (n_groups, variance, df)
        Arrays of length ``n_levels``; variance and df are NaN for a level with
        fewer than two groups.

    In R: ``clubSandwich::coef_test(lm(y ~ 1), vcov = "CR2", cluster = g, test = "Satterthwaite")``.
    """
    vcov = check_vcov(vcov)
    resid = np.asarray(resid, dtype=float)
    ok = ~pd.isna(cluster)
    gcode, _ = pd.factorize(np.asarray(cluster)[ok])
    lev = np.asarray(level)[ok].astype(np.int64)
    r = resid[ok]
    ng = int(gcode.max()) + 1 if len(gcode) else 1
    cu, cinv = np.unique(lev * ng + gcode, return_inverse=True)
    s_g = np.bincount(cinv, r, len(cu))
    n_g = np.bincount(cinv, minlength=len(cu)).astype(float)
    cl = cu // ng
    n = np.bincount(cl, n_g, n_levels)
    G = np.bincount(cl, minlength=n_levels).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if vcov == "CR2":
            share = n_g / n[cl]
            var = np.bincount(cl, np.where(share < 1, s_g**2 / (1 - share), np.nan), n_levels) / n**2
            b = n_g**2 / (n[cl] - n_g)
            sb, sb2 = np.bincount(cl, b, n_levels), np.bincount(cl, b**2, n_levels)
            df = n**2 / (np.bincount(cl, n_g**2, n_levels) + sb**2 - sb2)
        else:
            var = G / (G - 1) * np.bincount(cl, s_g**2, n_levels) / n**2
            df = G - 1
    few = G < 2
    var = np.where(few, np.nan, var)
    df = np.where(few, np.nan, df)
    return G.astype(int), var, df


def p_adjust(p: Any, method: str = "holm") -> np.ndarray:
    r"""Multiplicity-adjusted p-values, as R's ``p.adjust``.

    ``"holm"``: :math:`\tilde p_{(i)} = \max_{j\le i} \min(1, (m - j + 1) p_{(j)})`;
    ``"fdr_bh"`` (Benjamini-Hochberg): :math:`\tilde p_{(i)} = \min_{j\ge i} \min(1, m p_{(j)}/j)`;
    ``"bonferroni"``: :math:`\min(1, m p)`; ``"none"``.  NaN p-values are
    left out of :math:`m` and stay NaN (as ``p.adjust`` with ``NA``).

    Computed directly (statsmodels' ``multipletests`` calls ``gc.collect()``
    on its Holm branch, seconds per report).

    In R: ``p.adjust(p, "holm")``, ``p.adjust(p, "BH")``, ``p.adjust(p, "bonferroni")``.
    """
    check_choice("correction", method, ("holm", "fdr_bh", "bonferroni", "none"))
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0 or method == "none":
        out[ok] = q
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, m * q)
        return out
    if method == "holm":
        order = np.argsort(q, kind="stable")
        adj = np.maximum.accumulate((m - np.arange(m)) * q[order])
    else:
        order = np.argsort(q, kind="stable")[::-1]
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * q[order])
    res = np.empty(m)
    res[order] = np.minimum(1.0, adj)
    out[ok] = res
    return out


def design_info_of(model: Any) -> Any:
    """The patsy DesignInfo of a statsmodels formula model (``model_spec`` in statsmodels >= 0.15)."""
    data = model.data
    info = getattr(data, "model_spec", None) or getattr(data, "design_info", None)
    if info is None:  # pragma: no cover - depends on the statsmodels version
        raise RuntimeError("cannot find the design of the statsmodels formula model")
    return info


def as_str_id(s: pd.Series) -> pd.Series:
    return s.astype("string")


def z_crit(ci: float) -> float:
    return float(stats.norm.ppf(0.5 + ci / 2))


def tidy_norms(norms: Mapping[str, Any] | None) -> dict[str, tuple[float, float] | None]:
    out: dict[str, tuple[float, float] | None] = {"clinical": None, "functional": None}
    if norms:
        for k in out:
            v = norms.get(k) if hasattr(norms, "get") else None
            if v is not None:
                if len(v) != 2:
                    raise ConfigError(f"norms[{k!r}] must be a (mean, sd) pair; got {v!r}.")
                m, s = float(v[0]), float(v[1])
                if not (np.isfinite(m) and np.isfinite(s) and s > 0):
                    raise ConfigError(f"norms[{k!r}] must be a finite mean and a positive SD; got {v!r}.")
                out[k] = (m, s)
        bad = [k for k in norms if k not in out]
        if bad:
            raise ConfigError(f"unknown norms key(s) {bad}; use 'clinical' and/or 'functional'.")
    return out


def check_ci(ci: float) -> None:
    if not (0 < ci < 1):
        raise ConfigError(f"`ci` must be between 0 and 1 (e.g. 0.95); got {ci!r}.")


def time_levels(values: pd.Series, time_values: Sequence[str] | None, data: Any) -> list[str]:
    present = list(pd.unique(values.dropna().astype(str)))
    if time_values is None and data is not None and getattr(data, "timepoints", None):
        time_values = [t for t in data.timepoints if t in present]
    if time_values is None:
        if isinstance(values.dtype, pd.CategoricalDtype):
            return [str(c) for c in values.cat.categories if c in present]
        return present
    unknown = [t for t in present if t not in time_values]
    if unknown:
        raise ConfigError("timepoints in the scores are missing from `time_values`",
                          [Problem(None, None, None, t, "timepoint not listed in `time_values`",
                                   "add it to `time_values` (in order) or drop those rows") for t in unknown])
    return [str(t) for t in time_values if t in present]


def formula_term(name: str) -> str:
    return f'Q("{name}")'


def dataset_arg(dataset: Any, data: Any, where: str) -> Any:
    """The Dataset argument, accepting the deprecated ``data=`` spelling with a DeprecationWarning."""
    if data is None:
        return dataset
    warnings.warn(f"{where}: `data=` is deprecated; pass the Dataset as `dataset=`.", DeprecationWarning,
                  stacklevel=3)
    if dataset is not None and dataset is not data:
        raise ConfigError(f"{where}: pass the Dataset once, as `dataset=` (got both `dataset=` and `data=`).")
    return data


def ci_arg(ci: float, alpha: float | None, where: str) -> float:
    """The confidence level, accepting the deprecated ``alpha=`` (= 1 - ci) with a DeprecationWarning."""
    if alpha is not None:
        warnings.warn(f"{where}: `alpha=` is deprecated; pass the confidence level as `ci=` (ci = 1 - alpha).",
                      DeprecationWarning, stacklevel=3)
        ci = 1.0 - float(alpha)
    check_ci(ci)
    return ci
