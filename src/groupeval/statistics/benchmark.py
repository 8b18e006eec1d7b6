r"""The programme beside the published evidence.

:func:`benchmark` puts a programme's own estimate -- a pre/post change from
:func:`groupeval.change`, or the reliable-change threshold of
:func:`groupeval.reliable_change` -- beside the published references that match
it: pooled effects of peer support from the evidence registry
(:mod:`groupeval.base.evidence`), published thresholds for change on the same
instrument, and the instrument's normative means and clinical cut-off (from the
instrument registry).

The table never pretends that different quantities are the same.  A
programme's before/after change is **uncontrolled**: it contains whatever would
have happened without the group (natural recovery, regression to the mean,
other help), whereas most published effects are **between-group** differences
against a control.  Both can be put in standard-deviation units, but they
estimate different things.  Every row therefore carries a ``comparable``
column (``"same_metric"``, ``"same_scale"`` or ``"no"``) and a ``note`` that
says why.

Conversions (all vectorised, all unrounded):

* standardised mean change, raw-score standardisation (Becker 1988), with the
  exact small-sample correction and Bonett's (2008) variance, as metafor's
  ``escalc(measure = "SMCRH")``:

  .. math::
      J(m) = \frac{\Gamma(m/2)}{\sqrt{m/2}\,\Gamma((m-1)/2)},\quad
      g = J(n-1)\,\frac{\bar x_{post} - \bar x_{pre}}{s_{pre}},\quad
      v = J^2\Big[\frac{s_D^2}{s_{pre}^2 (n-1)} + \frac{g^2}{2(n-1)}\Big]

  and the Wald interval :math:`g \pm z_{1-\alpha/2}\sqrt v`.  Because members
  share groups, a second interval multiplies the first term by the design
  effect of the mean change, :math:`\max\{1, (SE_{cluster}/SE)^2\}`, with the
  cluster-robust SE of :func:`groupeval.change`, and uses a t quantile with the
  df of that cluster interval (CR2 Satterthwaite; a groupeval convention, calibrated in
  benchmarks/mc_benchmark_smcr.py;
  see docs/evidence.md).
* :math:`d_{rm} = d_z\sqrt{2(1-r)}` (Morris & DeShon 2002; Lakens 2013), the
  repeated-measures effect on the scale of the scores; its interval is the
  exact :math:`d_z` interval times the same factor (conditional on :math:`r`).
* an odds ratio to a standardised difference (Chinn 2000):
  :math:`d = \ln(OR)\sqrt3/\pi`.
* risk ratios and raw mean differences are *not* converted (that needs the
  control-group risk or the SD of the scale); they are shown with
  ``comparable = "no"``.

The conversions are defined in :mod:`._effect_sizes` and the reference rows
(effects, thresholds, norms, cut-offs) are built in :mod:`._benchmark_rows`;
every public name is importable from here.

References
----------
Becker BJ (1988). Synthesizing standardized mean-change measures. *Br J Math
Stat Psychol* 41:257-278.
Bonett DG (2008). Confidence intervals for standardized linear contrasts of
means. *Psychol Methods* 13:99-109.
Chinn S (2000). A simple method for converting an odds ratio to effect size
for use in meta-analysis. *Stat Med* 19:3127-3131.
Morris SB, DeShon RP (2002). Combining effect size estimates in meta-analysis
with repeated measures and independent-groups designs. *Psychol Methods* 7:105-125.
Lakens D (2013). Calculating and reporting effect sizes to facilitate
cumulative science. *Front Psychol* 4:863.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base import evidence
from ..base.exceptions import ConfigError
from ._benchmark_rows import _compare_effects, _effect_frame, _instrument_rows, _threshold_rows
from ._common import check_choice, hedges_j, nct_ci_vec, resolve_instrument
from ._effect_sizes import _orient, d_rm_from_d_z, hedges_j_exact, smd_from_odds_ratio, standardized_mean_change
from .change import CHANGE_COLUMNS

__all__ = [
    "benchmark",
    "BENCHMARK_COLUMNS",
    "METRICS",
    "hedges_j_exact",
    "standardized_mean_change",
    "d_rm_from_d_z",
    "smd_from_odds_ratio",
]

#: Programme metrics :func:`benchmark` can report for a change result.
METRICS = ("smcr", "d_rm", "g_av", "d_z")

_METRIC_TEXT = {
    "smcr": "standardised mean change (post - pre) / SD at baseline, small-sample corrected",
    "d_rm": "repeated-measures d_rm = d_z * sqrt(2(1 - r)), on the scale of the scores",
    "g_av": "Hedges' g_av: mean change / average of the pre and post SDs",
    "d_z": "d_z: mean change / SD of the change scores",
}

#: Columns of :func:`benchmark` (after the ``by`` columns of the result).
BENCHMARK_COLUMNS = (
    "kind", "reference_id", "reference_label", "match", "population_match", "domain", "outcome", "population",
    "design", "comparison", "format", "instrument", "measure", "reference_estimate", "reference_ci_low",
    "reference_ci_high", "reference_ci_level", "reference_k", "reference_n", "reference_sd",
    "reference_improvement", "reference_improvement_ci_low", "reference_improvement_ci_high",
    "reference_smd_improvement", "reference_smd_improvement_ci_low", "reference_smd_improvement_ci_high",
    "programme_quantity", "programme_estimate", "programme_ci_low", "programme_ci_high",
    "programme_ci_low_cluster", "programme_ci_high_cluster", "programme_improvement",
    "programme_improvement_ci_low", "programme_improvement_ci_high", "programme_ci_level", "n", "n_groups",
    "pre", "post", "comparable", "note", "citation", "doi", "url", "location", "confidence",
)

_KIND_ORDER = {"effect": 0, "change_threshold": 1, "norm": 2, "cutoff": 3}
_NEEDED = ("n", "mean_pre", "mean_post", "sd_pre", "sd_post", "r_pre_post", "mean_change", "sd_change",
           "se_change", "t", "df", "d_z", "hedges_g_av", "n_groups", "se_cluster")
_CHANGE_OUTPUT = {*CHANGE_COLUMNS, "instrument"}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    items = [x] if isinstance(x, str) else list(x)
    return [str(v).strip().lower() for v in items if str(v).strip()]


def _resolve(result: Any) -> tuple[str, pd.DataFrame | None, Any]:
    """(kind, change frame or None, reliable-change result or None)."""
    if isinstance(result, pd.Series):
        result = result.to_frame().T
    if isinstance(result, pd.DataFrame):
        missing = [c for c in _NEEDED if c not in result.columns]
        if missing:
            raise ConfigError(
                "benchmark() takes the DataFrame groupeval.change() returns (or one of its rows); this one lacks "
                + ", ".join(missing) + ". Run ge.change(scores, pre, post, instrument=...) and pass its result.")
        if len(result) == 0:
            raise ConfigError("benchmark() got an empty change() result; there is no programme estimate to compare.")
        return "change", result.reset_index(drop=True), None
    if all(hasattr(result, a) for a in ("min_reliable_change", "sdiff", "members", "higher_is_better")):
        return "reliable_change", None, result
    raise ConfigError(
        f"benchmark() takes a groupeval.change() result (DataFrame) or a reliable_change() result; got "
        f"{type(result).__name__}. Retention and engagement results have no published benchmark in the registry.")


def _direction(inst: Any, frame: pd.DataFrame | None, rc: Any) -> bool:
    if inst is not None:
        return bool(inst.higher_is_better)
    if rc is not None:
        return bool(rc.higher_is_better)
    if frame is not None and "improved_direction" in frame.columns:
        vals = frame["improved_direction"].dropna().astype(str).unique()
        if len(vals) == 1 and vals[0] in ("higher", "lower"):
            return bool(vals[0] == "higher")
    raise ConfigError("benchmark() needs to know which direction is an improvement: pass instrument='phq9' "
                      "(or your Instrument), or run change(..., instrument=...) so it fills improved_direction.")


def _programme_change(frame: pd.DataFrame, metric: str, ci: float) -> pd.DataFrame:
    """Programme estimate in the chosen metric, one row per change() row (vectorised)."""
    n = frame["n"].to_numpy(float)
    mc = frame["mean_change"].to_numpy(float)
    sdp, sdq = frame["sd_pre"].to_numpy(float), frame["sd_post"].to_numpy(float)
    sdd, r = frame["sd_change"].to_numpy(float), frame["r_pre_post"].to_numpy(float)
    se, sec = frame["se_change"].to_numpy(float), frame["se_cluster"].to_numpy(float)
    t, df = frame["t"].to_numpy(float), frame["df"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        deff = np.where(np.isfinite(sec) & (se > 0), np.fmax(1.0, (sec / se) ** 2), np.nan)
    nan = np.full(len(frame), np.nan)
    lo_c, hi_c = nan, nan
    if metric == "smcr":
        est, _, lo, hi = standardized_mean_change(mc, sdp, sdd, n, ci=ci)
        _, _, lo_c, hi_c = standardized_mean_change(mc, sdp, sdd, n, ci=ci, deff=deff, df=_cluster_df(frame))
    else:
        zlo, zhi = nct_ci_vec(t, df, ci)
        with np.errstate(invalid="ignore", divide="ignore"):
            dz, dz_lo, dz_hi = mc / sdd, zlo / np.sqrt(n), zhi / np.sqrt(n)
            factor = {"d_z": np.ones_like(n), "d_rm": np.sqrt(2 * (1 - r)),
                      "g_av": sdd / ((sdp + sdq) / 2) * hedges_j(2 * n - 2)}[metric]
        est, lo, hi = dz * factor, dz_lo * factor, dz_hi * factor
    return pd.DataFrame({"programme_quantity": metric, "programme_estimate": est, "programme_ci_low": lo,
                         "programme_ci_high": hi, "programme_ci_low_cluster": lo_c,
                         "programme_ci_high_cluster": hi_c, "deff": deff})


def _cluster_df(frame: pd.DataFrame) -> np.ndarray:
    """The df of the cluster interval: change()'s Satterthwaite ``df_cluster`` (CR2), else G - 1."""
    if "df_cluster" in frame.columns:
        return frame["df_cluster"].to_numpy(float)
    g = frame["n_groups"].to_numpy(float)
    return np.where(g > 1, g - 1, np.nan)


def _mean_ci(mean: Any, sd: Any, n: Any, ci: float) -> tuple[Any, Any]:
    mean, sd, n = (np.asarray(x, dtype=float) for x in (mean, sd, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = stats.t.ppf(0.5 + ci / 2, np.where(n >= 2, n - 1, np.nan))
        half = tq * sd / np.sqrt(n)
    return mean - half, mean + half


def _finish(out: pd.DataFrame, by_cols: list[str]) -> pd.DataFrame:
    for c in BENCHMARK_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan
    if len(out):
        out["_k"] = out["kind"].map(_KIND_ORDER)
        out["_m"] = (out["match"] != "instrument").astype(int)
        out = out.sort_values([*by_cols, "_k", "_m", "reference_id"], kind="stable")
    return out[[*by_cols, *BENCHMARK_COLUMNS]].reset_index(drop=True)


# ---------------------------------------------------------------------------
# benchmark
# ---------------------------------------------------------------------------
def benchmark(result: Any, *, outcome: str | Sequence[str] | None = None,
              population: str | Sequence[str] | None = None, instrument: Any = None, metric: str = "smcr",
              ci: float = 0.95, references: Sequence[str] | None = None) -> pd.DataFrame:
    r"""The programme's estimate beside the published references that match it.

    Parameters
    ----------
    result
        A :func:`groupeval.change` result (DataFrame, one row per ``by``
        level, or one of its rows as a Series), or a
        :func:`groupeval.reliable_change` result.
    outcome
        Outcome domain(s) to match (``"depression"``, ``"recovery"``...);
        default: the domains of the instrument in the evidence registry.
    population
        Population tag(s) to keep (``"perinatal"``, ``"severe_mental_illness"``,
        ``"cancer"``...); default: every population, each row saying which one.
    instrument
        Registry name or :class:`~groupeval.instruments.Instrument` of the
        score (gives the direction of improvement, the domains, the published
        thresholds, norms and cut-off).  Taken from a reliable-change result
        when not given.
    metric
        Programme metric for a change result: ``"smcr"`` (default: standardised
        mean change on the baseline SD, the analogue of a between-group SMD),
        ``"d_rm"``, ``"g_av"`` or ``"d_z"`` (not comparable with published SMDs).
    ci
        Confidence level of the programme's intervals.
    references
        Restrict the effects to these registry ids.

    Returns
    -------
    pandas.DataFrame
        One row per (programme row, reference), the ``by`` columns of the
        result first, then :data:`BENCHMARK_COLUMNS`: ``kind`` (``"effect"``,
        ``"change_threshold"``, ``"norm"``, ``"cutoff"``), the reference's id,
        label, how it matched (``match``: instrument or domain;
        ``population_match``), its population, design, comparison, format,
        ``measure`` and the published ``reference_estimate`` / interval /
        level / ``reference_k`` / ``reference_n`` exactly as printed;
        ``reference_improvement`` (and CI) oriented so that larger values are
        improvement (differences times -1, ratios inverted, when lower
        favours the intervention); ``reference_smd_improvement`` (and CI) on
        the standardised scale (NaN for measures that cannot be converted);
        ``programme_quantity`` and ``programme_estimate`` with its interval
        (``programme_ci_*``; ``*_cluster``: allowing for members sharing
        groups), ``programme_improvement`` (and CI) oriented like the
        reference; ``n``, ``n_groups``, ``pre``, ``post``; ``comparable``
        (``"same_metric"``, ``"same_scale"``, ``"no"``) with a ``note``
        saying why; and ``citation``, ``doi``, ``url``, ``location`` (page or
        table of the number), ``confidence``.  Numbers are unrounded.

    Notes
    -----
    Matching: an effect matches when it lists the instrument, or when one of
    its domains is among the outcome domains; ``population`` then keeps the
    effects tagged with it.  For a change result, the instrument's published
    change thresholds are set beside the mean change (in points), and its
    norms and cut-off beside the mean at ``pre`` and at ``post``.  For a
    reliable-change result, each published reliable-change index is set
    beside the programme's own criterion :math:`z_{L}\,S_{diff}` at the
    published level :math:`L` (``"same_metric"``), minimal important
    differences beside the programme's criterion (``"same_scale"``), and the
    cut-off used beside the instrument's published cut-off.

    Formulas are in the module docstring (:mod:`groupeval.statistics.benchmark`).
    A "same scale" row is not evidence that the programme did better or
    worse than the trials: populations, programmes and designs differ, and an
    uncontrolled change cannot separate the group's contribution from other
    change.  :func:`groupeval.reporting.evidence_text.benchmark_sentence`
    words the comparison with those caveats.

    Examples
    --------
    >>> ch = ge.change(scores, "baseline", "week_26", instrument="phq9")  # doctest: +SKIP
    >>> ge.benchmark(ch, instrument="phq9", population="perinatal")  # doctest: +SKIP

    In R: ``metafor::escalc(measure = "SMCRH", ...)`` for the programme's standardised mean change.
    """
    check_choice("metric", metric, METRICS)
    if not 0 < ci < 1:
        raise ConfigError(f"`ci` must be between 0 and 1 (e.g. 0.95); got {ci!r}.")
    kind, frame, rc = _resolve(result)
    inst, inst_name = _instrument_of(instrument, frame, rc)
    domains = _domains_of(outcome, inst_name)
    pops = _as_list(population)
    refs = None if references is None else [str(r) for r in ([references] if isinstance(references, str)
                                                               else references)]
    f = 1.0 if _direction(inst, frame, rc) else -1.0

    if kind == "reliable_change":
        return _benchmark_reliable_change(rc, inst, inst_name)

    if frame is None:  # pragma: no cover - _resolve returns a frame for kind "change"
        raise ConfigError("benchmark(): internal error, no change frame")
    by_cols = [c for c in frame.columns if c not in _CHANGE_OUTPUT]
    prog = _programme_change(frame, metric, ci)
    base = _programme_base(frame, by_cols, inst_name, ci)
    pieces = []
    eff = _effect_frame(inst_name, domains, pops, refs)
    if len(eff):
        pieces.append(_effect_rows(base, prog, eff, f, metric))
    thr = _threshold_rows(inst_name)
    if len(thr):
        pieces.append(_threshold_piece(base, frame, thr, f, ci))
    ins = _instrument_rows(inst)
    if len(ins):
        pieces.append(_level_piece(base, frame, ins, ci))
    out = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=[*by_cols, *BENCHMARK_COLUMNS])
    if "_row" in out.columns:
        out = out.sort_values("_row", kind="stable")
    return _finish(out, by_cols)


def _instrument_of(instrument: Any, frame: pd.DataFrame | None, rc: Any) -> tuple[Any, str | None]:
    """The instrument (given, else the reliable-change result's, else the change frame's single one) and its name.

    An unknown instrument name raises, except beside a reliable-change result (its name still selects references).
    """
    if instrument is None and rc is not None:
        instrument = getattr(rc, "instrument", None)
    if instrument is None and frame is not None and "instrument" in frame.columns:
        vals = frame["instrument"].dropna().unique()
        instrument = vals[0] if len(vals) == 1 else None
    inst = None
    if instrument is not None:
        try:
            inst = resolve_instrument(instrument)
        except ConfigError:
            if rc is None:
                raise
    inst_name = None if inst is None else str(getattr(inst, "name", "")).lower() or None
    if inst_name is None and isinstance(instrument, str):
        inst_name = instrument.lower()
    return inst, inst_name


def _domains_of(outcome: str | Sequence[str] | None, inst_name: str | None) -> list[str]:
    """The outcome domains to match: those asked for (each must be a registered effect's), else the instrument's."""
    domains = _as_list(outcome) or list(evidence.instrument_domains(inst_name) if inst_name else ())
    if inst_name is None and not domains:
        raise ConfigError("benchmark() needs an instrument (instrument='phq9') or an outcome domain "
                          "(outcome='recovery') to find matching references.")
    known = sorted({d for e in evidence.effects() for d in e.domains})
    unknown = [d for d in _as_list(outcome) if d not in known]
    if unknown:
        raise ConfigError(f"No registered effect has the outcome domain(s) {', '.join(map(repr, unknown))}; "
                          f"known domains: {', '.join(known)}. Add your own references with "
                          "groupeval.base.evidence.register_evidence(path).")
    return domains


def _programme_base(frame: pd.DataFrame, by_cols: list[str], inst_name: str | None, ci: float) -> pd.DataFrame:
    """The columns every row of one change() row shares: its ``by`` levels, sizes, timepoints, instrument."""
    base = frame[by_cols].copy()
    base["n"] = frame["n"].astype(float)
    base["n_groups"] = frame["n_groups"].astype(float)
    base["pre"] = frame["pre"] if "pre" in frame.columns else np.nan
    base["post"] = frame["post"] if "post" in frame.columns else np.nan
    base["instrument"] = inst_name or ""
    base["programme_ci_level"] = ci
    base["_row"] = np.arange(len(frame))
    return base


def _effect_rows(base: pd.DataFrame, prog: pd.DataFrame, eff: pd.DataFrame, f: float, metric: str) -> pd.DataFrame:
    """Every programme row beside every matching published effect."""
    p = pd.concat([base, prog], axis=1)
    pe, plo, phi = _orient(p["programme_estimate"], p["programme_ci_low"], p["programme_ci_high"], f, False)
    p["programme_improvement"], p["programme_improvement_ci_low"], p["programme_improvement_ci_high"] = pe, plo, phi
    return _compare_effects(p.merge(eff, how="cross"), metric)


def _threshold_piece(base: pd.DataFrame, frame: pd.DataFrame, thr: pd.DataFrame, f: float, ci: float
                     ) -> pd.DataFrame:
    """The members' mean change (t and cluster intervals) beside the instrument's published change thresholds."""
    q = base.copy()
    mc = frame["mean_change"].to_numpy(float)
    se, sec = frame["se_change"].to_numpy(float), frame["se_cluster"].to_numpy(float)
    df_ = frame["df"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        tq = stats.t.ppf(0.5 + ci / 2, df_)
        tqc = stats.t.ppf(0.5 + ci / 2, _cluster_df(frame))
    q["programme_quantity"] = "mean_change"
    q["programme_estimate"] = mc
    q["programme_ci_low"], q["programme_ci_high"] = mc - tq * se, mc + tq * se
    q["programme_ci_low_cluster"], q["programme_ci_high_cluster"] = mc - tqc * sec, mc + tqc * sec
    pe, plo, phi = _orient(mc, mc - tq * se, mc + tq * se, f, False)
    q["programme_improvement"], q["programme_improvement_ci_low"], q["programme_improvement_ci_high"] = pe, plo, phi
    m = q.merge(thr, how="cross")
    m["comparable"] = "same_scale"
    m["note"] = [
        f"Same units ({u or 'score points'}) but a different level: the reference is a threshold for one "
        f"person's change ({typ.replace('_', ' ')}), the programme's value is the members' average change. "
        f"An average above the threshold does not mean most members changed that much (see "
        f"reliable_change()). Reference population: {pop}." + (f" {extra}" if extra else "")
        for u, typ, pop, extra in zip(m["unit"], m["measure"], m["population"], m["reference_note"])]
    return m


def _level_piece(base: pd.DataFrame, frame: pd.DataFrame, ins: pd.DataFrame, ci: float) -> pd.DataFrame:
    """The members' mean at ``pre`` and at ``post`` beside the instrument's norms and clinical cut-off."""
    rows = []
    for which in ("pre", "post"):
        q = base.copy()
        mean = frame[f"mean_{which}"].to_numpy(float)
        lo, hi = _mean_ci(mean, frame[f"sd_{which}"], frame["n"], ci)
        q["programme_quantity"] = f"mean_{which}"
        q["programme_estimate"], q["programme_ci_low"], q["programme_ci_high"] = mean, lo, hi
        rows.append(q)
    m = pd.concat(rows, ignore_index=True).merge(ins, how="cross")
    m["comparable"] = "same_scale"
    m["note"] = np.where(
        m["kind"] == "norm",
        "Same instrument and units: where the members' average sits beside the mean of a reference "
        "population (" + m["population"].astype(str) + "). A different population; it describes level, "
        "not change.",
        "Same instrument and units: the members' average beside the published boundary of the clinical range. "
        "A cut-off classifies individuals; an average on one side does not place every member there.")
    return m


def _benchmark_reliable_change(rc: Any, inst: Any, inst_name: str | None) -> pd.DataFrame:
    n = float(len(rc.members))
    pieces = []
    thr = _threshold_rows(inst_name)
    if len(thr):
        lev = thr["reference_ci_level"].to_numpy(float)
        is_rci = thr["measure"].to_numpy(str) == "reliable_change"
        z = np.where(is_rci & np.isfinite(lev), stats.norm.ppf(0.5 + np.where(np.isfinite(lev), lev, 0.5) / 2), np.nan)
        est = np.where(is_rci & np.isfinite(z), z * float(rc.sdiff), float(rc.min_reliable_change))
        thr["programme_quantity"] = np.where(is_rci, "reliable_change_criterion", "min_reliable_change")
        thr["programme_estimate"] = est
        thr["programme_improvement"] = est
        thr["comparable"] = np.where(is_rci, "same_metric", "same_scale")
        level_txt = [f"{100 * x:g}%" if np.isfinite(x) else "" for x in lev]
        thr["note"] = np.where(
            is_rci,
            [f"Same metric: the smallest individual change this programme's data count as reliable at {lt} "
             f"(z * Sdiff, from its own SD and reliability) beside the published reliable change index at the same "
             f"level. Reference population: {p}." for lt, p in zip(level_txt, thr["population"])],
            [f"Same units, different concept: the programme's reliable-change criterion beside a published "
             f"minimal important difference. Reference population: {p}." for p in thr["population"]])
        pieces.append(thr)
    ins = _instrument_rows(inst)
    if len(ins):
        cut = ins[ins["kind"] == "cutoff"].copy()
        if len(cut):
            cut["programme_quantity"] = "cutoff_value"
            cut["programme_estimate"] = float(rc.cutoff_value)
            same = str(getattr(rc, "cutoff", "")) == "clinical"
            cut["comparable"] = "same_metric" if same else "same_scale"
            cut["note"] = (f"The boundary between the clinical and non-clinical range used by reliable_change() "
                           f"(cut-off {getattr(rc, 'cutoff', '?')!r}: {getattr(rc, 'cutoff_reason', '')}) beside the "
                           f"instrument's published clinical cut-off.")
            pieces.append(cut)
    out = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=list(BENCHMARK_COLUMNS))
    if len(out):
        out["n"] = n
        out["n_groups"] = float(rc.members["group_id"].nunique()) if "group_id" in rc.members.columns else np.nan
        out["pre"], out["post"] = getattr(rc, "pre", np.nan), getattr(rc, "post", np.nan)
        out["instrument"] = inst_name or ""
        out["programme_ci_level"] = float(getattr(rc, "ci", np.nan))
    return _finish(out, [])
