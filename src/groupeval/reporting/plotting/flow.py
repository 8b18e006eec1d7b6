"""Participant-flow diagram (CONSORT style).

Stage counts and losses pass through :func:`groupeval.privacy.suppression_mask`
with the relations n(reference) = n(stage) + n_lost(stage), so a hidden loss
cannot be recovered by subtraction; a hidden count is written "not shown",
never as a number or "<11".
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..formatting import fmt_count, plain_label
from ._style import GREY, OKABE_ITO, frame_of, message_panel, min_cell_of, new_ax, pick, style

__all__ = ["plot_flow"]


def _flow_losses(df: pd.DataFrame, stage: str, n: str) -> tuple[np.ndarray, list]:
    """(n_lost, reference position or None) per stage: from ``reference``/``n_lost`` or consecutive stages."""
    k = len(df)
    if "reference" in df.columns:
        pos = {v: i for i, v in enumerate(df[stage].astype(str))}
        ref = [pos.get(str(r)) if isinstance(r, str) else None for r in df["reference"]]
        if "n_lost" in df.columns:
            lost = df["n_lost"].to_numpy(float)
        else:
            counts = df[n].to_numpy(float)
            lost = np.array([counts[r] - counts[i] if r is not None else np.nan for i, r in enumerate(ref)])
    else:
        ref = [None] + list(range(k - 1))
        counts = df[n].to_numpy(float)
        lost = np.r_[np.nan, counts[:-1] - counts[1:]]
    lost = np.where([r is None for r in ref], np.nan, lost)
    return lost, ref


def _hidden(counts: np.ndarray, lost: np.ndarray, ref: list, mc: int | None) -> tuple[np.ndarray, np.ndarray]:
    if mc is None:
        return np.zeros(len(counts), dtype=bool), np.zeros(len(counts), dtype=bool)
    from ..privacy import suppression_mask

    tab = pd.DataFrame({"n": counts, "n_lost": np.nan_to_num(lost, nan=0.0)})
    rel = [([(i, "n"), (i, "n_lost")], (r, "n")) for i, r in enumerate(ref) if r is not None]
    mask = suppression_mask(tab, count_columns=["n", "n_lost"], min_cell=mc, relations=rel)
    return mask["n"].to_numpy(bool), mask["n_lost"].to_numpy(bool)


def _show(value: float, hidden: bool) -> str:
    if np.isnan(value) or hidden:
        return "not shown"
    return fmt_count(int(value))


def _loss_box(ax: Any, i: int, x: float, text: str) -> None:
    side = FancyBboxPatch((x, i - 0.5 - 0.2), 3.9, 0.4, boxstyle="round,pad=0.02,rounding_size=0.06",
                          facecolor="#FFFFFF", edgecolor=GREY, linewidth=1.0)
    side.set_gid("flow_loss_box")
    ax.add_patch(side)
    lt = ax.text(x + 1.95, i - 0.5, text, ha="center", va="center", fontsize=8.5, color="#333333")
    lt.set_gid("flow_loss_text")


def plot_flow(flow: Any, ax: Any = None, *, stage: str | None = None, n: str | None = None,
              audience: str | None = None, min_cell: int | None = None, show_losses: bool = True,
              title: str | None = None, figsize: tuple[float, float] | None = None) -> Any:
    """Participant-flow diagram (CONSORT style): one box per stage, arrows between.

    Parameters
    ----------
    flow
        :func:`groupeval.participant_flow` output: stages in order with the
        number of people (``label``/``stage`` and ``n`` columns) and, when
        present, ``reference`` (the stage each is a subset of) and ``n_lost``
        (reference minus this stage).  Without ``reference`` each stage is a
        subset of the previous one.  Counts already suppressed upstream (NaN)
        print as "not shown".
    show_losses
        A side box per stage with the number lost since its reference stage.
    audience, min_cell
        Counts below ``min_cell``, and the counts from which they could be
        worked out, print as "not shown" (complementary suppression through
        :func:`groupeval.privacy.suppression_mask`).

    Returns
    -------
    matplotlib.axes.Axes
        Stage boxes are ``FancyBboxPatch`` with gid ``"flow_box"``; their
        texts have gid ``"flow_text"``; arrows gid ``"flow_arrow"``; loss
        texts gid ``"flow_loss_text"``.  No stage: a message panel.
    """
    df = frame_of(flow, ("table", "stages", "summary"), "plot_flow").reset_index(drop=True)
    title = "How members moved through the programme" if title is None else title
    if not len(df):
        return message_panel(ax, "No participant flow to show yet.", title=title)
    stage_col = pick(df, ("stage", "step", "label"), "plot_flow", stage)
    label_col = "label" if "label" in df.columns else stage_col
    n = pick(df, ("n", "count", "members", "n_members"), "plot_flow", n)
    mc = min_cell_of(audience, min_cell)
    labels = [plain_label(s) for s in df[label_col]]
    labels = [s[:1].upper() + s[1:] for s in labels]
    counts = df[n].to_numpy(float)
    lost, ref = _flow_losses(df, stage_col, n)
    hide_n, hide_lost = _hidden(counts, lost, ref, mc)
    k = len(df)
    with style():
        ax = new_ax(ax, figsize or (8.0, 1.0 + 1.05 * k))
        ax.set_axis_off()
        ax.set_xlim(0, 10)
        ax.set_ylim(k - 0.4, -0.6)
        w, h, x0 = 4.6, 0.62, 0.4
        for i, (lab, c) in enumerate(zip(labels, counts)):  # a handful of stages
            box = FancyBboxPatch((x0, i - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                 facecolor="#EAF2F8", edgecolor=OKABE_ITO["blue"], linewidth=1.2)
            box.set_gid("flow_box")
            ax.add_patch(box)
            shown = _show(c, hide_n[i])
            t = ax.text(x0 + w / 2, i, f"{lab}\nn = {shown}", ha="center", va="center", fontsize=9.5)
            t.set_gid("flow_text")
            if i > 0:
                arr = FancyArrowPatch((x0 + w / 2, i - 1 + h / 2), (x0 + w / 2, i - h / 2), arrowstyle="-|>",
                                      mutation_scale=12, color="#444444", linewidth=1.2)
                arr.set_gid("flow_arrow")
                ax.add_patch(arr)
            r = ref[i]
            if show_losses and r is not None and not np.isnan(lost[i]) and lost[i] > 0:
                ax.annotate("", xy=(x0 + w + 0.6, i - 0.5), xytext=(x0 + w / 2, i - 0.5),
                            arrowprops={"arrowstyle": "-|>", "color": GREY, "linewidth": 1.0})
                since = "" if r == i - 1 else f" (of {plain_label(df[stage_col].iloc[r])})"
                _loss_box(ax, i, x0 + w + 0.6, f"Not continuing{since}: {_show(lost[i], hide_lost[i])}")
        if title:
            ax.set_title(title)
    return ax
