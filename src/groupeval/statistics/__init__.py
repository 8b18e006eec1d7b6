"""Statistics: engagement, retention, outcomes, reliability, and the tools for the next grant.

Owns every estimate, test and model groupeval reports, one module per concern:
attendance and dropout (:mod:`.dropout`, :mod:`.engagement`); Kaplan–Meier
retention (:mod:`.survival`, :mod:`.retention`), Cox models (:mod:`.cox`),
cohorts, attrition and participant flow (:mod:`.flow`), with the cluster-aware
survival methods in :mod:`.survival_cluster` / :mod:`.cox_cluster`; pre/post
change (:mod:`.change`) and reliable change (:mod:`.reliable_change`); ICC
(:mod:`.icc`), mixed models (:mod:`.mixed` on the engine :mod:`.lmm`), group
comparisons (:mod:`.compare`), dose–response (:mod:`.dose`) and imputation
(:mod:`.impute`); small-sample cluster-robust regression (:mod:`.robust`);
internal consistency (:mod:`.reliability`); power (:mod:`.power`,
:mod:`.power_inputs`), published benchmarks (:mod:`.benchmark`) and reporting
periods (:mod:`.periods`); the result base classes (:mod:`.results`).  Results
are tidy, unrounded pandas objects or frozen dataclasses.

May import: :mod:`groupeval.base`, :mod:`groupeval.io`, :mod:`groupeval.validation`,
:mod:`groupeval.scoring`.  Never matplotlib: the one lazy upward edge is
``Result.plot`` calling :mod:`groupeval.reporting.plotting`.
"""
