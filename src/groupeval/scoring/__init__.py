"""Scoring: item responses -> questionnaire scores.

Owns :func:`~.scores.score` (reverse keying, prorating, missing-item rules,
subscales, severity bands, flags) and the item-matrix helpers that reliability
uses.  The instrument definitions themselves live in :mod:`groupeval.base.instruments`.

May import: :mod:`groupeval.base`.
"""
