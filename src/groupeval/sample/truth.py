"""The closed-form truth of a sample programme (``Dataset.meta["truth"]``).

Every expected score, change and ICC follows exactly from the generative
model of :func:`groupeval.sample.generate`; nothing here is estimated from the
simulated data.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .constants import GROUP_TYPES, INSTRUMENT_EFFECT_SCALE, INSTRUMENTS, TIMEPOINTS
from .items import _WHOQOL_DOMAINS, ITEM_MODELS, MAIN_SCORE, SCORES, _prob_at_least, expected_scores


def _truth(*, eff: Mapping[str, Mapping[str, float]], effect_scale: float, icc: float,
           var: tuple[float, float, float], gamma: np.ndarray, mtype: np.ndarray, stopper: np.ndarray,
           stopped_before: np.ndarray, p_resp: np.ndarray, dropout: tuple[float, float, float, float, np.ndarray],
           attendance: tuple[float, float, float, float, float], q: tuple[float, float]) -> dict[str, Any]:
    """Every key of ``meta["truth"]`` except ``response_model`` (see :func:`groupeval.sample.generate`).

    Expected scores come from :func:`.items.expected_scores` at the latent
    mean and variance of each group type and timepoint; the overall change
    weights the group types by the expected number of members with both
    surveys complete (response probability times the probability that every
    item of the score was answered).
    """
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

