"""Statistics: engagement, retention, outcomes and reliability.

Owns every estimate, test and model groupeval reports: attendance and dropout
(:mod:`.engagement`), Kaplan–Meier retention, Cox models and participant flow
(:mod:`.retention`), pre/post change and reliable change (:mod:`.outcomes`),
ICC, mixed models, group comparisons, dose–response and imputation
(:mod:`.models`), internal consistency (:mod:`.reliability`) and the result
base classes (:mod:`.results`).  Results are tidy, unrounded pandas objects.

May import: :mod:`groupeval.base`, :mod:`groupeval.scoring` (and, for reading a
programme, :mod:`groupeval.validation`).  Never matplotlib: the one lazy upward
edge is ``Result.plot`` calling :mod:`groupeval.reporting.plotting`.
"""
