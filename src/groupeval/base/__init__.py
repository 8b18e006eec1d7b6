"""Base: the data model and the errors every layer shares.

Owns the canonical tables (:mod:`.schema`), the frozen :class:`~.dataset.Dataset`
and its :class:`~.dataset.QualityReport`, the package's exceptions and warnings
(:mod:`.exceptions`), the questionnaire definitions (:mod:`.instruments`:
items, ranges, keys, bands, answer labels), which readers, validation and
scoring all need; what reading and validation share: the vocabularies
(:mod:`.vocab`: attendance marks = yes/no values, missing-value text, the
column-name normaliser) and the identifier finder (:mod:`.identifiers`);
salted pseudonyms (:mod:`.pseudonyms`), which validation and reporting both use;
and the registry of published benchmark effects and per-instrument reference
points (:mod:`.evidence`) that statistics and reporting put beside a programme's results.

May import: nothing from groupeval (only the standard library, numpy, pandas;
pyarrow inside functions).
"""
