"""The references :func:`groupeval.benchmark` sets beside a programme, one row each (vectorised frames).

Published effects matching an instrument or outcome domain (:func:`_effect_frame`) and
how each compares with the programme (:func:`_compare_effects`: oriented values,
the standardised scale, ``comparable`` and ``note``); published change thresholds
of the instrument (:func:`_threshold_rows`); its norms and clinical cut-off, read
from the instrument registry (:func:`_instrument_rows`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..base import evidence
from ._effect_sizes import _orient, smd_from_odds_ratio


def _effect_frame(instrument: str | None, domains: list[str], population: list[str],
                  references: list[str] | None) -> pd.DataFrame:
    rows = []
    for e in evidence.effects():
        if references is not None and e.id not in references:
            continue
        by_inst = instrument is not None and instrument in e.instruments
        hit = sorted(set(e.domains) & set(domains))
        if not by_inst and not hit:
            continue
        pop_match: Any = bool(set(e.population_tags) & set(population)) if population else pd.NA
        if population and not pop_match:
            continue
        rows.append({
            "kind": "effect", "reference_id": e.id, "reference_label": e.label,
            "match": "instrument" if by_inst else "domain", "population_match": pop_match,
            "domain": ", ".join(hit) if hit else ", ".join(e.domains), "outcome": e.outcome,
            "population": e.population, "design": e.design, "comparison": e.comparison, "format": e.format,
            "measure": e.measure, "reference_estimate": e.estimate, "reference_ci_low": e.ci_low,
            "reference_ci_high": e.ci_high, "reference_ci_level": e.ci_level,
            "reference_k": np.nan if e.k is None else float(e.k), "reference_n": np.nan if e.n is None else float(e.n),
            "reference_sd": np.nan, "favourable": e.favourable, "citation": e.citation, "doi": e.doi, "url": e.url,
            "location": e.location, "confidence": e.confidence, "reference_note": e.note,
        })
    return pd.DataFrame(rows)


def _compare_effects(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Oriented reference values, the SMD-scale reference, and comparable/note (vectorised)."""
    meas = df["measure"].to_numpy(str)
    ratio = np.isin(meas, evidence.RATIO_MEASURES)
    sign = np.where(df["favourable"].to_numpy(str) == "higher", 1.0, -1.0)
    e, lo, hi = _orient(df["reference_estimate"], df["reference_ci_low"], df["reference_ci_high"], sign, ratio)
    df["reference_improvement"], df["reference_improvement_ci_low"], df["reference_improvement_ci_high"] = e, lo, hi
    std = np.isin(meas, evidence.STANDARDISED_MEASURES)
    is_or = meas == "or"
    smd = np.where(std, e, np.where(is_or, smd_from_odds_ratio(e), np.nan))
    smd_lo = np.where(std, lo, np.where(is_or, smd_from_odds_ratio(lo), np.nan))
    smd_hi = np.where(std, hi, np.where(is_or, smd_from_odds_ratio(hi), np.nan))
    df["reference_smd_improvement"] = smd
    df["reference_smd_improvement_ci_low"] = smd_lo
    df["reference_smd_improvement_ci_high"] = smd_hi
    within = np.isin(df["design"].to_numpy(str), evidence.WITHIN_GROUP_DESIGNS)
    on_score_scale = np.full(len(df), metric in ("smcr", "d_rm", "g_av"))
    conds = [~std & ~is_or, ~on_score_scale, within & (meas == "smcr") & (metric == "smcr")]
    df["comparable"] = np.select(conds, ["no", "no", "same_metric"], default="same_scale")
    notes = []
    for comp, r_, w, o, cmp_, pop, asked, extra in zip(
            df["comparable"], ratio, within, is_or, df["comparison"], df["population"],
            df["population_match"].notna(), df["reference_note"]):
        if comp == "no":
            if r_:
                why = ("Not comparable: the reference is a ratio of risks or odds and cannot be put on the "
                       "programme's standardised scale without the control-group risk.")
            elif not on_score_scale[0]:
                why = ("Not comparable: d_z divides the mean change by the SD of the change scores, published "
                       "standardised differences divide by the SD of the scores; use metric='smcr'.")
            else:
                why = ("Not comparable: the reference is a raw mean difference on its own scale and cannot be put "
                       "on the programme's standardised scale without that scale's SD.")
        elif comp == "same_metric":
            why = ("Same metric and design type (before/after standardised mean change); the people and "
                   "programmes still differ.")
        else:
            design = ("an uncontrolled before/after change" if w
                      else f"a difference between peer support and a comparison group ({cmp_})")
            why = ("Same units (standard deviations of the scores) but not the same quantity: the programme's "
                   f"value is an uncontrolled before/after change, the reference is {design}"
                   + ("; converted from an odds ratio with ln(OR)*sqrt(3)/pi (Chinn 2000)." if o else "."))
        popt = " Reference population (matches the population asked for): " if asked else " Reference population: "
        notes.append(f"{why}{popt}{pop}." + (f" {extra}" if extra else ""))
    undefined = ~np.isfinite(df["programme_estimate"].to_numpy(float))
    df["note"] = [("Programme estimate undefined: fewer than 3 members with both scores, or no spread in the "
                   "scores. " + x) if u else x for u, x in zip(undefined, notes)]
    return df


def _threshold_rows(inst_name: str | None) -> pd.DataFrame:
    rows = []
    for p in evidence.reference_points(inst_name) if inst_name else ():
        rows.append({
            "kind": "change_threshold", "reference_id": p.id, "reference_label": p.label, "match": "instrument",
            "population_match": pd.NA, "domain": "", "outcome": p.description, "population": p.population,
            "design": "", "comparison": "", "format": "", "measure": p.threshold_type, "reference_estimate": p.value,
            "reference_ci_low": np.nan, "reference_ci_high": np.nan,
            "reference_ci_level": np.nan if p.ci_level is None else p.ci_level, "reference_k": np.nan,
            "reference_n": np.nan, "reference_sd": np.nan, "reference_improvement": p.value,
            "reference_improvement_ci_low": np.nan, "reference_improvement_ci_high": np.nan,
            "citation": p.citation, "doi": p.doi, "url": p.url, "location": p.location, "confidence": p.confidence,
            "reference_note": p.note, "unit": p.unit,
        })
    return pd.DataFrame(rows)


def _instrument_rows(inst: Any) -> pd.DataFrame:
    """Norms and clinical cut-off, read from the instrument registry (never duplicated in the evidence files)."""
    if inst is None:
        return pd.DataFrame()
    name = getattr(inst, "name", "instrument")
    label = getattr(inst, "label", name) or name
    sources = dict(getattr(inst, "sources", {}) or {})
    rows = []
    for which in ("functional", "clinical"):
        norm = (getattr(inst, "norms", {}) or {}).get(which)
        if norm is None:
            continue
        src = sources.get(f"norms.{which}", "")
        rows.append({
            "kind": "norm", "reference_id": f"{name}_norm_{which}",
            "reference_label": f"{label} {'general-population' if which == 'functional' else 'clinical'} norm",
            "match": "instrument", "population_match": pd.NA, "domain": "",
            "outcome": f"mean score of the {which} reference population", "population": src or which,
            "design": "", "comparison": "", "format": "", "measure": "mean", "reference_estimate": float(norm[0]),
            "reference_ci_low": np.nan, "reference_ci_high": np.nan, "reference_ci_level": np.nan,
            "reference_k": np.nan, "reference_n": np.nan, "reference_sd": float(norm[1]),
            "citation": f"groupeval instrument registry, {name}: {src}".rstrip(": "), "doi": "", "url": "",
            "location": f"groupeval.instruments.get({name!r}).norms[{which!r}]", "confidence": "",
            "reference_note": "",
        })
    cut = getattr(inst, "clinical_cutoff", None)
    if cut is not None:
        rows.append({
            "kind": "cutoff", "reference_id": f"{name}_clinical_cutoff", "reference_label": f"{label} clinical cut-off",
            "match": "instrument", "population_match": pd.NA, "domain": "",
            "outcome": getattr(cut, "description", "") or "clinical cut-off", "population": "",
            "design": "", "comparison": "", "format": "", "measure": "cutoff",
            "reference_estimate": float(cut.value), "reference_ci_low": np.nan, "reference_ci_high": np.nan,
            "reference_ci_level": np.nan, "reference_k": np.nan, "reference_n": np.nan, "reference_sd": np.nan,
            "citation": f"groupeval instrument registry, {name}: {getattr(cut, 'source', '')}".rstrip(": "),
            "doi": "", "url": "", "location": f"groupeval.instruments.get({name!r}).clinical_cutoff",
            "confidence": "", "reference_note": "",
        })
    return pd.DataFrame(rows)
