"""References of the methods groupeval uses, author--year citations and software versions.

:data:`METHOD_REFERENCES` maps a reference key to its full reference
(Vancouver style).  :data:`METHODS` maps a *method key* -- the keys result
objects list in ``.methods`` (``"cr2"``, ``"satterthwaite"``, ``"htz"``, ...)
-- to the words the methods paragraph uses for it and the reference keys it
is cited with, so that every method a report used is named with its source.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from ...base.exceptions import ConfigError
from ._common import instrument_of

__all__ = ["METHOD_REFERENCES", "METHODS", "Method", "in_text_citation", "references", "software_versions",
           "reference_text"]

#: Full references of the methods groupeval uses, by key.
METHOD_REFERENCES: dict[str, str] = {
    "kaplan_meier": "Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. "
                    "J Am Stat Assoc 1958;53(282):457-481.",
    "greenwood": "Greenwood M. The natural duration of cancer. Reports on Public Health and Medical "
                 "Subjects 1926;33:1-26.",
    "kalbfleisch": "Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data. 2nd ed. "
                   "Wiley; 2002.",
    "logrank": "Mantel N. Evaluation of survival data and two new rank order statistics arising in its "
               "consideration. Cancer Chemother Rep 1966;50(3):163-170.",
    "lin_wei": "Lin DY, Wei LJ. The robust inference for the Cox proportional hazards model. J Am Stat Assoc "
               "1989;84(408):1074-1078.",
    "cox": "Cox DR. Regression models and life-tables. J R Stat Soc Series B 1972;34(2):187-220.",
    "mancl_derouen": "Mancl LA, DeRouen TA. A covariance estimator for GEE with improved small-sample "
                     "properties. Biometrics 2001;57(1):126-134.",
    "lakens": "Lakens D. Calculating and reporting effect sizes to facilitate cumulative science: a practical "
              "primer for t-tests and ANOVAs. Front Psychol 2013;4:863.",
    "steiger": "Steiger JH, Fouladi RT. Noncentrality interval estimation and the evaluation of statistical "
               "models. In: Harlow LL, Mulaik SA, Steiger JH, eds. What If There Were No Significance Tests? "
               "Erlbaum; 1997:221-257.",
    "wilcoxon": "Wilcoxon F. Individual comparisons by ranking methods. Biometrics Bulletin 1945;1(6):80-83.",
    "jacobson_truax": "Jacobson NS, Truax P. Clinical significance: a statistical approach to defining "
                      "meaningful change in psychotherapy research. J Consult Clin Psychol 1991;59(1):12-19.",
    "hageman_arrindell": "Hageman WJ, Arrindell WA. Establishing clinically significant change: increment of "
                         "precision and the distinction between individual and group level of analysis. "
                         "Behav Res Ther 1999;37(12):1169-1193.",
    "wilson": "Wilson EB. Probable inference, the law of succession, and statistical inference. "
              "J Am Stat Assoc 1927;22(158):209-212.",
    "bell_mccaffrey": "Bell RM, McCaffrey DF. Bias reduction in standard errors for linear regression with "
                      "multi-stage samples. Surv Methodol 2002;28(2):169-181.",
    "pustejovsky_tipton": "Pustejovsky JE, Tipton E. Small-sample methods for cluster-robust variance "
                          "estimation and hypothesis testing in fixed effects models. J Bus Econ Stat "
                          "2018;36(4):672-683.",
    "satterthwaite": "Satterthwaite FE. An approximate distribution of estimates of variance components. "
                     "Biometrics Bulletin 1946;2(6):110-114.",
    "cameron_miller": "Cameron AC, Miller DL. A practitioner's guide to cluster-robust inference. J Hum Resour "
                      "2015;50(2):317-372.",
    "liang_zeger": "Liang KY, Zeger SL. Longitudinal data analysis using generalized linear models. Biometrika "
                   "1986;73(1):13-22.",
    "vickers_altman": "Vickers AJ, Altman DG. Analysing controlled trials with baseline and follow up "
                      "measurements. BMJ 2001;323(7321):1123-1124.",
    "holm": "Holm S. A simple sequentially rejective multiple test procedure. Scand J Stat 1979;6(2):65-70.",
    "benjamini_hochberg": "Benjamini Y, Hochberg Y. Controlling the false discovery rate: a practical and "
                          "powerful approach to multiple testing. J R Stat Soc Series B 1995;57(1):289-300.",
    "laird_ware": "Laird NM, Ware JH. Random-effects models for longitudinal data. Biometrics "
                  "1982;38(4):963-974.",
    "bates": "Bates D, Mächler M, Bolker B, Walker S. Fitting linear mixed-effects models using lme4. "
             "J Stat Softw 2015;67(1):1-48.",
    "kuznetsova": "Kuznetsova A, Brockhoff PB, Christensen RHB. lmerTest package: tests in linear mixed effects "
                  "models. J Stat Softw 2017;82(13):1-26.",
    "kenward_roger": "Kenward MG, Roger JH. Small sample inference for fixed effects from restricted maximum "
                     "likelihood. Biometrics 1997;53(3):983-997.",
    "shrout_fleiss": "Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability. "
                     "Psychol Bull 1979;86(2):420-428.",
    "kish": "Kish L. Survey Sampling. Wiley; 1965.",
    "van_buuren": "van Buuren S, Groothuis-Oudshoorn K. mice: multivariate imputation by chained equations "
                  "in R. J Stat Softw 2011;45(3):1-67.",
    "rubin": "Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley; 1987.",
    "barnett": "Barnett AG, van der Pols JC, Dobson AJ. Regression to the mean: what it is and how to deal "
               "with it. Int J Epidemiol 2005;34(1):215-220.",
    "statsmodels": "Seabold S, Perktold J. statsmodels: econometric and statistical modeling with Python. "
                   "Proceedings of the 9th Python in Science Conference 2010:92-96.",
    "lifelines": "Davidson-Pilon C. lifelines: survival analysis in Python. J Open Source Softw "
                 "2019;4(40):1317.",
    "pandas": "McKinney W. Data structures for statistical computing in Python. Proceedings of the 9th "
              "Python in Science Conference 2010:56-61.",
    "scipy": "Virtanen P, Gommers R, Oliphant TE, et al. SciPy 1.0: fundamental algorithms for scientific "
             "computing in Python. Nat Methods 2020;17:261-272.",
    "groupeval": "groupeval developers. groupeval: retention and outcome statistics for peer-led support "
                 "groups. Version {version}. Software; 2026.",
    "cms_cell_size": "Centers for Medicare & Medicaid Services. CMS cell size suppression policy. Baltimore, "
                     "MD: CMS; 2020.",
}


@dataclass(frozen=True)
class Method:
    """How the methods paragraph names one method key, and what it cites.

    Attributes
    ----------
    name : str
        The method in words ("CR2 cluster-robust variance").
    refs : tuple of str
        Keys of :data:`METHOD_REFERENCES`.
    topic : str
        The paragraph sentence it belongs to (``"retention"``, ``"change"``,
        ``"reliable_change"``, ``"comparison"``, ``"mixed_model"``,
        ``"dose_response"``, ``"imputation"``, ``"clustering"``, ``"other"``).
    """

    name: str
    refs: tuple[str, ...]
    topic: str = "other"


#: Method keys (as result objects list them in ``.methods``) -> words and references.
METHODS: dict[str, Method] = {
    "kaplan_meier": Method("the Kaplan–Meier product-limit estimator", ("kaplan_meier",), "retention"),
    "greenwood": Method("Greenwood's variance with log–log confidence intervals", ("greenwood", "kalbfleisch"),
                        "retention"),
    "km_cluster_variance": Method("a group-clustered (robust) variance of the Kaplan–Meier curve",
                                  ("lin_wei",), "retention"),
    "late_entry": Method("late entry (left truncation) for members who enrolled before the data window",
                         ("kalbfleisch",), "retention"),
    "logrank": Method("the member-level log-rank test, as a secondary result because it ignores clustering in "
                      "groups", ("logrank",), "retention"),
    "robust_score_logrank": Method("a robust score (log-rank) test with members clustered by group",
                                   ("lin_wei",), "retention"),
    "cox": Method("Cox proportional hazards regression", ("cox",), "retention"),
    "lin_wei": Method("the Lin–Wei robust variance clustered by group", ("lin_wei",), "retention"),
    "mancl_derouen": Method("the Mancl–DeRouen small-sample correction of the robust variance",
                            ("mancl_derouen",), "retention"),
    "paired_t": Method("paired t-tests", (), "change"),
    "wilcoxon": Method("Wilcoxon signed-rank tests as a check", ("wilcoxon",), "change"),
    "d_z": Method("Cohen's d_z with an exact confidence interval from the noncentral t distribution",
                  ("steiger", "lakens"), "change"),
    "cr2": Method("the CR2 (bias-reduced linearisation) cluster-robust variance, clustered by group",
                  ("bell_mccaffrey",), "clustering"),
    "cr1": Method("the CR1 cluster-robust variance, clustered by group, with G − 1 degrees of freedom",
                  ("cameron_miller",), "clustering"),
    "satterthwaite": Method("Satterthwaite degrees of freedom for the cluster-robust t tests",
                            ("bell_mccaffrey", "satterthwaite"), "clustering"),
    "htz": Method("the HTZ small-sample Wald test for several contrasts at once", ("pustejovsky_tipton",),
                  "clustering"),
    "cluster_wald_f": Method("a cluster-robust Wald F test", ("cameron_miller",), "clustering"),
    "ancova": Method("analysis of covariance of the follow-up score on the baseline score and the compared "
                     "factor", ("vickers_altman",), "comparison"),
    "holm": Method("Holm's correction of the pairwise p values", ("holm",), "comparison"),
    "fdr_bh": Method("the Benjamini–Hochberg false-discovery-rate correction of the pairwise p values",
                     ("benjamini_hochberg",), "comparison"),
    "bonferroni": Method("Bonferroni's correction of the pairwise p values", (), "comparison"),
    "jacobson_truax": Method("the Jacobson–Truax reliable change index and clinical cut-off", ("jacobson_truax",),
                             "reliable_change"),
    "hageman_arrindell": Method("the Hageman–Arrindell reliable change index", ("hageman_arrindell",),
                                "reliable_change"),
    "wilson": Method("Wilson score intervals", ("wilson",), "reliable_change"),
    "lmm_reml": Method("a linear mixed model with random intercepts for members nested in groups, fitted by "
                       "restricted maximum likelihood", ("laird_ware", "bates"), "mixed_model"),
    "satterthwaite_lmm": Method("Satterthwaite degrees of freedom for the mixed model's t tests",
                                ("satterthwaite", "kuznetsova"), "mixed_model"),
    "kenward_roger": Method("the Kenward–Roger adjusted covariance and degrees of freedom",
                            ("kenward_roger",), "mixed_model"),
    "z_wald": Method("Wald z tests (large-sample normal reference, which overstates precision with few groups)",
                     (), "mixed_model"),
    "gee": Method("generalised estimating equations with an exchangeable working correlation within groups "
                  "and cluster-robust standard errors", ("liang_zeger", "statsmodels"), "mixed_model"),
    "dose_response": Method("regression of the follow-up score on the baseline score and the number of sessions "
                            "attended", (), "dose_response"),
    "mice": Method("multiple imputation by chained equations", ("van_buuren",), "imputation"),
    "rubin": Method("Rubin's rules for pooling", ("rubin",), "imputation"),
    "icc": Method("the intraclass correlation ICC(1) from a one-way analysis of variance, with the design "
                  "effect", ("shrout_fleiss", "kish"), "other"),
}


def software_versions() -> dict[str, str]:
    """Versions of groupeval, Python and the libraries the statistics use."""
    from ... import __version__

    out = {"groupeval": __version__, "Python": ".".join(map(str, sys.version_info[:3]))}
    for pkg in ("pandas", "numpy", "scipy", "statsmodels", "lifelines"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[pkg] = "unknown"
    return out


def reference_text(key_or_ref: str) -> str:
    """The full reference of a :data:`METHOD_REFERENCES` key (a full reference is returned as given)."""
    ref = METHOD_REFERENCES.get(key_or_ref, key_or_ref)
    return ref.format(version=software_versions()["groupeval"]) if "{version}" in ref else ref


def _surname(author: str) -> str:
    toks = author.split()
    if len(toks) > 1 and re.fullmatch(r"[A-Z]{1,3}", toks[-1]):
        return " ".join(toks[:-1])
    return author


def in_text_citation(reference: str) -> str:
    """Author--year citation of a Vancouver-style reference: ``"Kroenke et al., 2001"``.

    The first author's surname is the reference up to the initials; the year
    is the first 19xx/20xx after the author list.
    """
    authors_part = reference.split(". ")[0]
    authors = [a.strip() for a in authors_part.split(",") if a.strip()]
    rest = reference[len(authors_part):]
    year_m = re.search(r"\b(19|20)\d{2}\b", rest) or re.search(r"\b(19|20)\d{2}\b", reference)
    year = year_m.group(0) if year_m else "n.d."
    if not authors:
        return f"{reference[:40]}, {year}"
    if len(authors) == 1:
        names = _surname(authors[0])
    elif len(authors) == 2 and "et al" not in authors[1]:
        names = f"{_surname(authors[0])} & {_surname(authors[1])}"
    else:
        names = f"{_surname(authors[0])} et al."
    return f"{names}, {year}"


def references(*, instruments: Sequence[Any] = (), methods: Iterable[str] = ("kaplan_meier", "greenwood",
               "logrank", "lakens", "jacobson_truax", "statsmodels", "lifelines", "groupeval")) -> list[str]:
    """Full references for instruments (registry ``citation``) and keys.

    ``methods`` may hold reference keys of :data:`METHOD_REFERENCES` or
    method keys of :data:`METHODS` (which bring their references).
    """
    out: list[str] = []
    for key in methods:
        if key in METHOD_REFERENCES:
            out.append(reference_text(key))
        elif key in METHODS:
            out.extend(reference_text(r) for r in METHODS[key].refs)
        else:
            raise ConfigError(f"unknown reference key {key!r}; choose from {', '.join(METHOD_REFERENCES)} "
                              f"or a method key ({', '.join(METHODS)}).")
    for i in instruments:
        inst = instrument_of(i)
        if inst is None:
            raise ConfigError(f"unknown instrument {i!r}; pass a registry name or an Instrument.")
        out.append(inst.citation)
    return sorted(dict.fromkeys(out))
