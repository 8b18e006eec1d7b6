"""Sentences, a board summary and a methods paragraph written from groupeval's results.

Every number in a sentence comes from a result object and is rounded by
:mod:`groupeval.formatting`; nothing is typed by hand, so a grant summary
always matches the analysis it came from.

Two styles:

* ``style="apa"`` -- for researchers and grant writers: estimate, CI, test,
  p and effect size in APA 7 form.  Sentences lead with the cluster-aware
  result and name its method, e.g. *"PHQ-9 scores fell from 11.2 (SD 4.1)
  at baseline to 8.0 (SD 4.5) at week 26 (n = 181), mean change −3.2, 95% CI [−4.4, −2.0], t(6.8) = −6.21, p < .001 (CR2
  cluster-robust, Satterthwaite df, 9 groups); the member-level paired
  t-test, which ignores the grouping, gave t(180) = −9.10, p < .001; d_z =
  −0.68, 95% CI [−0.84, −0.52]."*
* ``style="plain"`` -- for programme managers and boards: full instrument
  names, timepoints as people write them, fractions and percentages with
  the interval in words, e.g. *"About two in three members who came at least
  once (65%, likely between 58% and 72%) were still attending 26 weeks
  later."*  "Improved" is said only when the cluster-aware interval excludes
  zero.

Privacy: ``audience="funder"``/``"public"`` (or ``min_cell=``) writes counts
below ``min_cell`` (default 11) as "fewer than 11", hides estimates resting
on fewer people, and -- for sets of categories that add up to a shown total
-- also hides the cells that would let a hidden one be recovered
(:func:`groupeval.privacy.suppression_mask`).  Sentences never name members.

Modules
-------
change
    :func:`change_sentence`, :func:`change_sentences`, :func:`change_caveat`.
retention
    :func:`retention_sentence`, :func:`retention_comparison_sentence`
    (alias :func:`logrank_sentence`), and the shared reporting rule
    :func:`retention_estimates` / :func:`median_estimate`.
categories
    :func:`reliable_change_sentence`, :func:`attendance_sentence`.
models
    :func:`compare_groups_sentence`, :func:`mixed_model_sentence`,
    :func:`dose_response_sentence`, :func:`icc_sentence`.
summary
    :func:`board_summary`, :func:`limits_paragraph`.
methods
    :func:`methods_paragraph`, :func:`result_methods`, :func:`methods_used`.
citations
    :data:`METHOD_REFERENCES`, :data:`METHODS`, :func:`references`,
    :func:`in_text_citation`, :func:`software_versions`.
wording
    :func:`timepoint_label`, :func:`fmt_ci_words`, :func:`fmt_share`,
    :func:`category_label`, :func:`method_phrase`.
"""
from __future__ import annotations

from ._common import STYLES
from .categories import attendance_sentence, reliable_change_sentence
from .change import ChangeBasis, change_basis, change_caveat, change_sentence, change_sentences
from .citations import (
    METHOD_REFERENCES,
    METHODS,
    Method,
    in_text_citation,
    reference_text,
    references,
    software_versions,
)
from .methods import methods_paragraph, methods_used, result_methods
from .models import compare_groups_sentence, dose_response_sentence, icc_sentence, mixed_model_sentence
from .retention import (
    data_window,
    logrank_sentence,
    median_estimate,
    retention_comparison_sentence,
    retention_estimates,
    retention_sentence,
)
from .summary import board_summary, limits_paragraph
from .wording import (
    CATEGORY_LABELS,
    category_label,
    category_phrase,
    fmt_ci_words,
    fmt_share,
    method_phrase,
    share_words,
    timepoint_label,
    timepoint_text,
)

__all__ = [
    "STYLES",
    "METHOD_REFERENCES",
    "METHODS",
    "Method",
    "CATEGORY_LABELS",
    "ChangeBasis",
    "change_basis",
    "change_sentence",
    "change_sentences",
    "change_caveat",
    "retention_sentence",
    "retention_estimates",
    "data_window",
    "median_estimate",
    "retention_comparison_sentence",
    "logrank_sentence",
    "reliable_change_sentence",
    "attendance_sentence",
    "dose_response_sentence",
    "mixed_model_sentence",
    "compare_groups_sentence",
    "icc_sentence",
    "board_summary",
    "limits_paragraph",
    "methods_paragraph",
    "methods_used",
    "result_methods",
    "references",
    "reference_text",
    "software_versions",
    "in_text_citation",
    "timepoint_label",
    "timepoint_text",
    "fmt_ci_words",
    "fmt_share",
    "share_words",
    "category_label",
    "category_phrase",
    "method_phrase",
]
