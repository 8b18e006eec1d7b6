r"""Small-sample cluster-robust inference for OLS / WLS: CR2, Satterthwaite df, HTZ Wald tests.

A programme evaluated by groupeval has few groups (5-30), and members of one
group are not independent.  The usual cluster-robust ("sandwich") variance
CR1 with t(G - 1) reference distributions over-rejects badly with so few
clusters.  This module implements the bias-reduced linearisation estimator
CR2 of Bell & McCaffrey (2002) with the small-sample tests of Pustejovsky &
Tipton (2018), exactly as R's clubSandwich package does for ``lm`` fits:

* :func:`cluster_robust` (arrays) and :func:`cluster_robust_formula` (a
  patsy formula on a DataFrame) fit OLS or WLS and return a
  :class:`ClusterRobustFit` with the CR2 (default), CR1 (Stata's) or CR0
  covariance;
* :meth:`ClusterRobustFit.coef_test` and :meth:`ClusterRobustFit.contrast`
  give t tests and CIs with Satterthwaite degrees of freedom, one df per
  coefficient or contrast;
* :meth:`ClusterRobustFit.wald_test` tests q >= 1 linear constraints with the
  Hotelling-T-squared approximation "HTZ" (and, for comparison, the chi-square
  and naive F(q, G - 1) references).

Scale.  Nothing of size n_g x n_g (or G x G) is ever formed: every quantity
CR2 and its degrees of freedom need is a function of per-cluster p x p (2p x
2p for WLS) matrices of the orthonormalised design, evaluated for all clusters
at once; the algebra is in :mod:`._robust_df`.  Cost O(N p^2 + G p^3) time and
O(N p + G p^2) memory.

Singular adjustment.  When :math:`I - H_{gg}` is singular (a cluster whose
fitted values are fully determined by its own rows, e.g. the only cluster of
a group type with its own dummy), the adjustment uses the Moore-Penrose
generalised inverse square root, as clubSandwich's ``matrix_power`` does: an
eigenvalue of :math:`I - H_{gg}` at or below ``TOL_SINGULAR`` (1e-10; clubSandwich
uses 1e-12 on its n_g x n_g matrix, the difference only matters for an
eigenvalue within 1e-10 of zero) gets weight 0.  A contrast whose
working-model variance is (numerically) entirely removed by this, i.e. one
estimated from a single cluster's data, has no usable cluster-robust variance;
its se, df and p-value are NaN with a note (clubSandwich prints an SE of 0
and a meaningless df such as 4.4 there).

References
----------
Bell RM, McCaffrey DF (2002). Bias reduction in standard errors for linear
regression with multi-stage samples. *Survey Methodology* 28:169-181.
Pustejovsky JE, Tipton E (2018). Small-sample methods for cluster-robust
variance estimation and hypothesis testing in fixed effects models. *J Bus
Econ Stat* 36:672-683.
Cameron AC, Miller DL (2015). A practitioner's guide to cluster-robust
inference. *J Hum Resour* 50:317-372.
Tipton E (2015). Small sample adjustments for robust variance estimation with
meta-regression. *Psychol Methods* 20:375-393.

In R: ``clubSandwich::vcovCR(lm(...), cluster = g, type = "CR2")``,
``coef_test(fit, vcov = V, test = "Satterthwaite")``,
``linear_contrast(fit, vcov = V, contrasts = L)``,
``Wald_test(fit, constraints = L, vcov = V, test = "HTZ")``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from ..base.exceptions import ConfigError, ValidationError
from ._robust_df import Blocks, cluster_terms, htz_nu, orthonormal_fit, satterthwaite_df, sym

__all__ = ["ClusterRobustFit", "cluster_robust", "cluster_robust_formula", "VCOV_TYPES", "WALD_TESTS"]

VCOV_TYPES: tuple[str, ...] = ("CR0", "CR1", "CR2")
WALD_TESTS: tuple[str, ...] = ("HTZ", "chi-sq", "naive-F")
DF_METHODS: tuple[str, ...] = ("satterthwaite", "G-1")

# a contrast whose working-model variance drops below this fraction of its model-based variance is
# treated as identified by a single cluster (no cluster-robust variance)
_TOL_IDENTIFIED = 1e-8

_NOTE_EXACT = "standard error is 0: the model fits every row exactly, so t and p are undefined"
_NOTE_SINGLE = ("not identified: this contrast is estimated from a single cluster's data, so it has no "
                "cluster-robust variance (se, df and p are undefined)")
_NOTE_ZERO_SE = "standard error is 0, so t and p are undefined"


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusterRobustFit:
    r"""OLS / WLS fit with a cluster-robust covariance (see :func:`cluster_robust`).

    Attributes
    ----------
    params : pandas.Series
        Coefficients :math:`\hat\beta` indexed by term name.
    vcov : pandas.DataFrame
        Cluster-robust covariance of :math:`\hat\beta` (``type``).
    type : str
        ``"CR2"`` (Bell-McCaffrey), ``"CR1"`` (Stata's
        :math:`\frac{G}{G-1}\frac{N-1}{N-K}` CR0) or ``"CR0"``.
    n : int
        Rows used.
    n_clusters : int
        Number of clusters G.
    names : tuple of str
        Term names (columns of the design).
    df_resid : int
        N - K.
    weighted : bool
        WLS (weights given).
    design_info : object or None
        patsy ``DesignInfo`` of the design (formula fits), to build contrast
        rows with ``patsy.dmatrix(fit.design_info, new_data)``.
    rows : pandas.Index or None
        Labels of the data rows used (formula fits).
    exact_fit : bool
        All residuals are (numerically) zero; the covariance is then 0 and
        every t and p is NaN.
    """

    params: pd.Series
    vcov: pd.DataFrame = field(repr=False)
    type: str
    n: int
    n_clusters: int
    names: tuple[str, ...]
    df_resid: int
    weighted: bool
    design_info: Any = field(default=None, repr=False)
    rows: pd.Index | None = field(default=None, repr=False)
    exact_fit: bool = False
    _rinv: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False, compare=False)
    _blocks: Blocks | None = field(default=None, repr=False, compare=False)

    # -- basic -------------------------------------------------------------
    @property
    def se(self) -> pd.Series:
        """Cluster-robust standard errors of the coefficients."""
        return pd.Series(np.sqrt(np.clip(np.diag(self.vcov.to_numpy()), 0.0, None)), index=self.params.index)

    def _default_df_method(self) -> str:
        return "satterthwaite" if self.type == "CR2" else "G-1"

    def _contrast_matrix(self, L: Any, what: str = "L") -> tuple[np.ndarray, list[str]]:
        p = len(self.names)
        if isinstance(L, pd.Series):
            L = pd.DataFrame([L.to_dict()], index=None if L.name is None else [L.name])
        if isinstance(L, dict):
            L = pd.DataFrame([L])
        if isinstance(L, pd.DataFrame):
            unknown = [c for c in L.columns if str(c) not in self.names]
            if unknown:
                raise ConfigError(f"{what} names unknown term(s) {unknown}; the terms are {list(self.names)}.")
            mat = L.rename(columns=str).reindex(columns=list(self.names), fill_value=0.0).to_numpy(dtype=float)
            labels = [str(i) for i in L.index] if not isinstance(L.index, pd.RangeIndex) else \
                [f"{what}{i + 1}" for i in range(len(L))]
        else:
            mat = np.atleast_2d(np.asarray(L, dtype=float))
            labels = [f"{what}{i + 1}" for i in range(mat.shape[0])]
        if mat.ndim != 2 or mat.shape[1] != p:
            raise ConfigError(f"{what} must have {p} columns (one per term: {list(self.names)}); "
                              f"got shape {mat.shape}.")
        if mat.shape[0] == 0:
            raise ConfigError(f"{what} has no rows; give at least one contrast row.")
        if not np.isfinite(mat).all():
            raise ConfigError(f"{what} has non-finite entries; use finite numbers.")
        zero = ~mat.any(axis=1)
        if zero.any():
            raise ConfigError(f"{what} row(s) {[labels[i] for i in np.flatnonzero(zero)]} are all zero; "
                              f"each row must weight at least one term.")
        return mat, labels

    # -- t tests -------------------------------------------------------------
    def _t_table(self, mat: np.ndarray, labels: Sequence[str], ci: float, df_method: str | None,
                 null: np.ndarray) -> pd.DataFrame:
        _check_ci(ci)
        method = self._default_df_method() if df_method is None else df_method
        if method not in DF_METHODS:
            raise ConfigError(f"df_method must be one of {DF_METHODS} (or None for the default); got {method!r}.")
        beta = self.params.to_numpy()
        vc = self.vcov.to_numpy()
        est = mat @ beta
        var = np.einsum("ij,jk,ik->i", mat, vc, mat)
        se = np.sqrt(np.clip(var, 0.0, None))
        ct = (mat @ self._rinv).T  # c~ = R^{-T} c, one column per contrast
        assert self._blocks is not None
        sdf, ratio = satterthwaite_df(self._blocks, ct)
        df = sdf if method == "satterthwaite" else np.full(len(est), float(self.n_clusters - 1))
        notes = np.full(len(est), "", dtype=object)
        single = ~(ratio > _TOL_IDENTIFIED)
        se = np.where(single, np.nan, se)
        df = np.where(single | ~np.isfinite(df), np.nan, df)
        notes[single] = _NOTE_SINGLE
        zero_se = ~single & (se <= 0)
        notes[zero_se] = _NOTE_EXACT if self.exact_fit else _NOTE_ZERO_SE
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(se > 0, (est - null) / se, np.nan)
            p = np.where(np.isfinite(t) & (df > 0), 2.0 * stats.t.sf(np.abs(t), df), np.nan)
            crit = np.where(df > 0, stats.t.ppf(0.5 + ci / 2.0, df), np.nan)
        ok_ci = ~single & np.isfinite(df) & (df > 0)
        lo = np.where(ok_ci, est - crit * se, np.nan)
        hi = np.where(ok_ci, est + crit * se, np.nan)
        return pd.DataFrame({
            "term": list(labels), "estimate": est, "se": se, "t": t, "df": df, "p_value": p,
            "ci_low": lo, "ci_high": hi, "n_clusters": self.n_clusters, "vcov_type": self.type,
            "df_method": method, "note": notes.astype(str)})

    def coef_test(self, ci: float = 0.95, *, df_method: str | None = None) -> pd.DataFrame:
        r"""t tests and confidence intervals of every coefficient.

        Parameters
        ----------
        ci
            Confidence level of the intervals.
        df_method
            ``"satterthwaite"`` (default for CR2) or ``"G-1"`` (default for
            CR0 / CR1).

        Returns
        -------
        pandas.DataFrame
            term, estimate, se, t, df, p_value, ci_low, ci_high, n_clusters,
            vcov_type, df_method, note (why a value is NaN, else empty).

        Notes
        -----
        :math:`t_j = \hat\beta_j / \sqrt{\hat V_{jj}}` referred to t with the
        Satterthwaite df of Bell & McCaffrey (2002) / Pustejovsky & Tipton
        (2018): writing :math:`c'\hat Vc = \sum_g (q_g'y)^2`, under the working
        model :math:`y \sim N(X\beta, I)` (OLS and clubSandwich's WLS default)

        .. math::
            \nu = \frac{2\,E(c'\hat Vc)^2}{\operatorname{Var}(c'\hat Vc)}
                = \frac{\big(\sum_g P_{gg}\big)^2}{\sum_g\sum_h P_{gh}^2},\qquad
            P_{gh} = q_g'q_h .

        With ``df_method="G-1"`` the reference is t(G - 1) (Cameron & Miller 2015).

        References
        ----------
        Bell & McCaffrey (2002) *Survey Methodology* 28:169-181; Pustejovsky &
        Tipton (2018) *JBES* 36:672-683.

        In R: ``clubSandwich::coef_test(fit, vcov = "CR2", cluster = g, test = "Satterthwaite")``.
        """
        mat = np.eye(len(self.names))
        return self._t_table(mat, list(self.names), ci, df_method, np.zeros(len(self.names)))

    def contrast(self, L: Any, ci: float = 0.95, *, null: Any = 0.0, df_method: str | None = None) -> pd.DataFrame:
        r"""Estimates, t tests and CIs of linear combinations :math:`L\beta`, each with its own df.

        Parameters
        ----------
        L
            Contrast rows: an array (q, p) or (p,), or a DataFrame / dict /
            Series whose columns (keys) are term names (missing terms get 0;
            a DataFrame's index labels the rows).
        ci
            Confidence level.
        null
            Value(s) of :math:`L\beta` under the null hypothesis of the t tests.
        df_method
            As in :meth:`coef_test`.

        Returns
        -------
        pandas.DataFrame
            Same columns as :meth:`coef_test`; ``term`` labels the rows.

        Notes
        -----
        :math:`\widehat{L\beta}` has variance :math:`l'\hat Vl` for each row
        :math:`l`, and Satterthwaite df computed for that row as in
        :meth:`coef_test` with :math:`c = l`.

        In R: ``clubSandwich::linear_contrast(fit, vcov = V, contrasts = L, test = "Satterthwaite")``.
        """
        mat, labels = self._contrast_matrix(L)
        null_v = np.broadcast_to(np.asarray(null, dtype=float), (mat.shape[0],))
        return self._t_table(mat, labels, ci, df_method, null_v)

    # -- Wald tests ------------------------------------------------------------
    def wald_test(self, L: Any, test: str | Sequence[str] = "HTZ", *, rhs: Any = 0.0) -> pd.DataFrame:
        r"""Wald test of the q constraints :math:`L\beta = r`.

        Parameters
        ----------
        L
            Constraint rows (as in :meth:`contrast`), full row rank.
        test
            ``"HTZ"`` (default), ``"chi-sq"``, ``"naive-F"`` or a list of them
            (one row each).
        rhs
            The right-hand side r (default 0).

        Returns
        -------
        pandas.DataFrame
            One row per test: test, q, statistic (the Wald statistic Q), f,
            delta, df_num, df_denom, p_value, n_clusters, vcov_type,
            df_method, note.

        Notes
        -----
        :math:`Q = (L\hat\beta - r)'(L\hat VL')^{-1}(L\hat\beta - r)`.

        * ``"HTZ"`` (Pustejovsky & Tipton 2018): :math:`L\hat VL'` is
          approximated by a Wishart with :math:`\eta` df whose total variance
          matches the working-model variance (see :func:`._robust_df.htz_nu`);
          :math:`F = \frac{\eta - q + 1}{\eta q}Q \sim F(q, \eta - q + 1)`
          (p NaN when :math:`\eta - q + 1 \le 0`).  For q = 1 this is the
          Satterthwaite t test squared.
        * ``"chi-sq"``: :math:`Q \sim \chi^2_q` (f = Q / q, df_denom = inf).
        * ``"naive-F"``: :math:`Q/q \sim F(q, G - 1)`; with a CR1 fit this is
          the conventional small-G test (Cameron & Miller 2015).

        The tests use this fit's covariance ``type``; HTZ is meant for CR2.
        The cost of HTZ is O(G p^2 q^2), no G x G matrices.

        In R: ``clubSandwich::Wald_test(fit, constraints = L, vcov = V, test = c("HTZ", "chi-sq", "Naive-F"))``.
        """
        tests = [test] if isinstance(test, str) else list(test)
        bad = [t for t in tests if t not in WALD_TESTS]
        if bad or not tests:
            raise ConfigError(f"test must be one or more of {WALD_TESTS}; got {test!r}.")
        mat, _ = self._contrast_matrix(L)
        q = mat.shape[0]
        if np.linalg.matrix_rank(mat) < q:
            raise ConfigError(f"the {q} constraint rows of L are linearly dependent; drop the redundant rows.")
        r = np.broadcast_to(np.asarray(rhs, dtype=float), (q,))
        diff = mat @ self.params.to_numpy() - r
        lvl = sym(mat @ self.vcov.to_numpy() @ mat.T)
        note_q = ""
        try:
            chol = linalg.cho_factor(lvl)
            qstat = float(diff @ linalg.cho_solve(chol, diff))
        except (np.linalg.LinAlgError, linalg.LinAlgError):
            qstat = float("nan")
            note_q = (_NOTE_EXACT if self.exact_fit else
                      "L V L' is singular: the constraints have no cluster-robust variance in some direction")
        ct = (mat @ self._rinv).T
        assert self._blocks is not None
        rows = []
        for name in tests:
            note = note_q
            delta = 1.0
            if name == "chi-sq":
                df2 = float("inf")
                f = qstat / q
                p = float(stats.chi2.sf(qstat, q)) if np.isfinite(qstat) else float("nan")
                method = "chi-sq"
            elif name == "naive-F":
                df2 = float(self.n_clusters - 1)
                f = qstat / q
                p = float(stats.f.sf(f, q, df2)) if np.isfinite(f) else float("nan")
                method = "G-1"
            else:
                eta, ratio = htz_nu(self._blocks, ct)
                method = "HTZ"
                if not ratio > _TOL_IDENTIFIED:
                    note = _NOTE_SINGLE.replace("this contrast is", "a combination of these constraints is")
                    eta = float("nan")
                df2 = eta - q + 1
                delta = max(df2 / eta, 0.0) if np.isfinite(eta) else float("nan")
                f = delta * qstat / q
                if np.isfinite(df2) and df2 > 0 and np.isfinite(f):
                    p = float(stats.f.sf(f, q, df2))
                else:
                    p = float("nan")
                    if not note:
                        note = f"HTZ denominator df {df2:.3g} <= 0: too few clusters to test {q} constraints"
            rows.append({"test": name, "q": q, "statistic": qstat, "f": float(f), "delta": float(delta),
                         "df_num": q, "df_denom": float(df2), "p_value": p, "n_clusters": self.n_clusters,
                         "vcov_type": self.type, "df_method": method, "note": note})
        return pd.DataFrame(rows)


def _check_ci(ci: float) -> None:
    if not (isinstance(ci, (int, float)) and 0.0 < float(ci) < 1.0):
        raise ConfigError(f"ci must be a confidence level strictly between 0 and 1 (e.g. 0.95); got {ci!r}.")


# ---------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------
def cluster_robust(X: Any, y: Any, cluster: Any, *, weights: Any = None, type: str = "CR2",
                   names: Sequence[str] | None = None) -> ClusterRobustFit:
    r"""OLS / WLS fit with a small-sample cluster-robust covariance (CR2 by default).

    Parameters
    ----------
    X
        Design matrix (N, K), array or DataFrame (its columns name the terms);
        include the intercept column yourself.  Must have full column rank.
    y
        Response (N,).
    cluster
        Cluster label of each row (N,), any hashable values, no missing ones.
    weights
        Optional positive weights (N,) for WLS.
    type
        ``"CR2"`` (default), ``"CR1"`` or ``"CR0"``.
    names
        Term names (default: the DataFrame's columns, else x0, x1, ...).

    Returns
    -------
    ClusterRobustFit

    Raises
    ------
    ValidationError
        Fewer than 2 clusters, N <= K, non-finite values, non-positive
        weights, a collinear design, missing cluster labels.
    ConfigError
        Unknown ``type`` or mismatched lengths.

    Notes
    -----
    :math:`\hat\beta = MX'Wy`, :math:`M = (X'WX)^{-1}`, residuals
    :math:`e = y - X\hat\beta`, and

    .. math::
        \hat V = M\Big(\sum_{g=1}^G X_g'W_gA_ge_ge_g'A_g'W_gX_g\Big)M .

    * CR0: :math:`A_g = I`.
    * CR1: :math:`A_g = \sqrt{c}\,I`, :math:`c = \frac{G}{G-1}\frac{N-1}{N-K}`
      (Stata's ``vce(cluster)``; ``sandwich::vcovCL(type = "HC1")``;
      clubSandwich's "CR1S").
    * CR2 (Bell & McCaffrey 2002): :math:`A_g = B_g^{+1/2}`, the symmetric
      (generalised) inverse square root of
      :math:`B_g = [(I-H)(I-H)']_{gg}`, :math:`H = XMX'W`; for OLS
      :math:`B_g = I - H_{gg} = I - X_gMX_g'`.  :math:`\hat V` is then
      unbiased when the errors are independent with constant variance.  With
      weights this is clubSandwich's default for ``lm`` (working model
      independence with unit variance; the weights are not taken as inverse
      variances).

    :math:`(I - H_{gg})^{-1/2}` is computed from the p x p matrix
    :math:`\tilde X_g'\tilde X_g` of the orthonormalised design (see the
    module notes), never from an n_g x n_g matrix; singular
    :math:`I - H_{gg}` uses the Moore-Penrose inverse square root.  Whether
    G is large enough to trust the result is the caller's decision
    (``n_clusters``); CR2 with Satterthwaite df / HTZ is calibrated down to
    about 6 clusters (benchmarks/mc_cluster_inference.py).

    References
    ----------
    Bell RM, McCaffrey DF (2002) *Survey Methodology* 28:169-181.
    Pustejovsky JE, Tipton E (2018) *JBES* 36:672-683.
    Cameron AC, Miller DL (2015) *J Hum Resour* 50:317-372.

    In R: ``clubSandwich::vcovCR(lm(y ~ X - 1, weights = w), cluster = g, type = "CR2")``
    (``type = "CR1S"`` for CR1, ``"CR0"``).
    """
    kind = str(type)
    if kind not in VCOV_TYPES:
        raise ConfigError(f"type must be one of {VCOV_TYPES}; got {type!r}.")
    if isinstance(X, pd.DataFrame):
        term_names = [str(c) for c in X.columns] if names is None else [str(n) for n in names]
        x = X.to_numpy(dtype=float)
    else:
        x = np.asarray(X, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        term_names = [f"x{j}" for j in range(x.shape[1])] if names is None else [str(n) for n in names]
    if x.ndim != 2:
        raise ConfigError(f"X must be a 2-d design matrix; got shape {x.shape}.")
    n, p = x.shape
    if len(term_names) != p:
        raise ConfigError(f"names has {len(term_names)} entries but X has {p} columns.")
    yv = np.asarray(y, dtype=float).reshape(-1)
    cl = np.asarray(cluster).reshape(-1) if not isinstance(cluster, pd.Series) else cluster.to_numpy()
    if len(yv) != n or len(cl) != n:
        raise ConfigError(f"X has {n} rows but y has {len(yv)} and cluster has {len(cl)}; give one value per row.")
    wv = None
    if weights is not None:
        wv = np.asarray(weights, dtype=float).reshape(-1)
        if len(wv) != n:
            raise ConfigError(f"weights has {len(wv)} values but X has {n} rows.")
        if not (np.isfinite(wv).all() and (wv > 0).all()):
            raise ValidationError(f"weights must be finite and > 0; {int((~(np.isfinite(wv) & (wv > 0))).sum())} "
                                  f"are not. Drop those rows (a zero weight removes a row from a WLS fit).")
    if not np.isfinite(x).all() or not np.isfinite(yv).all():
        raise ValidationError("X and y must be finite; drop rows with missing or infinite values first "
                              "(cluster_robust_formula does this for you).")
    codes, uniq = pd.factorize(pd.Series(cl), use_na_sentinel=True)
    if (codes < 0).any():
        raise ValidationError(f"{int((codes < 0).sum())} row(s) have no cluster label; drop them or give a label.")
    n_clusters = len(uniq)
    if n_clusters < 2:
        raise ValidationError(f"cluster-robust errors need at least 2 clusters; got {n_clusters}. "
                              f"Check the cluster labels.")
    if n <= p:
        raise ValidationError(f"{n} rows for {p} terms: a regression needs more rows than terms.")
    return _fit(x, yv, codes.astype(np.intp), n_clusters, wv, kind, term_names, None, None)


def _fit(x: np.ndarray, y: np.ndarray, codes: np.ndarray, n_clusters: int, w: np.ndarray | None, kind: str,
         names: list[str], design_info: Any, rows: pd.Index | None) -> ClusterRobustFit:
    n, p = x.shape
    if w is not None:
        w = w / w.mean()  # scale-free: mean 1 keeps the WLS matrices well scaled
    rinv, beta, xt, e, exact = orthonormal_fit(x, y, w, names)
    scale = 1.0
    if kind == "CR1":
        scale = float(np.sqrt(n_clusters / (n_clusters - 1) * (n - 1) / (n - p)))
    score, blocks = cluster_terms(xt, e, w, codes, n_clusters, kind, scale)
    v_theta = score.T @ score
    v_beta = sym(rinv @ v_theta @ rinv.T)
    return ClusterRobustFit(params=pd.Series(beta, index=names), vcov=pd.DataFrame(v_beta, index=names, columns=names),
                            type=kind, n=int(n), n_clusters=int(n_clusters), names=tuple(names), df_resid=int(n - p),
                            weighted=w is not None, design_info=design_info, rows=rows, exact_fit=exact,
                            _rinv=rinv, _blocks=blocks)


def cluster_robust_formula(formula: str, data: pd.DataFrame, cluster: str, *, weights: str | None = None,
                           type: str = "CR2", eval_env: int = 0) -> ClusterRobustFit:
    r"""Formula interface of :func:`cluster_robust` (patsy design, like statsmodels' ``ols``).

    Parameters
    ----------
    formula
        patsy formula, e.g. ``"post ~ pre + C(group_type)"``.
    data
        DataFrame holding the model variables and ``cluster``.
    cluster
        Column of cluster labels.
    weights
        Optional column of positive weights (WLS).
    type
        ``"CR2"`` (default), ``"CR1"`` or ``"CR0"``.
    eval_env
        Frames above the caller in which patsy looks up names used in the
        formula (0 = the caller's).

    Returns
    -------
    ClusterRobustFit
        With ``design_info`` (patsy ``DesignInfo``: build contrast rows with
        ``patsy.dmatrix(fit.design_info, new_data)``) and ``rows`` (labels of
        the rows used).

    Notes
    -----
    Rows with a missing cluster label or weight are dropped first, then patsy
    drops rows with a missing value in any model variable (as
    ``groupeval._stats.cluster_ols`` does).

    In R: ``clubSandwich::vcovCR(lm(formula, data, weights = w), cluster = data$g, type = "CR2")``.
    """
    import patsy

    if not isinstance(data, pd.DataFrame):
        raise ConfigError(f"data must be a pandas DataFrame; got {data.__class__.__name__}.")
    need = [cluster] + ([weights] if weights is not None else [])
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise ConfigError(f"data has no column(s) {missing}; name existing columns for cluster / weights.")
    d = data.dropna(subset=need)
    env = patsy.EvalEnvironment.capture(eval_env + 1)  # the caller's frame (+ eval_env levels)
    try:
        yd, xd = patsy.dmatrices(formula, d, eval_env=env, NA_action="drop", return_type="dataframe")
    except patsy.PatsyError as exc:
        raise ConfigError(f"cannot build the design of {formula!r}: {exc}") from exc
    if yd.shape[1] != 1:
        raise ConfigError(f"the formula {formula!r} must have a single numeric response on the left of '~'.")
    used = xd.index
    fit_w = d.loc[used, weights].to_numpy(dtype=float) if weights is not None else None
    cl = d.loc[used, cluster]
    codes, uniq = pd.factorize(cl)
    n_clusters = len(uniq)
    x = xd.to_numpy(dtype=float)
    yv = yd.iloc[:, 0].to_numpy(dtype=float)
    names = [str(c) for c in xd.columns]
    if n_clusters < 2:
        raise ValidationError(f"cluster-robust errors need at least 2 clusters ({cluster!r}); got {n_clusters} "
                              f"among the {len(used)} complete rows. Check the {cluster!r} column.")
    if len(used) <= x.shape[1]:
        raise ValidationError(f"{len(used)} complete rows for {x.shape[1]} terms: a regression needs more rows "
                              f"than terms.")
    if fit_w is not None and not (np.isfinite(fit_w).all() and (fit_w > 0).all()):
        raise ValidationError(f"weights column {weights!r} must be > 0; drop rows with zero or negative weights.")
    if not (np.isfinite(x).all() and np.isfinite(yv).all()):
        raise ValidationError("the design or response has infinite values; drop those rows.")
    return _fit(x, yv, codes.astype(np.intp), n_clusters, fit_w, str(type), names, xd.design_info, used)
