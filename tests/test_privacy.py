"""Privacy: small-cell suppression (hand-worked cases), pseudonyms, identifier checks."""
from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groupeval.base.exceptions import ConfigError, IdentifierError
from groupeval.reporting.privacy import (
    assert_no_identifiers,
    find_identifiers,
    mask_display,
    pseudonymise,
    resolve_salt,
    suppress,
    suppression_mask,
)


def _recoverable(mask: pd.DataFrame, values: pd.DataFrame, total_col=None, total_row=None) -> list[str]:
    """Relations (row or column with a total) with exactly one hidden cell."""
    bad = []
    if total_col is not None:
        for label, row in mask.iterrows():
            if row.sum() == 1:
                bad.append(f"row {label}")
    if total_row is not None:
        for col in mask.columns:
            if mask[col].sum() == 1:
                bad.append(f"column {col}")
    return bad


# --------------------------------------------------------------------------- hand cases
def test_2x3_with_margins_primary_and_complementary_by_hand():
    # rows: two group types; columns: three outcomes + row total; last row: column totals
    t = pd.DataFrame(
        {"stayed": [40, 25, 65], "dropped": [5, 30, 35], "moved": [14, 12, 26], "total": [59, 67, 126]},
        index=["peer", "co-facilitated", "Total"],
    )
    cols = ["stayed", "dropped", "moved", "total"]
    out = suppress(t, count_columns=cols, totals={"column": "total", "row": "Total"}, min_cell=11)
    hidden = out[[c + "_suppressed" for c in cols]].to_numpy()
    # By hand: 5 (<11) is primary.  Row "peer" then has one hidden cell beside a shown total:
    # hide its smallest other part, moved=14 (stayed=40 repairs no more relations).  Column
    # "dropped" still has one hidden cell: its only other part is co-facilitated's 30 -> hidden.
    # That leaves row "co-facilitated" and column "moved" with one each; moved=12 repairs both.
    # Result: a 2x2 rectangle of hidden cells, no row/column total reveals any of them.
    expected = np.array([[False, True, True, False],
                         [False, True, True, False],
                         [False, False, False, False]])
    np.testing.assert_array_equal(hidden, expected)
    assert out.loc["peer", "dropped"] is pd.NA and out.loc["Total", "dropped"] == 35
    mask = pd.DataFrame(hidden, index=t.index, columns=cols)
    assert _recoverable(mask.drop(columns="total"), t, total_col="total", total_row="Total") == []
    assert out.attrs["suppression"]["n_hidden"] == 4


def test_primary_only_when_no_totals():
    t = pd.DataFrame({"group_type": ["a", "b", "c"], "n": [10, 11, 0]})
    out = suppress(t, count_columns="n", min_cell=11)
    assert out["n_suppressed"].tolist() == [True, False, False]  # 0 reveals nobody (CMS 1-10 rule)
    assert out["n"].isna().tolist() == [True, False, False]
    out0 = suppress(t, count_columns="n", min_cell=11, suppress_zero=True)
    assert out0["n_suppressed"].tolist() == [True, False, True]


def test_min_cell_boundary_is_strict():
    t = pd.DataFrame({"n": [4, 5, 6]})
    assert suppress(t, count_columns="n", min_cell=5)["n_suppressed"].tolist() == [True, False, False]


def test_single_hidden_part_with_total_hides_next_smallest():
    t = pd.DataFrame({"a": [3], "b": [50], "c": [20], "total": [73]})
    m = suppression_mask(t, count_columns=["a", "b", "c", "total"], totals="total")
    assert m.iloc[0].tolist() == [True, False, True, False]


def test_zero_parts_stay_shown_when_two_cells_already_hide_each_other():
    # b=7 and its total 7 are both primary: the relation has two hidden cells, so the zero stays.
    t = pd.DataFrame({"a": [0], "b": [7], "total": [7]})
    m = suppression_mask(t, count_columns=["a", "b", "total"], totals="total")
    assert m.iloc[0].tolist() == [False, True, True]


def test_zero_part_hidden_when_it_is_the_only_complement_left():
    # a=4 primary, b=0 is the only other part: it must be hidden or a = total - 0.
    t = pd.DataFrame({"a": [4, 20], "b": [0, 30], "total": [4 + 0 + 0, 50]})
    t.loc[0, "total"] = 4
    m = suppression_mask(t, count_columns=["a", "b", "total"], totals="total")
    assert m.iloc[0].tolist() == [True, False, True]  # total 4 is itself primary: two hidden, done
    t2 = pd.DataFrame({"a": [4], "b": [0], "c": [0], "total": [4]})
    t2["total"] = 40  # an inconsistent but shown total still forces a complement
    m2 = suppression_mask(t2, count_columns=["a", "b", "c", "total"], totals="total")
    assert m2.iloc[0].tolist() == [True, True, False, False]


def test_estimates_follow_their_counts():
    t = pd.DataFrame({"category": ["improved", "unchanged", "deteriorated"], "n": [30, 40, 4],
                      "share": [30 / 74, 40 / 74, 4 / 74], "share_ci_low": [0.3, 0.4, 0.01]})
    out = suppress(t, count_columns="n", estimates={"share": "n", "share_ci_low": "n"})
    assert out["share"].isna().tolist() == [False, False, True]
    assert out["share_ci_low_suppressed"].tolist() == [False, False, True]
    # shares shown for the rest are unchanged and unrounded
    assert out.loc[0, "share"] == 30 / 74


def test_mean_hidden_when_its_n_is_below_min_cell():
    t = pd.DataFrame({"group_type": ["a", "b"], "n": [8, 40], "mean_change": [-3.1, -2.0]})
    out = suppress(t, count_columns="n", estimates={"mean_change": "n"})
    assert np.isnan(out.loc[0, "mean_change"]) and out.loc[1, "mean_change"] == -2.0


def test_program_and_research_audiences_are_not_suppressed():
    t = pd.DataFrame({"n": [1, 2, 30]})
    for aud in ("program", "research"):
        out = suppress(t, count_columns="n", audience=aud)
        pd.testing.assert_frame_equal(out, t)
        assert out.attrs["suppression"]["applied"] is False


def test_bad_arguments_raise_config_errors_naming_the_fix():
    t = pd.DataFrame({"n": [1, 2]})
    with pytest.raises(ConfigError,
                       match=r"audience must be one of 'program', 'research', 'funder', 'public', got 'board'"):
        suppress(t, count_columns="n", audience="board")
    with pytest.raises(ConfigError, match=r"count_columns \['x'\] are not columns"):
        suppress(t, count_columns="x")
    with pytest.raises(ConfigError, match="min_cell must be a whole number of at least 1, got 0"):
        suppress(t, count_columns="n", min_cell=0)
    with pytest.raises(ConfigError, match=r"totals\['row'\]='Total' matches no row"):
        suppress(t, count_columns="n", totals={"row": "Total"})
    with pytest.raises(ConfigError, match="estimates name columns"):
        suppress(t, count_columns="n", estimates={"mean": "n"})


def test_mask_display_marks_hidden_cells_and_drops_flags():
    t = pd.DataFrame({"g": ["a", "b"], "n": [3, 30], "mean": [1.0, 2.5]})
    shown = mask_display(suppress(t, count_columns="n", estimates={"mean": "n"}), min_cell=11)
    assert list(shown.columns) == ["g", "n", "mean"]
    assert shown["n"].tolist() == ["<11", 30]
    # a mean is not a count: it says why it is hidden, never "<11" (issue 11.2)
    assert shown.loc[0, "mean"] == "—, not shown: fewer than 11 people" and shown.loc[1, "mean"] == 2.5


def test_within_blocks_have_their_own_total_rows():
    t = pd.DataFrame({"site": ["x", "x", "x", "y", "y", "y"], "label": ["a", "b", "total"] * 2,
                      "n": [4, 30, 34, 20, 25, 45]}).set_index("label")
    m = suppression_mask(t, count_columns="n", totals={"row": "total", "within": "site"})
    assert m["n"].tolist() == [True, True, False, False, False, False]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 60), min_size=2, max_size=5), min_size=2, max_size=5)
       .filter(lambda rows: len({len(r) for r in rows}) == 1))
def test_no_hidden_cell_is_recoverable_from_one_total_property(rows):
    body = pd.DataFrame(rows, columns=[f"c{j}" for j in range(len(rows[0]))])
    body["total"] = body.sum(axis=1)
    table = pd.concat([body, body.sum().to_frame().T], ignore_index=True)
    table.index = [*range(len(rows)), "Total"]
    cols = list(table.columns)
    m = suppression_mask(table, count_columns=cols, totals={"column": "total", "row": "Total"})
    values = table[cols].to_numpy()
    # every primary cell is hidden
    assert (m.to_numpy() | ~((values > 0) & (values < 11))).all()
    # no row (parts + row total) and no column (parts + column total) has exactly one hidden cell
    assert not (m.sum(axis=1) == 1).any(), m
    assert not (m.sum(axis=0) == 1).any(), m


# --------------------------------------------------------------------------- pseudonyms
def test_pseudonyms_are_hmac_sha256_of_the_id_truncated():
    ids = pd.Series(["M0001", "M0002", "M0001", None], dtype="string")
    out = pseudonymise(ids, salt="s3cret-salt-for-tests-0042")
    expected = "P-" + hmac.new(b"s3cret-salt-for-tests-0042", b"M0001", hashlib.sha256).hexdigest()[:10]
    assert out[0] == expected and out[2] == expected and out[1] != expected and pd.isna(out[3])


def test_pseudonyms_stable_and_salted():
    df = pd.DataFrame({"member_id": ["M0001", "M0002"], "x": [1, 2]})
    a = pseudonymise(df, salt="first-salt-for-a-test")
    b = pseudonymise(df.iloc[::-1], salt="first-salt-for-a-test")
    c = pseudonymise(df, salt="second-salt-for-a-test")
    assert a.set_index("x")["member_id"].equals(b.set_index("x")["member_id"].sort_index())
    assert not set(a["member_id"]) & set(c["member_id"])
    assert df["member_id"].tolist() == ["M0001", "M0002"]  # input untouched


def test_pseudonymise_refuses_empty_salt_and_detects_collisions():
    with pytest.raises(ConfigError, match="too weak"):
        pseudonymise(pd.Series(["a"]), salt="")
    with pytest.raises(ConfigError, match="length must be an integer from 8 to 64"):
        pseudonymise(pd.Series(["a"]), salt="a-long-enough-test-salt", length=4)


def test_resolve_salt_order_env_then_file(tmp_path, monkeypatch):
    monkeypatch.delenv("GROUPEVAL_SALT", raising=False)
    assert resolve_salt("a-given-salt-0123456") == "a-given-salt-0123456"
    first = resolve_salt(directory=tmp_path)
    assert (tmp_path / ".groupeval_salt").read_text().strip() == first and len(first) == 64
    assert resolve_salt(directory=tmp_path) == first  # stable across runs
    monkeypatch.setenv("GROUPEVAL_SALT", "salt-from-the-environment")
    assert resolve_salt(directory=tmp_path) == "salt-from-the-environment"
    monkeypatch.delenv("GROUPEVAL_SALT")
    with pytest.raises(ConfigError, match="no salt for pseudonyms"):
        resolve_salt()


# --------------------------------------------------------------------------- identifier checks
class _DS:
    members = pd.DataFrame({"member_id": ["M0001", "M0012"], "first_name": ["Alice", "Bob"]})


def test_find_identifiers_lists_every_hit():
    text = "Report. M0012 came; mail bob@example.org or call 555-123-4567. Alice said hi. p = 0.1234567890"
    probs = find_identifiers(text, _DS())
    kinds = sorted(p.reason for p in probs)
    assert kinds == ["output contains a email", "output contains a member id", "output contains a name",
                     "output contains a phone"]
    with pytest.raises(IdentifierError, match=r"4 problem\(s\)"):
        assert_no_identifiers(text, _DS())


def test_ids_inside_longer_tokens_and_base64_images_are_not_hits():
    text = 'M00123 xM0001 <img src="data:image/png;base64,AAAA+M0001/BBBB=="> 2025-01-06 95% CI [1.2, 3.4]'
    assert find_identifiers(text, _DS()) == []


def test_identifier_check_reads_csv_and_xlsx(tmp_path):
    df = pd.DataFrame({"member_id": ["M0001"], "n": [3]})
    df.to_csv(tmp_path / "t.csv", index=False)
    df.to_excel(tmp_path / "t.xlsx", index=False)
    probs = find_identifiers(tmp_path, _DS())
    assert sorted(p.file for p in probs) == ["t.csv", "t.xlsx[Sheet1]"]
    assert find_identifiers(pd.DataFrame({"Email": ["x"]})) != []


def test_flow_relations_protect_a_small_loss_between_stages():
    # enrolled 200 -> attended 195 (5 lost) -> baseline 180 (15 lost): the 5 is primary; the
    # relation 200 = 195 + 5 would give it back, so 195 goes; then 195 = 180 + 15 has one hidden
    # cell, and the smaller part, 15, goes too.
    flow = pd.DataFrame({"stage": ["enrolled", "attended", "baseline"], "n": [200, 195, 180],
                         "n_lost": [np.nan, 5, 15]})
    rel = [([(k, "n"), (k, "n_lost")], (k - 1, "n")) for k in (1, 2)]
    m = suppression_mask(flow, count_columns=["n", "n_lost"], relations=rel)
    assert m["n"].tolist() == [False, True, False] and m["n_lost"].tolist() == [False, True, True]
    with pytest.raises(ConfigError, match="outside 0..2"):
        suppression_mask(flow, count_columns=["n", "n_lost"], relations=[([(3, "n")], (0, "n"))])


def test_estimate_hidden_when_its_denominator_is_small_but_the_denominator_is_not_a_count_cell():
    # Kaplan-Meier at 26 weeks with 40 members but only 6 still at risk: the estimate goes,
    # the at-risk column is left for the caller to drop, and no complementary cell is touched.
    t = pd.DataFrame({"n": [40, 50], "retention_26w": [0.6, 0.7], "at_risk_26w": [6, 30]})
    out = suppress(t, count_columns="n", denominators={"retention_26w": "at_risk_26w"})
    assert out["retention_26w"].isna().tolist() == [True, False]
    assert out["n_suppressed"].tolist() == [False, False] and out["at_risk_26w"].tolist() == [6, 30]


def test_numbers_in_table_cells_are_not_phone_numbers():
    assert find_identifiers("183\t174\t165\n0.0001234 12 345 6789") == []
