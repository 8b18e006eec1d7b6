"""groupeval: retention and outcome statistics for peer-led support groups.

Top-level names are imported lazily, so ``import groupeval`` stays cheap and
each layer loads only when used.  See README.md for the quick start.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data model
    "Dataset": "groupeval.base.dataset",
    "QualityReport": "groupeval.base.dataset",
    # errors
    "GroupevalError": "groupeval.base.exceptions",
    "SchemaError": "groupeval.base.exceptions",
    "ReadError": "groupeval.base.exceptions",
    "ValidationError": "groupeval.base.exceptions",
    "IdentifierError": "groupeval.base.exceptions",
    "ScoringError": "groupeval.base.exceptions",
    "ConfigError": "groupeval.base.exceptions",
    "DataQualityWarning": "groupeval.base.exceptions",
    "SmallSampleWarning": "groupeval.base.exceptions",
    "ConvergenceWarning": "groupeval.base.exceptions",
    # io + validation
    "read_attendance": "groupeval.io",
    "read_survey": "groupeval.io",
    "read_table": "groupeval.io",
    "load": "groupeval.validation.load",
    "validate": "groupeval.validation.load",
    # scoring
    "Instrument": "groupeval.base.instruments",
    "ClinicalCutoff": "groupeval.base.instruments",
    "score": "groupeval.scoring.scores",
    "reliability": "groupeval.statistics.reliability",
    "item_analysis": "groupeval.statistics.reliability",
    # statistics: attendance and retention
    "attendance_summary": "groupeval.statistics.engagement",
    "retention": "groupeval.statistics.retention",
    "RetentionResult": "groupeval.statistics.retention",
    "cox_model": "groupeval.statistics.cox",
    "cohort_table": "groupeval.statistics.flow",
    "group_engagement": "groupeval.statistics.engagement",
    "Dropout": "groupeval.statistics.dropout",
    "DROPOUT_PRESETS": "groupeval.statistics.dropout",
    "attrition": "groupeval.statistics.flow",
    "participant_flow": "groupeval.statistics.flow",
    "retention_sensitivity": "groupeval.statistics.flow",
    # statistics: outcomes
    "change": "groupeval.statistics.change",
    "reliable_change": "groupeval.statistics.reliable_change",
    "icc": "groupeval.statistics.icc",
    "mixed_model": "groupeval.statistics.mixed",
    "dose_response": "groupeval.statistics.dose",
    "compare_groups": "groupeval.statistics.compare",
    "impute": "groupeval.statistics.impute",
    # statistics: the next grant
    "power": "groupeval.statistics.power",
    "power_inputs": "groupeval.statistics.power_inputs",
    "benchmark": "groupeval.statistics.benchmark",
    "Period": "groupeval.statistics.periods",
    "parse_period": "groupeval.statistics.periods",
    "periods_covered": "groupeval.statistics.periods",
    "period_summary": "groupeval.statistics.periods",
    "compare_periods": "groupeval.statistics.periods",
}
# short public names for modules inside the layer folders (``ge.instruments.get("phq9")``)
_SUBMODULES: dict[str, str] = {
    "base": "groupeval.base", "io": "groupeval.io", "validation": "groupeval.validation",
    "scoring": "groupeval.scoring", "statistics": "groupeval.statistics", "reporting": "groupeval.reporting",
    "sample": "groupeval.sample",
    "instruments": "groupeval.base.instruments", "schema": "groupeval.base.schema",
    "exceptions": "groupeval.base.exceptions",
    "plotting": "groupeval.reporting.plotting", "report": "groupeval.reporting.report",
    "narrative": "groupeval.reporting.narrative", "formatting": "groupeval.reporting.formatting",
    "privacy": "groupeval.reporting.privacy",
    "evidence": "groupeval.base.evidence",
}

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = import_module(_SUBMODULES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'groupeval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
