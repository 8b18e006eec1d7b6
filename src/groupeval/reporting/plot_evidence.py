"""Forest plot of the programme beside the published evidence.

:func:`plot_benchmark` draws a :func:`groupeval.benchmark` table: the
programme's standardised mean change (orange diamonds, one per ``by`` level)
above the matching published references (blue squares), every value oriented
so that right of zero is improvement, each with its confidence interval.  Only
references on the standardised scale are drawn (risk ratios and raw mean
differences cannot be placed on it); a footnote says how many were left out
and that the programme's before/after change and the references' controlled
comparisons are not the same quantity.
"""
from __future__ import annotations

import textwrap
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError
from ..statistics.benchmark import BENCHMARK_COLUMNS
from .formatting import is_suppressed, resolve_min_cell
from .plotting import OKABE_ITO

__all__ = ["plot_benchmark"]

_GREY = "#7F7F7F"


def _instrument_label(name: Any) -> str:
    if not isinstance(name, str) or not name:
        return "outcome"
    try:
        from ..base import instruments

        return str(instruments.get(name).label or name)
    except ConfigError:
        return name


def plot_benchmark(table: pd.DataFrame, ax: Any = None, *, max_references: int | None = None,
                   audience: str | None = None, min_cell: int | None = None, title: str | None = None,
                   figsize: tuple[float, float] | None = None) -> Any:
    """Programme estimate(s) and published references with their intervals, on one standardised axis.

    Parameters
    ----------
    table
        A :func:`groupeval.benchmark` table of a change result (``metric="smcr"``,
        ``"d_rm"`` or ``"g_av"``).
    ax
        Axes to draw on (a new figure when ``None``).
    max_references
        Draw at most this many references (table order: instrument matches first).
    audience, min_cell
        Small-cell rule: a programme row with fewer than ``min_cell`` members
        is not drawn for ``"funder"``/``"public"`` audiences.
    title, figsize
        Optional title and figure size.

    Returns
    -------
    matplotlib.axes.Axes
        Programme points (``Line2D`` gid ``"benchmark_programme"``), reference
        points (gid ``"benchmark_references"``; before/after references, hollow:
        ``"benchmark_references_pre_post"``), their intervals
        (``LineCollection`` gids ``"benchmark_programme_ci"`` and
        ``"benchmark_references_ci"``) and the zero line (gid ``"null_line"``).
        Row 0 (the first programme row) is at the top.

    Notes
    -----
    The programme's interval is the one allowing for members sharing groups
    when the table has it.  Values are oriented so that positive means
    improvement (``programme_improvement``, ``reference_smd_improvement``).
    """
    prog, refs, by, n_left_out = _rows_to_draw(table, max_references)
    mc = resolve_min_cell(audience, min_cell)
    p_est, p_lo, p_hi, use_cl = _programme_intervals(prog)
    hidden = np.asarray(is_suppressed(prog["n"].to_numpy(float), mc), dtype=bool).reshape(len(prog))
    p_labels, r_labels = _labels(prog, refs, by, hidden)
    n_p, n_r = len(prog), len(refs)
    y_p = np.arange(n_p, dtype=float)
    y_r = n_p + 0.6 + np.arange(n_r, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=figsize or (7.5, 1.6 + 0.62 * (n_p + n_r)))
    ax.grid(True, axis="x", color="#DDDDDD", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.axvline(0.0, color="#444444", linewidth=1.0).set_gid("null_line")
    show = ~hidden
    lc = ax.hlines(y_p[show], p_lo[show], p_hi[show], color=OKABE_ITO["orange"], linewidth=2.4)
    lc.set_gid("benchmark_programme_ci")
    pts, = ax.plot(p_est[show], y_p[show], linestyle="none", marker="D", markersize=8, color=OKABE_ITO["orange"])
    pts.set_gid("benchmark_programme")
    for yy in y_p[hidden]:
        ax.text(0.5, yy, "not shown (small group)", transform=ax.get_yaxis_transform(), ha="center", va="center",
                fontsize=8.5, color=_GREY)
    within = _draw_references(ax, refs, y_r)
    ax.set_yticks(np.r_[y_p, y_r])
    ax.set_yticklabels(p_labels + r_labels, fontsize=8.5)
    ax.set_ylim(y_r[-1] + 0.6 if n_r else n_p - 0.4, -0.6)
    if n_r:
        ax.axhline(n_p - 0.2, color="#BBBBBB", linewidth=0.8, linestyle=":")
    level = prog["programme_ci_level"].iloc[0]
    ax.set_xlabel(f"Standardised difference, positive = improvement ({100 * float(level):.0f}% CI)")
    foot = _footnote(bool(use_cl.any()), bool(within.any()), n_left_out)
    ax.annotate("\n".join(textwrap.wrap(foot, 110)), xy=(0, 0), xycoords="axes fraction", xytext=(0, -34),
                textcoords="offset points", ha="left", va="top", fontsize=7.5, color=_GREY)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def _rows_to_draw(table: pd.DataFrame, max_references: int | None
                  ) -> tuple[pd.DataFrame, pd.DataFrame, list[str], int]:
    """(programme rows, references on the standardised scale, ``by`` columns, references left out); checks the table."""
    if not isinstance(table, pd.DataFrame) or any(c not in table.columns for c in BENCHMARK_COLUMNS):
        raise ConfigError("plot_benchmark takes the DataFrame groupeval.benchmark() returns.")
    eff = table[table["kind"] == "effect"]
    if len(eff) == 0:
        raise ConfigError("plot_benchmark: the table has no published effects to draw (only thresholds or norms); "
                          "run benchmark() with an outcome that has references, or add your own.")
    if (eff["comparable"] == "no").all() and eff["programme_quantity"].iloc[0] == "d_z":
        raise ConfigError("plot_benchmark needs a programme metric on the scale of the scores; "
                          "run benchmark(..., metric='smcr').")
    by = [c for c in table.columns if c not in BENCHMARK_COLUMNS]
    prog = eff.drop_duplicates(by) if by else eff.iloc[:1]
    refs = eff[(eff["comparable"] != "no") & np.isfinite(eff["reference_smd_improvement"].astype(float))]
    refs = refs.drop_duplicates("reference_id")
    n_left_out = int(eff.drop_duplicates("reference_id").shape[0] - refs.shape[0])
    if max_references is not None:
        n_left_out += max(0, len(refs) - max_references)
        refs = refs.head(max_references)
    return prog, refs, by, n_left_out


def _programme_intervals(prog: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Programme estimate and interval oriented as improvement: the cluster interval where the table has it."""
    p_est = prog["programme_improvement"].to_numpy(float)
    f = np.where(prog["programme_improvement"].to_numpy(float) == prog["programme_estimate"].to_numpy(float), 1.0, -1.0)
    clo, chi = prog["programme_ci_low_cluster"].to_numpy(float), prog["programme_ci_high_cluster"].to_numpy(float)
    use_cl = np.isfinite(clo) & np.isfinite(chi)
    a, b = f * clo, f * chi
    p_lo = np.where(use_cl, np.fmin(a, b), prog["programme_improvement_ci_low"].to_numpy(float))
    p_hi = np.where(use_cl, np.fmax(a, b), prog["programme_improvement_ci_high"].to_numpy(float))
    return p_est, p_lo, p_hi, use_cl


def _labels(prog: pd.DataFrame, refs: pd.DataFrame, by: list[str], hidden: np.ndarray) -> tuple[list[str], list[str]]:
    """Y-axis labels of the programme rows (n, or "n suppressed") and of the references."""
    inst = _instrument_label(prog["instrument"].iloc[0])
    p_labels = []
    for i, (_, r) in enumerate(prog.iterrows()):
        level = " - ".join(str(r[c]) for c in by)
        n_txt = "n suppressed" if hidden[i] else f"n = {int(r['n']):,}"
        p_labels.append(f"This programme{': ' + level if level else ''}\n{inst}, before/after ({n_txt})")
    r_labels = [f"{r['reference_label']}: {r['domain']}\n" + textwrap.shorten(str(r["population"]), 48,
                                                                              placeholder="...")
                for _, r in refs.iterrows()]
    return p_labels, r_labels


def _draw_references(ax: Any, refs: pd.DataFrame, y_r: np.ndarray) -> np.ndarray:
    """Reference intervals and squares (hollow for before/after references); returns which are before/after."""
    r_est = refs["reference_smd_improvement"].to_numpy(float)
    lc2 = ax.hlines(y_r, refs["reference_smd_improvement_ci_low"].to_numpy(float),
                    refs["reference_smd_improvement_ci_high"].to_numpy(float), color=OKABE_ITO["blue"], linewidth=2)
    lc2.set_gid("benchmark_references_ci")
    within = (refs["comparable"] == "same_metric").to_numpy()
    pts2, = ax.plot(r_est[~within], y_r[~within], linestyle="none", marker="s", markersize=6.5,
                    color=OKABE_ITO["blue"])
    pts2.set_gid("benchmark_references")
    if within.any():
        pts3, = ax.plot(r_est[within], y_r[within], linestyle="none", marker="s", markersize=6.5,
                        markerfacecolor="white", markeredgewidth=1.6, color=OKABE_ITO["blue"])
        pts3.set_gid("benchmark_references_pre_post")
    return within


def _footnote(cluster_interval: bool, pre_post_references: bool, n_left_out: int) -> str:
    """What the figure compares, and what it does not claim."""
    foot = ("Programme: uncontrolled before/after change (standardised on the baseline SD)"
            + (", interval allowing for members sharing groups" if cluster_interval else "") + ". "
            "Filled squares: published differences between peer support and comparison groups, in other "
            "populations - not the same quantity."
            + (" Hollow squares: published before/after changes of other programmes." if pre_post_references else "")
            + " No causal comparison.")
    if n_left_out:
        foot += f" {n_left_out} matching reference(s) on other scales not shown."
    return foot
