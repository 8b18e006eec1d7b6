"""parse_dates / infer_dayfirst against dates worked out by hand."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from groupeval.base.exceptions import ReadError
from groupeval.io import parse_dates
from groupeval.io._dates import infer_dayfirst

T = pd.Timestamp


@pytest.mark.parametrize("text,expected", [
    ("2025-03-02", T("2025-03-02")),
    ("2025-3-2", T("2025-03-02")),
    ("2025-03-02 18:05", T("2025-03-02")),
    ("2025-03-02T18:05:59", T("2025-03-02")),
    ("2025/03/02", T("2025-03-02")),
    ("2 March 2025", T("2025-03-02")),
    ("Mar 2, 2025", T("2025-03-02")),
    ("02-Mar-2025", T("2025-03-02")),
])
def test_unambiguous_formats_by_hand(text, expected):
    out, bad, _ = parse_dates(pd.Series([text, None]))
    assert out.iloc[0] == expected and pd.isna(out.iloc[1]) and not bad.any()


def test_day_first_proven_by_a_day_above_12():
    out, bad, df = parse_dates(pd.Series(["03/02/2025", "13/02/2025", "3.2.25"]))
    assert df is True and not bad.any()
    assert out.tolist() == [T("2025-02-03"), T("2025-02-13"), T("2025-02-03")]


def test_month_first_proven_by_a_second_number_above_12():
    out, _, df = parse_dates(pd.Series(["03/02/2025", "03/16/2025"]))
    assert df is False and out.tolist() == [T("2025-03-02"), T("2025-03-16")]


def test_identical_readings_need_no_decision():
    out, _, _ = parse_dates(pd.Series(["01/01/2025", "02/02/2025"]))
    assert out.tolist() == [T("2025-01-01"), T("2025-02-02")]


def test_ambiguous_and_contradictory():
    with pytest.raises(ReadError, match=r"(?s)day-first or month-first.*03/02/2025.*dayfirst=True"):
        infer_dayfirst(["03/02/2025", "04/02/2025"], label="x.csv", column="session_date")
    with pytest.raises(ReadError, match=r"both day-first and month-first"):
        infer_dayfirst(["13/02/2025", "02/13/2025"], label="x.csv")
    assert infer_dayfirst(["03/02/2025"], dayfirst=False) is False


def test_invalid_values_are_flagged_not_guessed():
    s = pd.Series(["2025-02-30", "31/02/2025", "soon", "", 45717, dt.datetime(2025, 3, 2, 9, 30)], dtype=object)
    out, bad, _ = parse_dates(s, dayfirst=True)
    assert bad.tolist() == [True, True, True, False, True, False]
    assert out.iloc[5] == T("2025-03-02")        # real Excel datetime, time of day dropped


def test_datetime_column_passes_through_normalised():
    s = pd.Series(pd.to_datetime(["2025-03-02 10:00", "2025-03-03 00:00"]))
    out, bad, _ = parse_dates(s)
    assert out.tolist() == [T("2025-03-02"), T("2025-03-03")] and str(out.dtype) == "datetime64[ns]"
    tz = pd.Series(pd.to_datetime(["2025-03-02 23:30"]).tz_localize("UTC"))
    assert parse_dates(tz)[0].iloc[0] == T("2025-03-02")


def test_many_rows_few_distinct_values_stay_exact():
    days = pd.date_range("2024-12-30", periods=40, freq="7D")
    texts = np.tile(days.strftime("%d/%m/%Y").to_numpy(), 500)
    out, bad, df = parse_dates(pd.Series(texts))
    assert df is True and not bad.any()
    assert (out.to_numpy() == np.tile(days.to_numpy(), 500)).all()
