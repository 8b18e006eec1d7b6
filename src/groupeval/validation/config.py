"""The groupeval configuration: a TOML file (or the same structure as a dict), checked key by key.

:func:`read_config` returns a normalised dict; every bad key, type or value
is collected and raised at once as a :class:`~groupeval.ConfigError` naming
the allowed keys or values.  :func:`discover` builds the same structure for
a folder without a TOML file (files found by name).
"""
from __future__ import annotations

import datetime as _dt
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..base.exceptions import ConfigError, GroupevalError, Problem, ReadError
from ._state import raise_problems

__all__ = ["read_config", "discover", "merge_config", "CONFIG_NAME", "FILE_STEMS", "DATA_SUFFIXES", "FILE_KEYS"]

#: name of the configuration file ``load(folder)`` uses when the folder holds one.
CONFIG_NAME = "groupeval.toml"
#: file stems ``load(folder)`` looks for, per config key (``surveys`` feeds the ``responses`` table).
FILE_STEMS = {"groups": ("groups",), "members": ("members",), "sessions": ("sessions",),
              "attendance": ("attendance",), "surveys": ("surveys", "survey", "responses")}
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")
FILE_KEYS = tuple(FILE_STEMS)
_ATT_FORMATS = ("auto", "roster", "signin", "wide")
_SURVEY_FORMATS = ("auto", "wide", "redcap", "qualtrics")
_BLANK = ("absent", "not_scheduled")
_COMMON_FILE_KEYS = {"path", "columns", "sheet"}
_EXTRA_FILE_KEYS = {"attendance": {"format", "blank", "group", "dayfirst"},
                    "surveys": {"format", "dictionary", "events", "timepoint", "dayfirst", "repeat_timepoints",
                                "items"}}
_PROGRAMME_KEYS = ("name", "timepoints", "instruments", "cutoff", "dayfirst", "unenrolled", "today",
                   "timepoint_aliases")
_TOP_KEYS = ("programme", "files", "privacy", "labels")
_PRIVACY_KEYS = ("allow_identifiers", "pseudonymise", "salt_file", "same_person", "not_same")

_Problems = list[tuple[type[GroupevalError], Problem]]


def _cfg_problem(problems: _Problems, where: str, key: str, value: object, reason: str, fix: str) -> None:
    problems.append((ConfigError, Problem(where, None, key, value, reason, fix)))


def _is_date_text(v: object) -> bool:
    if isinstance(v, (_dt.date, _dt.datetime)):
        return True
    try:
        pd.Timestamp(str(v))
        return bool(re.match(r"^\d{4}-\d{2}-\d{2}", str(v)))
    except (ValueError, TypeError):
        return False


def _load_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist",
                          [Problem(str(path), None, None, None, "file not found",
                                   "check the path (it is relative to the current folder)")])
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path.name} is not valid TOML: {err}",
                          [Problem(path.name, None, None, None, f"TOML syntax error: {err}",
                                   "fix the line shown (strings need double quotes, tables [like.this])")]) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name} is not UTF-8 text; save it as UTF-8") from None


def _name_map(value: object) -> bool:
    return isinstance(value, Mapping) and all(isinstance(a, str) and isinstance(b, str) for a, b in value.items())


def _check_instruments(problems: _Problems, where: str, inst: object) -> None:
    from ..base import instruments as _instruments

    avail = _instruments.available()
    if not isinstance(inst, list) or not all(isinstance(i, str) for i in inst):
        _cfg_problem(problems, where, "programme.instruments", inst, "must be a list of instrument names",
                     f"choose from: {', '.join(avail)}")
        return
    for i in inst:
        if i not in avail:
            _cfg_problem(problems, where, "programme.instruments", i, "unknown instrument",
                         f"choose from: {', '.join(avail)} (or register your own first)")


def _check_programme(problems: _Problems, where: str, prog: Mapping[str, Any]) -> None:
    for k in prog:
        if k not in _PROGRAMME_KEYS:
            _cfg_problem(problems, where, f"programme.{k}", None, "unknown key",
                         f"allowed keys in [programme]: {', '.join(_PROGRAMME_KEYS)}")
    if "name" in prog and not isinstance(prog["name"], str):
        _cfg_problem(problems, where, "programme.name", prog["name"], "must be a string", 'name = "My programme"')
    tps = prog.get("timepoints")
    if tps is not None and (not isinstance(tps, list) or not tps
                            or not all(isinstance(t, str) and t.strip() for t in tps)
                            or len({t.strip().casefold() for t in tps}) != len(tps)):
        _cfg_problem(problems, where, "programme.timepoints", tps, "must be a non-empty list of distinct names, in "
                     "order", 'timepoints = ["baseline", "week_12", "week_26"]')
    if prog.get("instruments") is not None:
        _check_instruments(problems, where, prog["instruments"])
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
    if "timepoint_aliases" in prog and not _name_map(prog["timepoint_aliases"]):
        _cfg_problem(problems, where, "programme.timepoint_aliases", prog["timepoint_aliases"],
                     "must map spellings to timepoints", 'timepoint_aliases = { pre = "baseline" }')


def _check_privacy(problems: _Problems, where: str, privacy: dict[str, Any], base: Path) -> None:
    """``[privacy]``: the identifier guard and pseudonymisation (salt file made absolute, groups checked)."""
    from .identities import check_groups

    for k, v in list(privacy.items()):
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
                privacy[k] = Path(v) if Path(v).is_absolute() else (base / v).resolve()
        elif k in ("same_person", "not_same"):
            try:
                privacy[k] = check_groups(v, f"[privacy] {k}")
            except ConfigError as err:
                _cfg_problem(problems, where, f"privacy.{k}", None, err.message,
                             f'{k} = [["P-1a2b3c4d5e", "P-9f8e7d6c5b"]]')


def _check_labels(problems: _Problems, where: str, data: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """``[labels.<instrument or item column>]``: answer label = code."""
    from .labels import check_label_maps

    try:
        return check_label_maps(data.get("labels"), "[labels]")
    except ConfigError as err:
        problems.extend((ConfigError, Problem(where, None, f"labels.{p.column}", p.value, p.reason, p.fix))
                        for p in err.problems)
        return {}


def _check_repeat(problems: _Problems, where: str, label: str, spec: object) -> None:
    ok = (isinstance(spec, str) and "{instance}" in spec) or (
        isinstance(spec, Mapping) and bool(spec) and all(str(k).strip().isdigit() and isinstance(v, str)
                                                         for k, v in spec.items()))
    if not ok:
        _cfg_problem(problems, where, f"{label}.repeat_timepoints", spec,
                     "must map repeat instance numbers to timepoints, or be a template with {instance}",
                     'repeat_timepoints = { 1 = "baseline", 2 = "week_12" }  or  repeat_timepoints = '
                     '"visit_{instance}"')


def _check_file_values(problems: _Problems, where: str, key: str, label: str, fs: Mapping[str, Any]) -> None:
    for mk in ("columns", "events"):
        if mk in fs and not _name_map(fs[mk]):
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
        _cfg_problem(problems, where, f"{label}.dayfirst", fs["dayfirst"], "must be true or false", "dayfirst = true")
    for sk in ("sheet", "group", "dictionary", "timepoint"):
        if sk in fs and not isinstance(fs[sk], str):
            _cfg_problem(problems, where, f"{label}.{sk}", fs[sk], "must be a string", f'{sk} = "..."')
    if "repeat_timepoints" in fs:
        _check_repeat(problems, where, label, fs["repeat_timepoints"])
    if "items" in fs:
        from .forms import check_items_spec

        try:
            check_items_spec(fs["items"], f"[{label}] items")
        except ConfigError as err:
            problems.extend((ConfigError, Problem(where, None, f"{label}.items.{p.column}", p.value, p.reason,
                                                  p.fix)) for p in err.problems)


def _file_spec(problems: _Problems, where: str, key: str, label: str, fs: object,
               base: Path) -> dict[str, Any] | None:
    """One ``[files.<kind>]`` table checked; paths made absolute (relative to the TOML file)."""
    if not isinstance(fs, Mapping):
        _cfg_problem(problems, where, label, fs, "must be a table with at least path = ...",
                     f'[files.{key}]\npath = "{key}.csv"')
        return None
    allowed = _COMMON_FILE_KEYS | _EXTRA_FILE_KEYS.get(key, set())
    for k in fs:
        if k not in allowed:
            _cfg_problem(problems, where, f"{label}.{k}", None, "unknown key",
                         f"allowed keys in [{label}]: {', '.join(sorted(allowed))}")
    if not isinstance(fs.get("path"), str) or not fs.get("path"):
        _cfg_problem(problems, where, f"{label}.path", fs.get("path"), "missing or not a string",
                     f'path = "{key}.csv"  (relative to the TOML file)')
        return None
    _check_file_values(problems, where, key, label, fs)
    item = dict(fs)
    item["path"] = (base / fs["path"]).resolve() if not Path(fs["path"]).is_absolute() else Path(fs["path"])
    if isinstance(fs.get("dictionary"), str):
        d = Path(fs["dictionary"])
        item["dictionary"] = d if d.is_absolute() else (base / d).resolve()
    return item


def _check_files(problems: _Problems, where: str, files_in: object, base: Path) -> dict[str, list[dict[str, Any]]]:
    files: dict[str, list[dict[str, Any]]] = {}
    if not isinstance(files_in, Mapping):
        _cfg_problem(problems, where, "files", files_in, "[files] must hold tables such as [files.members]",
                     '[files.members]\npath = "members.csv"')
        return files
    for key, spec in files_in.items():
        if key not in FILE_KEYS:
            _cfg_problem(problems, where, f"files.{key}", None, "unknown file kind",
                         f"use [files.<kind>] with kind one of: {', '.join(FILE_KEYS)}")
            continue
        specs = spec if isinstance(spec, list) else [spec]
        out = []
        for n, fs in enumerate(specs):
            label = f"files.{key}" + (f"[{n}]" if isinstance(spec, list) else "")
            item = _file_spec(problems, where, key, label, fs, base)
            if item is not None:
                out.append(item)
        files[key] = out
    return files


def _table(problems: _Problems, where: str, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {}) or {}
    if not isinstance(value, Mapping):
        _cfg_problem(problems, where, key, value, f"[{key}] must be a table", f"write [{key}]")
        return {}
    return dict(value)


def read_config(config: Mapping[str, Any] | str | Path, *, base: Path | None = None) -> dict[str, Any]:
    """Parse and check a groupeval configuration (a TOML file or the same structure as a dict).

    Returns a normalised dict: ``{"programme": {...}, "files": {key: [filespec, ...]},
    "privacy": {...}, "labels": {...}, "base": Path, "where": str}`` with file
    paths made absolute (relative paths are relative to the TOML file).

    Raises
    ------
    ConfigError
        Listing every bad key with the allowed keys or values.
    """
    where = "configuration"
    if isinstance(config, (str, Path)):
        path = Path(config)
        where = path.name
        data = _load_toml(path)
        base = path.parent if base is None else base
    elif isinstance(config, Mapping):
        data = dict(config)
    else:
        raise ConfigError(f"config must be a path to a TOML file or a dict, got {type(config).__name__}")
    base = Path(base) if base is not None else Path.cwd()
    problems: _Problems = []
    for k in data:
        if k not in _TOP_KEYS:
            _cfg_problem(problems, where, k, None, f"unknown top-level key [{k}]",
                         f"use only {', '.join('[' + t + ']' for t in _TOP_KEYS)}")
    prog = _table(problems, where, data, "programme")
    _check_programme(problems, where, prog)
    privacy = _table(problems, where, data, "privacy")
    _check_privacy(problems, where, privacy, base)
    labels = _check_labels(problems, where, data)
    files = _check_files(problems, where, data.get("files", {}) or {}, base)
    raise_problems(problems, f"The configuration {where} has problems")
    return {"programme": prog, "files": files, "privacy": privacy, "labels": labels, "base": base, "where": where}


def discover(folder: Path) -> dict[str, Any]:
    """Config for a folder without a TOML: files found by stem."""
    files: dict[str, list[dict[str, Any]]] = {}
    problems: _Problems = []
    data_files = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
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
                                 f"(extensions {', '.join(DATA_SUFFIXES)})",
                                 "rename the files, or write a groupeval.toml that names them")])
    raise_problems(problems, f"The folder {folder} is ambiguous")
    return {"programme": {}, "files": files, "privacy": {}, "labels": {}, "base": folder, "where": str(folder)}


def merge_config(cfg: dict[str, Any], extra: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    more = read_config(extra, base=cfg["base"])
    cfg = dict(cfg)
    cfg["programme"] = {**cfg["programme"], **more["programme"]}
    cfg["privacy"] = {**cfg["privacy"], **more["privacy"]}
    cfg["labels"] = {**cfg.get("labels", {}), **more.get("labels", {})}
    cfg["files"] = {**cfg["files"], **more["files"]}
    return cfg
