"""``groupeval.load`` and ``groupeval.validate``: files or frames -> a validated :class:`Dataset`.

``load`` reads a programme folder (files found by name: ``groups.*``,
``members.*``, ``sessions.*``, ``attendance.*``, ``surveys.*``) or a TOML
configuration naming the files, their shapes and column renames, with the
readers of :mod:`groupeval.io`, then calls :func:`validate`.  ``validate``
checks in-memory tables with the rules of :mod:`groupeval.validation` and
looks up item ranges in the instrument registry, which is why this module
sits in the scoring layer of the architecture.  See ``docs/validation.md``.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io as _stdio
import re
import tomllib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..base.dataset import Dataset, QualityReport
from ..base.exceptions import ConfigError, DataQualityWarning, GroupevalError, Problem, ReadError, SchemaError
from .checks import item_columns, normalise_column_name, raise_problems, validate_tables
from .forms import check_items_spec, item_columns_by_position
from .identities import check_groups, pseudonymise_frames
from .labels import check_label_maps, code_answer_labels

__all__ = ["load", "validate", "read_config", "CONFIG_NAME", "FILE_STEMS"]

#: name of the configuration file ``load(folder)`` uses when the folder holds one.
CONFIG_NAME = "groupeval.toml"
#: file stems ``load(folder)`` looks for, per config key (``surveys`` feeds the ``responses`` table).
FILE_STEMS = {"groups": ("groups",), "members": ("members",), "sessions": ("sessions",),
              "attendance": ("attendance",), "surveys": ("surveys", "survey", "responses")}
_DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")
_FILE_KEYS = tuple(FILE_STEMS)
_TABLE_OF = {"groups": "groups", "members": "members", "sessions": "sessions", "attendance": "attendance",
             "surveys": "responses"}
_ATT_FORMATS = ("auto", "roster", "signin", "wide")
_SURVEY_FORMATS = ("auto", "wide", "redcap", "qualtrics")
_BLANK = ("absent", "not_scheduled")
_COMMON_FILE_KEYS = {"path", "columns", "sheet"}
_EXTRA_FILE_KEYS = {"attendance": {"format", "blank", "group", "dayfirst"},
                    "surveys": {"format", "dictionary", "events", "items", "timepoint", "dayfirst"}}
_PROGRAMME_KEYS = ("name", "timepoints", "instruments", "cutoff", "dayfirst", "unenrolled", "today")
_TOP_KEYS = ("programme", "files", "privacy", "labels")
_PRIVACY_KEYS = ("allow_identifiers", "pseudonymise", "salt_file", "same_person", "not_same")


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------
def _cfg_problem(problems: list, where: str, key: str, value: object, reason: str, fix: str) -> None:
    problems.append((ConfigError, Problem(where, None, key, value, reason, fix)))


def _is_date_text(v: object) -> bool:
    if isinstance(v, (_dt.date, _dt.datetime)):
        return True
    try:
        pd.Timestamp(str(v))
        return bool(re.match(r"^\d{4}-\d{2}-\d{2}", str(v)))
    except (ValueError, TypeError):
        return False


def read_config(config: Mapping[str, Any] | str | Path, *, base: Path | None = None) -> dict[str, Any]:
    """Parse and check a groupeval configuration (a TOML file or the same structure as a dict).

    Returns a normalised dict: ``{"programme": {...}, "files": {key: [filespec, ...]},
    "privacy": {...}, "base": Path, "name": str}`` with file paths made
    absolute (relative paths are relative to the TOML file).

    Raises
    ------
    ConfigError
        Listing every bad key with the allowed keys or values.
    """
    where = "configuration"
    if isinstance(config, (str, Path)):
        path = Path(config)
        where = path.name
        if not path.is_file():
            raise ConfigError(f"configuration file {path} does not exist",
                              [Problem(str(path), None, None, None, "file not found",
                                       "check the path (it is relative to the current folder)")])
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path.name} is not valid TOML: {err}",
                              [Problem(path.name, None, None, None, f"TOML syntax error: {err}",
                                       "fix the line shown (strings need double quotes, tables [like.this])")]
                              ) from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path.name} is not UTF-8 text; save it as UTF-8") from None
        base = path.parent if base is None else base
    elif isinstance(config, Mapping):
        data = dict(config)
    else:
        raise ConfigError(f"config must be a path to a TOML file or a dict, got {type(config).__name__}")
    base = Path(base) if base is not None else Path.cwd()
    problems: list = []
    for k in data:
        if k not in _TOP_KEYS:
            _cfg_problem(problems, where, k, None, f"unknown top-level key [{k}]",
                         f"use only {', '.join('[' + t + ']' for t in _TOP_KEYS)}")
    prog = data.get("programme", {}) or {}
    if not isinstance(prog, Mapping):
        _cfg_problem(problems, where, "programme", prog, "[programme] must be a table", "write [programme]")
        prog = {}
    for k in prog:
        if k not in _PROGRAMME_KEYS:
            _cfg_problem(problems, where, f"programme.{k}", None, "unknown key",
                         f"allowed keys in [programme]: {', '.join(_PROGRAMME_KEYS)}")
    if "name" in prog and not isinstance(prog["name"], str):
        _cfg_problem(problems, where, "programme.name", prog["name"], "must be a string", 'name = "My programme"')
    tps = prog.get("timepoints")
    if tps is not None:
        if (not isinstance(tps, list) or not tps or not all(isinstance(t, str) and t.strip() for t in tps)
                or len({t.strip().casefold() for t in tps}) != len(tps)):
            _cfg_problem(problems, where, "programme.timepoints", tps,
                         "must be a non-empty list of distinct names, in order",
                         'timepoints = ["baseline", "week_12", "week_26"]')
    inst = prog.get("instruments")
    if inst is not None:
        from ..base import instruments as _instruments

        avail = _instruments.available()
        if not isinstance(inst, list) or not all(isinstance(i, str) for i in inst):
            _cfg_problem(problems, where, "programme.instruments", inst, "must be a list of instrument names",
                         f"choose from: {', '.join(avail)}")
        else:
            for i in inst:
                if i not in avail:
                    _cfg_problem(problems, where, "programme.instruments", i, "unknown instrument",
                                 f"choose from: {', '.join(avail)} (or register your own first)")
    for key in ("cutoff", "today"):
        if key in prog and not _is_date_text(prog[key]):
            _cfg_problem(problems, where, f"programme.{key}", prog[key], "must be a date",
                         f'{key} = "2025-09-30" (YYYY-MM-DD)')
    if "dayfirst" in prog and not isinstance(prog["dayfirst"], bool):
        _cfg_problem(problems, where, "programme.dayfirst", prog["dayfirst"], "must be true or false",
                     "dayfirst = true  (03/02/2025 = 3 February)")
    if "unenrolled" in prog and prog["unenrolled"] not in ("error", "exclude"):
        _cfg_problem(problems, where, "programme.unenrolled", prog["unenrolled"], "must be one of error, exclude",
                     'unenrolled = "exclude"')
    privacy = data.get("privacy", {}) or {}
    if not isinstance(privacy, Mapping):
        _cfg_problem(problems, where, "privacy", privacy, "[privacy] must be a table", "write [privacy]")
        privacy = {}
    privacy = dict(privacy)
    for k, v in privacy.items():
        if k not in _PRIVACY_KEYS:
            _cfg_problem(problems, where, f"privacy.{k}", None, "unknown key",
                         f"allowed keys in [privacy]: {', '.join(_PRIVACY_KEYS)}")
        elif k in ("allow_identifiers", "pseudonymise") and not isinstance(v, bool):
            _cfg_problem(problems, where, f"privacy.{k}", v, "must be true or false", f"{k} = true")
        elif k == "salt_file":
            if not isinstance(v, str) or not v.strip():
                _cfg_problem(problems, where, "privacy.salt_file", v, "must be a path (text)",
                             'salt_file = "../private/.groupeval_salt"  (relative to the TOML file)')
            else:
                sf = Path(v)
                privacy[k] = sf if sf.is_absolute() else (base / sf).resolve()
        elif k in ("same_person", "not_same"):
            try:
                privacy[k] = check_groups(v, f"[privacy] {k}")
            except ConfigError as err:
                _cfg_problem(problems, where, f"privacy.{k}", None, err.message,
                             f'{k} = [["P-1a2b3c4d5e", "P-9f8e7d6c5b"]]')
    labels_cfg: dict[str, dict[str, int]] = {}
    try:
        labels_cfg = check_label_maps(data.get("labels"), "[labels]")
    except ConfigError as err:
        problems.extend((ConfigError, Problem(where, None, f"labels.{p.column}", p.value, p.reason, p.fix))
                        for p in err.problems)
    files_in = data.get("files", {}) or {}
    files: dict[str, list[dict[str, Any]]] = {}
    if not isinstance(files_in, Mapping):
        _cfg_problem(problems, where, "files", files_in, "[files] must hold tables such as [files.members]",
                     '[files.members]\npath = "members.csv"')
        files_in = {}
    for key, spec in files_in.items():
        if key not in _FILE_KEYS:
            _cfg_problem(problems, where, f"files.{key}", None, "unknown file kind",
                         f"use [files.<kind>] with kind one of: {', '.join(_FILE_KEYS)}")
            continue
        specs = spec if isinstance(spec, list) else [spec]
        out = []
        for n, fs in enumerate(specs):
            label = f"files.{key}" + (f"[{n}]" if isinstance(spec, list) else "")
            if not isinstance(fs, Mapping):
                _cfg_problem(problems, where, label, fs, "must be a table with at least path = ...",
                             f'[files.{key}]\npath = "{key}.csv"')
                continue
            allowed = _COMMON_FILE_KEYS | _EXTRA_FILE_KEYS.get(key, set())
            for k in fs:
                if k not in allowed:
                    _cfg_problem(problems, where, f"{label}.{k}", None, "unknown key",
                                 f"allowed keys in [{label}]: {', '.join(sorted(allowed))}")
            if not isinstance(fs.get("path"), str) or not fs.get("path"):
                _cfg_problem(problems, where, f"{label}.path", fs.get("path"), "missing or not a string",
                             f'path = "{key}.csv"  (relative to the TOML file)')
                continue
            for mk in ("columns", "events"):
                if mk in fs and (not isinstance(fs[mk], Mapping) or
                                 not all(isinstance(a, str) and isinstance(b, str) for a, b in fs[mk].items())):
                    _cfg_problem(problems, where, f"{label}.{mk}", fs[mk], "must map names to names",
                                 f'{mk} = {{ "Raw name" = "canonical_name" }}')
            fmt_allowed = _ATT_FORMATS if key == "attendance" else _SURVEY_FORMATS if key == "surveys" else None
            if "format" in fs and fmt_allowed and fs["format"] not in fmt_allowed:
                _cfg_problem(problems, where, f"{label}.format", fs["format"], "unknown format",
                             f"format must be one of: {', '.join(fmt_allowed)}")
            if "blank" in fs and fs["blank"] not in _BLANK:
                _cfg_problem(problems, where, f"{label}.blank", fs["blank"], "unknown blank rule",
                             f"blank must be one of: {', '.join(_BLANK)}")
            if "dayfirst" in fs and not isinstance(fs["dayfirst"], bool):
                _cfg_problem(problems, where, f"{label}.dayfirst", fs["dayfirst"], "must be true or false",
                             "dayfirst = true")
            if "items" in fs:
                try:
                    check_items_spec(fs["items"], f"[{label}] items")
                except ConfigError as err:
                    problems.extend((ConfigError, Problem(where, None, f"{label}.items.{p.column}", p.value,
                                                          p.reason, p.fix)) for p in err.problems)
            for sk in ("sheet", "group", "dictionary", "timepoint"):
                if sk in fs and not isinstance(fs[sk], str):
                    _cfg_problem(problems, where, f"{label}.{sk}", fs[sk], "must be a string", f'{sk} = "..."')
            item = dict(fs)
            item["path"] = (base / fs["path"]).resolve() if not Path(fs["path"]).is_absolute() else Path(fs["path"])
            if isinstance(fs.get("dictionary"), str):
                d = Path(fs["dictionary"])
                item["dictionary"] = d if d.is_absolute() else (base / d).resolve()
            out.append(item)
        files[key] = out
    raise_problems(problems, f"The configuration {where} has problems")
    return {"programme": dict(prog), "files": files, "privacy": dict(privacy), "labels": labels_cfg, "base": base,
            "where": where}


def _discover(folder: Path) -> dict[str, Any]:
    """Config for a folder without a TOML: files found by stem."""
    files: dict[str, list[dict[str, Any]]] = {}
    problems: list = []
    data_files = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in _DATA_SUFFIXES
                  and not p.name.startswith(("~$", "."))]
    for key, stems in FILE_STEMS.items():
        found = [p for p in data_files if p.stem.lower() in stems]
        if len(found) > 1:
            problems.append((ConfigError, Problem(str(folder), None, key, ", ".join(p.name for p in found),
                                                  f"several files could be the {key} file",
                                                  "keep one, or name the files in a groupeval.toml")))
        elif found:
            spec: dict[str, Any] = {"path": found[0]}
            if key == "surveys":
                dicts = [p for p in data_files if "dictionary" in p.stem.lower()]
                if len(dicts) == 1:
                    spec["dictionary"] = dicts[0]
            files[key] = [spec]
    if not files and not problems:
        raise ReadError(f"no programme files found in {folder}",
                        [Problem(str(folder), None, None, None,
                                 "no file named groups.*, members.*, sessions.*, attendance.* or surveys.* "
                                 f"(extensions {', '.join(_DATA_SUFFIXES)})",
                                 "rename the files, or write a groupeval.toml that names them")])
    raise_problems(problems, f"The folder {folder} is ambiguous")
    return {"programme": {}, "files": files, "privacy": {}, "labels": {}, "base": folder, "where": str(folder)}


def _merge_config(cfg: dict[str, Any], extra: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    more = read_config(extra, base=cfg["base"])
    cfg = dict(cfg)
    cfg["programme"] = {**cfg["programme"], **more["programme"]}
    cfg["privacy"] = {**cfg["privacy"], **more["privacy"]}
    cfg["labels"] = {**cfg.get("labels", {}), **more.get("labels", {})}
    cfg["files"] = {**cfg["files"], **more["files"]}
    return cfg


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------
def _peek_header(path: Path) -> list[str] | None:
    """Column names of a file's first row (cheap; None when it cannot be told)."""
    try:
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix in (".xlsx", ".xlsm"):
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True)
            names: list[str] = []
            for ws in wb.worksheets:
                for row in ws.iter_rows(max_row=1, values_only=True):
                    names += [str(v) for v in row if v is not None]
            wb.close()
            return names
        raw = path.read_bytes()[:65536]
        for enc in ("utf-8-sig", "cp1252"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        delim = max(",;\t|", key=first.count)
        return next(csv.reader(_stdio.StringIO(first), delimiter=delim))
    except Exception:  # pragma: no cover - the reader reports the real problem
        return None


def _columns_for(path: Path, flat: Mapping[str, str]) -> dict[str, str]:
    """The part of a flat ``columns=`` mapping that names columns present in ``path``."""
    header = _peek_header(path)
    if header is None:
        return dict(flat)
    names = {h.strip() for h in header}
    squashed = {re.sub(r"\s+", "", h).casefold() for h in header}
    return {k: v for k, v in flat.items() if k.strip() in names or re.sub(r"\s+", "", k).casefold() in squashed}


def _split_columns(columns: Mapping[str, Any] | None) -> tuple[dict[str, dict], dict[str, str]]:
    if not columns:
        return {}, {}
    if not isinstance(columns, Mapping):
        raise ConfigError(f"columns= must be a dict such as {{'Participant ID': 'member_id'}}, got "
                          f"{type(columns).__name__}")
    per = {k: dict(v) for k, v in columns.items() if isinstance(v, Mapping)}
    bad = [k for k in per if k not in _FILE_KEYS and k != "responses"]
    if bad:
        raise ConfigError(f"columns= has per-file mappings for unknown kinds {bad}; use {', '.join(_FILE_KEYS)}")
    if "responses" in per:
        per["surveys"] = {**per.pop("responses"), **per.get("surveys", {})}
    flat = {k: v for k, v in columns.items() if not isinstance(v, Mapping)}
    return per, flat


def _items_columns(path: Path, spec: Mapping[str, Any], items: Mapping[str, list[str]] | None) -> dict[str, str]:
    """``items=`` (the file's own, else the one given to load) as a ``columns=`` mapping."""
    own = spec.get("items")
    chosen = check_items_spec(own) if own is not None else dict(items or {})
    if not chosen:
        return {}
    from ..base import instruments as _instruments

    sizes = {k: _instruments.get(k).n_items for k in chosen if k in _instruments.available()}
    return item_columns_by_position(path, chosen, sheet=spec.get("sheet"), n_items=sizes)


def _read_all(cfg: dict[str, Any], columns: Mapping[str, Any] | None,
              problems: list, items: Mapping[str, list[str]] | None = None) -> dict[str, list[pd.DataFrame]]:
    from .. import io as gio

    per, flat = _split_columns(columns)
    dayfirst_prog = cfg["programme"].get("dayfirst")
    frames: dict[str, list[pd.DataFrame]] = {}
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
            kwargs: dict[str, Any] = {"columns": cols or None}
            if spec.get("sheet") is not None:
                kwargs["sheet"] = spec["sheet"]
            try:
                if key == "attendance":
                    for k in ("group", "blank"):
                        if spec.get(k) is not None:
                            kwargs[k] = spec[k]
                    df_ = spec.get("dayfirst", dayfirst_prog)
                    if df_ is not None:
                        kwargs["dayfirst"] = df_
                    df = gio.read_attendance(path, spec.get("format", "auto"), **kwargs)
                elif key == "surveys":
                    for k in ("dictionary", "events", "timepoint"):
                        if spec.get(k) is not None:
                            kwargs[k] = spec[k]
                    df_ = spec.get("dayfirst", dayfirst_prog)
                    if df_ is not None:
                        kwargs["dayfirst"] = df_
                    # answers in words are kept as text: validation turns answer labels into codes
                    df = gio.read_survey(path, spec.get("format", "auto"), text_items=True, **kwargs)
                else:
                    df = gio.read_table(path, **kwargs)
            except GroupevalError as err:
                if err.problems:
                    problems.extend((type(err), p) for p in err.problems)
                else:
                    problems.append((type(err), Problem(path.name, None, None, None, err.message)))
                continue
            except FileNotFoundError as err:  # pragma: no cover - readers raise ReadError
                problems.append((ReadError, Problem(path.name, None, None, None, f"file not found: {err}",
                                                    "check the path")))
                continue
            frames.setdefault(_TABLE_OF[key], []).append(df)
    return frames


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
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
        it; otherwise its files are found by name: ``groups.*``, ``members.*``,
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
        its quality report, an error message or an output.  Other identifier
        columns are removed as with ``allow_identifiers=True`` (recorded).
        Keys that look alike but were not joined are listed in
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
        Passed to :func:`validate`: ``timepoints``, ``instruments``,
        ``cutoff``, ``unenrolled``, ``dayfirst``, ``item_ranges``.

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
    if not p.exists():
        raise ReadError(f"{p} does not exist", [Problem(str(p), None, None, None, "no such file or folder",
                                                      "check the path (relative to the current folder)")])
    if p.is_dir():
        toml = p / CONFIG_NAME
        cfg = read_config(toml) if toml.is_file() else _discover(p)
    elif p.suffix.lower() == ".toml":
        cfg = read_config(p)
    else:
        raise ConfigError(f"load() needs a folder or a .toml configuration, got the file {p.name}",
                          [Problem(p.name, None, None, None, "a single data file is not a programme",
                                   "use groupeval.read_attendance / read_survey for one file, or give the folder")])
    if config is not None:
        cfg = _merge_config(cfg, config)
    prog = cfg["programme"]
    privacy = cfg["privacy"]
    label_maps = {**cfg.get("labels", {}), **check_label_maps(labels)}
    problems: list = []
    frames = _read_all(cfg, columns, problems, items=check_items_spec(items))
    pseudo = bool(pseudonymise or privacy.get("pseudonymise", False))
    allow = bool(allow_identifiers or privacy.get("allow_identifiers", False) or pseudo)
    extra_quality = None
    door = None
    if pseudo:
        from ..base.pseudonyms import resolve_salt

        secret = resolve_salt(salt, directory=cfg["base"], salt_file=privacy.get("salt_file"))
        door = pseudonymise_frames(
            frames, salt=secret,
            same_person=[*privacy.get("same_person", []), *check_groups(same_person, "same_person=")],
            not_same=[*privacy.get("not_same", []), *check_groups(not_same, "not_same=")])
        frames = door.frames
        problems = [(cls, _hide_row_dump(door.scrub_problem(pr))) for cls, pr in problems]
        extra_quality = door.quality
        if len(door.near_duplicates):
            warnings.warn(f"{len(door.near_duplicates)} pair(s) of member keys look alike but are kept as different "
                          "people; confirm them (dataset.meta['near_duplicates'], [privacy] same_person / not_same)",
                          DataQualityWarning, stacklevel=2)
    opts = {"timepoints": prog.get("timepoints"), "instruments": prog.get("instruments"),
            "cutoff": prog.get("cutoff"), "dayfirst": prog.get("dayfirst"),
            "unenrolled": prog.get("unenrolled", "error")}
    opts.update({k: v for k, v in kwargs.items()})
    today = today if today is not None else prog.get("today")
    name = prog.get("name") or (p.stem if p.is_file() else p.resolve().name)
    tables: dict[str, Any] = {t: (f if len(f) > 1 else f[0]) for t, f in frames.items()}
    files = {key: [str(s["path"]) for s in specs] for key, specs in cfg["files"].items()}
    extra_meta: dict[str, Any] = {}
    if door is not None:
        extra_meta = {"pseudonymised": True, "near_duplicates": door.near_duplicates,
                      "n_key_spellings": door.n_spellings}
    failure: GroupevalError | None = None
    try:
        return validate(**tables, today=today, allow_identifiers=allow, source=str(p), programme=name,
                        labels=label_maps, _problems=problems, _files=files, _stacklevel=3,
                        _quality=extra_quality, _meta=extra_meta, **opts)
    except GroupevalError as err:
        if door is None:
            raise
        failure = err
    # outside the except block: the new error carries no reference to the one with raw names
    cleaned = type(failure)(door.scrub(failure.message), [door.scrub_problem(pr) for pr in failure.problems])
    cleaned.quality = failure.quality
    del failure
    raise cleaned


def _hide_row_dump(p: Problem) -> Problem:
    """A reader's problem whose value is a whole raw row (it may hold names) keeps its place, not its text."""
    if isinstance(p.value, str) and "fields but the header has" in p.reason:
        return Problem(p.file, p.row, p.column, "(row hidden: pseudonymise=True)", p.reason, p.fix)
    return p


def validate(groups: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
             members: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
             sessions: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
             attendance: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
             responses: pd.DataFrame | Sequence[pd.DataFrame] | None = None, *,
             timepoints: Sequence[str] | None = None, instruments: Iterable[str] | None = None,
             cutoff: Any = None, today: Any = None, allow_identifiers: bool = False,
             source: str | None = None, programme: str | None = None,
             item_ranges: Mapping[str, tuple[float, float]] | None = None, unenrolled: str = "error",
             dayfirst: bool | None = None, labels: Mapping[str, Mapping[str, int]] | None = None,
             _problems: Sequence = (), _files: Mapping | None = None, _stacklevel: int = 2,
             _quality: pd.DataFrame | None = None, _meta: Mapping[str, Any] | None = None) -> Dataset:
    """Validate in-memory tables and return a :class:`Dataset`.

    Parameters
    ----------
    groups, members, sessions, attendance, responses
        Canonical tables (docs/design.md), a list of them (e.g. several attendance
        files), or None.  ``sessions`` is inferred from attendance when None
        (every date a group met); ``members`` from attendance when None
        (enrolled on the first session on record); ``groups`` from the group
        ids used when None (``group_type`` unknown).  Frames from the readers
        carry ``_source_file``/``_source_row`` so problems name the file and the
        spreadsheet row; other frames are named after the table, with row =
        position + 2 (as in a CSV with a header).  An attendance frame read
        from a sign-in log (``attrs["groupeval_shape"] == "signin"``) gets its
        absences inferred.
    timepoints
        Survey timepoints in order; unknown ones are errors.  None infers them
        (by median ``completed_on``, then natural order).
    instruments
        Instrument names whose item columns ``<name>_<n>`` are checked against
        the item range.  None detects them from the columns
        (``groupeval.instruments.available()``).
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
    is issued when rows were excluded or repaired.
    """
    from ..base import instruments as _instruments

    problems = list(_problems)
    ranges: dict[str, tuple[float, float]] = {}
    resp_cols: list[str] = []
    resp_frames = [] if responses is None else (list(responses) if isinstance(responses, (list, tuple))
                                                else [responses])
    for f in resp_frames:
        if isinstance(f, pd.DataFrame):
            resp_cols += [normalise_column_name(c) for c in f.columns]
    if instruments is None:
        # the registry is only needed when there are survey columns to match
        names = tuple(n for n in _instruments.available() if item_columns(resp_cols, n)) if resp_cols else ()
    else:
        avail = _instruments.available()
        names = tuple(instruments) if not isinstance(instruments, str) else (instruments,)
        unknown = [n for n in names if n not in avail]
        if unknown:
            raise ConfigError(f"unknown instrument(s) {unknown}; available: {', '.join(avail)}")
        if resp_frames:
            for n in names:
                if not item_columns(resp_cols, n):
                    problems.append((SchemaError, Problem("responses", None, f"{n}_1", None,
                                                          f"instrument {n} is listed but the survey data have no "
                                                          f"item columns {n}_1, {n}_2, ...",
                                                          f"map the item columns to {n}_<item number> with "
                                                          "columns=, or remove the instrument from the list")))
    for n in names:
        inst = _instruments.get(n)
        ranges[inst.name] = (inst.item_min, inst.item_max)
    ranges.update(dict(item_ranges or {}))
    label_quality = None
    if resp_frames:
        label_maps = check_label_maps(labels)
        by_prefix: dict[str, Any] = {n: _instruments.get(n) for n in names}
        converted, label_problems, label_quality = code_answer_labels(
            resp_frames, instruments=by_prefix, labels=label_maps, item_ranges=ranges)
        problems.extend(label_problems)
        responses = converted if isinstance(responses, (list, tuple)) else converted[0]
    tables = {"groups": groups, "members": members, "sessions": sessions, "attendance": attendance,
              "responses": responses}
    extra = [f for f in (label_quality, _quality) if f is not None and len(f)]
    try:
        result = validate_tables(tables, timepoints=timepoints, item_ranges=ranges, cutoff=cutoff, today=today,
                                 allow_identifiers=allow_identifiers, unenrolled=unenrolled, dayfirst=dayfirst,
                                 extra_problems=problems)
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
    n_ex = q.n_excluded
    n_rep = int((q.entries["action"] == "repaired").sum()) if len(q) else 0
    if n_ex or n_rep:
        warnings.warn(f"{sum(c['excluded'] for c in result.row_counts.values())} row(s) excluded and {n_rep} "
                      "repaired during validation; see dataset.quality.to_frame()",
                      DataQualityWarning, stacklevel=_stacklevel)
    return Dataset(groups=t["groups"], members=t["members"], sessions=t["sessions"], attendance=t["attendance"],
                   responses=t["responses"], quality=q, timepoints=result.timepoints,
                   cutoff=None if cutoff is None else pd.Timestamp(cutoff).normalize(), meta=meta)
