"""The report's sections: a board summary (plain language) and a technical appendix.

:func:`build_document` decides the suppression plan once (through
:class:`~.content.ReportTables`), then writes every section from the
finished tables: a sentence quotes only what its table shows, a figure
draws only what its table shows, and a section whose analysis could not be
done says why in plain words.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .. import formatting as F
from . import figures as FIG
from . import sentences as S
from .content import ReportTables
from .document import Bullets, Paragraph, ReportDocument, Section, Table
from .evaluation import ALL_LABEL, MIN_AT_RISK, Evaluation
from .plan import SuppressionPlan

__all__ = ["build_document"]


def _shown(table: Table | None, col: str, label: str = ALL_LABEL) -> bool:
    if table is None or col not in table.frame:
        return False
    rows = table.frame[table.frame.get("group_type", pd.Series(dtype=str)).astype(str) == label]
    return bool(len(rows)) and bool(np.isfinite(pd.to_numeric(rows[col], errors="coerce")).all())


def _all_counts_shown(table: Table | None, rows: list[int] | None = None) -> bool:
    if table is None:
        return False
    for col, flags in table.hidden.items():
        if col not in table.count_keys:
            continue
        idx = range(len(flags)) if rows is None else rows
        if any(flags[i] is not None for i in idx):
            return False
    return True


def title_block(ev: Evaluation, programme: str, period: str) -> tuple[str, str, str]:
    cutoff = pd.Timestamp(ev.dataset.data_cutoff)
    bits = [b for b in (period, f"data up to {cutoff:%d %B %Y}",
                        f"{F.number_word(ev.n_groups)} group{'s' if ev.n_groups != 1 else ''}") if b]
    sub = "Evaluation report · " + " · ".join(bits)
    if ev.suppressing:
        note = (f"Prepared for a {ev.audience} audience. Numbers of fewer than {ev.min_cell} people are not shown "
                f"(marked \"<{ev.min_cell}\"), nor any number from which one could be worked out by adding or "
                f"subtracting the figures shown here (marked \"—†\"); estimates resting on fewer than {ev.min_cell} "
                "people are not shown either. The report names no one and shows no member's data.")
        if ev.population_note:
            note += " " + ev.population_note
    else:
        note = ("For people inside the programme: it shows every number, including small ones. Use "
                "--audience funder for a version to share outside the programme.")
    return f"{programme}: evaluation report", sub, note


def _summary(ev: Evaluation, rt: ReportTables, figs: FIG.Figures) -> list[Section]:
    plan, tables = rt.plan, rt.tables
    glance = [S.people_sentence(ev, plan), S.attendance_sentence(tables), S.retention_sentence(ev, tables)]
    if not ev.outcomes:
        glance.append("No questionnaire answers were in the data, so the report shows attendance and retention "
                      "only.")
    for key in ev.outcomes:
        glance.append(S.change_sentence(ev, plan, key, tables))
        rc = S.reliable_sentence(ev, key, tables)
        if rc:
            glance.append(rc)
    first = Section("summary", "Summary for the board", part="summary")
    first.add(Paragraph("What the programme's own records and surveys show, in plain words. The technical "
                        "appendix after this summary has the tables, the methods and the references.", "lead"),
              Bullets([g for g in glance if g]))
    km = figs.retention_summary()
    first.add(km)
    limits = Section("limits", "What these results can and cannot tell you", part="summary",
                     blocks=[Bullets(S.limits(ev))])
    return [first, limits]


def _flow_and_attendance(ev: Evaluation, rt: ReportTables, figs: FIG.Figures) -> list[Section]:
    sec = Section("who-took-part", "Who took part")
    flow = rt.table("participant_flow")
    if flow is None:
        sec.add(Paragraph(ev.why_not("flow") or "The participant flow could not be counted from these files."))
    else:
        sec.add(flow, figs.flow(flow))
    att = rt.table("attendance_by_group_type")
    if att is None:
        sec.add(Paragraph(ev.why_not("engagement") or "Attendance could not be summarised."))
    else:
        sec.add(att)
    return [sec]


def _retention(ev: Evaluation, rt: ReportTables, figs: FIG.Figures) -> list[Section]:
    from .. import narrative as N

    sec = Section("retention", "Attendance and retention")
    sec.add(Paragraph("Retention is the share of members still attending, estimated with the Kaplan–Meier method: "
                      "a member stops coming after missing three scheduled sessions in a row (or leaving early); "
                      "members who completed or were still attending at the end of the data count as retained for "
                      "as long as they were followed."))
    t = rt.table("retention_by_group_type")
    if t is None or ev.retention is None:
        sec.add(Paragraph(ev.why_not("retention") or "Retention could not be estimated from these data."))
        return [sec]
    all_i = [i for i, g in enumerate(t.frame["group_type"]) if g == ALL_LABEL]
    times = [x for x in (12.0, 26.0) if x in ev.retention_times and _shown(t, f"retention_{x:g}w")]
    if all_i and _all_counts_shown(t, all_i) and times and not rt.plan.active:
        sec.add(Paragraph(_safe(lambda: N.retention_sentence(ev.retention, times=times, min_at_risk=MIN_AT_RISK))
                          or S.retention_sentence(ev, rt.tables)))
    else:
        sec.add(Paragraph(S.retention_sentence(ev, rt.tables)))
    lr = getattr(ev.retention_by_type, "logrank", None) if ev.retention_by_type is not None else None
    if lr is not None and _all_counts_shown(t):
        try:
            sec.add(Paragraph(N.logrank_sentence(ev.retention_by_type)))
        except Exception:  # noqa: BLE001 - a sentence must never stop the report
            pass
    elif ev.by_type and t.has_hidden:
        sec.add(Paragraph("Retention is not compared between group types here: some group types are too small "
                          "to show."))
    sec.add(t, figs.retention(t))
    return [sec]


def _outcomes(ev: Evaluation, rt: ReportTables, figs: FIG.Figures) -> list[Section]:

    sec = Section("outcomes", "Outcomes")
    if not ev.outcomes:
        sec.add(Paragraph("No questionnaire answers were in the data: there are no outcomes to show."))
        return [sec]
    sec.add(Paragraph(f"Change in each questionnaire from {ev.tp_label(ev.pre) or 'the first survey'} to "
                      f"{ev.tp_label(ev.post) or 'the last survey'}, among members who answered both, with 95% "
                      "confidence intervals; then how many members changed by more than measurement error can "
                      "explain (reliable change, Jacobson & Truax 1991)."))
    sec.add(figs.forest_all())
    out = [sec]
    for key in ev.outcomes:
        sub = Section(f"outcome-{key}", ev.label(key), level=3)
        ch = rt.table(f"change_{key}")
        if ch is None:
            sub.add(Paragraph(ev.why_not(f"change:{key}") or "Change could not be estimated."))
            out.append(sub)
            continue
        all_i = [i for i, g in enumerate(ch.frame["group_type"]) if g == ALL_LABEL]
        row = ch.frame.iloc[all_i[0]] if all_i else None
        if row is not None and _all_counts_shown(ch, all_i) and np.isfinite(row["mean_change"]):
            sub.add(Paragraph(_apa_change(ev, key, row) or S.change_sentence(ev, rt.plan, key, rt.tables)))
        else:
            sub.add(Paragraph(S.change_sentence(ev, rt.plan, key, rt.tables)))
        sub.add(ch)
        rc = rt.table(f"reliable_change_{key}")
        if rc is not None:
            sub.add(Paragraph(S.reliable_sentence(ev, key, rt.tables) or
                              "Reliable change is not shown: the numbers are too small."), rc)
        elif ev.why_not(f"reliable:{key}"):
            sub.add(Paragraph(F.capitalize_first(ev.why_not(f"reliable:{key}")) + "."))
        out.append(sub)
    return out


def _apa_change(ev: Evaluation, key: str, row: pd.Series) -> str:
    """The APA change sentence of :mod:`narrative`; a domain score is named by its instrument and domain."""
    from .. import narrative as N

    inst, dv, _ = ev.outcomes[key]
    labels = {tp: ev.tp_label(tp) for tp in ev.timepoints}
    text = _safe(lambda: N.change_sentence(row.drop("group_type"), instrument=inst if dv == "score" else None,
                                           timepoints=labels))
    if text and dv != "score" and text.startswith("Scores "):
        text = f"{ev.short_label(key)} scores " + text[len("Scores "):]
    return text


def _safe(fn: Callable[[], str]) -> str:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - fall back to the report's own sentence
        return ""


def _group_types(ev: Evaluation, rt: ReportTables, figs: FIG.Figures) -> list[Section]:
    sec = Section("group-types", "What differs by group type")
    if not ev.outcomes or not ev.has_follow_up:
        sec.add(Paragraph("Scores over time are not modelled: " + (ev._change_reason(next(iter(ev.outcomes)))
                                                                   if ev.outcomes else "there are no surveys") + "."))
        return [sec]
    why = ev._compare_reason()
    if why:
        sec.add(Paragraph(F.capitalize_first(why) + "."))
    out = [sec]
    for key in ev.outcomes:
        sub = Section(f"types-{key}", ev.label(key), level=3)
        cmp = rt.table(f"compare_{key}")
        if cmp is not None:
            sub.add(Paragraph(_compare_text(ev, key, cmp)), cmp)
        means = rt.table(f"means_{key}")
        if means is not None:
            sub.add(means)
        elif ev.why_not(f"mixed:{key}"):
            sub.add(Paragraph(F.capitalize_first(ev.why_not(f"mixed:{key}")) + "."))
        if len(sub.blocks):
            out.append(sub)
    return out


def _compare_text(ev: Evaluation, key: str, table: Table) -> str:
    res = ev.compare(key)
    om: dict[str, Any] = dict(getattr(res, "omnibus", {}) or {})
    if table.has_hidden:
        return "Some group types are too small to show, so no test across all group types is reported."
    if om.get("valid") is False:
        return "No test across group types is reported: " + str(om.get("reason") or "it cannot be computed") + "."
    p = om.get("p_value")
    if p is None or not np.isfinite(p):
        return "No test across group types could be computed."
    differ = "differed" if p < 0.05 else "did not differ clearly"
    test = "HTZ" if om.get("test") == "HTZ" else "cluster-robust Wald"
    return (f"Adjusted for the {ev.tp_label(ev.pre)} score, {ev.label(key)} at {ev.tp_label(ev.post)} {differ} "
            f"between group types ({test} test F({F.fmt_df(om.get('df1'))}, {F.fmt_df(om.get('df2'))}) = "
            f"{F.fmt_number(om.get('f'), 2)}, {F.fmt_p(p)}; {F.number_word(ev.n_groups)} groups).")


def _quality(ev: Evaluation, rt: ReportTables) -> list[Section]:
    sec = Section("data-quality", "Data quality")
    q = ev.dataset.quality
    if len(q) == 0:
        sec.add(Paragraph("All rows of the files were used as they were: nothing was repaired or left out."))
        return [sec]
    total = S.count_words(rt.plan, ("quality_total",), "entries")
    excl = S.count_words(rt.plan, ("quality_excluded",), "rows")
    text = "Some rows of the files were repaired, inferred or left out when they were read"
    if total:
        text = f"{F.capitalize_first(total)} about repaired, inferred or left-out rows were recorded"
        if excl:
            text += f"; {excl} were left out"
    sec.add(Paragraph(text + ". The full list (file, row, column, value, reason) is available to the programme "
                             "from groupeval validate --quality-csv."))
    t = rt.table("data_quality")
    if t is not None:
        sec.add(t)
    return [sec]


def _methods(ev: Evaluation, rt: ReportTables) -> list[Section]:
    from .. import narrative as N

    first = next(iter(ev.outcomes), None)
    text = _safe(lambda: N.methods_paragraph(
        instruments=[ev.outcomes[k][0] for k in ev.outcomes if ev.outcomes[k][1] == "score"] or list(ev.instruments),
        retention=ev.retention, change=ev.change(first) if first else None,
        reliable_change=ev.reliable(first) if first else None, mixed_model=ev.mixed(first) if first else None,
        min_cell=ev.min_cell if ev.suppressing else None))
    para, _, refs = text.partition("\n\n")
    extra = (f" Retention at a week and the median time are reported only while the number of members still "
             f"being followed was at least {MIN_AT_RISK}, and not beyond the data window.")
    if ev.suppressing:
        extra += (f" Counts of fewer than {ev.min_cell} people are suppressed (CMS cell-size rule), together with "
                  "every count that would let one be worked out from the report's other figures (complementary "
                  "suppression decided once over all tables, figures and sentences).")
    sec = Section("methods", "Methods")
    sec.add(Paragraph((para or "Methods could not be described.") + extra))
    lines = [r.strip() for r in refs.splitlines() if r.strip() and r.strip().lower().rstrip(":") != "references"]
    refsec = Section("references", "References", blocks=[Bullets(lines)] if lines else
                     [Paragraph("No references.")])
    return [sec, refsec]


def build_document(ev: Evaluation, *, programme: str, period: str = "",
                   progress: Callable[[str], None] | None = None) -> tuple[ReportDocument, ReportTables]:
    """Decide the plan over every table, then write the summary and the appendix."""
    say = progress or (lambda _m: None)
    plan = SuppressionPlan(min_cell=ev.min_cell, active=ev.suppressing)
    rt = ReportTables(ev, plan).draft_all()
    say("deciding what may be shown (one suppression plan for the whole report)")
    rt.decide()
    say("drawing the figures")
    figs = FIG.Figures(ev, rt)
    say("writing the summary and the appendix")
    sections = _summary(ev, rt, figs)
    appendix = Section("appendix", "Technical appendix", level=2,
                       blocks=[Paragraph("Tables, figures, methods and references behind the summary. Every number "
                                         "here is the one the summary quotes.")])
    sections += [appendix, *_flow_and_attendance(ev, rt, figs), *_retention(ev, rt, figs),
                 *_outcomes(ev, rt, figs), *_group_types(ev, rt, figs), *_quality(ev, rt), *_methods(ev, rt)]
    title, sub, note = title_block(ev, programme, period)
    from ... import __version__

    doc = ReportDocument(title=title, subtitle=sub, privacy_note=note, sections=sections, min_cell=ev.min_cell,
                         audience=ev.audience,
                         produced=f"Produced with groupeval {__version__} on {pd.Timestamp.now():%d %B %Y}.")
    return doc, rt
