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
    "Dataset": "groupeval.dataset",
    "QualityReport": "groupeval.dataset",
    # errors
    "GroupevalError": "groupeval.exceptions",
    "SchemaError": "groupeval.exceptions",
    "ReadError": "groupeval.exceptions",
    "ValidationError": "groupeval.exceptions",
    "IdentifierError": "groupeval.exceptions",
    "ScoringError": "groupeval.exceptions",
    "ConfigError": "groupeval.exceptions",
    # io + validation
    "read_attendance": "groupeval.io",
    "read_survey": "groupeval.io",
    "read_table": "groupeval.io",
    "load": "groupeval.loading",
    "validate": "groupeval.loading",
    # scoring
    "Instrument": "groupeval.instruments",
    "ClinicalCutoff": "groupeval.instruments",
    "score": "groupeval.scoring",
    "reliability": "groupeval.reliability",
    "item_analysis": "groupeval.reliability",
    # statistics: attendance and retention
    "attendance_summary": "groupeval.engagement",
    "retention": "groupeval.retention",
    "RetentionResult": "groupeval.retention",
    "cox_model": "groupeval.retention",
    "cohort_table": "groupeval.retention",
    "group_engagement": "groupeval.engagement",
    "Dropout": "groupeval.engagement",
    "DROPOUT_PRESETS": "groupeval.engagement",
    "attrition": "groupeval.retention",
    "participant_flow": "groupeval.retention",
    "retention_sensitivity": "groupeval.retention",
    # statistics: outcomes
    "change": "groupeval.outcomes",
    "reliable_change": "groupeval.outcomes",
    "icc": "groupeval.models",
    "mixed_model": "groupeval.models",
    "dose_response": "groupeval.models",
    "compare_groups": "groupeval.models",
    "impute": "groupeval.models",
}
_SUBMODULES = {"instruments", "sample", "plotting", "report", "io", "schema", "exceptions", "narrative",
               "formatting", "privacy"}

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = import_module(f"groupeval.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'groupeval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
