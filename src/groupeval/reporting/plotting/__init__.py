"""Figures for groupeval results (the reporting layer; the only matplotlib user).

Every function takes a result object *or* the equivalent DataFrame and an
optional ``ax`` and returns the :class:`matplotlib.axes.Axes` it drew on::

    ax = groupeval.plotting.plot_retention(groupeval.retention(ds, by="group_type"))
    ax.figure.savefig("retention.png", dpi=150, bbox_inches="tight")

One style a board reads: the Okabe--Ito palette (distinguishable with the
common colour-vision deficiencies, Okabe & Ito 2008), line styles and
markers that repeat the colour information, readable font sizes, no
top/right spines, a light horizontal grid, plain titles and axis labels.
The style is applied inside each function through :func:`style`
(``matplotlib.rc_context``), never globally.

Retention curves stop at the data window and are dotted where fewer than
the documented number of members remain at risk.  Small counts:
``audience="funder"`` / ``"public"`` (or an explicit ``min_cell=``) leaves a
count below ``min_cell`` unlabelled in every label, legend and at-risk
table, and hides estimates resting on fewer people.  Member ids never
appear in a figure; rows of the attendance heatmap are positions (1, 2, ...).
A figure with nothing to draw (no members, no follow-up, an empty table)
is a message panel saying why, never an exception.

Modules: ``retention`` (:func:`plot_retention`), ``heatmaps``
(:func:`plot_attendance_heatmap`, :func:`plot_cohort_heatmap`), ``outcomes``
(:func:`plot_means_over_time`, :func:`plot_reliable_change`,
:func:`plot_forest`, :func:`plot_dose_response`), ``flow``
(:func:`plot_flow`), ``_style`` (palette, :func:`style`, :func:`message_panel`).

References
----------
Okabe M, Ito K (2008). Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
Jacobson NS, Truax P (1991). Clinical significance: a statistical approach to
defining meaningful change in psychotherapy research. J Consult Clin Psychol
59(1):12-19.
"""
from __future__ import annotations

from ._style import OKABE_ITO, PALETTE, STYLE, message_panel, style
from .flow import plot_flow
from .heatmaps import plot_attendance_heatmap, plot_cohort_heatmap
from .outcomes import plot_dose_response, plot_forest, plot_means_over_time, plot_reliable_change
from .retention import KM_COLUMNS, plot_retention

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "STYLE",
    "KM_COLUMNS",
    "style",
    "message_panel",
    "plot_retention",
    "plot_attendance_heatmap",
    "plot_cohort_heatmap",
    "plot_means_over_time",
    "plot_reliable_change",
    "plot_forest",
    "plot_dose_response",
    "plot_flow",
]
