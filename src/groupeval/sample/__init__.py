"""A realistic synthetic programme with known true effects (outside the layer chain).

:func:`generate` builds a validated :class:`~groupeval.base.dataset.Dataset`
and its closed-form truth; :func:`write_programme` / :func:`write_sample` write
it as the messy files a real programme keeps (wide Excel register, REDCap
export with data dictionary, TOML config).

Modules: :mod:`.constants` (the fixed design: group types, timepoints,
instruments, true effects), :mod:`.items` (item model and exact expected
scores), :mod:`.simulate` (:func:`generate` and its argument checks),
:mod:`.registers` (groups, sessions, members, dropout, attendance),
:mod:`.surveys` (latent outcome, survey returns, item answers),
:mod:`.truth` (the closed-form truth), :mod:`.files` and :mod:`._xlsx`
(the files a programme keeps), :mod:`._draws` (vectorised random draws).

May import: :mod:`groupeval.base` up to :mod:`groupeval.statistics`; only
:mod:`groupeval.reporting` (the CLI's ``sample`` command) imports it.
"""
from __future__ import annotations

from .constants import DOSE_SLOPE, GROUP_TYPES, INSTRUMENT_EFFECT_SCALE, INSTRUMENTS, PROGRAMME, TIMEPOINTS
from .files import (
    ATTENDANCE_LAYOUTS,
    MEMBER_HEADERS,
    REDCAP_EVENTS,
    REDCAP_FORMS,
    SURVEY_LAYOUTS,
    write_programme,
    write_sample,
)
from .items import ITEM_MODELS, MAIN_SCORE, SCORES, ItemModel, expected_items, expected_scores
from .simulate import generate

__all__ = ["ATTENDANCE_LAYOUTS", "DOSE_SLOPE", "GROUP_TYPES", "INSTRUMENT_EFFECT_SCALE", "INSTRUMENTS", "ITEM_MODELS",
           "MAIN_SCORE", "MEMBER_HEADERS", "PROGRAMME", "REDCAP_EVENTS", "REDCAP_FORMS", "SCORES", "SURVEY_LAYOUTS",
           "TIMEPOINTS", "ItemModel", "expected_items", "expected_scores", "generate", "write_programme",
           "write_sample"]
