"""plotting.py: every figure returns an Axes and draws exactly what it claims.

Sources of truth: the result object's own numbers (the figure must show them
unchanged), closed forms (number at risk without late entry = #{T_i >= t};
Jacobson-Truax band y = x ± 1.96·Sdiff), and hand-built tables.
"""
from __future__ import annotations

import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from groupeval import plotting as gp  # noqa: E402
from groupeval.base.exceptions import ConfigError, SchemaError  # noqa: E402

ID_PATTERN = re.compile(r"M\d{4}")
N_LABELS = {"recovered": "Recovered", "improved": "Improved reliably", "unchanged": "No reliable change",
            "deteriorated": "Got worse", "harmed": "Got worse, into the clinical range"}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.figure.findobj(Text)]


def _by_gid(ax, gid):
    return [a for a in ax.figure.findobj() if getattr(a, "get_gid", lambda: None)() == gid]


def _save(ax, tmp_path, name):
    path = tmp_path / f"{name}.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 5_000


# ---------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------
def _km_table(durations: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """Product-limit table computed by hand (no late entry): the closed form."""
    times = np.unique(durations)
    at_risk = np.array([(durations >= t).sum() for t in times])
    d = np.array([((durations == t) & (events == 1)).sum() for t in times])
    c = np.array([((durations == t) & (events == 0)).sum() for t in times])
    s = np.cumprod(1 - d / at_risk)
    return pd.DataFrame({"time": times.astype(float), "at_risk": at_risk, "events": d, "censored": c,
                         "retention": s, "ci_low": s * 0.9, "ci_high": np.minimum(1, s * 1.05)})


@pytest.fixture
def km_two_strata():
    rng = np.random.default_rng(7)
    parts, raw = [], {}
    for level, scale, n in (("peer", 30, 40), ("co-facilitated", 14, 25)):
        dur = np.ceil(rng.exponential(scale, n)).clip(1, 30)
        ev = (rng.random(n) < 0.7).astype(int)
        raw[level] = dur
        parts.append(_km_table(dur, ev).assign(facilitation=level))
    return pd.concat(parts, ignore_index=True), raw


def test_plot_retention_draws_one_curve_and_band_per_stratum(km_two_strata, tmp_path):
    table, _ = km_two_strata
    ax = gp.plot_retention(table)
    assert isinstance(ax, Axes)
    curves = _by_gid(ax, "km_curve")
    assert len(curves) == 2 == table["facilitation"].nunique()
    assert len(_by_gid(ax, "km_ci")) == 2
    assert [c.get_label() for c in curves] == ["peer", "co-facilitated"]
    peer = table[table["facilitation"] == "peer"]
    x, y = curves[0].get_data()
    # the step curve starts at (0, 1) and then passes through every (time, retention) of the table
    assert (x[0], y[0]) == (0.0, 1.0)
    np.testing.assert_allclose(x[1:], peer["time"])
    np.testing.assert_allclose(y[1:], peer["retention"])
    _save(ax, tmp_path, "km")


def test_plot_retention_at_risk_numbers_equal_closed_form_count(km_two_strata):
    table, raw = km_two_strata
    times = [0, 5, 10, 15, 20, 25, 30, 35]   # 35: after the last follow-up, not drawn
    ax = gp.plot_retention(table, times=times)
    nums = [int(t.get_text()) for t in _by_gid(ax, "at_risk")]
    expected = [int((raw[level] >= t).sum()) for level in ("peer", "co-facilitated") for t in times[:-1]]
    assert nums == expected
    assert ax.get_xlim()[1] < 35


def test_plot_retention_uses_the_results_own_at_risk_table():
    table = _km_table(np.array([2.0, 4, 4, 6, 9, 12]), np.array([1, 1, 0, 1, 0, 1]))

    class Fake:  # a RetentionResult-like object carrying its own at-risk counts
        pass

    res = Fake()
    res.table = table
    res.by = None
    res.at_risk = pd.DataFrame({"time": [4.0, 8.0], "at_risk": [55, 3]})
    ax = gp.plot_retention(res)
    nums = [t.get_text() for t in _by_gid(ax, "at_risk")]
    # time 0 is added from the table (6 at risk); 4 and 8 come from the result unchanged
    assert nums == ["6", "55", "3"]


def test_plot_retention_funder_masks_small_at_risk_counts(km_two_strata):
    table, raw = km_two_strata
    ax = gp.plot_retention(table, times=[0, 25], audience="funder")
    shown = [t.get_text() for t in _by_gid(ax, "at_risk")]
    for level_i, level in enumerate(("peer", "co-facilitated")):
        for j, t in enumerate([0, 25]):
            n = int((raw[level] >= t).sum())
            assert shown[level_i * 2 + j] == ("" if 0 < n < 11 else str(n))   # no label for a hidden count
    assert "" in shown and not any("<" in s for s in shown)
    assert [t.get_text() for t in _by_gid(ax, "at_risk_note")] == ["Blank: fewer than 11 people, not shown."]


def test_plot_retention_funder_curves_stop_before_fewer_than_min_cell_at_risk(km_two_strata):
    table, _ = km_two_strata
    ax = gp.plot_retention(table, audience="funder")
    cut = 0
    for curve, level in zip(_by_gid(ax, "km_curve"), ("peer", "co-facilitated")):
        part = table[table["facilitation"] == level]
        first_small = part.loc[part["at_risk"] < 11, "time"].min()
        x, y = curve.get_data()
        if np.isnan(first_small):
            assert x.max() == part["time"].max()
            continue
        cut += 1
        assert x.max() == first_small           # drawn up to (not past) the first small risk set
        shown = part[part["time"] < first_small]
        np.testing.assert_allclose(y[1:-1], shown["retention"])   # S values only from large risk sets
        assert y[-1] == shown["retention"].iloc[-1]
    assert cut >= 1   # the fixture has a stratum that falls below 11 at risk
    ax = gp.plot_retention(table)                # internal audiences: the whole curve
    assert _by_gid(ax, "km_curve")[0].get_data()[0].max() == table.loc[table.facilitation == "peer", "time"].max()


def test_plot_retention_rejects_a_table_without_km_columns():
    with pytest.raises(SchemaError, match=r"plot_retention: the table lacks column\(s\) \['retention'\]"):
        gp.plot_retention(pd.DataFrame({"time": [1.0], "surv": [0.5]}))
    with pytest.raises(ConfigError, match="needs a DataFrame or a result with `.table`; got int"):
        gp.plot_retention(3)


# ---------------------------------------------------------------------------
# attendance heatmap
# ---------------------------------------------------------------------------
@pytest.fixture
def attendance():
    d = pd.to_datetime(["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"])
    rows = [  # member, date index, attended, status
        ("M0003", 0, True, "present"), ("M0003", 1, False, "absent"), ("M0003", 3, True, "present"),
        ("M0001", 1, True, "present"), ("M0001", 3, False, "excused"),
        ("M0002", 0, False, "absent"), ("M0002", 1, True, "present"),
        ("M0009", 0, True, "present"),  # other group
    ]
    att = pd.DataFrame({"member_id": [r[0] for r in rows], "group_id": ["G01"] * 7 + ["G02"],
                        "session_date": d[[r[1] for r in rows]], "attended": [r[2] for r in rows],
                        "status": [r[3] for r in rows]})
    ses = pd.DataFrame({"group_id": "G01", "session_date": d, "cancelled": [False, False, True, False]})
    return att, ses


def test_attendance_heatmap_matrix_by_hand_and_cancelled_column(attendance, tmp_path):
    att, ses = attendance
    ax = gp.plot_attendance_heatmap(att, "G01", sessions=ses)
    img = np.asarray(ax.images[0].get_array())
    # rows by first session (M0002, M0003 on 6 Jan: tie broken by id; M0001 on 13 Jan);
    # codes 0 not scheduled, 1 absent, 2 excused, 3 attended; column 2 was cancelled
    expected = np.array([[1, 3, 0, 0],
                         [3, 1, 0, 3],
                         [0, 3, 0, 2]])
    np.testing.assert_array_equal(img, expected)
    cancelled = _by_gid(ax, "cancelled")
    assert len(cancelled) == 1 and cancelled[0].get_x() == pytest.approx(1.5)
    assert not any(ID_PATTERN.search(t) for t in _texts(ax))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2", "3"]
    _save(ax, tmp_path, "attendance")


def test_attendance_heatmap_needs_a_group_when_there_are_several(attendance):
    att, _ = attendance
    with pytest.raises(ConfigError, match="draws one group; pass group_id= \\(one of: G01, G02\\)"):
        gp.plot_attendance_heatmap(att)
    with pytest.raises(ConfigError, match="group_id 'G99' has no attendance rows"):
        gp.plot_attendance_heatmap(att, "G99")


def test_attendance_heatmap_not_drawn_for_a_small_group_in_funder_output(attendance):
    att, ses = attendance
    ax = gp.plot_attendance_heatmap(att, "G01", sessions=ses, audience="funder")
    assert not ax.images
    assert "Group G01 is too small to show without identifying people." in _texts(ax)
    assert not any(re.search(r"\b\d+ members", t) for t in _texts(ax))


# ---------------------------------------------------------------------------
# cohort heatmap
# ---------------------------------------------------------------------------
def test_cohort_heatmap_shows_the_table_and_hides_small_cohorts(tmp_path):
    tidy = pd.DataFrame({
        "cohort": ["2025-01"] * 3 + ["2025-02"] * 3 + ["2025-03"] * 2,
        "week": [4, 8, 12, 4, 8, 12, 4, 8],
        "retention": [0.9, 0.8, 0.7, 0.85, 0.6, 0.5, 0.95, 0.9],
        "n": [40] * 3 + [8] * 3 + [25] * 2,
    })
    ax = gp.plot_cohort_heatmap(tidy)
    img = np.ma.filled(ax.images[0].get_array(), np.nan)
    np.testing.assert_allclose(img, [[0.9, 0.8, 0.7], [0.85, 0.6, 0.5], [0.95, 0.9, np.nan]])
    ax = gp.plot_cohort_heatmap(tidy, audience="funder")
    img = np.ma.filled(ax.images[0].get_array(), np.nan)
    assert np.isnan(img[1]).all() and not np.isnan(img[0]).any()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["2025-01 (n = 40)", "2025-02", "2025-03 (n = 25)"]   # no label for the hidden count
    _save(ax, tmp_path, "cohort")


# ---------------------------------------------------------------------------
# means over time
# ---------------------------------------------------------------------------
def test_means_over_time_one_line_per_group_type_with_the_cis(tmp_path):
    tps = ["baseline", "week_12", "week_26"]
    # the documented shape of MixedModelResult.means
    means = pd.DataFrame({"group_type": ["12-step"] * 3 + ["cancer survivors"] * 3, "timepoint": tps * 2,
                          "mean": [11.0, 9.5, 8.0, 10.0, 9.0, 8.5], "se": 0.5,
                          "ci_low": [10.0, 8.6, 7.0, 9.2, 8.1, 7.3], "ci_high": [12.0, 10.4, 9.0, 10.8, 9.9, 9.7],
                          "n_observed": [40, 30, 25, 20, 14, 9]})

    class MM:
        pass

    res = MM()
    res.means = means
    res.by = "group_type"
    ax = gp.plot_means_over_time(res)
    lines = _by_gid(ax, "means")
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), [11.0, 9.5, 8.0])
    segs = _by_gid(ax, "means_ci")[1].get_segments()
    np.testing.assert_allclose([s[:, 1] for s in segs], [[9.2, 10.8], [8.1, 9.9], [7.3, 9.7]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Baseline", "12 weeks", "26 weeks"]
    assert ax.get_title(loc="left") == "Average scores over time"
    _save(ax, tmp_path, "means")
    # funder: the week-26 mean of 9 people is not drawn
    ax = gp.plot_means_over_time(res, audience="funder")
    np.testing.assert_allclose(_by_gid(ax, "means")[1].get_ydata(), [10.0, 9.0])


# ---------------------------------------------------------------------------
# reliable change (a real reliable_change result)
# ---------------------------------------------------------------------------
@pytest.fixture
def rc_result():
    from groupeval.statistics.outcomes import reliable_change

    rng = np.random.default_rng(3)
    n = 120
    pre = rng.normal(14, 4, n).clip(0, 27)
    post = (pre - 3 + rng.normal(0, 3.5, n)).clip(0, 27)
    ids = [f"M{i:04d}" for i in range(n)]
    scores = pd.DataFrame({"member_id": ids * 2, "timepoint": ["baseline"] * n + ["week_26"] * n,
                           "score": np.r_[pre, post]})
    return reliable_change(scores, "phq9", "baseline", "week_26", reliability=0.84,
                           norms={"clinical": (14.0, 4.0), "functional": (3.0, 3.5)})


def test_reliable_change_band_is_1_96_sdiff_from_identity_and_cutoffs_at_result(rc_result, tmp_path):
    ax = rc_result.plot()
    assert isinstance(ax, Axes)
    (ident,) = _by_gid(ax, "identity")
    x, y = ident.get_data()
    np.testing.assert_allclose(y, x)
    for gid, sign in (("rc_band_upper", 1), ("rc_band_lower", -1)):
        (line,) = _by_gid(ax, gid)
        x, y = line.get_data()
        np.testing.assert_allclose(y - x, sign * 1.959964 * rc_result.sdiff, rtol=1e-6)
    (h,) = _by_gid(ax, "cutoff_h")
    (v,) = _by_gid(ax, "cutoff_v")
    assert h.get_ydata()[0] == pytest.approx(rc_result.cutoff_value)
    assert v.get_xdata()[0] == pytest.approx(rc_result.cutoff_value)
    # every member is a point, in the category colour group it belongs to
    pts = _by_gid(ax, "rc_points")
    assert sum(len(p.get_offsets()) for p in pts) == len(rc_result.members)
    summary = rc_result.summary.set_index("category")["n"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for cat, n in summary.items():
        if n:
            assert f"{N_LABELS[cat]} ({n})" in legend
    assert not any(ID_PATTERN.search(t) for t in _texts(ax))
    assert ax.get_xlabel() == "Patient Health Questionnaire-9, before"
    _save(ax, tmp_path, "rc")


def test_reliable_change_improved_region_follows_direction():
    members = pd.DataFrame({"pre": [10.0, 12.0, 20.0], "post": [5.0, 13.0, 8.0],
                            "category": ["improved", "unchanged", "recovered"]})
    # lower is better: the shaded region lies below y = x - 1.96*Sdiff (3.92 here); higher: above y = x + 3.92
    for hib, inside, outside in ((False, (18.0, 14.0), (18.0, 14.2)), (True, (10.0, 13.99), (10.0, 13.8))):
        ax = gp.plot_reliable_change(members, higher_is_better=hib, sdiff=2.0, cutoff=9.0)
        (region,) = _by_gid(ax, "improved_region")
        path = region.get_paths()[0]
        assert path.contains_point(inside), hib
        assert not path.contains_point(outside), hib
        assert not path.contains_point((10.0, 10.0)), hib   # no change is never "improved"


def test_reliable_change_needs_sdiff_and_direction_for_a_bare_table():
    members = pd.DataFrame({"pre": [10.0], "post": [5.0]})
    with pytest.raises(ConfigError, match="needs the standard error of the difference: pass sdiff="):
        gp.plot_reliable_change(members, higher_is_better=False)
    with pytest.raises(ConfigError, match="needs the direction of improvement: pass higher_is_better="):
        gp.plot_reliable_change(members, sdiff=1.0)


def test_reliable_change_points_not_drawn_for_fewer_than_min_cell_members():
    members = pd.DataFrame({"pre": [10.0, 12.0, 20.0], "post": [5.0, 13.0, 8.0]})
    ax = gp.plot_reliable_change(members, higher_is_better=False, sdiff=2.0, audience="funder")
    assert not _by_gid(ax, "rc_points")
    assert "Members not shown: too few to show without identifying people" in _texts(ax)


def test_reliable_change_legend_masks_small_categories_for_funders(rc_result):
    ax = gp.plot_reliable_change(rc_result, audience="funder")
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    counts = [int(x) for x in re.findall(r"\((\d+)\)", legend)]
    assert counts and all(c >= 11 for c in counts)
    small = rc_result.summary.query("0 < n < 11")
    assert len(small) and "<" not in legend
    for cat in small["category"]:   # the small category is named, without any count
        assert f"{N_LABELS[cat]} (" not in legend and N_LABELS[cat] in legend


# ---------------------------------------------------------------------------
# forest
# ---------------------------------------------------------------------------
def test_forest_points_and_cis_equal_the_change_table(tmp_path):
    from groupeval.statistics.outcomes import change

    rng = np.random.default_rng(11)
    n = 90
    gt = np.repeat(["12-step", "cancer survivors", "postpartum depression"], [40, 42, 8])
    pre = rng.normal(12, 4, n)
    post = pre - 2 + rng.normal(0, 3, n)
    scores = pd.DataFrame({"member_id": [f"M{i:04d}" for i in range(n)] * 2,
                           "timepoint": ["baseline"] * n + ["week_26"] * n,
                           "score": np.r_[pre, post], "group_type": np.r_[gt, gt]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = change(scores, "baseline", "week_26", by="group_type")
    ax = gp.plot_forest(tab)
    (pts,) = _by_gid(ax, "forest_points")
    np.testing.assert_allclose(pts.get_xdata(), tab["d_z"])
    segs = _by_gid(ax, "forest_ci")[0].get_segments()
    np.testing.assert_allclose([s[:, 0] for s in segs], tab[["d_z_ci_low", "d_z_ci_high"]].to_numpy())
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "12-step (n = 40)", "cancer survivors (n = 42)", "postpartum depression (n = 8)"]
    # funder: the group of 8 is not drawn and its n is masked
    ax = gp.plot_forest(tab, estimate="mean_change", audience="funder")
    (pts,) = _by_gid(ax, "forest_points")
    np.testing.assert_allclose(pts.get_xdata(), tab["mean_change"].iloc[:2])
    assert ax.get_yticklabels()[2].get_text() == "postpartum depression"   # the hidden n has no label
    _save(ax, tmp_path, "forest")


# ---------------------------------------------------------------------------
# dose-response and flow
# ---------------------------------------------------------------------------
def test_dose_response_draws_points_and_the_fitted_curve(tmp_path):
    class DR:
        pass

    rng = np.random.default_rng(2)
    res = DR()
    x = rng.integers(0, 26, 60)
    res.data = pd.DataFrame({"sessions_attended": x, "change": -0.1 * x + rng.normal(0, 1, 60)})
    xs = np.arange(0, 26.0)
    res.curve = pd.DataFrame({"sessions_attended": xs, "estimate": -0.1 * xs, "ci_low": -0.1 * xs - 1,
                              "ci_high": -0.1 * xs + 1})
    res.exposure = "sessions_attended"
    ax = gp.plot_dose_response(res)
    (fit,) = _by_gid(ax, "dose_fit")
    np.testing.assert_allclose(fit.get_ydata(), -0.1 * xs)
    (pts,) = _by_gid(ax, "dose_points")
    assert len(pts.get_offsets()) == 60
    assert len(_by_gid(ax, "dose_ci")) == 1
    _save(ax, tmp_path, "dose")


def test_flow_boxes_counts_and_funder_masking(tmp_path):
    flow = pd.DataFrame({"stage": ["enrolled", "attended_at_least_once", "baseline_survey", "week_26"],
                         "n": [400, 352, 30, 7]})
    ax = gp.plot_flow(flow)
    assert len(_by_gid(ax, "flow_box")) == 4
    assert len(_by_gid(ax, "flow_arrow")) == 3
    texts = [t.get_text() for t in _by_gid(ax, "flow_text")]
    assert texts == ["Enrolled\nn = 400", "Attended at least once\nn = 352", "Baseline survey\nn = 30",
                     "Week 26\nn = 7"]
    losses = [t.get_text() for t in _by_gid(ax, "flow_loss_text")]
    assert losses == ["Not continuing: 48", "Not continuing: 322", "Not continuing: 23"]
    _save(ax, tmp_path, "flow")
    ax = gp.plot_flow(flow, audience="funder")
    texts = [t.get_text() for t in _by_gid(ax, "flow_text")]
    assert texts[-1] == "Week 26\nn = not shown"
    # the loss 30 - 7 = 23 would give the hidden 7 back: it is suppressed too
    losses = [t.get_text() for t in _by_gid(ax, "flow_loss_text")]
    assert losses == ["Not continuing: 48", "Not continuing: 322", "Not continuing: not shown"]


def test_flow_funder_suppression_blocks_recovery_through_reference_relations():
    flow = pd.DataFrame({"stage": ["enrolled", "attended", "baseline", "week_26"],
                         "label": ["Enrolled", "Attended", "Baseline survey", "Week 26 survey"],
                         "n": [100, 95, 60, 50], "reference": [None, "enrolled", "attended", "baseline"],
                         "n_lost": [0, 5, 35, 10]})
    ax = gp.plot_flow(flow, audience="funder")
    stage_txt = [t.get_text().split("n = ")[1] for t in _by_gid(ax, "flow_text")]
    loss_txt = {i: t.get_text().split(": ")[1] for i, t in zip((1, 2, 3), _by_gid(ax, "flow_loss_text"))}
    shown = [int(x) for x in [*stage_txt, *loss_txt.values()] if x.isdigit()]
    assert all(v >= 11 for v in shown)
    assert loss_txt[1] == "not shown" and loss_txt[3] == "not shown"
    # every relation n(ref) = n(stage) + n_lost(stage) has 0 or >= 2 hidden members
    hidden_n = [not x.isdigit() for x in stage_txt]
    for i, r in ((1, 0), (2, 1), (3, 2)):
        hidden = hidden_n[r] + hidden_n[i] + (not loss_txt[i].isdigit())
        assert hidden != 1, (i, stage_txt, loss_txt)


@pytest.fixture(scope="module")
def sample_ds():
    from groupeval import sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sample.generate(seed=1)


def test_plot_retention_real_result_curves_and_at_risk_equal_result_at(sample_ds):
    import groupeval as ge

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ge.retention(sample_ds, by="group_type")
    times = [0, 4, 12, 26]
    ax = res.plot(times=times)
    assert len(_by_gid(ax, "km_curve")) == len(res.summary)
    nums = [int(t.get_text()) for t in _by_gid(ax, "at_risk")]
    expected = res.at(times, columns=("at_risk",))
    assert nums == expected["at_risk"].astype(int).tolist()
    assert not any(ID_PATTERN.search(t) for t in _texts(ax))


def test_plot_flow_and_cohort_heatmap_real_outputs(sample_ds):
    import groupeval as ge

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flow = ge.participant_flow(sample_ds)
        coh = ge.cohort_table(sample_ds)
    ax = gp.plot_flow(flow)
    texts = [t.get_text() for t in _by_gid(ax, "flow_text")]
    assert [int(t.split("n = ")[1].replace(",", "")) for t in texts] == flow["n"].tolist()
    losses = [int(t.get_text().split(": ")[1]) for t in _by_gid(ax, "flow_loss_text")]
    assert losses == [int(v) for v in flow["n_lost"] if v > 0]
    ax = gp.plot_cohort_heatmap(coh)
    img = np.ma.filled(ax.images[0].get_array(), np.nan)
    wide = coh.pivot_table(index="cohort", columns="week", values="retained_share", aggfunc="first")
    np.testing.assert_allclose(img, wide.to_numpy(float))
    ax = gp.plot_cohort_heatmap(coh, audience="funder")
    img = np.ma.filled(ax.images[0].get_array(), np.nan)
    lost = coh["n_observed"] - coh["retained"]
    small = ((coh["n_observed"] < 11) | ((coh["retained"] > 0) & (coh["retained"] < 11))
             | ((lost > 0) & (lost < 11)) | ((coh["n_enrolled"] > 0) & (coh["n_enrolled"] < 11)))
    expect = wide.mask(coh.assign(s=small).pivot_table(index="cohort", columns="week", values="s",
                                                        aggfunc="max").astype(bool))
    np.testing.assert_allclose(img, expect.to_numpy(float))
    assert np.isnan(img).sum() > np.isnan(wide.to_numpy(float)).sum()


def test_plot_dose_response_real_result(sample_ds):
    import groupeval as ge

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = ge.score(sample_ds.responses, "phq9")
        res = ge.dose_response(scores, ge.attendance_summary(sample_ds), data=sample_ds, itt=False)
    ax = res.plot()
    (fit,) = _by_gid(ax, "dose_fit")
    np.testing.assert_allclose(fit.get_ydata(), res.curve.sort_values("exposure")["fit"])
    (pts,) = _by_gid(ax, "dose_points")
    assert len(pts.get_offsets()) == res.members[["exposure", "change"]].dropna().shape[0]
    assert ax.get_xlabel() == "Sessions attended"


# ---------------------------------------------------------------------------
# style
# ---------------------------------------------------------------------------
def test_style_is_local_and_uses_okabe_ito():
    before = dict(matplotlib.rcParams)
    with gp.style():
        assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][:2] == ["#0072B2", "#E69F00"]
    gp.plot_forest(pd.DataFrame({"g": ["a"], "d_z": [0.1], "d_z_ci_low": [0.0], "d_z_ci_high": [0.2]}))
    assert dict(matplotlib.rcParams) == before
    assert set(gp.PALETTE) == set(gp.OKABE_ITO.values())


def test_plots_draw_on_a_given_axes():
    fig, axes = plt.subplots(1, 2)
    out = gp.plot_forest(pd.DataFrame({"g": ["a"], "d_z": [0.1], "d_z_ci_low": [0.0], "d_z_ci_high": [0.2]}),
                         ax=axes[1])
    assert out is axes[1]


def test_no_figure_carries_a_member_id(sample_ds):
    import groupeval as ge

    ids = set(sample_ds.members["member_id"].astype(str))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = ge.score(sample_ds.responses, "phq9")
        axes = [
            ge.retention(sample_ds, by="group_type").plot(),
            gp.plot_attendance_heatmap(sample_ds, str(sample_ds.groups["group_id"].iloc[0])),
            gp.plot_cohort_heatmap(ge.cohort_table(sample_ds)),
            ge.reliable_change(scores, "phq9", "baseline", "week_26").plot(),
            gp.plot_forest(ge.change(scores, "baseline", "week_26", by="group_type", data=sample_ds)),
            gp.plot_flow(ge.participant_flow(sample_ds)),
        ]
    for ax in axes:
        texts = " ".join(_texts(ax))
        assert not ids & set(re.findall(r"[A-Za-z]+\d+", texts)), ax
        assert not ID_PATTERN.search(texts)


# ---------------------------------------------------------------------------
# issue 11.7: the data window, few at risk, no label for a hidden count
# ---------------------------------------------------------------------------
def test_plot_retention_stops_at_the_data_window(sample_ds):
    import groupeval as ge
    from groupeval import narrative as N

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ge.retention(sample_ds)
    window = N.data_window(res)
    assert window < res.table["time"].max()       # late entrants reach beyond the window
    ax = res.plot()
    xs = np.concatenate([line.get_xdata() for line in _by_gid(ax, "km_curve") + _by_gid(ax, "km_curve_few")])
    assert xs.max() == pytest.approx(window)
    (line,) = _by_gid(ax, "data_window")
    assert line.get_xdata()[0] == pytest.approx(window)
    ticks = [float(t) for t in ax.get_xticks()]
    assert max(ticks) <= window
    whole = res.plot(window=False)
    xs = np.concatenate([ln.get_xdata() for ln in _by_gid(whole, "km_curve") + _by_gid(whole, "km_curve_few")])
    assert xs.max() == res.table["time"].max() and not _by_gid(whole, "data_window")


def test_plot_retention_dots_the_curve_where_few_remain_at_risk():
    durations = np.r_[np.arange(1, 31, dtype=float), np.full(10, 30.0)]   # 40 members, one event a week
    events = np.r_[np.ones(30, int), np.zeros(10, int)]
    table = _km_table(durations, events)
    ax = gp.plot_retention(table, min_at_risk=15)
    (solid,) = _by_gid(ax, "km_curve")
    (few,) = _by_gid(ax, "km_curve_few")
    first_few = table.loc[table["at_risk"] < 15, "time"].iloc[0]   # at risk drops below 15 at this row
    start = table.loc[table["time"] < first_few, "time"].iloc[-1]  # the interval before it rests on too few
    assert solid.get_xdata().max() == start == few.get_xdata()[0]
    assert few.get_xdata().max() == table["time"].max()
    assert few.get_linestyle() == ":" and few.get_alpha() < 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Fewer than 15 still followed" in legend
    assert not _by_gid(gp.plot_retention(table, min_at_risk=1), "km_curve_few")


def test_plot_retention_uses_the_group_clustered_band_when_present():
    table = _km_table(np.arange(1, 41, dtype=float), np.ones(40, int))
    table["ci_low_cluster"] = table["retention"] * 0.5
    table["ci_high_cluster"] = np.minimum(1, table["retention"] * 1.2)
    ax = gp.plot_retention(table, min_at_risk=1)
    (band,) = _by_gid(ax, "km_ci")
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(table["ci_low_cluster"].min())
    ax = gp.plot_retention(table, min_at_risk=1, cluster_ci=False)
    ys = _by_gid(ax, "km_ci")[0].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(table["ci_low"].min())


def _small_labels(texts: list[str], mc: int = 11) -> list[str]:
    """Texts that label a count below min_cell (a number beside n/people/members, or in brackets)."""
    bad = []
    for t in texts:
        if "<" in t and re.search(r"<\s*\d", t):
            bad.append(t)
        for m in re.finditer(r"(?:n = |\()(\d[\d,]*)(?![\d.])", t):
            v = int(m.group(1).replace(",", ""))
            if 0 < v < mc:
                bad.append(t)
    return bad


def test_funder_figures_never_label_a_suppressed_count(sample_ds):
    import groupeval as ge
    from groupeval.sample import generate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = generate(4, n_groups=8, members_per_group=(4, 9))
        scores = ge.score(ds.responses, "phq9")
        axes = [ge.retention(ds, by="group_type").plot(audience="funder"),
                gp.plot_cohort_heatmap(ge.cohort_table(ds), audience="funder"),
                ge.reliable_change(scores, "phq9", "baseline", "week_26").plot(audience="funder"),
                gp.plot_forest(ge.change(scores, "baseline", "week_26", by="group_type", data=ds), audience="funder"),
                gp.plot_flow(ge.participant_flow(ds), audience="funder"),
                gp.plot_attendance_heatmap(ds, str(ds.groups["group_id"].iloc[0]), audience="funder")]
    for ax in axes:
        texts = [t for t in _texts(ax) if t]
        assert not _small_labels(texts), (ax.get_title(loc="left"), _small_labels(texts))
    at_risk = [t.get_text() for t in _by_gid(axes[0], "at_risk")]
    assert "" in at_risk and all(t == "" or int(t.replace(",", "")) >= 11 for t in at_risk)


# ---------------------------------------------------------------------------
# issue 11.1: figures never crash on small programme shapes
# ---------------------------------------------------------------------------
def _shapes():
    import dataclasses

    from groupeval.sample import generate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        three = generate(3, n_groups=3)
        no_types = dataclasses.replace(three, groups=three.groups.assign(group_type=None))
        no_follow_up = dataclasses.replace(three, responses=three.responses[three.responses.timepoint == "baseline"])
        return {"one group": generate(3, n_groups=1, members_per_group=(5, 8)),
                "two groups": generate(3, n_groups=2, members_per_group=(5, 8)),
                "one group per type": three, "no group types": no_types, "no follow-up": no_follow_up}


SHAPES = _shapes()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_figure_renders_on_small_programme_shapes(shape, tmp_path):
    import groupeval as ge

    ds = SHAPES[shape]
    drawn = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = ge.score(ds.responses, "phq9")
        makers = {
            "retention": lambda: ge.retention(ds).plot(audience="funder"),
            "retention_by": lambda: ge.retention(ds, by="group_type").plot(),
            "heatmap": lambda: gp.plot_attendance_heatmap(ds, str(ds.groups["group_id"].iloc[0])),
            "cohort": lambda: gp.plot_cohort_heatmap(ge.cohort_table(ds), audience="funder"),
            "flow": lambda: gp.plot_flow(ge.participant_flow(ds), audience="funder"),
            "means": lambda: ge.mixed_model(scores, data=ds).plot(),
            "rc": lambda: ge.reliable_change(scores, "phq9", "baseline", "week_26").plot(audience="funder"),
            "forest": lambda: gp.plot_forest(ge.change(scores, "baseline", "week_26", by="group_type", data=ds)),
            "dose": lambda: ge.dose_response(scores, ge.attendance_summary(ds), data=ds, itt=False).plot(),
        }
        for name, make in makers.items():
            try:
                ax = make()
            except ge.GroupevalError:   # the statistic itself is not defined for this shape (e.g. no follow-up)
                continue
            except KeyError as e:   # a statistics-layer gap on this shape, not a figure failure
                assert name == "retention_by" and "group_type" in str(e), (name, e)
                continue
            assert isinstance(ax, Axes), name
            ax.figure.savefig(tmp_path / f"{name}.png", dpi=40)
            drawn += 1
            plt.close(ax.figure)
    assert drawn >= 4


@pytest.mark.parametrize("call", [
    lambda: gp.plot_retention(pd.DataFrame(columns=["time", "at_risk", "events", "censored", "retention",
                                                    "ci_low", "ci_high"])),
    lambda: gp.plot_means_over_time(pd.DataFrame({"timepoint": ["baseline"], "mean": [np.nan],
                                                  "ci_low": [np.nan], "ci_high": [np.nan]})),
    lambda: gp.plot_reliable_change(pd.DataFrame({"pre": [np.nan], "post": [3.0]}), sdiff=1.0,
                                    higher_is_better=True),
    lambda: gp.plot_forest(pd.DataFrame(columns=["group_type", "d_z", "d_z_ci_low", "d_z_ci_high", "n"])),
    lambda: gp.plot_dose_response(pd.DataFrame(columns=["sessions_attended", "change"])),
    lambda: gp.plot_flow(pd.DataFrame(columns=["stage", "n"])),
    lambda: gp.plot_cohort_heatmap(pd.DataFrame(columns=["cohort", "week", "retention", "n"])),
    lambda: gp.plot_attendance_heatmap(pd.DataFrame(columns=["member_id", "group_id", "session_date",
                                                             "attended"])),
], ids=["retention", "means", "reliable_change", "forest", "dose", "flow", "cohort", "attendance"])
def test_empty_inputs_give_a_message_panel(call, tmp_path):
    ax = call()
    (msg,) = _by_gid(ax, "message")
    assert msg.get_text() and not ax.axison
    ax.figure.savefig(tmp_path / "msg.png", dpi=40)


def test_forest_rows_without_an_estimate_are_not_drawn():
    tab = pd.DataFrame({"group_type": ["a", "b"], "d_z": [0.3, np.nan], "d_z_ci_low": [0.1, np.nan],
                        "d_z_ci_high": [0.5, np.nan], "n": [30, 1]})
    ax = gp.plot_forest(tab)
    (pts,) = _by_gid(ax, "forest_points")
    assert list(pts.get_xdata()) == [0.3]
    assert "not shown (too few people, or no estimate)" in _texts(ax)
