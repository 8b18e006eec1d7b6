"""Simulating a realistic peer-support programme with known true parameters (:func:`generate`).

:func:`generate` simulates a programme of weekly support groups (attendance
registers, enrolments and exits, and three survey waves with four
questionnaires) and returns it as a canonical :class:`~groupeval.Dataset`
whose ``meta["truth"]`` holds the parameters it was drawn from, including
the **exact** expected mean change of every score that
:func:`groupeval.score` produces.

The simulation runs as named steps, each drawing from one
:class:`numpy.random.Generator` in a fixed order (so a seed gives the same
programme): the registers (:mod:`.registers`: groups, sessions, members'
enrolment, dropout and exits, attendance), the survey responses
(:mod:`.surveys`: latent outcome, survey returns, item answers) and the
closed-form truth (:func:`_programme_truth`, :mod:`.truth`).  The generative
model is described in ``docs/sample.md`` and in the docstring of
:func:`generate`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import ConfigError
from .constants import DEFAULT_EFFECTS, GROUP_TYPES, INSTRUMENTS, PROGRAMME, TIMEPOINTS
from .registers import (
    _DROPOUT_SHAPE,
    _Attendance,
    _draw_attendance,
    _draw_dropout,
    _draw_enrolment,
    _draw_groups,
    _draw_sessions,
    _Dropout,
    _Enrolment,
    _members_table,
)
from .surveys import (
    _P_RESPOND_ATTENDING,
    _P_RESPOND_STOPPED,
    _Q_BLANK,
    _draw_items,
    _draw_latent,
    _draw_surveys,
    _Latent,
    _Surveys,
)
from .truth import _truth

__all__ = ["generate"]


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
    lo, hi, eff, start_ts = _check_arguments(
        weeks=weeks, members_per_group=members_per_group, n_members=n_members, icc=icc, dropout_26w=dropout_26w,
        attendance_rate=attendance_rate, cofacilitated_dropout_hr=cofacilitated_dropout_hr,
        attendance_group_sd=attendance_group_sd, attendance_autocorr=attendance_autocorr,
        attendance_spread=attendance_spread, cancel_rate=cancel_rate, enrol_weeks=enrol_weeks, effects=effects,
        n_groups=n_groups, start=start)
    if n_groups is None:
        n_groups = 12 if n_members is None else max(4, int(round(n_members / ((lo + hi) / 2))))
    rng = np.random.default_rng(seed)
    # the order of the steps is the order of the random draws: do not reorder
    grp = _draw_groups(rng, int(n_groups), start_ts, weeks)
    ses = _draw_sessions(rng, grp, weeks, cancel_rate)
    enr = _draw_enrolment(rng, grp, (lo, hi), n_members, enrol_weeks)
    drop = _draw_dropout(rng, grp, enr, weeks, dropout_26w, cofacilitated_dropout_hr)
    mem = _members_table(rng, grp, enr, drop)
    att = _draw_attendance(rng, grp, ses, enr, drop, mem, weeks, rate=attendance_rate, spread=attendance_spread,
                           autocorr=attendance_autocorr, group_sd=attendance_group_sd)
    lat = _draw_latent(rng, grp, enr, att, eff, effect_scale, icc)
    srv = _draw_surveys(rng, grp, enr, drop, mem, weeks)
    responses = _draw_items(rng, enr, drop, lat, srv)
    truth = _programme_truth(eff, effect_scale, icc, enr, drop, att, lat, srv, dropout_26w=dropout_26w,
                             attendance_rate=attendance_rate, hr=cofacilitated_dropout_hr)
    meta = {"programme": programme, "instruments": INSTRUMENTS, "truth": truth, "seed": seed,
            "source": f"groupeval.sample.generate(seed={seed})"}
    return Dataset(groups=grp.table, members=mem.table, sessions=ses.table, attendance=att.table,
                   responses=responses, timepoints=TIMEPOINTS,
                   cutoff=pd.Timestamp(grp.last.max()), meta=meta)


# ---------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------
def _check_arguments(*, weeks: int, members_per_group: tuple[int, int], n_members: int | None, icc: float,
                     dropout_26w: float, attendance_rate: float, cofacilitated_dropout_hr: float,
                     attendance_group_sd: float, attendance_autocorr: float, attendance_spread: float,
                     cancel_rate: float, enrol_weeks: int, effects: Mapping[str, Mapping[str, float]] | None,
                     n_groups: int | None, start: str | pd.Timestamp,
                     ) -> tuple[int, int, dict[str, dict[str, float]], pd.Timestamp]:
    """Check every argument of :func:`generate` at once.

    Returns ``(low, high)`` of ``members_per_group``, the effects (the
    defaults updated by ``effects``) and the normalised ``start`` date;
    raises :class:`ConfigError` listing every problem.
    """
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
    start_ts = None
    try:
        start_ts = pd.Timestamp(start).normalize()
    except (ValueError, TypeError):
        problems.append(f"start must be a date such as '2025-01-06' (got {start!r})")
    if problems or start_ts is None:
        raise ConfigError("generate() got invalid arguments: " + "; ".join(problems))
    return lo, hi, eff, start_ts


# ---------------------------------------------------------------------------
# truth
# ---------------------------------------------------------------------------
def _programme_truth(eff: Mapping[str, Mapping[str, float]], effect_scale: float, icc: float, enr: _Enrolment,
                     drop: _Dropout, att: _Attendance, lat: _Latent, srv: _Surveys, *, dropout_26w: float,
                     attendance_rate: float, hr: float) -> dict[str, Any]:
    """``meta["truth"]``: the closed-form truth (:func:`.truth._truth`) plus the response model."""
    truth = _truth(
        eff=eff, effect_scale=effect_scale, icc=icc, var=lat.var, gamma=lat.gamma,
        mtype=enr.mtype, stopper=drop.stopper, stopped_before=srv.stopped_before, p_resp=srv.p_resp,
        dropout=(dropout_26w, _DROPOUT_SHAPE, drop.scale, hr, drop.h),
        attendance=(attendance_rate, att.alpha, att.rho, att.autocorr, att.group_sd),
        q=_Q_BLANK,
    )
    truth["response_model"] = {
        "baseline": _P_RESPOND_ATTENDING[0],
        "follow_up_attending": {"week_12": _P_RESPOND_ATTENDING[1], "week_26": _P_RESPOND_ATTENDING[2]},
        "follow_up_stopped": {"week_12": _P_RESPOND_STOPPED[1], "week_26": _P_RESPOND_STOPPED[2]},
        "instrument_skipped": {"attending": _Q_BLANK[0], "dropout": _Q_BLANK[1]},
        "item_blank": {"attending": _Q_BLANK[0], "dropout": _Q_BLANK[1]},
    }
    return truth
