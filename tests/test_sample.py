"""Tests of the synthetic sample programme (groupeval.sample).

Sources of truth: the schema in groupeval.base.schema (dtypes), the closed-form
graded-response expectation checked against independent numerical
integration (scipy.integrate.quad) and a large Monte-Carlo draw made by a
separate sampler, and the scoring rules of /work/shared/instruments.md.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from groupeval import sample
from groupeval.base.dataset import Dataset
from groupeval.base.exceptions import ConfigError
from groupeval.base.schema import TABLES

KIND_DTYPES = {"id": "string", "string": "string", "category": "string", "bool": "bool",
               "date": "datetime64[ns]"}


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return sample.generate(seed=2025)


@pytest.fixture(scope="module")
def big() -> Dataset:
    return sample.generate(seed=7, n_members=30_000)


# ---------------------------------------------------------------- schema -----
@pytest.mark.parametrize("table", list(TABLES))
def test_tables_have_canonical_columns_and_dtypes(ds, table):
    spec = TABLES[table]
    df = getattr(ds, table)
    for col in spec.required:
        assert col in df.columns, f"{table} lacks {col}"
    for col, kind in spec.kinds.items():
        if col in df.columns:
            assert str(df[col].dtype) == KIND_DTYPES[kind], (table, col, df[col].dtype)
            if KIND_DTYPES[kind] == "string":      # the storage groupeval.validation.checks uses
                assert df[col].dtype == pd.StringDtype("pyarrow"), (table, col)
    if spec.key:
        assert not df.duplicated(list(spec.key)).any()
    for col in df.columns:
        if "date" in col or col.endswith("_on"):
            ser = df[col].dropna()
            assert (ser == ser.dt.normalize()).all()


def test_responses_items_are_raw_numbers_in_each_instruments_range(ds):
    for name, model in sample.ITEM_MODELS.items():
        items = ds.responses[model.columns]
        assert all(items.dtypes == "float64")
        vals = items.stack().to_numpy()
        assert vals.min() >= model.item_min and vals.max() <= model.item_max
        assert np.all(vals == np.round(vals))
        # every category is used somewhere
        assert len(np.unique(vals)) == model.n_categories, name


def test_dataset_meta_and_timepoints(ds):
    assert ds.timepoints == ("baseline", "week_12", "week_26")
    assert ds.meta["instruments"] == ("brs", "who5", "whoqol_bref", "phq9")
    assert ds.meta["seed"] == 2025
    assert ds.cutoff == ds.sessions["session_date"].max()
    truth = ds.meta["truth"]
    for key in ("icc", "dropout_share_26w", "attendance_rate", "change", "change_by_group_type"):
        assert key in truth


def test_same_seed_same_data_and_different_seed_differs():
    a, b, c = sample.generate(seed=11), sample.generate(seed=11), sample.generate(seed=12)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.meta["truth"] == b.meta["truth"]
    assert not a.attendance.equals(c.attendance)


def test_no_identifiers_in_any_table(ds):
    # an explicit allow-list: no names, contact details or birth dates anywhere
    allowed = {
        "groups": {"group_id", "group_type", "facilitation", "format", "site", "meeting_frequency",
                   "start_date", "end_date"},
        "members": {"member_id", "group_id", "enrolled_on", "exited_on", "exit_reason", "age_band", "gender"},
        "sessions": {"group_id", "session_date", "cancelled"},
        "attendance": {"member_id", "group_id", "session_date", "attended", "status"},
        "responses": {"member_id", "timepoint", "completed_on", "group_id",
                      *[c for m in sample.ITEM_MODELS.values() for c in m.columns]},
    }
    for name, df in ds.tables().items():
        assert set(df.columns) == allowed[name], name


# -------------------------------------------------------------- realism -----
def test_groups_cover_four_types_and_both_facilitation_kinds(ds):
    g = ds.groups
    assert len(g) == 12
    assert set(g["group_type"]) == set(sample.GROUP_TYPES)
    assert set(g["facilitation"]) == {"peer", "co-facilitated"}
    assert (g["meeting_frequency"] == "weekly").all()
    assert g["group_id"].str.fullmatch(r"G\d\d").all()
    assert ds.members["member_id"].str.fullmatch(r"M\d{4}").all()


def test_sessions_are_weekly_with_a_few_cancelled_and_no_attendance_on_them(ds):
    s = ds.sessions.sort_values(["group_id", "session_date"])
    gaps = s.groupby("group_id")["session_date"].diff().dropna()
    assert (gaps == pd.Timedelta(days=7)).all()
    assert s.groupby("group_id").size().eq(27).all()
    n_cancelled = int(s["cancelled"].sum())
    assert 1 <= n_cancelled <= 0.1 * len(s)
    cancelled = s.loc[s["cancelled"], ["group_id", "session_date"]]
    hit = ds.attendance.merge(cancelled, on=["group_id", "session_date"])
    assert hit.empty
    # every attendance row is on a scheduled session of the member's group
    on_schedule = ds.attendance.merge(s, on=["group_id", "session_date"], how="left", indicator=True)
    assert (on_schedule["_merge"] == "both").all()


def test_attendance_rows_lie_within_enrolment(ds):
    a = ds.attendance.merge(ds.members, on=["member_id", "group_id"])
    assert (a["session_date"] >= a["enrolled_on"]).all()
    assert ((a["session_date"] <= a["exited_on"]) | a["exited_on"].isna()).all()
    assert set(a["status"]) == {"present", "late", "absent", "excused"}
    assert (a["attended"] == a["status"].isin(["present", "late"])).all()


def _first_sessions(ds: Dataset) -> pd.DataFrame:
    return ds.sessions.groupby("group_id", as_index=False)["session_date"].min().rename(
        columns={"session_date": "start_date"})


def test_rolling_enrolment_and_late_entry(ds):
    m = ds.members.merge(_first_sessions(ds), on="group_id")
    weeks = (m["enrolled_on"] - m["start_date"]).dt.days / 7
    assert (weeks < 0).sum() >= 5                   # enrolled before the data window (late entry)
    g = ds.groups.set_index("group_id")
    open_ = g["group_type"].isin(["12-step", "mental-health recovery"])
    assert (m.loc[weeks < 0, "group_id"].map(open_)).all()    # only open groups have members from before
    assert (m["enrolled_on"] >= m["group_id"].map(g["start_date"])).all()   # never before the group existed
    assert (weeks == 0).sum() >= 0.2 * len(m)
    assert weeks.between(1, 8).sum() >= 0.2 * len(m)  # rolling enrolment over the first weeks


def test_exit_reasons_and_dates(ds):
    m = ds.members
    assert set(m["exit_reason"].dropna()) <= {"completed", "dropped", "moved", "other"}
    assert {"completed", "dropped"} <= set(m["exit_reason"].dropna())
    assert (m["exit_reason"].isna() == m["exited_on"].isna()).all()
    assert (m["exited_on"].dropna() >= m.loc[m["exited_on"].notna(), "enrolled_on"]).all()


def _stop_weeks(ds: Dataset) -> pd.DataFrame:
    """Weeks from enrolment to the last attended session; whether the member stopped."""
    a = ds.attendance
    last_att = a[a["attended"]].groupby("member_id")["session_date"].max()
    last_sched = a.groupby("member_id")["session_date"].max()
    m = ds.members.set_index("member_id")
    out = pd.DataFrame({"last_att": last_att, "last_sched": last_sched}).join(m)
    return out


def test_about_a_third_drop_out_by_26_weeks(big):
    truth = big.meta["truth"]
    assert truth["dropout_share_26w"] == pytest.approx(1 / 3)
    # members who joined at the first session are followed for 26 weeks: count who stopped
    # attending for good (no attendance in the last 4 scheduled weeks of the window)
    m = big.members.merge(_first_sessions(big), on="group_id")
    fresh = m[m["enrolled_on"] == m["start_date"]]["member_id"]
    a = big.attendance[big.attendance["member_id"].isin(fresh)]
    cut = big.cutoff - pd.Timedelta(days=27)
    still = a[a["attended"] & (a["session_date"] >= cut)]["member_id"].unique()
    stopped = 1 - len(still) / fresh.nunique()
    # a continuing member misses 4 sessions in a row by chance sometimes: allow for it
    assert 0.30 <= stopped <= 0.42, stopped


def test_package_retention_estimate_is_near_the_true_dropout_share(big):
    """Kaplan-Meier with the package's default dropout rule on 30 000 members: 26-week dropout
    within 2 points of truth (the rule cannot see stops in the last 2 weeks of follow-up)."""
    import warnings

    import groupeval as ge
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = ge.retention(big).table
    at26 = table.loc[table["time"] <= 26, "retention"].iloc[-1]
    assert abs((1 - at26) - big.meta["truth"]["dropout_share_26w"]) < 0.02, at26


def test_dropout_truth_by_facilitation_is_the_weibull_mixture_by_hand(big):
    t = big.meta["truth"]
    k, lam = t["dropout_model"]["shape"], t["dropout_model"]["scale_weeks"]
    hr = t["dropout_hazard_ratio"]["co-facilitated"]
    by = t["dropout_share_26w_by_facilitation"]
    assert by["peer"] == pytest.approx(1 - math.exp(-(26 / lam) ** k), rel=1e-12)
    assert by["co-facilitated"] == pytest.approx(1 - math.exp(-hr * (26 / lam) ** k), rel=1e-12)
    share = big.members["group_id"].map(big.groups.set_index("group_id")["facilitation"]).eq("co-facilitated").mean()
    assert (1 - share) * by["peer"] + share * by["co-facilitated"] == pytest.approx(t["dropout_share_26w"], abs=1e-9)


def test_cox_model_recovers_the_true_facilitation_hazard_ratio(big):
    import warnings

    import groupeval as ge
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cox = ge.cox_model(big, covariates=["facilitation"]).summary
    row = cox[cox["term"].str.contains("facilitation")].iloc[0]
    true = big.meta["truth"]["dropout_hazard_ratio"]["co-facilitated"]
    true = 1 / true if "peer" in row["term"] else true           # the reference level may be either
    assert row["ci_low"] < true < row["ci_high"], (row["hr"], true)


def test_about_70_percent_attendance_while_enrolled(big):
    rate = big.attendance["attended"].mean()
    assert 0.62 <= rate <= 0.75, rate


def test_missing_follow_ups_and_items_concentrate_among_dropouts(big):
    m = big.members
    dropped = m["exit_reason"].isin(["dropped", "moved", "other"])
    completed = m["exit_reason"].eq("completed")
    r = big.responses
    has26 = m["member_id"].isin(r.loc[r["timepoint"] == "week_26", "member_id"])
    assert has26[dropped].mean() < has26[completed].mean() - 0.3
    items = [c for c in r.columns if c.startswith(("brs_", "who5_", "whoqol_bref_", "phq9_"))]
    miss = r[items].isna().mean(axis=1)
    ids_dropped = set(m.loc[dropped, "member_id"])
    ids_completed = set(m.loc[completed, "member_id"])
    assert miss[r["member_id"].isin(ids_dropped)].mean() > 2 * miss[r["member_id"].isin(ids_completed)].mean()


def test_completed_on_near_each_timepoint(ds):
    r = ds.responses.merge(_first_sessions(ds), on="group_id")
    days = (r["completed_on"] - r["start_date"]).dt.days
    assert days[r["timepoint"] == "week_12"].between(84 - 7, 84 + 10).all()
    assert days[r["timepoint"] == "week_26"].between(182 - 11, 182).all()
    assert (r["completed_on"] <= ds.cutoff).all()


def test_generate_rejects_bad_arguments_listing_all():
    with pytest.raises(ConfigError, match=r"weeks must be at least 16.*icc must be in \[0, 1\)"):
        sample.generate(weeks=5, icc=1.5)
    with pytest.raises(ConfigError, match="unknown group types"):
        sample.generate(effects={"yoga": {"week_12": 0.1}})


def test_scales_to_many_members_quickly():
    import time
    t0 = time.perf_counter()
    big = sample.generate(seed=1, n_members=20_000)
    assert time.perf_counter() - t0 < 5
    assert len(big.members) == 20_000
    assert big.members["member_id"].is_unique


# ------------------------------------------------------ truth exactness -----
@pytest.mark.parametrize("name", list(sample.ITEM_MODELS))
def test_expected_items_match_scipy_quad_integration(name):
    """Closed form E[X_j] vs scipy.integrate.quad over the latent density."""
    model = sample.ITEM_MODELS[name]
    lam, thr = model.arrays()
    m, v = 0.37, 1.21
    got = sample.expected_items(model, m, v)
    for j in range(0, model.n_items, 1 if model.n_items < 10 else 4):
        def f(theta, j=j):
            p = stats.norm.cdf(lam[j] * (model.sign * theta - thr[j]))
            return p.sum() * stats.norm.pdf(theta, m, math.sqrt(v))
        val, _ = integrate.quad(f, -12, 12, limit=200)
        assert got[j] == pytest.approx(model.item_min + val, abs=1e-9)


def _mc_items(model, m, v, n, rng):
    """Independent sampler: category probabilities given theta, then a categorical draw."""
    lam, thr = model.arrays()
    theta = rng.normal(m, math.sqrt(v), n)
    p_ge = stats.norm.cdf(lam[None, :, None] * (model.sign * theta[:, None, None] - thr[None]))
    u = rng.random((n, model.n_items))
    return model.item_min + (u[:, :, None] < p_ge).sum(axis=2)   # P(X >= c) = P(u < p_ge_c)


@pytest.mark.parametrize("name", list(sample.ITEM_MODELS))
def test_expected_scores_match_independent_monte_carlo_sampler(name):
    model = sample.ITEM_MODELS[name]
    rng = np.random.default_rng(99)
    x = _mc_items(model, 0.2, 1.05, 120_000, rng)
    exp = sample.expected_scores(name, 0.2, 1.05)
    for sc, (w, const) in sample.SCORES[name].items():
        s = const + x @ w
        se = s.std() / math.sqrt(len(s))
        assert abs(s.mean() - exp[sc]) < 4 * se, (sc, s.mean(), exp[sc])


def test_truth_change_is_the_expected_score_difference(ds):
    t = ds.meta["truth"]
    for name in ("brs", "who5", "phq9"):
        for gt in sample.GROUP_TYPES:
            e = t["expected_score"][name]["score"][gt]
            assert t["change_by_group_type"][name][gt]["week_26"] == pytest.approx(e["week_26"] - e["baseline"])
    assert t["change"]["phq9"]["week_26"] < t["change"]["phq9"]["week_12"] < 0
    assert t["change"]["brs"]["week_26"] > t["change"]["brs"]["week_12"] > 0
    assert t["change"]["who5"]["week_26"] > 0
    # differs by group type
    by = t["change_by_group_type"]["phq9"]
    assert len({round(by[gt]["week_26"], 6) for gt in sample.GROUP_TYPES}) >= 3


def test_null_programme_has_zero_true_change():
    t = sample.generate(seed=3, effect_scale=0.0).meta["truth"]
    # the dose effect still adds variance, which moves the expected score a little
    for name in ("brs", "who5", "phq9"):
        assert abs(t["change"][name]["week_26"]) < 0.02 * (10 if name != "brs" else 1)
    t0 = sample.generate(seed=3, effect_scale=0.0).meta["truth"]
    assert t0["effects"]["12-step"]["week_26"] == 0.0


def test_latent_icc_truth_is_the_variance_ratio_by_hand(ds):
    t = ds.meta["truth"]
    vc = t["variance_components"]
    assert t["icc"] == pytest.approx(vc["group"] / (vc["group"] + vc["member"] + vc["occasion"]))
    assert t["icc"] == pytest.approx(0.05)


# ---------------------------------------------------------------- recovery -----
def test_truth_score_weights_match_groupeval_score_exactly():
    """The affine scores behind the truth are exactly what groupeval.score computes."""
    import groupeval as ge
    rng = np.random.default_rng(4)
    for name, model in sample.ITEM_MODELS.items():
        raw = rng.integers(model.item_min, model.item_max + 1, (50, model.n_items)).astype(float)
        df = pd.DataFrame(raw, columns=model.columns)
        df.insert(0, "timepoint", "baseline")
        df.insert(0, "member_id", [f"M{i:04d}" for i in range(50)])
        got = ge.score(df, name)
        scored = raw.copy()
        if model.reverse:
            rev = np.asarray(model.reverse) - 1
            scored[:, rev] = model.item_max + model.item_min - scored[:, rev]
        for sc, (w, const) in sample.SCORES[name].items():
            np.testing.assert_allclose(got[sc].to_numpy(float), const + scored @ w, rtol=0, atol=1e-12,
                                       err_msg=f"{name}.{sc}")


def _complete_scores(ds: Dataset, name: str) -> pd.DataFrame:
    import groupeval as ge
    sc = ge.score(ds.responses, name)
    return sc[sc["n_answered"] == sample.ITEM_MODELS[name].n_items]


def _paired(sc: pd.DataFrame, col: str, tp: str) -> pd.Series:
    wide = sc.pivot(index="member_id", columns="timepoint", values=col)
    return (wide[tp] - wide["baseline"]).dropna()


def test_observed_change_of_groupeval_scores_recovers_truth_within_sampling_error(big):
    truth = big.meta["truth"]
    checked = 0
    for name in sample.INSTRUMENTS:
        sc = _complete_scores(big, name)
        for col, per_tp in truth["change_subscales"][name].items():
            for tp in ("week_12", "week_26"):
                d = _paired(sc, col, tp)
                se = d.std(ddof=1) / math.sqrt(len(d))
                assert abs(d.mean() - per_tp[tp]) < 3.5 * se, (name, col, tp, d.mean(), per_tp[tp], se)
                checked += 1
    assert checked == 2 * (1 + 2 + 10 + 1)
    # the main-score truth is the same number
    assert truth["change"]["phq9"]["week_26"] == truth["change_subscales"]["phq9"]["score"]["week_26"]
    assert truth["change"]["whoqol_bref"]["week_26"]["social"] == \
        truth["change_subscales"]["whoqol_bref"]["social"]["week_26"]


def test_change_by_group_type_recovers_truth(big):
    truth = big.meta["truth"]["change_by_group_type"]
    types = big.members.set_index("member_id")["group_id"].map(big.groups.set_index("group_id")["group_type"])
    for name in ("phq9", "who5"):
        d = _paired(_complete_scores(big, name), "score", "week_26")
        for gt, dd in d.groupby(types.reindex(d.index)):
            se = dd.std(ddof=1) / math.sqrt(len(dd))
            assert abs(dd.mean() - truth[name][gt]["week_26"]) < 3.5 * se, (name, gt)


def test_truth_would_be_detectably_wrong_if_off_by_a_little(big):
    """The recovery test has power: a truth shifted by 0.5 PHQ-9 points is rejected."""
    d = _paired(_complete_scores(big, "phq9"), "score", "week_26")
    se = d.std(ddof=1) / math.sqrt(len(d))
    assert abs(d.mean() - (big.meta["truth"]["change"]["phq9"]["week_26"] + 0.5)) > 3.5 * se


# ------------------------------------------------------------------ writing -----
@pytest.fixture(scope="module")
def written(tmp_path_factory, ds):
    return sample.write_programme(ds, tmp_path_factory.mktemp("prog"))


def test_write_programme_writes_every_file_named_in_the_toml(written):
    import tomllib
    cfg = tomllib.loads((written / "groupeval.toml").read_text())
    assert cfg["programme"]["timepoints"] == ["baseline", "week_12", "week_26"]
    assert cfg["programme"]["instruments"] == ["brs", "who5", "whoqol_bref", "phq9"]
    for key in ("groups", "members", "sessions", "attendance", "surveys"):
        assert (written / cfg["files"][key]["path"]).is_file(), key
    assert (written / cfg["files"]["surveys"]["dictionary"]).is_file()
    assert cfg["files"]["attendance"]["format"] == "wide"
    assert cfg["files"]["surveys"]["format"] == "redcap"
    assert cfg["files"]["members"]["columns"]["Participant ID"] == "member_id"
    assert (written / "truth.json").is_file()


def test_members_csv_has_raw_headers_and_no_identifiers(written, ds):
    m = pd.read_csv(written / "members.csv", dtype=str)
    assert list(m.columns) == list(sample.MEMBER_HEADERS)
    assert len(m) == len(ds.members)


def test_attendance_workbook_has_one_wide_sheet_per_group_with_excel_dates(written, ds):
    import datetime as dt

    import openpyxl
    wb = openpyxl.load_workbook(written / "attendance.xlsx", read_only=True)
    assert wb.sheetnames == list(ds.groups["group_id"])
    ws = wb["G01"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Participant ID"
    assert all(isinstance(v, dt.datetime) for v in rows[0][1:])
    held = ds.sessions[(ds.sessions["group_id"] == "G01") & ~ds.sessions["cancelled"]]
    assert len(rows[0]) - 1 == len(held)
    marks = {v for r in rows[1:] for v in r[1:]}
    assert marks == {"P", "A", "E", "L", None}
    assert len(rows) - 1 == (ds.members["group_id"] == "G01").sum()


def test_attendance_workbook_reads_back_to_the_canonical_table(written, ds):
    import groupeval as ge
    got = ge.read_attendance(written / "attendance.xlsx", format="wide",
                             columns={"Participant ID": "member_id"}, blank="not_scheduled")
    cols = ["member_id", "group_id", "session_date", "attended", "status"]
    got = got[cols].astype({"member_id": str, "group_id": str, "status": str})
    exp = ds.attendance[cols].astype({"member_id": str, "group_id": str, "status": str})
    key = ["group_id", "member_id", "session_date"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  exp.sort_values(key).reset_index(drop=True))


def test_redcap_export_has_events_forms_and_dictionary(written, ds):
    r = pd.read_csv(written / "surveys_redcap.csv", dtype=str)
    assert list(r.columns[:2]) == ["record_id", "redcap_event_name"]
    assert set(r["redcap_event_name"]) == {"baseline_arm_1", "week_12_arm_1", "week_26_arm_1"}
    for form in sample.REDCAP_FORMS.values():
        assert f"{form}_complete" in r.columns
        assert set(r[f"{form}_complete"]) <= {"0", "1", "2"}
    assert len(r) == len(ds.responses)
    d = pd.read_csv(written / "redcap_dictionary.csv", dtype=str)
    assert d.columns[0] == "Variable / Field Name"
    assert "Choices, Calculations, OR Slider Labels" in d.columns
    items = [c for c in r.columns if c.startswith(("brs_", "who5_", "whoqol_bref_", "phq9_"))
             and not c.endswith("_complete")]
    assert set(items) <= set(d["Variable / Field Name"])
    # raw values round-trip exactly
    got = r.set_index(["record_id", "redcap_event_name"])[items].apply(pd.to_numeric)
    exp = ds.responses.assign(ev=ds.responses["timepoint"] + "_arm_1").set_index(
        ["member_id", "ev"])[items]
    np.testing.assert_array_equal(got.to_numpy(), exp.to_numpy())


def test_roster_and_wide_csv_layouts(tmp_path, ds):
    out = sample.write_programme(ds, tmp_path, attendance="roster-csv", survey="wide-csv")
    roster = pd.read_csv(out / "attendance.csv")
    assert len(roster) == len(ds.attendance)
    assert set(roster["mark"]) == {"P", "A", "E", "L"}
    assert len(pd.read_csv(out / "surveys.csv")) == len(ds.responses)
    assert 'format = "roster"' in (out / "groupeval.toml").read_text()


def test_write_programme_rejects_unknown_layouts_listing_all(tmp_path, ds):
    with pytest.raises(ConfigError, match=r"attendance must be one of .*got 'pdf'.*survey must be one of"):
        sample.write_programme(ds, tmp_path, attendance="pdf", survey="paper")


def test_write_sample_writes_a_programme(tmp_path):
    out = sample.write_sample(tmp_path / "s", seed=3)
    assert (out / "groupeval.toml").is_file() and (out / "attendance.xlsx").is_file()


def test_write_programme_then_load_round_trips_every_table(written, ds):
    """groupeval.load(folder) on the written files gives back the generated tables exactly."""
    import groupeval as ge
    from groupeval.base.schema import TABLES as SPECS
    loaded = ge.load(written)
    assert len(loaded.quality) == 0
    assert loaded.timepoints == ds.timepoints
    assert loaded.cutoff == ds.cutoff
    assert tuple(loaded.meta["instruments"]) == ds.meta["instruments"]
    for name, spec in SPECS.items():
        exp = getattr(ds, name)
        got = getattr(loaded, name)
        missing = set(exp.columns) - set(got.columns)
        assert not missing, (name, missing)
        key = list(spec.key)
        pd.testing.assert_frame_equal(got[list(exp.columns)].sort_values(key).reset_index(drop=True),
                                      exp.sort_values(key).reset_index(drop=True), obj=name)


def test_roster_wide_csv_programme_loads_too(tmp_path, ds):
    import groupeval as ge
    out = sample.write_programme(ds, tmp_path, attendance="roster-csv", survey="wide-csv")
    loaded = ge.load(out)
    assert len(loaded.attendance) == len(ds.attendance)
    assert len(loaded.responses) == len(ds.responses)


def test_committed_data_sample_is_write_sample_seed_2025():
    """data/sample (used by the README) is exactly what write_sample(seed=2025) writes."""
    from pathlib import Path

    import groupeval as ge
    from groupeval.base.schema import TABLES as SPECS
    folder = Path(__file__).resolve().parents[1] / "data" / "sample"
    loaded = ge.load(folder)
    ds = sample.generate(seed=2025)
    for name, spec in SPECS.items():
        exp = getattr(ds, name)
        key = list(spec.key)
        pd.testing.assert_frame_equal(getattr(loaded, name)[list(exp.columns)].sort_values(key).reset_index(drop=True),
                                      exp.sort_values(key).reset_index(drop=True), obj=name)
    import json
    written_truth = json.loads((folder / "truth.json").read_text())
    assert written_truth["change"] == json.loads(json.dumps(ds.meta["truth"]["change"]))


def test_attendance_truth_is_the_rate_among_members_who_never_stop(big):
    """Completers of closed groups never stop (by construction), independently of their
    propensity, so their pooled attendance estimates truth["attendance_rate"] without bias."""
    m = big.members
    ids = m.loc[m["exit_reason"] == "completed", "member_id"]
    a = big.attendance[big.attendance["member_id"].isin(ids)]
    per = a.groupby("member_id")["attended"].agg(["sum", "count"])
    rate = per["sum"].sum() / per["count"].sum()
    se = math.sqrt(((per["sum"] - rate * per["count"]) ** 2).sum()) / per["count"].sum()
    assert abs(rate - big.meta["truth"]["attendance_rate"]) < 3.5 * se, (rate, se)
    # absences rarely come in runs: attending after a miss is more likely than after attending
    a = a.sort_values(["member_id", "session_date"])
    prev = a.groupby("member_id")["attended"].shift()
    ok = prev.notna()
    after_miss = a.loc[ok & (prev == False), "attended"].mean()   # noqa: E712
    after_att = a.loc[ok & (prev == True), "attended"].mean()     # noqa: E712
    assert after_miss > after_att + 0.1


@pytest.mark.parametrize("name", ["phq9", "brs"])
def test_score_icc_truth_matches_monte_carlo_of_the_item_model(name):
    """Quadrature ICC vs one-way ANOVA ICC(1) on a large independent draw (4000 groups x 50)."""
    model = sample.ITEM_MODELS[name]
    t = sample.generate(seed=1).meta["truth"]
    vc = t["variance_components"]
    rng = np.random.default_rng(5)
    n_g, k = 4000, 50
    theta = (np.repeat(rng.normal(0, math.sqrt(vc["group"]), n_g), k)
             + rng.normal(0, math.sqrt(vc["member"] + vc["occasion"]), n_g * k))
    lam, thr = model.arrays()
    p_ge = stats.norm.cdf(lam[None, :, None] * (model.sign * theta[:, None, None] - thr[None]))
    x = model.item_min + (rng.random((n_g * k, model.n_items))[:, :, None] < p_ge).sum(axis=2)
    w, const = sample.SCORES[name]["score"]
    s = (const + x @ w).reshape(n_g, k)
    msb = k * s.mean(axis=1).var(ddof=1)
    msw = s.var(axis=1, ddof=1).mean()
    icc1 = (msb - msw) / (msb + (k - 1) * msw)
    truth = t["score_icc"][name]["score"]
    assert abs(icc1 - truth) < 0.006, (icc1, truth)     # SE of ICC(1) here is about 0.0015
    assert truth < t["icc"]                             # item noise attenuates the latent ICC


def _tiny_dataset(group_id: str, member_id: str) -> Dataset:
    s = pd.StringDtype("pyarrow")
    d = pd.to_datetime(["2025-01-06", "2025-01-13", "2025-01-20"])
    return Dataset(
        groups=pd.DataFrame({"group_id": pd.Series([group_id], dtype=s),
                             "group_type": pd.Series(["12-step"], dtype=s)}),
        members=pd.DataFrame({"member_id": pd.Series([member_id, "M2"], dtype=s),
                              "group_id": pd.Series([group_id] * 2, dtype=s),
                              "enrolled_on": pd.to_datetime(["2025-01-06", "2025-01-13"])}),
        sessions=pd.DataFrame({"group_id": pd.Series([group_id] * 3, dtype=s), "session_date": d,
                               "cancelled": [False, True, False]}),
        attendance=pd.DataFrame({"member_id": pd.Series([member_id, member_id, "M2"], dtype=s),
                                 "group_id": pd.Series([group_id] * 3, dtype=s),
                                 "session_date": d[[0, 2, 2]], "attended": [True, False, True],
                                 "status": pd.Series(["late", "excused", "present"], dtype=s)}),
        responses=pd.DataFrame({"member_id": pd.Series([member_id], dtype=s),
                                "timepoint": pd.Series(["baseline"], dtype=s), "phq9_1": [1.0]}),
        timepoints=("baseline",), meta={"instruments": ("phq9",)},
    )


def test_workbook_escapes_xml_characters_and_skips_cancelled_columns(tmp_path):
    import openpyxl
    ds = _tiny_dataset("G&<1>", 'M"&<x>')
    sample.write_programme(ds, tmp_path)
    wb = openpyxl.load_workbook(tmp_path / "attendance.xlsx")
    assert wb.sheetnames == ["G&<1>"]
    rows = list(wb["G&<1>"].iter_rows(values_only=True))
    assert [r[0] for r in rows] == ["Participant ID", 'M"&<x>', "M2"]
    assert [c.date().isoformat() for c in rows[0][1:]] == ["2025-01-06", "2025-01-20"]   # no cancelled column
    assert rows[1][1:] == ("L", "E") and rows[2][1:] == (None, "P")


def test_workbook_refuses_group_ids_that_cannot_be_sheet_names(tmp_path):
    with pytest.raises(ConfigError, match=r"group ids \['G/1'\] cannot be Excel sheet names"):
        sample.write_programme(_tiny_dataset("G/1", "M1"), tmp_path)
    sample.write_programme(_tiny_dataset("G/1", "M1"), tmp_path, attendance="roster-csv")


def test_workbook_bytes_are_reproducible(tmp_path, ds):
    a = sample.write_programme(ds, tmp_path / "a") / "attendance.xlsx"
    b = sample.write_programme(ds, tmp_path / "b") / "attendance.xlsx"
    assert a.read_bytes() == b.read_bytes()


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_groups=st.integers(1, 6), weeks=st.integers(16, 40),
       size=st.integers(1, 8), cancel_rate=st.floats(0, 0.3), enrol_weeks=st.integers(1, 10),
       icc=st.floats(0, 0.5))
def test_invariants_hold_for_any_arguments(seed, n_groups, weeks, size, cancel_rate, enrol_weeks, icc):
    ds = sample.generate(seed, n_groups=n_groups, weeks=weeks, members_per_group=(size, size + 3),
                         cancel_rate=cancel_rate, enrol_weeks=enrol_weeks, icc=icc)
    assert len(ds.groups) == n_groups and ds.sessions.groupby("group_id").size().eq(weeks + 1).all()
    a = ds.attendance.merge(ds.members, on=["member_id", "group_id"], how="left", indicator=True)
    assert (a["_merge"] == "both").all()
    assert (a["session_date"] >= a["enrolled_on"]).all()
    assert ((a["session_date"] <= a["exited_on"]) | a["exited_on"].isna()).all()
    held = ds.sessions[~ds.sessions["cancelled"]]
    assert len(ds.attendance.merge(held, on=["group_id", "session_date"])) == len(ds.attendance)
    assert not ds.attendance.duplicated(["member_id", "session_date"]).any()
    assert (ds.responses["completed_on"] <= ds.cutoff).all()
    order = ds.responses.pivot(index="member_id", columns="timepoint", values="completed_on")
    for a_, b_ in (("baseline", "week_12"), ("week_12", "week_26")):
        if {a_, b_} <= set(order.columns):
            both = order[[a_, b_]].dropna()
            assert (both[a_] < both[b_]).all()
    t = ds.meta["truth"]
    assert t["icc"] == pytest.approx(icc)
    assert all(np.isfinite(v) for name in ("brs", "who5", "phq9") for v in t["change"][name].values())
