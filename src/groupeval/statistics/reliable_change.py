"""Reliable and clinically significant change (Jacobson-Truax, GLN, HA) with Wilson CIs."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..base.dataset import Dataset
from ..base.exceptions import ConfigError, ValidationError
from ._clinical_cutoffs import check_cutoff_range, choose_cutoff, criteria, cutoff_source, published_cutoff
from ._common import (
    attach_columns,
    check_choice,
    check_frame,
    dataset_arg,
    instrument_name,
    paired_frame,
    resolve_instrument,
    tidy_norms,
    wilson_ci,
)
from .reliability import cronbach_alpha
from .results import Result

__all__ = ["CATEGORIES", "ReliableChangeResult", "reliable_change"]

#: Reliable-change categories in display order.
CATEGORIES = ("recovered", "improved", "unchanged", "deteriorated", "harmed")


# ---------------------------------------------------------------------------
# reliable change
# ---------------------------------------------------------------------------
def _data_alpha(responses: pd.DataFrame | None, inst: Any, pre: str, subject: str, time: str) -> tuple[float, str]:
    if responses is None:
        raise ConfigError("reliability='data' computes Cronbach's alpha from the item responses; pass "
                          "`responses=` (the responses table with the instrument's item columns).")
    name = getattr(inst, "name", None)
    k = getattr(inst, "n_items", None)
    if not name or not k:
        raise ConfigError("reliability='data' needs an instrument with `name` and `n_items` to find its items.")
    cols = [f"{name}_{i}" for i in range(1, int(k) + 1)]
    check_frame(responses, [time, *cols], what="responses")
    items = responses.loc[responses[time].astype("string") == pre, cols].apply(pd.to_numeric, errors="coerce")
    rev = [f"{name}_{i}" for i in getattr(inst, "reverse", ()) or ()]
    if rev:
        lo_, hi_ = float(inst.item_min), float(inst.item_max)
        items[rev] = lo_ + hi_ - items[rev]
    complete = items.dropna().to_numpy(dtype=float)
    n = len(complete)
    alpha = cronbach_alpha(complete) if n >= 2 else float("nan")
    if not np.isfinite(alpha):
        raise ValidationError(f"cannot compute alpha from the data: only {n} complete response(s) at {pre!r}. "
                              f"Use reliability='test_retest', 'alpha' or a number.")
    return alpha, f"Cronbach's alpha from the data at {pre} (n = {n} complete responses)"


def _resolve_reliability(reliability: Any, inst: Any, responses, pre, subject, time) -> tuple[float, str]:
    if isinstance(reliability, (int, float, np.floating)) and not isinstance(reliability, bool):
        r = float(reliability)
        source = "given by the user"
    else:
        check_choice("reliability", reliability, ("auto", "test_retest", "alpha", "data"))
        rel = getattr(inst, "reliability", None) or {}
        get = rel.get if hasattr(rel, "get") else (lambda k: None)
        note = ""
        if reliability == "auto":
            if get("test_retest") is not None:
                reliability = "test_retest"
            elif get("alpha") is not None:
                reliability, note = "alpha", " (the registry has no test-retest value)"
            else:
                raise ConfigError(
                    f"the instrument {instrument_name(inst)!r} has neither a test-retest nor an alpha reliability "
                    f"in the registry. Use reliability='data' with `responses=` (alpha from your items) or give a "
                    f"number such as reliability=0.85 from the literature.")
        if reliability == "data":
            r, source = _data_alpha(responses, inst, pre, subject, time)
        else:
            got = get(reliability)
            if got is None:
                other = "alpha" if reliability == "test_retest" else "test_retest"
                have = [k for k in ("test_retest", "alpha") if get(k) is not None]
                raise ConfigError(
                    f"the instrument {instrument_name(inst)!r} has no registry {reliability!r} reliability. "
                    f"Use reliability={other!r}" + (" (available)" if other in have else "") +
                    ", reliability='data' with `responses=`, or a number such as reliability=0.85.")
            r = float(got)
            source = f"registry {reliability.replace('_', '-')} reliability of {instrument_name(inst)}{note}"
    if not (0 < r < 1):
        raise ConfigError(f"reliability must be strictly between 0 and 1; got {r!r} ({source}).")
    return r, source


@dataclass(frozen=True, repr=False)
class ReliableChangeResult(Result):
    """Reliable and clinically significant change of each member (result of :func:`reliable_change`).

    Attributes
    ----------
    members : DataFrame
        One row per member with both scores: ``member_id`` (the ``subject``
        column), ``group_id`` when present, ``pre``, ``post``, ``change``,
        ``rci``, ``reliable_improvement``, ``reliable_deterioration``,
        ``pre_functional``, ``post_functional``, ``crossed_cutoff``
        (dysfunctional before, functional after), ``category``
        (ordered categorical: recovered / improved / unchanged /
        deteriorated / harmed) and, for ``method="ha"``, ``cs`` (the
        individual clinical-significance index).
    categories : DataFrame
        (also ``.summary``) ``category, n, share, share_ci_low,
        share_ci_high`` (Wilson CI), all five categories, in order.
    method : str
        ``"jt"``, ``"gln"`` or ``"ha"``.
    reliability, reliability_source
        The reliability used and where it came from.
    sd, sd_source
        SD used for the standard error of measurement.
    se_measurement, sdiff
        ``SE = sd * sqrt(1 - r)`` and ``Sdiff = sqrt(2) * SE``.
    critical_value : float
        |index| beyond which change is reliable (1.96 for JT/GLN, 1.645 for HA at ``ci=0.95``).
    min_reliable_change : float
        ``critical_value * sdiff`` (JT): the smallest raw change that is reliable.
    cutoffs : dict
        ``{"a": ..., "b": ..., "c": ..., "clinical": ...}`` (NaN where norms
        or the instrument's published clinical cut-off are missing).
    cutoff, cutoff_value
        The cut-off used (``"a"``, ``"b"``, ``"c"``, ``"clinical"`` for the
        instrument's published clinical cut-off, ``"user"`` for a number
        given) and its value.
    cutoff_reason : str
        Why that cut-off was used (the ``cutoff="auto"`` rule that applied,
        or that it was asked for).
    cutoff_source : str
        Where its value comes from (the norms, the pre-treatment sample, the
        published source with its confidence tag, or the user).
    recovery_possible : bool
        False when the cut-off leaves no possible score on the non-clinical
        (or on the clinical) side of the instrument's score range, so nobody
        can be classed *recovered* (a :class:`DataQualityWarning` says so).
    norms : dict
        Clinical / functional (mean, sd) used and ``clinical_source``.
    higher_is_better : bool
    instrument, pre, post : str
    n_pre_only, n_post_only : int
        Members left out for lack of the other score.
    subject : str
        The member id column.
    ci : float
        Level of the reliable-change criterion and of the Wilson intervals.
    details : dict
        Hageman-Arrindell only: ``r_dd``, ``r_pre``, ``r_post``, ``r_pre_post``.
    methods : tuple of str
        Method keys for the methods paragraph (``("jacobson_truax", "wilson")``;
        ``"hageman_arrindell"`` first for ``method="ha"``).
    """

    members: pd.DataFrame
    categories: pd.DataFrame
    method: str
    reliability: float
    reliability_source: str
    sd: float
    sd_source: str
    se_measurement: float
    sdiff: float
    critical_value: float
    min_reliable_change: float
    cutoffs: dict[str, float]
    cutoff: str
    cutoff_value: float
    cutoff_reason: str
    cutoff_source: str
    recovery_possible: bool
    norms: dict[str, Any]
    higher_is_better: bool
    instrument: str
    pre: str
    post: str
    n_pre_only: int
    n_post_only: int
    subject: str = "member_id"
    ci: float = 0.95
    details: dict[str, float] = field(default_factory=dict)
    methods: tuple[str, ...] = ()

    _plotter: ClassVar[str | None] = "plot_reliable_change"
    _title: ClassVar[str] = "Reliable change"

    @property
    def summary(self) -> pd.DataFrame:
        """The category table (:attr:`categories`)."""
        return self.categories

    @property
    def settings(self) -> pd.DataFrame:
        """The choices behind the classification as a two-column table (name, value)."""
        rows = [("instrument", self.instrument), ("pre", self.pre), ("post", self.post), ("method", self.method),
                ("reliability", self.reliability), ("reliability_source", self.reliability_source),
                ("sd", self.sd), ("sd_source", self.sd_source), ("se_measurement", self.se_measurement),
                ("sdiff", self.sdiff), ("critical_value", self.critical_value),
                ("min_reliable_change", self.min_reliable_change), ("cutoff", self.cutoff),
                ("cutoff_value", self.cutoff_value), ("cutoff_reason", self.cutoff_reason),
                ("cutoff_source", self.cutoff_source), ("cutoff_a", self.cutoffs["a"]),
                ("cutoff_b", self.cutoffs["b"]), ("cutoff_c", self.cutoffs["c"]),
                ("cutoff_clinical", self.cutoffs.get("clinical", np.nan)),
                ("recovery_possible", self.recovery_possible),
                ("higher_is_better", self.higher_is_better), ("n_pre_only", self.n_pre_only),
                ("n_post_only", self.n_post_only)]
        return pd.DataFrame(rows, columns=["name", "value"])

    def summary_by(self, by: str, dataset: Dataset | None = None, *, data: Any = None) -> pd.DataFrame:
        """Category counts and Wilson shares per level of ``by``.

        ``by`` is a column of :attr:`members` or of ``dataset.groups`` /
        ``dataset.members`` (joined via ``group_id`` / the member id), e.g.
        ``"group_type"``.  ``data=`` is the deprecated spelling of
        ``dataset=``.  Columns: ``by, category, n, share, share_ci_low,
        share_ci_high`` (all five categories for every level).
        """
        dataset = dataset_arg(dataset, data, "ReliableChangeResult.summary_by")
        m = attach_columns(self.members, [by], dataset, subject=self.subject)
        lv = m[by].astype("object").where(m[by].notna(), "(missing)")
        tab = pd.crosstab(lv, m["category"], dropna=False).reindex(columns=list(CATEGORIES), fill_value=0)
        long = tab.stack().rename("n").reset_index()
        long.columns = [by, "category", "n"]
        tot = long.groupby(by)["n"].transform("sum").to_numpy(dtype=float)
        lo, hi = wilson_ci(long["n"].to_numpy(dtype=float), tot, self.ci)
        with np.errstate(invalid="ignore", divide="ignore"):
            long["share"] = long["n"] / tot
        long["share_ci_low"], long["share_ci_high"] = lo, hi
        long["category"] = pd.Categorical(long["category"].astype(str), categories=list(CATEGORIES), ordered=True)
        return long.sort_values([by, "category"], kind="stable").reset_index(drop=True)

    def _repr_html_(self) -> str:
        head = (f"<p><b>Reliable change</b> ({self.instrument}, {self.pre} &rarr; {self.post}; method "
                f"{self.method.upper()}, reliability {self.reliability:.3g} [{self.reliability_source}], "
                f"cut-off {self.cutoff} = {self.cutoff_value:.4g} [{self.cutoff_source}])</p>")
        return head + self.summary.to_html(index=False)


def reliable_change(scores: pd.DataFrame, instrument: Any, pre: str = "baseline", post: str = "week_26", *,
                    reliability: str | float = "auto", norms: Mapping[str, Any] | None = None,
                    cutoff: str | float = "auto", method: str = "jt", sd: str | float = "sample",
                    responses: pd.DataFrame | None = None, dv: str = "score", subject: str = "member_id",
                    time: str = "timepoint", ci: float = 0.95) -> ReliableChangeResult:
    r"""Jacobson-Truax reliable and clinically significant change.

    Parameters
    ----------
    scores
        Long scores with ``subject``, ``time``, ``dv`` (``group_id`` is carried over).
    instrument
        Registry name or instrument object (``higher_is_better``,
        ``reliability``, ``norms``; ``name``/``n_items``/``reverse``/
        ``item_min``/``item_max`` for ``reliability="data"``).
    pre, post
        The two timepoints.
    reliability
        ``"auto"`` (default: the registry's test-retest value, as J&T
        specify, else the registry's alpha), ``"test_retest"`` (registry),
        ``"alpha"`` (registry), ``"data"`` (Cronbach's alpha of the items in
        ``responses`` at ``pre``) or a number in (0, 1).  Always reported.
    norms
        ``{"clinical": (mean, sd), "functional": (mean, sd)}``; default the
        instrument's ``norms``.  Without clinical norms the pre-treatment
        sample plays the dysfunctional population (J&T 1991).
    cutoff
        The boundary between the clinical (dysfunctional) and non-clinical
        (functional) range.  ``"auto"`` (default) takes the first that
        applies: (1) criterion c when clinical *and* functional norms exist
        (b when the two populations do not overlap); (2) the instrument's
        published ``clinical_cutoff`` (``"clinical"``; e.g. PHQ-9 10);
        (3) c / b with the pre-treatment sample as the dysfunctional
        population when only functional norms exist; (4) criterion a (from
        the clinical norms or the pre-treatment sample), with a
        :class:`DataQualityWarning` when it
        falls outside the score range (nobody could be classed recovered).
        Or ask for ``"a"``, ``"b"``, ``"c"``, ``"clinical"`` or give a number
        on the score's scale.  The choice, the reason and the source are
        recorded on the result.
    method
        ``"jt"`` Jacobson & Truax 1991 (default), ``"gln"``
        Gulliksen-Lord-Novick (regression to the mean), ``"ha"`` Hageman &
        Arrindell 1999 (RC_ID and individual clinical significance).
    sd
        SD for the standard error of measurement: ``"sample"`` (SD of the
        pre scores of the members analysed; default), ``"clinical"`` (the
        clinical norm SD) or a number.
    responses
        Item responses, only for ``reliability="data"``.
    ci
        Two-sided level of the reliable-change criterion (0.95 → 1.96) and of
        the Wilson intervals; HA uses the one-sided quantile (1.645).

    Returns
    -------
    ReliableChangeResult
        ``.members``, ``.summary`` and the settings used (see the class).

    Notes
    -----
    Direction :math:`f = +1` if higher is better, else :math:`-1`.  With
    :math:`M_1, s_1` the clinical (or pre-sample) mean and SD, :math:`M_0,
    s_0` the functional ones and :math:`r` the reliability:

    .. math::
        SE = s\sqrt{1-r},\quad S_{diff} = \sqrt{2SE^2},\quad
        RC = (x_2 - x_1)/S_{diff}

        a = M_1 + 2f s_1,\quad b = M_0 - 2f s_0,\quad
        c = \frac{s_0M_1 + s_1M_0}{s_0+s_1}

    (J&T 1991 definitions: *b* uses the functional SD, with 2 SD, not 1.96;
    the R package ``clinicalsignificance`` uses the clinical SD for *b*.)
    A score is functional (non-clinical) when :math:`f(x - cut) > 0`: a
    score exactly at the cut-off is clinical, for every criterion (for a
    published cut-off this is the instrument's documented boundary: PHQ-9
    :math:`\ge 10` is clinical, WHO-5 percentage :math:`\le 50`).  Categories:
    *recovered* = reliable improvement (:math:`fRC > z`) and pre
    dysfunctional and post functional; *improved* = other reliable
    improvement; *unchanged* = :math:`|RC| \le z`; *harmed* = reliable
    deterioration from functional to dysfunctional; *deteriorated* = other
    reliable deterioration.

    GLN: :math:`RC = [(x_2 - M_{pre}) - r(x_1 - M_{pre})]/(s\sqrt{1-r^2})`.
    HA: :math:`r_{dd} = \frac{s_{pre}^2r_{pre} + s_{post}^2r_{post} -
    2s_{pre}s_{post}r_{12}}{s_{pre}^2 + s_{post}^2 - 2s_{pre}s_{post}r_{12}}`,
    :math:`r_t = (s_t^2 - SE^2)/s_t^2`,
    :math:`RC_{ID} = \frac{(x_2-x_1)r_{dd} + (M_{post}-M_{pre})(1-r_{dd})}{\sqrt{r_{dd}}\sqrt{2SE^2}}`,
    cut-offs with true SDs :math:`s\sqrt r`, and
    :math:`CS = [M_{post} + (x_2 - M_{post})r_{post} - cut]/(\sqrt{r_{post}}SE)`;
    post is functional when :math:`f\,CS > z` (1.645).

    References
    ----------
    Jacobson NS, Truax P (1991). *J Consult Clin Psychol* 59(1):12-19.
    Kroenke K, Spitzer RL, Williams JBW (2001). *J Gen Intern Med* 16:606-613
    (PHQ-9 caseness 10).  UK NHS Talking Therapies "reliable recovery"
    (reliable improvement and caseness to non-caseness) follows the same rule.
    Hageman WJ, Arrindell WA (1999). *Behav Res Ther* 37:1169-1193.
    Hsu LM (1989). *J Consult Clin Psychol* 57:131-137.

    In R: ``clinicalsignificance::cs_distribution(data, id, time, outcome,
    reliability = r, pre = "baseline")`` (note its *b* variant).
    """
    user_cut = _check_arguments(ci, method, cutoff)
    inst = resolve_instrument(instrument)
    if inst is None:
        raise ConfigError("`instrument` is required (a registry name such as 'phq9' or an Instrument): its "
                          "direction, reliability and norms define reliable change.")
    check_frame(scores, [subject, time, dv])
    keep = [c for c in ("group_id",) if c in scores.columns and c != subject]
    wide, counts = paired_frame(scores, pre, post, dv=dv, subject=subject, time=time, keep=keep)
    m = wide.loc[wide["pre"].notna() & wide["post"].notna()].reset_index(drop=True)
    if len(m) < 2:
        raise ValidationError(f"reliable change needs members with both a {pre!r} and a {post!r} score; "
                              f"found {len(m)}. Check the timepoints and the score column {dv!r}.")
    f = 1.0 if bool(inst.higher_is_better) else -1.0
    r, r_source = _resolve_reliability(reliability, inst, responses, pre, subject, time)
    nm = tidy_norms(norms if norms is not None else getattr(inst, "norms", None))
    x1, x2 = m["pre"].to_numpy(float), m["post"].to_numpy(float)
    sample = _Sample(float(x1.mean()), float(x1.std(ddof=1)), float(x2.mean()), float(x2.std(ddof=1)), len(m), pre)
    if nm["clinical"] is not None:
        M1, s1 = nm["clinical"]
        clinical_source = "norms"
    else:
        M1, s1 = sample.m_pre, sample.s_pre
        clinical_source = f"pre-treatment sample ({pre}, n = {len(m)})"
    s_used, sd_source = _measurement_sd(sd, nm, sample)
    se = s_used * np.sqrt(1 - r)
    sdiff = np.sqrt(2 * se**2)
    z = float(stats.norm.ppf(ci)) if method == "ha" else float(stats.norm.ppf(0.5 + ci / 2))

    published = published_cutoff(inst)
    cut = criteria(M1, s1, nm["functional"], f, np.sqrt(r) if method == "ha" else 1.0, published)
    label = getattr(inst, "label", None) or instrument_name(inst) or "the instrument"
    used, reason, cv = choose_cutoff(cutoff, user_cut, cut, nm, f, published, label)
    cut_source = cutoff_source(used, f, clinical_source, method, published)
    recovery_possible = check_cutoff_range(cv, f, inst, used, cut_source, label)

    rci, cs, extra = _change_index(method, x1, x2, sample, r, s_used, se, sdiff, cv)
    if cs is not None:
        m["cs"] = cs
    code, flags = _classify(f, z, rci, x1, x2, cv, cs)
    m = m.assign(change=x2 - x1, rci=rci, **flags,
                 category=pd.Categorical.from_codes(code, categories=list(CATEGORIES), ordered=True))
    cols = [subject, *keep, "pre", "post", "change", "rci", "reliable_improvement", "reliable_deterioration",
            "pre_functional", "post_functional", "crossed_cutoff", "category"] + (["cs"] if method == "ha" else [])
    members = m[cols]
    k = np.bincount(code, minlength=len(CATEGORIES)).astype(float)
    lo, hi = wilson_ci(k, len(members), ci)
    summary = pd.DataFrame({"category": list(CATEGORIES), "n": k.astype(int), "share": k / len(members),
                            "share_ci_low": lo, "share_ci_high": hi})
    return ReliableChangeResult(
        members=members.reset_index(drop=True), categories=summary, method=method, reliability=r,
        reliability_source=r_source, sd=float(s_used), sd_source=sd_source, se_measurement=float(se),
        sdiff=float(sdiff), critical_value=z, min_reliable_change=float(z * sdiff),
        cutoffs={k_: float(v) for k_, v in cut.items()}, cutoff=used, cutoff_value=cv, cutoff_reason=reason,
        cutoff_source=cut_source, recovery_possible=recovery_possible,
        norms={"clinical": (M1, s1), "functional": nm["functional"], "clinical_source": clinical_source},
        higher_is_better=bool(inst.higher_is_better), instrument=instrument_name(inst) or "instrument",
        pre=pre, post=post, n_pre_only=counts["n_pre_only"], n_post_only=counts["n_post_only"],
        subject=subject, ci=ci, details=extra, methods=_method_keys(method))


def _method_keys(method: str) -> tuple[str, ...]:
    """Reference keys of the methods paragraph: the classification method(s), then Wilson's intervals."""
    return ("hageman_arrindell", "jacobson_truax", "wilson") if method == "ha" else ("jacobson_truax", "wilson")


def _check_arguments(ci: float, method: str, cutoff: Any) -> bool:
    """Check ``ci``, ``method`` and ``cutoff``; True when ``cutoff`` is a number given by the user."""
    if not (0 < ci < 1):
        raise ConfigError(f"`ci` must be between 0 and 1 (e.g. 0.95); got {ci!r}.")
    check_choice("method", method, ("jt", "gln", "ha"))
    user_cut = isinstance(cutoff, (int, float, np.integer, np.floating)) and not isinstance(cutoff, (bool, np.bool_))
    if user_cut:
        if not np.isfinite(float(cutoff)):
            raise ConfigError(f"`cutoff` must be a finite number on the score's scale, 'auto', 'a', 'b', 'c' or "
                              f"'clinical'; got {cutoff!r}.")
    else:
        check_choice("cutoff", cutoff, ("auto", "a", "b", "c", "clinical"))
    return bool(user_cut)


@dataclass(frozen=True)
class _Sample:
    """Means and SDs of the pre and post scores of the members analysed."""

    m_pre: float
    s_pre: float
    m_post: float
    s_post: float
    n: int
    pre: str


def _measurement_sd(sd: str | float, nm: Mapping[str, tuple[float, float] | None],
                    sample: _Sample) -> tuple[float, str]:
    """The SD of the standard error of measurement and where it comes from (``sd=`` argument)."""
    if isinstance(sd, str):
        check_choice("sd", sd, ("sample", "clinical"))
        if sd == "clinical":
            clinical = nm["clinical"]
            if clinical is None:
                raise ConfigError("sd='clinical' needs clinical norms; pass norms={'clinical': (mean, sd)} or use "
                                  "sd='sample'.")
            return clinical[1], "clinical norm SD"
        return sample.s_pre, f"SD of the {sample.pre} scores (n = {sample.n})"
    s_used = float(sd)
    if not (np.isfinite(s_used) and s_used > 0):
        raise ConfigError(f"`sd` must be a positive number, 'sample' or 'clinical'; got {sd!r}.")
    return s_used, "given by the user"


def _change_index(method: str, x1: np.ndarray, x2: np.ndarray, sample: _Sample, r: float, s_used: float,
                  se: float, sdiff: float, cv: float) -> tuple[np.ndarray, np.ndarray | None, dict[str, float]]:
    """``(rci, cs, details)``: the reliable-change index of each member (JT, GLN or HA).

    For HA also the individual clinical-significance index ``cs`` and the
    reliabilities behind it; ``cs`` is None otherwise.
    """
    if method == "jt":
        return (x2 - x1) / sdiff, None, {}
    m_pre, s_pre, m_post, s_post = sample.m_pre, sample.s_pre, sample.m_post, sample.s_post
    if method == "gln":
        return ((x2 - m_pre) - r * (x1 - m_pre)) / (s_used * np.sqrt(1 - r**2)), None, {}
    r12 = float(np.corrcoef(x1, x2)[0, 1])
    r_pre = (s_pre**2 - se**2) / s_pre**2
    r_post = (s_post**2 - se**2) / s_post**2
    num = s_pre**2 * r_pre + s_post**2 * r_post - 2 * s_pre * s_post * r12
    den = s_pre**2 + s_post**2 - 2 * s_pre * s_post * r12
    r_dd = num / den
    if not (r_dd > 0 and r_post > 0):
        raise ValidationError(f"Hageman-Arrindell needs positive reliabilities of the difference and post "
                              f"scores; got r_dd = {r_dd:.4g}, r_post = {r_post:.4g}. Use method='jt'.")
    rci = ((x2 - x1) * r_dd + (m_post - m_pre) * (1 - r_dd)) / (np.sqrt(r_dd) * np.sqrt(2 * se**2))
    cs = (m_post + (x2 - m_post) * r_post - cv) / (np.sqrt(r_post) * se)
    return rci, cs, {"r_dd": r_dd, "r_pre": r_pre, "r_post": r_post, "r_pre_post": r12}


def _classify(f: float, z: float, rci: np.ndarray, x1: np.ndarray, x2: np.ndarray, cv: float,
              cs: np.ndarray | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Integer codes into :data:`CATEGORIES` and the flag columns of each member.

    Functional (non-clinical) is ``f (x - cv) > 0``; with HA the post score
    is functional when ``f cs > z`` and dysfunctional when ``f cs < -z``.
    """
    rel_up = f * rci > z
    rel_down = f * rci < -z
    pre_fun = f * (x1 - cv) > 0
    if cs is not None:
        post_fun = f * cs > z
        post_dys = f * cs < -z
    else:
        post_fun = f * (x2 - cv) > 0
        post_dys = ~post_fun
    # integer codes into CATEGORIES (no million-element string arrays)
    code = np.select([rel_up & ~pre_fun & post_fun, rel_up, rel_down & pre_fun & post_dys, rel_down],
                     [0, 1, 4, 3], default=2).astype(np.int8)
    flags = {"reliable_improvement": rel_up, "reliable_deterioration": rel_down, "pre_functional": pre_fun,
             "post_functional": post_fun, "crossed_cutoff": ~pre_fun & post_fun}
    return code, flags
