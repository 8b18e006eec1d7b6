"""``groupeval init``, one file at a time: what table a file is, and which column is which.

:func:`_guess_file` reads one file (all sheets of a workbook) and fills a
:class:`FileGuess`: the table (a wide register, a roster or sign-in log, a
members / groups / sessions file, a survey), the canonical name of each
column, the member key (an id, or a name / e-mail column to pseudonymise),
the group, the survey timepoint from the file name, and the questionnaire
items found by their names or by their answers.  :class:`Plan` collects the
guesses of a folder; :mod:`.inspect` decides what needs all files together.
No value of a name, e-mail or free-text column is kept: only headers, answer
labels and counts.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..base import instruments as _instruments
from ..base.exceptions import GroupevalError
from ..base.schema import IDENTIFIER_PATTERNS
from .forms import column_letter

_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")
_DEFAULT_SHEET = re.compile(r"^(sheet|feuil|tabelle|hoja|blad|foglio)\s*\d*$", re.I)
_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_HEADER = re.compile(rf"^(\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{4}}/\d{{1,2}}/\d{{1,2}}"
                          rf"|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}"
                          rf"|\d{{1,2}}[ -]{_MONTHS}[ -,]*\d{{2,4}}|{_MONTHS} \d{{1,2}},? \d{{4}})$", re.I)
_SLASH_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})\b")

# the readers recognise these already; init names them explicitly so the TOML says what was decided
_MEMBER = ("member_id", "member", "participant_id", "participant", "client_id", "person_id", "member_code",
           "participant_code", "record_id", "id", "code")
_GROUP = ("group_id", "group", "group_code", "group_name")
_DATE = ("session_date", "date", "session", "meeting_date", "attendance_date", "sign_in_date", "signed_in",
         "date_attended", "signed_in_at", "check_in")
_MARK = ("status", "attended", "attendance", "mark", "present", "here", "attendance_status")
_COMPLETED = ("timestamp", "completion_time", "completed_on", "completion_date", "date_completed", "survey_date",
              "submitted_at", "submission_date", "end_time", "recordeddate", "end_date")
_TIMEPOINT = ("timepoint", "time_point", "wave", "survey_wave")
_ENROLLED = ("enrolled_on", "enrolled", "joined", "join_date", "start_date", "date_joined", "enrolment_date",
             "enrollment_date")
_EXITED = ("exited_on", "exited", "exit_date", "left", "left_on", "date_left", "end_date")
_EXIT_REASON = ("exit_reason", "reason_for_leaving", "reason_left")
_ITEM = re.compile(r"^(?P<p>[a-z][a-z0-9_]*?)_(?P<n>\d+)$")
#: words in a file name -> timepoint
_TIMEPOINT_WORDS = (
    (re.compile(r"\b(baseline|start|starting|intake|pre|before|begin|beginning|first|entry|initial)\b", re.I),
     "baseline"),
    (re.compile(r"\b(end|final|exit|post|after|last|close|closing|completion)\b", re.I), "end"),
    (re.compile(r"\b(follow[ -]?up)\b", re.I), "follow_up"),
)
_WEEK = re.compile(r"\b(?:week|wk|w)[ _-]?(\d{1,2})\b", re.I)
_MONTH_TP = re.compile(r"\b(?:month|m)[ _-]?(\d{1,2})\b", re.I)


def _norm(name: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().casefold()).strip("_")


def _identifier_kind(header: str) -> str | None:
    n = _norm(header)
    for kind, pattern in IDENTIFIER_PATTERNS.items():
        if re.search(pattern, n):
            return kind
    if re.search(r"(^|_)(first|given|full|your|last|sur|family)_?name($|_)", n):
        return "name"
    return None


@dataclass
class FileGuess:
    """What init decided about one file (all sheets of a workbook together)."""

    path: Path
    kind: str | None = None                      # attendance / surveys / members / groups / sessions / None
    shape: str | None = None                     # wide / roster / signin (attendance); forms / wide (surveys)
    columns: dict[str, str] = field(default_factory=dict)   # raw header -> canonical name
    timepoint: str | None = None
    group: str | None = None
    notes: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    identifier_columns: dict[str, str] = field(default_factory=dict)
    key_is_name: bool = False
    item_runs: list[tuple[str, int, int]] = field(default_factory=list)  # (instrument, first col, last col)
    dictionary: Path | None = None                                     # REDCap data dictionary
    events: list[str] = field(default_factory=list)                    # REDCap event names
    labels_missing: dict[str, list[str]] = field(default_factory=dict)   # instrument -> answer words not known


@dataclass
class Plan:
    """Everything :func:`inspect_folder` found: per-file guesses and programme-wide decisions."""

    folder: Path
    files: list[FileGuess]
    timepoints: list[str] = field(default_factory=list)
    dayfirst: bool | None = None
    pseudonymise: bool = False
    allow_identifiers: bool = False
    decided: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)

    def by_kind(self, kind: str) -> list[FileGuess]:
        return [f for f in self.files if f.kind == kind]


# --------------------------------------------------------------------------- reading
def _sheets(path: Path) -> list[Any]:
    from ..io._files import read_sheets

    return read_sheets(path)


def _data_files(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith(("~$", ".")) or p.suffix.lower() not in _SUFFIXES:
            continue
        if p.stem.endswith("_tables") or "dictionary" in p.stem.lower():
            continue
        out.append(p)
    return out


def _is_date_header(h: str) -> bool:
    return bool(_DATE_HEADER.match(h.strip())) if h else False


def _text_values(s: pd.Series) -> pd.Series:
    """Distinct non-blank values of a column, as stripped text."""
    v = s.dropna()
    v = v[v.astype(str).str.strip() != ""]
    return pd.Series(pd.unique(v.astype(str).str.strip()), dtype=object)


def _first_alias(header: Sequence[str], names: Sequence[str]) -> str | None:
    for alias in names:
        for h in header:
            if h and _norm(h) == alias:
                return h
    return None


# --------------------------------------------------------------------------- instruments by answers
def _label_sets() -> dict[str, dict[str, int]]:
    out = {}
    for name in _instruments.available():
        inst = _instruments.get(name)
        if inst.answer_labels:
            out[name] = dict(inst.label_codes)
    return out


def _answer_words(frame: pd.DataFrame, col: str) -> set[str] | None:
    """Label keys of a column's answers, or None when it holds numbers / nothing / free text."""
    vals = _text_values(frame[col])
    if not len(vals) or len(vals) > 12:
        return None
    if vals.str.fullmatch(r"[+-]?\d+([.,]\d+)?").all():
        return None
    return {_instruments.label_key(v) for v in vals}


def _item_runs(frame: pd.DataFrame, header: list[str], guess: FileGuess) -> dict[str, str]:
    """Consecutive columns answered with one instrument's labels -> ``{raw header: "<inst>_<k>"}``."""
    sets = _label_sets()
    cands: list[set[str]] = []
    words: list[set[str] | None] = []
    for h in header:
        w = _answer_words(frame, h) if h and h in frame.columns else None
        words.append(w)
        cands.append({n for n, keys in sets.items() if w and w <= set(keys)} if w else set())
    mapping: dict[str, str] = {}
    i = 0
    while i < len(header):
        if not cands[i]:
            i += 1
            continue
        j = i
        common = set(cands[i])
        while j + 1 < len(header) and cands[j + 1] & common:
            common &= cands[j + 1]
            j += 1
        length = j - i + 1
        fits = sorted(n for n in common if _instruments.get(n).n_items == length)
        hinted = [n for n in fits if _hint(header[i:j + 1], n)]
        choice = hinted[0] if len(hinted) == 1 else fits[0] if len(fits) == 1 else None
        span = f"{column_letter(i)}:{column_letter(j)}"
        if choice is not None:
            inst = _instruments.get(choice)
            for k, h in enumerate(header[i:j + 1], start=1):
                mapping[h] = f"{choice}_{k}"
            guess.item_runs.append((choice, i, j))
            guess.notes.append(f"columns {span} ({length}) are {inst.label} items answered in words "
                               f"({', '.join(sorted(inst.answer_labels, key=inst.answer_labels.__getitem__)[:2])} ...)")
        else:
            labels = ", ".join(_instruments.get(n).label for n in sorted(common))
            guess.undecided.append(
                f"{guess.path.name}: columns {span} ({length}) are answered with the labels of {labels}, but no "
                f"single questionnaire of that many items fits; map them with columns = {{...}} or items = "
                f'{{ {sorted(common)[0]} = "{span}" }}')
        i = j + 1
    # questions answered in words no shipped label set covers (a questionnaire without labels, or other words)
    unknown = [h for h, w, c in zip(header, words, cands) if w and not c and h not in mapping
               and len(w) >= 3 and not _identifier_kind(h)]
    if len(unknown) >= 3:
        letters = ", ".join(column_letter(header.index(h)) for h in unknown[:12])
        guess.undecided.append(f"{guess.path.name}: {len(unknown)} question column(s) ({letters}) are answered in "
                               "words that are no shipped questionnaire's answer labels; if they are questionnaire "
                               "items, name them (items = { name = \"C:H\" }) and give the labels "
                               "([labels.name] \"Word\" = code)")
    return mapping


def _hint(headers: Sequence[str], inst_name: str) -> bool:
    label = _norm(_instruments.get(inst_name).label).replace("_", "")
    return any(label in _norm(h).replace("_", "") for h in headers)


def _item_named(header: list[str]) -> dict[str, list[str]]:
    """Columns already named ``<instrument>_<n>`` (any case)."""
    found: dict[str, list[str]] = {}
    avail = set(_instruments.available())
    for h in header:
        m = _ITEM.match(_norm(h))
        if m and m.group("p") in avail:
            found.setdefault(m.group("p"), []).append(h)
    return found


# --------------------------------------------------------------------------- per file
def _guess_file(path: Path) -> tuple[FileGuess, list[Any]]:
    g = FileGuess(path)
    try:
        sheets = _sheets(path)
    except GroupevalError as err:
        g.undecided.append(f"{path.name}: cannot be read ({err.message}); fix it or leave it out")
        return g, []
    stem = _norm(path.stem)
    first = sheets[0]
    header = [h for h in first.raw_header]
    date_headers = [h for h in header if _is_date_header(h)]
    n_dates = sum(1 for s in sheets for h in s.raw_header if _is_date_header(h))
    if n_dates >= 2:
        _guess_wide(g, sheets)
    elif stem in ("groups", "group") or ({"group_id", "group_type"} <= {_norm(h) for h in header}):
        g.kind = "groups"
    elif stem in ("sessions", "session") or ({"session_date"} <= {_norm(h) for h in header}
                                               and not _first_alias(header, _MEMBER)):
        g.kind = "sessions"
    elif _first_alias(header, _DATE) and (_first_alias(header, _MEMBER) or _name_column(header)) \
            and not _first_alias(header, _COMPLETED) and stem not in ("surveys", "survey", "responses"):
        _guess_roster(g, first, header)
    elif stem in ("members", "member") or (_first_alias(header, _ENROLLED) and
                                            (_first_alias(header, _MEMBER) or _name_column(header))):
        _guess_members(g, header)
    else:
        _guess_survey(g, first, header)
    del date_headers
    return g, sheets


def _name_column(header: Sequence[str]) -> str | None:
    names = [h for h in header if _identifier_kind(h) in ("name", "email")]
    pref = [h for h in names if _identifier_kind(h) == "name"]
    found = pref or names
    return found[0] if found else None


def _member_column(g: FileGuess, header: Sequence[str]) -> None:
    col = _first_alias(header, _MEMBER)
    if col is not None:
        g.columns.setdefault(col, "member_id")
        return
    col = _name_column(header)
    if col is not None:
        g.columns[col] = "member_id"
        g.key_is_name = True
        g.notes.append(f"the member key is the {_identifier_kind(col)} column {col!r}: it will be pseudonymised")
        return
    g.undecided.append(f"{g.path.name}: no column holds member ids or names; map yours with "
                       "columns = { \"<header>\" = \"member_id\" }")


def _guess_wide(g: FileGuess, sheets: list[Any]) -> None:
    g.kind, g.shape = "attendance", "wide"
    header = [h for h in sheets[0].raw_header]
    others = [h for h in header if h and not _is_date_header(h)]
    _member_column(g, others)
    if not any(v == "member_id" for v in g.columns.values()) and others:
        g.columns[others[0]] = "member_id"
        g.undecided = [u for u in g.undecided if "no column holds member ids" not in u]
        g.notes.append(f"the first column {others[0]!r} is taken as the member key")
    grp = _first_alias(others, _GROUP)
    names = [s.sheet for s in sheets if s.sheet is not None]
    if grp is not None:
        g.columns.setdefault(grp, "group_id")
        g.notes.append(f"groups from the column {grp!r}")
    elif len(names) >= 1 and all(not _DEFAULT_SHEET.match(str(n).strip()) for n in names) and len(sheets) > 1:
        g.notes.append(f"one sheet per group: {', '.join(map(str, names))}")
    elif len(names) == 1 and not _DEFAULT_SHEET.match(str(names[0]).strip()):
        g.notes.append(f"the sheet name {names[0]!r} is the group")
    else:
        g.group = g.path.stem
        g.undecided.append(f"{g.path.name}: nothing names the group; group = {g.group!r} was written - change it to "
                           "your group's id")
    g.notes.append(f"a wide register ({sum(1 for s in sheets for h in s.raw_header if _is_date_header(h))} session "
                   f"date columns in {len(sheets)} sheet(s))")
    for h in others:
        kind = _identifier_kind(h)
        if kind and g.columns.get(h) != "member_id":
            g.identifier_columns[h] = kind


def _guess_roster(g: FileGuess, raw: Any, header: list[str]) -> None:
    g.kind = "attendance"
    g.shape = "roster" if _first_alias(header, _MARK) else "signin"
    _member_column(g, header)
    date = _first_alias(header, _DATE)
    if date is not None:
        g.columns.setdefault(date, "session_date")
    grp = _first_alias(header, _GROUP)
    if grp is not None:
        g.columns.setdefault(grp, "group_id")
    else:
        g.group = g.path.stem
        g.undecided.append(f"{g.path.name}: no group column; group = {g.group!r} was written - change it to your "
                           "group's id")
    g.notes.append(f"an attendance {'roster' if g.shape == 'roster' else 'sign-in log'}")
    for h in header:
        kind = _identifier_kind(h)
        if kind and g.columns.get(h) != "member_id":
            g.identifier_columns[h] = kind


def _guess_members(g: FileGuess, header: list[str]) -> None:
    g.kind = "members"
    _member_column(g, header)
    for names, canon in ((_ENROLLED, "enrolled_on"), (_EXITED, "exited_on"), (_EXIT_REASON, "exit_reason")):
        col = _first_alias(header, names)
        if col is not None and col not in g.columns:
            g.columns[col] = canon
    grp = _first_alias(header, _GROUP)
    if grp is not None:
        g.columns.setdefault(grp, "group_id")
    for h in header:
        kind = _identifier_kind(h)
        if kind and g.columns.get(h) != "member_id":
            g.identifier_columns[h] = kind


def _guess_survey(g: FileGuess, raw: Any, header: list[str]) -> None:
    frame = raw.frame
    named = _item_named(header)
    runs = _item_runs(frame, header, g)
    forms = _first_alias(header, ("timestamp", "start_time", "completion_time")) is not None
    questions = [h for h in header if h and not _identifier_kind(h) and _norm(h) not in _COMPLETED + _GROUP]
    if forms and not named and not runs and len(questions) <= 1:
        # a sign-in form: a timestamp and a name (and perhaps the group) per person who came
        g.kind, g.shape = "attendance", "signin"
        _member_column(g, header)
        stamp = _first_alias(header, ("timestamp", "start_time", "completion_time"))
        if stamp is not None:
            g.columns[stamp] = "session_date"
        grp = _first_alias(header, _GROUP)
        if grp is not None:
            g.columns.setdefault(grp, "group_id")
        else:
            g.group = g.path.stem
            g.undecided.append(f"{g.path.name}: no group column; group = {g.group!r} was written - change it to "
                               "your group's id")
        g.notes.append("a sign-in form (one row per person who came; the time of day is dropped)")
        return
    if not named and not runs and not forms and not _first_alias(header, _TIMEPOINT):
        g.kind = None
        g.undecided.append(f"{g.path.name}: not recognised as attendance, members, groups, sessions or a survey; "
                           "add it to groupeval.toml yourself if it is one of them")
        return
    g.kind = "surveys"
    g.shape = "forms" if forms else "wide"
    g.columns.update(runs)
    for inst, cols in named.items():
        g.notes.append(f"{len(cols)} {_instruments.get(inst).label} item column(s) named {inst}_<n>")
    comp = _first_alias(header, _COMPLETED)
    if comp is not None:
        g.columns.setdefault(comp, "completed_on")
    tp = _first_alias(header, _TIMEPOINT)
    if "redcap_event_name" in header:
        g.shape = "redcap"
        ev = _text_values(frame["redcap_event_name"]) if "redcap_event_name" in frame.columns else []
        g.events = [str(e) for e in ev]
        dicts = [p for p in sorted(g.path.parent.iterdir()) if p.is_file() and "dictionary" in p.stem.lower()
                 and p.suffix.lower() in _SUFFIXES]
        if len(dicts) == 1:
            g.dictionary = dicts[0]
            g.notes.append(f"a REDCap export; its data dictionary is {dicts[0].name}")
        else:
            g.notes.append("a REDCap export (timepoints from its events)")
    elif tp is not None:
        g.columns.setdefault(tp, "timepoint")
    else:
        g.timepoint = _timepoint_from_name(g.path.stem)
        if g.timepoint is None:
            g.undecided.append(f"{g.path.name}: the file name does not say which survey round it is; timepoint = "
                               "\"baseline\" was written - change it (e.g. \"end\", \"week_12\")")
            g.timepoint = "baseline"
        else:
            g.notes.append(f"timepoint {g.timepoint!r} from the file name")
    # the member key
    key = _first_alias(header, _MEMBER)
    if key is not None:
        g.columns.setdefault(key, "member_id")
    else:
        cands = [h for h in header if _identifier_kind(h) in ("name", "email") and h not in g.columns]
        if cands:
            g.columns[cands[0]] = "member_id"      # refined against the register in _refine_keys
            g.key_is_name = True
        else:
            g.undecided.append(f"{g.path.name}: no column holds member ids or names; map yours with "
                               "columns = { \"<header>\" = \"member_id\" }")
    for h in header:
        kind = _identifier_kind(h)
        if kind and g.columns.get(h) != "member_id":
            g.identifier_columns[h] = kind


def _timepoint_from_name(stem: str) -> str | None:
    text = re.sub(r"[_()\[\].-]+", " ", stem)
    m = _WEEK.search(text)
    if m:
        return f"week_{int(m.group(1))}"
    m = _MONTH_TP.search(text)
    if m:
        return f"month_{int(m.group(1))}"
    for pat, tp in _TIMEPOINT_WORDS:
        if pat.search(text):
            return tp
    return None
