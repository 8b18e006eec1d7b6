"""Validation: the readers' SourceTables (or frames) -> a checked, frozen Dataset and its QualityReport.

Owns every data rule (required columns, types, vocabularies, references between
tables, duplicates, dates, enrolment windows), the row accounting (read −
excluded + inferred = kept) and :func:`~.load.load` / :func:`~.load.validate`,
which read a folder or a TOML config with :mod:`groupeval.io` and validate it;
surveys answered in words (:mod:`.labels`), item columns by position
(:mod:`.forms`), name-keyed programmes pseudonymised at the door
(:mod:`.identities`) and the folder inspection of ``groupeval init``
(:mod:`.inspect`).

May import: :mod:`groupeval.base`, :mod:`groupeval.io`.
"""
