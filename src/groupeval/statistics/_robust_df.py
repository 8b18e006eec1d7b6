r"""The algebra of CR2 and its small-sample degrees of freedom (behind :mod:`groupeval.statistics.robust`).

Nothing of size n_g x n_g (or G x G) is ever formed.  The design is
first orthonormalised, :math:`\tilde X = X R^{-1}` with :math:`\tilde X'W\tilde X = I`
(pivoted QR of :math:`W^{1/2}X`), so the bread is the identity.  For OLS the
cluster block of the hat matrix is :math:`H_{gg} = \tilde X_g\tilde X_g'`, of rank
at most p, and by the push-through identity

.. math::
    \tilde X_g' f(I - \tilde X_g\tilde X_g') = f(I_p - \Gamma_g)\,\tilde X_g', \qquad
    \Gamma_g = \tilde X_g'\tilde X_g ,

every quantity CR2 needs is a function of the p x p matrix :math:`\Gamma_g`,
evaluated for all clusters at once by ``numpy.linalg.eigh`` on a (G, p, p)
stack.  :math:`\Gamma_g` and the cluster scores :math:`\tilde X_g'e_g` are segment sums
(``numpy.bincount`` over cluster codes, one pass per pair of columns).  For WLS
the working model of clubSandwich's ``lm`` method (independence with unit
variance, the weights only entering the estimator) gives
:math:`I - H_{gg} - H_{gg}' + \dots = I - Y_gNY_g'` with :math:`Y_g = [\tilde X_g,
W_g\tilde X_g]` of width 2p, handled the same way through the 2p x 2p matrices
:math:`S_g = (Y_g'Y_g)^{1/2}` and :math:`S_gNS_g`.  Cost O(N p^2 + G p^3) time
and O(N p + G p^2) memory; the Satterthwaite and HTZ degrees of freedom are
written as sums of per-cluster p-vectors and p x p matrices (see
:func:`satterthwaite_df` and :func:`htz_nu`), O(G p^2 q^2), never O(G^2).

:func:`orthonormal_fit` gives the orthonormalised design and the (W)LS fit;
:func:`cluster_terms` the adjusted cluster scores and the per-cluster blocks
(:class:`Blocks`) from which :func:`satterthwaite_df` and :func:`htz_nu`
compute the degrees of freedom of a contrast or of a set of constraints.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..base.exceptions import ValidationError

__all__ = ["Blocks", "TOL_SINGULAR", "cluster_terms", "htz_nu", "orthonormal_fit", "satterthwaite_df", "sym", "tr"]

# an eigenvalue of I - H_gg at or below this is treated as 0 (generalised inverse square root)
TOL_SINGULAR = 1e-10
# residuals below this fraction of the response's spread (+ a tenth of it times its size) are an exact fit
_TOL_EXACT = 1e-12
# relative rank tolerance of the pivoted QR of the (weighted) design
_TOL_RANK = 1e-10


def orthonormal_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray | None,
                    names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    r"""``(R^{-1}, beta, X~, e, exact)`` of the (W)LS fit through the pivoted QR of :math:`W^{1/2}X`.

    :math:`\tilde X = XR^{-1}` has :math:`\tilde X'W\tilde X = I`; ``e`` are
    the residuals, set to 0 when the fit is exact (``exact``: every residual
    is zero up to rounding, relative to the response's spread, or to its
    size when it is constant).  ``w`` are the (mean-normalised) weights or
    None.  Raises :class:`ValidationError` naming the terms of a collinear
    design.
    """
    n, p = x.shape
    if w is not None:
        sw = np.sqrt(w)
        xw, yw = x * sw[:, None], y * sw
    else:
        sw = None
        xw, yw = x, y
    qmat, rmat, piv = linalg.qr(xw, mode="economic", pivoting=True)
    dr = np.abs(np.diag(rmat))
    rank = int((dr > _TOL_RANK * dr[0]).sum()) if dr.size and dr[0] > 0 else 0
    if rank < p:
        dropped = [names[j] for j in piv[rank:]]
        raise ValidationError(f"the design is collinear (rank {rank} < {p} terms); {dropped} can be written from "
                              f"the other terms. Drop them, or drop unused factor levels.")
    inv_piv = np.argsort(piv)
    rinv = np.linalg.inv(rmat)[inv_piv, :]  # X_w = Q R[:, inv_piv]; this is its inverse
    theta = qmat.T @ yw
    beta = rinv @ theta
    xt = qmat if sw is None else qmat / sw[:, None]  # X~ = X R^{-1}, X~'WX~ = I
    e = y - x @ beta
    wt = np.ones(n) if w is None else w
    y_bar = float(np.sum(wt * y) / np.sum(wt))
    spread = float(np.sqrt(np.mean(wt * (y - y_bar) ** 2)))
    size = float(np.sqrt(np.mean(wt * y ** 2)))
    resid_size = float(np.sqrt(np.mean(wt * e ** 2)))
    # all residuals zero up to rounding: relative to the response's spread, or to its size when it is constant
    exact = bool(resid_size <= _TOL_EXACT * spread + 0.1 * _TOL_EXACT * size)
    if exact:
        e = np.zeros_like(e)
    return rinv, beta, xt, e, exact


# ---------------------------------------------------------------------------
# per-cluster matrices
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Blocks:
    """Per-cluster matrices in the orthonormalised parametrisation (theta = R beta).

    For a contrast vector :math:`\\tilde c = R^{-T}c` the working-model
    covariance of the cluster-g and cluster-h terms of :math:`c'\\hat V c` is
    :math:`P_{gh} = \\delta_{gh}\\,\\tilde c'A_g\\tilde c - \\tilde c'K_g'NK_h\\tilde c`.
    """

    a: np.ndarray  # (G, p, p): A_g
    k: np.ndarray  # (G, m, p): K_g  (m = p for OLS, 2p for WLS)
    n_mat: np.ndarray  # (m, m): N
    r_w: np.ndarray  # (p, p): working-model covariance of theta-hat (I for OLS, X~'W^2X~ for WLS)


def _pair_sums(codes: np.ndarray, n_clusters: int, left: np.ndarray, right: np.ndarray,
               symmetric: bool) -> np.ndarray:
    """(G, a, b) stack of per-cluster cross products sum_i left_i right_i' (segment sums by bincount)."""
    a, b = left.shape[1], right.shape[1]
    out = np.empty((n_clusters, a, b))
    for j in range(a):
        for k in range(j if symmetric else 0, b):
            s = np.bincount(codes, weights=left[:, j] * right[:, k], minlength=n_clusters)
            out[:, j, k] = s
            if symmetric:
                out[:, k, j] = s
    return out


def _weighted_gram(codes: np.ndarray, n_clusters: int, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(G, 2p, 2p) per-cluster Y_g'Y_g for Y = [x, w x]: blocks x'x, x'Wx, x'W^2x."""
    p = x.shape[1]
    out = np.empty((n_clusters, 2 * p, 2 * p))
    w2 = w * w
    for j in range(p):
        for k in range(j, p):
            prod = x[:, j] * x[:, k]
            for (a, b), wt in (((0, 0), None), ((0, p), w), ((p, p), w2)):
                s = np.bincount(codes, weights=prod if wt is None else prod * wt, minlength=n_clusters)
                out[:, a + j, b + k] = out[:, a + k, b + j] = out[:, b + j, a + k] = out[:, b + k, a + j] = s
    return out


def _col_sums(codes: np.ndarray, n_clusters: int, x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """(G, p) per-cluster sums of x_i e_i."""
    return np.stack([np.bincount(codes, weights=x[:, j] * e, minlength=n_clusters) for j in range(x.shape[1])],
                    axis=1)


def _adjust(vals: np.ndarray, kind: str, scale: float) -> np.ndarray:
    """The adjustment function f applied to eigenvalues of I - H_gg."""
    if kind == "CR2":
        out = np.zeros_like(vals)
        ok = vals > TOL_SINGULAR
        out[ok] = 1.0 / np.sqrt(vals[ok])
        return out
    return np.full_like(vals, scale)


def sym(m: np.ndarray) -> np.ndarray:
    return 0.5 * (m + np.swapaxes(m, -1, -2))


def tr(m: np.ndarray) -> np.ndarray:
    return np.swapaxes(m, -1, -2)


def _recompose(vec: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Stack of V diag(vals) V' from a batched eigendecomposition."""
    return (vec * vals[:, None, :]) @ tr(vec)


def cluster_terms(xt: np.ndarray, e: np.ndarray, w: np.ndarray | None, codes: np.ndarray, n_clusters: int,
                   kind: str, scale: float) -> tuple[np.ndarray, Blocks]:
    """Adjusted cluster scores (G, p) and the per-cluster blocks for the df computations.

    ``xt`` is the orthonormalised design (X~'WX~ = I), ``e`` the residuals,
    ``w`` the (mean-normalised) weights or None.
    """
    p = xt.shape[1]
    if w is None:
        gam = _pair_sums(codes, n_clusters, xt, xt, True)  # Gamma_g = X~_g'X~_g (sum = I)
        z = _col_sums(codes, n_clusters, xt, e)  # X~_g'e_g
        if kind == "CR2":
            lam, vec = np.linalg.eigh(gam)
            f = _adjust(1.0 - lam, kind, scale)
            # X~_g' A_g e_g = f(I - Gamma_g) X~_g'e_g
            score = (vec @ (f * (tr(vec) @ z[:, :, None])[:, :, 0])[:, :, None])[:, :, 0]
            k_blk = _recompose(vec, f * lam)
            a_blk = _recompose(vec, f * f * lam)
        else:
            score = scale * z
            k_blk = scale * gam
            a_blk = scale * scale * gam
        return score, Blocks(a=sym(a_blk), k=sym(k_blk), n_mat=np.eye(p), r_w=np.eye(p))
    # WLS, working model independence with unit variance (clubSandwich's lm method with weights):
    # I - H_gg - H_gg' + X~_g R~ X~_g' = I - Y_g N Y_g',  Y_g = [X~_g, W_g X~_g],  R~ = X~'W^2 X~
    gam = _weighted_gram(codes, n_clusters, xt, w)  # (G, 2p, 2p): Y_g'Y_g
    r_w = sym(gam[:, p:, p:].sum(axis=0))
    n_mat = np.block([[-r_w, np.eye(p)], [np.eye(p), np.zeros((p, p))]])
    z = np.hstack([_col_sums(codes, n_clusters, xt, e), _col_sums(codes, n_clusters, xt, e * w)])  # Y_g'e_g
    if kind != "CR2":
        score = scale * z[:, p:]
        k_blk = scale * gam[:, :, p:]
        a_blk = scale * scale * gam[:, p:, p:]
        return score, Blocks(a=sym(a_blk), k=k_blk, n_mat=n_mat, r_w=r_w)
    # S_g = Gamma_g^{1/2}; Y_g' f(I - Y_g N Y_g') Y_g = S_g f(I - S_g N S_g) S_g  and
    # Y_g' f(.) e_g = z_g + S_g phi(T_g) S_g^+ z_g with phi = f(1 - .) - 1, T_g = S_g N S_g
    lam, vec = np.linalg.eigh(gam)
    lam_max = np.maximum(lam[:, -1:], np.finfo(float).tiny)
    pos = lam > 1e-13 * lam_max
    root = np.where(pos, np.sqrt(np.clip(lam, 0.0, None)), 0.0)
    root_inv = np.zeros_like(lam)
    root_inv[pos] = 1.0 / root[pos]
    s = _recompose(vec, root)
    s_inv = _recompose(vec, root_inv)
    t_mat = sym(s @ n_mat @ s)
    mu, uvec = np.linalg.eigh(t_mat)
    f = _adjust(1.0 - mu, kind, scale)
    phi = _recompose(uvec, f - 1.0)
    corr = (s @ (phi @ (s_inv @ z[:, :, None])))[:, :, 0]
    score = (z + corr)[:, p:]
    su = s @ uvec
    f1 = _recompose(su, f)
    f2 = _recompose(su, f * f)
    return score, Blocks(a=sym(f2[:, p:, p:]), k=f1[:, :, p:], n_mat=n_mat, r_w=r_w)


# ---------------------------------------------------------------------------
# degrees of freedom
# ---------------------------------------------------------------------------
def satterthwaite_df(blocks: Blocks, ct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Satterthwaite df of each contrast (columns of ``ct``, orthonormalised coordinates).

    .. math::
        \nu = \frac{\big(\sum_g P_{gg}\big)^2}{\sum_g\sum_h P_{gh}^2}, \qquad
        P_{gh} = \delta_{gh} a_g - k_g'Nk_h,\ a_g = \tilde c'A_g\tilde c,\ k_g = K_g\tilde c,

    with :math:`\sum_{g,h}P_{gh}^2 = \sum_g a_g^2 - 2\sum_g a_g k_g'Nk_g +
    \operatorname{tr}(N\Sigma_k N\Sigma_k)`, :math:`\Sigma_k = \sum_g k_gk_g'`.

    Returns (df, ratio) where ``ratio`` is :math:`\sum_g P_{gg}` over the
    model-based working variance (1 for OLS CR2 without singular clusters).
    """
    a = ((blocks.a @ ct) * ct).sum(axis=1)  # (G, r)
    k = blocks.k @ ct  # (G, m, r)
    nk = blocks.n_mat @ k
    knk = (k * nk).sum(axis=1)
    e_total = (a - knk).sum(axis=0)
    kr = np.moveaxis(k, 2, 0)  # (r, G, m)
    sig = tr(kr) @ kr  # (r, m, m): sum_g k_g k_g'
    ns = blocks.n_mat @ sig
    cross = (ns * tr(ns)).sum(axis=(1, 2))
    var_total = (a * a).sum(axis=0) - 2.0 * (a * knk).sum(axis=0) + cross
    base = ((blocks.r_w @ ct) * ct).sum(axis=0)
    ratio = e_total / base
    with np.errstate(divide="ignore", invalid="ignore"):
        df = e_total ** 2 / var_total
    return df, ratio


def _inv_sqrt_psd(m: np.ndarray) -> np.ndarray:
    lam, vec = np.linalg.eigh(sym(m))
    keep = lam > 1e-12 * max(float(lam[-1]), np.finfo(float).tiny)
    d = np.zeros_like(lam)
    d[keep] = 1.0 / np.sqrt(lam[keep])
    return (vec * d) @ vec.T


def htz_nu(blocks: Blocks, ct: np.ndarray) -> tuple[float, float]:
    r"""Degrees of freedom :math:`\eta` of the HTZ test of the constraints in the columns of ``ct``.

    With :math:`P_{gh} = \delta_{gh}A_g^C - K_g^{C\prime}NK_h^C` (q x q), the
    working-model expectation :math:`\Omega = \sum_g P_{gg}` and
    :math:`D = \Omega^{-1/2}`, the standardised :math:`B_{gh} = DP_{gh}D` give

    .. math::
        \eta = \frac{q(q+1)}{\sum_{g,h}\big[(\operatorname{tr}B_{gh})^2 +
        \operatorname{tr}(B_{gh}B_{gh})\big]},

    matching the total variance of a Wishart(:math:`\eta`, :math:`I_q/\eta`) to that of
    :math:`D\,C\hat VC'D` (Pustejovsky & Tipton 2018, eq. 12-13).  The G x G
    double sums are expanded into per-cluster terms and the fourth-order
    moment array :math:`\Sigma_{isjt} = \sum_g K_g[i,s]K_g[j,t]`.

    Returns (eta, ratio) with ``ratio`` as in :func:`satterthwaite_df` (the
    smallest over the directions of the constraints).
    """
    q = ct.shape[1]
    a = ct.T @ blocks.a @ ct  # (G, q, q)
    k = blocks.k @ ct  # (G, m, q)
    nmat = blocks.n_mat
    omega = sym((a - tr(k) @ nmat @ k).sum(axis=0))
    base = sym(ct.T @ blocks.r_w @ ct)
    # smallest generalised eigenvalue of omega relative to the model-based variance
    try:
        ratio = float(linalg.eigh(omega, base, eigvals_only=True)[0])
    except np.linalg.LinAlgError:  # pragma: no cover - base is positive definite for full-rank constraints
        ratio = float("nan")
    d = _inv_sqrt_psd(omega)
    a = d @ a @ d
    k = k @ d
    knk = tr(k) @ nmat @ k  # K_g'NK_g
    tr_a = np.trace(a, axis1=1, axis2=2)
    tr_knk = np.trace(knk, axis1=1, axis2=2)
    g, m, _ = k.shape
    kf = k.reshape(g, m * q)
    sig = (kf.T @ kf).reshape(m, q, m, q)  # sig[i,s,j,t] = sum_g K_g[i,s] K_g[j,t]
    # nsn[j,s,l,t] = sum_{i,k} N_ij N_kl sig[i,s,k,t]
    nsn = np.einsum("kl,jskt->jslt", nmat, np.tensordot(nmat, sig, axes=([0], [0])))
    # sum_{g,h} (tr B_gh)^2
    t1 = (tr_a ** 2).sum() - 2.0 * (tr_a * tr_knk).sum() + (nsn * sig).sum()
    # sum_{g,h} tr(B_gh B_gh)
    t2 = (a * tr(a)).sum() - 2.0 * (a * tr(knk)).sum() + (nsn * sig.transpose(0, 3, 2, 1)).sum()
    total = float(t1 + t2)
    eta = q * (q + 1) / total if total > 0 else float("nan")
    return eta, ratio
