"""The methods paragraph: every method the report used, each with its reference.

Which methods were used comes from the result objects: their ``.methods``
(a tuple of keys of :data:`~groupeval.reporting.narrative.references.METHODS`)
when they carry one, else inferred from the result's type and fields
(:func:`result_methods`).  The paragraph names every key it is given; a key
that no topic sentence covers is still listed, with its reference.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...base.exceptions import ConfigError
from ..formatting import fmt_count, fmt_number, fmt_unit, plain_label, resolve_min_cell
from ._common import instrument_of, levels_word, list_and, weeks_text
from .categories import outside_range_note
from .citations import METHODS, in_text_citation, reference_text, software_versions

__all__ = ["methods_paragraph", "result_methods", "methods_used"]

_KINDS = ("retention", "change", "reliable_change", "compare_groups", "mixed_model", "dose_response", "imputation",
          "icc")


# ---------------------------------------------------------------------------
# which methods a result used
# ---------------------------------------------------------------------------
def _declared(result: Any) -> tuple[str, ...] | None:
    methods = getattr(result, "methods", None)
    if isinstance(result, pd.DataFrame):
        methods = result.attrs.get("methods")
    if isinstance(methods, str):
        return (methods,)
    if isinstance(methods, Iterable) and not isinstance(methods, Mapping):
        return tuple(str(m) for m in methods)
    return None


def _change_methods(table: Any) -> list[str]:
    keys = ["paired_t"]
    if isinstance(table, pd.DataFrame):
        if "wilcoxon_p" in table.columns:
            keys.append("wilcoxon")
        if "d_z" in table.columns:
            keys.append("d_z")
        if "cluster_method" in table.columns:
            for m in pd.unique(table["cluster_method"].dropna().astype(str)):
                keys += ["cr2", "satterthwaite"] if m == "CR2" else [m.lower()]
        elif "ci_low_cluster" in table.columns and table["ci_low_cluster"].notna().any():
            keys.append("cr1")
    else:
        keys.append("d_z")
    return keys


def _retention_methods(result: Any) -> list[str]:
    keys = ["kaplan_meier", "greenwood"]
    table = getattr(result, "table", result)
    if isinstance(table, pd.DataFrame) and "ci_low_cluster" in table.columns:
        keys.append("km_cluster_variance")
    summ = getattr(result, "summary", None)
    if isinstance(summ, pd.DataFrame) and "late_entries" in summ.columns and summ["late_entries"].sum() > 0:
        keys.append("late_entry")
    if getattr(result, "test", None) is not None:
        keys.append("robust_score_logrank")
    if getattr(result, "logrank", None) is not None:
        keys.append("logrank")
    return keys


def _mixed_methods(result: Any) -> list[str]:
    if getattr(result, "method", None) == "gee":
        return ["gee"]
    keys = ["lmm_reml"]
    df_method = str(getattr(result, "df_method", "") or "")
    fixed = getattr(result, "fixed", None)
    if df_method.lower().startswith("kenward"):
        keys.append("kenward_roger")
    elif df_method.lower().startswith("satterthwaite"):
        keys.append("satterthwaite_lmm")
    elif isinstance(fixed, pd.DataFrame) and "z" in fixed.columns and "df" not in fixed.columns:
        keys.append("z_wald")
    return keys


def _comparison_methods(result: Any) -> list[str]:
    keys = ["ancova"]
    omni = getattr(result, "omnibus", None) or {}
    test = omni.get("test") if isinstance(omni, Mapping) else None
    if test == "HTZ":
        keys += ["cr2", "satterthwaite", "htz"]
    elif isinstance(test, str):
        keys += [str(omni.get("vcov_type") or "CR1").lower(), "cluster_wald_f"]
    else:
        keys += ["cr1", "cluster_wald_f"]
    correction = getattr(result, "correction", None)
    if correction in ("holm", "fdr_bh", "bonferroni"):
        keys.append(str(correction))
    return keys


def result_methods(result: Any, kind: str) -> tuple[str, ...]:
    """The method keys a result used: its ``.methods`` when present, else inferred from ``kind``.

    Parameters
    ----------
    result
        A result object or table (``True`` for "used, no details").
    kind
        One of ``retention``, ``change``, ``reliable_change``,
        ``compare_groups``, ``mixed_model``, ``dose_response``,
        ``imputation``, ``icc``.
    """
    if kind not in _KINDS:
        raise ConfigError(f"result_methods: kind must be one of {', '.join(_KINDS)}, got {kind!r}.")
    declared = None if result is True else _declared(result)
    if declared is not None:
        return declared
    inferred: list[str]
    if kind == "retention":
        inferred = _retention_methods(result)
    elif kind == "change":
        inferred = _change_methods(result)
    elif kind == "reliable_change":
        method = getattr(result, "method", "jt")
        inferred = (["hageman_arrindell"] if method == "ha" else []) + ["jacobson_truax", "wilson"]
    elif kind == "mixed_model":
        inferred = _mixed_methods(result)
    elif kind == "compare_groups":
        inferred = _comparison_methods(result)
    elif kind == "dose_response":
        summ = getattr(result, "summary", None)
        vcov = (str(summ["vcov_type"].dropna().iloc[0]) if isinstance(summ, pd.DataFrame) and "vcov_type" in summ
                and summ["vcov_type"].notna().any() else "CR1")
        inferred = ["dose_response", *(["cr2", "satterthwaite"] if vcov == "CR2" else [vcov.lower()])]
    elif kind == "imputation":
        inferred = ["mice", "rubin"]
    else:
        inferred = ["icc"]
    return tuple(dict.fromkeys(inferred))


def methods_used(**results: Any) -> tuple[str, ...]:
    """Every method key of the given results (``retention=..., change=..., ...``), in order, once each."""
    keys: list[str] = []
    for kind, res in results.items():
        if res is not None and res is not False:
            keys.extend(result_methods(res, kind))
    return tuple(dict.fromkeys(keys))


# ---------------------------------------------------------------------------
# the paragraph
# ---------------------------------------------------------------------------
class _Citer:
    """Collects the references cited, in first-cited order, and the method keys described."""

    def __init__(self) -> None:
        self.refs: list[str] = []
        self.described: set[str] = set()

    def cite(self, key_or_ref: str) -> str:
        ref = reference_text(key_or_ref)
        if ref not in self.refs:
            self.refs.append(ref)
        return in_text_citation(ref)

    def method(self, key: str) -> str:
        """"<name> (<citations>)" of a method key (marked as described)."""
        self.described.add(key)
        info = METHODS.get(key)
        if info is None:
            return plain_label(key)
        cites = "; ".join(self.cite(r) for r in info.refs)
        return f"{info.name} ({cites})" if cites else info.name

    def topic(self, keys: Sequence[str], topic: str) -> list[str]:
        return [self.method(k) for k in keys if k in METHODS and METHODS[k].topic == topic]


def _dropout_text(dropout: Any) -> str:
    from ...statistics.engagement import as_dropout

    rule = as_dropout(dropout)
    parts = []
    if rule.consecutive_missed is not None:
        parts.append(f"after missing {rule.consecutive_missed} consecutive scheduled sessions")
    if rule.weeks_without_attendance is not None:
        parts.append(f"after more than {weeks_text(rule.weeks_without_attendance)} without attending")
    if rule.exits:
        reasons = " or ".join(rule.censor_exits) if rule.censor_exits else "none"
        parts.append(f"on a recorded exit for a reason other than {reasons}")
    exc = {"neither": "excused absences were neither counted as missed nor as offered",
           "attended": "excused absences counted as attended",
           "missed": "excused absences counted as missed"}[rule.excused]
    censored = " or ".join(rule.censor_exits) if rule.exits and rule.censor_exits else ""
    cens = (f"Members who exited as {censored} or were still attending at the data cut-off were censored"
            if censored else "Members still attending at the data cut-off were censored")
    return (f"A member was counted as having dropped out {' or '.join(parts)}; cancelled sessions were ignored "
            f"and {exc}. The time of dropout was the last session attended, in weeks since enrolment. {cens}, "
            "and members who had enrolled before the first session in the data entered the analysis late "
            "(left truncation).")


def _reliability_detail(rc: Any) -> list[str]:
    detail = []
    rel = getattr(rc, "reliability", None)
    if rel is not None:
        src = str(getattr(rc, "reliability_source", None) or "")
        if src.startswith("registry alpha"):
            src = "published Cronbach's alpha" + ("; no test-retest value is published in the registry"
                                                  if "test-retest" in src else "")
        elif src.startswith("registry test-retest"):
            src = "published test-retest reliability"
        src = src.replace("(", "[").replace(")", "]")
        detail.append(f"reliability {fmt_unit(rel, 2)}" + (f" ({src})" if src else ""))
    mrc = getattr(rc, "min_reliable_change", None)
    if mrc is not None:
        detail.append(f"a change of at least {fmt_number(mrc, 2)} points was reliable")
    cut = getattr(rc, "cutoff_value", None)
    if cut is not None and np.isfinite(cut):
        kind = str(getattr(rc, "cutoff", "") or "")
        if kind in ("a", "b", "c"):
            label = f"clinical cut-off (Jacobson-Truax criterion {kind}) {fmt_number(cut, 2)}"
        elif kind == "clinical":
            label = f"the instrument's published clinical cut-off {fmt_number(cut, 2)}"
        else:
            label = f"clinical cut-off {fmt_number(cut, 2)} (set by the analyst)"
        detail.append(label + outside_range_note(rc, cut))
    return detail


def _reliable_text(c: _Citer, rc: Any, keys: Sequence[str]) -> str:
    names = {"jt": "Jacobson–Truax", "gln": "Gulliksen–Lord–Novick", "ha": "Hageman–Arrindell"}
    method = getattr(rc, "method", "jt")
    name = names.get(method, str(method))
    main = "hageman_arrindell" if "hageman_arrindell" in keys else "jacobson_truax"
    cites = [c.cite(r) for k in (main, "jacobson_truax") if k in keys for r in METHODS[k].refs]
    c.described.update(k for k in (main, "jacobson_truax") if k in keys)
    detail = _reliability_detail(rc)
    text = (f"Reliable and clinically significant change was classified with the {name} method"
            + (f" ({'; '.join(dict.fromkeys(cites))})" if cites else "") + (f": {'; '.join(detail)}" if detail else ""))
    if "wilson" in keys:
        text += f". Shares have {c.method('wilson')}"
    return text + "."


def _mixed_text(c: _Citer, mm: Any, keys: Sequence[str]) -> str:
    if "gee" in keys:
        c.described.add("gee")
        return ("Scores over time were to be modelled with a linear mixed model with random intercepts for members "
                f"nested in groups ({c.cite('laird_ware')}); because it did not converge, generalised estimating "
                "equations with an exchangeable working correlation within groups and cluster-robust standard "
                f"errors were used instead ({c.cite('liang_zeger')}; {c.cite('statsmodels')}).")
    parts = c.topic(keys, "mixed_model")
    desc = getattr(mm, "method_description", None)
    return ("Scores over time were modelled with " + list_and(parts)
            + (f"; fit: {desc}" if isinstance(desc, str) and desc else "") + ".")


def _dose_text(c: _Citer, dr: Any, keys: Sequence[str]) -> str:
    c.described.add("dose_response")
    summ = getattr(dr, "summary", None)
    itt = isinstance(summ, pd.DataFrame) and "analysis" in summ.columns and "itt" in set(summ["analysis"])
    vcov = "CR2" if "cr2" in keys else "CR1"
    return ("The link between attendance and outcome was estimated by regressing the follow-up score on the "
            f"baseline score and the number of sessions attended, with {vcov} standard errors clustered by group, "
            "for members with both scores (as treated) and for completers"
            + (" and, after multiple imputation, for all enrolled members (intention to treat)" if itt else "") + ".")


def _imputation_text(c: _Citer, imp: Any, keys: Sequence[str]) -> str:
    pooled = getattr(imp, "pooled", None)
    m = pooled.get("m") if isinstance(pooled, Mapping) else None
    c.described.update(("mice", "rubin"))
    cites = "; ".join(c.cite(r) for r in ("van_buuren", "statsmodels"))
    return ("Missing follow-up scores were multiply imputed by chained equations (statsmodels MICE"
            + (f", {fmt_count(int(m))} imputations" if m is not None else "") + f"; {cites}) under a "
            f"missing-at-random assumption, and estimates were pooled with Rubin's rules ({c.cite('rubin')}); "
            "complete-case and mixed-model estimates are shown beside them.")


def _topic_sentences(c: _Citer, res: Mapping[str, Any], keys: Mapping[str, tuple[str, ...]]) -> list[str]:
    s: list[str] = []
    if "retention" in res:
        s.append("Retention was analysed with " + list_and(c.topic(keys["retention"], "retention")) + ".")
    if "change" in res:
        s.append("Change between timepoints was analysed with " + list_and(c.topic(keys["change"], "change"))
                 + "; without a comparison group this describes change during the programme, not an effect of "
                 f"the groups, and part of it may be regression to the mean ({c.cite('barnett')}).")
    if "compare_groups" in res:
        by = levels_word(getattr(res["compare_groups"], "by", "group_type"))
        parts = c.topic(keys["compare_groups"], "comparison")
        s.append(f"Follow-up scores were compared between {by} by " + list_and(parts) + ".")
    what = {"change": "the mean change", "compare_groups": "the group comparison", "dose_response": "the "
            "attendance slope"}
    users = [kind for kind in what if any(METHODS[k].topic == "clustering" for k in keys.get(kind, ())
                                          if k in METHODS)]
    cl = c.topic(list(dict.fromkeys(k for kind in users for k in keys[kind])), "clustering")
    if cl:
        s.append(f"Because members are nested in groups, {list_and([what[k] for k in users])} used {list_and(cl)}; "
                 "the sentences report these cluster-aware results first.")
    if "reliable_change" in res:
        s.append(_reliable_text(c, res["reliable_change"], keys["reliable_change"]))
    if "mixed_model" in res:
        s.append(_mixed_text(c, res["mixed_model"], keys["mixed_model"]))
    if "dose_response" in res:
        s.append(_dose_text(c, res["dose_response"], keys["dose_response"]))
    if "imputation" in res:
        s.append(_imputation_text(c, res["imputation"], keys["imputation"]))
    return s


def methods_paragraph(*, instruments: Sequence[Any] = (), retention: Any = None, change: Any = None,
                      reliable_change: Any = None, mixed_model: Any = None, imputation: Any = None,
                      dose_response: Any = None, compare_groups: Any = None, icc: Any = None,
                      dropout: Any = None, methods: Iterable[str] = (), missing: str | None = None,
                      audience: str | None = None, min_cell: int | None = None,
                      with_references: bool = True) -> str:
    """A methods paragraph naming every method used, the instruments, rules and software, with references.

    Parameters
    ----------
    instruments
        Registry names or Instruments used; each is named in full and cited
        from its ``citation`` attribute.
    retention, change, reliable_change, mixed_model, imputation, dose_response, compare_groups, icc
        The results the report shows (or True for "used"); the methods of each
        come from :func:`result_methods` (its ``.methods``, else inferred).
        The retention result's ``dropout`` rule is described (or pass
        ``dropout=``); the reliable-change settings (method, reliability and
        source, minimum reliable change, cut-off) and the mixed model's fit
        are stated.
    dropout
        A :class:`groupeval.engagement.Dropout`, preset name or dict.
    methods
        Further method keys (:data:`~groupeval.reporting.narrative.references.METHODS`) to name.
    missing
        A sentence on missing data; default: complete cases for change,
        scale-specific prorating rules for scoring.
    audience, min_cell
        For funder/public output a sentence on small-cell suppression is added.
    with_references
        Append a "References" list (one per line, sorted).

    Returns
    -------
    str
        The paragraph (and the reference list after a blank line).
    """
    mc = resolve_min_cell(audience, min_cell)
    insts = [instrument_of(i) for i in instruments]
    unknown = [i for i, obj in zip(instruments, insts) if obj is None]
    if unknown:
        raise ConfigError(f"methods_paragraph: unknown instrument(s) {unknown}; pass registry names "
                          "(groupeval.instruments.available()) or Instruments.")
    given = {"retention": retention, "change": change, "reliable_change": reliable_change,
             "compare_groups": compare_groups, "mixed_model": mixed_model, "dose_response": dose_response,
             "imputation": imputation, "icc": icc}
    res = {k: v for k, v in given.items() if v is not None and v is not False}
    keys = {k: result_methods(v, k) for k, v in res.items()}
    c = _Citer()
    s = ["Attendance was recorded for every scheduled group session."]
    if retention is not None or dropout is not None:
        s.append(_dropout_text(dropout if dropout is not None else getattr(retention, "dropout", None)))
    if insts:
        named = [f"the {getattr(i, 'title', None) or i.label} ({i.label}; {c.cite(i.citation)})" for i in insts]
        s.append(f"Outcomes were measured with {list_and(named)}, scored following each instrument's published "
                 "scoring rules.")
    s.extend(_topic_sentences(c, res, keys))
    rest = [k for k in dict.fromkeys([*[k for v in keys.values() for k in v], *methods]) if k not in c.described]
    if rest:
        s.append("Also used: " + list_and([c.method(k) for k in rest]) + ".")
    s.append(missing or "Scale scores were prorated only within each instrument's missing-item rule; analyses of "
                        "change used members with scores at both timepoints (complete cases, i.e. completers), and "
                        "the numbers left out are reported.")
    if mc is not None:
        s.append(f"To protect privacy, counts of fewer than {mc} people, and any count from which such a count "
                 f"could be recovered, are not shown ({c.cite('cms_cell_size')}).")
    v = software_versions()
    s.append(f"Analyses used groupeval {v['groupeval']} ({c.cite('groupeval')}) with Python {v['Python']}, "
             f"pandas {v['pandas']} ({c.cite('pandas')}), NumPy {v['numpy']}, SciPy {v['scipy']} "
             f"({c.cite('scipy')}), statsmodels {v['statsmodels']} ({c.cite('statsmodels')}) and lifelines "
             f"{v['lifelines']} ({c.cite('lifelines')}).")
    text = " ".join(s)
    if with_references:
        text += "\n\nReferences\n" + "\n".join(sorted(c.refs))
    return text

