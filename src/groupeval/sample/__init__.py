"""A realistic synthetic programme with known true effects (outside the layer chain).

:func:`generate` builds a validated :class:`~groupeval.base.dataset.Dataset`
and its closed-form truth; :func:`write_programme` / :func:`write_sample` write
it as the messy files a real programme keeps (wide Excel register, REDCap
export with data dictionary, TOML config).

May import: :mod:`groupeval.base` up to :mod:`groupeval.statistics`; only
:mod:`groupeval.reporting` (the CLI's ``sample`` command) imports it.
"""
from __future__ import annotations

from .synthetic import (
                        ATTENDANCE_LAYOUTS,
                        DOSE_SLOPE,
                        GROUP_TYPES,
                        INSTRUMENT_EFFECT_SCALE,
                        INSTRUMENTS,
                        ITEM_MODELS,
                        MAIN_SCORE,
                        MEMBER_HEADERS,
                        PROGRAMME,
                        REDCAP_EVENTS,
                        REDCAP_FORMS,
                        SCORES,
                        SURVEY_LAYOUTS,
                        TIMEPOINTS,
                        ItemModel,
                        expected_items,
                        expected_scores,
                        generate,
                        write_programme,
                        write_sample,
)

__all__ = ["ATTENDANCE_LAYOUTS", "DOSE_SLOPE", "GROUP_TYPES", "INSTRUMENT_EFFECT_SCALE", "INSTRUMENTS", "ITEM_MODELS",
           "MAIN_SCORE", "MEMBER_HEADERS", "PROGRAMME", "REDCAP_EVENTS", "REDCAP_FORMS", "SCORES", "SURVEY_LAYOUTS",
           "TIMEPOINTS", "ItemModel", "expected_items", "expected_scores", "generate", "write_programme",
           "write_sample"]
