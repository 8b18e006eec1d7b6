"""The report's suppression plan, by hand: primary, complementary, system-wide, estimates."""
from __future__ import annotations

import numpy as np
import pytest

from groupeval.base.exceptions import ConfigError
from groupeval.reporting.report.plan import LINKED, PRIMARY, SuppressionPlan


def _hidden(plan):
    return {k: (plan.hidden(k).kind if plan.hidden(k) else None) for k in plan.keys}


def test_status_partition_hides_a_second_status_so_active_cannot_be_subtracted():
    # issue 11: members 64 = completed 47 + dropped 15 + active 2; "<11" for active alone leaks it
    p = SuppressionPlan(11)
    for k, v in {"members": 64, "completed": 47, "dropped": 15, "active": 2}.items():
        p.count(k, v)
    p.total(["completed", "dropped", "active"], "members")
    h = _hidden(p.decide())
    assert h["active"] == PRIMARY
    assert h["dropped"] == LINKED  # the smallest other part is hidden too
    assert h["members"] is None and h["completed"] is None


def test_two_by_two_with_margins_hides_a_rectangle():
    p = SuppressionPlan(11)
    vals = dict(a=5, b=20, c=30, d=40, r1=25, r2=70, c1=35, c2=60, t=95)
    for k, v in vals.items():
        p.count(k, v)
    for parts, tot in ((["a", "b"], "r1"), (["c", "d"], "r2"), (["a", "c"], "c1"), (["b", "d"], "c2"),
                       (["r1", "r2"], "t")):
        p.total(parts, tot)
    h = _hidden(p.decide())
    assert {k for k, v in h.items() if v} == {"a", "b", "c", "d"}


def _determined(plan, key):
    """The attacker: unknowns = hidden counts; ``key`` is determined iff e_key is in the row space."""
    hidden = [k for k in plan.keys if not plan.is_shown(k)]
    rels = [r for r in plan.relations() if any(k in r for k in hidden)]
    if not rels:
        return False
    A = np.array([[r.get(k, 0) for k in hidden] for r in rels], float)
    _, s, vt = np.linalg.svd(A)
    null = vt[int((s > 1e-9).sum()):]
    return not len(null) or np.abs(null[:, hidden.index(key)]).max() < 1e-8


def test_the_system_of_relations_is_solved_not_only_each_relation():
    # x, y, z are all small (hidden); every relation has two hidden cells, so no single subtraction
    # gives one back -- but the three relations together fix all three. The plan must hide more.
    p = SuppressionPlan(11)
    for k, v in {"x": 3, "y": 5, "z": 8, "A": 20, "B": 28, "C": 20, "D": 33, "E": 20, "F": 31}.items():
        p.count(k, v)
    p.total(["x", "y", "A"], "B")
    p.total(["y", "z", "C"], "D")
    p.total(["x", "z", "E"], "F")
    before = SuppressionPlan(11)
    for k in p.keys:
        before.count(k, p.value(k))
    for r in p.relations():
        before.relation(r)
    before._hidden = np.array([k in "xyz" for k in before.keys])  # primary suppression only
    before._primary = before._hidden.copy()
    assert all(_determined(before, k) for k in "xyz")  # the leak the single-relation rule misses
    p.decide()
    assert not any(_determined(p, k) for k in "xyz")
    assert p.n_hidden == 4


def test_a_small_difference_that_is_never_printed_is_protected():
    # people 100 and enrolments 103 are both counts; their difference (3 people in two groups) is small
    p = SuppressionPlan(11)
    p.count("people", 100)
    p.count("enrolments", 103)
    p.count("repeat", 3, exposed=False)
    p.total(["people", "repeat"], "enrolments")
    p.decide()
    assert p.is_shown("enrolments") != p.is_shown("people")
    assert p.hidden("repeat") is None  # not printed anywhere: nothing to mark


def test_a_large_unprinted_difference_needs_no_protection():
    p = SuppressionPlan(11)
    p.count("a", 100)
    p.count("b", 60)
    p.count("d", 40, exposed=False)
    p.total(["b", "d"], "a")
    assert p.decide().n_hidden == 0


def test_estimates_say_why_they_are_hidden():
    p = SuppressionPlan(11)
    p.count("n_small", 6)
    p.count("n_big", 40)
    p.count("n_linked", 30)
    p.count("total", 76)
    p.total(["n_small", "n_big", "n_linked"], "total")
    p.decide()
    assert p.estimate_reason(("n_small",)).text == "fewer than 11 people"
    assert p.estimate_reason(("n_big",)) is None or p.estimate_reason(("n_linked",)) is None
    hidden_big = "n_big" if not p.is_shown("n_big") else "n_linked"
    assert p.estimate_reason((), (hidden_big,)).kind == LINKED  # a share would give it back
    assert "<" not in p.estimate_reason(("n_small",)).text


def test_zero_is_shown_and_internal_audiences_hide_nothing():
    p = SuppressionPlan(11)
    p.count("zero", 0)
    p.count("seven", 7)
    p.decide()
    assert p.is_shown("zero") and not p.is_shown("seven")
    q = SuppressionPlan(11, active=False)
    q.count("seven", 7)
    q.decide()
    assert q.is_shown("seven") and q.estimate_reason(("seven",)) is None


def test_plan_errors_are_config_errors():
    p = SuppressionPlan(11)
    p.count("a", 5)
    with pytest.raises(ConfigError, match="registered twice"):
        p.count("a", 6)
    with pytest.raises(ConfigError, match="not decided"):
        p.hidden("a")
    p.decide()
    with pytest.raises(ConfigError, match="after the plan was decided"):
        p.count("b", 1)
