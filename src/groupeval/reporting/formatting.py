"""Formatting numbers for people: APA style, CIs, percentages, small cells.

This is the **only** place in groupeval where numbers are rounded.  The
statistics layer returns unrounded values; plots (:mod:`groupeval.plotting`),
sentences (:mod:`groupeval.narrative`) and reports format them through the
functions below so that every output rounds the same way.

Conventions (APA Publication Manual, 7th ed., sections 6.36 and 6.44--6.46):

* Rounding is *half away from zero* on the decimal value the user sees
  (``2.675`` -> ``2.68``), not binary "banker's" rounding.
* Negative numbers use the typographic minus sign ``−`` (U+2212); a value
  that rounds to zero is shown without a sign (``0.0``, not ``−0.0``).
* Statistics that cannot exceed 1 in absolute value (p values,
  correlations, alphas, proportions written as decimals) have no leading
  zero: ``p = .032``, ``r = .45``.
* p values are exact to three decimals, ``p < .001`` below that and
  ``p > .999`` above.
* Confidence intervals: ``95% CI [−3.9, −2.5]``.
* Counts have thousands separators (``1,234``).  For funder and public
  outputs a count below ``min_cell`` (default 11, the CMS cell-size rule) is
  shown as ``fewer than 11`` (or ``<11`` in figures).  As in
  :mod:`groupeval.privacy` (and the CMS rule, which masks 1--10), a zero is
  shown unless ``suppress_zero=True``: "nobody" identifies nobody.
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from ..base.exceptions import ConfigError

__all__ = [
    "MINUS",
    "DEFAULT_MIN_CELL",
    "AUDIENCES",
    "SUPPRESSING_AUDIENCES",
    "round_half_up",
    "fmt_number",
    "fmt_p",
    "fmt_unit",
    "fmt_ci",
    "fmt_percent",
    "fmt_count",
    "is_suppressed",
    "resolve_min_cell",
    "fmt_mean_sd",
    "fmt_t",
    "fmt_df",
    "fmt_estimate_ci",
    "plain_fraction",
    "plain_label",
    "fmt_weeks",
    "number_word",
    "capitalize_first",
    "format_frame",
]

#: The typographic minus sign used for negative numbers.
MINUS = "\u2212"
#: Default smallest count shown in funder/public outputs (CMS cell-size rule).
DEFAULT_MIN_CELL = 11
#: Audiences understood by the reporting layer.
AUDIENCES = ("program", "research", "funder", "public")
#: Audiences whose outputs suppress small counts.
SUPPRESSING_AUDIENCES = ("funder", "public")

NA_TEXT = "n/a"


# ---------------------------------------------------------------------------
# basics
# ---------------------------------------------------------------------------
def _is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(np.isnan(x))
    except (TypeError, ValueError):
        return False


def _check_digits(digits: Any) -> int:
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or digits < 0:
        raise ConfigError(f"`digits` must be a whole number >= 0, got {digits!r}.")
    return int(digits)


def round_half_up(x: float, digits: int = 0) -> float:
    """Round ``x`` to ``digits`` decimals, halves away from zero.

    Python's :func:`round` rounds the binary value (``round(2.675, 2)`` is
    2.67 because 2.675 is stored as 2.67499999...).  People read the decimal
    value, so groupeval rounds the shortest decimal representation of the
    float (its ``repr``) instead: ``round_half_up(2.675, 2) == 2.68``.

    Parameters
    ----------
    x
        The number (NaN is returned unchanged).
    digits
        Decimals to keep (>= 0).

    Returns
    -------
    float
    """
    digits = _check_digits(digits)
    if _is_missing(x):
        return float("nan")
    if math.isinf(x):
        return float(x)
    q = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def _fixed(x: float, digits: int, *, leading_zero: bool = True, minus: str = MINUS,
           thousands: bool = False) -> str:
    """Format a finite float with fixed decimals, typographic minus, no -0."""
    r = round_half_up(x, digits)
    neg = r < 0
    body = f"{abs(r):,.{digits}f}" if thousands else f"{abs(r):.{digits}f}"
    if not leading_zero and body.startswith("0.") and digits > 0:
        body = body[1:]
    return (minus if neg else "") + body


def fmt_number(x: Any, digits: int = 1, *, leading_zero: bool = True, minus: str = MINUS,
               thousands: bool = False, na: str = NA_TEXT) -> str:
    """A number with ``digits`` decimals (half away from zero, typographic minus).

    Examples
    --------
    >>> fmt_number(-3.25, 1)
    '−3.3'
    >>> fmt_number(-0.04, 1)
    '0.0'
    >>> fmt_number(0.456, 2, leading_zero=False)
    '.46'
    """
    digits = _check_digits(digits)
    if _is_missing(x):
        return na
    x = float(x)
    if math.isinf(x):
        return ("" if x > 0 else minus) + "∞"
    return _fixed(x, digits, leading_zero=leading_zero, minus=minus, thousands=thousands)


def fmt_unit(x: Any, digits: int = 2, *, na: str = NA_TEXT) -> str:
    """A statistic bounded by ±1 (r, alpha, ICC) without the leading zero (APA 6.36).

    >>> fmt_unit(0.4567)
    '.46'
    >>> fmt_unit(-0.05, 2)
    '−.05'
    """
    if not _is_missing(x) and abs(float(x)) > 1:
        raise ConfigError(f"fmt_unit is for statistics between −1 and 1 (r, alpha, ICC); got {x!r}. "
                          "Use fmt_number for other values.")
    return fmt_number(x, digits, leading_zero=False, na=na)


def fmt_p(p: Any, digits: int = 3, *, prefix: bool = True, na: str = NA_TEXT) -> str:
    """An APA p value: ``p = .032``, ``p < .001``, ``p > .999``.

    Parameters
    ----------
    p
        The p value, between 0 and 1.
    digits
        Decimals (APA: 2 or 3; default 3).  Values below ``10**-digits`` are
        shown as ``p < .001`` (for 3 digits), values above ``1 - 10**-digits``
        as ``p > .999``.
    prefix
        Include ``"p "`` (``"p = .032"``) or not (``"= .032"`` is never
        produced; without the prefix the result is ``".032"`` / ``"< .001"``).
    """
    digits = _check_digits(digits)
    if digits < 1:
        raise ConfigError(f"`digits` for p values must be at least 1, got {digits}.")
    if _is_missing(p):
        return ("p = " if prefix else "") + na
    p = float(p)
    if not 0 <= p <= 1:
        raise ConfigError(f"A p value must lie between 0 and 1, got {p!r}; check the column you passed.")
    smallest = 10.0 ** -digits
    tiny = "." + "0" * (digits - 1) + "1"
    big = "." + "9" * digits
    if p < smallest:
        body = f"< {tiny}"
    elif p > 1 - smallest or round_half_up(p, digits) >= 1:
        body = f"> {big}"
    else:
        body = "= " + _fixed(p, digits, leading_zero=False)
    if not prefix:
        return body[2:] if body.startswith("= ") else body
    return f"p {body}"


def fmt_ci(low: Any, high: Any, digits: int = 1, *, level: float | None = 0.95,
           leading_zero: bool = True, na: str = NA_TEXT) -> str:
    """A confidence interval: ``95% CI [−3.9, −2.5]``.

    Parameters
    ----------
    low, high
        Interval limits.
    digits
        Decimals.
    level
        Confidence level as a proportion (0.95 -> ``95% CI``); ``None`` gives
        just the bracket ``[−3.9, −2.5]``.
    leading_zero
        False for statistics bounded by 1 (``[.21, .48]``).
    """
    inner = (f"[{fmt_number(low, digits, leading_zero=leading_zero, na=na)}, "
             f"{fmt_number(high, digits, leading_zero=leading_zero, na=na)}]")
    if level is None:
        return inner
    level = float(level)
    if not 0 < level < 1:
        raise ConfigError(f"`level` must be a proportion between 0 and 1 (e.g. 0.95), got {level!r}.")
    pct = fmt_number(level * 100, 0 if float(level * 100).is_integer() else 1)
    return f"{pct}% CI {inner}"


def fmt_percent(share: Any, digits: int = 0, *, na: str = NA_TEXT) -> str:
    """A proportion (0--1) as a percentage: ``0.6667`` -> ``67%``."""
    if _is_missing(share):
        return na
    return fmt_number(float(share) * 100, digits) + "%"


# ---------------------------------------------------------------------------
# counts and small cells
# ---------------------------------------------------------------------------
def resolve_min_cell(audience: str | None = None, min_cell: int | None = None) -> int | None:
    """The smallest count to show, from the audience and an explicit ``min_cell``.

    ``min_cell`` given -> it is used (any audience).  Otherwise the funder
    and public audiences get :data:`DEFAULT_MIN_CELL` and the program and
    research audiences get ``None`` (no suppression).
    """
    if audience is not None and audience not in AUDIENCES:
        raise ConfigError(f"`audience` must be one of {', '.join(map(repr, AUDIENCES))}, got {audience!r}.")
    if min_cell is not None:
        if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)) or min_cell < 1:
            raise ConfigError(f"`min_cell` must be a whole number >= 1, got {min_cell!r}.")
        return int(min_cell)
    if audience in SUPPRESSING_AUDIENCES:
        return DEFAULT_MIN_CELL
    return None


def is_suppressed(n: Any, min_cell: int | None, *, suppress_zero: bool = False) -> Any:
    """True where a count must be hidden: ``0 < n < min_cell`` (vectorised).

    ``min_cell=None`` never suppresses.  Zero is hidden only with
    ``suppress_zero=True`` (the rule of :func:`groupeval.privacy.suppress`).
    Missing counts are not suppressed (there is nothing to hide).
    """
    arr = np.asarray(n, dtype=float)
    if min_cell is None:
        out = np.zeros(arr.shape, dtype=bool)
    else:
        lower = -np.inf if suppress_zero else 0
        out = np.where(np.isnan(arr), False, (arr < min_cell) & (arr > lower))
    return bool(out) if out.ndim == 0 else out


def fmt_count(n: Any, min_cell: int | None = None, *, short: bool = False, suppress_zero: bool = False,
              na: str = NA_TEXT) -> str:
    """A count of people, masked when smaller than ``min_cell``.

    Parameters
    ----------
    n
        The count.
    min_cell
        Smallest count shown; ``None`` shows every count.
    short
        ``"<11"`` (figures and tables) instead of ``"fewer than 11"`` (sentences).
    suppress_zero
        Hide zero as well (default: zero is shown).

    Examples
    --------
    >>> fmt_count(1234)
    '1,234'
    >>> fmt_count(7, min_cell=11)
    'fewer than 11'
    >>> fmt_count(7, min_cell=11, short=True)
    '<11'
    """
    if _is_missing(n):
        return na
    nf = float(n)
    if not nf.is_integer() or nf < 0:
        raise ConfigError(f"A count must be a whole number >= 0, got {n!r}.")
    if is_suppressed(nf, min_cell, suppress_zero=suppress_zero):
        return f"<{min_cell:,}" if short else f"fewer than {min_cell:,}"
    return f"{int(nf):,}"


# ---------------------------------------------------------------------------
# composite APA pieces
# ---------------------------------------------------------------------------
def fmt_mean_sd(mean: Any, sd: Any = None, digits: int = 1) -> str:
    """``11.2 (SD 4.1)``; just the mean when ``sd`` is missing."""
    if _is_missing(sd):
        return fmt_number(mean, digits)
    return f"{fmt_number(mean, digits)} (SD {fmt_number(sd, digits)})"


def fmt_df(df: Any, digits: int = 1) -> str:
    """Degrees of freedom: whole numbers as integers, others (Welch) with decimals."""
    if _is_missing(df):
        return NA_TEXT
    dff = float(df)
    if dff.is_integer():
        return f"{int(dff)}"
    return fmt_number(dff, digits)


def fmt_t(t: Any, df: Any, digits: int = 2) -> str:
    """``t(180) = −9.10``."""
    return f"t({fmt_df(df)}) = {fmt_number(t, digits)}"


def fmt_estimate_ci(name: str, value: Any, low: Any, high: Any, digits: int = 2, *,
                    level: float | None = 0.95, leading_zero: bool = True) -> str:
    """``d_z = −0.68, 95% CI [−0.84, −0.52]``."""
    return (f"{name} = {fmt_number(value, digits, leading_zero=leading_zero)}, "
            f"{fmt_ci(low, high, digits, level=level, leading_zero=leading_zero)}")


# ---------------------------------------------------------------------------
# plain language
# ---------------------------------------------------------------------------
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_DENOMINATOR_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 10: "ten", 20: "twenty"}


def number_word(n: int) -> str:
    """APA 6.32: whole numbers below 10 as words (``3`` -> ``three``), others as digits."""
    if 0 <= int(n) <= 9 and float(n).is_integer():
        return _WORDS[int(n)]
    return f"{int(n):,}"


def plain_fraction(share: float, *, tolerance: float = 0.02) -> str:
    """A proportion as words a programme manager reads at a glance.

    The simplest fraction with denominator 2, 3, 4, 5 or 10 (or one in
    twenty) within ``tolerance`` of ``share`` is used (smaller denominators
    first), else the nearest tenth; when
    the fraction is not within 0.005 the phrase starts with "about".

    ======================  ======================
    share                   text
    ======================  ======================
    0                       ``none``
    0 < share < 0.05        ``fewer than one in twenty``
    0.5                     ``half``
    0.667                   ``two in three``
    0.62                    ``about three in five``
    0.95 <= share < 1       ``nearly all``
    1                       ``all``
    ======================  ======================
    """
    if _is_missing(share):
        return NA_TEXT
    s = float(share)
    if not 0 <= s <= 1:
        raise ConfigError(f"A share must lie between 0 and 1, got {share!r}.")
    if s == 0:
        return "none"
    if s == 1:
        return "all"
    if s < 0.05:
        return "fewer than one in twenty"
    if s >= 0.95:
        return "nearly all"
    best: Fraction | None = None
    for den in (2, 3, 4, 5, 10, 20):
        num = int(round_half_up(s * den))
        if 1 <= num < den and abs(s - num / den) <= tolerance + 1e-12 and (den < 20 or num == 1):
            best = Fraction(num, den)
            break
    if best is None:  # nearest tenth (always within 0.05)
        best = Fraction(int(round_half_up(s * 10)), 10)
    about = "" if abs(s - float(best)) < 0.005 else "about "
    if best == Fraction(1, 2):
        return about + "half"
    den = best.denominator
    return f"{about}{_WORDS[best.numerator]} in {_DENOMINATOR_WORDS[den]}"


def plain_label(name: Any) -> str:
    """A column or timepoint name for people: ``week_12`` -> ``week 12``."""
    if _is_missing(name):
        return NA_TEXT
    return str(name).replace("_", " ").strip()


def fmt_weeks(weeks: Any, digits: int = 0) -> str:
    """``12 weeks``, ``1 week``, ``3.5 weeks``."""
    if _is_missing(weeks):
        return NA_TEXT
    text = fmt_number(weeks, digits)
    return f"{text} week" + ("" if text == "1" else "s")


def capitalize_first(text: str) -> str:
    """Upper-case the first letter only (keeps ``PHQ-9`` and names intact)."""
    return text[:1].upper() + text[1:] if text else text


# ---------------------------------------------------------------------------
# whole tables
# ---------------------------------------------------------------------------
_COUNT_NAMES = ("n", "events", "censored", "at_risk", "retained", "sessions_offered", "sessions_attended",
                "late_entries", "n_lost", "members", "count")
_SHARE_NAMES = ("share", "retention", "attendance_rate", "retained_share", "share_of_reference",
                "share_of_enrolled")


def _kind(col: str) -> str | None:
    c = str(col)
    if c == "p_value" or c.startswith("p_value") or c.endswith("_p") or c == "wilcoxon_p":
        return "p"
    if c in _COUNT_NAMES or c.startswith("n_") or c.endswith("_n"):
        return "count"
    base = c.replace("_ci_low", "").replace("_ci_high", "")
    if base in _SHARE_NAMES or base.startswith("retention_") or base.endswith("_share") or base.endswith("_rate"):
        return "percent"
    return None


def format_frame(frame: Any, *, digits: int | dict[str, int] = 2, counts: Any = None, percents: Any = None,
                 p_values: Any = None, min_cell: int | None = None, audience: str | None = None,
                 percent_digits: int = 1) -> Any:
    """A display copy of a statistics table: every number a formatted string.

    Column kinds are recognised by name unless given: p values (``p_value``,
    ``*_p``) -> ``.032`` / ``< .001``; counts (``n``, ``n_*``, ``events``,
    ``at_risk``, ...) -> ``1,234`` or ``<11`` below ``min_cell``; shares
    (``share``, ``retention*``, ``*_rate``, incl. their ``_ci_low``/``_ci_high``)
    -> percentages; other numeric columns -> ``digits`` decimals (a dict gives
    per-column decimals).  Text columns are kept.  The statistics table itself
    is never modified.

    Parameters
    ----------
    frame
        A DataFrame (unrounded, as the statistics layer returns it).
    digits
        Decimals of plain numeric columns (int or ``{column: digits}``).
    counts, percents, p_values
        Column names forcing a kind (added to the ones recognised by name).
    min_cell, audience
        Small-cell masking of count columns (funder/public default 11).
    percent_digits
        Decimals of percentages.

    Returns
    -------
    pandas.DataFrame
        Same shape, object dtype, NaN shown as ``n/a``.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"format_frame needs a DataFrame; got {type(frame).__name__}.")
    mc = resolve_min_cell(audience, min_cell)
    forced: dict[str, str] = {}
    for forced_kind, cols in (("count", counts), ("percent", percents), ("p", p_values)):
        for c in ([cols] if isinstance(cols, str) else list(cols or ())):
            if c not in frame.columns:
                raise ConfigError(f"format_frame: {c!r} is not a column (columns: {list(frame.columns)}).")
            forced[c] = forced_kind
    out = frame.copy().astype(object)
    for col in frame.columns:
        series = frame[col]
        if not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
            continue
        kind = forced.get(col) or _kind(col)
        vals = series.to_numpy(dtype=float, na_value=np.nan)
        if kind == "p":
            out[col] = [fmt_p(v, prefix=False) for v in vals]
        elif kind == "count":
            out[col] = [fmt_count(v, mc, short=True) if not np.isnan(v) else NA_TEXT for v in vals]
        elif kind == "percent":
            out[col] = [fmt_percent(v, percent_digits) for v in vals]
        else:
            d = digits.get(col, 2) if isinstance(digits, dict) else digits
            out[col] = [fmt_number(v, d) for v in vals]
    return out
