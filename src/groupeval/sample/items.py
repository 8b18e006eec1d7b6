"""The item model of the sample's four questionnaires and the exact expected value of every score.

Items follow a normal-ogive graded-response model (:class:`ItemModel`); every
score groupeval computes for these instruments is an affine function of the
recoded items (:data:`SCORES`), so its expected value under a normal latent
trait is a sum of normal CDFs (:func:`expected_scores`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["ItemModel", "ITEM_MODELS", "SCORES", "MAIN_SCORE", "expected_items", "expected_scores"]


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


def _prob_at_least(model: ItemModel, mean: float | np.ndarray, var: float | np.ndarray) -> np.ndarray:
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

