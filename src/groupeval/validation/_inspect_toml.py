"""``groupeval init``: the configuration :func:`.inspect.inspect_folder` guessed, as a commented groupeval.toml."""
from __future__ import annotations

import datetime as _dt
import json
import re

from ..base import instruments as _instruments
from ._inspect_files import _ITEM, Plan
from .forms import column_letter

__all__ = ["render_toml"]


def _q(text: str) -> str:
    """A TOML basic string."""
    return json.dumps(str(text), ensure_ascii=False)


def _key(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else _q(text)


def render_toml(plan: Plan, *, name: str | None = None) -> str:
    """The plan as a commented groupeval.toml (no value of any name, e-mail or free-text column)."""
    today = _dt.date.today().isoformat()
    lines = [f"# groupeval.toml written by `groupeval init` on {today} for the files in this folder.",
             "# Check every guess below, edit what is wrong, then run:  groupeval validate <this folder>",
             "# (lines starting with # are comments; reading-data.md in the groupeval docs explains every key)"]
    if plan.undecided:
        lines += ["#", "# STILL TO DECIDE (groupeval could not tell):"]
        lines += [f"#   - {u}" for u in plan.undecided]
    lines += ["", "[programme]", f"name = {_q(name or plan.folder.resolve().name)}"]
    if plan.timepoints:
        lines += ["# the survey rounds, in order (from the survey files: their names or REDCap events)",
                  "timepoints = [" + ", ".join(_q(t) for t in plan.timepoints) + "]"]
    if plan.dayfirst is not None:
        lines += ["# how to read dates such as 04/02/2025: true = 4 February, false = 2 April",
                  f"dayfirst = {'true' if plan.dayfirst else 'false'}"]
    lines += ["", "[privacy]"]
    if plan.pseudonymise:
        lines += ["# Members are keyed by their name (or e-mail address). groupeval replaces every name by a salted",
                  "# pseudonym (P-...) before anything else; the salt is created in .groupeval_salt beside this file",
                  "# on the first run - keep it private and reuse it next quarter (see the docs: salt_file).",
                  "pseudonymise = true",
                  "# When groupeval validate lists two pseudonyms that may be one person, confirm them here:",
                  '# same_person = [["P-...", "P-..."]]      # one person',
                  '# not_same = [["P-...", "P-..."]]         # two people']
    elif plan.allow_identifiers:
        lines += ["# the files hold identifier columns (names, e-mail, phone); they are removed when the data are read",
                  "allow_identifiers = true"]
    else:
        lines += ["allow_identifiers = false"]
    for f in plan.files:
        lines += [""]
        if f.kind is None:
            lines += [f"# {f.path.name}: not used (not recognised)"]
            continue
        table = "attendance" if f.kind == "attendance" else f.kind
        lines += [f"# {f.path.name}:"] + [f"#   {n}" for n in (f.notes or [f"the {table} file"])]
        if f.identifier_columns:
            lines += ["# identifier columns removed on load: " +
                      ", ".join(f"{h!r} ({k})" for h, k in f.identifier_columns.items())]
        lines += [f"[[files.{table}]]", f"path = {_q(f.path.name)}"]
        if f.kind == "attendance" and f.shape in ("wide", "roster", "signin"):
            lines += [f"format = {_q(f.shape)}"]
        if f.group is not None:
            lines += [f"group = {_q(f.group)}"]
        if f.kind == "surveys" and f.timepoint is not None:
            lines += [f"timepoint = {_q(f.timepoint)}"]
        if f.dictionary is not None:
            lines += [f"dictionary = {_q(f.dictionary.name)}"]
        if f.columns:
            lines += [f"[files.{table}.columns]"]
            runs = {i: (inst, j) for inst, i, j in f.item_runs}
            header = list(f.columns)
            for h in header:
                c = f.columns[h]
                m = _ITEM.match(c)
                if m and m.group("n") == "1":
                    inst = _instruments.get(m.group("p"))
                    span = next(((column_letter(i), column_letter(j)) for i, (ins, j) in runs.items()
                                 if ins == inst.name), None)
                    where = f" (columns {span[0]}-{span[1]})" if span else ""
                    lines += [f"# {inst.label} items{where}, answered in words: converted with its answer labels"]
                lines += [f"{_q(h)} = {_q(c)}"]
    return "\n".join(lines) + "\n"
