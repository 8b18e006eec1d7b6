"""The attacker: recover hidden counts of a funder report from every number it shows.

Written independently of the report's suppression plan: it reads the CSV
tables a funder receives (and the numbers in the HTML's sentences), writes
down every linear relation a reader can form from what the tables *mean*
(row and column totals, partitions of a row, the same people in two tables,
enrolments versus people, a percentage times its denominator, cumulative
dropouts behind Kaplan-Meier estimates, a sentence's total versus a table's
rows) and solves the system: a hidden count is recovered when the system
determines it (the unit vector of its cell lies in the row space of the
relation matrix restricted to the unknown cells).  The truth comes from an
internal build of the same data (same tables, nothing hidden).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

COUNT_COLUMNS = ("n", "n_lost", "members", "attended_once", "never_attended", "dropped", "completed", "active",
                 "events", "censored", "rows")
ALL = "All members"


@dataclass
class System:
    truth: dict = field(default_factory=dict)  # cell -> true value
    shown: dict = field(default_factory=dict)  # cell -> shown value (absent = unknown)
    derived: set = field(default_factory=set)  # cells that are not printed (differences, cumulative dropouts)
    relations: list = field(default_factory=list)  # {cell: coef}, sum == 0 in truth

    def cell(self, key, truth, shown=None, *, derived=False):
        self.truth[key] = float(truth)
        if shown is not None and np.isfinite(shown):
            self.shown[key] = float(shown)
        if derived:
            self.derived.add(key)
        return key

    def relate(self, terms):
        terms = {k: c for k, c in terms.items() if k in self.truth and c}
        if len(terms) < 2:
            return
        if abs(sum(c * self.truth[k] for k, c in terms.items())) < 1e-9:  # only relations true for these data
            self.relations.append(terms)

    def recovered(self, min_cell):
        """Unknown cells the relations determine: hidden counts, and unprinted ones with a small value."""
        unknown = [k for k in self.truth if k not in self.shown]
        if not unknown:
            return []
        idx = {k: i for i, k in enumerate(unknown)}
        rows = [r for r in self.relations if any(k in idx for k in r)]
        if not rows:
            return []
        A = np.zeros((len(rows), len(unknown)))
        for i, r in enumerate(rows):
            for k, c in r.items():
                if k in idx:
                    A[i, idx[k]] = c
        _, s, vt = np.linalg.svd(A, full_matrices=True)
        null = vt[int((s > 1e-9 * max(1.0, s.max(initial=0))).sum()):]
        fixed = np.ones(len(unknown), bool) if not len(null) else (np.abs(null) < 1e-8).all(axis=0)
        out = []
        for k, f in zip(unknown, fixed):
            if not f:
                continue
            v = self.truth[k]
            if k in self.derived and not (0 < v < min_cell):
                continue  # working out a large unprinted count reveals nobody
            out.append((k, v))
        return out


def _num(x):
    return pd.to_numeric(x, errors="coerce")


def _by_label(t: pd.DataFrame):
    col = "group_type" if "group_type" in t else ("stage" if "stage" in t else "category" if "category" in t
                                                  else None)
    return col


def build_system(funder: dict[str, pd.DataFrame], truth: dict[str, pd.DataFrame], text: str, min_cell: int) -> System:
    sys_ = System()
    cells = {}  # (table, label, col) -> key
    for name, t in funder.items():
        tt = truth[name]
        lab = _by_label(t)
        for col in COUNT_COLUMNS:
            if col not in t:
                continue
            for i in range(len(t)):
                label = str(t[lab].iloc[i]) if lab else str(i)
                key = (name, label, col)
                cells[key] = sys_.cell(key, _num(tt[col]).iloc[i], _num(t[col]).iloc[i])
    tables = {name.split("_", 1)[1]: name for name in funder}  # "attendance_by_group_type" -> "02_..."

    def T(stem):
        return tables.get(stem)

    # 1. column totals: the "All members" row is the sum of the other rows
    for name, t in funder.items():
        if "group_type" not in t or not (t["group_type"] == ALL).any():
            continue
        labels = [str(x) for x in t["group_type"]]
        for col in COUNT_COLUMNS:
            if col in t:
                sys_.relate({**{(name, g, col): 1 for g in labels if g != ALL}, (name, ALL, col): -1})
    # 2. partitions of a row
    att = T("attendance_by_group_type")
    if att:
        for g in funder[att]["group_type"].astype(str):
            sys_.relate({(att, g, "members"): 1, (att, g, "attended_once"): -1, (att, g, "never_attended"): -1})
            sys_.relate({(att, g, "members"): 1, (att, g, "dropped"): -1, (att, g, "completed"): -1,
                         (att, g, "active"): -1})
    ret = T("retention_by_group_type")
    if ret:
        for g in funder[ret]["group_type"].astype(str):
            sys_.relate({(ret, g, "n"): 1, (ret, g, "events"): -1, (ret, g, "censored"): -1})
    flow = T("participant_flow")
    if flow:
        f = funder[flow]
        for s, r in zip(f["stage"].astype(str), f["reference"]):
            if isinstance(r, str):
                sys_.relate({(flow, r, "n"): 1, (flow, s, "n"): -1, (flow, s, "n_lost"): -1})
        stages = f["stage"].astype(str).tolist()
        for a in stages:
            for b in stages:
                if a < b:
                    sys_.relate({(flow, a, "n"): 1, (flow, b, "n"): -1})  # the same set under two names
    for name, t in funder.items():
        if name.split("_", 1)[1].startswith("reliable_change_"):
            cats = t["category"].astype(str).tolist()
            sys_.relate({**{(name, c, "n"): 1 for c in cats if c != "total"}, (name, "total", "n"): -1})
    # 3. the same people in two tables (equal in truth: an attacker who guesses so)
    pairs = [(att, "attended_once", ret, "n"), (att, "dropped", ret, "events")]
    for name in funder:
        stem = name.split("_", 1)[1]
        if stem.startswith("change_"):
            key = stem[len("change_"):]
            pairs.append((name, "n", T(f"compare_{key}"), "n"))
    for a, ca, b, cb in pairs:
        if a and b:
            for g in funder[a]["group_type"].astype(str) if "group_type" in funder[a] else []:
                sys_.relate({(a, g, ca): 1, (b, g, cb): -1})
    # 4. enrolments versus people, people versus the retention curve: unprinted differences
    if att and flow:
        for ca, stage in (("members", "enrolled"), ("attended_once", "attended")):
            d = ("diff", ca, stage)
            sys_.cell(d, sys_.truth.get((att, ALL, ca), np.nan) - sys_.truth.get((flow, stage, "n"), np.nan),
                      derived=True)
            sys_.relate({(att, ALL, ca): 1, (flow, stage, "n"): -1, d: -1})
    if ret and flow:
        d = ("diff", "curve", "attended")
        sys_.cell(d, sys_.truth.get((ret, ALL, "n"), np.nan) - sys_.truth.get((flow, "attended", "n"), np.nan),
                  derived=True)
        sys_.relate({(ret, ALL, "n"): 1, (flow, "attended", "n"): -1, d: -1})
    # 5. a shown share with a shown denominator gives its numerator
    for name, t in funder.items():
        stem = name.split("_", 1)[1]
        if stem == "participant_flow":
            for i, s in enumerate(t["stage"].astype(str)):
                if np.isfinite(_num(t["share_of_enrolled"]).iloc[i]) and (name, "enrolled", "n") in sys_.shown:
                    sys_.shown.setdefault((name, s, "n"), sys_.truth[(name, s, "n")])
        if stem.startswith("reliable_change_"):
            for i, c in enumerate(t["category"].astype(str)):
                if np.isfinite(_num(t["share"]).iloc[i]) and (name, "total", "n") in sys_.shown:
                    sys_.shown.setdefault((name, c, "n"), sys_.truth[(name, c, "n")])
    # 6. Kaplan-Meier: a shown S(t) with a shown n gives the dropouts by t (no censoring before t assumed)
    if ret:
        t, tt = funder[ret], truth[ret]
        weeks = sorted(float(c[len("events_by_"):-1]) for c in tt.columns if re.fullmatch(r"events_by_[\d.]+w", c))
        for i, g in enumerate(t["group_type"].astype(str)):
            prev = None
            for w in weeks:
                e = (ret, g, f"events_by_{w:g}w")
                shown = _num(t.get(f"retention_{w:g}w", pd.Series([np.nan] * len(t)))).iloc[i]
                n_shown = (ret, g, "n") in sys_.shown
                true_e = _num(tt[f"events_by_{w:g}w"]).iloc[i]
                n_val = sys_.shown.get((ret, g, "n"))
                # the attacker's guess n x (1 - S(t)); it is a recovery when it rounds to the truth
                guess = round(n_val * (1 - shown)) if n_shown and np.isfinite(shown) else None
                sys_.cell(e, true_e, true_e if guess is not None and guess == true_e else None, derived=True)
                if prev is not None:
                    d = (ret, g, f"between_{w:g}w")
                    sys_.cell(d, sys_.truth[e] - sys_.truth[prev], derived=True)
                    sys_.relate({e: 1, prev: -1, d: -1})
                prev = e
            if prev is not None:
                d = (ret, g, "after_last_week")
                sys_.cell(d, sys_.truth[(ret, g, "events")] - sys_.truth[prev], derived=True)
                sys_.relate({(ret, g, "events"): 1, prev: -1, d: -1})
    # 7. sentences: the numbers of data-quality entries and excluded rows
    q = T("data_quality")
    m = re.search(r"(\d[\d,]*) entries about repaired", text)
    if m:
        total = float(m.group(1).replace(",", ""))
        sys_.cell(("text", "quality_total"), total, total)
        if q:
            n = len(funder[q])
            sys_.relate({**{(q, str(i), "rows"): 1 for i in range(n)}, ("text", "quality_total"): -1})
    m = re.search(r"(\d[\d,]*) rows were left out", text)
    if m and q:
        v = float(m.group(1).replace(",", ""))
        sys_.cell(("text", "quality_excluded"), v, v)
        exc = [i for i, a in enumerate(funder[q]["action"].astype(str)) if a == "excluded"]
        sys_.relate({**{(q, str(i), "rows"): 1 for i in exc}, ("text", "quality_excluded"): -1})
    return sys_


def read_csvs(folder) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p, float_precision="round_trip") for p in sorted(folder.glob("*.csv"))}
