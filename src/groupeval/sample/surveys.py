"""The sample's survey responses: latent well-being, who returned which survey and when, and the item answers.

Steps of :func:`groupeval.sample.generate` after the registers
(:mod:`.registers`), in the order of the random draws: :func:`_draw_latent`,
:func:`_draw_surveys`, :func:`_draw_items`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._draws import _take
from .constants import DOSE_SLOPE, GROUP_TYPES, INSTRUMENT_EFFECT_SCALE, INSTRUMENTS, TIMEPOINTS
from .items import ITEM_MODELS
from .registers import _Attendance, _Dropout, _Enrolment, _Groups, _Members

#: response probabilities of the three surveys: members still attending / members who stopped before it
_P_RESPOND_ATTENDING = (0.95, 0.85, 0.80)
_P_RESPOND_STOPPED = (0.95, 0.35, 0.25)
#: probability that an item (or a whole instrument) is left blank: attending members / members who drop out
_Q_BLANK = (0.01, 0.04)


# ---------------------------------------------------------------------------
# responses: latent outcome, surveys, items
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Latent:
    """The latent well-being model: variance components, effects and each member's latent terms."""

    var: tuple[float, float, float]   # group, member, occasion variances
    delta: np.ndarray       # (4 group types, timepoints): effects on the latent scale
    gamma: np.ndarray       # (timepoints,): dose slope
    common: np.ndarray      # (members, timepoints): u_g + b_i + e_it + gamma_t z_i


def _draw_latent(rng: np.random.Generator, grp: _Groups, enr: _Enrolment, att: _Attendance,
                 eff: Mapping[str, Mapping[str, float]], effect_scale: float, icc: float) -> _Latent:
    """Group, member and occasion terms of the latent trait (baseline variance 1, ICC ``icc``)."""
    var_u = icc
    var_b = 0.6 * (1.0 - icc)
    var_e = 0.4 * (1.0 - icc)
    TP = len(TIMEPOINTS)
    u_g = rng.normal(0.0, math.sqrt(var_u), grp.n)
    b_i = rng.normal(0.0, math.sqrt(var_b), enr.n)
    e_it = rng.normal(0.0, math.sqrt(var_e), (enr.n, TP))
    delta = np.zeros((4, TP))
    for ti, tp in enumerate(TIMEPOINTS[1:], start=1):
        delta[:, ti] = [effect_scale * eff[t][tp] for t in GROUP_TYPES]
    gamma = np.asarray([DOSE_SLOPE[tp] for tp in TIMEPOINTS])
    common = (u_g[enr.g] + b_i)[:, None] + e_it + gamma[None, :] * att.z[:, None]      # M x TP
    return _Latent((var_u, var_b, var_e), delta, gamma, common)


@dataclass(frozen=True)
class _Surveys:
    """Who returned which survey and when (one row per returned survey, in member then timepoint order)."""

    stopped_before: np.ndarray  # bool (members, timepoints): stopped attending before the survey
    p_resp: np.ndarray          # (members, timepoints): response probability
    ri: np.ndarray              # member of each returned survey
    rt: np.ndarray              # timepoint index of each returned survey
    frame: dict[str, Any]       # the identifying columns of ``responses``


def _draw_surveys(rng: np.random.Generator, grp: _Groups, enr: _Enrolment, drop: _Dropout, mem: _Members,
                  weeks: int) -> _Surveys:
    """Survey returns and completion dates.

    Baseline at enrolment (or at the start of the window), ``week_12`` and
    ``week_26`` around 12 and 26 weeks after the group's first session in the
    data (on or before the last session).  Response probabilities depend only
    on whether the member had stopped attending by then.
    """
    M, g, TP = enr.n, enr.g, len(TIMEPOINTS)
    first = grp.first
    anchor = np.asarray([0, min(12, weeks), min(26, weeks)])
    stopped_before = np.column_stack([np.zeros(M, bool)] + [drop.T < (a - enr.w) for a in anchor[1:]])
    p_resp = np.where(stopped_before, np.asarray(_P_RESPOND_STOPPED)[None, :],
                      np.asarray(_P_RESPOND_ATTENDING)[None, :])
    responded = rng.random((M, TP)) < p_resp
    base_day = np.where(enr.pre, first[g], enr.enrolled) + rng.integers(0, 7, M).astype("timedelta64[D]")
    jitter12 = np.clip(np.rint(rng.normal(0, 4, M)), -6, 9).astype("int64")
    wk12 = first[g] + (7 * anchor[1] + jitter12).astype("timedelta64[D]")
    wk26 = first[g] + (7 * anchor[2] - rng.integers(0, 11, M)).astype("timedelta64[D]")
    done = np.column_stack([base_day, wk12, wk26])
    ri, rt = np.nonzero(responded)                     # row-major: member order, then timepoint
    frame: dict[str, Any] = {
        "member_id": _take(mem.mid, ri),
        "timepoint": _take(TIMEPOINTS, rt),
        "completed_on": pd.to_datetime(done[ri, rt]).astype("datetime64[ns]"),
        "group_id": _take(grp.gid, g[ri]),
    }
    return _Surveys(stopped_before, p_resp, ri, rt, frame)


def _draw_items(rng: np.random.Generator, enr: _Enrolment, drop: _Dropout, lat: _Latent,
                srv: _Surveys) -> pd.DataFrame:
    """The raw item answers of every returned survey: the ``responses`` table.

    Per instrument, ``theta = kappa_k delta + common``, graded-response items
    (:data:`ITEM_MODELS`) with reverse-keyed raw values; an instrument is
    skipped whole, and each item left blank, with probability 1 % (4 % for
    members who drop out in the window).
    """
    ri, rt = srv.ri, srv.rt
    R = len(ri)
    cols = dict(srv.frame)
    q_item = np.where(drop.stopper[ri], _Q_BLANK[1], _Q_BLANK[0])
    q_block = q_item
    for name in INSTRUMENTS:
        model = ITEM_MODELS[name]
        lam, thr = model.arrays()
        theta = INSTRUMENT_EFFECT_SCALE[name] * lat.delta[enr.mtype[ri], rt] + lat.common[ri, rt]
        ystar = lam[None, :] * (model.sign * theta)[:, None] + rng.standard_normal((R, model.n_items))
        keyed = (ystar[:, :, None] > (lam[:, None] * thr)[None, :, :]).sum(axis=2)
        raw = (model.item_min + keyed).astype(float)
        if model.reverse:
            rev = np.asarray(model.reverse) - 1
            raw[:, rev] = model.item_max + model.item_min - raw[:, rev]
        blank = (rng.random((R, model.n_items)) < q_item[:, None]) | (rng.random(R) < q_block)[:, None]
        raw[blank] = np.nan
        for j, col in enumerate(model.columns):
            cols[col] = raw[:, j]
    return pd.DataFrame(cols)


