"""A small programme as a volunteer-run group keeps it: Google Forms surveys and an Excel register.

``write_forms_programme(folder)`` writes, with no real people (invented first names, example.org
addresses) and no item wording (questions are "[Statement 1]" ...):

* ``Attendance register 2025.xlsx`` - one sheet per group (``Tuesday group``, ``Thursday group``),
  a title row, then ``Name`` (first names, the member key) and one column per session date (real
  Excel dates) with marks ``P`` / ``A`` / ``L`` / blank (not yet joined, or left);
* ``Wellbeing check-in (start) (Responses) - Form Responses 1.csv`` and
  ``... (end) ...csv`` - Google Forms downloads: ``Timestamp`` (UK day-first with time of day),
  ``Email address``, ``Your first name`` (typed by the person: case, spaces and accents vary),
  ``Which group do you come to?``, six BRS statements answered "Strongly disagree" ... "Strongly
  agree", nine PHQ-9 problems answered "Not at all" ... "Nearly every day", and a free-text
  comment that sometimes names another member;
* no groups file, no members file.

The module also returns the truth (codes, names) so tests can check the conversion.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

BRS_LABELS = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]
PHQ_LABELS = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
BRS_Q = "How much do you agree with each statement? [Statement {k}]"
PHQ_Q = "Over the last 2 weeks, how often have you been bothered by the following? [Problem {k}]"
GROUP_Q = "Which group do you come to?"
NAME_Q = "Your first name"
COMMENT_Q = "Anything else you would like to tell us?"
START_FILE = "Wellbeing check-in (start) (Responses) - Form Responses 1.csv"
END_FILE = "Wellbeing check-in (end) (Responses) - Form Responses 1.csv"
REGISTER = "Attendance register 2025.xlsx"

# invented first names; none is an English word that a report could contain ("May", "Will", ...)
GROUPS = {
    "Tuesday group": ["Ann", "Anne", "Zoë", "José", "Priya", "Siobhán", "Tariq", "Ingrid", "Kwame", "Oksana"],
    "Thursday group": ["Dmitri", "Fatima", "Lars", "Bongani", "Chiara", "Deepak", "Farid", "Gulnara", "Hamish",
                       "Ifeoma"],
}
FIRST_DAY = {"Tuesday group": dt.date(2025, 2, 4), "Thursday group": dt.date(2025, 2, 6)}
N_SESSIONS = 10


@dataclass
class FormsProgramme:
    folder: Path
    names: list[str]                 # every raw spelling written anywhere (register and forms)
    start: pd.DataFrame              # the start form as written (labels)
    end: pd.DataFrame
    brs_codes: pd.DataFrame          # member (register name), timepoint, brs_1..6 codes
    phq_codes: pd.DataFrame


def _typed(name: str, rng: np.random.Generator) -> str:
    """How a person types their own name into a form: sometimes lower/upper case, extra spaces, no accents."""
    import unicodedata

    r = rng.random()
    if r < 0.2:
        return name.lower() + " "
    if r < 0.3:
        return "  " + name.upper()
    if r < 0.45:
        return "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    return name


def write_forms_programme(folder: str | Path, *, seed: int = 7, comments_with_names: bool = True,
                          email_column: bool = True) -> FormsProgramme:
    import openpyxl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names_written: set[str] = set()
    # ---------------------------------------------------------------- register
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    joined: dict[str, int] = {}
    for g, people in GROUPS.items():
        ws = wb.create_sheet(g)
        ws.append([f"{g} - attendance {FIRST_DAY[g].year}"])
        dates = [FIRST_DAY[g] + dt.timedelta(weeks=w) for w in range(N_SESSIONS)]
        ws.append(["Name", *[dt.datetime.combine(d, dt.time()) for d in dates]])
        for i, person in enumerate(people):
            start = 0 if i < 7 else int(rng.integers(1, 4))          # a few join late
            leave = N_SESSIONS if i % 4 else int(rng.integers(6, N_SESSIONS + 1))
            joined[person] = start
            marks = []
            for s in range(N_SESSIONS):
                if s < start or s >= leave:
                    marks.append(None)
                else:
                    u = rng.random()
                    marks.append("P" if u < 0.75 else "L" if u < 0.8 else "A")
            ws.append([person, *marks])
            names_written.add(person)
    wb.save(folder / REGISTER)
    # ---------------------------------------------------------------- forms
    brs_rows, phq_rows = [], []

    def form(tp: str, when: dict[str, dt.date]) -> pd.DataFrame:
        rows = []
        for g, people in GROUPS.items():
            for person in people:
                if rng.random() < 0.15:
                    continue  # did not fill it in
                brs = rng.integers(1, 6, size=6)
                phq = rng.integers(0, 4, size=9)
                brs_rows.append({"member": person, "timepoint": tp, **{f"brs_{k + 1}": int(v)
                                                                       for k, v in enumerate(brs)}})
                phq_rows.append({"member": person, "timepoint": tp, **{f"phq9_{k + 1}": int(v)
                                                                       for k, v in enumerate(phq)}})
                day = when[g] + dt.timedelta(days=int(rng.integers(0, 4)))
                stamp = dt.datetime.combine(day, dt.time(int(rng.integers(9, 21)), int(rng.integers(0, 60)),
                                                         int(rng.integers(0, 60))))
                typed = _typed(person, rng)
                names_written.add(typed.strip())
                other = people[(people.index(person) + 1) % len(people)]
                comment = ""
                if comments_with_names and rng.random() < 0.3:
                    comment = f"Thanks to {other} for the lift"
                    names_written.add(other)
                elif rng.random() < 0.3:
                    comment = "The group helps a lot"
                row = {"Timestamp": stamp.strftime("%d/%m/%Y %H:%M:%S")}
                if email_column:
                    row["Email address"] = f"member{rng.integers(100, 999)}@example.org"
                row[NAME_Q] = typed
                row[GROUP_Q] = g
                row.update({BRS_Q.format(k=k + 1): BRS_LABELS[v - 1] for k, v in enumerate(brs)})
                row.update({PHQ_Q.format(k=k + 1): PHQ_LABELS[v] for k, v in enumerate(phq)})
                row[COMMENT_Q] = comment
                rows.append(row)
        return pd.DataFrame(rows)

    start = form("baseline", FIRST_DAY)
    last = {g: d + dt.timedelta(weeks=N_SESSIONS - 1) for g, d in FIRST_DAY.items()}
    end = form("end", last)
    start.to_csv(folder / START_FILE, index=False)
    end.to_csv(folder / END_FILE, index=False)
    variants = set()
    for n in names_written:
        variants.add(n)
    return FormsProgramme(folder, sorted(variants), start, end, pd.DataFrame(brs_rows), pd.DataFrame(phq_rows))


if __name__ == "__main__":  # python tests/_helpers_forms.py FOLDER: write the example programme (docs/reading-data.md)
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "my-programme")
    write_forms_programme(target)
    print(f"Example programme (invented people) written to {target}")
