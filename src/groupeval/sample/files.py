"""Writing a dataset as the files a programme keeps (``write_programme``, ``write_sample``).

A members sheet with raw headers, the attendance register (a wide Excel
workbook, :mod:`._xlsx`, or a long roster), the surveys (a REDCap raw export
with its data dictionary, or a wide CSV), a ``groupeval.toml`` naming every
file and rename, ``truth.json`` and a short README.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import ConfigError
from ._xlsx import _MARKS, _write_wide_workbook
from .constants import INSTRUMENTS, PROGRAMME, TIMEPOINTS
from .items import ITEM_MODELS
from .simulate import generate

__all__ = ["ATTENDANCE_LAYOUTS", "MEMBER_HEADERS", "REDCAP_EVENTS", "REDCAP_FORMS", "SURVEY_LAYOUTS",
           "write_programme", "write_sample"]

#: raw headers of members.csv -> canonical names (written to groupeval.toml)
MEMBER_HEADERS = {"Participant ID": "member_id", "Group": "group_id", "Enrolled": "enrolled_on",
                  "Exited": "exited_on", "Exit reason": "exit_reason", "Age band": "age_band",
                  "Gender": "gender"}
#: REDCap form of each instrument (the export has a ``<form>_complete`` column per form)
REDCAP_FORMS = {"brs": "brief_resilience_scale", "who5": "who5_wellbeing_index",
                "whoqol_bref": "whoqol_bref", "phq9": "phq9"}
REDCAP_EVENTS = {"baseline_arm_1": "baseline", "week_12_arm_1": "week_12", "week_26_arm_1": "week_26"}
ATTENDANCE_LAYOUTS = ("wide-xlsx", "roster-csv")
SURVEY_LAYOUTS = ("redcap", "wide-csv")
_DICT_COLUMNS = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]


def _date_text(s: pd.Series) -> pd.Series:
    return s.dt.strftime("%Y-%m-%d").astype("string")


def _item_columns(dataset: Dataset) -> list[str]:
    prefixes = tuple(f"{name}_" for name in dataset.meta.get("instruments", INSTRUMENTS))
    return [c for c in dataset.responses.columns
            if c.startswith(prefixes) and c[c.rindex("_") + 1:].isdigit()]


def _redcap_dictionary(items_by_instrument: dict[str, list[str]]) -> pd.DataFrame:
    rows = [
        {"Variable / Field Name": "record_id", "Form Name": "survey_information", "Field Type": "text",
         "Field Label": "Record ID"},
        {"Variable / Field Name": "survey_date", "Form Name": "survey_information", "Field Type": "text",
         "Field Label": "Date the survey was completed",
         "Text Validation Type OR Show Slider Number": "date_ymd"},
        {"Variable / Field Name": "group", "Form Name": "survey_information", "Field Type": "text",
         "Field Label": "Support group"},
    ]
    for name, cols in items_by_instrument.items():
        model = ITEM_MODELS.get(name)
        choices = (" | ".join(f"{v}, {v}" for v in range(model.item_min, model.item_max + 1))
                   if model is not None else "")
        for col in cols:
            rows.append({"Variable / Field Name": col, "Form Name": REDCAP_FORMS.get(name, name),
                         "Field Type": "radio",
                         "Field Label": f"{name.upper()} item {col.rsplit('_', 1)[1]}",
                         "Choices, Calculations, OR Slider Labels": choices})
    return pd.DataFrame(rows).reindex(columns=_DICT_COLUMNS).fillna("")


def _write_redcap(dataset: Dataset, directory: Path) -> tuple[str, str]:
    r = dataset.responses
    items = _item_columns(dataset)
    inverse_events = {v: k for k, v in REDCAP_EVENTS.items()}
    out: dict[str, Any] = {
        "record_id": r["member_id"].astype("string"),
        "redcap_event_name": r["timepoint"].map(inverse_events).astype("string"),
        "survey_date": _date_text(r["completed_on"]) if "completed_on" in r.columns else pd.NA,
        "group": r["group_id"] if "group_id" in r.columns else pd.NA,
    }
    out["survey_information_complete"] = np.full(len(r), 2)
    by_instrument: dict[str, list[str]] = {}
    for name in dataset.meta.get("instruments", INSTRUMENTS):
        cols = [c for c in items if c.startswith(f"{name}_")]
        if not cols:
            continue
        by_instrument[name] = cols
        block = r[cols]
        for c in cols:
            out[c] = block[c].astype("Int64")
        n_ans = block.notna().sum(axis=1).to_numpy()
        # REDCap form status: 2 complete, 1 unverified (partly answered), 0 incomplete
        out[f"{REDCAP_FORMS.get(name, name)}_complete"] = np.where(n_ans == len(cols), 2, np.where(n_ans > 0, 1, 0))
    export = pd.DataFrame(out)
    order = export["redcap_event_name"].map({k: i for i, k in enumerate(REDCAP_EVENTS)})
    export = export.assign(_o=order).sort_values(["record_id", "_o"], kind="stable").drop(columns="_o")
    export.to_csv(directory / "surveys_redcap.csv", index=False)
    _redcap_dictionary(by_instrument).to_csv(directory / "redcap_dictionary.csv", index=False)
    return "surveys_redcap.csv", "redcap_dictionary.csv"


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_table(mapping: Mapping[str, str]) -> str:
    return "{ " + ", ".join(f"{_toml_str(k)} = {_toml_str(v)}" for k, v in mapping.items()) + " }"


def write_programme(dataset: Dataset, directory: str | Path, *, attendance: str = "wide-xlsx",
                    survey: str = "redcap") -> Path:
    """Write a dataset as the files a programme keeps, plus a ``groupeval.toml``.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset` (typically from :func:`generate`).
    directory
        Folder to write into (created if needed; existing files of the same
        names are overwritten).
    attendance
        ``"wide-xlsx"`` (default): ``attendance.xlsx``, one wide sheet per
        group (sheet name = group id; ``Participant ID`` then one column per
        held session with the date as a real Excel date; marks ``P`` / ``A``
        / ``E`` / ``L``; blank = not scheduled, i.e. before enrolment or
        after exit; cancelled sessions have no column).  ``"roster-csv"``:
        ``attendance.csv``, a long roster (``member_id, group_id,
        session_date, mark``).
    survey
        ``"redcap"`` (default): ``surveys_redcap.csv``, a REDCap raw export
        (``record_id``, ``redcap_event_name`` = ``baseline_arm_1`` ...,
        ``survey_date``, ``group``, the item fields, ``<form>_complete``)
        and ``redcap_dictionary.csv`` (REDCap data-dictionary columns).
        ``"wide-csv"``: ``surveys.csv`` with the canonical responses columns.

    Returns
    -------
    Path
        The directory.  It holds ``groups.csv``, ``members.csv`` (raw
        headers ``Participant ID``, ``Group``, ``Enrolled``, ``Exited``,
        ``Exit reason``, ``Age band``, ``Gender``), ``sessions.csv`` (with
        ``cancelled``), the attendance and survey files, ``groupeval.toml``
        naming every file, format and rename (read it with
        ``groupeval.load(directory)``), ``truth.json`` (``meta["truth"]``
        when present) and a short ``README.md``.
    """
    _check_write_arguments(dataset, attendance, survey)
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the folder {str(directory)!r}: {exc.strerror}. "
                          "Choose a folder you can write to.") from None
    member_map = _write_tables(dataset, directory)
    att_toml = _write_attendance(dataset, directory, attendance)
    srv_toml = _write_surveys(dataset, directory, survey)
    _write_config(dataset, directory, member_map, att_toml, srv_toml)
    truth = dataset.meta.get("truth")
    if truth is not None:
        (directory / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    _write_readme(dataset, directory, attendance, survey, truth is not None)
    return directory


def _check_write_arguments(dataset: Any, attendance: str, survey: str) -> None:
    """Raise one :class:`ConfigError` listing every bad argument of :func:`write_programme`."""
    problems = []
    if attendance not in ATTENDANCE_LAYOUTS:
        problems.append(f"attendance must be one of {list(ATTENDANCE_LAYOUTS)}, got {attendance!r}")
    if survey not in SURVEY_LAYOUTS:
        problems.append(f"survey must be one of {list(SURVEY_LAYOUTS)}, got {survey!r}")
    if not isinstance(dataset, Dataset):
        problems.append(f"dataset must be a groupeval Dataset, got {type(dataset).__name__}")
    if problems:
        raise ConfigError("write_programme() got invalid arguments: " + "; ".join(problems))


def _write_tables(dataset: Dataset, directory: Path) -> dict[str, str]:
    """``groups.csv`` (canonical headers), ``members.csv`` (raw headers) and ``sessions.csv``.

    Returns the raw -> canonical renames of the members' columns (for ``groupeval.toml``).
    """
    groups = dataset.groups.copy()
    for col in ("start_date", "end_date"):
        if col in groups.columns:
            groups[col] = _date_text(groups[col])
    groups.to_csv(directory / "groups.csv", index=False)

    members = dataset.members.copy()
    for col in ("enrolled_on", "exited_on"):
        if col in members.columns:
            members[col] = _date_text(members[col])
    canonical_to_raw = {v: k for k, v in MEMBER_HEADERS.items()}
    members = members.rename(columns=canonical_to_raw)
    member_map = {raw: canon for raw, canon in MEMBER_HEADERS.items() if raw in members.columns}
    members.to_csv(directory / "members.csv", index=False)

    sessions = dataset.sessions.copy()
    sessions["session_date"] = _date_text(sessions["session_date"])
    if "cancelled" in sessions.columns:
        sessions["cancelled"] = sessions["cancelled"].map({True: "true", False: "false"})
    sessions.to_csv(directory / "sessions.csv", index=False)
    return member_map


def _write_attendance(dataset: Dataset, directory: Path, attendance: str) -> str:
    """The attendance register (wide workbook or long roster); returns its ``[files.attendance]`` TOML."""
    if attendance == "wide-xlsx":
        _write_wide_workbook(dataset, directory / "attendance.xlsx")
        return ('[files.attendance]\npath = "attendance.xlsx"\nformat = "wide"\n'
                'blank = "not_scheduled"\ncolumns = { "Participant ID" = "member_id" }\n')
    a = dataset.attendance
    roster = pd.DataFrame({"member_id": a["member_id"], "group_id": a["group_id"],
                           "session_date": _date_text(a["session_date"]),
                           "mark": a["status"].map(_MARKS) if "status" in a.columns
                           else a["attended"].map({True: "P", False: "A"})})
    roster.to_csv(directory / "attendance.csv", index=False)
    return '[files.attendance]\npath = "attendance.csv"\nformat = "roster"\n'


def _write_surveys(dataset: Dataset, directory: Path, survey: str) -> str:
    """The survey export (REDCap raw export + dictionary, or wide CSV); returns its ``[files.surveys]`` TOML."""
    if survey == "redcap":
        data_name, dict_name = _write_redcap(dataset, directory)
        events = _toml_table(REDCAP_EVENTS)
        return (f'[files.surveys]\npath = "{data_name}"\nformat = "redcap"\ndictionary = "{dict_name}"\n'
                f'events = {events}\ncolumns = {{ "survey_date" = "completed_on", "group" = "group_id" }}\n')
    r = dataset.responses.copy()
    if "completed_on" in r.columns:
        r["completed_on"] = _date_text(r["completed_on"])
    r.to_csv(directory / "surveys.csv", index=False)
    return '[files.surveys]\npath = "surveys.csv"\nformat = "wide"\n'


def _write_config(dataset: Dataset, directory: Path, member_map: Mapping[str, str], att_toml: str,
                  srv_toml: str) -> None:
    """``groupeval.toml``: programme, timepoints, instruments, cut-off and every file with its renames."""
    timepoints = list(dataset.timepoints) or list(TIMEPOINTS)
    instruments = list(dataset.meta.get("instruments", INSTRUMENTS))
    name = str(dataset.meta.get("programme", PROGRAMME))
    lines = [
        "# groupeval configuration, written by groupeval.sample.write_programme",
        "[programme]",
        f"name = {_toml_str(name)}",
        "timepoints = [" + ", ".join(_toml_str(t) for t in timepoints) + "]",
        "instruments = [" + ", ".join(_toml_str(i) for i in instruments) + "]",
    ]
    if dataset.cutoff is not None:
        lines.append(f'cutoff = "{pd.Timestamp(dataset.cutoff):%Y-%m-%d}"')
    lines += ["", '[files.groups]', 'path = "groups.csv"', "",
              '[files.members]', 'path = "members.csv"', f"columns = {_toml_table(member_map)}", "",
              '[files.sessions]', 'path = "sessions.csv"', "",
              att_toml, srv_toml, "[privacy]", "allow_identifiers = false", ""]
    (directory / "groupeval.toml").write_text("\n".join(lines), encoding="utf-8")


def _write_readme(dataset: Dataset, directory: Path, attendance: str, survey: str, has_truth: bool) -> None:
    """A short ``README.md`` saying that the data are invented and what each file is."""
    name = str(dataset.meta.get("programme", PROGRAMME))
    att_row = ("| `attendance.xlsx` | one sheet per group: members x session dates, marks P / A / E / L, "
               "blank = not scheduled |" if attendance == "wide-xlsx" else
               "| `attendance.csv` | long roster: `member_id`, `group_id`, `session_date`, `mark` (P / A / E / L) |")
    srv_rows = ("| `surveys_redcap.csv` | REDCap raw export (`record_id`, `redcap_event_name`, survey items) |\n"
                "| `redcap_dictionary.csv` | the REDCap data dictionary of that export |" if survey == "redcap" else
                "| `surveys.csv` | one row per member x timepoint with the survey items |")
    truth_row = "\n| `truth.json` | the true parameters the data were drawn from (see docs/sample.md) |" \
        if has_truth else ""
    (directory / "README.md").write_text(_README.format(
        programme=name, seed=dataset.meta.get("seed", "?"), groups=len(dataset.groups),
        members=len(dataset.members), attendance=len(dataset.attendance),
        responses=len(dataset.responses), att_row=att_row, srv_rows=srv_rows, truth_row=truth_row),
        encoding="utf-8")


_README = """# {programme} (synthetic)

Made by `groupeval.sample` (seed {seed}). **All people and numbers are
invented**: {groups} groups, {members} members, {attendance} attendance marks,
{responses} survey responses. No real person is described.

| file | what it is |
|---|---|
| `groupeval.toml` | configuration naming every file, its format and the column renames |
| `groups.csv` | one row per group (type, facilitation, format, site, start date) |
| `members.csv` | one row per member: id, group, enrolment and exit dates, exit reason, age band, gender |
| `sessions.csv` | every scheduled weekly session, `cancelled` true/false |
{att_row}
{srv_rows}{truth_row}

Load it with `groupeval validate <this folder>` or `groupeval.load("<this folder>")`.
"""


def write_sample(directory: str | Path, seed: int = 2025, **kwargs: Any) -> Path:
    """Generate a sample programme and write it as files (``groupeval sample DIR``).

    Parameters
    ----------
    directory
        Folder to write into (created if needed).
    seed
        Seed passed to :func:`generate`.
    **kwargs
        Further arguments of :func:`generate` (``n_members=``, ``n_groups=`` ...).

    Returns
    -------
    Path
        The directory (see :func:`write_programme` for its files).
    """
    return write_programme(generate(seed, **kwargs), directory)
