"""A realistic synthetic peer-support programme with known true parameters.

:func:`generate` simulates a programme of weekly support groups (attendance
registers, enrolments and exits, and three survey waves with four
questionnaires) and returns it as a canonical :class:`~groupeval.Dataset`
whose ``meta["truth"]`` holds the parameters it was drawn from, including
the **exact** expected mean change of every score that
:func:`groupeval.score` produces.  :func:`write_programme` writes a
dataset as the files a programme really keeps (a members sheet with raw
headers, one wide attendance sheet per group in an Excel workbook, a REDCap
raw export with its data dictionary and a ``groupeval.toml``), and
:func:`write_sample` does both (``groupeval sample DIR``).

The generative model is described in ``docs/sample.md`` and in the
docstring of :func:`generate`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..base.dataset import Dataset
from ..base.exceptions import ConfigError

__all__ = ["generate", "write_programme", "write_sample", "expected_scores", "expected_items", "ItemModel",
           "ITEM_MODELS", "SCORES", "DEFAULT_EFFECTS", "GROUP_TYPES", "TIMEPOINTS", "INSTRUMENTS"]

GROUP_TYPES = ("12-step", "cancer survivors", "postpartum depression", "mental-health recovery")
#: group types that run as open, ongoing groups (members may have joined
#: before the data window and may still be active at the cut-off); the
#: others run as closed 26-week cycles whose remaining members complete.
OPEN_TYPES = ("12-step", "mental-health recovery")
TIMEPOINTS = ("baseline", "week_12", "week_26")
INSTRUMENTS = ("brs", "who5", "whoqol_bref", "phq9")
PROGRAMME = "Sample peer support programme"

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("female", "male", "non-binary", "prefer not to say")
_AGE_P = {
    "12-step": (0.10, 0.22, 0.24, 0.22, 0.15, 0.07),
    "cancer survivors": (0.02, 0.06, 0.14, 0.24, 0.28, 0.26),
    "postpartum depression": (0.15, 0.55, 0.28, 0.02, 0.0, 0.0),
    "mental-health recovery": (0.14, 0.24, 0.22, 0.19, 0.14, 0.07),
}
_GENDER_P = {
    "12-step": (0.38, 0.58, 0.02, 0.02),
    "cancer survivors": (0.62, 0.35, 0.01, 0.02),
    "postpartum depression": (0.98, 0.0, 0.01, 0.01),
    "mental-health recovery": (0.55, 0.40, 0.03, 0.02),
}
_SITES = ("Northgate", "Riverside", "Eastfield", "Westbrook", "Central")
_FORMATS = ("in-person", "online", "hybrid")

#: default true effects on the latent well-being scale (SD units of the
#: baseline latent distribution; positive = better), by group type
DEFAULT_EFFECTS: dict[str, dict[str, float]] = {
    "12-step": {"week_12": 0.30, "week_26": 0.45},
    "cancer survivors": {"week_12": 0.20, "week_26": 0.35},
    "postpartum depression": {"week_12": 0.40, "week_26": 0.60},
    "mental-health recovery": {"week_12": 0.25, "week_26": 0.40},
}
#: how strongly each instrument's latent trait moves with the effect
INSTRUMENT_EFFECT_SCALE = {"brs": 0.8, "who5": 1.0, "whoqol_bref": 0.7, "phq9": 1.0}
#: dose: latent gain per SD of the member's attendance propensity z
DOSE_SLOPE = {"baseline": 0.0, "week_12": 0.10, "week_26": 0.20}


# ---------------------------------------------------------------------------
# the item model
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemModel:
    """Graded-response (normal-ogive) model of one instrument's items.

    ``P(X_j >= c | theta) = Phi(loading_j * (sign * theta - threshold_jc))``
    for the *keyed* (scored) response ``X_j`` in ``0..n_categories-1``; the
    raw response is ``item_min + X_j``, or ``item_max - X_j`` for
    reverse-keyed items.  ``sign`` is -1 for symptom scales (PHQ-9), whose
    item scores rise as well-being falls.
    """

    name: str
    n_items: int
    item_min: int
    item_max: int
    reverse: tuple[int, ...]
    sign: int
    loadings: tuple[float, ...]
    thresholds: tuple[tuple[float, ...], ...]   # n_items x (n_categories - 1), increasing

    @property
    def n_categories(self) -> int:
        return self.item_max - self.item_min + 1

    @property
    def columns(self) -> list[str]:
        return [f"{self.name}_{j}" for j in range(1, self.n_items + 1)]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.loadings, float), np.asarray(self.thresholds, float)


def _make_model(name: str, n_items: int, item_min: int, item_max: int, reverse: tuple[int, ...],
                sign: int, loading: float, base: tuple[float, ...], location: float) -> ItemModel:
    """Item parameters from a fixed deterministic pattern (not from the seed)."""
    j = np.arange(1, n_items + 1)
    loadings = loading * (1.0 + 0.15 * np.cos(1.7 * j))
    shift = 0.25 * np.sin(2.3 * j)
    thr = location + shift[:, None] + np.asarray(base)[None, :]
    return ItemModel(name, n_items, item_min, item_max, reverse, sign,
                     tuple(np.round(loadings, 4).tolist()),
                     tuple(tuple(row) for row in np.round(thr, 4).tolist()))


#: item models of the four sample instruments (fixed constants, documented)
ITEM_MODELS: dict[str, ItemModel] = {
    "brs": _make_model("brs", 6, 1, 5, (2, 4, 6), +1, 1.5, (-1.8, -0.6, 0.4, 1.6), 0.0),
    "who5": _make_model("who5", 5, 0, 5, (), +1, 1.6, (-2.0, -1.0, -0.2, 0.6, 1.5), 0.35),
    "whoqol_bref": _make_model("whoqol_bref", 26, 1, 5, (3, 4, 26), +1, 1.2, (-2.2, -1.1, 0.2, 1.6), -0.2),
    "phq9": _make_model("phq9", 9, 0, 3, (), -1, 1.5, (-0.9, 0.2, 1.0), 0.15),
}

_WHOQOL_DOMAINS = {
    "physical": (3, 4, 10, 15, 16, 17, 18),
    "psychological": (5, 6, 7, 11, 19, 26),
    "social": (20, 21, 22),
    "environment": (8, 9, 12, 13, 14, 23, 24, 25),
}


def _score_definitions() -> dict[str, dict[str, tuple[np.ndarray, float]]]:
    """Every score as an affine function of the scored (recoded) items.

    ``score = const + weights @ x`` where ``x`` are the item values after
    reverse-keying, on the item's own range.  Mirrors the scoring rules of
    ``/work/shared/instruments.md`` (and :func:`groupeval.score`) for
    complete item sets.
    """
    defs: dict[str, dict[str, tuple[np.ndarray, float]]] = {}
    defs["brs"] = {"score": (np.full(6, 1 / 6), 0.0)}
    defs["who5"] = {"score": (np.full(5, 4.0), 0.0), "raw": (np.full(5, 1.0), 0.0)}
    defs["phq9"] = {"score": (np.full(9, 1.0), 0.0)}
    wq: dict[str, tuple[np.ndarray, float]] = {}
    for dom, items in _WHOQOL_DOMAINS.items():
        w = np.zeros(26)
        w[np.asarray(items) - 1] = 1.0 / len(items)
        wq[dom] = (25.0 * w, -25.0)              # (4 * mean - 4) * 100 / 16
        wq[f"{dom}_4_20"] = (4.0 * w, 0.0)
    for q in (1, 2):
        w = np.zeros(26)
        w[q - 1] = 1.0
        wq[("overall_qol", "health_satisfaction")[q - 1]] = (w, 0.0)
    defs["whoqol_bref"] = wq
    return defs


SCORES = _score_definitions()
#: the score whose change is reported under ``truth["change"]``
MAIN_SCORE = {"brs": "score", "who5": "score", "phq9": "score", "whoqol_bref": None}


def _prob_at_least(model: ItemModel, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """P(X_j >= c) for theta ~ N(mean, var); shape (..., n_items, n_categories - 1)."""
    lam, thr = model.arrays()
    mean = np.asarray(mean, float)[..., None, None]
    var = np.asarray(var, float)[..., None, None]
    z = lam[:, None] * (model.sign * mean - thr) / np.sqrt(1.0 + lam[:, None] ** 2 * var)
    return special.ndtr(z)


def expected_items(model: ItemModel, mean: float | np.ndarray, var: float | np.ndarray) -> np.ndarray:
    """Exact expected *scored* item values when the latent trait is N(mean, var).

    ``E[X_j] = item_min + sum_c Phi(lambda_j (s m - tau_jc) / sqrt(1 + lambda_j^2 v))``
    (the normal-ogive graded response model integrated over a normal
    latent trait in closed form).
    """
    return model.item_min + _prob_at_least(model, mean, var).sum(axis=-1)


def expected_scores(instrument: str, mean: float | np.ndarray, var: float | np.ndarray) -> dict[str, np.ndarray]:
    """Exact expected value of every score of ``instrument`` under the item model.

    Parameters
    ----------
    instrument
        One of ``"brs"``, ``"who5"``, ``"whoqol_bref"``, ``"phq9"``.
    mean, var
        Mean and variance of the normal latent well-being trait.

    Returns
    -------
    dict
        score column name -> expected value (same shape as ``mean``).
    """
    model = ITEM_MODELS[instrument]
    ex = expected_items(model, mean, var)
    return {name: const + ex @ w for name, (w, const) in SCORES[instrument].items()}


# ---------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------
def _weibull_scale_mixture(share: float, shape: float, hr: np.ndarray, at: float = 26.0) -> float:
    """Weibull scale (peer groups) such that the members' mean P(T <= at) is ``share``.

    With hazard ratio ``h_i``, ``P(T_i <= at) = 1 - exp(-h_i (at / scale)^shape)``;
    the mean over members is increasing in ``c = (at / scale)^shape``, solved
    by Brent's method.
    """
    from scipy.optimize import brentq

    hr = np.asarray(hr, float)
    if hr.size == 0 or np.allclose(hr, 1.0):
        c = -math.log1p(-share)
    else:
        c = brentq(lambda c: float(np.mean(-np.expm1(-c * hr))) - share, 1e-12, 1e3, xtol=1e-14, rtol=1e-14)
    return at / c ** (1.0 / shape)


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows sum to 1), vectorised inverse CDF."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(probs))
    return (u[:, None] > cum).sum(axis=1)


#: the string dtype of canonical text columns (as groupeval.validation produces)
STRING_DTYPE = pd.StringDtype("pyarrow")


def _markov_attendance(rng: np.random.Generator, idx: np.ndarray, p: np.ndarray, r: float,
                       n_members: int) -> np.ndarray:
    """Attendance marks as a stationary two-state Markov chain per member.

    ``idx`` gives the member of each row; a member's rows are contiguous and
    in session order.  Member ``i`` attends with marginal probability
    ``p_i`` at every session; the lag-1 autocorrelation is ``r`` clipped to
    the feasible range ``[max(1 - 1/p, -p/(1-p)), 1)``:
    ``P(attend | attended last) = p + r (1 - p)``,
    ``P(attend | missed last) = p (1 - r)``.  Negative ``r`` makes long runs
    of absences rarer than independent draws would.  The loop runs over the
    session position (at most ``weeks + 1`` steps), vectorised over members.
    """
    n = len(idx)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    count = np.bincount(idx, minlength=n_members)
    starts = np.cumsum(count) - count
    pi = p
    lo = np.maximum(1.0 - 1.0 / pi, -pi / (1.0 - pi))
    ri = np.clip(r, lo, 0.999)
    p_aa = pi + ri * (1.0 - pi)
    p_am = pi * (1.0 - ri)
    u = rng.random(n)
    has = count > 0
    rows = starts[has]
    members = np.flatnonzero(has)
    out[rows] = u[rows] < pi[members]
    for j in range(1, int(count.max())):
        keep = count[members] > j
        members, rows = members[keep], rows[keep] + 1
        prev = out[rows - 1]
        out[rows] = u[rows] < np.where(prev, p_aa[members], p_am[members])
    return out


def _str(values: Any) -> pd.Series:
    return pd.Series(values, dtype=STRING_DTYPE)


def _take(labels: Any, codes: np.ndarray) -> pd.Series:
    """``labels[codes]`` as a pyarrow-backed string Series (null where code < 0), fast."""
    import pyarrow as pa

    arr = pa.array(np.asarray(labels, dtype=object), type=pa.string())
    codes = np.asarray(codes, dtype=np.int64)
    taken = arr.take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.arrays.ArrowStringArray(taken))


def generate(seed: int = 2025, *, n_groups: int | None = None, weeks: int = 26,
             members_per_group: tuple[int, int] = (14, 24), n_members: int | None = None,
             start: str | pd.Timestamp = "2025-01-06", icc: float = 0.05,
             dropout_26w: float = 1 / 3, attendance_rate: float = 0.75, attendance_spread: float = 0.35,
             attendance_autocorr: float = -0.4, attendance_group_sd: float = 0.2,
             cofacilitated_dropout_hr: float = 0.7,
             effects: Mapping[str, Mapping[str, float]] | None = None, effect_scale: float = 1.0,
             enrol_weeks: int = 8, cancel_rate: float = 0.04,
             programme: str = PROGRAMME) -> Dataset:
    """Simulate a realistic peer-support programme with known true parameters.

    Parameters
    ----------
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed and
        arguments give the same dataset.
    n_groups
        Number of groups (default 12, or ``round(n_members / 19)`` when
        ``n_members`` is given).  Group types cycle through
        :data:`GROUP_TYPES`, so every type is present from 4 groups on.
    weeks
        Length of the data window in weeks; each group meets weekly, giving
        ``weeks + 1`` scheduled sessions (week 0 .. ``weeks``).  At least 16;
        with fewer than 26 the ``week_26`` survey is taken at the last session.
    members_per_group
        Inclusive range of the number of members per group (uniform).
    n_members
        Total number of members, split across groups at random (overrides
        ``members_per_group``).  Use it to scale the programme (100 000
        members take a few seconds).
    start
        Date of the earliest first session; group ``i`` first meets
        ``start + (i mod 5)`` days (weekdays when ``start`` is a Monday).
    icc
        Intraclass correlation of the latent outcome within groups.
    dropout_26w
        True probability of dropping out (stopping attending) within 26
        weeks of enrolment.
    attendance_rate
        Mean probability of attending a scheduled session before dropping out.
    attendance_spread
        ``rho``: spread of the members' attendance propensities on the probit
        scale (0 = everyone alike).
    attendance_autocorr
        Lag-1 autocorrelation of a member's successive marks (negative =
        absences rarely come in runs).
    attendance_group_sd
        SD of a group-level shift of the attendance propensities (probit
        scale): groups differ in engagement.
    cofacilitated_dropout_hr
        Hazard ratio of dropping out in co-facilitated versus peer-led
        groups (proportional hazards).
    effects
        ``{group_type: {"week_12": d, "week_26": d}}`` true effects on the
        latent scale (defaults :data:`DEFAULT_EFFECTS`).
    effect_scale
        Multiplies every effect (``0`` gives a programme with no true change).
    enrol_weeks
        Rolling enrolment: members join at one of the sessions of weeks
        1..``enrol_weeks`` (or at the first session, or before the window).
    cancel_rate
        Probability that a session (other than the first and last) is cancelled.
    programme
        Programme name stored in ``meta["programme"]``.

    Returns
    -------
    Dataset
        Canonical tables (see :mod:`groupeval.schema`), ``timepoints =
        ("baseline", "week_12", "week_26")``, ``cutoff`` = the last session
        date, and ``meta`` with ``programme``, ``instruments``, ``seed`` and
        ``truth``.

        * ``groups``: ``group_id`` (``G01``...), ``group_type``,
          ``facilitation`` (``peer`` / ``co-facilitated``), ``format``,
          ``site``, ``meeting_frequency`` (``weekly``), ``start_date`` (the
          first session for closed groups; the founding date, 1-3 years
          before the data window, for open groups), ``end_date`` (closed
          groups only).
        * ``members``: ``member_id`` (``M0001``...), ``group_id``,
          ``enrolled_on``, ``exited_on``, ``exit_reason``, ``age_band``,
          ``gender``.
        * ``sessions``: ``group_id``, ``session_date``, ``cancelled``.
        * ``attendance``: ``member_id``, ``group_id``, ``session_date``,
          ``attended``, ``status`` (``present`` / ``late`` / ``absent`` /
          ``excused``); no rows for cancelled sessions.
        * ``responses``: ``member_id``, ``timepoint``, ``completed_on``,
          ``group_id`` and the raw items ``brs_1..6``, ``who5_1..5``,
          ``whoqol_bref_1..26``, ``phq9_1..9`` (float, NaN = not answered).

    Notes
    -----
    **Groups and sessions.** Group types cycle 12-step, cancer survivors,
    postpartum depression, mental-health recovery.  12-step groups are
    peer-led; the others alternate peer / co-facilitated.  12-step and
    mental-health recovery groups are *open* (ongoing; some members joined
    before the data window; members still attending at the end are active,
    with no exit), the other two are *closed* 26-week cycles (members still
    attending at the last session exit as ``completed`` on that date).

    **Enrolment.** In open groups 25 % of members enrolled 1-52 weeks
    before the first session in the data (left truncation); otherwise 45 %
    join at the first session and the rest at a uniformly chosen session of
    weeks 1..``enrol_weeks``.  ``enrolled_on`` is the date of the member's
    first scheduled session (or of an earlier session of the group).

    **Dropout.** Each member stops attending after ``T`` weeks of
    membership, Weibull with shape 0.8 and proportional hazards by
    facilitation: ``P(T > t) = exp(-h_i (t / lambda)^0.8)`` with ``h_i = 1``
    in peer-led and ``cofacilitated_dropout_hr`` in co-facilitated groups,
    and ``lambda`` solved (Brent) so that the members' mean ``P(T <= 26)``
    is ``dropout_26w``.  For members enrolled ``L`` weeks before the window,
    ``T`` is drawn conditionally on ``T > L``.  A member who stops inside
    the window misses every later session; 45 % get an explicit exit
    ``dropped``, 15 % ``moved``, 5 % ``other`` recorded 1-3 weeks after
    they stopped (if before the cut-off), the rest none.  ``T`` is
    independent of the outcome.

    **Attendance.** Before stopping, member ``i`` attends each scheduled,
    non-cancelled session with marginal probability ``p_i = Phi(alpha + rho
    z_i + a_g)``, ``z_i ~ N(0, 1)``, ``a_g ~ N(0, attendance_group_sd^2)``,
    ``rho = attendance_spread``, ``alpha`` chosen so that ``E[p_i] =
    Phi(alpha / sqrt(1 + rho^2 + sd_a^2)) = attendance_rate``.
    Successive marks form a stationary two-state Markov chain with lag-1
    autocorrelation ``attendance_autocorr`` (clipped to the feasible range
    for ``p_i``): a member who missed a session tends to come back, so
    chance runs of three absences (which a "3 missed in a row" dropout rule
    would read as dropout) are rarer than with independent draws.  Present
    marks are ``late`` with probability 0.1; absences before stopping are
    ``excused`` with probability 0.2.  After stopping every scheduled
    session (until a recorded exit or the cut-off) is ``absent``, so the
    observed attendance rate over all scheduled sessions is about 0.71.

    **Outcomes.** One latent well-being trait per member and timepoint,

    .. math:: \\theta_{k,it} = \\kappa_k \\delta_{type(i),t} + \\gamma_t z_i + u_g + b_i + e_{it},

    ``u_g ~ N(0, icc)``, ``b_i ~ N(0, 0.6 (1 - icc))``, ``e_it ~ N(0, 0.4
    (1 - icc))`` (baseline variance 1), ``delta`` the effects (0 at
    baseline), ``kappa_k`` :data:`INSTRUMENT_EFFECT_SCALE`, ``gamma_t``
    :data:`DOSE_SLOPE` (more attendance-prone members gain more).  Items
    follow a normal-ogive graded-response model (:class:`ItemModel`,
    parameters in :data:`ITEM_MODELS`); reverse-keyed raw items are
    ``item_max + item_min - x``.  Marginally ``theta ~ N(m, v)``, so each
    expected item value is a sum of normal CDFs, and every expected score
    (an affine function of the items) is exact — see
    :func:`expected_scores`.

    **Surveys and missingness.** Baseline at enrolment (at the start of the
    window for members enrolled before it), ``week_12`` and ``week_26``
    about 12 and 26 weeks after the group's first session in the data
    (``week_26`` on or before the last session).  Baseline is returned by
    95 %; a follow-up by 85 % (week 12) / 80 % (week 26) of members still
    attending at that time and by 35 % / 25 % of those who stopped.  Within
    a returned survey, an instrument is skipped whole with probability 1 %
    (4 % for members who drop out in the window) and each item is left
    blank with probability 1 % (4 %).  Missingness depends only on
    dropout, which is independent of the outcome, so complete cases are
    unbiased for the truth.

    **Truth** (``meta["truth"]``), key by key:

    * ``icc`` — latent ICC ``var(u) / (var(u) + var(b) + var(e))`` at baseline.
    * ``variance_components`` — ``{"group", "member", "occasion"}`` latent variances.
    * ``score_icc`` — ``{instrument: {score: ICC}}`` of each observed
      score at baseline implied by the model (exact, by Gauss-Hermite
      quadrature).
    * ``dropout_share_26w`` — mean ``P(T <= 26)`` over the members: share
      stopping within 26 weeks of enrolment (a rule such as "3 missed sessions in a row"
      also flags some chance runs of absences, so it estimates slightly more).
    * ``dropout_model`` — ``{"distribution": "weibull", "shape", "scale_weeks"}``
      (``scale_weeks`` of peer-led groups).
    * ``dropout_hazard_ratio`` — ``{"peer": 1.0, "co-facilitated": hr}``.
    * ``dropout_share_26w_by_facilitation`` — ``{"peer": p, "co-facilitated": p}``.
    * ``attendance_rate`` — ``E[p_i]``, attendance while still attending.
    * ``attendance_model`` — ``{"alpha", "rho", "autocorr", "group_sd"}``.
    * ``effects`` — ``{group_type: {timepoint: delta}}`` (latent SD units).
    * ``instrument_effect_scale``, ``dose_slope`` — ``kappa_k`` and ``gamma_t``.
    * ``expected_score`` — ``{instrument: {score: {group_type: {timepoint: E}}}}``.
    * ``change`` — ``{instrument: {"week_12": x, "week_26": y}}``: exact
      expected mean change from baseline of the instrument's main score
      (BRS mean 1-5; WHO-5 percentage 0-100; PHQ-9 sum 0-27, negative =
      improvement) among members with complete items at both timepoints;
      for ``whoqol_bref`` (no single main score) ``{"week_12": {domain: x},
      ...}`` for the four 0-100 domains.  Overall values average the group
      types weighted by the expected number of members with both surveys
      complete in each type.
    * ``change_by_group_type`` — ``{instrument: {group_type: {timepoint: x}}}``
      (``whoqol_bref`` again per domain).
    * ``change_subscales`` — ``{instrument: {score: {timepoint: x}}}`` for
      every score column (WHO-5 ``raw``, WHOQOL domains on 0-100 and
      4-20, ``q1``, ``q2``).
    * ``n_members_by_group_type``, ``response_model``.

    In R: there is no equivalent; see ``simstudy`` for similar simulations.

    References
    ----------
    .. [1] Samejima F. Estimation of latent ability using a response pattern
       of graded scores. Psychometrika Monograph Supplement 17, 1969.
    .. [2] Scoring rules of the instruments: ``docs/instruments.md``.

    Examples
    --------
    >>> from groupeval import sample
    >>> ds = sample.generate(seed=1)
    >>> round(ds.meta["truth"]["change"]["phq9"]["week_26"], 2) < 0
    True
    """
    # ---- arguments --------------------------------------------------------
    problems = []
    if weeks < 16:
        problems.append(f"weeks must be at least 16, so the last survey follows week 12 (got {weeks!r})")
    try:
        lo, hi = (int(x) for x in members_per_group)
    except (TypeError, ValueError):
        lo, hi = 0, -1
    if not (1 <= lo <= hi):
        problems.append(f"members_per_group must be (low, high) with 1 <= low <= high (got {members_per_group!r})")
    if n_members is not None and n_members < 1:
        problems.append(f"n_members must be a positive integer (got {n_members!r})")
    if not 0.0 <= icc < 1.0:
        problems.append(f"icc must be in [0, 1) (got {icc!r})")
    if not 0.0 < dropout_26w < 1.0:
        problems.append(f"dropout_26w must be in (0, 1) (got {dropout_26w!r})")
    if not 0.0 < attendance_rate < 1.0:
        problems.append(f"attendance_rate must be in (0, 1) (got {attendance_rate!r})")
    if not cofacilitated_dropout_hr > 0:
        problems.append(f"cofacilitated_dropout_hr must be positive (got {cofacilitated_dropout_hr!r})")
    if not attendance_group_sd >= 0:
        problems.append(f"attendance_group_sd must be >= 0 (got {attendance_group_sd!r})")
    if not -1.0 < attendance_autocorr < 1.0:
        problems.append(f"attendance_autocorr must be in (-1, 1) (got {attendance_autocorr!r})")
    if not attendance_spread >= 0:
        problems.append(f"attendance_spread must be >= 0 (got {attendance_spread!r})")
    if not 0.0 <= cancel_rate < 1.0:
        problems.append(f"cancel_rate must be in [0, 1) (got {cancel_rate!r})")
    if not 1 <= enrol_weeks <= 10:
        problems.append(f"enrol_weeks must be between 1 and 10, so baseline precedes week 12 (got {enrol_weeks!r})")
    eff = {t: dict(v) for t, v in DEFAULT_EFFECTS.items()}
    if effects is not None:
        bad = sorted(set(effects) - set(GROUP_TYPES))
        if bad:
            problems.append(f"effects has unknown group types {bad}; allowed: {list(GROUP_TYPES)}")
        for t, v in effects.items():
            if t in eff:
                badtp = sorted(set(v) - {"week_12", "week_26"})
                if badtp:
                    problems.append(f"effects[{t!r}] has unknown timepoints {badtp}; allowed: week_12, week_26")
                eff[t].update({k: float(x) for k, x in v.items() if k in ("week_12", "week_26")})
    if n_groups is not None and n_groups < 1:
        problems.append(f"n_groups must be a positive integer (got {n_groups!r})")
    try:
        start_ts = pd.Timestamp(start).normalize()
    except (ValueError, TypeError):
        problems.append(f"start must be a date such as '2025-01-06' (got {start!r})")
        start_ts = None
    if problems:
        raise ConfigError("generate() got invalid arguments: " + "; ".join(problems))
    if n_groups is None:
        n_groups = 12 if n_members is None else max(4, int(round(n_members / ((lo + hi) / 2))))

    rng = np.random.default_rng(seed)
    G, K = int(n_groups), weeks + 1
    TP = len(TIMEPOINTS)

    # ---- groups ----------------------------------------------------------
    gi = np.arange(G)
    gtype = gi % 4
    is_open = np.isin(gtype, [GROUP_TYPES.index(t) for t in OPEN_TYPES])
    facil = np.where((gtype == 0) | ((gi // 4) % 2 == 1), "peer", "co-facilitated")
    fmt_p = np.array([[0.85, 0.05, 0.10], [0.55, 0.25, 0.20], [0.40, 0.40, 0.20], [0.60, 0.25, 0.15]])
    fmt = np.asarray(_FORMATS)[_categorical(rng, fmt_p[gtype])]
    site = np.asarray(_SITES)[rng.integers(0, len(_SITES), G)]
    first = (start_ts + pd.to_timedelta(gi % 5, unit="D")).values.astype("datetime64[D]")
    last = first + np.timedelta64(7 * weeks, "D")
    # open groups were founded 53-156 weeks before the data window (before any member's enrolment)
    founded = np.where(is_open, first - (7 * rng.integers(53, 157, G)).astype("timedelta64[D]"), first)
    width = max(2, len(str(G)))
    gid = np.char.add("G", np.char.zfill((gi + 1).astype(str), width))
    groups = pd.DataFrame({
        "group_id": _str(gid),
        "group_type": _str(np.asarray(GROUP_TYPES)[gtype]),
        "facilitation": _str(facil),
        "format": _str(fmt),
        "site": _str(site),
        "meeting_frequency": _str(np.full(G, "weekly")),
        "start_date": pd.to_datetime(founded).astype("datetime64[ns]"),
        "end_date": pd.to_datetime(np.where(is_open, np.datetime64("NaT"), last)).astype("datetime64[ns]"),
    })

    # ---- sessions ----------------------------------------------------------
    cancelled = rng.random((G, K)) < cancel_rate
    cancelled[:, [0, K - 1]] = False
    if cancel_rate > 0 and not cancelled.any():
        cancelled[rng.integers(0, G), rng.integers(1, K - 1)] = True
    sess_dates = first[:, None] + (7 * np.arange(K)).astype("timedelta64[D]")
    sessions = pd.DataFrame({
        "group_id": _str(np.repeat(gid, K)),
        "session_date": pd.to_datetime(sess_dates.ravel()).astype("datetime64[ns]"),
        "cancelled": cancelled.ravel(),
    })

    # ---- members ------------------------------------------------------------
    if n_members is not None:
        sizes = rng.multinomial(int(n_members), np.full(G, 1.0 / G))
    else:
        sizes = rng.integers(lo, hi + 1, G)
    M = int(sizes.sum())
    g = np.repeat(gi, sizes)
    mtype = gtype[g]
    mopen = is_open[g]
    # enrolment week relative to the group's first session (negative = before the window)
    u = rng.random(M)
    pre = mopen & (u < 0.25)
    at_start = ~pre & (rng.random(M) < 0.45)
    w = np.where(at_start, 0, rng.integers(1, enrol_weeks + 1, M))
    w = np.where(pre, -rng.integers(1, 53, M), w)
    enrolled = first[g] + (7 * w).astype("timedelta64[D]")

    # dropout time T (weeks since enrolment), conditional on T > L for late entry
    # proportional hazards: co-facilitated groups lose members at cofacilitated_dropout_hr x the rate
    shape = 0.8
    h = np.where(facil[g] == "co-facilitated", cofacilitated_dropout_hr, 1.0)
    scale = _weibull_scale_mixture(dropout_26w, shape, h)
    L = np.where(pre, -w, 0).astype(float)
    T = scale * ((L / scale) ** shape - np.log(rng.random(M)) / h) ** (1.0 / shape)
    s_last = weeks - w                                    # weeks since enrolment at the last session
    stopper = T <= s_last
    # exits
    reason_idx = _categorical(rng, np.tile([0.45, 0.15, 0.05, 0.35], (M, 1)))   # dropped/moved/other/none
    lag = rng.integers(7, 22, M)
    stop_day = enrolled + np.ceil(7 * T).astype("int64").astype("timedelta64[D]")
    exit_date = stop_day + lag.astype("timedelta64[D]")
    recorded = stopper & (reason_idx < 3) & (exit_date <= last[g])
    completes = ~stopper & ~mopen
    exit_reason = np.full(M, None, dtype=object)
    exit_reason[recorded] = np.asarray(["dropped", "moved", "other"])[reason_idx[recorded]]
    exit_reason[completes] = "completed"
    exited = np.full(M, np.datetime64("NaT"), dtype="datetime64[D]")
    exited[recorded] = exit_date[recorded]
    exited[completes] = last[g][completes]
    # covariates
    age = _categorical(rng, np.asarray([_AGE_P[t] for t in GROUP_TYPES])[mtype])
    gender = _categorical(rng, np.asarray([_GENDER_P[t] for t in GROUP_TYPES])[mtype])
    mwidth = max(4, len(str(M)))
    mid = np.char.add("M", np.char.zfill((np.arange(M) + 1).astype(str), mwidth))
    members = pd.DataFrame({
        "member_id": _str(mid),
        "group_id": _take(gid, g),
        "enrolled_on": pd.to_datetime(enrolled).astype("datetime64[ns]"),
        "exited_on": pd.to_datetime(exited).astype("datetime64[ns]"),
        "exit_reason": _str(exit_reason),
        "age_band": _take(AGE_BANDS, age),
        "gender": _take(GENDERS, gender),
    })

    # ---- attendance ---------------------------------------------------------
    rho = float(attendance_spread)
    sd_a = float(attendance_group_sd)
    alpha = float(special.ndtri(attendance_rate) * math.sqrt(1 + rho ** 2 + sd_a ** 2))
    z = rng.standard_normal(M)
    a_g = rng.normal(0.0, sd_a, G)
    p_att = special.ndtr(alpha + rho * z + a_g[g])
    k0 = np.maximum(w, 0)
    k_exit = np.where(np.isnat(exited), weeks,
                      ((exited - first[g]).astype("timedelta64[D]").astype("int64")) // 7)
    k1 = np.minimum(weeks, k_exit)
    count = np.maximum(k1 - k0 + 1, 0)
    idx = np.repeat(np.arange(M), count)
    starts = np.cumsum(count) - count
    k = k0[idx] + (np.arange(count.sum()) - starts[idx])
    keep = ~cancelled[g[idx], k]
    idx, k = idx[keep], k[keep]
    s = (k - w[idx]).astype(float)
    active = s < T[idx]
    attended = active & _markov_attendance(rng, idx, p_att, attendance_autocorr, M)
    r = rng.random(len(idx))
    status_idx = np.where(attended, np.where(r < 0.1, 1, 0), np.where(active & (r < 0.2), 3, 2))
    attendance = pd.DataFrame({
        "member_id": _take(mid, idx),
        "group_id": _take(gid, g[idx]),
        "session_date": pd.to_datetime(sess_dates[g[idx], k]).astype("datetime64[ns]"),
        "attended": attended,
        "status": _take(["present", "late", "absent", "excused"], status_idx),
    })

    # ---- outcomes -------------------------------------------------------------
    var_u = icc
    var_b = 0.6 * (1.0 - icc)
    var_e = 0.4 * (1.0 - icc)
    u_g = rng.normal(0.0, math.sqrt(var_u), G)
    b_i = rng.normal(0.0, math.sqrt(var_b), M)
    e_it = rng.normal(0.0, math.sqrt(var_e), (M, TP))
    delta = np.zeros((4, TP))
    for ti, tp in enumerate(TIMEPOINTS[1:], start=1):
        delta[:, ti] = [effect_scale * eff[t][tp] for t in GROUP_TYPES]
    gamma = np.asarray([DOSE_SLOPE[tp] for tp in TIMEPOINTS])
    common = (u_g[g] + b_i)[:, None] + e_it + gamma[None, :] * z[:, None]      # M x TP

    # survey anchors (weeks since the group's first session) and response
    anchor = np.asarray([0, min(12, weeks), min(26, weeks)])
    stopped_before = np.column_stack([np.zeros(M, bool)] + [T < (a - w) for a in anchor[1:]])
    p_resp_active = np.asarray([0.95, 0.85, 0.80])
    p_resp_stopped = np.asarray([0.95, 0.35, 0.25])
    p_resp = np.where(stopped_before, p_resp_stopped[None, :], p_resp_active[None, :])
    responded = rng.random((M, TP)) < p_resp
    base_day = np.where(pre, first[g], enrolled) + rng.integers(0, 7, M).astype("timedelta64[D]")
    jitter12 = np.clip(np.rint(rng.normal(0, 4, M)), -6, 9).astype("int64")
    wk12 = first[g] + (7 * anchor[1] + jitter12).astype("timedelta64[D]")
    wk26 = first[g] + (7 * anchor[2] - rng.integers(0, 11, M)).astype("timedelta64[D]")
    done = np.column_stack([base_day, wk12, wk26])
    ri, rt = np.nonzero(responded)                     # row-major: member order, then timepoint
    R = len(ri)
    resp_cols: dict[str, Any] = {
        "member_id": _take(mid, ri),
        "timepoint": _take(TIMEPOINTS, rt),
        "completed_on": pd.to_datetime(done[ri, rt]).astype("datetime64[ns]"),
        "group_id": _take(gid, g[ri]),
    }
    q_item = np.where(stopper[ri], 0.04, 0.01)
    q_block = q_item
    for name in INSTRUMENTS:
        model = ITEM_MODELS[name]
        lam, thr = model.arrays()
        theta = INSTRUMENT_EFFECT_SCALE[name] * delta[mtype[ri], rt] + common[ri, rt]
        ystar = lam[None, :] * (model.sign * theta)[:, None] + rng.standard_normal((R, model.n_items))
        keyed = (ystar[:, :, None] > (lam[:, None] * thr)[None, :, :]).sum(axis=2)
        raw = (model.item_min + keyed).astype(float)
        if model.reverse:
            rev = np.asarray(model.reverse) - 1
            raw[:, rev] = model.item_max + model.item_min - raw[:, rev]
        blank = (rng.random((R, model.n_items)) < q_item[:, None]) | (rng.random(R) < q_block)[:, None]
        raw[blank] = np.nan
        for j, col in enumerate(model.columns):
            resp_cols[col] = raw[:, j]
    responses = pd.DataFrame(resp_cols)

    # ---- truth --------------------------------------------------------------------
    truth = _truth(
        eff=eff, effect_scale=effect_scale, icc=icc, var=(var_u, var_b, var_e), gamma=gamma,
        mtype=mtype, stopper=stopper, stopped_before=stopped_before, p_resp=p_resp,
        dropout=(dropout_26w, shape, scale, cofacilitated_dropout_hr, h),
        attendance=(attendance_rate, alpha, rho, attendance_autocorr, sd_a),
        q=(0.01, 0.04),
    )
    truth["response_model"] = {
        "baseline": 0.95, "follow_up_attending": {"week_12": 0.85, "week_26": 0.80},
        "follow_up_stopped": {"week_12": 0.35, "week_26": 0.25},
        "instrument_skipped": {"attending": 0.01, "dropout": 0.04},
        "item_blank": {"attending": 0.01, "dropout": 0.04},
    }
    meta = {"programme": programme, "instruments": INSTRUMENTS, "truth": truth, "seed": seed,
            "source": f"groupeval.sample.generate(seed={seed})"}
    return Dataset(groups=groups, members=members, sessions=sessions, attendance=attendance,
                   responses=responses, timepoints=TIMEPOINTS,
                   cutoff=pd.Timestamp(last.max()), meta=meta)


def _truth(*, eff, effect_scale, icc, var, gamma, mtype, stopper, stopped_before, p_resp,
           dropout, attendance, q) -> dict[str, Any]:
    var_u, var_b, var_e = var
    v_t = var_u + var_b + var_e + gamma ** 2                          # latent variance per timepoint
    n_by_type = np.bincount(mtype, minlength=4)
    expected: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    change_sub: dict[str, dict[str, dict[str, float]]] = {}
    change_type: dict[str, dict[str, dict[str, Any]]] = {}
    change: dict[str, dict[str, Any]] = {}
    q_att, q_drop = q
    for name in INSTRUMENTS:
        kappa = INSTRUMENT_EFFECT_SCALE[name]
        means = np.zeros((4, len(TIMEPOINTS)))
        for ti, tp in enumerate(TIMEPOINTS[1:], start=1):
            means[:, ti] = [kappa * effect_scale * eff[t][tp] for t in GROUP_TYPES]
        ex = expected_scores(name, means, np.broadcast_to(v_t, means.shape))   # score -> (4, TP)
        expected[name] = {sc: {t: {tp: float(val[a, b]) for b, tp in enumerate(TIMEPOINTS)}
                               for a, t in enumerate(GROUP_TYPES)} for sc, val in ex.items()}
        change_sub[name] = {}
        by_type: dict[str, dict[str, dict[str, float]]] = {sc: {} for sc in ex}
        for sc, val in ex.items():
            n_used = int(np.count_nonzero(SCORES[name][sc][0]))
            # probability that a member's score is complete in one survey
            p_complete = np.where(stopper, (1 - q_drop) ** (n_used + 1), (1 - q_att) ** (n_used + 1))
            change_sub[name][sc] = {}
            for ti, tp in enumerate(TIMEPOINTS[1:], start=1):
                d = val[:, ti] - val[:, 0]
                weight_i = p_resp[:, 0] * p_resp[:, ti] * p_complete ** 2
                wt = np.bincount(mtype, weights=weight_i, minlength=4)
                change_sub[name][sc][tp] = float((wt * d).sum() / wt.sum()) if wt.sum() > 0 else float("nan")
                for a, t in enumerate(GROUP_TYPES):
                    by_type[sc].setdefault(t, {})[tp] = float(d[a])
        main = MAIN_SCORE[name]
        if main is not None:
            change[name] = dict(change_sub[name][main])
            change_type[name] = by_type[main]
        else:
            doms = list(_WHOQOL_DOMAINS)
            change[name] = {tp: {d: change_sub[name][d][tp] for d in doms} for tp in TIMEPOINTS[1:]}
            change_type[name] = {t: {tp: {d: by_type[d][t][tp] for d in doms} for tp in TIMEPOINTS[1:]}
                                 for t in GROUP_TYPES}
    share, shape, scale, hr, h = dropout
    rate, alpha, rho, autocorr, sd_a = attendance
    c26 = (26.0 / scale) ** shape
    return {
        "icc": float(var_u / (var_u + var_b + var_e)),
        "variance_components": {"group": float(var_u), "member": float(var_b), "occasion": float(var_e)},
        "score_icc": _score_icc(var_u, var_b + var_e),
        "dropout_share_26w": float(share),
        "dropout_model": {"distribution": "weibull", "shape": float(shape), "scale_weeks": float(scale)},
        "dropout_hazard_ratio": {"peer": 1.0, "co-facilitated": float(hr)},
        "dropout_share_26w_by_facilitation": {"peer": float(-math.expm1(-c26)),
                                              "co-facilitated": float(-math.expm1(-c26 * hr))},
        "attendance_rate": float(rate),
        "attendance_model": {"alpha": float(alpha), "rho": float(rho), "autocorr": float(autocorr),
                             "group_sd": float(sd_a)},
        "effects": {t: {tp: float(effect_scale * eff[t][tp]) for tp in TIMEPOINTS[1:]} for t in GROUP_TYPES},
        "instrument_effect_scale": dict(INSTRUMENT_EFFECT_SCALE),
        "dose_slope": {tp: float(x) for tp, x in zip(TIMEPOINTS, gamma)},
        "expected_score": expected,
        "change": change,
        "change_by_group_type": change_type,
        "change_subscales": change_sub,
        "n_members_by_group_type": {t: int(n) for t, n in zip(GROUP_TYPES, n_by_type)},
    }


def _score_icc(var_group: float, var_within: float, n_nodes: int = 96) -> dict[str, dict[str, float]]:
    """ICC of each observed score at baseline implied by the item model.

    ``ICC = Var_u(E[S | u]) / Var(S)`` with ``Var(S) = Var_theta(E[S|theta]) +
    E_theta[Var(S|theta)]`` (items are independent given theta); the outer
    expectations are Gauss-Hermite quadratures over the normal latent terms,
    the inner ones closed-form normal CDFs.
    """
    x, wts = np.polynomial.hermite_e.hermegauss(n_nodes)
    wts = wts / wts.sum()
    out: dict[str, dict[str, float]] = {}
    v_total = var_group + var_within
    for name in INSTRUMENTS:
        model = ITEM_MODELS[name]
        # given theta exactly: var 0
        theta = x * math.sqrt(v_total)
        p = _prob_at_least(model, theta, np.zeros_like(theta))           # nodes x items x cats
        c = np.arange(1, model.n_categories)
        ex = p.sum(-1)                                                     # E[X_j | theta] (keyed)
        ex2 = (p * (2 * c - 1)).sum(-1)
        var_item = ex2 - ex ** 2
        # given u only: theta | u ~ N(u, var_within)
        uu = x * math.sqrt(var_group)
        ex_u = _prob_at_least(model, uu, np.full_like(uu, var_within)).sum(-1)
        out[name] = {}
        for sc, (wv, _const) in SCORES[name].items():
            es = ex @ wv
            total = (wts * (es - wts @ es) ** 2).sum() + wts @ (var_item @ wv ** 2)
            esu = ex_u @ wv
            between = (wts * (esu - wts @ esu) ** 2).sum()
            out[name][sc] = float(between / total) if var_group > 0 else 0.0
    return out


# ---------------------------------------------------------------------------
# writing the files a programme keeps
# ---------------------------------------------------------------------------
#: raw headers of members.csv -> canonical names (written to groupeval.toml)
MEMBER_HEADERS = {"Participant ID": "member_id", "Group": "group_id", "Enrolled": "enrolled_on",
                  "Exited": "exited_on", "Exit reason": "exit_reason", "Age band": "age_band",
                  "Gender": "gender"}
#: REDCap form of each instrument (the export has a ``<form>_complete`` column per form)
REDCAP_FORMS = {"brs": "brief_resilience_scale", "who5": "who5_wellbeing_index",
                "whoqol_bref": "whoqol_bref", "phq9": "phq9"}
REDCAP_EVENTS = {"baseline_arm_1": "baseline", "week_12_arm_1": "week_12", "week_26_arm_1": "week_26"}
_MARKS = {"present": "P", "absent": "A", "excused": "E", "late": "L"}
ATTENDANCE_LAYOUTS = ("wide-xlsx", "roster-csv")
SURVEY_LAYOUTS = ("redcap", "wide-csv")
_DICT_COLUMNS = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]


def _date_text(s: pd.Series) -> pd.Series:
    return s.dt.strftime("%Y-%m-%d").astype("string")


def _item_columns(dataset: Dataset) -> list[str]:
    prefixes = tuple(f"{name}_" for name in dataset.meta.get("instruments", INSTRUMENTS))
    return [c for c in dataset.responses.columns
            if c.startswith(prefixes) and c[c.rindex("_") + 1:].isdigit()]


@dataclass(frozen=True)
class _WideLayout:
    """Where every attendance mark goes in the per-group wide sheets."""

    groups: list[str]                  # sheet names (group ids), sorted
    member_ids: list[np.ndarray]       # per sheet: member ids in row order
    dates: list[np.ndarray]            # per sheet: held session dates in column order
    sheet: np.ndarray                  # per mark: sheet index
    row: np.ndarray                    # per mark: 0-based member row
    col: np.ndarray                    # per mark: 0-based session column
    mark: np.ndarray                   # per mark: "P" / "A" / "E" / "L"


def _wide_layout(dataset: Dataset) -> _WideLayout:
    """Vectorised placement of the attendance marks into one sheet per group."""
    att = dataset.attendance
    attended = att["attended"].to_numpy(bool)
    fallback = np.where(attended, "P", "A").astype(object)
    if "status" in att.columns:
        marks = att["status"].astype(object).map(_MARKS).to_numpy(dtype=object)
        marks = np.where(pd.isna(marks), fallback, marks)
    else:
        marks = fallback
    sessions = dataset.sessions
    held = sessions[~sessions["cancelled"].to_numpy(bool)] if "cancelled" in sessions.columns else sessions
    held = (held[["group_id", "session_date"]].astype({"group_id": object}).drop_duplicates()
            .sort_values(["group_id", "session_date"]))
    members = (dataset.members[["group_id", "member_id"]].astype(object).drop_duplicates()
               .sort_values(["group_id", "member_id"]))
    groups = sorted(set(members["group_id"]))
    g_code = {g: i for i, g in enumerate(groups)}
    m_key = pd.MultiIndex.from_frame(members)
    s_key = pd.MultiIndex.from_frame(held)
    m_row = members.groupby("group_id", sort=False).cumcount().to_numpy()
    s_col = held.groupby("group_id", sort=False).cumcount().to_numpy()
    a_gid = att["group_id"].astype(object)
    a_m = m_key.get_indexer(pd.MultiIndex.from_arrays([a_gid, att["member_id"].astype(object)]))
    a_s = s_key.get_indexer(pd.MultiIndex.from_arrays([a_gid, att["session_date"]]))
    ok = (a_m >= 0) & (a_s >= 0)
    sheet = a_gid[ok].map(g_code).to_numpy(dtype=np.int64)
    ids = dict(tuple(members.groupby("group_id", sort=True)["member_id"]))
    dates = dict(tuple(held.groupby("group_id", sort=True)["session_date"]))
    empty = np.asarray([], dtype="datetime64[ns]")
    return _WideLayout(groups, [ids[g].to_numpy(dtype=object) for g in groups],
                       [dates[g].to_numpy() if g in dates else empty for g in groups],
                       sheet, m_row[a_m[ok]], s_col[a_s[ok]], marks[ok])


_XLSX_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_XLSX_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XLSX_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet {_XLSX_NS}><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_BAD_SHEET = set('[]:*?/\\')


def _col_letters(n: int) -> list[str]:
    out = []
    for i in range(1, n + 1):
        s = ""
        while i:
            i, r = divmod(i - 1, 26)
            s = chr(65 + r) + s
        out.append(s)
    return out


def _escape(arr):
    import pyarrow.compute as pc

    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        arr = pc.replace_substring(arr, a, b)
    return arr


def _sheets_xml(lay: _WideLayout) -> list[str]:
    """SpreadsheetML ``<sheetData>`` content of every sheet.

    Every piece (row opening with the member id, mark cell, row end) is built
    for all sheets at once with pyarrow string kernels, sorted by (sheet, row,
    column) and joined once per sheet.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n_cols = max([len(d) for d in lay.dates] + [0])
    letters = np.asarray(_col_letters(n_cols + 1), dtype=object)

    def s(values) -> pa.Array:
        return pa.array(np.asarray(values, dtype=object), type=pa.string())

    def join(*parts) -> pa.Array:
        return pc.binary_join_element_wise(*parts, "")

    # mark cells
    rnum = s((lay.row + 2).astype(str))
    cells = join('<c r="', s(letters[lay.col + 1]), rnum, '" t="inlineStr"><is><t>', s(lay.mark), "</t></is></c>")
    # row openings (member id in column A) and row ends
    n_rows = np.asarray([len(i) for i in lay.member_ids], dtype=np.int64)
    m_sheet = np.repeat(np.arange(len(lay.groups)), n_rows)
    m_row = np.arange(n_rows.sum()) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
    m_num = s((m_row + 2).astype(str))
    all_ids = np.concatenate(lay.member_ids) if lay.member_ids else np.asarray([], dtype=object)
    opens = join('<row r="', m_num, '"><c r="A', m_num, '" t="inlineStr"><is><t>',
                 _escape(s(all_ids.astype(str))), "</t></is></c>")
    ends = pa.array(np.full(len(m_row), "</row>", dtype=object), type=pa.string())
    pieces = pa.concat_arrays([opens, cells, ends]).to_numpy(zero_copy_only=False)
    sheet = np.concatenate([m_sheet, lay.sheet, m_sheet])
    row = np.concatenate([m_row, lay.row, m_row])
    col = np.concatenate([np.full(len(m_row), -1), lay.col, np.full(len(m_row), n_cols + 1)])
    order = np.lexsort((col, row, sheet))
    pieces, sheet = pieces[order], sheet[order]
    bounds = np.searchsorted(sheet, np.arange(len(lay.groups) + 1))
    out = []
    for i, dates in enumerate(lay.dates):            # one join per sheet
        serial = (dates.astype("datetime64[D]") - np.datetime64("1899-12-30", "D")).astype(np.int64)
        head = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Participant ID</t></is></c>'
                + "".join(f'<c r="{c}1" s="1"><v>{v}</v></c>' for c, v in zip(letters[1:], serial)) + "</row>")
        out.append(head + "".join(pieces[bounds[i]:bounds[i + 1]].tolist()))
    return out


def _write_wide_workbook(dataset: Dataset, path: Path) -> None:
    """One sheet per group: ``Participant ID`` then one column per held session
    (real Excel dates, format ``yyyy-mm-dd``), marks P/A/E/L, blank = not scheduled.

    The workbook is written directly as Office Open XML (a zip of XML parts;
    cells as inline strings) with vectorised string kernels, which is far
    faster than a cell-by-cell writer, and byte-for-byte reproducible (fixed
    zip timestamps).  openpyxl, pandas and spreadsheet programs read it.
    """
    import zipfile
    from xml.sax.saxutils import quoteattr

    lay = _wide_layout(dataset)
    bad = [g for g in lay.groups if not g or len(g) > 31 or set(g) & _BAD_SHEET]
    if bad:
        raise ConfigError(f"group ids {bad} cannot be Excel sheet names (1-31 characters, none of "
                          "[ ] : * ? / \\). Rename the groups or write attendance='roster-csv'.")
    n = len(lay.groups)
    sheets = "".join(f'<sheet name={quoteattr(g)} sheetId="{i}" r:id="rId{i}"/>' for i, g in enumerate(lay.groups, 1))
    xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    pkg_rel = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": (
            xml + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{ct}.worksheet+xml"/>'
                      for i in range(1, n + 1)) + "</Types>"),
        "_rels/.rels": (
            xml + f'<Relationships xmlns="{pkg_rel}">'
            f'<Relationship Id="rId1" Type="{_XLSX_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            xml + f'<workbook {_XLSX_NS} xmlns:r="{_XLSX_REL}"><sheets>{sheets}</sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            xml + f'<Relationships xmlns="{pkg_rel}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{_XLSX_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" Type="{_XLSX_REL}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": _XLSX_STYLES,
    }
    for i, body in enumerate(_sheets_xml(lay), 1):
        parts[f"xl/worksheets/sheet{i}.xml"] = xml + f"<worksheet {_XLSX_NS}><sheetData>{body}</sheetData></worksheet>"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text.encode("utf-8"))


def _redcap_dictionary(items_by_instrument: dict[str, list[str]]) -> pd.DataFrame:
    rows = [
        {"Variable / Field Name": "record_id", "Form Name": "survey_information", "Field Type": "text",
         "Field Label": "Record ID"},
        {"Variable / Field Name": "survey_date", "Form Name": "survey_information", "Field Type": "text",
         "Field Label": "Date the survey was completed",
         "Text Validation Type OR Show Slider Number": "date_ymd"},
        {"Variable / Field Name": "group", "Form Name": "survey_information", "Field Type": "text",
         "Field Label": "Support group"},
    ]
    for name, cols in items_by_instrument.items():
        model = ITEM_MODELS.get(name)
        lo, hi = (model.item_min, model.item_max) if model else (None, None)
        choices = " | ".join(f"{v}, {v}" for v in range(lo, hi + 1)) if model else ""
        for col in cols:
            rows.append({"Variable / Field Name": col, "Form Name": REDCAP_FORMS.get(name, name),
                         "Field Type": "radio",
                         "Field Label": f"{name.upper()} item {col.rsplit('_', 1)[1]}",
                         "Choices, Calculations, OR Slider Labels": choices})
    return pd.DataFrame(rows).reindex(columns=_DICT_COLUMNS).fillna("")


def _write_redcap(dataset: Dataset, directory: Path) -> tuple[str, str]:
    r = dataset.responses
    items = _item_columns(dataset)
    inverse_events = {v: k for k, v in REDCAP_EVENTS.items()}
    out: dict[str, Any] = {
        "record_id": r["member_id"].astype("string"),
        "redcap_event_name": r["timepoint"].map(inverse_events).astype("string"),
        "survey_date": _date_text(r["completed_on"]) if "completed_on" in r.columns else pd.NA,
        "group": r["group_id"] if "group_id" in r.columns else pd.NA,
    }
    out["survey_information_complete"] = np.full(len(r), 2)
    by_instrument: dict[str, list[str]] = {}
    for name in dataset.meta.get("instruments", INSTRUMENTS):
        cols = [c for c in items if c.startswith(f"{name}_")]
        if not cols:
            continue
        by_instrument[name] = cols
        block = r[cols]
        for c in cols:
            out[c] = block[c].astype("Int64")
        n_ans = block.notna().sum(axis=1).to_numpy()
        # REDCap form status: 2 complete, 1 unverified (partly answered), 0 incomplete
        out[f"{REDCAP_FORMS.get(name, name)}_complete"] = np.where(n_ans == len(cols), 2, np.where(n_ans > 0, 1, 0))
    export = pd.DataFrame(out)
    order = export["redcap_event_name"].map({k: i for i, k in enumerate(REDCAP_EVENTS)})
    export = export.assign(_o=order).sort_values(["record_id", "_o"], kind="stable").drop(columns="_o")
    export.to_csv(directory / "surveys_redcap.csv", index=False)
    _redcap_dictionary(by_instrument).to_csv(directory / "redcap_dictionary.csv", index=False)
    return "surveys_redcap.csv", "redcap_dictionary.csv"


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_table(mapping: Mapping[str, str]) -> str:
    return "{ " + ", ".join(f"{_toml_str(k)} = {_toml_str(v)}" for k, v in mapping.items()) + " }"


def write_programme(dataset: Dataset, directory: str | Path, *, attendance: str = "wide-xlsx",
                    survey: str = "redcap") -> Path:
    """Write a dataset as the files a programme keeps, plus a ``groupeval.toml``.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset` (typically from :func:`generate`).
    directory
        Folder to write into (created if needed; existing files of the same
        names are overwritten).
    attendance
        ``"wide-xlsx"`` (default): ``attendance.xlsx``, one wide sheet per
        group (sheet name = group id; ``Participant ID`` then one column per
        held session with the date as a real Excel date; marks ``P`` / ``A``
        / ``E`` / ``L``; blank = not scheduled, i.e. before enrolment or
        after exit; cancelled sessions have no column).  ``"roster-csv"``:
        ``attendance.csv``, a long roster (``member_id, group_id,
        session_date, mark``).
    survey
        ``"redcap"`` (default): ``surveys_redcap.csv``, a REDCap raw export
        (``record_id``, ``redcap_event_name`` = ``baseline_arm_1`` ...,
        ``survey_date``, ``group``, the item fields, ``<form>_complete``)
        and ``redcap_dictionary.csv`` (REDCap data-dictionary columns).
        ``"wide-csv"``: ``surveys.csv`` with the canonical responses columns.

    Returns
    -------
    Path
        The directory.  It holds ``groups.csv``, ``members.csv`` (raw
        headers ``Participant ID``, ``Group``, ``Enrolled``, ``Exited``,
        ``Exit reason``, ``Age band``, ``Gender``), ``sessions.csv`` (with
        ``cancelled``), the attendance and survey files, ``groupeval.toml``
        naming every file, format and rename (read it with
        ``groupeval.load(directory)``), ``truth.json`` (``meta["truth"]``
        when present) and a short ``README.md``.
    """
    problems = []
    if attendance not in ATTENDANCE_LAYOUTS:
        problems.append(f"attendance must be one of {list(ATTENDANCE_LAYOUTS)}, got {attendance!r}")
    if survey not in SURVEY_LAYOUTS:
        problems.append(f"survey must be one of {list(SURVEY_LAYOUTS)}, got {survey!r}")
    if not isinstance(dataset, Dataset):
        problems.append(f"dataset must be a groupeval Dataset, got {type(dataset).__name__}")
    if problems:
        raise ConfigError("write_programme() got invalid arguments: " + "; ".join(problems))
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the folder {str(directory)!r}: {exc.strerror}. "
                          "Choose a folder you can write to.") from None

    # groups.csv (canonical headers)
    groups = dataset.groups.copy()
    for col in ("start_date", "end_date"):
        if col in groups.columns:
            groups[col] = _date_text(groups[col])
    groups.to_csv(directory / "groups.csv", index=False)

    # members.csv with raw-looking headers
    members = dataset.members.copy()
    for col in ("enrolled_on", "exited_on"):
        if col in members.columns:
            members[col] = _date_text(members[col])
    canonical_to_raw = {v: k for k, v in MEMBER_HEADERS.items()}
    members = members.rename(columns=canonical_to_raw)
    member_map = {raw: canon for raw, canon in MEMBER_HEADERS.items() if raw in members.columns}
    members.to_csv(directory / "members.csv", index=False)

    # sessions.csv
    sessions = dataset.sessions.copy()
    sessions["session_date"] = _date_text(sessions["session_date"])
    if "cancelled" in sessions.columns:
        sessions["cancelled"] = sessions["cancelled"].map({True: "true", False: "false"})
    sessions.to_csv(directory / "sessions.csv", index=False)

    # attendance
    if attendance == "wide-xlsx":
        _write_wide_workbook(dataset, directory / "attendance.xlsx")
        att_toml = ('[files.attendance]\npath = "attendance.xlsx"\nformat = "wide"\n'
                    'blank = "not_scheduled"\ncolumns = { "Participant ID" = "member_id" }\n')
    else:
        a = dataset.attendance
        roster = pd.DataFrame({"member_id": a["member_id"], "group_id": a["group_id"],
                               "session_date": _date_text(a["session_date"]),
                               "mark": a["status"].map(_MARKS) if "status" in a.columns
                               else a["attended"].map({True: "P", False: "A"})})
        roster.to_csv(directory / "attendance.csv", index=False)
        att_toml = '[files.attendance]\npath = "attendance.csv"\nformat = "roster"\n'

    # surveys
    if survey == "redcap":
        data_name, dict_name = _write_redcap(dataset, directory)
        events = _toml_table(REDCAP_EVENTS)
        srv_toml = (f'[files.surveys]\npath = "{data_name}"\nformat = "redcap"\ndictionary = "{dict_name}"\n'
                    f'events = {events}\ncolumns = {{ "survey_date" = "completed_on", "group" = "group_id" }}\n')
    else:
        r = dataset.responses.copy()
        if "completed_on" in r.columns:
            r["completed_on"] = _date_text(r["completed_on"])
        r.to_csv(directory / "surveys.csv", index=False)
        srv_toml = '[files.surveys]\npath = "surveys.csv"\nformat = "wide"\n'

    # groupeval.toml
    timepoints = list(dataset.timepoints) or list(TIMEPOINTS)
    instruments = list(dataset.meta.get("instruments", INSTRUMENTS))
    name = str(dataset.meta.get("programme", PROGRAMME))
    lines = [
        "# groupeval configuration, written by groupeval.sample.write_programme",
        "[programme]",
        f"name = {_toml_str(name)}",
        "timepoints = [" + ", ".join(_toml_str(t) for t in timepoints) + "]",
        "instruments = [" + ", ".join(_toml_str(i) for i in instruments) + "]",
    ]
    if dataset.cutoff is not None:
        lines.append(f'cutoff = "{pd.Timestamp(dataset.cutoff):%Y-%m-%d}"')
    lines += ["", '[files.groups]', 'path = "groups.csv"', "",
              '[files.members]', 'path = "members.csv"', f"columns = {_toml_table(member_map)}", "",
              '[files.sessions]', 'path = "sessions.csv"', "",
              att_toml, srv_toml, "[privacy]", "allow_identifiers = false", ""]
    (directory / "groupeval.toml").write_text("\n".join(lines), encoding="utf-8")

    truth = dataset.meta.get("truth")
    if truth is not None:
        import json
        (directory / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    att_row = ("| `attendance.xlsx` | one sheet per group: members x session dates, marks P / A / E / L, "
               "blank = not scheduled |" if attendance == "wide-xlsx" else
               "| `attendance.csv` | long roster: `member_id`, `group_id`, `session_date`, `mark` (P / A / E / L) |")
    srv_rows = ("| `surveys_redcap.csv` | REDCap raw export (`record_id`, `redcap_event_name`, survey items) |\n"
                "| `redcap_dictionary.csv` | the REDCap data dictionary of that export |" if survey == "redcap" else
                "| `surveys.csv` | one row per member x timepoint with the survey items |")
    truth_row = "\n| `truth.json` | the true parameters the data were drawn from (see docs/sample.md) |" \
        if truth is not None else ""
    (directory / "README.md").write_text(_README.format(
        programme=name, seed=dataset.meta.get("seed", "?"), groups=len(dataset.groups),
        members=len(dataset.members), attendance=len(dataset.attendance),
        responses=len(dataset.responses), att_row=att_row, srv_rows=srv_rows, truth_row=truth_row),
        encoding="utf-8")
    return directory


_README = """# {programme} (synthetic)

Made by `groupeval.sample` (seed {seed}). **All people and numbers are
invented**: {groups} groups, {members} members, {attendance} attendance marks,
{responses} survey responses. No real person is described.

| file | what it is |
|---|---|
| `groupeval.toml` | configuration naming every file, its format and the column renames |
| `groups.csv` | one row per group (type, facilitation, format, site, start date) |
| `members.csv` | one row per member: id, group, enrolment and exit dates, exit reason, age band, gender |
| `sessions.csv` | every scheduled weekly session, `cancelled` true/false |
{att_row}
{srv_rows}{truth_row}

Load it with `groupeval validate <this folder>` or `groupeval.load("<this folder>")`.
"""


def write_sample(directory: str | Path, seed: int = 2025, **kwargs: Any) -> Path:
    """Generate a sample programme and write it as files (``groupeval sample DIR``).

    Parameters
    ----------
    directory
        Folder to write into (created if needed).
    seed
        Seed passed to :func:`generate`.
    **kwargs
        Further arguments of :func:`generate` (``n_members=``, ``n_groups=`` ...).

    Returns
    -------
    Path
        The directory (see :func:`write_programme` for its files).
    """
    return write_programme(generate(seed, **kwargs), directory)
