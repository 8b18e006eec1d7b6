"""Base: the data model and the errors every layer shares.

Owns the canonical tables (:mod:`.schema`), the frozen :class:`~.dataset.Dataset`
and its :class:`~.dataset.QualityReport`, the package's exceptions and warnings
(:mod:`.exceptions`), and the questionnaire definitions (:mod:`.instruments`:
items, ranges, keys, bands, answer labels), which readers, validation and
scoring all need, and salted pseudonyms (:mod:`.pseudonyms`), which validation
and reporting both use.

May import: nothing from groupeval (only the standard library, numpy, pandas).
"""
