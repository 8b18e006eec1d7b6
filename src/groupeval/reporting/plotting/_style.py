"""The one figure style and the helpers every figure shares.

The Okabe--Ito palette (distinguishable with the common colour-vision
deficiencies, Okabe & Ito 2008), line styles and markers that repeat the
colour information, readable font sizes, no top/right spines, a light
horizontal grid.  The style is applied inside each function through
:func:`style` (``matplotlib.rc_context``), never globally.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from cycler import cycler

from ...base.exceptions import ConfigError, GroupevalError, SchemaError
from ..formatting import fmt_count, is_suppressed, resolve_min_cell

__all__ = ["OKABE_ITO", "PALETTE", "STYLE", "style", "message_panel"]

#: The Okabe--Ito colour-blind-safe palette by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Order in which series take colours (yellow last: weak on white).
PALETTE = tuple(OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "vermillion",
                                       "reddish_purple", "sky_blue", "black", "yellow"))
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
GREY = "#7F7F7F"

#: rcParams applied by :func:`style`.
STYLE: dict[str, Any] = {
    "font.size": 10.5,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10.5,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "lines.linewidth": 2.0,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Apply groupeval's figure style inside a ``with`` block (not globally).

    >>> with style():
    ...     fig, ax = plt.subplots()
    """
    with matplotlib.rc_context(cast(Any, STYLE)):
        yield


def new_ax(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def message_panel(ax: Any, text: str, *, title: str | None = None,
                  figsize: tuple[float, float] = (7.0, 2.2)) -> Any:
    """An Axes that says in words why a figure is not drawn (gid ``"message"``); never raises."""
    with style():
        ax = new_ax(ax, figsize)
        ax.set_axis_off()
        t = ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True, color="#333333")
        t.set_gid("message")
        if title:
            ax.set_title(title)
    return ax


def frame_of(obj: Any, attr: str | Sequence[str], what: str) -> pd.DataFrame:
    """The DataFrame itself, or the first of ``attr`` found on a result object."""
    if isinstance(obj, pd.DataFrame):
        return obj
    for a in ([attr] if isinstance(attr, str) else attr):
        val = getattr(obj, a, None)
        if isinstance(val, pd.DataFrame):
            return val
    names = ", ".join(f"`.{a}`" for a in ([attr] if isinstance(attr, str) else attr))
    raise ConfigError(f"{what} needs a DataFrame or a result with {names}; got {type(obj).__name__}.")


def require(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SchemaError(f"{what}: the table lacks column(s) {missing}; its columns are {list(df.columns)}. "
                          "Pass the output of the matching groupeval function or rename the columns.")


def pick(df: pd.DataFrame, candidates: Sequence[str], what: str, given: str | None = None) -> str:
    if given is not None:
        require(df, [given], what)
        return given
    for c in candidates:
        if c in df.columns:
            return c
    raise SchemaError(f"{what}: none of the columns {list(candidates)} is in the table (columns: "
                      f"{list(df.columns)}); name the column with the matching keyword.")


def min_cell_of(audience: str | None, min_cell: int | None) -> int | None:
    return resolve_min_cell(audience, min_cell)


def stratum_column(df: pd.DataFrame, known: set[str], given: Any = None) -> str | None:
    """The by/stratum column: ``given`` if it is a column, else the one non-numeric extra column."""
    if isinstance(given, str) and given in df.columns:
        return given
    if isinstance(given, (list, tuple)) and len(given) == 1 and given[0] in df.columns:
        return given[0]
    extra = [c for c in df.columns if c not in known and not str(c).startswith("_")
             and not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    return extra[0] if extra else None


def levels_of(series: pd.Series) -> list:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in present]
    return list(pd.unique(series.dropna()))


def series_style(i: int) -> dict[str, Any]:
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)]}


def count_label(n: Any, mc: int | None) -> str:
    """A count for a figure label: ``"120"``, or ``""`` when it is suppressed or missing (no label at all)."""
    if n is None or pd.isna(n) or is_suppressed(float(n), mc):
        return ""
    return fmt_count(int(n))


def with_n(label: str, n: Any, mc: int | None) -> str:
    """``"12-step (n = 120)"``; just the label when the count is suppressed."""
    text = count_label(n, mc)
    return f"{label} (n = {text})" if text else label


EFFECT_LABELS = {"d_z": "Size of change (standardised)", "d_av": "Size of change (standardised)",
                 "hedges_g_av": "Size of change (standardised)", "mean_change": "Average change in score",
                 "hr": "Hazard ratio", "estimate": "Estimate"}


def instrument_label(inst: Any, full: bool = False) -> str | None:
    """Display name of an instrument object or registry name (``"phq9"`` -> ``"PHQ-9"``; full: its title)."""
    if inst is None:
        return None
    obj = inst
    if not hasattr(inst, "label"):
        try:
            from ...base.instruments import get

            obj = get(str(inst))
        except GroupevalError:  # unknown or user-defined name: show it as given
            return str(inst)
    title = getattr(obj, "title", None)
    return str(title) if full and isinstance(title, str) and title else str(obj.label)
