"""``groupeval.load`` and ``groupeval.validate``: files or frames -> a validated :class:`Dataset`.

``load`` reads a programme folder (files found by name: ``groups.*``,
``members.*``, ``sessions.*``, ``attendance.*``, ``surveys.*``) or a TOML
configuration (:mod:`.config`) with the readers of :mod:`groupeval.io`
(their typed ``*_source`` forms), then calls :func:`validate`.  Every
keyword reaches the layer that needs it: ``dayfirst`` and
``repeat_timepoints`` the readers (and ``dayfirst`` validation too), the
rest validation.  ``validate`` checks in-memory tables with the rules of
:mod:`groupeval.validation` and looks up item ranges in the instrument
registry.  See ``docs/validation.md``.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from ..base.dataset import Dataset, QualityReport
from ..base.exceptions import ConfigError, DataQualityWarning, GroupevalError, Problem, ReadError, SchemaError
from ..io import SourceTable, peek_columns
from .checks import item_columns, normalise_column_name, validate_tables
from .config import CONFIG_NAME, FILE_KEYS, FILE_STEMS, discover, merge_config, read_config
from .forms import check_items_spec, item_columns_by_position
from .identities import Pseudonymised, check_groups, pseudonymise_frames
from .labels import check_label_maps, code_answer_labels

__all__ = ["load", "validate", "read_config", "CONFIG_NAME", "FILE_STEMS"]

_TABLE_OF = {"groups": "groups", "members": "members", "sessions": "sessions", "attendance": "attendance",
             "surveys": "responses"}
#: load() keywords the readers need (dayfirst goes to validation too)
_READER_KEYS = ("dayfirst", "repeat_timepoints")

_Problems = list[tuple[type[GroupevalError], Problem]]


def _columns_for(path: Path, flat: Mapping[str, str]) -> dict[str, str]:
    """The part of a flat ``columns=`` mapping that names columns present in ``path``."""
    header = peek_columns(path)
    if header is None:
        return dict(flat)
    names = {h.strip() for h in header}
    squashed = {re.sub(r"\s+", "", h).casefold() for h in header}
    return {k: v for k, v in flat.items() if k.strip() in names or re.sub(r"\s+", "", k).casefold() in squashed}


def _split_columns(columns: Mapping[str, Any] | None) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    if not columns:
        return {}, {}
    if not isinstance(columns, Mapping):
        raise ConfigError(f"columns= must be a dict such as {{'Participant ID': 'member_id'}}, got "
                          f"{type(columns).__name__}")
    per = {k: dict(v) for k, v in columns.items() if isinstance(v, Mapping)}
    bad = [k for k in per if k not in FILE_KEYS and k != "responses"]
    if bad:
        raise ConfigError(f"columns= has per-file mappings for unknown kinds {bad}; use {', '.join(FILE_KEYS)}")
    if "responses" in per:
        per["surveys"] = {**per.pop("responses"), **per.get("surveys", {})}
    flat = {k: v for k, v in columns.items() if not isinstance(v, Mapping)}
    return per, flat


def _reader_kwargs(key: str, spec: Mapping[str, Any], programme: Mapping[str, Any],
                   reader: Mapping[str, Any]) -> dict[str, Any]:
    """Keywords of one file's reader: the file's own keys, then load()'s, then [programme]'s."""
    own = {"attendance": ("group", "blank"), "surveys": ("dictionary", "events", "timepoint")}.get(key, ())
    kwargs = {k: spec[k] for k in (*own, "sheet") if spec.get(k) is not None}
    if key in ("attendance", "surveys"):
        dayfirst = spec.get("dayfirst", reader.get("dayfirst", programme.get("dayfirst")))
        if dayfirst is not None:
            kwargs["dayfirst"] = dayfirst
    if key == "surveys":
        repeat = spec.get("repeat_timepoints", reader.get("repeat_timepoints"))
        if repeat is not None:
            kwargs["repeat_timepoints"] = repeat
    return kwargs


def _read_one(key: str, path: Path, spec: Mapping[str, Any], kwargs: dict[str, Any]) -> SourceTable:
    from .. import io as gio

    if key == "attendance":
        return gio.read_attendance_source(path, spec.get("format", "auto"), **kwargs)
    if key == "surveys":
        # answers in words are kept as text: validation turns answer labels into codes
        return gio.read_survey_source(path, spec.get("format", "auto"), text_items=True, **kwargs)
    return gio.read_table_source(path, table=key, **kwargs)


def _items_columns(path: Path, spec: Mapping[str, Any], items: Mapping[str, list[str]] | None) -> dict[str, str]:
    """``items=`` (the file's own, else the one given to load) as a ``columns=`` mapping."""
    own = spec.get("items")
    chosen = check_items_spec(own) if own is not None else dict(items or {})
    if not chosen:
        return {}
    from ..base import instruments as _registry

    sizes = {k: _registry.get(k).n_items for k in chosen if k in _registry.available()}
    return item_columns_by_position(path, chosen, sheet=spec.get("sheet"), n_items=sizes)


def _read_all(cfg: dict[str, Any], columns: Mapping[str, Any] | None, reader: Mapping[str, Any],
              problems: _Problems, items: Mapping[str, list[str]] | None = None) -> dict[str, list[SourceTable]]:
    per, flat = _split_columns(columns)
    sources: dict[str, list[SourceTable]] = {}
    for key, specs in cfg["files"].items():
        for spec in specs:
            path = Path(spec["path"])
            cols: dict[str, str] = {}
            if key == "surveys":
                try:
                    cols.update(_items_columns(path, spec, items))
                except GroupevalError as err:
                    problems.extend((type(err), p) for p in err.problems or
                                    [Problem(path.name, None, None, None, err.message)])
                    continue
            cols.update(dict(spec.get("columns") or {}))
            if flat:
                cols.update(_columns_for(path, flat))
            cols.update(per.get(key, {}))
            kwargs = {"columns": cols or None, **_reader_kwargs(key, spec, cfg["programme"], reader)}
            try:
                src = _read_one(key, path, spec, kwargs)
            except GroupevalError as err:
                if err.problems:
                    problems.extend((type(err), p) for p in err.problems)
                else:
                    problems.append((type(err), Problem(path.name, None, None, None, err.message)))
                continue
            sources.setdefault(_TABLE_OF[key], []).append(src)
    return sources


def _config_of(p: Path, config: Mapping[str, Any] | str | Path | None) -> dict[str, Any]:
    if not p.exists():
        raise ReadError(f"{p} does not exist", [Problem(str(p), None, None, None, "no such file or folder",
                                                      "check the path (relative to the current folder)")])
    if p.is_dir():
        toml = p / CONFIG_NAME
        cfg = read_config(toml) if toml.is_file() else discover(p)
    elif p.suffix.lower() == ".toml":
        cfg = read_config(p)
    else:
        raise ConfigError(f"load() needs a folder or a .toml configuration, got the file {p.name}",
                          [Problem(p.name, None, None, None, "a single data file is not a programme",
                                   "use groupeval.read_attendance / read_survey for one file, or give the folder")])
    return merge_config(cfg, config) if config is not None else cfg


def load(path: str | Path, *, columns: Mapping[str, Any] | None = None,
         config: Mapping[str, Any] | str | Path | None = None, allow_identifiers: bool = False,
         today: Any = None, pseudonymise: bool = False, salt: str | None = None,
         labels: Mapping[str, Mapping[str, int]] | None = None, items: Mapping[str, Any] | None = None,
         same_person: Sequence[Sequence[str]] | None = None, not_same: Sequence[Sequence[str]] | None = None,
         **kwargs: Any) -> Dataset:
    """Read and validate a programme: a folder of files or a TOML configuration.

    Parameters
    ----------
    path
        A folder or a ``.toml`` file.  A folder with a ``groupeval.toml`` uses
        it; otherwise its files are found by name: ``groups.*`` (optional;
        inferred with ``group_type`` "unspecified"), ``members.*``,
        ``sessions.*`` (optional; inferred from attendance), ``attendance.*``,
        ``surveys.*`` (``.csv``/``.tsv``/``.txt``/``.xlsx``/``.parquet``;
        formats auto-detected; a ``*dictionary*`` file beside a REDCap export
        is its data dictionary).
    columns
        Renames raw column names to canonical ones: ``{"Participant ID":
        "member_id"}`` (applied to every file that has the column) or per file
        kind ``{"members": {...}, "attendance": {...}, "surveys": {...}}``.
    config
        A configuration (dict in the TOML schema, or a path to a TOML file)
        used instead of / merged over the folder's one.
    allow_identifiers
        Accept files holding names or contact details; the identifier columns
        are still removed from every table (the removal is recorded).
    today
        Dates after it are errors (default: the current date).
    pseudonymise
        The member key of every file is a person's name or e-mail address
        (TOML: ``[privacy] pseudonymise = true``): keys are normalised (case,
        accents, surrounding and repeated spaces) and replaced by salted
        pseudonyms *before* validation, so no raw name reaches the Dataset,
        its quality report, an error message or an output.  Member names in
        other text columns are replaced too, and other identifier columns are
        removed as with ``allow_identifiers=True`` (each recorded).  Keys that
        look alike but were not joined are listed in
        ``meta["near_duplicates"]`` (pseudonyms, similarity, where they first
        occur) and in the quality report, for you to confirm with
        ``same_person`` / ``not_same``.  See docs/reading-data.md.
    salt
        The secret for the pseudonyms.  Default: ``[privacy] salt_file`` of
        the TOML, else the environment variable ``GROUPEVAL_SALT``, else the
        file ``.groupeval_salt`` in the data folder (created on first use).
        Weak salts (short, few distinct characters, placeholders) are refused.
    labels
        Your answer labels per instrument or item column, ``{"brs": {"Somewhat
        agree": 4}}`` (TOML: ``[labels.brs]``), used with the instrument's own
        (:attr:`~groupeval.instruments.Instrument.answer_labels`).
    items
        Item columns of the survey files by position: ``{"brs": "C:H"}`` or
        ``{"brs": ["C", "D", "E", "F", "G", "H"]}`` (spreadsheet letters, or
        header texts), numbered in that order (TOML: ``items = {...}`` in
        ``[files.surveys]``).
    same_person, not_same
        Groups of pseudonyms you confirmed to be one person / different
        people (TOML: ``[privacy] same_person = [["P-...", "P-..."]]``).
    **kwargs
        ``dayfirst`` (readers and validation) and ``repeat_timepoints``
        (REDCap survey reader); the rest go to :func:`validate`:
        ``timepoints``, ``instruments``, ``cutoff``, ``unenrolled``,
        ``item_ranges``, ``timepoint_aliases``.

    Returns
    -------
    Dataset
        With ``quality`` (every excluded/repaired/inferred row), ``timepoints``,
        ``cutoff`` and ``meta``: ``source``, ``programme``, ``instruments``,
        ``row_counts`` (``{table: {read, excluded, inferred, kept}}``, with
        read - excluded + inferred = kept), ``files``.

    Raises
    ------
    ConfigError
        Bad configuration (every bad key, with the allowed keys/values).
    ReadError, SchemaError, IdentifierError, ValidationError
        Every problem of every file at once.

    Examples
    --------
    >>> ds = groupeval.load("data/sample")                     # doctest: +SKIP
    >>> ds.quality.by_reason()                                  # doctest: +SKIP

    In R there is no single equivalent; it replaces ``readr::read_csv`` of
    each file plus hand-written checks.
    """
    p = Path(path)
    cfg = _config_of(p, config)
    prog = cfg["programme"]
    reader = {k: kwargs.pop(k) for k in _READER_KEYS if k in kwargs}
    privacy = cfg["privacy"]
    label_maps = {**cfg.get("labels", {}), **check_label_maps(labels)}
    problems: _Problems = []
    sources = _read_all(cfg, columns, reader, problems, items=check_items_spec(items))
    pseudo = bool(pseudonymise or privacy.get("pseudonymise", False))
    allow = bool(allow_identifiers or privacy.get("allow_identifiers", False) or pseudo)
    door: Pseudonymised | None = None
    if pseudo:
        door = _at_the_door(sources, cfg, salt, same_person, not_same)
        sources = door.frames
        problems = [(cls, _hide_row_dump(door.scrub_problem(pr))) for cls, pr in problems]
    opts = {"timepoints": prog.get("timepoints"), "instruments": prog.get("instruments"),
            "cutoff": prog.get("cutoff"), "dayfirst": reader.get("dayfirst", prog.get("dayfirst")),
            "unenrolled": prog.get("unenrolled", "error"), "timepoint_aliases": prog.get("timepoint_aliases")}
    opts.update(kwargs)
    today = today if today is not None else prog.get("today")
    name = prog.get("name") or (p.stem if p.is_file() else p.resolve().name)
    tables: dict[str, Any] = {t: (f if len(f) > 1 else f[0]) for t, f in sources.items()}
    files = {key: [str(s["path"]) for s in specs] for key, specs in cfg["files"].items()}
    extra_meta: dict[str, Any] = {}
    if door is not None:
        extra_meta = {"pseudonymised": True, "near_duplicates": door.near_duplicates,
                      "n_key_spellings": door.n_spellings}
    failure: GroupevalError | None = None
    try:
        return validate(**tables, today=today, allow_identifiers=allow, source=str(p), programme=name,
                        labels=label_maps, _problems=problems, _files=files, _stacklevel=3,
                        _quality=None if door is None else door.quality, _meta=extra_meta, **opts)
    except GroupevalError as err:
        if door is None:
            raise
        failure = err
    # outside the except block: the new error carries no reference to the one with raw names
    cleaned = type(failure)(door.scrub(failure.message), [door.scrub_problem(pr) for pr in failure.problems])
    cleaned.quality = failure.quality
    del failure
    raise cleaned


def _at_the_door(sources: dict[str, list[SourceTable]], cfg: Mapping[str, Any], salt: str | None,
                 same_person: Sequence[Sequence[str]] | None,
                 not_same: Sequence[Sequence[str]] | None) -> Pseudonymised:
    """Member keys of every file -> salted pseudonyms (see :mod:`.identities`), with a warning on look-alikes."""
    from ..base.pseudonyms import resolve_salt

    privacy = cfg["privacy"]
    secret = resolve_salt(salt, directory=cfg["base"], salt_file=privacy.get("salt_file"))
    door = pseudonymise_frames(
        sources, salt=secret,
        same_person=[*privacy.get("same_person", []), *check_groups(same_person, "same_person=")],
        not_same=[*privacy.get("not_same", []), *check_groups(not_same, "not_same=")])
    if len(door.near_duplicates):
        warnings.warn(f"{len(door.near_duplicates)} pair(s) of member keys look alike but are kept as different "
                      "people; confirm them (dataset.meta['near_duplicates'], [privacy] same_person / not_same)",
                      DataQualityWarning, stacklevel=3)
    return door


def _hide_row_dump(p: Problem) -> Problem:
    """A reader's problem whose value is a whole raw row (it may hold names) keeps its place, not its text."""
    if isinstance(p.value, str) and "fields but the header has" in p.reason:
        return Problem(p.file, p.row, p.column, "(row hidden: pseudonymise=True)", p.reason, p.fix)
    return p


_Input: TypeAlias = pd.DataFrame | SourceTable | Sequence[pd.DataFrame | SourceTable] | None


def _answer_labels(responses: _Input, names: Sequence[str], labels: Mapping[str, Mapping[str, int]] | None,
                   ranges: Mapping[str, tuple[float, float]],
                   problems: _Problems) -> tuple[_Input, pd.DataFrame | None]:
    """Answer labels in the item columns -> codes (:mod:`.labels`); the problems go to ``problems``."""
    if responses is None:
        return None, None
    from ..base import instruments as _registry

    many = isinstance(responses, (list, tuple))
    frames = list(responses) if isinstance(responses, (list, tuple)) else [responses]
    converted, label_problems, quality = code_answer_labels(
        frames, instruments={n: _registry.get(n) for n in names}, labels=check_label_maps(labels),
        item_ranges=ranges)
    problems.extend(label_problems)
    return (converted if many else converted[0]), quality


def _response_columns(responses: _Input) -> list[str]:
    frames: list[Any] = [] if responses is None else (
        list(responses) if isinstance(responses, (list, tuple)) else [responses])
    cols: list[str] = []
    for f in frames:
        table = f.table if isinstance(f, SourceTable) else f
        if isinstance(table, pd.DataFrame):
            cols += [normalise_column_name(c) for c in table.columns]
    return cols


def _instruments(instruments: Iterable[str] | None, resp_cols: list[str], has_responses: bool,
                 problems: _Problems) -> tuple[tuple[str, ...], list[str]]:
    """(instrument names, warnings): listed instruments must have every item column; detected ones are flagged."""
    from ..base import instruments as _registry

    avail = _registry.available()
    if instruments is None:
        # the registry is only needed when there are survey columns to match
        names = tuple(n for n in avail if item_columns(resp_cols, n)) if resp_cols else ()
        listed = False
    else:
        names = tuple(instruments) if not isinstance(instruments, str) else (instruments,)
        unknown = [n for n in names if n not in avail]
        if unknown:
            raise ConfigError(f"unknown instrument(s) {unknown}; available: {', '.join(avail)}")
        listed = True
    flagged: list[str] = []
    if not has_responses:
        return names, flagged
    for n in names:
        want = [f"{n}_{i}" for i in range(1, _registry.get(n).n_items + 1)]
        missing = [c for c in want if c not in resp_cols]
        if listed and missing:
            found = item_columns(resp_cols, n)
            problems.append((SchemaError, Problem(
                "responses", None, ", ".join(missing[:10]), None,
                f"instrument {n} is listed but the survey data lack item column(s) {', '.join(missing[:10])}"
                + (f" (found {', '.join(found[:10])})" if found else ""),
                f"map the item columns to {n}_<item number> with columns=, or remove the instrument from the "
                "list")))
        elif missing:
            flagged.append(f"instrument {n}: item column(s) {', '.join(missing[:10])} missing from the survey data "
                           "(scores need every item, or the missing-item rule of the instrument)")
    return names, flagged


def validate(groups: _Input = None, members: _Input = None, sessions: _Input = None, attendance: _Input = None,
             responses: _Input = None, *,
             timepoints: Sequence[str] | None = None, instruments: Iterable[str] | None = None,
             cutoff: Any = None, today: Any = None, allow_identifiers: bool = False,
             source: str | None = None, programme: str | None = None,
             item_ranges: Mapping[str, tuple[float, float]] | None = None, unenrolled: str = "error",
             dayfirst: bool | None = None, timepoint_aliases: Mapping[str, str] | None = None,
             labels: Mapping[str, Mapping[str, int]] | None = None,
             _problems: Sequence[tuple[type[GroupevalError], Problem]] = (), _files: Mapping[str, Any] | None = None,
             _stacklevel: int = 2, _quality: pd.DataFrame | None = None,
             _meta: Mapping[str, Any] | None = None) -> Dataset:
    """Validate in-memory tables and return a :class:`Dataset`.

    Parameters
    ----------
    groups, members, sessions, attendance, responses
        Canonical tables (docs/design.md) as DataFrames or as the readers'
        :class:`~groupeval.io.SourceTable` objects, a list of them (e.g.
        several attendance files), or None.  ``sessions`` is inferred from
        attendance when None (every date a group met); ``members`` from
        attendance when None (enrolled on the first session on record);
        ``groups`` from the group ids used when None (``group_type``
        "unspecified").  Frames from the readers carry
        ``_source_file``/``_source_row`` so problems name the file and the
        spreadsheet row; other frames are named after the table, with row =
        position + 2 (as in a CSV with a header).  An attendance table read
        from a sign-in log gets its absences inferred.
    timepoints
        Survey timepoints in order; unknown ones are errors.  None infers them
        (by median ``completed_on``, then natural order); two spellings that
        both look like the baseline ("pre" beside "Baseline") are then an
        error asking for ``timepoint_aliases`` or ``timepoints``.
    instruments
        Instrument names whose item columns ``<name>_<n>`` are checked against
        the item range; every item column of a listed instrument must be
        present.  None detects them from the columns
        (``groupeval.instruments.available()``; a detected instrument with
        item columns missing is flagged).
    cutoff
        Data cut-off: rows after it are excluded (recorded); stored in
        ``Dataset.cutoff``.
    today
        Dates after it are errors (default: the current date).
    allow_identifiers
        See :func:`load`.
    source, programme
        Stored in ``meta["source"]`` and ``meta["programme"]``.
    item_ranges
        Extra ``{prefix: (min, max)}`` ranges (override the registry's).
    unenrolled
        ``"error"`` (default) or ``"exclude"`` (recorded): attendance or
        responses of a member not enrolled in that group.
    dayfirst
        How to read dates such as ``03/02/2025`` (None: inferred; asked when
        it cannot be told).
    timepoint_aliases
        ``{spelling: timepoint}`` applied to survey timepoints first (each
        renamed row recorded), e.g. ``{"pre": "baseline"}``.
    labels
        Answer labels per instrument or item column (``{"brs": {"Somewhat
        agree": 4}}``).  Item columns answered in words are converted with
        these and the instrument's own labels; every conversion is a
        quality-report line per file, column and label; other words are errors.

    Returns
    -------
    Dataset
        ``meta`` holds ``source``, ``programme``, ``instruments``,
        ``row_counts`` (``{table: {"read", "excluded", "inferred", "kept"}}``).

    Raises
    ------
    IdentifierError, SchemaError, ValidationError, ConfigError
        One error listing every problem found in every table.

    Notes
    -----
    The rules, and which are errors and which are recorded repairs, are listed
    in ``docs/validation.md``.  A :class:`~groupeval.exceptions.DataQualityWarning`
    is issued when rows were excluded or repaired, or an instrument lacks items.
    """
    from ..base import instruments as _registry

    problems = list(_problems)
    names, flagged = _instruments(instruments, _response_columns(responses), responses is not None, problems)
    ranges: dict[str, tuple[float, float]] = {}
    for n in names:
        inst = _registry.get(n)
        ranges[inst.name] = (inst.item_min, inst.item_max)
    ranges.update(dict(item_ranges or {}))
    responses, label_quality = _answer_labels(responses, names, labels, ranges, problems)
    tables = {"groups": groups, "members": members, "sessions": sessions, "attendance": attendance,
              "responses": responses}
    extra = [f for f in (label_quality, _quality) if f is not None and len(f)]
    try:
        result = validate_tables(tables, timepoints=timepoints, item_ranges=ranges, cutoff=cutoff, today=today,
                                 allow_identifiers=allow_identifiers, unenrolled=unenrolled, dayfirst=dayfirst,
                                 timepoint_aliases=timepoint_aliases, extra_problems=problems)
    except GroupevalError as err:  # the repairs made so far go with the error (CLI --quality-csv)
        err.quality = QualityReport.concat([err.quality or QualityReport(), *extra])
        raise
    t = result.tables
    meta: dict[str, Any] = {"source": source, "programme": programme, "instruments": names,
                            "row_counts": result.row_counts}
    if _files:
        meta["files"] = dict(_files)
    meta.update(dict(_meta or {}))
    q = result.quality
    if extra:
        q = QualityReport.concat([q, *extra])
    if flagged:
        q = QualityReport.concat([q, QualityReport.from_records(
            {"file": "responses", "row": None, "column": None, "value": None, "reason": f, "action": "flagged"}
            for f in flagged)])
        warnings.warn("; ".join(flagged), DataQualityWarning, stacklevel=_stacklevel)
    n_ex = q.n_excluded
    n_rep = int((q.entries["action"] == "repaired").sum()) if len(q) else 0
    if n_ex or n_rep:
        warnings.warn(f"{sum(c['excluded'] for c in result.row_counts.values())} row(s) excluded and {n_rep} "
                      "repaired during validation; see dataset.quality.to_frame()",
                      DataQualityWarning, stacklevel=_stacklevel)
    return Dataset(groups=t["groups"], members=t["members"], sessions=t["sessions"], attendance=t["attendance"],
                   responses=t["responses"], quality=q, timepoints=result.timepoints,
                   cutoff=None if cutoff is None else pd.Timestamp(cutoff).normalize(), meta=meta)
