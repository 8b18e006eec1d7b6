"""Reporting: everything a person reads.

Owns rounding and wording (:mod:`.formatting`), APA and plain-language sentences
and the methods paragraph (:mod:`.narrative`), figures (:mod:`.plotting`, the only
matplotlib importer), small-cell suppression and audiences (:mod:`.privacy`), the
report builder (:mod:`.report`) and the command line (:mod:`.cli`).

May import: every other layer and :mod:`groupeval.sample`.
"""
